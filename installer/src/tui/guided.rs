//! Guided storage layouts: the choices of the storage screen turned into a storage spec (the same
//! spec an answer file holds, so "Custom" edits exactly this). Pure: the planner checks the result.

use crate::storage::probe::ProbedDisk;
use crate::storage::size::{parse_size, Size, MIB};
use crate::storage::spec::*;

/// The guided layouts, in the order the storage screen lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Ext4,
    Btrfs,
    Lvm,
    Raid1,
    Beside,
    Custom,
}

impl Layout {
    pub const ALL: [Layout; 6] =
        [Layout::Ext4, Layout::Btrfs, Layout::Lvm, Layout::Raid1, Layout::Beside, Layout::Custom];

    pub fn label(self) -> &'static str {
        match self {
            Layout::Ext4 => "Erase disk: ext4",
            Layout::Btrfs => "Erase disk: btrfs subvolumes",
            Layout::Lvm => "Erase disk: LVM",
            Layout::Raid1 => "RAID1 across two disks",
            Layout::Beside => "Beside the existing system",
            Layout::Custom => "Custom (edit the storage spec)",
        }
    }
}

/// What the person chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice<'a> {
    pub layout: Layout,
    pub disk: &'a ProbedDisk,
    /// The second disk of RAID1.
    pub second: Option<&'a ProbedDisk>,
    pub encrypt: bool,
    /// Swap size (`0` or empty: none).
    pub swap: &'a str,
    pub uefi: bool,
}

/// The secret name the guided layouts use for the LUKS passphrase.
pub const PASSPHRASE_SECRET: &str = "disk-passphrase";

/// How a disk is picked: by serial (stable across boots and machines) when it has one.
pub fn selector(d: &ProbedDisk) -> Selectors {
    if d.serial.is_empty() {
        Selectors::One(DiskSelector { path: Some(d.path.clone()), ..Default::default() })
    } else {
        Selectors::One(DiskSelector { serial: Some(d.serial.clone()), ..Default::default() })
    }
}

fn part(size: Size, kind: PartType, content: Option<Content>) -> PartitionSpec {
    PartitionSpec { name: None, size, kind, bootable: false, preserve: false, number: None, content }
}

fn fs(format: FsFormat, mountpoint: &str) -> Content {
    Content::Filesystem {
        format,
        label: None,
        mountpoint: Some(mountpoint.into()),
        options: vec![],
        subvolumes: vec![],
    }
}

fn luks(name: &str, inner: Content) -> Content {
    Content::Luks {
        name: name.into(),
        version: 2,
        cipher: None,
        pbkdf: PbkdfKind::Argon2id,
        iter_time_ms: None,
        passphrase: Some(PASSPHRASE_SECRET.into()),
        keyfile: None,
        content: Box::new(inner),
    }
}

/// The partitions firmware and bootloader need at the start of a disk: an ESP mounted on /boot
/// (UEFI), or a BIOS boot partition for GRUB, plus a plain /boot when the root is encrypted (our
/// stage 1 asks for the passphrase; GRUB reads the kernel from the plain /boot).
fn boot_parts(uefi: bool, encrypt: bool) -> Vec<PartitionSpec> {
    if uefi {
        vec![part(Size::Bytes(512 * MIB), PartType::Esp, Some(fs(FsFormat::Vfat, "/boot")))]
    } else if encrypt {
        vec![
            part(Size::Bytes(MIB), PartType::BiosBoot, None),
            part(Size::Bytes(512 * MIB), PartType::Linux, Some(fs(FsFormat::Ext4, "/boot"))),
        ]
    } else {
        vec![part(Size::Bytes(MIB), PartType::BiosBoot, None)]
    }
}

/// The swap size, or `Err(message)`; `None` for no swap.
pub fn swap_size(text: &str) -> Result<Option<Size>, String> {
    let t = text.trim();
    if t.is_empty() || t == "0" {
        return Ok(None);
    }
    match parse_size(t) {
        Ok(Size::Bytes(b)) if b >= 16 * MIB => Ok(Some(Size::Bytes(b))),
        Ok(Size::Bytes(_)) => Err("swap must be at least 16MiB (or 0 for none)".into()),
        Ok(_) => Err("swap is a size like 2GiB or 512MiB (or 0 for none)".into()),
        Err(e) => Err(e),
    }
}

/// The storage spec of a guided choice, or the problem with the choice (field, message).
pub fn spec(c: &Choice) -> Result<StorageSpec, (&'static str, String)> {
    let swap = swap_size(c.swap).map_err(|e| ("swap", e))?;
    let firmware = if c.uefi { FirmwareChoice::Uefi } else { FirmwareChoice::Bios };
    let boot = BootSpec { firmware, bootloader: BootloaderChoice::Auto };
    if swap.is_some() && c.encrypt && matches!(c.layout, Layout::Ext4 | Layout::Btrfs | Layout::Raid1) {
        return Err((
            "swap",
            "with encryption, swap lives inside the encrypted LVM volume: choose \"Erase disk: LVM\" or set swap to 0"
                .into(),
        ));
    }
    let (disks, raids, vgs) = match c.layout {
        Layout::Ext4 | Layout::Btrfs => (vec![one_root(c, swap)], vec![], vec![]),
        Layout::Lvm => {
            let (disk, vg) = lvm(c, swap);
            (vec![disk], vec![], vec![vg])
        }
        Layout::Raid1 => {
            let (disks, raid) = raid1(c)?;
            (disks, vec![raid], vec![])
        }
        Layout::Beside => (vec![beside(c, swap)?], vec![], vec![]),
        Layout::Custom => return Err(("layout", "the custom layout is the edited spec".into())),
    };
    Ok(StorageSpec { boot, disks, raids, vgs })
}

