//! The end of an install: the machine reboots or powers off from memory.
//!
//! The live system runs from its medium (a CD, a USB stick), and people pull it out as soon as
//! the install is done (the Finish screen asks them to). After that nothing can be read from it:
//! neither `systemctl` nor any program systemd's shutdown would run, and a page of the installer
//! itself that is not in memory is an I/O error. So before the Finish screen shows (or before
//! `installer auto` finishes), [`prepare`] locks the installer's pages in memory, and [`power`]
//! then flushes the disks and asks the kernel to reboot or power off, with no program started.
//! The live system has nothing to save: its changes live in RAM, and the target is unmounted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::answer::FinishAction;
use crate::progress::{Event, Reporter};

/// Locks every page the installer has mapped now (its code, its libraries, its data) in memory,
/// so that it still runs when the medium it was read from is gone. Costs the installer's
/// resident size once; a failure (no privilege, a memory limit) is returned for a warning: the
/// finish still works while those pages stay cached.
pub fn prepare() -> Result<()> {
    nix::sys::mman::mlockall(nix::sys::mman::MlockAllFlags::MCL_CURRENT)
        .context("locking the installer in memory (mlockall)")
}

/// Flushes every filesystem and reboots or powers off at once, from memory (see the module's
/// doc). Returns only on failure, or with [`FinishAction::None`].
pub fn power(action: FinishAction) -> Result<()> {
    use nix::sys::reboot::{reboot, RebootMode};
    let mode = match action {
        FinishAction::Reboot => RebootMode::RB_AUTOBOOT,
        FinishAction::Poweroff => RebootMode::RB_POWER_OFF,
        FinishAction::None => return Ok(()),
    };
    nix::unistd::sync();
    let e = reboot(mode).unwrap_err();
    Err(e).with_context(|| {
        format!(
            "asking the kernel to {}",
            if action == FinishAction::Reboot { "reboot" } else { "power off" }
        )
    })
}

/// The disk the live system was booted from (`/run/installer/boot-device`, which stage 1 writes:
/// a disk, one of its partitions, or `serial:<serial>`), as its `/sys/class/block` name.
pub fn boot_medium() -> Option<String> {
    let text = std::fs::read_to_string("/run/installer/boot-device").ok()?;
    medium_name(text.trim(), Path::new("/sys/class/block"))
}

/// [`boot_medium`] for a given stage-1 record and sysfs directory: a partition's disk, a serial's
/// disk.
fn medium_name(record: &str, class: &Path) -> Option<String> {
    let name = match record.strip_prefix("serial:") {
        Some(serial) => std::fs::read_dir(class).ok()?.flatten().find_map(|e| {
            let s = std::fs::read_to_string(e.path().join("device/serial"))
                .or_else(|_| std::fs::read_to_string(e.path().join("serial")))
                .ok()?;
            (s.trim() == serial).then(|| e.file_name().to_string_lossy().to_string())
        })?,
        None => record.strip_prefix("/dev/")?.to_string(),
    };
    // A partition: its disk is the parent directory in sysfs.
    let dir = std::fs::canonicalize(class.join(&name)).ok()?;
    if dir.join("partition").exists() {
        return dir.parent()?.file_name().map(|n| n.to_string_lossy().to_string());
    }
    Some(name)
}

/// Whether the disk `name` still holds a medium: its device is there (a USB stick unplugged is
/// gone from sysfs) and its first sector can be read past every cache (an ejected CD cannot).
pub fn medium_present(name: &str) -> bool {
    if !Path::new("/sys/class/block").join(name).exists() {
        return false;
    }
    read_first_block(&PathBuf::from("/dev").join(name)).is_ok()
}

/// Reads the first 4 KiB of `dev` with O_DIRECT (not from the page cache), without waiting for a
/// medium (O_NONBLOCK: an optical drive's tray is never pulled back in).
fn read_first_block(dev: &Path) -> std::io::Result<()> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    #[repr(C, align(4096))]
    struct Block([u8; 4096]);
    let mut f =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECT | libc::O_NONBLOCK).open(dev)?;
    let mut b = Box::new(Block([0; 4096]));
    let n = f.read(&mut b.0)?;
    if n == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no medium"));
    }
    Ok(())
}

/// Makes the finish independent of the medium ([`prepare`], a failure reported as a warning)
/// and, with `wait_for_removal`, waits until the boot medium is taken out, saying so first.
pub fn prepare_and_wait(wait_for_removal: bool, reporter: &dyn Reporter) {
    if let Err(e) = prepare() {
        reporter.report(Event::Warning { message: format!("{e:#}") });
    }
    if !wait_for_removal {
        return;
    }
    match boot_medium() {
        Some(medium) => {
            reporter.report(Event::Info {
                message: format!("remove the installation medium (/dev/{medium}) to finish"),
            });
            wait_for_removal_of(&medium);
            reporter.report(Event::Info { message: format!("/dev/{medium} was removed") });
        }
        None => reporter.report(Event::Info {
            message: "no installation medium to wait for (started from the network)".into(),
        }),
    }
}

/// Waits until the medium `name` is gone, looking twice a second.
pub fn wait_for_removal_of(name: &str) {
    while medium_present(name) {
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_medium_is_the_disk_of_what_stage_1_recorded() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let devices = t.path().join("devices");
        let sdb = devices.join("usb/sdb");
        std::fs::create_dir_all(sdb.join("sdb1")).unwrap();
        std::fs::write(sdb.join("sdb1/partition"), "1\n").unwrap();
        std::fs::create_dir_all(sdb.join("device")).unwrap();
        std::fs::write(sdb.join("device/serial"), "STICK1\n").unwrap();
        let sr0 = devices.join("ata/sr0");
        std::fs::create_dir_all(&sr0).unwrap();
        let class = t.path().join("class");
        std::fs::create_dir_all(&class).unwrap();
        symlink(&sdb, class.join("sdb")).unwrap();
        symlink(sdb.join("sdb1"), class.join("sdb1")).unwrap();
        symlink(&sr0, class.join("sr0")).unwrap();
        assert_eq!(medium_name("/dev/sr0", &class).as_deref(), Some("sr0"));
        assert_eq!(medium_name("/dev/sdb1", &class).as_deref(), Some("sdb"));
        assert_eq!(medium_name("/dev/sdb", &class).as_deref(), Some("sdb"));
        assert_eq!(medium_name("serial:STICK1", &class).as_deref(), Some("sdb"));
        assert_eq!(medium_name("serial:NONE", &class), None);
        assert_eq!(medium_name("/dev/gone", &class), None);
    }

    #[test]
    fn a_readable_device_holds_a_medium_and_a_missing_one_does_not() {
        assert!(!medium_present("no-such-disk"));
        // A regular file stands in for a device that reads (O_DIRECT works on most filesystems).
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("disk");
        std::fs::write(&f, vec![1u8; 8192]).unwrap();
        if read_first_block(&f).is_err() {
            eprintln!("skipped: O_DIRECT is not supported here");
            return;
        }
        std::fs::write(&f, b"").unwrap();
        assert!(read_first_block(&f).is_err(), "an empty device holds nothing");
    }
}
