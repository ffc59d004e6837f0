//! The installer: disk engine (storage spec, probe, plan, apply), configuration (module system,
//! generate-config), install and the TUI/unattended front ends. Filled in by the disk engine,
//! configuration and install issues.
