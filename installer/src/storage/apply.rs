//! Executes a [`Plan`] and nothing else.
//!
//! Before the point of no return it tears down what an earlier (crashed) run left on the plan's disks,
//! re-probes, and refuses when any planned disk changed identity, is the boot medium, or is busy.
//! Partition tables are written with the `gpt` and `mbrman` crates (LBA 0 last, so a half-written
//! disk has no boot sector); every tool runs through [`runner::Cmd`], passphrases on stdin only.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use runner::{Cmd, Secret};
use serde::{Deserialize, Serialize};

use super::plan::{Action, KeySource, Plan, PlannedPartition};
use super::probe::{BlockDev, Probe};
use super::spec::{FsFormat, RaidMetadata, TableKind};

/// Where named secrets (LUKS passphrases) come from.
pub trait Secrets {
    fn get(&self, name: &str) -> Option<Secret>;
}

impl Secrets for BTreeMap<String, Secret> {
    fn get(&self, name: &str) -> Option<Secret> {
        BTreeMap::get(self, name).cloned()
    }
}

/// A device made or kept by the plan, as it is after apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MadeDevice {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub fstype: Option<String>,
    pub uuid: Option<String>,
    pub partuuid: Option<String>,
    pub label: Option<String>,
    pub mountpoints: Vec<String>,
}

/// What apply made: every device on the planned disks (partitions, mappers, arrays, LVs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub devices: Vec<MadeDevice>,
}

/// Refuses when the machine is not the one the plan was made for.
pub fn check_unchanged(plan: &Plan, probe: &Probe) -> Result<()> {
    for d in &plan.disks {
        let id = &d.identity;
        let now = probe
            .disk(&id.path)
            .ok_or_else(|| anyhow!("{} ({}) is gone since the plan was made", id.path, d.field))?;
        if now.serial != id.serial
            || now.model != id.model
            || now.size != id.size
            || now.logical_sector.max(512) != id.logical_sector
        {
            bail!(
                "{} changed since the plan was made: planned {} {} {} bytes, found {}",
                id.path,
                id.model,
                id.serial,
                id.size,
                now.describe()
            );
        }
        if now.boot_medium {
            bail!("{} holds the boot medium; refusing", now.describe());
        }
        let keeps = d.partitions.iter().any(|p| p.preserve);
        if !now.busy.is_empty() && !keeps {
            bail!("{} is busy: {}", now.describe(), now.busy.join("; "));
        }
        for p in d.partitions.iter().filter(|p| p.preserve) {
            let e = now.partitions.iter().find(|e| e.number == p.number);
            let ok = e.is_some_and(|e| {
                e.start_bytes / id.logical_sector == p.start
                    && e.size / id.logical_sector == p.end - p.start + 1
            });
            if !ok {
                bail!("{}: kept partition {} changed since the plan was made", id.path, p.number);
            }
        }
    }
    Ok(())
}

fn settle() {
    let _ = Cmd::new("waiting for udev", "udevadm").args(["settle", "--timeout=30"]).run();
}

