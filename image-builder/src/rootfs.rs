//! The Debian root filesystem, built by mmdebstrap into a cache directory keyed by everything that
//! shapes it (suite, variant, packages), so a rebuild after only our binaries changed reuses it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use initrd::modules::RootKernel;
use runner::Cmd;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error(transparent)]
    Run(#[from] runner::RunError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{0} has no kernel (boot/vmlinuz-<version> with usr/lib/modules/<version>/modules.dep)")]
    NoKernel(PathBuf),
}

/// Wraps an I/O error with what was being done.
pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RootfsError {
    let context = context.into();
    move |source| RootfsError::Io { context, source }
}

/// The packages every live image has: systemd, the storage tools the installer drives, bootloaders,
/// ssh and the Nix evaluator. The kernel package is named by the caller (see [`RootfsSpec::live`]).
pub const LIVE_PACKAGES: &[&str] = &[
    "systemd-sysv",
    "udev",
    "kmod",
    "util-linux",
    "fdisk",
    "gdisk",
    "cryptsetup-bin",
    "lvm2",
    "mdadm",
    "e2fsprogs",
    "xfsprogs",
    "btrfs-progs",
    "dosfstools",
    "grub-pc-bin",
    "grub-efi-amd64-bin",
    "grub2-common",
    "systemd-boot-efi",
    "efibootmgr",
    "iproute2",
    "openssh-server",
    // Administrators become root with it (security.sudo: a `%wheel` rule).
    "sudo",
    "nftables",
    "netbase",
    "tzdata",
    // `unsquashfs`: the install extracts the live squashfs at the speed of reading the medium.
    "squashfs-tools",
    "nix-bin",
    "procps",
    "less",
    // `man installer` and the shell completion of `installer` (Debian's own pages stay out).
    "man-db",
    "bash-completion",
    // The TUI: console keymaps (loadkeys and their list), the locale list, the editor of Custom.
    "kbd",
    "console-data",
    "locales",
    "nano",
];

/// The shell step (an mmdebstrap hook, `$1` the root) that compresses the kernel modules with the
/// host's zstd and runs the root's depmod for each kernel.
const COMPRESS_MODULES: &str = "find \"$1\"/usr/lib/modules -name '*.ko' -print0 | xargs -0 -r -n 64 -P 2 zstd -q --rm -9 && for d in \"$1\"/usr/lib/modules/*/; do [ -f \"$d/modules.dep\" ] || continue; chroot \"$1\" depmod -a \"$(basename \"$d\")\" || exit 1; done";

/// Paths of the GRUB packages left out of the root (see [`ensure`]).
const GRUB_EXCLUDED: &[&str] = &[
    "/usr/lib/grub/x86_64-efi/monolithic/*",
    "/usr/bin/grub-mkrescue",
    "/usr/bin/grub-fstest",
    "/usr/bin/grub-render-label",
    "/usr/bin/grub-syslinux2cfg",
];

/// The package that stands in for Perl and Python 3 (see [`SLIM_INTERPRETERS`]).
pub const SLIM_PACKAGE: &str = "installer-slim";

/// Its control file: it provides the interpreters only for the dependencies named in
/// [`SLIM_INTERPRETERS`], so `apt-get check` stays clean and `apt install perl python3` on an
/// installed system brings the real ones back.
const SLIM_CONTROL: &str = "Package: installer-slim
Version: 1
Architecture: all
Multi-Arch: allowed
Maintainer: installer <root@localhost>
Provides: perl, libdbd-sqlite3-perl, libwww-curl-perl, python3
Description: stands in for Perl and Python 3, which no tool of the installer runs
 nix-bin depends on Perl for its Perl bindings and xfsprogs on Python 3 for xfs_scrub_all;
 neither is used by the installer. Install perl or python3 to have them.
";