/// `inner`, inside LUKS named `name` when the choice encrypts.
fn wrap(c: &Choice, inner: Content, name: &str) -> Content {
    if c.encrypt {
        luks(name, inner)
    } else {
        inner
    }
}

fn swap_part(s: Size) -> PartitionSpec {
    part(s, PartType::Swap, Some(Content::Swap { label: None }))
}

fn gpt_disk(d: &ProbedDisk, partitions: Vec<PartitionSpec>) -> DiskSpec {
    DiskSpec { id: None, selectors: selector(d), table: TableKind::Gpt, partitions }
}

/// Erase the disk: boot partitions, swap, and one ext4 root or btrfs with @, @home and @nix.
fn one_root(c: &Choice, swap: Option<Size>) -> DiskSpec {
    let mut parts = boot_parts(c.uefi, c.encrypt);
    parts.extend(swap.map(swap_part));
    let root = if c.layout == Layout::Ext4 {
        fs(FsFormat::Ext4, "/")
    } else {
        let sv = |name: &str, mp: &str| Subvolume {
            name: name.into(),
            mountpoint: Some(mp.into()),
            options: vec!["compress=zstd".into(), "noatime".into()],
        };
        Content::Filesystem {
            format: FsFormat::Btrfs,
            label: None,
            mountpoint: None,
            options: vec![],
            subvolumes: vec![sv("@", "/"), sv("@home", "/home"), sv("@nix", "/nix")],
        }
    };
    parts.push(part(Size::Rest, PartType::Linux, Some(wrap(c, root, "cryptroot"))));
    gpt_disk(c.disk, parts)
}

/// Erase the disk: boot partitions and one LVM physical volume (in LUKS when encrypted) with
/// swap and root volumes.
fn lvm(c: &Choice, swap: Option<Size>) -> (DiskSpec, VgSpec) {
    let mut parts = boot_parts(c.uefi, c.encrypt);
    let kind = if c.encrypt { PartType::Linux } else { PartType::Lvm };
    parts.push(part(Size::Rest, kind, Some(wrap(c, Content::LvmPv { vg: "vg0".into() }, "cryptlvm"))));
    let mut lvs = vec![];
    if let Some(s) = swap {
        lvs.push(LvSpec { name: "swap".into(), size: s, content: Content::Swap { label: None } });
    }
    lvs.push(LvSpec { name: "root".into(), size: Size::Rest, content: fs(FsFormat::Ext4, "/") });
    (gpt_disk(c.disk, parts), VgSpec { name: "vg0".into(), lvs })
}

/// Erase two disks: a RAID1 root over both, GRUB on both (BIOS) or one ESP on the first (UEFI).
fn raid1(c: &Choice) -> Result<(Vec<DiskSpec>, RaidSpec), (&'static str, String)> {
    let Some(second) = c.second else {
        return Err(("second", "RAID1 needs a second disk: mark one with Space".into()));
    };
    if c.encrypt && !c.uefi {
        return Err((
            "encrypt",
            "encrypted RAID1 under BIOS needs a plain /boot the guided layout does not make: use Custom"
                .into(),
        ));
    }
    let mut disks = vec![];
    for (i, d) in [c.disk, second].into_iter().enumerate() {
        let mut parts = match (c.uefi, i) {
            // One ESP on the first disk; the firmware boots from it.
            (true, 0) => boot_parts(true, false),
            (true, _) => vec![],
            (false, _) => vec![part(Size::Bytes(MIB), PartType::BiosBoot, None)],
        };
        parts.push(part(Size::Rest, PartType::Raid, Some(Content::RaidMember { array: "root".into() })));
        disks.push(gpt_disk(d, parts));
    }
    let content = wrap(c, fs(FsFormat::Ext4, "/"), "cryptroot");
    Ok((disks, RaidSpec { name: "root".into(), level: 1, metadata: RaidMetadata::V1_2, content }))
}

