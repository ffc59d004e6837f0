//! Our stage-1 (PID 1 of the initrd), live mode: coldplug the kernel modules the machine's devices
//! need, find the live medium by its ISO 9660 volume id (or filesystem label), mount its squashfs
//! (optionally copied to RAM) under a tmpfs overlay and `switch_root` into systemd.
//!
//! The pieces are plain functions here so they can be tested on the host; `src/bin/stage1.rs` ties
//! them together.

pub mod cmdline;
pub mod http;
pub mod modalias;
pub mod probe;
pub mod sys;
