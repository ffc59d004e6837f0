//! Installing the bootloaders with the standard tools and writing their configuration files.

use std::path::{Path, PathBuf};

use runner::Cmd;

use crate::{io, systemd_boot, BootError, Generation};

/// Writes `content` to `path` through a temporary file and a rename, so a power cut leaves the old
/// or the new file, never half of one.
pub fn write_atomic(path: &Path, content: &str) -> Result<(), BootError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(format!("syncing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("renaming {} to {}", tmp.display(), path.display())))
}

/// GRUB for BIOS: `grub-install --target=i386-pc` onto every device (MBR disks, or GPT disks with
/// a BIOS boot partition), with GRUB's files under `boot_dir/grub`.
/// With `cryptodisk`, GRUB's core image unlocks the LUKS device holding `boot_dir` (asking for its
/// passphrase) before it reads `grub.cfg`.
pub fn grub_bios(boot_dir: &Path, devices: &[String], cryptodisk: bool) -> Result<(), BootError> {
    if devices.is_empty() {
        return Err(BootError::NoGrubDevice);
    }
    for dev in devices {
        Cmd::new(format!("installing GRUB (BIOS) on {dev}"), "grub-install")
            .env("GRUB_ENABLE_CRYPTODISK", if cryptodisk { "y" } else { "n" })
            .arg("--target=i386-pc")
            .arg(format!("--boot-directory={}", boot_dir.display()))
            .arg(dev)
            .run()?;
    }
    Ok(())
}

/// GRUB for UEFI. `removable` installs `EFI/BOOT/BOOTX64.EFI` and touches no EFI variable;
/// otherwise grub-install adds a boot entry (efibootmgr) named `bootloader_id`. `cryptodisk` as
/// for [`grub_bios`].
pub fn grub_efi(
    boot_dir: &Path,
    esp: &Path,
    removable: bool,
    bootloader_id: &str,
    cryptodisk: bool,
) -> Result<(), BootError> {
    let mut cmd = Cmd::new("installing GRUB (UEFI)", "grub-install")
        .env("GRUB_ENABLE_CRYPTODISK", if cryptodisk { "y" } else { "n" })
        .arg("--target=x86_64-efi")
        .arg(format!("--efi-directory={}", esp.display()))
        .arg(format!("--boot-directory={}", boot_dir.display()))
        .arg(format!("--bootloader-id={bootloader_id}"));
    if removable {
        cmd = cmd.args(["--removable", "--no-nvram"]);
    }
    cmd.run()?;
    Ok(())
}

/// Where systemd-boot's EFI binary comes from.
pub const SYSTEMD_BOOT_EFI: &str = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";

/// The ESP's disk and partition number (for an EFI boot entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspLocation {
    pub disk: String,
    pub partition: u32,
}

/// systemd-boot: copies the EFI binary to `EFI/systemd/` and the removable path `EFI/BOOT/`,
/// writes `loader.conf` and one entry per generation (removing entries of generations that are
/// gone), and adds a boot entry with efibootmgr when `nvram` is given.
pub fn systemd_boot(
    esp: &Path,
    efi_binary: &Path,
    title: &str,
    generations: &[Generation],
    timeout_secs: Option<u32>,
    nvram: Option<&EspLocation>,
) -> Result<(), BootError> {
    let loader_conf = systemd_boot::render_loader(generations, timeout_secs)?;
    for dest in ["EFI/systemd/systemd-bootx64.efi", "EFI/BOOT/BOOTX64.EFI"] {
        let dest = esp.join(dest);
        std::fs::create_dir_all(dest.parent().expect("has parent"))
            .map_err(io("creating EFI directories"))?;
        std::fs::copy(efi_binary, &dest).map_err(io(format!(
            "copying {} to {}",
            efi_binary.display(),
            dest.display()
        )))?;
    }
    let entries_dir = esp.join("loader/entries");
    let entries = systemd_boot::render_entries(title, generations);
    for (name, content) in &entries {
        write_atomic(&entries_dir.join(name), content)?;
    }
    let keep: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    for e in std::fs::read_dir(&entries_dir).map_err(io("reading loader/entries"))?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("installer-generation-") && !keep.contains(&name.as_str()) {
            std::fs::remove_file(e.path()).map_err(io(format!("removing {name}")))?;
        }
    }
    write_atomic(&esp.join("loader/loader.conf"), &loader_conf)?;
    if let Some(loc) = nvram {
        efi_boot_entry(loc, "Linux Boot Manager", "\\EFI\\systemd\\systemd-bootx64.efi")?;
    }
    Ok(())
}

