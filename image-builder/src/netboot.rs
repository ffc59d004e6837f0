//! The netboot payload: `bzImage`, `initrd` (the live initrd with the squashfs appended as a second,
//! uncompressed cpio archive: the kernel unpacks both), `initrd-http` (the live initrd alone; stage-1
//! brings up DHCP and downloads the squashfs), `filesystem.squashfs`, and `netboot.ipxe`.

use std::path::Path;

use initrd::cpio::Archive;

use crate::rootfs::{io, RootfsError};

/// The iPXE script. UEFI iPXE hands the initrd to the kernel only when the kernel line names it
/// (`initrd=initrd`). `params` are extra kernel parameters.
pub fn ipxe_script(initrd: &str, root: &str, params: &str) -> String {
    format!("#!ipxe\nkernel bzImage initrd={initrd} {root} {params}\ninitrd {initrd}\nboot\n")
}

/// Writes the payload into `out_dir` from a live `kernel`, `live_initrd` and `squashfs`.
pub fn build(
    out_dir: &Path,
    kernel: &Path,
    live_initrd: &Path,
    squashfs: &Path,
    params: &str,
) -> Result<(), RootfsError> {
    std::fs::create_dir_all(out_dir).map_err(io(format!("creating {}", out_dir.display())))?;
    std::fs::copy(kernel, out_dir.join("bzImage")).map_err(io("copying the kernel"))?;
    std::fs::copy(live_initrd, out_dir.join("initrd-http")).map_err(io("copying the initrd"))?;
    std::fs::copy(squashfs, out_dir.join("filesystem.squashfs")).map_err(io("copying the squashfs"))?;
    let mut a = Archive::new();
    let data = std::fs::read(squashfs).map_err(io("reading the squashfs"))?;
    a.file("live/filesystem.squashfs", 0o644, data).map_err(|e| RootfsError::Io {
        context: "packing the squashfs".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut initrd = std::fs::read(live_initrd).map_err(io("reading the initrd"))?;
    // Concatenated archives: the squashfs one stays uncompressed (it is compressed already). The
    // kernel recognises an uncompressed archive only at a 4-byte aligned offset; zeros between
    // archives are skipped.
    initrd.resize(initrd.len().div_ceil(512) * 512, 0);
    initrd.extend(a.to_bytes().map_err(|e| RootfsError::Io {
        context: "packing".into(),
        source: std::io::Error::other(e.to_string()),
    })?);
    std::fs::write(out_dir.join("initrd"), initrd).map_err(io("writing the netboot initrd"))?;
    std::fs::write(out_dir.join("netboot.ipxe"), ipxe_script("initrd", "root=live:initrd", params))
        .map_err(io("writing netboot.ipxe"))?;
    Ok(())
}
