//! From the evaluated configuration to the boot crate: where the kernels go, what GRUB searches,
//! which loader to install where.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use boot::install::{self as bi, EspLocation};

use super::generation::Generation;
use crate::config::system::SystemConfig;
use runner::mountinfo::Mount;

/// GRUB's EFI directory and boot entry name (`\EFI\installer\grubx64.efi`).
const GRUB_EFI_ID: &str = "installer";

/// The mount holding `path` (the last of the longest mount points above it).
pub fn mount_of(path: &Path) -> Option<Mount> {
    runner::mountinfo::mount_of(&runner::mountinfo::read().ok()?, path).cloned()
}

/// Whether this machine booted with UEFI and its variables can be written.
pub fn efi_variables_writable() -> bool {
    let vars = Path::new("/sys/firmware/efi/efivars");
    let mounts = runner::mountinfo::read().unwrap_or_default();
    vars.is_dir() && mounts.iter().any(|m| Path::new(&m.mountpoint) == vars && m.writable())
}

/// The firmware's boot entries after the bootloader step, read back from the EFI variables and
/// written to the install log: one line per entry, in boot order (nothing on a BIOS machine).
/// When the step registered an entry the firmware's list lacks, a warning too: the system still
/// boots from the removable path (`\EFI\BOOT\BOOTX64.EFI`), which is always installed.
pub fn efi_entries_read_back(c: &SystemConfig) -> (Vec<String>, Option<String>) {
    let entries = boot::efi_entries::efi_boot_entries();
    let lines: Vec<String> = entries.iter().map(ToString::to_string).collect();
    if !lines.is_empty() {
        runner::log_note(&format!("UEFI boot entries after the install:\n{}", lines.join("\n")));
    }
    let loader = &c.boot.loader;
    let registered = loader.efi.can_touch_efi_variables && efi_variables_writable();
    let label = if loader.systemd_boot.enable {
        Some("Linux Boot Manager")
    } else if loader.grub.enable && loader.grub.efi_support && !loader.grub.efi_install_as_removable {
        Some(GRUB_EFI_ID)
    } else {
        None
    };
    let missing = match (registered, label) {
        (true, Some(label)) if !entries.iter().any(|e| e.description == label) => Some(format!(
            "the firmware lists no boot entry {label:?} after the bootloader step registered it; \
             the system boots from the removable path (entries: {})",
            lines.join("; ")
        )),
        _ => None,
    };
    if let Some(w) = &missing {
        runner::log_note(w);
    }
    (lines, missing)
}

/// The filesystem UUID of a block device (blkid; the live system has udev but we do not rely on it).
fn fs_uuid(dev: &str) -> Result<String> {
    let out = runner::Cmd::new(format!("reading the UUID of {dev}"), "blkid")
        .args(["-p", "-o", "value", "-s", "UUID", dev])
        .run()?;
    let u = out.stdout.trim().to_string();
    if u.is_empty() {
        bail!("{dev} has no filesystem UUID");
    }
    Ok(u)
}

/// How GRUB reaches a directory of the target: the UUID of the filesystem holding it, and the
/// path inside that filesystem (with the btrfs subvolume, e.g. `/@/boot/kernels`).
pub fn grub_path(root: &Path, dir_in_target: &str) -> Result<(String, String)> {
    let abs = root.join(dir_in_target.trim_start_matches('/'));
    let m = mount_of(&abs).with_context(|| format!("{} is on no mounted filesystem", abs.display()))?;
    let rel = abs.strip_prefix(&m.mountpoint).expect("mount point is a prefix");
    let mut path = String::new();
    if m.fstype == "btrfs" {
        if let Some(sv) = m.option("subvol") {
            let sv = sv.trim_matches('/');
            if !sv.is_empty() {
                path.push('/');
                path.push_str(sv);
            }
        }
    }
    path.push('/');
    path.push_str(&rel.to_string_lossy());
    let path = path.trim_end_matches('/').to_string();
    Ok((fs_uuid(&m.source)?, if path.is_empty() { "/".into() } else { path }))
}

/// The disk and partition number of a partition device, from sysfs.
fn esp_location(dev: &str) -> Option<EspLocation> {
    let name = Path::new(dev).file_name()?.to_string_lossy().to_string();
    let sys = PathBuf::from("/sys/class/block").join(&name);
    let partition: u32 = std::fs::read_to_string(sys.join("partition")).ok()?.trim().parse().ok()?;
    let disk = std::fs::canonicalize(&sys).ok()?.parent()?.file_name()?.to_string_lossy().to_string();
    Some(EspLocation { disk: format!("/dev/{disk}"), partition })
}

