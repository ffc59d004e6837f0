//! Read-only discovery of the machine's disks: `lsblk -J -b -O` parsed with serde, plus the boot
//! medium and an exclusive-open busy check. Nothing here writes anything.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::spec::PartType;

/// One lsblk device (disk, partition, or a holder above them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BlockDev {
    pub name: String,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub tran: Option<String>,
    pub rota: bool,
    pub rm: bool,
    pub ro: bool,
    #[serde(rename = "log-sec")]
    pub log_sec: Option<u64>,
    #[serde(rename = "phy-sec")]
    pub phy_sec: Option<u64>,
    pub pttype: Option<String>,
    pub fstype: Option<String>,
    pub label: Option<String>,
    pub uuid: Option<String>,
    pub partuuid: Option<String>,
    pub parttype: Option<String>,
    pub partlabel: Option<String>,
    #[serde(deserialize_with = "mountpoints")]
    pub mountpoints: Vec<String>,
    pub children: Vec<BlockDev>,
}

fn mountpoints<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v: Option<Vec<Option<String>>> = Option::deserialize(d)?;
    Ok(v.unwrap_or_default().into_iter().flatten().collect())
}

#[derive(Debug, Deserialize)]
struct LsblkOutput {
    blockdevices: Vec<BlockDev>,
}

/// A partition as the planner needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbedPartition {
    pub number: u32,
    pub path: String,
    pub start_bytes: u64,
    pub size: u64,
    pub kind: Option<PartType>,
    pub fstype: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbedDisk {
    pub path: String,
    pub model: String,
    pub serial: String,
    pub size: u64,
    pub logical_sector: u64,
    pub physical_sector: u64,
    pub rotational: bool,
    pub removable: bool,
    pub transport: String,
    /// `gpt`, `dos` or none.
    pub table: Option<String>,
    pub partitions: Vec<ProbedPartition>,
    /// Filesystem/other signature on the whole disk (no table), e.g. an ISO.
    pub fstype: Option<String>,
    /// Why the disk must not be written: mounted filesystems, active swap, holders.
    pub busy: Vec<String>,
    /// Holds the medium the running system was booted from.
    pub boot_medium: bool,
    /// Holders with nothing mounted, swapped or open above them: what the live system assembled
    /// by itself from metadata on the disk (an earlier install's RAID array or volume group).
    /// Not busy: a plan that writes every disk they span stops them first.
    #[serde(default)]
    pub stale_holders: Vec<StaleHolder>,
    /// Other names udev gives the disk (`/dev/disk/by-id/…`, `/dev/disk/by-path/…`): a `path`
    /// selector matches them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// A RAID array, LUKS mapping or LVM volume stacked on a disk and used by nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleHolder {
    pub path: String,
    pub kind: String,
    /// Every disk it is stacked on.
    pub disks: Vec<String>,
    /// The top of its stack (the devices nothing is stacked on): nobody may hold them open.
    pub tops: Vec<String>,
}

impl ProbedDisk {
    /// What kind of device this is when it is no disk to install a system on: floppy and optical
    /// drives, RAM disks (zram, brd) and loop devices, by their kernel names.
    pub fn not_a_disk(&self) -> Option<&'static str> {
        let name = self.path.rsplit('/').next().unwrap_or("");
        let numbered = |prefix: &str| {
            name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        };
        if numbered("fd") {
            Some("a floppy drive")
        } else if numbered("sr") {
            Some(OPTICAL)
        } else if numbered("zram") || numbered("ram") {
            Some("a RAM disk")
        } else if numbered("loop") {
            Some("a loop device")
        } else {
            None
        }
    }

    /// Whether a person choosing a disk is shown this one: every disk, and the CD the system was
    /// started from (to see why it is not offered); no other floppy or optical drive, RAM disk or
    /// loop device (the live system's squashfs is one).
    pub fn shown_to_people(&self) -> bool {
        match self.not_a_disk() {
            None => true,
            Some(kind) => self.boot_medium && kind == OPTICAL,
        }
    }

    /// `model, serial S, size` for people.
    pub fn describe(&self) -> String {
        let model = if self.model.is_empty() { "unknown model" } else { &self.model };
        let serial =
            if self.serial.is_empty() { "no serial".to_string() } else { format!("serial {}", self.serial) };
        format!("{} ({model}, {serial}, {})", self.path, super::size::human(self.size))
    }
}

