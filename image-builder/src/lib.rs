//! The image builder: the live root filesystem (mmdebstrap), customisation layers, squashfs, and
//! (with the live-media issue) the hybrid ISO, netboot payload and OVA.

pub mod build;
pub mod iso;
pub mod live;
pub mod live_modules;
pub mod netboot;
pub mod ova;
pub mod profile;
pub mod rootfs;
pub mod squashfs;