/// Unmounts what is under `root`, and closes swap, LUKS, LVM and RAID stacked on `disks`, so that a
/// new apply (or the user) can start clean. Idempotent.
pub fn teardown(root: &Path, disks: &[String]) -> Result<()> {
    let mounts = runner::mountinfo::read().context("reading /proc/self/mountinfo")?;
    let below = runner::mountinfo::below(&mounts, root);
    for m in below {
        Cmd::new(format!("unmounting {m}"), "umount").arg(&m).run()?;
    }
    if disks.is_empty() {
        return Ok(());
    }
    settle();
    let refs: Vec<&str> = disks.iter().map(String::as_str).collect();
    let tree = super::probe::lsblk_tree(&refs)?;
    // Holders, deepest first, each once (a RAID array shows under every member disk).
    let mut found: Vec<(usize, BlockDev)> = vec![];
    fn walk(d: &BlockDev, depth: usize, out: &mut Vec<(usize, BlockDev)>) {
        for c in &d.children {
            walk(c, depth + 1, out);
        }
        out.push((depth, d.clone()));
    }
    for d in &tree {
        walk(d, 0, &mut found);
    }
    found.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    let mut done: Vec<String> = vec![];
    for (_, dev) in found {
        if done.contains(&dev.path) {
            continue;
        }
        done.push(dev.path.clone());
        for m in &dev.mountpoints {
            if m == "[SWAP]" {
                Cmd::new(format!("disabling swap on {}", dev.path), "swapoff").arg(&dev.path).run()?;
            } else {
                bail!("{} is mounted on {m}, outside {}: unmount it first", dev.path, root.display());
            }
        }
        match dev.kind.as_str() {
            "crypt" => {
                Cmd::new(format!("closing LUKS {}", dev.name), "cryptsetup")
                    .args(["close", &dev.name])
                    .run()?;
            }
            "lvm" => {
                let vg = Cmd::new("finding the volume group", "lvs")
                    .args(["--noheadings", "-o", "vg_name", &dev.path])
                    .run()?
                    .stdout
                    .trim()
                    .to_string();
                if !vg.is_empty() && !done.contains(&format!("vg:{vg}")) {
                    Cmd::new(format!("deactivating volume group {vg}"), "vgchange")
                        .args(["-an", &vg])
                        .run()?;
                    done.push(format!("vg:{vg}"));
                }
            }
            k if k.starts_with("raid") || k == "md" => {
                Cmd::new(format!("stopping RAID {}", dev.path), "mdadm").args(["--stop", &dev.path]).run()?;
            }
            _ => {}
        }
    }
    settle();
    Ok(())
}

fn secret_for(key: &KeySource, secrets: &dyn Secrets) -> Result<Option<Secret>> {
    match key {
        KeySource::Secret(name) => {
            // The name is not repeated: it may be the passphrase itself, written where its name
            // belongs.
            Ok(Some(secrets.get(name).ok_or_else(|| {
                anyhow!("a passphrase secret the storage spec names (a `passphrase` field) was not given")
            })?))
        }
        KeySource::KeyFile(_) => Ok(None),
    }
}

fn with_key(cmd: Cmd, key: &KeySource, secret: &Option<Secret>) -> Cmd {
    match (key, secret) {
        (KeySource::KeyFile(p), _) => cmd.arg("--key-file").arg(p),
        (_, Some(s)) => cmd.arg("--key-file=-").stdin_secret(s),
        (_, None) => cmd,
    }
}

