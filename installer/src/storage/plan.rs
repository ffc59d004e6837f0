//! The planner: a pure function from a storage spec and a probe to an ordered, printable plan.
//! Nothing here touches a disk; [`super::apply`] executes exactly what a [`Plan`] says.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::probe::{partition_path, Probe, ProbedDisk};
use super::size::{human, Size, MIB};
use super::spec::*;

/// Why a spec cannot be planned on this machine. `field` is the path of the spec field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("{field}: no disk matches {wanted}")]
    NoMatch { field: String, wanted: String },
    #[error("{field}: {wanted} matches {count} disks ({candidates}); add serial, model or size to pick one")]
    Ambiguous { field: String, wanted: String, count: usize, candidates: String },
    #[error("{field}: {disk} holds the medium this system was booted from; refusing to touch it")]
    BootMedium { field: String, disk: String },
    #[error("{field}: {disk} is busy ({reasons}); unmount, swapoff or close what holds it first")]
    Busy { field: String, disk: String, reasons: String },
    #[error("{field}: does not fit on {disk}: needs {needed}, {available} available")]
    DoesNotFit { field: String, disk: String, needed: String, available: String },
    #[error("{field}: RAID array {array} has two members on {disk} ({first} and {second}); members must be on different disks")]
    RaidSameDisk { field: String, array: String, disk: String, first: String, second: String },
    #[error("{field}: {mountpoint} is already mounted by {first}")]
    DuplicateMount { field: String, mountpoint: String, first: String },
    #[error("storage: nothing is mounted on /")]
    NoRoot,
    #[error(
        "{field}: UEFI boot needs an ESP: a partition of type \"esp\" with a vfat filesystem that is mounted"
    )]
    NoEsp { field: String },
    #[error("{field}: GRUB on the GPT disk {disk} under BIOS needs a partition of type \"bios-boot\" (1MiB) on it")]
    NoBiosBoot { field: String, disk: String },
    #[error("{field}: preserve: {detail}")]
    Preserve { field: String, detail: String },
    #[error(
        "{field}: the root filesystem on {device} would have {size}; the system needs at least {needed}"
    )]
    TooSmall { field: String, device: String, size: String, needed: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl PlanError {
    /// The path of the spec field at fault (empty when the whole spec is).
    pub fn field(&self) -> &str {
        match self {
            PlanError::NoMatch { field, .. }
            | PlanError::Ambiguous { field, .. }
            | PlanError::BootMedium { field, .. }
            | PlanError::Busy { field, .. }
            | PlanError::DoesNotFit { field, .. }
            | PlanError::RaidSameDisk { field, .. }
            | PlanError::DuplicateMount { field, .. }
            | PlanError::NoEsp { field }
            | PlanError::NoBiosBoot { field, .. }
            | PlanError::Preserve { field, .. }
            | PlanError::TooSmall { field, .. }
            | PlanError::Invalid { field, .. } => field,
            PlanError::NoRoot => "",
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> PlanError {
    PlanError::Invalid { field: field.to_string(), message: message.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Firmware {
    Bios,
    Uefi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bootloader {
    Grub,
    SystemdBoot,
    None,
}

/// A partition the plan creates or keeps. Sectors are in the disk's logical sector size; `end` is
/// inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedPartition {
    pub number: u32,
    pub device: String,
    pub start: u64,
    pub end: u64,
    pub kind: PartType,
    pub name: Option<String>,
    pub bootable: bool,
    pub preserve: bool,
    /// MBR logical partition (its EBR sits in the 1 MiB before `start`).
    pub logical: bool,
    /// What goes on it, for the summary.
    pub summary: String,
}

/// Identity of a disk as planned; apply re-probes and refuses when it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskIdentity {
    pub path: String,
    pub model: String,
    pub serial: String,
    pub size: u64,
    pub logical_sector: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedDisk {
    pub identity: DiskIdentity,
    pub field: String,
    pub table: TableKind,
    pub partitions: Vec<PlannedPartition>,
    /// What is on the disk now and will be lost.
    pub destroyed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Erase every filesystem, RAID, LVM and LUKS signature on the disk and its partitions.
    Wipe {
        disk: String,
        partitions: Vec<String>,
    },
    /// Write a partition table (keeping the preserved entries when `keep_existing`).
    Partition {
        disk: String,
        table: TableKind,
        sector_size: u64,
        keep_existing: bool,
        partitions: Vec<PlannedPartition>,
    },
    MdCreate {
        name: String,
        device: String,
        level: u8,
        metadata: RaidMetadata,
        members: Vec<String>,
    },
    LuksFormat {
        device: String,
        name: String,
        version: u8,
        cipher: Option<String>,
        pbkdf: PbkdfKind,
        iter_time_ms: Option<u32>,
        key: KeySource,
    },
    LuksOpen {
        device: String,
        name: String,
        key: KeySource,
    },
    PvCreate {
        device: String,
    },
    VgCreate {
        name: String,
        pvs: Vec<String>,
    },
    /// `size` in bytes, or everything left in the VG when `None`.
    LvCreate {
        vg: String,
        name: String,
        size: Option<u64>,
    },
    Mkfs {
        device: String,
        format: FsFormat,
        label: Option<String>,
    },
    BtrfsSubvolumes {
        device: String,
        subvolumes: Vec<String>,
    },
    MkSwap {
        device: String,
        label: Option<String>,
    },
    Mount {
        device: String,
        mountpoint: String,
        format: FsFormat,
        options: Vec<String>,
    },
    SwapOn {
        device: String,
    },
    /// Add a random key file (written to `key_file` inside the target, mode 0400) to the LUKS
    /// device, so that stage 1 opens it without asking again after GRUB asked (encrypted /boot).
    LuksAddKey {
        device: String,
        name: String,
        key: KeySource,
        pbkdf: PbkdfKind,
        iter_time_ms: Option<u32>,
        key_file: String,
    },
}

/// A key file stage 1 uses for a LUKS device (its path is the same inside the target and the
/// initrd).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitrdKey {
    pub name: String,
    pub key_file: String,
}

/// Where a LUKS key comes from: a named secret (resolved at apply time) or a key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    Secret(String),
    KeyFile(String),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Secret(s) => write!(f, "passphrase from secret {s:?}"),
            KeySource::KeyFile(p) => write!(f, "key file {p}"),
        }
    }
}

impl Action {
    /// The action's kind as serialized (`partition`, `luks-format`, …).
    pub fn kind(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_string))
            .unwrap_or_default()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Wipe { disk, partitions } if partitions.is_empty() => {
                write!(f, "wipe all signatures on {disk}")
            }
            Action::Wipe { disk, partitions } => {
                write!(f, "wipe all signatures on {} and {disk}", partitions.join(", "))
            }
            Action::Partition { disk, table, keep_existing, partitions, .. } => {
                let kind = if *table == TableKind::Gpt { "GPT" } else { "MBR" };
                let kept = partitions.iter().filter(|p| p.preserve).count();
                if *keep_existing {
                    write!(f, "update the {kind} on {disk}: keep {kept}, create {}", partitions.len() - kept)
                } else {
                    write!(f, "write a new {kind} on {disk} with {} partition(s)", partitions.len())
                }
            }
            Action::MdCreate { device, level, metadata, members, .. } => write!(
                f,
                "create RAID{level} {device} (metadata {}) from {}",
                if *metadata == RaidMetadata::V1_0 { "1.0" } else { "1.2" },
                members.join(", ")
            ),
            Action::LuksFormat { device, version, pbkdf, key, .. } => {
                write!(f, "format {device} as LUKS{version} ({}, {key})", pbkdf.name())
            }
            Action::LuksOpen { device, name, .. } => write!(f, "open {device} as /dev/mapper/{name}"),
            Action::PvCreate { device } => write!(f, "create LVM physical volume on {device}"),
            Action::VgCreate { name, pvs } => write!(f, "create volume group {name} on {}", pvs.join(", ")),
            Action::LvCreate { vg, name, size: Some(s) } => {
                write!(f, "create logical volume {vg}/{name} of {}", human(*s))
            }
            Action::LvCreate { vg, name, size: None } => {
                write!(f, "create logical volume {vg}/{name} with the rest of {vg}")
            }
            Action::Mkfs { device, format, label } => match label {
                Some(l) => write!(f, "make {} filesystem {l:?} on {device}", format.name()),
                None => write!(f, "make {} filesystem on {device}", format.name()),
            },
            Action::BtrfsSubvolumes { device, subvolumes } => {
                write!(f, "create btrfs subvolumes {} on {device}", subvolumes.join(", "))
            }
            Action::MkSwap { device, .. } => write!(f, "make swap on {device}"),
            Action::Mount { device, mountpoint, options, .. } if options.is_empty() => {
                write!(f, "mount {device} on {mountpoint}")
            }
            Action::Mount { device, mountpoint, options, .. } => {
                write!(f, "mount {device} on {mountpoint} ({})", options.join(","))
            }
            Action::SwapOn { device } => write!(f, "enable swap on {device}"),
            Action::LuksAddKey { device, name, key_file, .. } => {
                write!(f, "add the new key file {key_file} to {device} ({name}) for the initrd")
            }
        }
    }
}

