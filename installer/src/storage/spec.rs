//! The declarative storage spec (used on its own with `installer plan --storage FILE`, and later as
//! the `storage` table of answer files). Unknown keys are rejected.
//!
//! ```toml
//! [boot]
//! firmware = "uefi"            # uefi | bios | auto (what the machine booted with)
//! bootloader = "systemd-boot"  # grub | systemd-boot | none | auto
//!
//! [[disk]]
//! id = "main"
//! match = [{ serial = "S1" }, { largest = true }]   # first selector that matches wins
//! table = "gpt"
//!
//! [[disk.partition]]
//! name = "ESP"
//! size = "512MiB"
//! type = "esp"
//! content = { type = "filesystem", format = "vfat", label = "ESP", mountpoint = "/boot" }
//!
//! [[disk.partition]]
//! size = "rest"
//! type = "linux"
//! [disk.partition.content]
//! type = "luks"
//! name = "cryptroot"
//! passphrase = "disk"          # the name of a secret, never the passphrase itself
//! content = { type = "lvm-pv", vg = "vg0" }
//!
//! [[vg]]
//! name = "vg0"
//! [[vg.lv]]
//! name = "root"
//! size = "rest"
//! content = { type = "filesystem", format = "ext4", mountpoint = "/" }
//! ```

use serde::{Deserialize, Serialize};

