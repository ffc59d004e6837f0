//! Host packages: what each command needs, installed with apt-get when missing.
//!
//! Installing one package can make apt remove another: a machine that came with a newer
//! `qemu-utils` from backports loses it when `qemu-system-x86` from bookworm comes in (the
//! backports build breaks bookworm's `qemu-system-common`). So [`ensure`] checks again after each
//! install, packages and the commands we run from them, and installs what went missing, until
//! nothing is missing (a few rounds at most).

use std::path::Path;
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
    "zstd",
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
    // The installer's host test of SSH host keys.
    "openssh-client",
    // The installer's host test of the initrd's programs (cryptsetup with Argon2 threads).
    "cryptsetup-bin",
];

/// Commands we run, each with the package that provides it: a package can be "installed" while
/// a command it should bring is gone, and a command is what a later step fails on.
pub const HOST_COMMANDS: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("qemu-img", "qemu-utils"),
    ("busybox", "busybox-static"),
    ("depmod", "kmod"),
    ("cpio", "cpio"),
    ("strip", "binutils"),
    ("mmdebstrap", "mmdebstrap"),
    ("zstd", "zstd"),
    ("mksquashfs", "squashfs-tools"),
    ("unsquashfs", "squashfs-tools"),
    ("xorriso", "xorriso"),
    ("grub-mkimage", "grub-common"),
    ("mformat", "mtools"),
    ("mcopy", "mtools"),
    ("openssl", "openssl"),
    ("losetup", "util-linux"),
    ("partx", "util-linux"),
    ("mkfs.ext4", "e2fsprogs"),
    ("mkfs.xfs", "xfsprogs"),
    ("mkfs.btrfs", "btrfs-progs"),
    ("mkfs.vfat", "dosfstools"),
    ("nix-instantiate", "nix-bin"),
    ("ssh-keygen", "openssh-client"),
    ("cryptsetup", "cryptsetup-bin"),
];

/// What [`ensure`] needs of a package manager: the real one is [`Apt`]; tests use a model.
pub trait PackageManager {
    fn installed(&self, pkg: &str) -> bool;
    fn has_command(&self, cmd: &str) -> bool;
    /// Installs `pkgs` (`reinstall` for packages that are installed but lost a command).
    fn install(&mut self, pkgs: &[&str], reinstall: bool) -> Result<()>;
}

/// Debian's apt and dpkg.
#[derive(Debug, Default)]
pub struct Apt {
    updated: bool,
}

impl PackageManager for Apt {
    fn installed(&self, pkg: &str) -> bool {
        Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", pkg])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
            .unwrap_or(false)
    }

