//! Our stage-1 (PID 1 of the initrd). Both modes coldplug the kernel modules the machine's devices
//! need. Live mode finds the live medium by its ISO 9660 volume id (or filesystem label), mounts
//! its squashfs (optionally copied to RAM) under a tmpfs overlay; installed mode finds the root
//! filesystem from the root description ([`initrd::config::RootSpec`]) by UUID, label or path, checks it
//! and mounts it. Then both `switch_root` into systemd.
//!
//! The root description it reads (`/etc/stage1.json`, [`initrd::config`]) is written by the
//! `initrd` crate, which builds the archives; this crate is only what runs inside them (and the
//! only one with an HTTP client).
//!
//! The pieces are plain functions here so they can be tested on the host; `src/main.rs` ties
//! them together.

pub mod cmdline;
pub mod error;
pub mod http;
pub mod modalias;
pub mod probe;
pub mod sys;
pub mod udevdb;

pub use error::{Error, Result};
pub use initrd::config;
