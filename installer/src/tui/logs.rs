//! Saving the logs of a failed install onto a removable disk (a USB stick), so that they can be
//! read on another machine: the first removable disk that holds a filesystem and is not the boot
//! medium is mounted, the logs are copied into a new directory on it, and it is unmounted.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::storage::probe::{Probe, ProbedDisk};

/// Filesystems a stick is expected to carry and the live system can write.
const WRITABLE: &[&str] = &["vfat", "exfat", "ext4", "ext3", "ext2", "btrfs", "xfs"];

/// The device to save onto: a partition (or a whole-disk filesystem) of a removable or USB disk
/// that is neither the boot medium nor busy.
pub fn target(p: &Probe) -> Option<(String, &ProbedDisk)> {
    p.disks
        .iter()
        .filter(|d| (d.removable || d.transport == "usb") && !d.boot_medium && d.busy.is_empty())
        .find_map(|d| {
            let part = d
                .partitions
                .iter()
                .find(|p| p.fstype.as_deref().is_some_and(|f| WRITABLE.contains(&f)))
                .map(|p| p.path.clone());
            let whole = d.fstype.as_deref().is_some_and(|f| WRITABLE.contains(&f)).then(|| d.path.clone());
            part.or(whole).map(|dev| (dev, d))
        })
}

/// Copies every file of `from` (not recursing) into a new directory `installer-logs-<stamp>` under
/// `to`; returns that directory.
pub fn copy_logs(from: &Path, to: &Path, stamp: &str) -> Result<PathBuf> {
    let dir = to.join(format!("installer-logs-{stamp}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut n = 0;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?.flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name()))
                .with_context(|| format!("copying {}", e.path().display()))?;
            n += 1;
        }
    }
    if n == 0 {
        bail!("{} holds no logs", from.display());
    }
    Ok(dir)
}

/// Finds a stick, mounts it, copies `/var/log/installer/` onto it, unmounts it; returns where.
pub fn save() -> Result<String> {
    let probe = crate::storage::probe::probe_system()?;
    let Some((dev, disk)) = target(&probe) else {
        bail!("no removable disk with a filesystem: plug in a USB stick and press w again");
    };
    let mnt = Path::new("/run/installer/logs-media");
    std::fs::create_dir_all(mnt).with_context(|| format!("creating {}", mnt.display()))?;
    runner::Cmd::new("mounting the stick for the logs", "mount").arg(&dev).arg(mnt).run()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default();
    let copied = copy_logs(&super::model::log_dir(), mnt, &stamp);
    let _ = std::process::Command::new("sync").status();
    let unmounted = runner::Cmd::new("unmounting the stick", "umount").arg(mnt).run();
    let dir = copied?;
    unmounted?;
    let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    Ok(format!("{name} on {dev} ({})", disk.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::probe::ProbedPartition;

    #[test]
    fn the_stick_is_removable_idle_and_not_the_boot_medium() {
        let part = |path: &str, fs: &str| ProbedPartition {
            number: 1,
            path: path.into(),
            start_bytes: 1 << 20,
            size: 1 << 30,
            kind: None,
            fstype: Some(fs.into()),
            label: None,
        };
        let mut medium = ProbedDisk::blank("/dev/sda", "Cruzer", "LIVE", 8 << 30);
        medium.removable = true;
        medium.boot_medium = true;
        medium.partitions = vec![part("/dev/sda1", "vfat")];
        let internal = ProbedDisk::blank("/dev/vda", "QEMU HARDDISK", "T", 8 << 30);
        let mut stick = ProbedDisk::blank("/dev/sdb", "Ultra", "S", 16 << 30);
        stick.transport = "usb".into();
        stick.partitions = vec![part("/dev/sdb1", "vfat")];
        let mut p = Probe { disks: vec![medium, internal, stick.clone()], uefi: false, system_bytes: None };
        assert_eq!(target(&p).map(|(d, _)| d), Some("/dev/sdb1".into()));
        p.disks[2].busy = vec!["mounted".into()];
        assert_eq!(target(&p), None);
    }

    #[test]
    fn logs_are_copied_into_a_new_directory() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::write(from.path().join("tui.log"), "x").unwrap();
        let dir = copy_logs(from.path(), to.path(), "1").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("tui.log")).unwrap(), "x");
        let empty = tempfile::tempdir().unwrap();
        assert!(copy_logs(empty.path(), to.path(), "2").is_err());
    }
}
