//! Our stage-1 (PID 1 of the initrd). Both modes coldplug the kernel modules the machine's devices
//! need. Live mode finds the live medium by its ISO 9660 volume id (or filesystem label), mounts
//! its squashfs (optionally copied to RAM) under a tmpfs overlay; installed mode finds the root
//! filesystem from the root description ([`config::RootSpec`]) by UUID, label or path, checks it
//! and mounts it. Then both `switch_root` into systemd.
//!
//! The pieces are plain functions here so they can be tested on the host; `src/bin/stage1.rs` ties
//! them together.

pub mod cmdline;
pub mod config;
pub mod http;
pub mod modalias;
pub mod probe;
pub mod sys;
pub mod udevdb;