/// The distribution's name for menu entries.
pub fn title(root: &Path) -> String {
    std::fs::read_to_string(root.join("etc/os-release"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
        .unwrap_or_else(|| "Linux".into())
}

/// GRUB's own files (`grub-install`: the boot sector or the EFI binary, `/boot/grub`'s modules),
/// which need neither the copied system nor a generation: the install runs this during the copy.
/// Returns what was installed, for [`install`]; nothing for systemd-boot or no bootloader.
pub fn install_grub(c: &SystemConfig, root: &Path) -> Result<Vec<&'static str>> {
    let loader = &c.boot.loader;
    if loader.systemd_boot.enable || !loader.grub.enable {
        return Ok(vec![]);
    }
    let boot_dir = root.join("boot");
    let mut done = vec![];
    if loader.grub.efi_support {
        let esp = root.join(loader.efi.efi_sys_mount_point.trim_start_matches('/'));
        let removable = loader.grub.efi_install_as_removable
            || !loader.efi.can_touch_efi_variables
            || !efi_variables_writable();
        let crypto = loader.grub.enable_cryptodisk;
        bi::grub_efi(&boot_dir, &esp, removable, GRUB_EFI_ID, crypto)?;
        if !removable {
            // Also at the removable path (as systemd-boot is): the disk then boots in a machine
            // whose firmware has no entry for it (a replaced board, a disk image moved elsewhere).
            bi::grub_efi(&boot_dir, &esp, true, GRUB_EFI_ID, crypto)?;
        }
        done.push(if removable {
            "GRUB (UEFI, removable)"
        } else {
            "GRUB (UEFI, boot entry and removable path)"
        });
    }
    let devices: Vec<String> = loader.grub.devices.iter().filter(|d| *d != "nodev").cloned().collect();
    if !devices.is_empty() {
        bi::grub_bios(&boot_dir, &devices, loader.grub.enable_cryptodisk)?;
        done.push("GRUB (BIOS)");
    }
    if done.is_empty() {
        bail!("GRUB is enabled but has neither boot.loader.grub.device(s) nor efiSupport");
    }
    crate::failpoint::hit("bootloader:installed");
    Ok(done)
}

/// The newest `limit` generations (`boot.loader.grub.configurationLimit`), oldest first.
fn newest(gens: &[Generation], limit: i64) -> &[Generation] {
    let limit = usize::try_from(limit).unwrap_or(0).max(1);
    &gens[gens.len().saturating_sub(limit)..]
}

/// Writes kernels and the menu for every generation and installs the configured bootloader; for
/// GRUB, `grub` is what [`install_grub`] installed before.
pub fn install(
    c: &SystemConfig,
    root: &Path,
    source: &Path,
    gens: &[Generation],
    serial: Option<boot::Serial>,
    grub: &[&str],
) -> Result<String> {
    let title = title(root);
    let loader = &c.boot.loader;
    if loader.systemd_boot.enable {
        let esp_mp = &loader.efi.efi_sys_mount_point;
        let esp = root.join(esp_mp.trim_start_matches('/'));
        let mount = mount_of(&esp).filter(|m| Path::new(&m.mountpoint) == esp);
        let Some(mount) = mount else {
            bail!("systemd-boot: the ESP ({esp_mp}) is not mounted at {}", esp.display());
        };
        let mut entries = vec![];
        for g in gens {
            let k = format!("EFI/installer/generation-{}-vmlinuz", g.number);
            let i = format!("EFI/installer/generation-{}-initrd", g.number);
            bi::install_file(&g.dir.join("kernel"), &esp.join(&k))?;
            bi::install_file(&g.dir.join("initrd"), &esp.join(&i))?;
            entries.push(boot::Generation {
                number: g.number,
                date: g.date.clone(),
                kernel_version: g.kernel_version.clone(),
                kernel: format!("/{k}"),
                initrd: format!("/{i}"),
                params: g.kernel_params.clone(),
            });
        }
        let nvram = if loader.efi.can_touch_efi_variables && efi_variables_writable() {
            esp_location(&mount.source)
        } else {
            None
        };
        let efi_binary =
            [source.join(bi::SYSTEMD_BOOT_EFI.trim_start_matches('/')), PathBuf::from(bi::SYSTEMD_BOOT_EFI)]
                .into_iter()
                .find(|p| p.exists())
                .context("systemd-boot's EFI binary is missing (package systemd-boot-efi)")?;
        bi::systemd_boot(&esp, &efi_binary, &title, &entries, loader.timeout, nvram.as_ref())?;
        return Ok(format!("systemd-boot on the ESP {esp_mp}"));
    }
    if !loader.grub.enable {
        return Ok("no bootloader configured".into());
    }
    let kdir = "/boot/kernels";
    std::fs::create_dir_all(root.join("boot/kernels")).context("creating /boot/kernels")?;
    let (uuid, path) = grub_path(root, kdir)?;
    let mut entries = vec![];
    for g in newest(gens, loader.grub.configuration_limit) {
        let k = format!("generation-{}-vmlinuz", g.number);
        let i = format!("generation-{}-initrd", g.number);
        bi::install_file(&g.dir.join("kernel"), &root.join("boot/kernels").join(&k))?;
        bi::install_file(&g.dir.join("initrd"), &root.join("boot/kernels").join(&i))?;
        let p = |f: &str| if path == "/" { format!("/{f}") } else { format!("{path}/{f}") };
        entries.push(boot::Generation {
            number: g.number,
            date: g.date.clone(),
            kernel_version: g.kernel_version.clone(),
            kernel: p(&k),
            initrd: p(&i),
            params: g.kernel_params.clone(),
        });
    }
    crate::failpoint::hit("bootloader:kernels");
    let boot_dir = root.join("boot");
    let menu = boot::grub::Menu {
        title,
        boot_fs_uuid: uuid,
        timeout_secs: loader.timeout,
        serial,
        generations: entries,
    };
    bi::write_atomic(&boot_dir.join("grub/grub.cfg"), &boot::grub::render(&menu)?)?;
    Ok(format!("{} with /boot/grub/grub.cfg", grub.join(" and ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_lists_the_newest_generations_up_to_the_limit() {
        let gens: Vec<Generation> = (1..=4)
            .map(|number| Generation {
                number,
                dir: PathBuf::from(format!("/g/{number}")),
                kernel_version: "k".into(),
                kernel_params: String::new(),
                date: "d".into(),
            })
            .collect();
        let numbers = |limit| newest(&gens, limit).iter().map(|g| g.number).collect::<Vec<_>>();
        assert_eq!(numbers(100), [1, 2, 3, 4]);
        assert_eq!(numbers(2), [3, 4]);
        assert_eq!(numbers(1), [4]);
    }
}
