//! The image builder: the live root filesystem (mmdebstrap), customisation layers, squashfs, and
//! (with the live-media issue) the hybrid ISO, netboot payload and OVA.

pub mod rootfs;
pub mod squashfs;