/// Makes the kernel see the new table of `disk`: BLKRRPART through `blockdev --rereadpt` (retried
/// while udev holds the disk), then, when the partition nodes in `expect` do not show up (BLKRRPART
/// refused because kept partitions are in use, or a kernel that does not rescan this device), BLKPG
/// through `partx -u`.
fn reread_partitions(disk: &str, expect: &[String]) -> Result<()> {
    let present = || expect.iter().all(|p| Path::new(p).exists());
    for _ in 0..8 {
        match Cmd::new("re-reading the partition table", "blockdev").args(["--rereadpt", disk]).run() {
            Ok(_) => break,
            Err(e) => tracing::debug!("blockdev --rereadpt {disk}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    settle();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !present() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..5 {
        if present() {
            return Ok(());
        }
        let _ =
            Cmd::new(format!("updating the kernel's partitions of {disk}"), "partx").args(["-u", disk]).run();
        std::thread::sleep(Duration::from_millis(300));
    }
    Ok(())
}

fn wait_for(path: &str, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Path::new(path).exists() {
        if Instant::now() > deadline {
            bail!("{path} did not appear after {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn open_exclusive(disk: &str) -> Result<File> {
    File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_EXCL)
        .open(disk)
        .with_context(|| format!("opening {disk} exclusively (is it in use?)"))
}

fn write_gpt(disk: &str, sector: u64, keep: bool, parts: &[PlannedPartition]) -> Result<()> {
    use gpt::disk::LogicalBlockSize;
    let lb = if sector == 4096 { LogicalBlockSize::Lb4096 } else { LogicalBlockSize::Lb512 };
    let file = open_exclusive(disk)?;
    let cfg = gpt::GptConfig::new().writable(true).logical_block_size(lb);
    let mut g = if keep {
        cfg.open_from_device(file).with_context(|| format!("reading the GPT of {disk}"))?
    } else {
        cfg.create_from_device(file, None).with_context(|| format!("creating a GPT for {disk}"))?
    };
    if keep {
        let existing: Vec<u32> = g.partitions().keys().copied().collect();
        for id in existing {
            if !parts.iter().any(|p| p.preserve && p.number == id) {
                g.remove_partition(id);
            }
        }
    }
    for p in parts.iter().filter(|p| !p.preserve) {
        let ty = gpt::partition_types::Type {
            guid: uuid::Uuid::parse_str(p.kind.gpt_guid()).expect("valid GUID"),
            os: gpt::partition_types::OperatingSystem::None,
        };
        g.add_partition_at(p.name.as_deref().unwrap_or(""), p.number, p.start, p.end - p.start + 1, ty, 0)
            .with_context(|| format!("adding partition {} to the GPT of {disk}", p.number))?;
    }
    let mut file = g.write().with_context(|| format!("writing the GPT of {disk}"))?;
    // The protective MBR (LBA 0) goes last.
    let total = std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))
        .with_context(|| format!("sizing {disk}"))?
        / sector;
    let pmbr =
        gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(total.saturating_sub(1)).unwrap_or(u32::MAX));
    pmbr.overwrite_lba0(&mut file).with_context(|| format!("writing the protective MBR of {disk}"))?;
    file.sync_all().with_context(|| format!("syncing {disk}"))?;
    Ok(())
}

fn write_mbr(disk: &str, sector: u64, keep: bool, parts: &[PlannedPartition]) -> Result<()> {
    use mbrman::{MBRPartitionEntry, BOOT_ACTIVE, BOOT_INACTIVE, CHS, MBR};
    let mut file = open_exclusive(disk)?;
    let align = (super::size::MIB / sector) as u32;
    let mut mbr = if keep {
        MBR::read_from(&mut file, sector as u32).with_context(|| format!("reading the MBR of {disk}"))?
    } else {
        let sig: [u8; 4] = uuid::Uuid::new_v4().as_bytes()[..4].try_into().expect("4 bytes");
        MBR::new_from(&mut file, sector as u32, sig).with_context(|| format!("creating an MBR for {disk}"))?
    };
    mbr.align = align;
    let entry = |p: &PlannedPartition| MBRPartitionEntry {
        boot: if p.bootable { BOOT_ACTIVE } else { BOOT_INACTIVE },
        first_chs: CHS::empty(),
        sys: p.kind.mbr_id().expect("planner checked"),
        last_chs: CHS::empty(),
        starting_lba: p.start as u32,
        sectors: (p.end - p.start + 1) as u32,
    };
    for i in 1..=4usize {
        let preserved = parts.iter().any(|p| p.preserve && p.number as usize == i);
        if !preserved {
            mbr[i] = MBRPartitionEntry::empty();
        }
    }
    for p in parts.iter().filter(|p| !p.preserve && !p.logical) {
        mbr[p.number as usize] = entry(p);
    }
    let logicals: Vec<&PlannedPartition> = parts.iter().filter(|p| p.logical).collect();
    if let (Some(first), Some(last)) = (logicals.first(), logicals.last()) {
        let ext_start = first.start as u32 - align;
        mbr[4] = MBRPartitionEntry {
            boot: BOOT_INACTIVE,
            first_chs: CHS::empty(),
            sys: 0x05,
            last_chs: CHS::empty(),
            starting_lba: ext_start,
            sectors: last.end as u32 + 1 - ext_start,
        };
        mbr.logical_partitions.clear();
        for p in logicals {
            let l = mbr
                .push(entry(p).sys, p.start as u32 - align, (p.end - p.start + 1) as u32 + align)
                .with_context(|| format!("adding logical partition {} on {disk}", p.number))?;
            l.partition.boot = if p.bootable { BOOT_ACTIVE } else { BOOT_INACTIVE };
        }
    }
    mbr.write_into(&mut file).with_context(|| format!("writing the MBR of {disk}"))?;
    file.sync_all().with_context(|| format!("syncing {disk}"))?;
    Ok(())
}

fn device_size(dev: &str) -> Result<u64> {
    let out = Cmd::new(format!("reading the size of {dev}"), "blockdev").args(["--getsize64", dev]).run()?;
    out.stdout.trim().parse().with_context(|| format!("size of {dev}: {:?}", out.stdout))
}

/// Kernel mount flags vs. filesystem data in an options list.
fn split_options(options: &[String]) -> (sys_mount::MountFlags, String) {
    use sys_mount::MountFlags as F;
    let mut flags = F::empty();
    let mut data = vec![];
    for o in options {
        match o.as_str() {
            "defaults" | "rw" => {}
            "ro" => flags |= F::RDONLY,
            "noatime" => flags |= F::NOATIME,
            "nodiratime" => flags |= F::NODIRATIME,
            "relatime" => flags |= F::RELATIME,
            "nodev" => flags |= F::NODEV,
            "nosuid" => flags |= F::NOSUID,
            "noexec" => flags |= F::NOEXEC,
            "sync" => flags |= F::SYNCHRONOUS,
            other => data.push(other.to_string()),
        }
    }
    (flags, data.join(","))
}

fn mount(device: &str, at: &Path, format: FsFormat, options: &[String]) -> Result<()> {
    std::fs::create_dir_all(at).with_context(|| format!("creating {}", at.display()))?;
    let (flags, data) = split_options(options);
    tracing::info!("mount -t {} -o {data} {device} {}", format.name(), at.display());
    let mut b = sys_mount::Mount::builder().fstype(format.name()).flags(flags);
    if !data.is_empty() {
        b = b.data(&data);
    }
    b.mount(device, at).with_context(|| format!("mounting {device} on {}", at.display()))?;
    Ok(())
}

fn run_action(a: &Action, target: &Path, secrets: &dyn Secrets, scratch: &Path) -> Result<()> {
    match a {
        Action::Wipe { disk, partitions } => wipe(disk, partitions),
        Action::Partition { disk, table, sector_size, keep_existing, partitions } => {
            partition(disk, *table, *sector_size, *keep_existing, partitions)
        }
        Action::MdCreate { name, device, level, metadata, members } => {
            md_create(name, device, *level, *metadata, members)
        }
        Action::LuksFormat { device, name, version, cipher, pbkdf, iter_time_ms, key } => {
            let secret = secret_for(key, secrets)?;
            let mut cmd = Cmd::new(format!("formatting {device} as LUKS{version} for {name}"), "cryptsetup")
                .args(["luksFormat", "--batch-mode", "--type", if *version == 1 { "luks1" } else { "luks2" }])
                .args(["--pbkdf", pbkdf.name()]);
            if let Some(c) = cipher {
                cmd = cmd.args(["--cipher", c]);
            }
            if let Some(t) = iter_time_ms {
                cmd = cmd.arg("--iter-time").arg(t.to_string());
            }
            with_key(cmd, key, &secret).arg(device).run().map(drop).map_err(anyhow::Error::from)
        }
        Action::LuksOpen { device, name, key } => {
            let secret = secret_for(key, secrets)?;
            let cmd = Cmd::new(format!("opening LUKS {name}"), "cryptsetup").args(["open", "--type", "luks"]);
            with_key(cmd, key, &secret).args([device.as_str(), name.as_str()]).run()?;
            wait_for(&format!("/dev/mapper/{name}"), "cryptsetup open")
        }
        Action::PvCreate { device } => {
            Cmd::new(format!("creating a physical volume on {device}"), "pvcreate")
                .args(["-ff", "--yes", device])
                .run()
                .map(drop)
                .map_err(anyhow::Error::from)
        }
        Action::VgCreate { name, pvs } => Cmd::new(format!("creating volume group {name}"), "vgcreate")
            .args(["--yes", name])
            .args(pvs)
            .run()
            .map(drop)
            .map_err(anyhow::Error::from),
        Action::LvCreate { vg, name, size } => lv_create(vg, name, *size),
        Action::Mkfs { device, format, label } => mkfs(device, *format, label.as_deref()),
        Action::BtrfsSubvolumes { device, subvolumes } => btrfs_subvolumes(device, subvolumes, scratch),
        Action::MkSwap { device, label } => {
            let mut cmd = Cmd::new(format!("making swap on {device}"), "mkswap");
            if let Some(l) = label {
                cmd = cmd.args(["-L", l]);
            }
            cmd.arg(device).run().map(drop).map_err(anyhow::Error::from)
        }
        Action::Mount { device, mountpoint, format, options } => {
            mount(device, &target.join(mountpoint.trim_start_matches('/')), *format, options)
        }
        Action::SwapOn { device } => Cmd::new(format!("enabling swap on {device}"), "swapon")
            .arg(device)
            .run()
            .map(drop)
            .map_err(anyhow::Error::from),
        Action::LuksAddKey { device, name, key, pbkdf, iter_time_ms, key_file } => {
            let secret = secret_for(key, secrets)?;
            let path = target.join(key_file.trim_start_matches('/'));
            write_key_file(&path)?;
            let mut cmd = Cmd::new(format!("adding the initrd key file to LUKS {name}"), "cryptsetup")
                .args(["luksAddKey", "--batch-mode", "--pbkdf", pbkdf.name()]);
            if let Some(t) = iter_time_ms {
                cmd = cmd.arg("--iter-time").arg(t.to_string());
            }
            with_key(cmd, key, &secret).arg(device).arg(&path).run().map(drop).map_err(anyhow::Error::from)
        }
    }
}

fn wipe(disk: &str, partitions: &[String]) -> Result<()> {
    for p in partitions.iter().filter(|p| Path::new(p).exists()) {
        Cmd::new(format!("wiping signatures on {p}"), "wipefs").args(["--all", "--force", p]).run()?;
    }
    Cmd::new(format!("wiping signatures on {disk}"), "wipefs")
        .args(["--all", "--force", disk])
        .run()
        .map(drop)
        .map_err(anyhow::Error::from)
}

fn partition(
    disk: &str,
    table: TableKind,
    sector_size: u64,
    keep_existing: bool,
    partitions: &[PlannedPartition],
) -> Result<()> {
    match table {
        TableKind::Gpt => write_gpt(disk, sector_size, keep_existing, partitions)?,
        TableKind::Mbr => write_mbr(disk, sector_size, keep_existing, partitions)?,
    }
    let nodes: Vec<String> = partitions.iter().map(|p| p.device.clone()).collect();
    reread_partitions(disk, &nodes)?;
    for p in partitions {
        wait_for(&p.device, &format!("partitioning {disk}"))?;
    }
    // Old signatures at the same offsets would confuse mdadm, LVM and blkid.
    for p in partitions.iter().filter(|p| !p.preserve) {
        Cmd::new(format!("wiping old signatures on {}", p.device), "wipefs")
            .args(["--all", "--force", &p.device])
            .run()?;
    }
    Ok(())
}

fn md_create(name: &str, device: &str, level: u8, metadata: RaidMetadata, members: &[String]) -> Result<()> {
    let md = if metadata == RaidMetadata::V1_0 { "1.0" } else { "1.2" };
    Cmd::new(format!("creating RAID array {name}"), "mdadm")
        .args([
            "--create",
            device,
            "--run",
            "--quiet",
            &format!("--level={level}"),
            &format!("--metadata={md}"),
        ])
        .arg(format!("--raid-devices={}", members.len()))
        .arg(format!("--name={name}"))
        .arg("--homehost=any")
        .args(members)
        .run()?;
    settle();
    wait_for(device, "mdadm --create")
}

fn lv_create(vg: &str, name: &str, size: Option<u64>) -> Result<()> {
    let cmd = Cmd::new(format!("creating logical volume {vg}/{name}"), "lvcreate")
        .args(["--yes", "-W", "y", "-n", name]);
    let cmd = match size {
        Some(b) => cmd.arg("-L").arg(format!("{b}b")),
        None => cmd.args(["-l", "100%FREE"]),
    };
    cmd.arg(vg).run()?;
    settle();
    wait_for(&format!("/dev/{vg}/{name}"), "lvcreate")
}

fn mkfs(device: &str, format: FsFormat, label: Option<&str>) -> Result<()> {
    let what = format!("making {} on {device}", format.name());
    let mut cmd = match format {
        FsFormat::Ext4 => Cmd::new(what, "mkfs.ext4").args(["-F", "-q"]),
        FsFormat::Xfs => Cmd::new(what, "mkfs.xfs").args(["-f", "-q"]),
        FsFormat::Btrfs => Cmd::new(what, "mkfs.btrfs").args(["-f", "-q"]),
        FsFormat::Vfat => {
            let fat = if device_size(device)? >= 64 * super::size::MIB { "32" } else { "16" };
            Cmd::new(what, "mkfs.vfat").args(["-F", fat])
        }
    };
    if let Some(l) = label {
        cmd = cmd.arg(if format == FsFormat::Vfat { "-n" } else { "-L" }).arg(l);
    }
    cmd.arg(device).run().map(drop).map_err(anyhow::Error::from)
}

/// Subvolumes are made in the filesystem's top level, mounted for the purpose under `scratch`.
fn btrfs_subvolumes(device: &str, subvolumes: &[String], scratch: &Path) -> Result<()> {
    let at = scratch.join("btrfs");
    mount(device, &at, FsFormat::Btrfs, &[])?;
    let made = subvolumes.iter().try_for_each(|s| {
        Cmd::new(format!("creating btrfs subvolume {s}"), "btrfs")
            .args(["subvolume", "create"])
            .arg(at.join(s))
            .run()
            .map(drop)
            .map_err(anyhow::Error::from)
    });
    Cmd::new("unmounting the btrfs top level", "umount").arg(&at).run()?;
    made
}

/// Writes 64 random bytes to `path` (mode 0400, in a directory of mode 0700), replacing what a
/// crashed run left.
fn write_key_file(path: &Path) -> Result<()> {
    use std::io::{Read, Write};
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = path.parent().context("a key file has a directory")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", dir.display()))?;
    let mut key = [0u8; 64];
    File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key)).context("reading /dev/urandom")?;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(&key).and_then(|_| f.sync_all()).with_context(|| format!("writing {}", path.display()))
}