/// Beside what is there: every partition kept (an ESP shared), the new ones after them.
fn beside(c: &Choice, swap: Option<Size>) -> Result<DiskSpec, (&'static str, String)> {
    if c.disk.partitions.is_empty() {
        return Err(("layout", format!("{} has no partitions to keep: erase it instead", c.disk.path)));
    }
    if c.disk.table.as_deref() != Some("gpt") {
        return Err(("layout", "installing beside another system needs a GPT disk".into()));
    }
    let mut parts = vec![];
    let mut esp = false;
    for p in &c.disk.partitions {
        let kind = p.kind.unwrap_or(PartType::Linux);
        // The existing ESP is shared (as a second system on a PC shares Windows' ESP).
        let content = if c.uefi && kind == PartType::Esp && !esp {
            esp = true;
            Some(fs(FsFormat::Vfat, "/boot"))
        } else {
            None
        };
        parts.push(PartitionSpec {
            name: None,
            size: Size::Bytes(p.size),
            kind,
            bootable: false,
            preserve: true,
            number: Some(p.number),
            content,
        });
    }
    let next = c.disk.partitions.iter().map(|p| p.number).max().unwrap_or(0) + 1;
    let mut new = if c.uefi && esp { vec![] } else { boot_parts(c.uefi, c.encrypt) };
    new.extend(swap.map(swap_part));
    new.push(part(Size::Rest, PartType::Linux, Some(wrap(c, fs(FsFormat::Ext4, "/"), "cryptroot"))));
    for (i, mut p) in new.into_iter().enumerate() {
        p.number = Some(next + i as u32);
        parts.push(p);
    }
    Ok(gpt_disk(c.disk, parts))
}

/// The spec as the TOML an answer file's `[storage]` holds (what Custom opens in the editor).
pub fn to_toml(spec: &StorageSpec) -> String {
    toml::to_string_pretty(spec).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::probe::{Probe, ProbedPartition};
    use crate::storage::size::GIB;
    use std::path::Path;

    pub fn disk(path: &str, serial: &str, gib: u64) -> ProbedDisk {
        ProbedDisk::blank(path, "QEMU HARDDISK", serial, gib * GIB)
    }

    fn plan(c: &Choice, disks: Vec<ProbedDisk>) -> crate::storage::Plan {
        let s = spec(c).unwrap();
        // Round trip through TOML: what Custom opens is what is planned.
        let s2 = StorageSpec::from_toml(&to_toml(&s)).unwrap();
        assert_eq!(s, s2);
        crate::storage::plan(&s, &Probe { disks, uefi: c.uefi, system_bytes: None }, Path::new("/mnt"))
            .unwrap()
    }

    #[test]
    fn every_erase_layout_plans_on_bios_and_uefi_with_and_without_encryption() {
        let d = disk("/dev/vda", "T", 8);
        for layout in [Layout::Ext4, Layout::Btrfs, Layout::Lvm] {
            for uefi in [false, true] {
                for encrypt in [false, true] {
                    let swap = if layout == Layout::Lvm || !encrypt { "512MiB" } else { "0" };
                    let c = Choice { layout, disk: &d, second: None, encrypt, swap, uefi };
                    let p = plan(&c, vec![d.clone()]);
                    assert_eq!(
                        p.target_disks(),
                        vec!["/dev/vda"],
                        "{layout:?} uefi={uefi} encrypt={encrypt}"
                    );
                    let text = p.to_string();
                    assert_eq!(text.contains("LUKS"), encrypt, "{text}");
                }
            }
        }
    }

    #[test]
    fn raid1_uses_both_disks_and_needs_the_second() {
        let (a, b) = (disk("/dev/vda", "A", 8), disk("/dev/vdb", "B", 8));
        let c = Choice {
            layout: Layout::Raid1,
            disk: &a,
            second: Some(&b),
            encrypt: false,
            swap: "",
            uefi: false,
        };
        assert_eq!(plan(&c, vec![a.clone(), b.clone()]).target_disks(), vec!["/dev/vda", "/dev/vdb"]);
        let c = Choice { second: None, ..c };
        assert_eq!(spec(&c).unwrap_err().0, "second");
    }

    #[test]
    fn beside_keeps_every_existing_partition_and_uses_the_free_space() {
        let mut d = disk("/dev/vdb", "OLD", 8);
        d.table = Some("gpt".into());
        d.partitions = vec![ProbedPartition {
            number: 1,
            path: "/dev/vdb1".into(),
            start_bytes: MIB,
            size: 2 * GIB,
            kind: Some(PartType::Linux),
            fstype: Some("ext4".into()),
            label: Some("data".into()),
        }];
        let c =
            Choice { layout: Layout::Beside, disk: &d, second: None, encrypt: false, swap: "", uefi: false };
        let p = plan(&c, vec![d.clone()]);
        let text = p.to_string();
        assert!(text.contains("KEEP"), "{text}");
        assert!(!text.contains("destroys"), "{text}");
        // A disk without partitions has nothing to keep.
        let e = disk("/dev/vdc", "NEW", 8);
        let c = Choice { disk: &e, ..c };
        assert_eq!(spec(&c).unwrap_err().0, "layout");
    }

    #[test]
    fn swap_sizes_are_checked() {
        assert_eq!(swap_size("").unwrap(), None);
        assert_eq!(swap_size("0").unwrap(), None);
        assert_eq!(swap_size("1GiB").unwrap(), Some(Size::Bytes(GIB)));
        assert!(swap_size("1KiB").is_err());
        assert!(swap_size("rest").is_err());
        assert!(swap_size("lots").is_err());
    }
}
