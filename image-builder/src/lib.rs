//! The image builder: live root filesystem, squashfs, hybrid ISO, netboot payload and OVA.
