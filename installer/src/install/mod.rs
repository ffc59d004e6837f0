//! `installer install` (nixos-install): evaluate the target's configuration, copy the system from
//! the live medium (building the initrd and installing GRUB's own files meanwhile), activate the
//! configuration, make a generation, write the bootloader's kernels and menu, set the root
//! password. Every step can run again: a second install onto the same
//! target succeeds and changes nothing that matters.

pub mod activate;
pub mod bootloader;
pub mod copy;
pub mod enter;
pub mod generation;
pub mod initrd_programs;
pub mod users;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use initrd::config::RootSpec;

use crate::config::{self, SystemConfig};
use crate::failpoint;
use crate::progress::{Event, Reporter, Stage};

/// Where the live system's squashfs (the copy source) is mounted by our stage-1.
pub const LIVE_SQUASHFS: &str = "/run/installer/squashfs";

#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub root: PathBuf,
    /// The system to copy (default: the live squashfs).
    pub source: PathBuf,
    pub no_bootloader: bool,
    /// Our stage-1 and busybox for the target's initrd.
    pub stage1: PathBuf,
    pub busybox: PathBuf,
}

/// What an install did.
#[derive(Debug, Clone)]
pub struct InstallReport {
    pub copy: copy::CopyStats,
    pub generation: u32,
    pub new_generation: bool,
    pub bootloader: String,
    /// The configuration sets root's password (`users.users.root.hashedPassword`).
    pub root_password_set: bool,
}

/// Writes a text file through a temporary name and a rename, with `mode`.
pub fn write_file(path: &Path, content: &str, mode: u32) -> Result<()> {
    write_bytes(path, content.as_bytes(), mode)
}