/// The plan: what happens to which disk, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub firmware: Firmware,
    pub bootloader: Bootloader,
    pub target: PathBuf,
    pub disks: Vec<PlannedDisk>,
    /// Disks of the machine the plan does not touch (described for people).
    pub untouched: Vec<String>,
    pub actions: Vec<Action>,
    /// Disks whose boot sectors the bootloader goes to (GRUB BIOS).
    pub boot_disks: Vec<String>,
    /// Key files put into the initrd so that the passphrase is asked once, by GRUB: one for each
    /// LUKS device under an encrypted /boot (see [`Plan::grub_cryptodisk`]).
    #[serde(default)]
    pub initrd_keys: Vec<InitrdKey>,
}

impl Plan {
    /// /boot is on LUKS and GRUB unlocks it (`boot.loader.grub.enableCryptodisk`).
    pub fn grub_cryptodisk(&self) -> bool {
        !self.initrd_keys.is_empty()
    }

    /// Every disk path the plan writes to.
    pub fn target_disks(&self) -> Vec<&str> {
        self.disks.iter().map(|d| d.identity.path.as_str()).collect()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fw = if self.firmware == Firmware::Uefi { "UEFI" } else { "BIOS" };
        let bl = match self.bootloader {
            Bootloader::Grub => "GRUB",
            Bootloader::SystemdBoot => "systemd-boot",
            Bootloader::None => "none",
        };
        writeln!(f, "Storage plan: firmware {fw}, bootloader {bl}, target {}", self.target.display())?;
        if self.grub_cryptodisk() {
            let names: Vec<&str> = self.initrd_keys.iter().map(|k| k.name.as_str()).collect();
            writeln!(
                f,
                "/boot is encrypted: GRUB asks for the passphrase of {}, the initrd opens it with a key file",
                names.join(", ")
            )?;
        }
        for d in &self.disks {
            let id = &d.identity;
            let model = if id.model.is_empty() { "unknown model" } else { &id.model };
            let serial =
                if id.serial.is_empty() { "no serial".into() } else { format!("serial {}", id.serial) };
            let table = if d.table == TableKind::Gpt { "GPT" } else { "MBR" };
            writeln!(f)?;
            writeln!(f, "Disk {} ({model}, {serial}, {}) [{}]:", id.path, human(id.size), d.field)?;
            if d.partitions.iter().any(|p| p.preserve) {
                writeln!(f, "  keeps its {table}; partitions marked KEEP are not touched")?;
            } else {
                writeln!(f, "  ERASED: new {table}")?;
            }
            for lost in &d.destroyed {
                writeln!(f, "  destroys {lost}")?;
            }
            for p in &d.partitions {
                let bytes = (p.end - p.start + 1) * id.logical_sector;
                writeln!(
                    f,
                    "  {:<4} {:<16} {:>10}-{:<10} {:>10}  {:<9} {}{}",
                    p.number,
                    p.device,
                    p.start,
                    p.end,
                    human(bytes),
                    p.kind.name(),
                    if p.preserve { "KEEP " } else { "" },
                    p.summary
                )?;
            }
        }
        if !self.untouched.is_empty() {
            writeln!(f)?;
            for u in &self.untouched {
                writeln!(f, "Not touched: {u}")?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Actions:")?;
        for (i, a) in self.actions.iter().enumerate() {
            writeln!(f, "  {:>2}. {a}", i + 1)?;
        }
        Ok(())
    }
}

/// A filesystem mount found while walking the spec.
#[derive(Debug, Clone)]
struct MountRec {
    mountpoint: String,
    device: String,
    /// The size of a filesystem the plan makes (a kept one's is not known).
    size: Option<u64>,
    format: FsFormat,
    options: Vec<String>,
    field: String,
    disks: Vec<String>,
    esp: bool,
}

/// A LUKS device found while walking the spec.
#[derive(Debug, Clone)]
struct LuksRec {
    device: String,
    name: String,
    pbkdf: PbkdfKind,
    iter_time_ms: Option<u32>,
    key: KeySource,
    field: String,
}

#[derive(Debug, Clone)]
struct Member {
    device: String,
    size: u64,
    disks: Vec<String>,
    field: String,
}

struct Planner<'a> {
    probe: &'a Probe,
    actions: Vec<Action>,
    mounts: Vec<MountRec>,
    swaps: Vec<String>,
    raid_members: BTreeMap<String, Vec<Member>>,
    pvs: BTreeMap<String, Vec<Member>>,
    luks: Vec<LuksRec>,
    /// The LUKS devices (indices into `luks`) under each device made so far.
    luks_under: BTreeMap<String, Vec<usize>>,
}

fn content_summary(c: &Content) -> String {
    match c {
        Content::Filesystem { format, label, mountpoint, subvolumes, .. } => {
            let mut s = format.name().to_string();
            if let Some(l) = label {
                s.push_str(&format!(" {l:?}"));
            }
            if let Some(m) = mountpoint {
                s.push_str(&format!(" -> {m}"));
            }
            for sv in subvolumes {
                s.push_str(&format!(
                    " [{}{}]",
                    sv.name,
                    sv.mountpoint.as_deref().map(|m| format!(" -> {m}")).unwrap_or_default()
                ));
            }
            s
        }
        Content::Swap { .. } => "swap".into(),
        Content::Luks { name, version, content, .. } => {
            format!("luks{version} {name}: {}", content_summary(content))
        }
        Content::LvmPv { vg } => format!("lvm-pv of {vg}"),
        Content::RaidMember { array } => format!("raid member of {array}"),
    }
}

fn check_mountpoint(m: &str, field: &str) -> Result<(), PlanError> {
    if !m.starts_with('/')
        || m.contains("//")
        || (m.len() > 1 && m.ends_with('/'))
        || m.split('/').any(|c| c == "..")
    {
        return Err(invalid(field, format!("mount point {m:?} must be an absolute path like /home")));
    }
    Ok(())
}

impl Planner<'_> {
    /// Records that `device` is stacked on `lower` devices (and so on their LUKS devices).
    fn stacked(&mut self, device: &str, lower: &[String]) {
        let mut under: Vec<usize> =
            lower.iter().flat_map(|l| self.luks_under.get(l).cloned().unwrap_or_default()).collect();
        under.sort();
        under.dedup();
        self.luks_under.insert(device.to_string(), under);
    }