/// The shell step (an mmdebstrap hook, `$1` the root) that replaces Perl and Python 3 by
/// [`SLIM_PACKAGE`] (about 90 MiB, 13 MiB of a compressed image) when only the packages known to
/// work without them depend on them; with any other dependant (a profile's extra package) both
/// stay. `apt-get check` must pass afterwards.
const SLIM_INTERPRETERS: &str = r#"set -e
purge="python3 python3.11 python3-minimal python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3-stdlib perl libperl5.36 perl-modules-5.36 libdbd-sqlite3-perl libdbi-perl libwww-curl-perl"
known="nix-bin xfsprogs usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl $purge"
users=$(chroot "$1" dpkg-query -W -f='${Package}|${Pre-Depends}, ${Depends}
' | grep -E '[|, ](perl|python3|python3\.11|libperl5\.36)(:any)?( |,|$)' | cut -d'|' -f1 | grep -vxF "$(echo $known | tr ' ' '
')" || true)
if [ -n "$users" ]; then echo "keeping Perl and Python 3 for: $users"; rm -f "$1"/tmp/installer-slim.deb; exit 0; fi
chroot "$1" dpkg -i /tmp/installer-slim.deb
rm -f "$1"/tmp/installer-slim.deb
chroot "$1" dpkg --purge --force-depends python3
chroot "$1" dpkg --purge --force-depends $purge
chroot "$1" apt-get check
"#;

/// Writes the `.deb` of [`SLIM_PACKAGE`] into `dir` with the host's dpkg-deb.
fn slim_deb(dir: &Path) -> Result<PathBuf, RootfsError> {
    let tree = dir.join("installer-slim");
    std::fs::create_dir_all(tree.join("DEBIAN")).map_err(io("creating the installer-slim package"))?;
    std::fs::write(tree.join("DEBIAN/control"), SLIM_CONTROL)
        .map_err(io("writing installer-slim's control"))?;
    let deb = dir.join("installer-slim.deb");
    Cmd::new("building the installer-slim package", "dpkg-deb")
        .args(["--root-owner-group", "-b"])
        .arg(&tree)
        .arg(&deb)
        .run()?;
    Ok(deb)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RootfsSpec {
    pub suite: String,
    pub variant: String,
    pub packages: Vec<String>,
}

impl RootfsSpec {
    /// bookworm minbase with [`LIVE_PACKAGES`], the kernel package (`linux-image-amd64` or a
    /// concrete `linux-image-<abi>-amd64`) and `extra`.
    pub fn live(kernel_package: &str, extra: &[String]) -> Self {
        let mut packages: Vec<String> = LIVE_PACKAGES.iter().map(|s| s.to_string()).collect();
        packages.push(kernel_package.to_string());
        packages.extend(extra.iter().cloned());
        packages.sort();
        packages.dedup();
        RootfsSpec { suite: "bookworm".into(), variant: "minbase".into(), packages }
    }

    /// A stable key for the cache directory.
    pub fn key(&self) -> String {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        // How the root is made beyond its packages.
        COMPRESS_MODULES.hash(&mut h);
        SLIM_CONTROL.hash(&mut h);
        SLIM_INTERPRETERS.hash(&mut h);
        GRUB_EXCLUDED.hash(&mut h);
        format!("{}-{}-{:016x}", self.suite, self.variant, h.finish())
    }
}

/// Detaches (lazily, deepest first) every mount at or below `dir`.
fn unmount_below(dir: &Path) {
    let Ok(mounts) = runner::mountinfo::read() else { return };
    let points = runner::mountinfo::below(&mounts, dir);
    for m in points {
        tracing::warn!("unmounting {m}, left behind by an interrupted build");
        let _ = Cmd::new("detaching a stale mount", "umount").arg("--lazy").arg(m).run();
    }
}

/// Finds the (newest) kernel installed in `root` (see [`initrd::modules::kernel_in_root`]).
pub fn kernel(root: &Path) -> Result<RootKernel, RootfsError> {
    initrd::modules::kernel_in_root(root).ok_or_else(|| RootfsError::NoKernel(root.to_path_buf()))
}

/// Returns the root directory for `spec` under `cache/rootfs/`, running mmdebstrap when absent.
/// The directory is shared: callers must not modify it (see [`crate::squashfs::Layer`]).
pub fn ensure(spec: &RootfsSpec, cache: &Path) -> Result<PathBuf, RootfsError> {
    let entry = cache.join("rootfs").join(spec.key());
    let root = entry.join("root");
    if entry.join(".complete").exists() {
        return Ok(root);
    }
    let t = Instant::now();
    tracing::info!("building the Debian root {} with mmdebstrap", spec.key());
    if entry.exists() {
        // An interrupted mmdebstrap can leave /proc, /sys and /dev mounts inside its root.
        unmount_below(&entry);
        std::fs::remove_dir_all(&entry).map_err(io(format!("removing {}", entry.display())))?;
    }
    std::fs::create_dir_all(&entry).map_err(io(format!("creating {}", entry.display())))?;
    let slim = slim_deb(&entry)?;
    // Downloaded .debs are kept between builds.
    let archives = cache.join("apt-archives");
    std::fs::create_dir_all(archives.join("partial")).map_err(io("creating the package cache"))?;
    Cmd::new("bootstrapping the Debian root", "mmdebstrap")
        .arg(format!("--variant={}", spec.variant))
        .arg("--aptopt=APT::Install-Recommends \"false\"")
        .arg(format!("--include={}", spec.packages.join(",")))
        .arg("--skip=download/empty")
        .arg("--skip=essential/unlink")
        .arg(format!("--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/ && cp -a {}/. \"$1\"/var/cache/apt/archives/", archives.display()))
        .arg(format!("--customize-hook=sync-out /var/cache/apt/archives {}", archives.display()))
        .arg("--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb")
        // Our stage-1 replaces initramfs-tools' initrd (pulled in by the kernel package).
        .arg("--customize-hook=rm -f \"$1\"/boot/initrd.img-*")
        // Kernel modules compressed (as Debian trixie ships them): 396 MiB become 110 MiB, which
        // every install copies and writes; kmod loads .ko.zst, and our initrd builder unpacks the
        // few it puts into an initrd. depmod then names the compressed files.
        .arg(format!("--customize-hook={COMPRESS_MODULES}"))
        // No Perl or Python: nothing the installer runs needs them.
        .arg(format!("--customize-hook=copy-in {} /tmp", slim.display()))
        .arg(format!("--customize-hook={SLIM_INTERPRETERS}"))
        .arg("--dpkgopt=path-exclude=/usr/share/man/*")
        .arg("--dpkgopt=path-exclude=/usr/share/doc/*")
        .arg("--dpkgopt=path-include=/usr/share/doc/*/copyright")
        .arg("--dpkgopt=path-exclude=/usr/share/locale/*")
        .arg("--dpkgopt=path-include=/usr/share/locale/locale.alias")
        // GRUB's prebuilt EFI images (grub-install builds its own from the modules) and the GRUB
        // tools nothing here runs (grub-mkrescue needs xorriso, which is not installed): 4.7 MiB
        // of a compressed image.
        .args(GRUB_EXCLUDED.iter().map(|p| format!("--dpkgopt=path-exclude={p}")))
        .arg(&spec.suite)
        .arg(&root)
        .run()?;
    std::fs::write(entry.join(".complete"), format!("{:?}\n", spec))
        .map_err(io("marking the root complete"))?;
    tracing::info!("Debian root ready in {:.1}s", t.elapsed().as_secs_f64());
    Ok(root)
}
