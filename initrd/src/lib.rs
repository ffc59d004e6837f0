//! Building our initrds: a `newc` cpio writer, kernel module resolution, the live and installed
//! archives, and the root description (`/etc/stage1.json`) stage 1 reads. Stage 1 itself is the
//! `stage1` crate.

pub mod config;
pub mod cpio;
pub mod installed;
pub mod live;
pub mod modules;