    fn mount(&mut self, rec: MountRec) -> Result<(), PlanError> {
        check_mountpoint(&rec.mountpoint, &rec.field)?;
        if let Some(first) = self.mounts.iter().find(|m| m.mountpoint == rec.mountpoint) {
            return Err(PlanError::DuplicateMount {
                field: rec.field,
                mountpoint: rec.mountpoint,
                first: format!("{} ({})", first.device, first.field),
            });
        }
        self.mounts.push(rec);
        Ok(())
    }

    /// Plans what goes on `device` (of about `size` bytes, on physical `disks`).
    fn content(
        &mut self,
        device: &str,
        size: u64,
        disks: &[String],
        c: &Content,
        field: &str,
        esp: bool,
    ) -> Result<(), PlanError> {
        match c {
            Content::Filesystem { format, label, mountpoint, options, subvolumes } => {
                check_label(*format, label.as_deref(), field)?;
                if !subvolumes.is_empty() && *format != FsFormat::Btrfs {
                    return Err(invalid(&format!("{field}.subvolumes"), "only btrfs has subvolumes"));
                }
                self.actions.push(Action::Mkfs {
                    device: device.into(),
                    format: *format,
                    label: label.clone(),
                });
                if !subvolumes.is_empty() {
                    self.subvolumes(device, size, disks, subvolumes, field)?;
                }
                if let Some(m) = mountpoint {
                    self.mount(MountRec {
                        mountpoint: m.clone(),
                        device: device.into(),
                        size: Some(size),
                        format: *format,
                        options: options.clone(),
                        field: format!("{field}.mountpoint"),
                        disks: disks.to_vec(),
                        esp: esp && *format == FsFormat::Vfat,
                    })?;
                }
            }
            Content::Swap { label } => {
                self.actions.push(Action::MkSwap { device: device.into(), label: label.clone() });
                self.swaps.push(device.into());
            }
            Content::Luks { .. } => self.luks(device, size, disks, c, field)?,
            Content::LvmPv { vg } => {
                self.actions.push(Action::PvCreate { device: device.into() });
                let m = Member { device: device.into(), size, disks: disks.to_vec(), field: field.into() };
                self.pvs.entry(vg.clone()).or_default().push(m);
            }
            Content::RaidMember { array } => {
                let m = Member { device: device.into(), size, disks: disks.to_vec(), field: field.into() };
                self.raid_members.entry(array.clone()).or_default().push(m);
            }
        }
        Ok(())
    }

    /// A btrfs filesystem's subvolumes, each mounted where it says.
    fn subvolumes(
        &mut self,
        device: &str,
        size: u64,
        disks: &[String],
        subvolumes: &[Subvolume],
        field: &str,
    ) -> Result<(), PlanError> {
        let mut names: Vec<String> = vec![];
        for (i, sv) in subvolumes.iter().enumerate() {
            if sv.name.is_empty() || sv.name.starts_with('/') || names.contains(&sv.name) {
                return Err(invalid(
                    &format!("{field}.subvolumes[{i}].name"),
                    format!("bad or repeated subvolume name {:?}", sv.name),
                ));
            }
            names.push(sv.name.clone());
        }
        self.actions.push(Action::BtrfsSubvolumes { device: device.into(), subvolumes: names });
        for (i, sv) in subvolumes.iter().enumerate() {
            if let Some(m) = &sv.mountpoint {
                let mut opts = vec![format!("subvol={}", sv.name)];
                opts.extend(sv.options.iter().cloned());
                self.mount(MountRec {
                    mountpoint: m.clone(),
                    device: device.into(),
                    size: Some(size),
                    format: FsFormat::Btrfs,
                    options: opts,
                    field: format!("{field}.subvolumes[{i}].mountpoint"),
                    disks: disks.to_vec(),
                    esp: false,
                })?;
            }
        }
        Ok(())
    }

    /// A LUKS container on `device`, opened, and what goes inside it.
    fn luks(
        &mut self,
        device: &str,
        size: u64,
        disks: &[String],
        c: &Content,
        field: &str,
    ) -> Result<(), PlanError> {
        let Content::Luks { name, version, cipher, pbkdf, iter_time_ms, passphrase, keyfile, content } = c
        else {
            unreachable!("called for LUKS content only")
        };
        if *version != 1 && *version != 2 {
            return Err(invalid(
                &format!("{field}.version"),
                format!("LUKS version is 1 or 2, not {version}"),
            ));
        }
        if name.is_empty() || name.contains('/') {
            return Err(invalid(&format!("{field}.name"), format!("bad mapper name {name:?}")));
        }
        let key = match (passphrase, keyfile) {
            (Some(s), None) => KeySource::Secret(s.clone()),
            (None, Some(k)) => KeySource::KeyFile(k.clone()),
            _ => return Err(invalid(field, "give exactly one of passphrase (a secret name) or keyfile")),
        };
        // LUKS1 (what GRUB reads) only knows PBKDF2.
        let pbkdf = if *version == 1 { PbkdfKind::Pbkdf2 } else { *pbkdf };
        self.actions.push(Action::LuksFormat {
            device: device.into(),
            name: name.clone(),
            version: *version,
            cipher: cipher.clone(),
            pbkdf,
            iter_time_ms: *iter_time_ms,
            key: key.clone(),
        });
        self.actions.push(Action::LuksOpen { device: device.into(), name: name.clone(), key: key.clone() });
        let header = if *version == 2 { 16 * MIB } else { 2 * MIB };
        let mapped = format!("/dev/mapper/{name}");
        self.stacked(&mapped, &[device.to_string()]);
        self.luks.push(LuksRec {
            device: device.into(),
            name: name.clone(),
            pbkdf,
            iter_time_ms: *iter_time_ms,
            key,
            field: field.into(),
        });
        let idx = self.luks.len() - 1;
        self.luks_under.get_mut(&mapped).expect("just recorded").push(idx);
        self.content(&mapped, size.saturating_sub(header), disks, content, &format!("{field}.content"), false)
    }
}