/// Adds (or keeps) a UEFI boot entry with efibootmgr.
pub fn efi_boot_entry(loc: &EspLocation, label: &str, loader: &str) -> Result<(), BootError> {
    let existing = Cmd::new("listing EFI boot entries", "efibootmgr").run()?;
    if existing.stdout.lines().any(|l| l.contains(label)) {
        return Ok(());
    }
    Cmd::new("adding an EFI boot entry", "efibootmgr")
        .args(["--create", "--disk", &loc.disk, "--part", &loc.partition.to_string()])
        .args(["--label", label, "--loader", loader])
        .run()?;
    Ok(())
}

/// Copies a kernel or initrd into the boot filesystem unless an identical file is there, with the
/// source's permission bits (an initrd holding key files stays readable by root only).
pub fn install_file(src: &Path, dest: &Path) -> Result<bool, BootError> {
    use std::os::unix::fs::PermissionsExt;
    let new = std::fs::read(src).map_err(io(format!("reading {}", src.display())))?;
    let mode = std::fs::metadata(src).map_err(io(format!("reading {}", src.display())))?.permissions().mode();
    if std::fs::read(dest).is_ok_and(|old| old == new) {
        return Ok(false);
    }
    let dir = dest.parent().map(PathBuf::from).unwrap_or_default();
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let tmp = dest.with_extension("tmp");
    std::fs::write(&tmp, &new).map_err(io(format!("writing {}", tmp.display())))?;
    // A FAT ESP has no permission bits to set (and refuses); elsewhere this cannot fail.
    let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode & 0o7777));
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(format!("syncing {}", tmp.display())))?;
    std::fs::rename(&tmp, dest).map_err(io(format!("renaming to {}", dest.display())))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(n: u32) -> Generation {
        Generation {
            number: n,
            date: "d".into(),
            kernel_version: "k".into(),
            kernel: format!("/EFI/installer/generation-{n}-vmlinuz"),
            initrd: format!("/EFI/installer/generation-{n}-initrd"),
            params: "ro".into(),
        }
    }

    #[test]
    fn systemd_boot_writes_entries_and_drops_stale_ones() {
        let esp = tempfile::tempdir().unwrap();
        let bin = esp.path().join("sd.efi");
        std::fs::write(&bin, b"MZ fake").unwrap();
        systemd_boot(esp.path(), &bin, "Debian", &[gen(1), gen(2)], Some(5), None).unwrap();
        assert!(esp.path().join("loader/entries/installer-generation-2.conf").exists());
        systemd_boot(esp.path(), &bin, "Debian", &[gen(2)], Some(5), None).unwrap();
        assert!(!esp.path().join("loader/entries/installer-generation-1.conf").exists());
        assert_eq!(std::fs::read(esp.path().join("EFI/BOOT/BOOTX64.EFI")).unwrap(), b"MZ fake");
        let conf = std::fs::read_to_string(esp.path().join("loader/loader.conf")).unwrap();
        assert!(conf.contains("default installer-generation-2.conf"));
    }

    #[test]
    fn install_file_skips_identical_copies() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a");
        std::fs::write(&src, b"kernel").unwrap();
        let dest = d.path().join("boot/kernels/x");
        assert!(install_file(&src, &dest).unwrap());
        assert!(!install_file(&src, &dest).unwrap());
        std::fs::write(&src, b"kernel2").unwrap();
        assert!(install_file(&src, &dest).unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), b"kernel2");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&src, b"initrd with a key").unwrap();
        assert!(install_file(&src, &dest).unwrap());
        assert_eq!(std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn bios_grub_needs_a_device() {
        assert!(matches!(grub_bios(Path::new("/nonexistent"), &[], false), Err(BootError::NoGrubDevice)));
    }
}
