//! Building an installed system's initrd: our stage-1 with a root description
//! (`/etc/stage1.json`), the storage drivers and filesystem modules the root chain needs plus
//! `boot.initrd.availableKernelModules`/`kernelModules`, and optional extra programs (fsck) with
//! the libraries they link.

use std::path::{Path, PathBuf};

use crate::config::{Config, LuksSpec, RootSpec};
use crate::live::{with_modules, LiveInitrdError};

/// Drivers that reach disks on common machines (coldplugged by modalias, so only what the machine
/// has gets loaded).
pub const STORAGE_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "ahci",
    "ata_piix",
    "ata_generic",
    "sd_mod",
    "sr_mod",
    "nvme",
    "xhci_pci",
    "ehci_pci",
    "ohci_pci",
    "uhci_hcd",
    "usb_storage",
    "uas",
    "usbhid",
    "hid_generic",
    "vmw_pvscsi",
    "hv_storvsc",
    "mptspi",
];

/// What goes into an installed system's initrd.
#[derive(Debug, Clone)]
pub struct InstalledInitrd<'a> {
    pub modules_dir: &'a Path,
    pub stage1: &'a Path,
    pub busybox: &'a Path,
    pub root: RootSpec,
    /// `boot.initrd.availableKernelModules` (coldplugged when the hardware is there).
    pub available_modules: Vec<String>,
    /// `boot.initrd.kernelModules` (always loaded).
    pub kernel_modules: Vec<String>,
    /// Extra files: (path in the initrd, host file), e.g. `sbin/e2fsck`, `sbin/cryptsetup`, their
    /// libraries, `etc/mdadm/mdadm.conf`.
    pub files: Vec<(String, PathBuf)>,
    /// The storage under the root (see [`Config`]).
    pub luks: Vec<LuksSpec>,
    pub mdadm: bool,
    pub lvm: bool,
    /// `vg/lv` to activate in the initrd (empty: all).
    pub lvm_volumes: Vec<String>,
    /// The drivers of the disks under the root (see [`Config::root_drivers`]).
    pub root_drivers: Vec<String>,
    /// The console keymap's name and its binary form (see [`Config::keymap`]).
    pub keymap: Option<(String, Vec<u8>)>,
}

/// Modules for LUKS (dm-crypt with the usual ciphers, also without AES-NI), LVM and md RAID.
pub const LUKS_MODULES: &[&str] = &[
    "dm_mod",
    "dm_crypt",
    "xts",
    "aes_generic",
    "aesni_intel",
    "sha256_generic",
    "af_alg",
    "algif_skcipher",
];
pub const LVM_MODULES: &[&str] = &["dm_mod", "dm_snapshot"];
pub const RAID_MODULES: &[&str] = &["md_mod", "raid0", "raid1", "raid10", "raid456"];

/// The kernel module for a filesystem type.
pub fn fs_module(fs_type: &str) -> &str {
    match fs_type {
        "ext2" | "ext3" => "ext4",
        "vfat" => "vfat",
        other => other,
    }
}

/// Builds the initrd (gzip).
pub fn build(i: &InstalledInitrd) -> Result<Vec<u8>, LiveInitrdError> {
    let fs = fs_module(&i.root.fs_type).to_string();
    let mut names: Vec<String> = STORAGE_MODULES.iter().map(|s| s.to_string()).collect();
    names.extend(i.available_modules.iter().cloned());
    names.extend(i.kernel_modules.iter().cloned());
    names.extend(i.root_drivers.iter().cloned());
    names.push(fs.clone());
    for (on, list) in [(!i.luks.is_empty(), LUKS_MODULES), (i.lvm, LVM_MODULES), (i.mdadm, RAID_MODULES)] {
        if on {
            names.extend(list.iter().map(|s| s.to_string()));
        }
    }
    let mut a = with_modules(i.modules_dir, i.stage1, i.busybox, &names)?;
    let mut always = vec![fs, "sd_mod".to_string()];
    always.extend(i.kernel_modules.iter().cloned());
    let config = Config {
        modules: always,
        root: Some(i.root.clone()),
        luks: i.luks.clone(),
        mdadm: i.mdadm,
        lvm: i.lvm,
        lvm_volumes: i.lvm_volumes.clone(),
        root_drivers: i.root_drivers.clone(),
        keymap: i.keymap.as_ref().map(|(name, _)| name.clone()),
    };
    if let Some((_, bmap)) = &i.keymap {
        a.file(crate::config::KEYMAP_FILE.trim_start_matches('/'), 0o644, bmap.clone())?;
    }
    a.file("etc/stage1.json", 0o644, serde_json::to_string_pretty(&config).expect("serializable"))?;
    for (path, host) in &i.files {
        a.host_file(path.trim_start_matches('/'), host)?;
    }
    // Built at install time, on the machine being installed: the fast level.
    Ok(a.to_gzip_fast()?)
}
