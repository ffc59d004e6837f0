//! Stage-1 initrd building blocks: a `newc` cpio writer and kernel module resolution.

pub mod cpio;
pub mod installed;
pub mod live;
pub mod modules;
pub mod stage1;
