//! `/etc/stage1.json`: what the initrd builder tells stage-1 (modules to load; for an installed
//! system, the root filesystem and how to check it).

/// Where the image's extra CA certificates (PEM) are in the initrd; stage 1 trusts them for
/// `root=live:https://`.
pub const EXTRA_CA: &str = "/etc/ssl/installer-ca.pem";

/// Where stage 1 puts the kernel for a live system. A live image carries its kernel once, on the
/// medium (`/boot/vmlinuz`) or in a netboot initrd (`/boot/vmlinuz`); the squashfs's
/// `/boot/vmlinuz-<version>` is a link to this path, which `installer install` reads into each
/// generation.
pub const LIVE_KERNEL: &str = "/run/installer/vmlinuz";

/// Where a live root says how much an install copies from it: `<bytes> <files>` (the image
/// builder measures it; the planner and `installer install` refuse a root without room for it).
pub const SYSTEM_SIZE: &str = "/usr/share/installer/system-size";

use serde::{Deserialize, Serialize};

/// The installed system's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootSpec {
    /// As in `fileSystems."/".device`: `/dev/disk/by-uuid/…`, `/dev/disk/by-label/…`, `UUID=…`,
    /// `LABEL=…` or a device path.
    pub device: String,
    pub fs_type: String,
    #[serde(default)]
    pub options: Vec<String>,
    /// Run fsck before mounting (`boot.initrd.checkJournalingFS` for journaling filesystems).
    #[serde(default)]
    pub check: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Modules always loaded.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Present in an installed system's initrd; absent in the live initrd.
    #[serde(default)]
    pub root: Option<RootSpec>,
    /// The storage under the root, set up in this order: RAID arrays (`mdadm --assemble --scan`
    /// with the initrd's mdadm.conf), LUKS devices marked `preLvm`, LVM volume groups, the other
    /// LUKS devices.
    #[serde(default)]
    pub mdadm: bool,
    #[serde(default)]
    pub luks: Vec<LuksSpec>,
    #[serde(default)]
    pub lvm: bool,
    /// The logical volumes (`vg/lv`) to activate here; the others are left to the installed
    /// system's udev-driven autoactivation, so that systemd sees them appear. Empty: all.
    #[serde(default)]
    pub lvm_volumes: Vec<String>,
    /// The drivers of the disks under the root as the installer saw them (`virtio_blk`,
    /// `virtio_pci`; `sd_mod`, `ahci`), loaded first: stage 1 looks for the root with them alone
    /// for a moment before it loads a driver for every device there (which the installed system's
    /// udev does anyway). Empty: every device's driver at once.
    #[serde(default)]
    pub root_drivers: Vec<String>,
    /// The installed system's console keymap (`console.keyMap`), whose binary form is in
    /// [`KEYMAP_FILE`]: stage 1 loads it before it asks for a passphrase, so that the passphrase
    /// is typed on the layout it was chosen with. None: the kernel's (US) layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keymap: Option<String>,
}

/// Where an installed system's initrd keeps its console keymap, in busybox `loadkmap`'s binary
/// form (what `loadkeys -b` writes).
pub const KEYMAP_FILE: &str = "/etc/keymap.bmap";

/// A LUKS device to open before the root is mounted (`boot.initrd.luks.devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LuksSpec {
    /// The /dev/mapper name.
    pub name: String,
    /// The encrypted device (by-uuid path, UUID=…, or a path).
    pub device: String,
    /// A key file inside the initrd; without it the passphrase is asked on the console.
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub allow_discards: bool,
    #[serde(default = "yes")]
    pub pre_lvm: bool,
}

fn yes() -> bool {
    true
}

/// How a device is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRef {
    Uuid(String),
    Label(String),
    Path(String),
}

