//! The netboot payload: `bzImage`, `initrd` (the live initrd with the squashfs and the kernel appended
//! as a second, uncompressed cpio archive: the kernel unpacks both), `initrd-http` (the live initrd
//! with the kernel appended; stage-1 brings up DHCP and downloads the squashfs),
//! `filesystem.squashfs`, and `netboot.ipxe`. The kernel rides in the initrds because the squashfs
//! does not hold it (see `initrd::config::LIVE_KERNEL`): stage 1 hands it to the live system.

use std::path::Path;

use initrd::cpio::Archive;

use crate::rootfs::{io, RootfsError};

/// The iPXE script. UEFI iPXE hands the initrd to the kernel only when the kernel line names it
/// (`initrd=initrd`). `params` are extra kernel parameters.
pub fn ipxe_script(initrd: &str, root: &str, params: &str) -> String {
    format!("#!ipxe\nkernel bzImage initrd={initrd} {root} {params}\ninitrd {initrd}\nboot\n")
}

/// The live initrd with `files` appended as an uncompressed cpio archive (they are compressed
/// already). The kernel recognises an uncompressed archive only at a 4-byte aligned offset; zeros
/// between archives are skipped.
fn appended(live_initrd: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, RootfsError> {
    let packing = |e: initrd::cpio::CpioError| RootfsError::Io {
        context: "packing the netboot initrd".into(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut a = Archive::new();
    for (path, data) in files {
        a.file(path, 0o644, data.clone()).map_err(packing)?;
    }
    let mut initrd = std::fs::read(live_initrd).map_err(io("reading the initrd"))?;
    initrd.resize(initrd.len().div_ceil(512) * 512, 0);
    initrd.extend(a.to_bytes().map_err(packing)?);
    Ok(initrd)
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
    std::fs::copy(squashfs, out_dir.join("filesystem.squashfs")).map_err(io("copying the squashfs"))?;
    let kernel_data = std::fs::read(kernel).map_err(io("reading the kernel"))?;
    let http = appended(live_initrd, &[("boot/vmlinuz", kernel_data.clone())])?;
    std::fs::write(out_dir.join("initrd-http"), http).map_err(io("writing initrd-http"))?;
    let squash = std::fs::read(squashfs).map_err(io("reading the squashfs"))?;
    let initrd =
        appended(live_initrd, &[("live/filesystem.squashfs", squash), ("boot/vmlinuz", kernel_data)])?;
    std::fs::write(out_dir.join("initrd"), initrd).map_err(io("writing the netboot initrd"))?;
    std::fs::write(out_dir.join("netboot.ipxe"), ipxe_script("initrd", "root=live:initrd", params))
        .map_err(io("writing netboot.ipxe"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file names in an uncompressed cpio archive.
    fn listing(data: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("appended.cpio");
        std::fs::write(&p, data).unwrap();
        let out = std::process::Command::new("cpio")
            .arg("-t")
            .stdin(std::fs::File::open(&p).unwrap())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn both_netboot_initrds_carry_the_kernel_and_one_the_squashfs() {
        let dir = tempfile::tempdir().unwrap();
        let (kernel, live, squash) = (dir.path().join("k"), dir.path().join("i"), dir.path().join("s"));
        std::fs::write(&kernel, b"bzImage").unwrap();
        std::fs::write(&squash, b"hsqs").unwrap();
        let mut a = Archive::new();
        a.file("init", 0o755, b"#!/bin/sh\n".to_vec()).unwrap();
        std::fs::write(&live, a.to_gzip().unwrap()).unwrap();
        let out = dir.path().join("out");
        build(&out, &kernel, &live, &squash, "console=ttyS0").unwrap();
        let http = std::fs::read(out.join("initrd-http")).unwrap();
        let full = std::fs::read(out.join("initrd")).unwrap();
        for (data, squashfs) in [(&http, false), (&full, true)] {
            // The live archive first (gzip), then the appended one at a 512-byte boundary.
            let live_len = std::fs::metadata(&live).unwrap().len() as usize;
            assert_eq!(&data[..live_len], &std::fs::read(&live).unwrap()[..]);
            let appended = &data[live_len.div_ceil(512) * 512..];
            let names = listing(appended);
            assert!(names.lines().any(|l| l == "boot/vmlinuz"), "{names}");
            assert_eq!(names.lines().any(|l| l == "live/filesystem.squashfs"), squashfs, "{names}");
        }
    }
}