    fn has_command(&self, cmd: &str) -> bool {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(Into::into))
            .any(|d| is_executable(&d.join(cmd)))
    }

    fn install(&mut self, pkgs: &[&str], reinstall: bool) -> Result<()> {
        if !self.updated {
            apt_update()?;
            self.updated = true;
        }
        let mut c = apt_command();
        c.args(["-q", "-y", "--no-install-recommends", "install"]);
        if reinstall {
            c.arg("--reinstall");
        }
        let st = c.args(pkgs).status().context("running apt-get install")?;
        if !st.success() {
            bail!("apt-get install {} failed ({st})", pkgs.join(" "));
        }
        Ok(())
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// apt-get, through sudo when we are not root.
pub fn apt_command() -> Command {
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

/// What is missing now: packages not installed, and installed packages whose command is gone.
fn missing<'a>(
    pm: &impl PackageManager,
    pkgs: &[&'a str],
    cmds: &[(&str, &'a str)],
) -> (Vec<&'a str>, Vec<&'a str>) {
    let absent: Vec<&str> = pkgs.iter().copied().filter(|p| !pm.installed(p)).collect();
    let mut broken: Vec<&str> = vec![];
    for &(cmd, pkg) in cmds {
        if pkgs.contains(&pkg) && !absent.contains(&pkg) && !broken.contains(&pkg) && !pm.has_command(cmd) {
            broken.push(pkg);
        }
    }
    (absent, broken)
}

/// Rounds of install-then-check before giving up.
const ROUNDS: usize = 4;

/// Installs what is missing and checks again until every package is installed and every command
/// is there, printing what and how long it took.
pub fn ensure_with(pm: &mut impl PackageManager, pkgs: &[&str], cmds: &[(&str, &str)]) -> Result<()> {
    let t = Instant::now();
    let mut rounds = 0;
    loop {
        let (absent, broken) = missing(pm, pkgs, cmds);
        if absent.is_empty() && broken.is_empty() {
            if rounds > 0 {
                eprintln!(
                    "xtask: host packages complete after {rounds} round(s), {:.1}s",
                    t.elapsed().as_secs_f64()
                );
            }
            return Ok(());
        }
        if rounds == ROUNDS {
            bail!(
                "after {ROUNDS} rounds of apt-get install, still missing: packages [{}], commands of [{}]",
                absent.join(" "),
                broken.join(" ")
            );
        }
        rounds += 1;
        if !absent.is_empty() {
            eprintln!("xtask: installing Debian packages (round {rounds}): {}", absent.join(" "));
            pm.install(&absent, false)?;
        }
        if !broken.is_empty() {
            eprintln!("xtask: reinstalling Debian packages whose commands are missing: {}", broken.join(" "));
            pm.install(&broken, true)?;
        }
    }
}

/// Nix makes its state directories (`/nix/var/nix/gcroots/profiles` and the like) the first time
/// it runs, and two first runs at once race on them ("creating symlink … File exists"): the
/// evaluation tests run in parallel, so the set-up runs it once first, when that has not happened.
pub fn nix_first_run() -> Result<()> {
    if Path::new("/nix/var/nix/gcroots/profiles").exists() {
        return Ok(());
    }
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--expr", "null"])
        .output()
        .context("running nix-instantiate once")?;
    if !out.status.success() {
        bail!("nix-instantiate --eval --expr null failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// [`ensure_with`] on this machine's apt.
pub fn ensure(pkgs: &[&str]) -> Result<()> {
    ensure_with(&mut Apt::default(), pkgs, HOST_COMMANDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// apt as it behaves on a fresh machine of our kind: installing qemu-system-x86 removes the
    /// backports qemu-utils that was there (and its qemu-img).
    #[derive(Default)]
    struct Model {
        installed: BTreeSet<String>,
        calls: Vec<Vec<String>>,
    }

    impl PackageManager for Model {
        fn installed(&self, pkg: &str) -> bool {
            self.installed.contains(pkg)
        }
        fn has_command(&self, cmd: &str) -> bool {
            HOST_COMMANDS.iter().any(|&(c, p)| c == cmd && self.installed.contains(p))
        }
        fn install(&mut self, pkgs: &[&str], _reinstall: bool) -> Result<()> {
            self.calls.push(pkgs.iter().map(|p| p.to_string()).collect());
            if pkgs.contains(&"qemu-system-x86") && self.installed.contains("qemu-utils") {
                self.installed.remove("qemu-utils");
            }
            self.installed.extend(pkgs.iter().map(|p| p.to_string()));
            Ok(())
        }
    }

    #[test]
    fn a_package_removed_by_apt_is_installed_again_in_the_same_run() {
        let mut m = Model::default();
        m.installed.insert("qemu-utils".into());
        ensure_with(&mut m, HOST_PACKAGES, HOST_COMMANDS).unwrap();
        assert!(HOST_PACKAGES.iter().all(|p| m.installed(p)));
        assert_eq!(m.calls.len(), 2, "{:?}", m.calls);
        assert_eq!(m.calls[1], vec!["qemu-utils".to_string()]);
        // Nothing missing: no apt at all.
        let before = m.calls.len();
        ensure_with(&mut m, HOST_PACKAGES, HOST_COMMANDS).unwrap();
        assert_eq!(m.calls.len(), before);
    }

    #[test]
    fn a_package_that_never_stays_is_an_error_naming_it() {
        struct Stubborn;
        impl PackageManager for Stubborn {
            fn installed(&self, pkg: &str) -> bool {
                pkg != "qemu-utils"
            }
            fn has_command(&self, _: &str) -> bool {
                true
            }
            fn install(&mut self, _: &[&str], _: bool) -> Result<()> {
                Ok(())
            }
        }
        let e = ensure_with(&mut Stubborn, HOST_PACKAGES, HOST_COMMANDS).unwrap_err().to_string();
        assert!(e.contains("qemu-utils"), "{e}");
    }

    #[test]
    fn an_installed_package_that_lost_its_command_is_reinstalled() {
        let mut m = Model::default();
        m.installed.extend(HOST_PACKAGES.iter().map(|p| p.to_string()));
        struct Lost(Model, bool);
        impl PackageManager for Lost {
            fn installed(&self, p: &str) -> bool {
                self.0.installed(p)
            }
            fn has_command(&self, c: &str) -> bool {
                c != "qemu-img" || self.1
            }
            fn install(&mut self, pkgs: &[&str], reinstall: bool) -> Result<()> {
                assert!(reinstall && pkgs == ["qemu-utils"]);
                self.1 = true;
                self.0.install(pkgs, reinstall)
            }
        }
        let mut l = Lost(m, false);
        ensure_with(&mut l, HOST_PACKAGES, HOST_COMMANDS).unwrap();
        assert!(l.1);
    }
}