/// [`write_file`] for bytes.
pub fn write_bytes(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.installer-tmp",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    // Created with its final mode (secrets, initrds with key files): no moment where it is
    // readable by others. A leftover from an interrupted run is replaced.
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(content).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    // The umask may have taken bits away; the mode is exactly `mode` (never more than asked).
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Reads and evaluates `<root>/etc/nixos/configuration.nix`.
pub fn evaluate(root: &Path) -> Result<SystemConfig> {
    let file = root.join("etc/nixos/configuration.nix");
    if !file.is_file() {
        bail!(
            "{} does not exist; run `installer generate-config --root {}` first",
            file.display(),
            root.display()
        );
    }
    let v = config::evaluate(&file, None).with_context(|| format!("evaluating {}", file.display()))?;
    serde_json::from_value(v).with_context(|| format!("reading the evaluated {}", file.display()))
}

/// The serial console the live system runs on (`console=ttyS0,115200` on its command line).
pub fn live_serial_console() -> Option<boot::Serial> {
    let cmdline = std::fs::read_to_string("/proc/cmdline").ok()?;
    cmdline.split_whitespace().filter_map(|w| w.strip_prefix("console=ttyS")).next_back().map(|rest| {
        let (unit, speed) = rest.split_once(',').unwrap_or((rest, "115200"));
        let speed = speed.trim_end_matches(|c: char| !c.is_ascii_digit());
        boot::Serial { unit: unit.parse().unwrap_or(0), speed: speed.parse().unwrap_or(115200) }
    })
}

/// A target that no copy has reached yet has room for the system (the size the image records,
/// `usr/share/installer/system-size` in the source): refused before the copy, not half-way.
fn room_for_the_copy(o: &InstallOptions) -> Result<()> {
    let Some(needed) = crate::storage::probe::system_bytes(&o.source) else { return Ok(()) };
    if o.root.join("usr").exists() {
        return Ok(());
    }
    let fs = nix::sys::statvfs::statvfs(&o.root).with_context(|| format!("statvfs {}", o.root.display()))?;
    let free = fs.blocks_available() * fs.fragment_size();
    if free < needed {
        bail!(
            "{} has {} free; the system needs {}: nothing was copied",
            o.root.display(),
            crate::storage::size::human(free),
            crate::storage::size::human(needed)
        );
    }
    Ok(())
}

/// The kernel command line of the new generation.
pub fn kernel_params(c: &SystemConfig, serial: Option<boot::Serial>) -> String {
    let mut p: Vec<String> = vec![];
    if let Some(s) = serial {
        p.push("console=tty0".into());
        p.push(format!("console=ttyS{},{}", s.unit, s.speed));
    }
    p.extend(c.boot.kernel_params.iter().cloned());
    p.join(" ")
}

/// Checks the configuration against the target before anything is written.
fn validate(c: &SystemConfig, o: &InstallOptions) -> Result<()> {
    if !c.file_systems.contains_key("/") {
        bail!("fileSystems.\"/\" is not defined");
    }
    if let Some(tz) = &c.time.time_zone {
        if !o.source.join("usr/share/zoneinfo").join(tz).is_file() {
            bail!("time.timeZone = {tz:?} is not a known time zone");
        }
    }
    if !o.no_bootloader {
        let l = &c.boot.loader;
        if l.grub.enable && !l.systemd_boot.enable {
            for d in l.grub.devices.iter().filter(|d| *d != "nodev") {
                let dev = Path::new(d);
                use std::os::unix::fs::FileTypeExt;
                if !std::fs::metadata(dev).is_ok_and(|m| m.file_type().is_block_device()) {
                    bail!("boot.loader.grub.device {d:?} is not a block device on this machine");
                }
            }
        }
        if l.grub.enable && !l.systemd_boot.enable && !l.grub.enable_cryptodisk {
            let boot = o.root.join("boot");
            if let Some(m) = bootloader::mount_of(&boot) {
                if storage_chain(Path::new(&m.source)).0 {
                    bail!(
                        "/boot is on LUKS ({}): set boot.loader.grub.enableCryptodisk = true so that GRUB can unlock it",
                        m.source
                    );
                }
            }
        }
        if l.systemd_boot.enable || l.grub.efi_support {
            let esp = o.root.join(l.efi.efi_sys_mount_point.trim_start_matches('/'));
            if bootloader::mount_of(&esp).is_none_or(|m| Path::new(&m.mountpoint) != esp) {
                bail!(
                    "boot.loader.efi.efiSysMountPoint ({}) is not mounted at {}",
                    l.efi.efi_sys_mount_point,
                    esp.display()
                );
            }
        }
    }
    for (dest, src) in c.boot.initrd.secret_files() {
        if !o.root.join(src.trim_start_matches('/')).is_file() {
            bail!(
                "boot.initrd.secrets.{dest:?}: {src} is not a file of the installed system ({})",
                o.root.display()
            );
        }
    }
    for p in [&o.stage1, &o.busybox] {
        if !p.is_file() {
            bail!("{} is missing (it goes into the installed system's initrd)", p.display());
        }
    }
    Ok(())
}

/// The root description stage-1 reads.
pub fn root_spec(c: &SystemConfig) -> Result<RootSpec> {
    let fs = c.file_systems.get("/").context("fileSystems.\"/\" is not defined")?;
    let device = match (&fs.device, &fs.label) {
        (Some(d), _) => d.clone(),
        (None, Some(l)) => format!("LABEL={l}"),
        (None, None) => bail!("fileSystems.\"/\" has neither device nor label"),
    };
    Ok(RootSpec {
        device,
        fs_type: fs.fs_type.clone(),
        options: fs.options.clone(),
        check: c.boot.initrd.check_journaling_fs && fs.fs_type.starts_with("ext"),
    })
}

/// What lies under a block device: (LUKS, LVM volumes `vg/lv`, md RAID) anywhere in its chain of
/// slaves.
pub fn storage_chain(dev: &Path) -> (bool, Vec<String>, bool) {
    let (mut luks, mut lvm, mut md) = (false, vec![], false);
    let Ok(real) = std::fs::canonicalize(dev) else { return (luks, lvm, md) };
    let mut stack = vec![real.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()];
    while let Some(name) = stack.pop() {
        let sys = PathBuf::from("/sys/class/block").join(&name);
        let uuid = std::fs::read_to_string(sys.join("dm/uuid")).unwrap_or_default();
        luks |= uuid.starts_with("CRYPT-LUKS");
        if uuid.starts_with("LVM-") {
            let dm = std::fs::read_to_string(sys.join("dm/name")).unwrap_or_default();
            lvm.extend(initrd::config::lvm_volume_of_dm_name(dm.trim()));
        }
        md |= name.starts_with("md");
        for e in std::fs::read_dir(sys.join("slaves")).into_iter().flatten().flatten() {
            stack.push(e.file_name().to_string_lossy().to_string());
        }
    }
    (luks, lvm, md)
}

/// The kernel modules of the drivers bound along the device paths of the disks under `dev` (through
/// partitions, device-mapper and md slaves), read from `sys` (`/sys`): e.g. `virtio_blk` and
/// `virtio_pci`, or `sd_mod` and `ahci`. Built-in drivers have no module and are left out.
pub fn root_drivers(sys: &Path, dev: &Path) -> Vec<String> {
    let mut drivers = vec![];
    let Ok(real) = std::fs::canonicalize(dev) else { return drivers };
    let mut stack = vec![real.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()];
    let mut seen = vec![];
    while let Some(name) = stack.pop() {
        if name.is_empty() || seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let class = sys.join("class/block").join(&name);
        let slaves: Vec<String> = std::fs::read_dir(class.join("slaves"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        if !slaves.is_empty() {
            stack.extend(slaves);
            continue;
        }
        let Ok(mut dir) = std::fs::canonicalize(&class) else { continue };
        loop {
            let module = std::fs::canonicalize(dir.join("driver/module"))
                .ok()
                .and_then(|m| m.file_name().map(|n| n.to_string_lossy().to_string()));
            if let Some(m) = module {
                if !drivers.contains(&m) {
                    drivers.push(m);
                }
            }
            if !dir.pop() || !dir.starts_with(sys) || dir == sys.join("devices") {
                break;
            }
        }
    }
    drivers
}

/// The evaluated system as saved in a generation: without password hashes.
fn system_json(c: &SystemConfig) -> String {
    let mut c = c.clone();
    for u in c.users.users.values_mut() {
        if u.hashed_password.is_some() {
            u.hashed_password = Some("<hashed>".into());
        }
        if u.initial_hashed_password.is_some() {
            u.initial_hashed_password = Some("<hashed>".into());
        }
    }
    serde_json::to_string_pretty(&c).expect("serializable") + "\n"
}

/// Runs the whole install, reporting its progress. The root password is the front end's business:
/// [`InstallReport::root_password_set`] says whether the configuration set one.
pub fn install(o: &InstallOptions, reporter: &dyn Reporter) -> Result<InstallReport> {
    let r = Steps(reporter);
    let root = &o.root;
    if !o.source.join("usr").is_dir() {
        bail!(
            "the system to copy ({}) is not there: run the install from the live system, or pass --source",
            o.source.display()
        );
    }
    r.stage(Stage::Evaluate, "evaluating the configuration");
    let c = evaluate(root)?;
    for w in &c.warnings {
        reporter.report(Event::Warning { message: w.clone() });
    }
    validate(&c, o)?;
    room_for_the_copy(o)?;
    failpoint::hit("after:evaluate");

    let kernel =
        initrd::modules::kernel_in_root(&o.source).context("the live system has no kernel with modules")?;
    let mdadm_conf = activate::mdadm_conf(&c)?;

    r.stage(Stage::Copy, &format!("copying the system from {} to {}", o.source.display(), root.display()));
    let (stats, (initrd, grub)) = beside_the_copy(o, reporter, || {
        // What needs neither the copied system nor a generation: the initrd (from the source's
        // kernel modules and programs, the same files the copy writes) and GRUB's own files.
        let initrd = build_initrd(&c, o, &kernel, mdadm_conf.as_deref())?;
        let grub = if o.no_bootloader { vec![] } else { bootloader::install_grub(&c, root)? };
        Ok((initrd, grub))
    })?;
    failpoint::hit("after:copy");

    r.stage(Stage::Activate, "activating the configuration");
    activate::activate(&c, &o.source, root, mdadm_conf.as_deref())?;
    failpoint::hit("after:activate");

    r.stage(Stage::Initrd, &format!("the initrd ({} KiB) was built during the copy", initrd.len() >> 10));
    failpoint::hit("after:initrd");

    let serial = live_serial_console();
    let (g, new_generation) =
        generation::ensure(root, &generation_content(&c, root, &kernel, initrd, serial)?)?;
    failpoint::hit("after:generation");
    r.step(&format!("generation {} ({})", g.number, if new_generation { "new" } else { "unchanged" }));

    let bootloader = if o.no_bootloader {
        "not installed (--no-bootloader)".to_string()
    } else {
        r.stage(Stage::Bootloader, "installing the bootloader");
        bootloader::install(&c, root, &o.source, &generation::list(root), serial, &grub)?
    };
    failpoint::hit("after:bootloader");
    r.step(&format!("bootloader: {bootloader}"));
    if !o.no_bootloader {
        let (entries, missing) = bootloader::efi_entries_read_back(&c);
        for e in entries {
            r.step(&format!("UEFI boot entry: {e}"));
        }
        if let Some(message) = missing {
            reporter.report(Event::Warning { message });
        }
    }

    mark_installed(root, &g, &bootloader)?;
    let root_password_set = c.users.users.get("root").is_some_and(|u| u.hashed_password.is_some());
    Ok(InstallReport { copy: stats, generation: g.number, new_generation, bootloader, root_password_set })
}

/// Copies the system while `beside` runs on this thread (the copy is bound by reading the
/// medium; what runs beside it mostly by the CPU); both finish before either's error is returned.
fn beside_the_copy<T>(
    o: &InstallOptions,
    reporter: &dyn Reporter,
    beside: impl FnOnce() -> Result<T>,
) -> Result<(copy::CopyStats, T)> {
    std::thread::scope(|s| {
        let copy = s.spawn(|| copy_system(o, reporter));
        let other = beside();
        let stats = copy.join().map_err(|_| anyhow::anyhow!("the copy's thread panicked"))?;
        Ok((stats?, other?))
    })
}

/// Progress for people (a line) and for gauges (a stage event).
struct Steps<'a>(&'a dyn Reporter);

impl Steps<'_> {
    fn step(&self, msg: &str) {
        tracing::info!("{msg}");
        self.0.report(Event::Info { message: msg.to_string() });
    }

    fn stage(&self, stage: Stage, msg: &str) {
        self.0.report(Event::Stage { stage });
        self.step(msg);
    }
}

/// Copies the live system (but its /boot) into the target, with progress events: extracted from
/// the squashfs onto a target no copy has begun on (on a machine with the memory for it), else
/// copied file by file (see [`copy`]).
fn copy_system(o: &InstallOptions, reporter: &dyn Reporter) -> Result<copy::CopyStats> {
    let mut progress = |p: copy::Progress| {
        if p.bytes > 0 {
            failpoint::hit("copy:started");
        }
        if p.bytes >= p.total_bytes / 2 {
            failpoint::hit("copy:half");
        }
        reporter.report(Event::Copy {
            files: p.entries,
            total_files: p.total_entries,
            bytes: p.bytes,
            total_bytes: p.total_bytes,
        })
    };
    let exclude = [PathBuf::from("boot")];
    let (stats, how) = match copy::extraction(&o.source, &o.root) {
        Some(image) => (
            copy::unsquash(&image, &o.source, &o.root, &exclude, &mut progress)?,
            format!("extracted by unsquashfs from {}", image.display()),
        ),
        None => {
            let stats = copy::copy_tree(&o.source, &o.root, &exclude, &mut progress)?;
            let how = format!("{} already in place", stats.skipped_files);
            (stats, how)
        }
    };
    Steps(reporter).step(&format!(
        "copied {} files ({} MiB), {how}",
        stats.copied_files,
        stats.copied_bytes >> 20
    ));
    Ok(stats)
}

/// The devices of the root and of the other filesystems needed for boot (`neededForBoot`).
fn boot_devices(c: &SystemConfig) -> impl Iterator<Item = &str> {
    c.file_systems
        .iter()
        .filter(|(mp, fs)| *mp == "/" || fs.needed_for_boot)
        .filter_map(|(_, fs)| fs.device.as_deref())
}

/// What lies under the root (and /boot, /nix, … needed for boot) on this machine: LUKS, the
/// LVM volumes, md.
fn boot_storage(c: &SystemConfig) -> (bool, Vec<String>, bool) {
    let (mut luks, mut lvm_volumes, mut md) = (false, vec![], false);
    for dev in boot_devices(c) {
        let (l, v, m) = storage_chain(Path::new(dev));
        luks |= l;
        lvm_volumes.extend(v);
        md |= m;
    }
    lvm_volumes.sort();
    lvm_volumes.dedup();
    (luks, lvm_volumes, md)
}

/// The installed system's initrd: our stage 1, the modules and programs its root needs, and the
/// key files of an encrypted /boot.
fn build_initrd(
    c: &SystemConfig,
    o: &InstallOptions,
    kernel: &initrd::modules::RootKernel,
    mdadm_conf: Option<&str>,
) -> Result<Vec<u8>> {
    let root = &o.root;
    let spec = root_spec(c)?;
    let (luks, lvm_volumes, md) = boot_storage(c);
    let luks_devices: Vec<initrd::config::LuksSpec> = c
        .boot
        .initrd
        .luks
        .devices
        .iter()
        .map(|(name, d)| initrd::config::LuksSpec {
            name: name.clone(),
            device: d.device.clone(),
            key_file: d.key_file.clone(),
            allow_discards: d.allow_discards,
            pre_lvm: d.pre_lvm,
        })
        .collect();
    let lvm = !lvm_volumes.is_empty();
    if luks && luks_devices.is_empty() {
        bail!("the root is on LUKS but boot.initrd.luks.devices names no device (run generate-config again)");
    }
    let programs: Vec<&str> = [
        (spec.fs_type.starts_with("ext"), "usr/sbin/e2fsck"),
        (!luks_devices.is_empty(), "usr/sbin/cryptsetup"),
        (lvm, "usr/sbin/lvm"),
        (md, "usr/sbin/mdadm"),
    ]
    .into_iter()
    .filter_map(|(needed, p)| needed.then_some(p))
    .collect();
    // From the source: the copy may still be writing them into the target.
    let mut files = initrd_programs::program_files(&o.source, &programs)?;
    // Each runs here as it will at boot, from the initrd's own files, or the install stops with
    // why (rather than a system that cannot open its root).
    initrd_programs::check(&files)?;
    // The RAID configuration, from a private file that lives until the initrd is built.
    let _conf_dir = match (md, mdadm_conf) {
        (true, Some(conf)) => {
            let dir = crate::private_dir::PrivateDir::new("initrd")?;
            let path = dir.path().join("mdadm.conf");
            std::fs::write(&path, conf).with_context(|| format!("writing {}", path.display()))?;
            files.push(("etc/mdadm/mdadm.conf".into(), path));
            Some(dir)
        }
        _ => None,
    };
    for (dest, src) in c.boot.initrd.secret_files() {
        files.push((dest.trim_start_matches('/').to_string(), root.join(src.trim_start_matches('/'))));
    }
    let mut drivers = vec![];
    for dev in boot_devices(c) {
        for d in root_drivers(Path::new("/sys"), Path::new(dev)) {
            if !drivers.contains(&d) {
                drivers.push(d);
            }
        }
    }
    // A passphrase is typed at boot on the layout it was chosen with.
    let asks = luks_devices.iter().any(|l| l.key_file.is_none());
    let keymap = match c.console.key_map.as_str() {
        "us" | "" => None,
        k if asks => Some((k.to_string(), binary_keymap(k)?)),
        _ => None,
    };
    initrd::installed::build(&initrd::installed::InstalledInitrd {
        modules_dir: &kernel.modules_dir,
        stage1: &o.stage1,
        busybox: &o.busybox,
        root: spec,
        available_modules: c.boot.initrd.available_kernel_modules.clone(),
        kernel_modules: c.boot.initrd.kernel_modules.clone(),
        files,
        luks: luks_devices,
        mdadm: md,
        lvm,
        lvm_volumes,
        root_drivers: drivers,
        keymap,
    })
    .context("building the initrd")
}

/// The console keymap `name` in the binary form busybox's `loadkmap` reads (`loadkeys -b`, which
/// only reads the keymap files).
fn binary_keymap(name: &str) -> Result<Vec<u8>> {
    let bytes = runner::Cmd::new(format!("making the binary form of the keymap {name}"), "loadkeys")
        .args(["-b", name])
        .run_bytes()
        .with_context(|| format!("console.keyMap = {name:?}"))?;
    if !bytes.starts_with(b"bkeymap") {
        bail!("console.keyMap = {name:?}: loadkeys -b wrote no binary keymap");
    }
    Ok(bytes)
}

/// What a generation holds: kernel, initrd, parameters, the evaluated system and the
/// configuration files of /etc/nixos.
fn generation_content(
    c: &SystemConfig,
    root: &Path,
    kernel: &initrd::modules::RootKernel,
    initrd: Vec<u8>,
    serial: Option<boot::Serial>,
) -> Result<generation::GenerationContent> {
    let confdir = root.join("etc/nixos");
    let mut configuration = vec![];
    for e in std::fs::read_dir(&confdir).with_context(|| format!("reading {}", confdir.display()))?.flatten()
    {
        if e.path().is_file() {
            configuration.push((e.file_name().to_string_lossy().to_string(), std::fs::read(e.path())?));
        }
    }
    configuration.sort();
    Ok(generation::GenerationContent {
        kernel: std::fs::read(&kernel.vmlinuz)
            .with_context(|| format!("reading {}", kernel.vmlinuz.display()))?,
        initrd,
        kernel_version: kernel.version.clone(),
        kernel_params: kernel_params(c, serial),
        system_json: system_json(c),
        configuration,
    })
}

/// /etc/NIXOS, and the record of this install.
fn mark_installed(root: &Path, g: &generation::Generation, bootloader: &str) -> Result<()> {
    write_file(&root.join("etc/NIXOS"), "", 0o644)?;
    write_file(
        &root.join("var/log/installer/installed"),
        &format!(
            "installer {}\ngeneration {}\ndate {}\nbootloader {}\n",
            env!("CARGO_PKG_VERSION"),
            g.number,
            g.date,
            bootloader
        ),
        0o644,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_disks_drivers_are_read_along_their_device_paths() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let sys = t.path().join("sys");
        let pci = sys.join("devices/pci0000:00/0000:00:03.0");
        let part = pci.join("virtio1/block/vda/vda3");
        std::fs::create_dir_all(&part).unwrap();
        for (dev, bus, driver, module) in [
            (pci.clone(), "pci", "virtio-pci", Some("virtio_pci")),
            (pci.join("virtio1"), "virtio", "virtio_blk", Some("virtio_blk")),
            (sys.join("devices/pci0000:00"), "platform", "builtin", None),
        ] {
            let d = sys.join("bus").join(bus).join("drivers").join(driver);
            std::fs::create_dir_all(&d).unwrap();
            if let Some(m) = module {
                std::fs::create_dir_all(sys.join("module").join(m)).unwrap();
                symlink(sys.join("module").join(m), d.join("module")).unwrap();
            }
            symlink(&d, dev.join("driver")).unwrap();
        }
        std::fs::create_dir_all(sys.join("class/block")).unwrap();
        symlink(&part, sys.join("class/block/vda3")).unwrap();
        // A device-mapper device on that partition.
        let dm = sys.join("devices/virtual/block/dm-0");
        std::fs::create_dir_all(dm.join("slaves")).unwrap();
        symlink(&part, dm.join("slaves/vda3")).unwrap();
        symlink(&dm, sys.join("class/block/dm-0")).unwrap();
        let dev = t.path().join("dev");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("dm-0"), "").unwrap();
        std::fs::write(dev.join("vda3"), "").unwrap();
        assert_eq!(root_drivers(&sys, &dev.join("vda3")), ["virtio_blk", "virtio_pci"]);
        assert_eq!(root_drivers(&sys, &dev.join("dm-0")), ["virtio_blk", "virtio_pci"]);
        assert!(root_drivers(&sys, &dev.join("gone")).is_empty());
    }
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_are_written_with_their_final_mode() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("etc/secrets/key");
        // A leftover of an interrupted run (readable by all) is replaced.
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(t.path().join("etc/secrets/.key.installer-tmp"), "old").unwrap();
        write_bytes(&f, b"secret", 0o400).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"secret");
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o400);
        write_file(&f, "again", 0o600).unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