#[cfg(test)]
impl ProbedDisk {
    /// An empty, idle virtio disk (unit tests).
    pub fn blank(path: &str, model: &str, serial: &str, size: u64) -> ProbedDisk {
        ProbedDisk {
            path: path.into(),
            model: model.into(),
            serial: serial.into(),
            size,
            logical_sector: 512,
            physical_sector: 512,
            rotational: false,
            removable: false,
            transport: "virtio".into(),
            table: None,
            partitions: vec![],
            fstype: None,
            busy: vec![],
            boot_medium: false,
            stale_holders: vec![],
            aliases: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Probe {
    pub disks: Vec<ProbedDisk>,
    /// The machine booted with UEFI.
    pub uefi: bool,
    /// What an install copies, in bytes (the live root's `usr/share/installer/system-size`, which
    /// the image builder writes), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_bytes: Option<u64>,
}

const OPTICAL: &str = "an optical drive";

/// What an install copies from the system at `root`, in bytes, as its image recorded it
/// ([`initrd::config::SYSTEM_SIZE`]); `None` when it did not.
pub fn system_bytes(root: &Path) -> Option<u64> {
    let text =
        std::fs::read_to_string(root.join(initrd::config::SYSTEM_SIZE.trim_start_matches('/'))).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

impl Probe {
    /// The smallest root filesystem the system fits on, with room for the filesystem's own
    /// structures (journal, inode tables: an eighth) and the first generations (kernels, initrds,
    /// logs: 256 MiB); `None` when the system's size is not known.
    pub fn root_bytes_needed(&self) -> Option<u64> {
        self.system_bytes.map(|b| b + b / 8 + (256 << 20))
    }

    /// The smallest disk a guided layout fits the system on (the root and 512 MiB for boot
    /// partitions), when known.
    pub fn disk_bytes_needed(&self) -> Option<u64> {
        self.root_bytes_needed().map(|b| b + (512 << 20))
    }

    /// Why `d` is not a disk to install to (`None`: it may be): what kind of device it is (a
    /// floppy or optical drive, a RAM disk, a loop device), the boot medium, what holds it, or its
    /// size. Front ends neither offer nor pick such a disk.
    pub fn unusable(&self, d: &ProbedDisk) -> Option<String> {
        if d.boot_medium {
            return Some("boot medium: not selectable".into());
        }
        if let Some(kind) = d.not_a_disk() {
            return Some(kind.into());
        }
        if !d.busy.is_empty() {
            return Some(format!("busy: {}", d.busy.join(", ")));
        }
        match self.disk_bytes_needed() {
            Some(needed) if d.size < needed => {
                Some(format!("too small: system needs {}", super::size::human(needed)))
            }
            _ => None,
        }
    }

    pub fn disk(&self, path: &str) -> Option<&ProbedDisk> {
        self.disks.iter().find(|d| d.path == path)
    }
}

/// `dev` and what is stacked on it are RAID arrays and LVM volumes with nothing mounted or
/// swapped: what udev assembles and activates by itself when a disk with such metadata appears.
/// (A LUKS mapping is never opened by itself: somebody opened it.)
fn auto_assembled(dev: &BlockDev) -> bool {
    (dev.kind.starts_with("raid") || dev.kind == "md" || dev.kind == "lvm")
        && dev.mountpoints.is_empty()
        && dev.children.iter().all(auto_assembled)
}

/// The devices at the top of `dev`'s stack.
fn tops(dev: &BlockDev, out: &mut Vec<String>) {
    if dev.children.is_empty() && !out.contains(&dev.path) {
        out.push(dev.path.clone());
    }
    for c in &dev.children {
        tops(c, out);
    }
}

/// Why `dev` must not be written (mounts, swap, holders in use), and the holders stacked on it
/// that nothing uses.
fn busy_reasons(dev: &BlockDev, out: &mut Vec<String>, stale: &mut Vec<StaleHolder>) {
    reasons(dev, out, stale, true)
}

/// [`busy_reasons`]; `disk_level` is false above a holder (a holder in use makes everything
/// stacked with it busy).
fn reasons(dev: &BlockDev, out: &mut Vec<String>, stale: &mut Vec<StaleHolder>, disk_level: bool) {
    for m in &dev.mountpoints {
        if m == "[SWAP]" {
            out.push(format!("{} is active swap", dev.path));
        } else {
            out.push(format!("{} is mounted on {m}", dev.path));
        }
    }
    for c in &dev.children {
        if c.kind != "part" {
            if disk_level && auto_assembled(c) && dev.mountpoints.is_empty() {
                if !stale.iter().any(|h| h.path == c.path) {
                    let mut t = vec![];
                    tops(c, &mut t);
                    stale.push(StaleHolder {
                        path: c.path.clone(),
                        kind: c.kind.clone(),
                        disks: vec![],
                        tops: t,
                    });
                }
                continue;
            }
            out.push(format!("{} is held by {} ({})", dev.path, c.path, c.kind));
        }
        reasons(c, out, stale, disk_level && c.kind == "part");
    }
}

/// Whether `path` appears anywhere in `dev`'s tree.
fn holds(dev: &BlockDev, path: &str) -> bool {
    dev.path == path || dev.children.iter().any(|c| holds(c, path))
}

/// Builds the probe from lsblk's JSON. `boot_device` is the device the system booted from
/// (a disk or one of its partitions), `part_starts` gives partition start offsets in bytes
/// (sysfs `start` × 512), and `uefi` whether `/sys/firmware/efi` exists.
pub fn from_lsblk(
    json: &str,
    boot_device: Option<&str>,
    part_start: &dyn Fn(&str) -> Option<u64>,
    uefi: bool,
) -> Result<Probe, serde_json::Error> {
    let out: LsblkOutput = serde_json::from_str(json)?;
    let mut disks = vec![];
    for d in &out.blockdevices {
        // Optical drives are listed (the boot medium often is one) but never written.
        if d.kind != "disk" && d.kind != "loop" && d.kind != "rom" {
            continue;
        }
        // Skip empty loop devices and zero-size disks (card readers without a card).
        if d.size == 0 {
            continue;
        }
        let mut busy = vec![];
        let mut stale_holders = vec![];
        busy_reasons(d, &mut busy, &mut stale_holders);
        for h in &mut stale_holders {
            h.disks = out.blockdevices.iter().filter(|o| holds(o, &h.path)).map(|o| o.path.clone()).collect();
        }
        if d.kind == "rom" {
            busy.push(format!("{} is an optical drive (read-only)", d.path));
        }
        let boot_medium = boot_device.is_some_and(|b| {
            b == d.path
                || d.children.iter().any(|c| c.path == b)
                || d.serial.as_deref().is_some_and(|s| b == format!("serial:{s}"))
        }) || contains_live_mount(d);
        let partitions = d
            .children
            .iter()
            .filter(|c| c.kind == "part")
            .map(|c| ProbedPartition {
                number: part_number(&d.name, &c.name),
                path: c.path.clone(),
                start_bytes: part_start(&c.name).unwrap_or(0),
                size: c.size,
                kind: c.parttype.as_deref().and_then(PartType::from_probe),
                fstype: c.fstype.clone(),
                label: c.label.clone(),
            })
            .collect();
        disks.push(ProbedDisk {
            path: d.path.clone(),
            model: d.model.clone().unwrap_or_default().trim().to_string(),
            serial: d.serial.clone().unwrap_or_default().trim().to_string(),
            size: d.size,
            logical_sector: d.log_sec.unwrap_or(512),
            physical_sector: d.phy_sec.unwrap_or(512),
            rotational: d.rota,
            removable: d.rm,
            transport: d.tran.clone().unwrap_or_default(),
            table: d.pttype.clone(),
            partitions,
            fstype: d.fstype.clone(),
            busy,
            boot_medium,
            stale_holders,
            aliases: vec![],
        });
    }
    Ok(Probe { disks, uefi, system_bytes: None })
}

fn contains_live_mount(d: &BlockDev) -> bool {
    const LIVE: &[&str] =
        &["/run/live/medium", "/run/initramfs/live", "/run/installer/medium", "/run/installer/squashfs"];
    d.mountpoints.iter().any(|m| LIVE.contains(&m.as_str())) || d.children.iter().any(contains_live_mount)
}

/// Every device of `tree`, by path.
fn tree_by_path(tree: &[BlockDev]) -> std::collections::HashMap<&str, &BlockDev> {
    fn add<'a>(d: &'a BlockDev, m: &mut std::collections::HashMap<&'a str, &'a BlockDev>) {
        m.entry(d.path.as_str()).or_insert(d);
        for c in &d.children {
            add(c, m);
        }
    }
    let mut m = std::collections::HashMap::new();
    for d in tree {
        add(d, &mut m);
    }
    m
}

/// `vda` + `vda2` → 2; `nvme0n1` + `nvme0n1p3` → 3.
fn part_number(disk: &str, part: &str) -> u32 {
    part.strip_prefix(disk).map(|s| s.trim_start_matches('p')).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The device node of partition `n` of `disk` (`/dev/vda` → `/dev/vda2`, `/dev/nvme0n1` → `/dev/nvme0n1p2`).
pub fn partition_path(disk: &str, n: u32) -> String {
    if disk.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{disk}p{n}")
    } else {
        format!("{disk}{n}")
    }
}

/// Fills what lsblk leaves empty without a udev database (signatures, partition entries) from a
/// low-level `blkid -p` probe of the device itself.
fn enrich(d: &mut BlockDev) {
    if d.fstype.is_none() && d.pttype.is_none() && d.kind != "rom" {
        if let Ok(out) = runner::Cmd::new(format!("probing {}", d.path), "blkid")
            .args(["-p", "-o", "export", &d.path])
            .ok_codes(&[2])
            .run()
        {
            for line in out.stdout.lines() {
                let Some((k, v)) = line.split_once('=') else { continue };
                let v = Some(v.to_string());
                match k {
                    "TYPE" => d.fstype = v,
                    "UUID" => d.uuid = v,
                    "LABEL" => d.label = v,
                    "PTTYPE" => d.pttype = v,
                    "PART_ENTRY_UUID" if d.partuuid.is_none() => d.partuuid = v,
                    "PART_ENTRY_TYPE" if d.parttype.is_none() => d.parttype = v,
                    "PART_ENTRY_NAME" if d.partlabel.is_none() => d.partlabel = v,
                    _ => {}
                }
            }
        }
    }
    for c in &mut d.children {
        enrich(c);
    }
}

/// `lsblk -J -b -O [devices]`, with gaps filled by `blkid -p`.
pub fn lsblk_tree(devices: &[&str]) -> anyhow::Result<Vec<BlockDev>> {
    use anyhow::Context;
    let out =
        runner::Cmd::new("listing block devices", "lsblk").args(["-J", "-b", "-O"]).args(devices).run()?;
    let mut parsed: LsblkOutput = serde_json::from_str(&out.stdout).context("parsing lsblk output")?;
    for d in &mut parsed.blockdevices {
        enrich(d);
    }
    Ok(parsed.blockdevices)
}

/// Probes the running machine.
/// udev's other names of each device (`/dev/disk/by-id`, `/dev/disk/by-path`), by device path.
fn disk_aliases() -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for dir in ["/dev/disk/by-id", "/dev/disk/by-path"] {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(target) = std::fs::canonicalize(e.path()) {
                out.entry(target.display().to_string()).or_default().push(e.path().display().to_string());
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

pub fn probe_system() -> anyhow::Result<Probe> {
    use anyhow::Context;
    let tree = lsblk_tree(&[])?;
    let json = serde_json::to_string(&serde_json::json!({ "blockdevices": tree }))?;
    let boot = std::fs::read_to_string("/run/installer/boot-device").ok().map(|s| s.trim().to_string());
    let start = |name: &str| -> Option<u64> {
        let p = Path::new("/sys/class/block").join(name).join("start");
        std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok().map(|s| s * 512)
    };
    let uefi = Path::new("/sys/firmware/efi").exists();
    let mut probe = from_lsblk(&json, boot.as_deref(), &start, uefi).context("parsing lsblk output")?;
    probe.system_bytes = system_bytes(Path::new("/"));
    let busy_open = |p: &str| match std::fs::File::options().read(true).custom_flags(libc::O_EXCL).open(p) {
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Some(e),
        _ => None,
    };
    // A stale holder whose top someone holds open (a process, a mount in another namespace) is
    // in use after all.
    let aliases = disk_aliases();
    for d in &mut probe.disks {
        d.aliases = aliases.get(&d.path).cloned().unwrap_or_default();
        let (unused, used): (Vec<StaleHolder>, Vec<StaleHolder>) = std::mem::take(&mut d.stale_holders)
            .into_iter()
            .partition(|h| h.tops.iter().all(|t| busy_open(t).is_none()));
        for h in used {
            d.busy.push(format!("{} is held by {} ({}), which is open", d.path, h.path, h.kind));
        }
        d.stale_holders = unused;
    }
    // A device the kernel holds (a mounted filesystem hidden from our mount namespace, a swap or
    // a holder lsblk missed) cannot be opened exclusively. A partition under a stale holder is
    // held by it, and so is its disk.
    let by_path = tree_by_path(&tree);
    for d in &mut probe.disks {
        let held_by_stale = |p: &str| {
            d.stale_holders
                .iter()
                .any(|h| by_path.get(p).is_some_and(|dev| dev.children.iter().any(|c| c.path == h.path)))
        };
        let mut paths: Vec<String> = d.partitions.iter().map(|p| p.path.clone()).collect();
        paths.push(d.path.clone());
        let mut flagged = false;
        for p in paths {
            let explained = held_by_stale(&p) || (p == d.path && !d.stale_holders.is_empty() && !flagged);
            if explained {
                continue;
            }
            if let Some(e) = busy_open(&p) {
                if !d.busy.iter().any(|b| b.starts_with(&format!("{p} "))) {
                    d.busy.push(format!("{p} is in use (exclusive open: {e})"));
                    flagged = true;
                }
            }
        }
    }
    Ok(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LSBLK: &str = include_str!("../../tests/fixtures/lsblk-qemu.json");

    #[test]
    fn parses_lsblk_with_partitions_holders_and_mounts() {
        let p = from_lsblk(LSBLK, Some("serial:vmh-root"), &|_| Some(1 << 20), false).unwrap();
        let paths: Vec<&str> = p.disks.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/dev/sda", "/dev/vda", "/dev/vdb", "/dev/nvme0n1", "/dev/sr0"]);
        // The optical drive is listed, never writable.
        let sr0 = p.disk("/dev/sr0").unwrap();
        assert!(sr0.busy.iter().any(|b| b.contains("optical drive")), "{:?}", sr0.busy);
        let vda = p.disk("/dev/vda").unwrap();
        assert!(vda.boot_medium && vda.busy.is_empty());
        let vdb = p.disk("/dev/vdb").unwrap();
        assert_eq!(vdb.serial, "S1");
        assert_eq!(vdb.partitions.len(), 2);
        assert_eq!(vdb.partitions[0].kind, Some(PartType::Esp));
        assert_eq!(vdb.partitions[1].number, 2);
        assert!(vdb.busy.iter().any(|b| b.contains("mounted on /mnt")), "{:?}", vdb.busy);
        let sda = p.disk("/dev/sda").unwrap();
        assert_eq!(sda.transport, "sata");
        assert!(
            sda.busy.iter().any(|b| b.contains("held by /dev/mapper/cryptroot (crypt)")),
            "{:?}",
            sda.busy
        );
        let nvme = p.disk("/dev/nvme0n1").unwrap();
        assert!(nvme.busy.iter().any(|b| b.contains("active swap")));
        assert_eq!(partition_path("/dev/nvme0n1", 3), "/dev/nvme0n1p3");
        assert_eq!(partition_path("/dev/sda", 3), "/dev/sda3");
        assert!(p.disks.iter().all(|d| d.stale_holders.is_empty()));
    }

    /// Two disks with an earlier install's RAID1 and the volume group on it, which the live
    /// system assembled by itself; `mounted` puts a mount on the root volume.
    fn raid_lvm(mounted: bool) -> String {
        let lv = |name: &str, mp: Option<&str>| {
            serde_json::json!({"name": format!("sys-{name}"), "path": format!("/dev/mapper/sys-{name}"),
                "type": "lvm", "size": 1u64 << 30, "rota": false, "rm": false, "ro": false,
                "mountpoints": [mp], "children": []})
        };
        let md = serde_json::json!({"name": "md127", "path": "/dev/md127", "type": "raid1",
            "size": 3u64 << 30, "rota": false, "rm": false, "ro": false, "mountpoints": [null],
            "children": [lv("root", mounted.then_some("/mnt")), lv("swap", None)]});
        let disk = |name: &str, serial: &str| {
            serde_json::json!({"name": name, "path": format!("/dev/{name}"), "type": "disk",
                "size": 4u64 << 30, "serial": serial, "rota": false, "rm": false, "ro": false,
                "pttype": "gpt", "mountpoints": [null], "children": [
                    {"name": format!("{name}1"), "path": format!("/dev/{name}1"), "type": "part",
                     "size": 1u64 << 20, "rota": false, "rm": false, "ro": false, "mountpoints": [null]},
                    {"name": format!("{name}2"), "path": format!("/dev/{name}2"), "type": "part",
                     "size": 3u64 << 30, "rota": false, "rm": false, "ro": false,
                     "fstype": "linux_raid_member", "mountpoints": [null], "children": [md.clone()]}]})
        };
        let mut other = disk("vdc", "C");
        other["children"][1]["children"] = serde_json::json!([]);
        serde_json::json!({"blockdevices": [disk("vda", "A"), disk("vdb", "B"), other]}).to_string()
    }

    #[test]
    fn an_array_assembled_by_itself_is_a_stale_holder_of_every_member_disk() {
        let p = from_lsblk(&raid_lvm(false), None, &|_| Some(1 << 20), false).unwrap();
        for disk in ["/dev/vda", "/dev/vdb"] {
            let d = p.disk(disk).unwrap();
            assert!(d.busy.is_empty(), "{:?}", d.busy);
            assert_eq!(d.stale_holders.len(), 1, "{:?}", d.stale_holders);
            let h = &d.stale_holders[0];
            assert_eq!((h.path.as_str(), h.kind.as_str()), ("/dev/md127", "raid1"));
            assert_eq!(h.disks, ["/dev/vda", "/dev/vdb"]);
            assert_eq!(h.tops, ["/dev/mapper/sys-root", "/dev/mapper/sys-swap"]);
        }
        assert!(p.disk("/dev/vdc").unwrap().stale_holders.is_empty());
        // Mounted above: busy, as before.
        let p = from_lsblk(&raid_lvm(true), None, &|_| Some(1 << 20), false).unwrap();
        let d = p.disk("/dev/vda").unwrap();
        assert!(d.stale_holders.is_empty());
        assert!(d.busy.iter().any(|b| b.contains("held by /dev/md127 (raid1)")), "{:?}", d.busy);
        assert!(d.busy.iter().any(|b| b.contains("/dev/mapper/sys-root is mounted on /mnt")), "{:?}", d.busy);
    }
}