use super::size::{Size, SizeMatch};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    #[serde(default)]
    pub boot: BootSpec,
    #[serde(default, rename = "disk")]
    pub disks: Vec<DiskSpec>,
    #[serde(default, rename = "raid")]
    pub raids: Vec<RaidSpec>,
    #[serde(default, rename = "vg")]
    pub vgs: Vec<VgSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FirmwareChoice {
    #[default]
    Auto,
    Bios,
    Uefi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BootloaderChoice {
    #[default]
    Auto,
    Grub,
    SystemdBoot,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BootSpec {
    #[serde(default)]
    pub firmware: FirmwareChoice,
    #[serde(default)]
    pub bootloader: BootloaderChoice,
}

/// One way to pick a disk. Every field given must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Substring of the model, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeMatch>,
    /// Of the disks that match the other fields (and are not taken by an earlier disk), the largest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub largest: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub smallest: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Selectors {
    One(DiskSelector),
    Ordered(Vec<DiskSelector>),
}

impl Selectors {
    pub fn as_slice(&self) -> &[DiskSelector] {
        match self {
            Selectors::One(s) => std::slice::from_ref(s),
            Selectors::Ordered(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    #[default]
    Gpt,
    Mbr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    /// A name for messages and references; defaults to `disk<N>`.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "match")]
    pub selectors: Selectors,
    #[serde(default)]
    pub table: TableKind,
    #[serde(default, rename = "partition")]
    pub partitions: Vec<PartitionSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PartType {
    Esp,
    BiosBoot,
    Linux,
    Swap,
    Raid,
    Lvm,
}

impl PartType {
    pub fn gpt_guid(self) -> &'static str {
        match self {
            PartType::Esp => "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            PartType::BiosBoot => "21686148-6449-6E6F-744E-656564454649",
            PartType::Linux => "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            PartType::Swap => "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
            PartType::Raid => "A19D880F-05FC-4D3B-A006-743F0F84911E",
            PartType::Lvm => "E6D6D379-F507-44C2-A23C-238F2A3DF928",
        }
    }
    /// MBR system id; `None` for types MBR cannot have.
    pub fn mbr_id(self) -> Option<u8> {
        match self {
            PartType::Esp => Some(0xef),
            PartType::BiosBoot => None,
            PartType::Linux => Some(0x83),
            PartType::Swap => Some(0x82),
            PartType::Raid => Some(0xfd),
            PartType::Lvm => Some(0x8e),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            PartType::Esp => "esp",
            PartType::BiosBoot => "bios-boot",
            PartType::Linux => "linux",
            PartType::Swap => "swap",
            PartType::Raid => "raid",
            PartType::Lvm => "lvm",
        }
    }
    /// From a GPT type GUID or an MBR id as lsblk prints them (`0x83`).
    pub fn from_probe(parttype: &str) -> Option<PartType> {
        let p = parttype.to_ascii_uppercase();
        [PartType::Esp, PartType::BiosBoot, PartType::Linux, PartType::Swap, PartType::Raid, PartType::Lvm]
            .into_iter()
            .find(|t| t.gpt_guid() == p || t.mbr_id().is_some_and(|id| format!("0X{id:X}") == p))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    /// GPT partition name (PARTLABEL).
    #[serde(default)]
    pub name: Option<String>,
    pub size: Size,
    #[serde(rename = "type")]
    pub kind: PartType,
    /// MBR active flag.
    #[serde(default)]
    pub bootable: bool,
    /// Keep this existing partition (number `number`) and its data; it is verified, never formatted.
    #[serde(default)]
    pub preserve: bool,
    /// The partition number; defaults to the position in the list (and, on MBR disks with more than
    /// four partitions, 5, 6, … for logical partitions).
    #[serde(default)]
    pub number: Option<u32>,
    #[serde(default)]
    pub content: Option<Content>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FsFormat {
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
}

impl FsFormat {
    pub fn name(self) -> &'static str {
        match self {
            FsFormat::Ext4 => "ext4",
            FsFormat::Xfs => "xfs",
            FsFormat::Btrfs => "btrfs",
            FsFormat::Vfat => "vfat",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subvolume {
    pub name: String,
    #[serde(default)]
    pub mountpoint: Option<String>,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PbkdfKind {
    #[default]
    Argon2id,
    Pbkdf2,
}

impl PbkdfKind {
    /// cryptsetup's name (`--pbkdf`).
    pub fn name(self) -> &'static str {
        match self {
            PbkdfKind::Argon2id => "argon2id",
            PbkdfKind::Pbkdf2 => "pbkdf2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Content {
    Filesystem {
        format: FsFormat,
        #[serde(default)]
        label: Option<String>,
        #[serde(default)]
        mountpoint: Option<String>,
        #[serde(default)]
        options: Vec<String>,
        #[serde(default)]
        subvolumes: Vec<Subvolume>,
    },
    Swap {
        #[serde(default)]
        label: Option<String>,
    },
    Luks {
        /// The /dev/mapper name.
        name: String,
        /// LUKS version: 2 (default) or 1 (what GRUB reads for an encrypted /boot).
        #[serde(default = "luks2")]
        version: u8,
        #[serde(default)]
        cipher: Option<String>,
        #[serde(default)]
        pbkdf: PbkdfKind,
        /// Milliseconds of key derivation (cryptsetup --iter-time).
        #[serde(default)]
        iter_time_ms: Option<u32>,
        /// Name of the secret holding the passphrase.
        #[serde(default)]
        passphrase: Option<String>,
        /// A key file on the running system.
        #[serde(default)]
        keyfile: Option<String>,
        content: Box<Content>,
    },
    LvmPv {
        vg: String,
    },
    RaidMember {
        array: String,
    },
}

fn luks2() -> u8 {
    2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub enum RaidMetadata {
    #[default]
    #[serde(rename = "1.2")]
    V1_2,
    /// Superblock at the end: firmware can read a member as a plain filesystem (e.g. an ESP).
    #[serde(rename = "1.0")]
    V1_0,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RaidSpec {
    /// Array name: the device is /dev/md/<name>.
    pub name: String,
    pub level: u8,
    #[serde(default)]
    pub metadata: RaidMetadata,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VgSpec {
    pub name: String,
    #[serde(default, rename = "lv")]
    pub lvs: Vec<LvSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LvSpec {
    pub name: String,
    pub size: Size,
    pub content: Content,
}

impl StorageSpec {
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}