/// Filesystem labels have a length limit each.
fn check_label(format: FsFormat, label: Option<&str>, field: &str) -> Result<(), PlanError> {
    let Some(l) = label else { return Ok(()) };
    let max = match format {
        FsFormat::Vfat => 11,
        FsFormat::Xfs => 12,
        FsFormat::Ext4 => 16,
        FsFormat::Btrfs => 255,
    };
    if l.len() > max || l.is_empty() {
        return Err(invalid(
            &format!("{field}.label"),
            format!("{} labels are 1 to {max} characters, {l:?} has {}", format.name(), l.len()),
        ));
    }
    Ok(())
}

fn describe_selector(s: &DiskSelector) -> String {
    let mut parts = vec![];
    if let Some(p) = &s.path {
        parts.push(format!("path {p}"));
    }
    if let Some(p) = &s.serial {
        parts.push(format!("serial {p:?}"));
    }
    if let Some(p) = &s.model {
        parts.push(format!("model {p:?}"));
    }
    if let Some(p) = &s.size {
        parts.push(match p {
            super::size::SizeMatch::Exact(s) => format!("size {s}"),
            super::size::SizeMatch::Range { min, max } => format!(
                "size {}..{}",
                min.map(|s| s.to_string()).unwrap_or_default(),
                max.map(|s| s.to_string()).unwrap_or_default()
            ),
        });
    }
    if s.largest {
        parts.push("largest".into());
    }
    if s.smallest {
        parts.push("smallest".into());
    }
    if parts.is_empty() {
        "any disk".into()
    } else {
        parts.join(", ")
    }
}

fn selector_matches(s: &DiskSelector, d: &ProbedDisk) -> bool {
    s.path.as_ref().is_none_or(|p| *p == d.path || d.aliases.contains(p))
        && s.serial.as_ref().is_none_or(|p| *p == d.serial)
        && s.model.as_ref().is_none_or(|m| d.model.to_lowercase().contains(&m.to_lowercase()))
        && s.size.as_ref().is_none_or(|m| m.matches(d.size))
}

/// Picks the disk for `spec` among those not yet `taken`.
fn select<'p>(
    probe: &'p Probe,
    spec: &DiskSpec,
    field: &str,
    taken: &[String],
) -> Result<&'p ProbedDisk, PlanError> {
    let selectors = spec.selectors.as_slice();
    if selectors.is_empty() {
        return Err(invalid(&format!("{field}.match"), "needs at least one selector"));
    }
    for (i, s) in selectors.iter().enumerate() {
        if s.largest && s.smallest {
            return Err(invalid(&format!("{field}.match[{i}]"), "largest and smallest together"));
        }
        let mut cands: Vec<&ProbedDisk> = probe
            .disks
            .iter()
            .filter(|d| !taken.contains(&d.path))
            // Floppy and optical drives, RAM disks and loop devices are only picked by path (loop
            // devices are how host tests stand in for disks).
            .filter(|d| d.not_a_disk().is_none() || s.path.is_some())
            .filter(|d| selector_matches(s, d))
            .collect();
        if cands.is_empty() {
            continue;
        }
        if s.largest || s.smallest {
            // The boot medium never wins a size contest.
            cands.retain(|d| !d.boot_medium);
            if cands.is_empty() {
                continue;
            }
            cands.sort_by_key(|d| (d.size, std::cmp::Reverse(d.path.clone())));
            return Ok(if s.largest { cands[cands.len() - 1] } else { cands[0] });
        }
        if cands.len() > 1 {
            return Err(PlanError::Ambiguous {
                field: format!("{field}.match[{i}]"),
                wanted: describe_selector(s),
                count: cands.len(),
                candidates: cands.iter().map(|d| d.describe()).collect::<Vec<_>>().join("; "),
            });
        }
        return Ok(cands[0]);
    }
    Err(PlanError::NoMatch {
        field: format!("{field}.match"),
        wanted: selectors.iter().map(describe_selector).collect::<Vec<_>>().join(" or "),
    })
}

/// The usable sectors of a disk: partitions go in `first..usable_end`, aligned to `align`.
struct Usable {
    sector: u64,
    align: u64,
    first: u64,
    usable_end: u64,
}

impl Usable {
    fn of(disk: &ProbedDisk, table: TableKind, field: &str) -> Result<Usable, PlanError> {
        let sector = disk.logical_sector.max(512);
        let align = MIB / sector;
        let total = disk.size / sector;
        let end_excl = match table {
            TableKind::Gpt => total.saturating_sub(1 + 16384u64.div_ceil(sector)),
            TableKind::Mbr => total.min(1u64 << 32),
        };
        let usable_end = end_excl / align * align;
        if usable_end <= align {
            return Err(PlanError::DoesNotFit {
                field: field.into(),
                disk: disk.path.clone(),
                needed: "a partition table".into(),
                available: human(disk.size),
            });
        }
        Ok(Usable { sector, align, first: align, usable_end })
    }

    fn sectors(&self) -> u64 {
        self.usable_end - self.first
    }
}

/// Checks on the partition list that need no sizes: table limits, one `rest`, MBR types.
fn check_partition_list(spec: &DiskSpec, field: &str) -> Result<(), PlanError> {
    let parts = &spec.partitions;
    if spec.table == TableKind::Gpt && parts.len() > 128 {
        return Err(invalid(&format!("{field}.partition"), "a GPT holds at most 128 partitions"));
    }
    if spec.table == TableKind::Mbr && parts.len() > 4 && parts.iter().any(|p| p.preserve) {
        return Err(invalid(
            &format!("{field}.partition"),
            "keeping partitions is supported on MBR disks with at most four partitions",
        ));
    }
    if parts.iter().filter(|p| p.size == Size::Rest && !p.preserve).count() > 1 {
        return Err(invalid(
            &format!("{field}.partition"),
            "only one partition per disk can have size \"rest\"",
        ));
    }
    Ok(())
}

/// The existing partition a kept partition names.
fn existing<'d>(
    disk: &'d ProbedDisk,
    p: &PartitionSpec,
    i: usize,
    pf: &str,
) -> Result<&'d super::probe::ProbedPartition, PlanError> {
    let number = p.number.unwrap_or(i as u32 + 1);
    disk.partitions.iter().find(|e| e.number == number).ok_or_else(|| PlanError::Preserve {
        field: pf.into(),
        detail: format!("{} has no partition {number}", disk.path),
    })
}