/// Applies `plan`: teardown of leftovers, re-probe and checks, then every action in order.
/// `probe` re-reads the machine (the real one: [`super::probe::probe_system`]).
pub fn apply(plan: &Plan, secrets: &dyn Secrets, probe: &dyn Fn() -> Result<Probe>) -> Result<Applied> {
    apply_reporting(plan, secrets, probe, &crate::progress::Silent)
}

/// [`apply`], reporting each action as it starts.
pub fn apply_reporting(
    plan: &Plan,
    secrets: &dyn Secrets,
    probe: &dyn Fn() -> Result<Probe>,
    reporter: &dyn crate::progress::Reporter,
) -> Result<Applied> {
    let disks: Vec<String> = plan.target_disks().iter().map(|s| s.to_string()).collect();
    // Every secret must be there before anything is touched.
    for a in &plan.actions {
        if let Action::LuksFormat { key, .. } = a {
            secret_for(key, secrets)?;
        }
    }
    teardown(&plan.target, &disks).context("tearing down what an earlier run left")?;
    let now = probe().context("re-probing before applying")?;
    check_unchanged(plan, &now).context("the machine changed since the plan was made")?;
    // Point of no return.
    let scratch = PathBuf::from("/run/installer/scratch");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    for (i, a) in plan.actions.iter().enumerate() {
        tracing::info!("step {}/{}: {a}", i + 1, plan.actions.len());
        reporter.report(crate::progress::Event::Action {
            n: i + 1,
            total: plan.actions.len(),
            action: a.to_string(),
        });
        run_action(a, &plan.target, secrets, &scratch).with_context(|| format!("step {} ({a})", i + 1))?;
        // A power cut here in tests (`INSTALLER_FAILPOINT=after:<action kind>`).
        let point = format!("after:{}", a.kind());
        if crate::failpoint::STORAGE_POINTS.contains(&point.as_str()) {
            crate::failpoint::hit(&point);
        }
    }
    settle();
    let refs: Vec<&str> = disks.iter().map(String::as_str).collect();
    let mut devices = vec![];
    fn collect(d: &BlockDev, out: &mut Vec<MadeDevice>) {
        if !out.iter().any(|m| m.path == d.path) {
            out.push(MadeDevice {
                path: d.path.clone(),
                kind: d.kind.clone(),
                fstype: d.fstype.clone(),
                uuid: d.uuid.clone(),
                partuuid: d.partuuid.clone(),
                label: d.label.clone(),
                mountpoints: d.mountpoints.clone(),
            });
        }
        for c in &d.children {
            collect(c, out);
        }
    }
    for d in super::probe::lsblk_tree(&refs)? {
        collect(&d, &mut devices);
    }
    Ok(Applied { devices })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let (flags, data) =
            split_options(&["noatime".into(), "subvol=@".into(), "compress=zstd".into(), "defaults".into()]);
        assert!(flags.contains(sys_mount::MountFlags::NOATIME));
        assert_eq!(data, "subvol=@,compress=zstd");
    }
}
