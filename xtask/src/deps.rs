//! Host packages: what each command needs, installed with apt-get when missing.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// Debian packages the test suite and the demo need on the host.
pub const HOST_PACKAGES: &[&str] = &[
    // VMs.
    "qemu-system-x86",
    "qemu-utils",
    "ovmf",
    "ipxe-qemu",
    // Initrds and kernel modules.
    "busybox-static",
    "kmod",
    "cpio",
    "binutils",
    // Images: the Debian root, squashfs, ISO (isolinux + GRUB EFI on a FAT image), test CA.
    "mmdebstrap",
    "squashfs-tools",
    "xorriso",
    "isolinux",
    "syslinux-common",
    "grub-common",
    "grub-pc-bin",
    "grub-efi-amd64-bin",
    "mtools",
    "openssl",
    // The disk engine's host tests and generate-config/eval on the host.
    "util-linux",
    "e2fsprogs",
    "xfsprogs",
    "btrfs-progs",
    "dosfstools",
    "nix-bin",
];

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// apt-get, through sudo when we are not root.
pub fn apt_command() -> Command {
    // SAFETY-free check of our uid through the environment of `id`.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut c = if root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    c.env("DEBIAN_FRONTEND", "noninteractive");
    c
}

pub fn apt_update() -> Result<()> {
    let st = apt_command().args(["-q", "update"]).status().context("running apt-get update")?;
    if !st.success() {
        bail!("apt-get update failed ({st})");
    }
    Ok(())
}

/// Installs the packages that are missing, printing what and how long it took.
pub fn ensure(pkgs: &[&str]) -> Result<()> {
    let missing: Vec<&str> = pkgs.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let t = Instant::now();
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    apt_update()?;
    let st = apt_command()
        .args(["-q", "-y", "--no-install-recommends", "install"])
        .args(&missing)
        .status()
        .context("running apt-get install")?;
    if !st.success() {
        bail!("apt-get install {} failed ({st})", missing.join(" "));
    }
    eprintln!("xtask: installed {} package(s) in {:.1}s", missing.len(), t.elapsed().as_secs_f64());
    Ok(())
}