/// Each partition's size in sectors (`None`: the rest), and the EBR gap before each logical one.
fn partition_sizes(
    disk: &ProbedDisk,
    spec: &DiskSpec,
    field: &str,
    u: &Usable,
) -> Result<(Vec<Option<u64>>, Vec<u64>), PlanError> {
    let mbr_logical = spec.table == TableKind::Mbr && spec.partitions.len() > 4;
    let mut sizes = vec![];
    let mut gaps = vec![];
    for (i, p) in spec.partitions.iter().enumerate() {
        let pf = format!("{field}.partition[{i}]");
        gaps.push(if mbr_logical && i >= 3 { u.align } else { 0 });
        if spec.table == TableKind::Mbr && p.kind.mbr_id().is_none() {
            return Err(invalid(
                &format!("{pf}.type"),
                format!("{} partitions exist only on GPT disks", p.kind.name()),
            ));
        }
        sizes.push(if p.preserve {
            Some(existing(disk, p, i, &pf)?.size / u.sector)
        } else {
            match p.size {
                Size::Bytes(b) => Some(b.div_ceil(u.sector).div_ceil(u.align) * u.align),
                Size::Percent(pc) => {
                    Some(((u.sectors() as f64 * pc / 100.0) as u64 / u.align * u.align).max(u.align))
                }
                Size::Rest => None,
            }
        });
    }
    Ok((sizes, gaps))
}

/// A kept partition must be where, what and as large as the spec says.
fn check_kept(
    e: &super::probe::ProbedPartition,
    p: &PartitionSpec,
    number: u32,
    cursor: u64,
    sector: u64,
    pf: &str,
) -> Result<(), PlanError> {
    let preserve = |field: String, detail: String| Err(PlanError::Preserve { field, detail });
    if e.start_bytes / sector < cursor {
        return preserve(
            pf.into(),
            format!("partition {number} starts before the end of the partitions listed before it"),
        );
    }
    if let Some(kind) = e.kind.filter(|k| *k != p.kind) {
        return preserve(
            format!("{pf}.type"),
            format!("partition {number} is of type {}, not {}", kind.name(), p.kind.name()),
        );
    }
    if let Size::Bytes(b) = p.size {
        if b.abs_diff(e.size) >= MIB {
            return preserve(
                format!("{pf}.size"),
                format!("partition {number} is {}, not {}", human(e.size), human(b)),
            );
        }
    }
    match &p.content {
        Some(Content::Filesystem { format, .. }) if e.fstype.as_deref() != Some(format.name()) => preserve(
            format!("{pf}.content.format"),
            format!(
                "partition {number} holds {}, not {}",
                e.fstype.as_deref().unwrap_or("no filesystem"),
                format.name()
            ),
        ),
        Some(Content::Filesystem { .. }) | Some(Content::Swap { .. }) | None => Ok(()),
        Some(_) => {
            Err(invalid(&format!("{pf}.content"), "a preserved partition can only keep a filesystem or swap"))
        }
    }
}