impl DeviceRef {
    pub fn parse(s: &str) -> DeviceRef {
        if let Some(u) = s.strip_prefix("/dev/disk/by-uuid/").or_else(|| s.strip_prefix("UUID=")) {
            DeviceRef::Uuid(u.to_string())
        } else if let Some(l) = s.strip_prefix("/dev/disk/by-label/").or_else(|| s.strip_prefix("LABEL=")) {
            DeviceRef::Label(l.replace("\\x20", " "))
        } else {
            DeviceRef::Path(s.to_string())
        }
    }
}

impl std::fmt::Display for DeviceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceRef::Uuid(u) => write!(f, "UUID={u}"),
            DeviceRef::Label(l) => write!(f, "LABEL={l}"),
            DeviceRef::Path(p) => write!(f, "{p}"),
        }
    }
}

/// Mount flags and the data string for mount(2) from fstab-style options.
pub fn mount_options(options: &[String]) -> (libc::c_ulong, String) {
    let mut flags = 0;
    let mut data = vec![];
    for o in options.iter().flat_map(|o| o.split(',')) {
        match o {
            "" | "defaults" | "rw" | "auto" | "nofail" | "x-systemd.automount" => {}
            "ro" => flags |= libc::MS_RDONLY,
            "noatime" => flags |= libc::MS_NOATIME,
            "nodiratime" => flags |= libc::MS_NODIRATIME,
            "relatime" => flags |= libc::MS_RELATIME,
            "nosuid" => flags |= libc::MS_NOSUID,
            "nodev" => flags |= libc::MS_NODEV,
            "noexec" => flags |= libc::MS_NOEXEC,
            other => data.push(other.to_string()),
        }
    }
    (flags, data.join(","))
}

/// Splits a device-mapper name of an LVM volume (`vg-lv`, with `-` in names doubled) into
/// `vg/lv`.
pub fn lvm_volume_of_dm_name(dm: &str) -> Option<String> {
    let mut vg = String::new();
    let mut chars = dm.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                vg.push('-');
            } else {
                let lv: String = chars.collect::<String>().replace("--", "-");
                return (!vg.is_empty() && !lv.is_empty()).then(|| format!("{vg}/{lv}"));
            }
        } else {
            vg.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_names_split_into_vg_and_lv() {
        assert_eq!(lvm_volume_of_dm_name("sys-root").as_deref(), Some("sys/root"));
        assert_eq!(lvm_volume_of_dm_name("my--vg-data--1").as_deref(), Some("my-vg/data-1"));
        assert_eq!(lvm_volume_of_dm_name("cryptroot"), None);
    }

    #[test]
    fn device_names_and_options() {
        assert_eq!(DeviceRef::parse("/dev/disk/by-uuid/ab-cd"), DeviceRef::Uuid("ab-cd".into()));
        assert_eq!(DeviceRef::parse("LABEL=nixos"), DeviceRef::Label("nixos".into()));
        assert_eq!(DeviceRef::parse("/dev/vda2"), DeviceRef::Path("/dev/vda2".into()));
        let (f, d) = mount_options(&["defaults".into(), "noatime,subvol=@,compress=zstd".into()]);
        assert_eq!(f, libc::MS_NOATIME);
        assert_eq!(d, "subvol=@,compress=zstd");
        let c: Config = serde_json::from_str(
            r#"{"modules":["ext4"],"root":{"device":"UUID=x","fsType":"ext4","options":[],"check":true}}"#,
        )
        .unwrap();
        assert!(c.root.unwrap().check);
        let live: Config = serde_json::from_str(r#"{"modules":["loop"]}"#).unwrap();
        assert_eq!(live.root, None);
        assert!(live.luks.is_empty() && !live.lvm && !live.mdadm);
        let chain: Config = serde_json::from_str(
            r#"{"luks":[{"name":"cryptroot","device":"/dev/disk/by-uuid/u"}],"lvm":true}"#,
        )
        .unwrap();
        assert!(chain.luks[0].pre_lvm && chain.luks[0].key_file.is_none() && chain.lvm);
    }
}