/// Computes partition sector ranges on `disk`.
fn layout(disk: &ProbedDisk, spec: &DiskSpec, field: &str) -> Result<Vec<PlannedPartition>, PlanError> {
    let u = Usable::of(disk, spec.table, field)?;
    check_partition_list(spec, field)?;
    let (sizes, gaps) = partition_sizes(disk, spec, field, &u)?;
    // Saturating: a spec may hold many huge sizes; they must fail to fit, not wrap around.
    let fixed: u64 = sizes.iter().flatten().chain(gaps.iter()).fold(0u64, |a, b| a.saturating_add(*b));
    let has_rest = spec.partitions.iter().any(|p| p.size == Size::Rest && !p.preserve);
    let needed = fixed.saturating_add(if has_rest { u.align } else { 0 });
    if needed > u.sectors() {
        return Err(PlanError::DoesNotFit {
            field: format!("{field}.partition"),
            disk: disk.path.clone(),
            needed: human(needed * u.sector),
            available: human(u.sectors() * u.sector),
        });
    }
    let rest = u.sectors() - fixed;
    let mbr_logical = spec.table == TableKind::Mbr && spec.partitions.len() > 4;
    let mut out = vec![];
    let mut cursor = u.first;
    for (i, p) in spec.partitions.iter().enumerate() {
        let pf = format!("{field}.partition[{i}]");
        let logical = mbr_logical && i >= 3;
        let number = match (p.number, logical) {
            (Some(n), _) => n,
            (None, true) => i as u32 + 2, // 5, 6, … after the extended partition 4
            (None, false) => i as u32 + 1,
        };
        cursor += gaps[i];
        let (start, len) = if p.preserve {
            let e = existing(disk, p, i, &pf)?;
            check_kept(e, p, number, cursor, u.sector, &pf)?;
            (e.start_bytes / u.sector, e.size / u.sector)
        } else {
            (cursor, sizes[i].unwrap_or(rest))
        };
        let end = start + len - 1;
        if end >= u.usable_end.max(start + len) && !p.preserve {
            return Err(PlanError::DoesNotFit {
                field: pf,
                disk: disk.path.clone(),
                needed: human((end + 1 - u.first) * u.sector),
                available: human(u.sectors() * u.sector),
            });
        }
        cursor = end + 1;
        out.push(PlannedPartition {
            number,
            device: partition_path(&disk.path, number),
            start,
            end,
            kind: p.kind,
            name: p.name.clone(),
            bootable: p.bootable,
            preserve: p.preserve,
            logical,
            summary: p.content.as_ref().map(content_summary).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The fewest members a RAID level takes (`None`: a level we do not make).
pub fn min_members(level: u8) -> Option<usize> {
    match level {
        0 | 1 => Some(2),
        5 => Some(3),
        10 => Some(2),
        _ => None,
    }
}

/// Plans `spec` on the probed machine. Pure: reads only its arguments.
///
/// The phases, in the order their errors are reported: pick the disks, wipe and partition them,
/// plan what goes on each partition, assemble the RAID arrays, then the volume groups, choose and
/// check the boot, and mount parents before their children.
pub fn plan(spec: &StorageSpec, probe: &Probe, target: &std::path::Path) -> Result<Plan, PlanError> {
    let chosen = select_disks(spec, probe)?;
    check_stale_holders(&chosen)?;
    let mut p = Planner::new(probe);
    let disks = p.partition_disks(&chosen)?;
    p.partition_contents(&chosen, &disks)?;
    p.raids(&spec.raids)?;
    p.volume_groups(&spec.vgs)?;
    let boot = p.boot(&spec.boot, &disks)?;
    p.room_for_the_system()?;
    p.mount_and_swap();
    p.actions.extend(boot.add_keys);
    let untouched = probe
        .disks
        .iter()
        .filter(|d| !chosen.iter().any(|c| c.disk.path == d.path))
        .map(|d| d.describe())
        .collect();
    Ok(Plan {
        firmware: boot.firmware,
        bootloader: boot.bootloader,
        target: target.to_path_buf(),
        disks,
        untouched,
        actions: p.actions,
        boot_disks: boot.disks,
        initrd_keys: boot.initrd_keys,
    })
}

/// A disk of the spec and the probed disk it selected.
struct Chosen<'a> {
    disk: &'a ProbedDisk,
    spec: &'a DiskSpec,
    field: String,
}

impl Chosen<'_> {
    fn keeps_partitions(&self) -> bool {
        self.spec.partitions.iter().any(|p| p.preserve)
    }
}

/// Selection: each `[[disk]]` picks one disk, never the boot medium, never a busy disk unless
/// partitions on it are kept, never a disk an earlier entry took.
fn select_disks<'a>(spec: &'a StorageSpec, probe: &'a Probe) -> Result<Vec<Chosen<'a>>, PlanError> {
    if spec.disks.is_empty() {
        return Err(invalid("disk", "the spec names no disk"));
    }
    let mut chosen: Vec<Chosen> = vec![];
    for (i, ds) in spec.disks.iter().enumerate() {
        let field = format!("disk[{i}]");
        let taken: Vec<String> = chosen.iter().map(|c| c.disk.path.clone()).collect();
        let d = select(probe, ds, &field, &taken)?;
        if d.boot_medium {
            return Err(PlanError::BootMedium { field: format!("{field}.match"), disk: d.describe() });
        }
        let c = Chosen { disk: d, spec: ds, field };
        if !d.busy.is_empty() && !c.keeps_partitions() {
            return Err(PlanError::Busy {
                field: format!("{}.match", c.field),
                disk: d.describe(),
                reasons: d.busy.join("; "),
            });
        }
        chosen.push(c);
    }
    Ok(chosen)
}

/// A holder assembled by itself from an earlier install is stopped before anything is written,
/// but only when it lies on planned disks alone (stopping it may write to its members).
fn check_stale_holders(chosen: &[Chosen]) -> Result<(), PlanError> {
    let taken: Vec<&str> = chosen.iter().map(|c| c.disk.path.as_str()).collect();
    for c in chosen.iter().filter(|c| !c.keeps_partitions()) {
        for h in &c.disk.stale_holders {
            let others: Vec<&str> =
                h.disks.iter().map(String::as_str).filter(|x| !taken.contains(x)).collect();
            if !others.is_empty() {
                return Err(PlanError::Busy {
                    field: format!("{}.match", c.field),
                    disk: c.disk.describe(),
                    reasons: format!(
                        "{} is held by {} ({}), which also lies on {}, outside this plan",
                        c.disk.path,
                        h.path,
                        h.kind,
                        others.join(", ")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// What wiping `d` and writing `parts` on it destroys, for the plan's reader.
fn destroyed(d: &ProbedDisk, parts: &[PlannedPartition]) -> Vec<String> {
    let keep = parts.iter().any(|p| p.preserve);
    let mut destroyed = vec![];
    if !keep {
        for h in &d.stale_holders {
            destroyed
                .push(format!("{} ({}, assembled from an earlier install; stopped first)", h.path, h.kind));
        }
    }
    for e in &d.partitions {
        if !parts.iter().any(|p| p.preserve && p.number == e.number) {
            let what = match (&e.fstype, &e.label) {
                (Some(fs), Some(l)) => format!("{fs} {l:?}"),
                (Some(fs), None) => fs.clone(),
                _ => "no known filesystem".into(),
            };
            destroyed.push(format!("{} ({}, {what})", e.path, human(e.size)));
        }
    }
    if d.partitions.is_empty() {
        if let Some(fs) = &d.fstype {
            destroyed.push(format!("the {fs} filesystem on the whole disk"));
        }
    }
    destroyed
}

/// The number of bytes an array of `level` over `members` holds.
fn raid_size(level: u8, members: &[Member]) -> u64 {
    let smallest = members.iter().map(|m| m.size).min().unwrap_or(0);
    let n = members.len() as u64;
    match level {
        0 => smallest * n,
        5 => smallest * (n - 1),
        10 => smallest * n / 2,
        _ => smallest,
    }
}

/// Two members of one array on one disk would lose it with the disk.
fn check_members_on_distinct_disks(array: &str, members: &[Member]) -> Result<(), PlanError> {
    for (a, m) in members.iter().enumerate() {
        for n in &members[a + 1..] {
            if let Some(shared) = m.disks.iter().find(|d| n.disks.contains(d)) {
                return Err(PlanError::RaidSameDisk {
                    field: n.field.clone(),
                    array: array.into(),
                    disk: shared.clone(),
                    first: m.device.clone(),
                    second: n.device.clone(),
                });
            }
        }
    }
    Ok(())
}

/// LVM keeps 1 MiB of metadata per PV and allocates 4 MiB extents.
const EXTENT: u64 = 4 * MIB;

/// Each logical volume's size in whole extents (`None`: the rest of the group); names checked.
fn lv_sizes(vg: &VgSpec, vf: &str, capacity: u64) -> Result<Vec<Option<u64>>, PlanError> {
    if vg.lvs.iter().filter(|l| l.size == Size::Rest).count() > 1 {
        return Err(invalid(&format!("{vf}.lv"), "only one logical volume per group can have size \"rest\""));
    }
    let mut sizes = vec![];
    for (j, lv) in vg.lvs.iter().enumerate() {
        sizes.push(match lv.size {
            Size::Bytes(b) => Some(b.div_ceil(EXTENT) * EXTENT),
            Size::Percent(pc) => Some((capacity as f64 * pc / 100.0) as u64 / EXTENT * EXTENT),
            Size::Rest => None,
        });
        if lv.name.is_empty() || lv.name.contains('/') {
            return Err(invalid(
                &format!("{vf}.lv[{j}].name"),
                format!("bad logical volume name {:?}", lv.name),
            ));
        }
    }
    Ok(sizes)
}

/// Members left after the arrays or groups took theirs name one that is not declared.
fn unclaimed(left: &BTreeMap<String, Vec<Member>>, what: &str, section: &str) -> Result<(), PlanError> {
    match left.iter().next() {
        Some((name, members)) => {
            Err(invalid(&members[0].field, format!("{what} {name:?} is not defined in {section}")))
        }
        None => Ok(()),
    }
}

/// What the boot phase decided.
struct BootPlan {
    firmware: Firmware,
    bootloader: Bootloader,
    /// The disks GRUB is installed on (BIOS).
    disks: Vec<String>,
    /// Key slots added to the LUKS devices under an encrypted /boot, for stage 1's key files.
    add_keys: Vec<Action>,
    initrd_keys: Vec<InitrdKey>,
}

fn choose_firmware(choice: FirmwareChoice, uefi: bool) -> Firmware {
    match choice {
        FirmwareChoice::Auto if uefi => Firmware::Uefi,
        FirmwareChoice::Auto | FirmwareChoice::Bios => Firmware::Bios,
        FirmwareChoice::Uefi => Firmware::Uefi,
    }
}

/// systemd-boot when UEFI firmware reads the kernels from an ESP mounted at /boot, else GRUB.
fn choose_bootloader(
    choice: BootloaderChoice,
    firmware: Firmware,
    esp: Option<&MountRec>,
) -> Result<Bootloader, PlanError> {
    let bootloader = match choice {
        BootloaderChoice::Auto
            if firmware == Firmware::Uefi && esp.is_some_and(|e| e.mountpoint == "/boot") =>
        {
            Bootloader::SystemdBoot
        }
        BootloaderChoice::Auto | BootloaderChoice::Grub => Bootloader::Grub,
        BootloaderChoice::SystemdBoot => Bootloader::SystemdBoot,
        BootloaderChoice::None => Bootloader::None,
    };
    if bootloader == Bootloader::SystemdBoot && firmware != Firmware::Uefi {
        return Err(invalid("boot.bootloader", "systemd-boot needs UEFI firmware"));
    }
    if firmware == Firmware::Uefi && bootloader != Bootloader::None && esp.is_none() {
        return Err(PlanError::NoEsp { field: "boot.firmware".into() });
    }
    Ok(bootloader)
}

/// The disks BIOS GRUB goes on: those under /boot; on GPT each needs a BIOS boot partition.
fn bios_boot_disks(boot_mount: &MountRec, disks: &[PlannedDisk]) -> Result<Vec<String>, PlanError> {
    let mut boot_disks = vec![];
    for disk in &boot_mount.disks {
        if let Some(pd) = disks.iter().find(|d| &d.identity.path == disk) {
            if pd.table == TableKind::Gpt && !pd.partitions.iter().any(|pp| pp.kind == PartType::BiosBoot) {
                return Err(PlanError::NoBiosBoot {
                    field: format!("{}.partition", pd.field),
                    disk: disk.clone(),
                });
            }
        }
        boot_disks.push(disk.clone());
    }
    Ok(boot_disks)
}

/// An encrypted /boot: GRUB unlocks it (PBKDF2 key slots only), and stage 1 gets a key file
/// for each LUKS device under it.
fn boot_keys(boot_luks: &[LuksRec]) -> Result<(Vec<Action>, Vec<InitrdKey>), PlanError> {
    let mut add_keys = vec![];
    let mut initrd_keys = vec![];
    for l in boot_luks {
        if l.pbkdf != PbkdfKind::Pbkdf2 {
            return Err(invalid(
                &format!("{}.pbkdf", l.field),
                format!(
                    "/boot is on {} and GRUB unlocks it, but GRUB cannot derive Argon2 keys: use version = 1 (what NixOS uses) or pbkdf = \"pbkdf2\"",
                    l.name
                ),
            ));
        }
        let key_file = format!("/etc/secrets/initrd/{}.key", l.name);
        add_keys.push(Action::LuksAddKey {
            device: l.device.clone(),
            name: l.name.clone(),
            key: l.key.clone(),
            pbkdf: l.pbkdf,
            iter_time_ms: l.iter_time_ms,
            key_file: key_file.clone(),
        });
        initrd_keys.push(InitrdKey { name: l.name.clone(), key_file });
    }
    Ok((add_keys, initrd_keys))
}

impl<'a> Planner<'a> {
    fn new(probe: &'a Probe) -> Self {
        Planner {
            probe,
            actions: vec![],
            mounts: vec![],
            swaps: vec![],
            raid_members: BTreeMap::new(),
            pvs: BTreeMap::new(),
            luks: vec![],
            luks_under: BTreeMap::new(),
        }
    }

    /// Layout: wipe each disk (unless partitions on it are kept) and write its partition table.
    fn partition_disks(&mut self, chosen: &[Chosen]) -> Result<Vec<PlannedDisk>, PlanError> {
        let mut disks = vec![];
        for Chosen { disk: d, spec: ds, field } in chosen {
            let parts = layout(d, ds, field)?;
            let keep = parts.iter().any(|p| p.preserve);
            if !keep {
                self.actions.push(Action::Wipe {
                    disk: d.path.clone(),
                    partitions: d.partitions.iter().map(|e| e.path.clone()).collect(),
                });
            }
            self.actions.push(Action::Partition {
                disk: d.path.clone(),
                table: ds.table,
                sector_size: d.logical_sector.max(512),
                keep_existing: keep,
                partitions: parts.clone(),
            });
            disks.push(PlannedDisk {
                identity: DiskIdentity {
                    path: d.path.clone(),
                    model: d.model.clone(),
                    serial: d.serial.clone(),
                    size: d.size,
                    logical_sector: d.logical_sector.max(512),
                },
                field: field.clone(),
                table: ds.table,
                destroyed: destroyed(d, &parts),
                partitions: parts,
            });
        }
        Ok(disks)
    }

    /// Contents: what goes on each partition; a kept partition is only mounted (or swapped on).
    fn partition_contents(&mut self, chosen: &[Chosen], disks: &[PlannedDisk]) -> Result<(), PlanError> {
        for (c, pd) in chosen.iter().zip(disks) {
            for (i, (ps, pp)) in c.spec.partitions.iter().zip(&pd.partitions).enumerate() {
                let pf = format!("{}.partition[{i}]", c.field);
                let esp = ps.kind == PartType::Esp;
                if let (true, Some(content)) = (esp, &ps.content) {
                    if !matches!(
                        content,
                        Content::Filesystem { format: FsFormat::Vfat, .. } | Content::RaidMember { .. }
                    ) {
                        return Err(invalid(&format!("{pf}.content"), "an ESP holds a vfat filesystem"));
                    }
                }
                let Some(content) = &ps.content else { continue };
                let disks = std::slice::from_ref(&c.disk.path);
                if pp.preserve {
                    self.kept(&pp.device, disks, content, &pf, esp)?;
                } else {
                    let bytes = (pp.end - pp.start + 1) * c.disk.logical_sector.max(512);
                    self.content(&pp.device, bytes, disks, content, &format!("{pf}.content"), esp)?;
                }
            }
        }
        Ok(())
    }

    /// A kept partition's filesystem is mounted as it is, its swap used as it is.
    fn kept(
        &mut self,
        device: &str,
        disks: &[String],
        c: &Content,
        pf: &str,
        esp: bool,
    ) -> Result<(), PlanError> {
        match c {
            Content::Filesystem { format, mountpoint: Some(m), options, .. } => self.mount(MountRec {
                mountpoint: m.clone(),
                device: device.into(),
                size: None,
                format: *format,
                options: options.clone(),
                field: format!("{pf}.content.mountpoint"),
                disks: disks.to_vec(),
                esp,
            }),
            Content::Swap { .. } => {
                self.swaps.push(device.into());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// RAID: each array from the members the contents named; every member belongs to an array.
    fn raids(&mut self, raids: &[RaidSpec]) -> Result<(), PlanError> {
        for (i, r) in raids.iter().enumerate() {
            self.raid(r, &format!("raid[{i}]"))?;
        }
        unclaimed(&self.raid_members, "RAID array", "[[raid]]")
    }

    fn raid(&mut self, r: &RaidSpec, rf: &str) -> Result<(), PlanError> {
        let Some(min) = min_members(r.level) else {
            return Err(invalid(
                &format!("{rf}.level"),
                format!("RAID level {} is not one of 0, 1, 5, 10", r.level),
            ));
        };
        let members = self.raid_members.remove(&r.name).unwrap_or_default();
        if members.len() < min {
            return Err(invalid(
                rf,
                format!(
                    "RAID{} array {} needs at least {min} members, has {}",
                    r.level,
                    r.name,
                    members.len()
                ),
            ));
        }
        check_members_on_distinct_disks(&r.name, &members)?;
        let device = format!("/dev/md/{}", r.name);
        let member_devices: Vec<String> = members.iter().map(|m| m.device.clone()).collect();
        let all_disks: Vec<String> = members.iter().flat_map(|m| m.disks.clone()).collect();
        self.stacked(&device, &member_devices);
        self.actions.push(Action::MdCreate {
            name: r.name.clone(),
            device: device.clone(),
            level: r.level,
            metadata: r.metadata,
            members: member_devices,
        });
        let esp_member = matches!(r.content, Content::Filesystem { format: FsFormat::Vfat, .. });
        if esp_member && r.metadata != RaidMetadata::V1_0 {
            return Err(invalid(
                &format!("{rf}.metadata"),
                "a RAID holding a vfat filesystem that firmware reads needs metadata \"1.0\"",
            ));
        }
        let size = raid_size(r.level, &members);
        self.content(&device, size, &all_disks, &r.content, &format!("{rf}.content"), esp_member)
    }

    /// LVM: each volume group from the physical volumes the contents named; every PV belongs to
    /// a group.
    fn volume_groups(&mut self, vgs: &[VgSpec]) -> Result<(), PlanError> {
        for (i, vg) in vgs.iter().enumerate() {
            self.volume_group(vg, &format!("vg[{i}]"))?;
        }
        unclaimed(&self.pvs, "volume group", "[[vg]]")
    }

    fn volume_group(&mut self, vg: &VgSpec, vf: &str) -> Result<(), PlanError> {
        let pvs = self.pvs.remove(&vg.name).unwrap_or_default();
        if pvs.is_empty() {
            return Err(invalid(
                vf,
                format!(
                    "volume group {} has no physical volume (content = {{ type = \"lvm-pv\", vg = \"{}\" }})",
                    vg.name, vg.name
                ),
            ));
        }
        let capacity: u64 = pvs.iter().map(|m| m.size.saturating_sub(MIB) / EXTENT * EXTENT).sum();
        let all_disks: Vec<String> = pvs.iter().flat_map(|m| m.disks.clone()).collect();
        let pv_devices: Vec<String> = pvs.iter().map(|m| m.device.clone()).collect();
        self.actions.push(Action::VgCreate { name: vg.name.clone(), pvs: pv_devices.clone() });
        let sizes = lv_sizes(vg, vf, capacity)?;
        let fixed: u64 = sizes.iter().flatten().sum();
        let needed = fixed + if sizes.iter().any(Option::is_none) { EXTENT } else { 0 };
        if needed > capacity {
            return Err(PlanError::DoesNotFit {
                field: format!("{vf}.lv"),
                disk: format!("volume group {}", vg.name),
                needed: human(needed),
                available: human(capacity),
            });
        }
        // Fixed sizes first so that `rest` really gets what is left.
        let mut order: Vec<usize> = (0..vg.lvs.len()).collect();
        order.sort_by_key(|&j| sizes[j].is_none());
        for j in order {
            let lv = &vg.lvs[j];
            self.actions.push(Action::LvCreate {
                vg: vg.name.clone(),
                name: lv.name.clone(),
                size: sizes[j],
            });
        }
        for (j, lv) in vg.lvs.iter().enumerate() {
            let dev = format!("/dev/{}/{}", vg.name, lv.name);
            self.stacked(&dev, &pv_devices);
            let size = sizes[j].unwrap_or(capacity - fixed);
            self.content(&dev, size, &all_disks, &lv.content, &format!("{vf}.lv[{j}].content"), false)?;
        }
        Ok(())
    }

    /// Boot: a root to boot, the firmware and bootloader, the disks GRUB goes on and the keys an
    /// encrypted /boot needs.
    fn boot(&self, spec: &BootSpec, disks: &[PlannedDisk]) -> Result<BootPlan, PlanError> {
        let firmware = choose_firmware(spec.firmware, self.probe.uefi);
        let root = self.mounts.iter().find(|m| m.mountpoint == "/").ok_or(PlanError::NoRoot)?;
        let esp = self.mounts.iter().find(|m| m.esp);
        let bootloader = choose_bootloader(spec.bootloader, firmware, esp)?;
        let boot_mount = self.mounts.iter().find(|m| m.mountpoint == "/boot").unwrap_or(root);
        let boot_disks = if firmware == Firmware::Bios && bootloader == Bootloader::Grub {
            bios_boot_disks(boot_mount, disks)?
        } else {
            vec![]
        };
        let boot_luks: Vec<LuksRec> = self
            .luks_under
            .get(&boot_mount.device)
            .map(|v| v.iter().map(|&i| self.luks[i].clone()).collect())
            .unwrap_or_default();
        if !boot_luks.is_empty() && bootloader == Bootloader::SystemdBoot {
            return Err(invalid(
                &boot_luks[0].field,
                "systemd-boot cannot read an encrypted /boot: use GRUB, or an unencrypted /boot",
            ));
        }
        let (add_keys, initrd_keys) =
            if bootloader == Bootloader::Grub { boot_keys(&boot_luks)? } else { (vec![], vec![]) };
        Ok(BootPlan { firmware, bootloader, disks: boot_disks, add_keys, initrd_keys })
    }

    /// The filesystem on `/` (that the plan makes) holds what the install copies: refused here,
    /// before anything is written, rather than half-way through the copy.
    fn room_for_the_system(&self) -> Result<(), PlanError> {
        let Some(needed) = self.probe.root_bytes_needed() else { return Ok(()) };
        let Some(root) = self.mounts.iter().find(|m| m.mountpoint == "/") else { return Ok(()) };
        match root.size {
            Some(size) if size < needed => Err(PlanError::TooSmall {
                field: root.field.clone(),
                device: root.device.clone(),
                size: human(size),
                needed: human(needed),
            }),
            _ => Ok(()),
        }
    }

    /// Mounts parents first, then swap.
    fn mount_and_swap(&mut self) {
        let mut mounts = self.mounts.clone();
        mounts.sort_by(|a, b| {
            let depth = |m: &str| if m == "/" { 0 } else { m.matches('/').count() };
            (depth(&a.mountpoint), &a.mountpoint).cmp(&(depth(&b.mountpoint), &b.mountpoint))
        });
        for m in mounts {
            self.actions.push(Action::Mount {
                device: m.device,
                mountpoint: m.mountpoint,
                format: m.format,
                options: m.options,
            });
        }
        for s in &self.swaps {
            self.actions.push(Action::SwapOn { device: s.clone() });
        }
    }
}
