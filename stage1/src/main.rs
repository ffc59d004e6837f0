//! Stage 1: PID 1 of our initrd, for the live system and for installed systems (see the `stage1` library).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use initrd::config::{mount_options, Config, DeviceRef, LuksSpec, RootSpec};
use initrd::installed::{LUKS_MODULES, LVM_MODULES, RAID_MODULES};
use initrd::modules::ModuleTree;
use stage1::cmdline::Cmdline;
use stage1::error::Context;
use stage1::{modalias, probe, sys, Error, Result};

struct Stage1 {
    cmd: Cmdline,
    config: Config,
    tree: Option<ModuleTree>,
    aliases: Vec<modalias::Alias>,
    loaded: Vec<String>,
    /// Coldplug's loads still running: each chain of modules and its thread.
    pending: Vec<(Vec<String>, std::thread::JoinHandle<()>)>,
    /// The modules the initrd's configuration loads at start (the filesystems, the root's chain):
    /// started at once, waited for before the first mount (see [`Stage1::mountable`]).
    first: Vec<String>,
    /// Coldplug loads nothing before this time: the root's own drivers go first (see
    /// [`Stage1::root_drivers_first`]).
    coldplug_after: Option<Instant>,
    /// The console keymap is loaded (see [`Stage1::load_keymap`]).
    keymap_loaded: bool,
}

/// How long the root's own drivers look for it alone before every device's driver is loaded.
const ROOT_DRIVERS_ALONE: Duration = Duration::from_millis(1500);

fn log(msg: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "stage-1: {msg}");
    let _ = out.flush();
}

impl Stage1 {
    fn trace(&self, msg: &str) {
        if self.cmd.trace {
            log(msg);
        }
    }

    /// Loads `name` and its dependencies, also when coldplug is still loading some of them.
    fn load(&mut self, name: &str) {
        let chain = self.tree.as_ref().and_then(|t| t.resolve(&[name]).ok()).unwrap_or_default();
        self.wait_for(&chain);
        self.load_all(&[name.to_string()]);
    }

    /// Loads `names`, each after its dependencies, one thread per name: the kernel loads different
    /// modules at once (a second load of the same module waits for the first and finds it there),
    /// so the root's driver does not wait behind a slow one (ext4's relocation, AHCI probing its
    /// ports). Returns once all are loaded.
    fn load_all(&mut self, names: &[String]) {
        for (_, t) in self.start(names) {
            let _ = t.join();
        }
    }

    /// Starts loading `names` (each chain of dependencies not loaded yet on a thread of its own).
    fn start(&mut self, names: &[String]) -> Vec<(Vec<String>, std::thread::JoinHandle<()>)> {
        let Some(tree) = &self.tree else { return vec![] };
        // A chain keeps the modules still loading on other threads: a second load of a module
        // waits in the kernel for the first, so what follows in the chain finds it there.
        let loading =
            |r: &String| self.pending.iter().any(|(chain, t)| !t.is_finished() && chain.contains(r));
        let mut chains: Vec<Vec<String>> = vec![];
        for name in names {
            match tree.resolve(&[name.as_str()]) {
                Ok(order) => {
                    let chain: Vec<String> =
                        order.into_iter().filter(|r| !self.loaded.contains(r) || loading(r)).collect();
                    if chain.iter().any(|r| !self.loaded.contains(r)) {
                        chains.push(chain);
                    }
                }
                Err(e) => log(&format!("module {name}: {e}")),
            }
        }
        let (dir, trace) = (tree.dir().to_path_buf(), self.cmd.trace);
        let mut started = vec![];
        for chain in chains {
            for rel in &chain {
                if !self.loaded.contains(rel) {
                    self.loaded.push(rel.clone());
                }
            }
            let (dir, list) = (dir.clone(), chain.clone());
            let thread = std::thread::spawn(move || {
                for rel in &list {
                    if trace {
                        log(&format!("loading {rel}"));
                    }
                    if let Err(e) = sys::load_module(&dir.join(rel), "") {
                        log(&format!("loading {}: {e}", dir.join(rel).display()));
                    }
                }
            });
            started.push((chain, thread));
        }
        started
    }

    /// Waits for coldplug's loads of any of `modules`.
    fn wait_for(&mut self, modules: &[String]) {
        let (wait, keep) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(chain, _)| chain.iter().any(|m| modules.contains(m)));
        self.pending = keep;
        for (_, t) in wait {
            let _ = t.join();
        }
    }

    /// Waits for the loads of the modules the configuration asks for at start, once: they run
    /// while coldplug finds the devices, and the mounts need them (ext4, loop, squashfs, overlay).
    fn mountable(&mut self) {
        let first = std::mem::take(&mut self.first);
        if !first.is_empty() {
            self.wait_for(&first);
        }
    }

    /// Waits for every load still running (before the real init replaces this process and its
    /// threads).
    fn settle(&mut self) {
        for (_, t) in std::mem::take(&mut self.pending) {
            let _ = t.join();
        }
    }

    /// Starts loading what every device's modalias asks for, without waiting for the loads: a
    /// device a driver makes appear (the virtio disk behind virtio-pci) is found by the next call
    /// while a slow probe (AHCI's ports) still runs. Returns how many modules were new.
    fn coldplug(&mut self) -> usize {
        if self.coldplug_after.is_some_and(|t| Instant::now() < t) {
            return 0;
        }
        let before = self.loaded.len();
        let mut wanted = vec![];
        let mut stack = vec![PathBuf::from("/sys/devices")];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() && !ft.is_symlink() {
                    stack.push(p);
                } else if e.file_name() == "modalias" {
                    if let Ok(alias) = std::fs::read_to_string(&p) {
                        for m in modalias::modules_for(&self.aliases, alias.trim()) {
                            if !wanted.contains(&m) {
                                wanted.push(m);
                            }
                        }
                    }
                }
            }
        }
        let started = self.start(&wanted);
        self.pending.extend(started);
        self.loaded.len() - before
    }

    /// Block devices, whole disks before partitions.
    fn block_devices() -> Vec<String> {
        let mut disks = vec![];
        let mut parts = vec![];
        for e in std::fs::read_dir("/sys/class/block").into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("loop") || name.starts_with("ram") {
                continue;
            }
            if e.path().join("partition").exists() {
                parts.push(name);
            } else {
                disks.push(name);
            }
        }
        disks.sort();
        parts.sort();
        disks.into_iter().chain(parts).collect()
    }

    /// The device with the label, or the devices and labels seen.
    fn find_by_label(&self, label: &str) -> std::result::Result<String, String> {
        let mut seen = vec![];
        for name in Self::block_devices() {
            let dev = format!("/dev/{name}");
            let Ok(mut f) = std::fs::File::open(&dev) else { continue };
            let labels = probe::labels(&mut f);
            self.trace(&format!("{dev}: {labels:?}"));
            if labels.iter().any(|l| l == label) {
                return Ok(dev);
            }
            seen.push(format!("{dev} {labels:?}"));
        }
        Err(seen.join(", "))
    }

    /// Waits for the live medium, coldplugging as devices appear.
    fn wait_for_medium(&mut self, label: &str) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(self.cmd.timeout_secs);
        loop {
            let new = self.coldplug();
            match self.find_by_label(label) {
                Ok(dev) => return Ok(dev),
                Err(seen) if Instant::now() >= deadline => {
                    return Err(Error::MediumNotFound {
                        label: label.into(),
                        secs: self.cmd.timeout_secs,
                        found: if seen.is_empty() { "no block devices".to_string() } else { seen },
                    })
                }
                Err(_) => {
                    if new == 0 {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }
    }

    /// The installed system's root: the initrd's description, overridden by `root=` and friends.
    fn installed_root(&self) -> Option<RootSpec> {
        let mut root = self.config.root.clone();
        if let Some(dev) = &self.cmd.root {
            let r = root.get_or_insert_with(|| RootSpec {
                device: dev.clone(),
                fs_type: "auto".into(),
                options: vec![],
                check: false,
            });
            r.device = dev.clone();
        }
        if let Some(r) = root.as_mut() {
            if let Some(t) = &self.cmd.root_fs_type {
                r.fs_type = t.clone();
            }
            if let Some(f) = &self.cmd.root_flags {
                r.options = vec![f.clone()];
            }
        }
        root
    }

    /// Finds a block device by UUID, label or path, coldplugging until it appears.
    fn wait_for_device(&mut self, want: &DeviceRef) -> Result<(String, Option<probe::Identity>)> {
        let deadline = Instant::now() + Duration::from_secs(self.cmd.timeout_secs);
        let mut last_scan = Instant::now();
        loop {
            let new = self.coldplug();
            // Disks appear a little after their drivers load: assemble arrays and activate volume
            // groups again until what we wait for shows up.
            if last_scan.elapsed() > Duration::from_secs(2) && (self.config.mdadm || self.config.lvm) {
                last_scan = Instant::now();
                if self.config.mdadm {
                    self.assemble_md();
                }
                if self.config.lvm {
                    self.activate_lvm();
                }
            }
            let mut seen = vec![];
            if let DeviceRef::Path(p) = want {
                // Device-mapper and md nodes made by the tools themselves (no udev here).
                if Path::new(p).exists() {
                    let id = std::fs::File::open(p).ok().and_then(|mut f| probe::identify(&mut f));
                    return Ok((p.clone(), id));
                }
            }
            for name in Self::block_devices() {
                let dev = format!("/dev/{name}");
                let id = std::fs::File::open(&dev).ok().and_then(|mut f| probe::identify(&mut f));
                let hit = match (want, &id) {
                    (DeviceRef::Uuid(u), Some(i)) => i.uuid.eq_ignore_ascii_case(u),
                    (DeviceRef::Label(l), Some(i)) => i.label.as_deref() == Some(l.as_str()),
                    (DeviceRef::Path(p), _) => {
                        std::fs::canonicalize(p).is_ok_and(|c| c == Path::new(&dev)) || p == &dev
                    }
                    _ => false,
                };
                self.trace(&format!("{dev}: {id:?}"));
                if hit {
                    return Ok((dev, id));
                }
                seen.push(match id {
                    Some(i) => format!("{dev} ({} UUID={})", i.fs_type, i.uuid),
                    None => dev,
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::RootNotFound {
                    want: want.to_string(),
                    secs: self.cmd.timeout_secs,
                    found: if seen.is_empty() { "no block devices".to_string() } else { seen.join(", ") },
                });
            }
            if new == 0 {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Checks the root filesystem with the fsck the initrd carries (`e2fsck -p` for ext*).
    fn fsck(&self, dev: &str, fs_type: &str) -> Result<()> {
        if !fs_type.starts_with("ext") {
            self.trace(&format!("no check for {fs_type} at boot"));
            return Ok(());
        }
        let e2fsck = Path::new("/sbin/e2fsck");
        if !e2fsck.exists() {
            log("this initrd has no e2fsck; not checking the root filesystem");
            return Ok(());
        }
        log(&format!("checking {dev}"));
        let st = Command::new(e2fsck).args(["-p", dev]).status().doing(|| "running e2fsck".into())?;
        match st.code() {
            Some(0) => Ok(()),
            Some(1) => {
                log("e2fsck corrected errors on the root filesystem");
                Ok(())
            }
            Some(2) | Some(3) => {
                log("e2fsck corrected errors and asks for a reboot");
                sys::reboot_now();
                Ok(())
            }
            status => Err(Error::Fsck { dev: dev.into(), status }),
        }
    }

    /// Opens a LUKS device: with its key file, or with a passphrase asked on the console (three
    /// tries). The passphrase goes to cryptsetup on stdin.
    fn unlock(&mut self, l: &LuksSpec) -> Result<()> {
        if Path::new("/dev/mapper").join(&l.name).exists() {
            return Ok(());
        }
        let (dev, _) = self.wait_for_device(&DeviceRef::parse(&l.device))?;
        let _ = std::fs::create_dir_all("/run/cryptsetup");
        let open = |key: &[u8], key_file: Option<&str>| -> Result<bool> {
            let mut c = Command::new("/sbin/cryptsetup");
            c.args(["open", "--type", "luks", &dev, &l.name]);
            if l.allow_discards {
                c.arg("--allow-discards");
            }
            match key_file {
                Some(f) => {
                    c.arg(format!("--key-file={f}"));
                }
                None => {
                    c.arg("--key-file=-");
                }
            }
            c.stdin(std::process::Stdio::piped());
            let mut child = c.spawn().doing(|| "running cryptsetup".into())?;
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(key);
            }
            Ok(child.wait().doing(|| "waiting for cryptsetup".into())?.success())
        };
        if let Some(f) = &l.key_file {
            if open(b"", Some(f))? {
                return Ok(());
            }
            log(&format!("the key file {f} does not open {dev}; asking for the passphrase"));
        }
        self.load_keymap();
        for attempt in 1..=3 {
            // Said on every console (a person at the screen does not see /dev/console's lines).
            let again = if attempt > 1 {
                format!("Wrong passphrase ({} of 3). ", attempt - 1)
            } else {
                String::new()
            };
            let pass = sys::read_secret(&format!("{again}Passphrase for {} ({dev}): ", l.name))
                .doing(|| "reading the passphrase".into())?;
            if open(&pass, None)? {
                log(&format!("{} opened", l.name));
                return Ok(());
            }
            log(&format!("wrong passphrase for {} ({attempt} of 3)", l.name));
        }
        Err(Error::Unlock { name: l.name.clone(), dev })
    }

    /// Loads the installed system's console keymap (once) before a passphrase is asked: busybox
    /// `loadkmap` sets the kernel's keymap, which every VT uses.
    fn load_keymap(&mut self) {
        let Some(name) = self.config.keymap.clone() else { return };
        if std::mem::replace(&mut self.keymap_loaded, true) {
            return;
        }
        let st = std::fs::File::open(initrd::config::KEYMAP_FILE)
            .and_then(|f| Command::new("/bin/busybox").arg("loadkmap").stdin(f).status());
        match st {
            Ok(s) if s.success() => log(&format!("keyboard layout {name}")),
            other => log(&format!("could not load the keyboard layout {name}: {other:?}")),
        }
    }

    /// Assembles the md arrays of the initrd's mdadm.conf (degraded ones too); run again while
    /// their members are still appearing.
    fn assemble_md(&mut self) {
        let st = run_with_timeout(Command::new("/sbin/mdadm").args(["--assemble", "--scan", "--run"]), 120);
        self.trace(&format!("mdadm --assemble --scan: {st:?}"));
    }

    /// Activates the logical volumes the root needs (all when the description names none) and
    /// makes their /dev nodes (no udev here). The rest is left to the installed system's udev.
    fn activate_lvm(&mut self) {
        let conf = "devices { obtain_device_list_from_udev = 0 } activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }";
        let mut cmd = Command::new("/sbin/lvm");
        if self.config.lvm_volumes.is_empty() {
            cmd.args(["vgchange", "-ay", "--sysinit", "--config", conf]);
        } else {
            cmd.args(["lvchange", "-ay", "--sysinit", "--config", conf]).args(&self.config.lvm_volumes);
        }
        let st = run_with_timeout(&mut cmd, 120);
        self.trace(&format!("lvm vgchange -ay: {st:?}"));
        let _ = run_with_timeout(Command::new("/sbin/lvm").args(["vgmknodes", "--config", conf]), 60);
        // /run moves into the installed system: leave no "already online" marks that would stop
        // its udev from autoactivating the other volumes.
        let _ = std::fs::remove_dir_all("/run/lvm");
    }

    /// RAID, LUKS and LVM under the root, in the order the root description gives.
    fn storage_chain(&mut self) -> Result<()> {
        let cfg = self.config.clone();
        if cfg.mdadm {
            for m in RAID_MODULES {
                self.load(m);
            }
            self.assemble_md();
        }
        if !cfg.luks.is_empty() {
            for m in LUKS_MODULES {
                self.load(m);
            }
        }
        for l in cfg.luks.iter().filter(|l| l.pre_lvm) {
            self.unlock(l)?;
        }
        if cfg.lvm {
            for m in LVM_MODULES {
                self.load(m);
            }
            self.activate_lvm();
        }
        for l in cfg.luks.iter().filter(|l| !l.pre_lvm) {
            self.unlock(l)?;
        }
        Ok(())
    }

    /// Starts loading the drivers the installer saw under the root (the disk's and its
    /// controller's, `Config::root_drivers`) and holds coldplug back for a moment: the root
    /// usually appears with them alone, and the other devices' drivers (AHCI probing empty ports,
    /// USB, sound) are left to the installed system's udev. Not when a passphrase may be asked for
    /// (a USB keyboard needs its drivers first), and not for a root the installer saw no driver
    /// of: then every device's driver loads at once, as it does after the moment.
    fn root_drivers_first(&mut self) {
        let tree = self.tree.as_ref();
        let names: Vec<String> = self
            .config
            .root_drivers
            .iter()
            .filter(|m| tree.is_some_and(|t| t.path_of(m).is_some()))
            .cloned()
            .collect();
        if names.is_empty() || !self.config.luks.is_empty() {
            return;
        }
        self.trace(&format!("the root's drivers first: {}", names.join(" ")));
        let started = self.start(&names);
        self.pending.extend(started);
        self.coldplug_after = Some(Instant::now() + ROOT_DRIVERS_ALONE);
    }

    fn boot_installed(&mut self, root: &RootSpec) -> Result<()> {
        self.root_drivers_first();
        self.storage_chain()?;
        let want = DeviceRef::parse(&root.device);
        let (dev, id) = self.wait_for_device(&want)?;
        let fs_type = match (root.fs_type.as_str(), &id) {
            ("auto", Some(i)) => i.fs_type.to_string(),
            (t, _) => t.to_string(),
        };
        log(&format!("root {want} on {dev} ({fs_type})"));
        if root.check {
            self.fsck(&dev, &fs_type)?;
        }
        self.mountable();
        let (flags, data) = mount_options(&root.options);
        let sysroot = Path::new("/sysroot");
        sys::mount(&dev, sysroot, &fs_type, flags, &data)
            .doing(|| format!("mounting {dev} ({fs_type}, {data:?}) on /sysroot"))?;
        if !stage1::sys::exists_in_root(sysroot, &self.cmd.init) {
            let _ = sys::umount(sysroot);
            return Err(Error::NotARoot { dev, init: self.cmd.init.clone() });
        }
        match stage1::udevdb::write(Path::new("/sys/block"), Path::new("/run/udev/data")) {
            Ok(n) => self.trace(&format!("udev records for {n} dm/md device(s)")),
            Err(e) => log(&format!("writing udev records for dm/md devices: {e}")),
        }
        self.switch(sysroot, "switching to the installed system")
    }

    fn switch(&mut self, root: &Path, what: &str) -> Result<()> {
        self.settle();
        for m in ["dev", "proc", "sys", "run"] {
            sys::move_mount(&Path::new("/").join(m), &root.join(m)).doing(|| format!("moving /{m}"))?;
        }
        log(what);
        Err(Error::SwitchRoot(sys::switch_root(root, &self.cmd.init)))
    }

    fn boot(&mut self) -> Result<()> {
        if self.cmd.live_label.is_none() && self.cmd.live_url.is_none() && !self.cmd.live_initrd {
            if let Some(root) = self.installed_root() {
                return self.boot_installed(&root);
            }
        }
        let squash = if self.cmd.live_initrd {
            let p = PathBuf::from("/live/filesystem.squashfs");
            if !p.exists() {
                return Err(Error::NoSquashfsInInitrd);
            }
            p
        } else if let Some(url) = self.cmd.live_url.clone() {
            self.fetch(&url)?
        } else {
            self.medium_squashfs()?
        };
        self.mount_root(&squash)
    }

    /// `findiso=/path/x.iso`: the ISO is a file on some filesystem; attach it and use it as the medium.
    fn findiso(&mut self, iso: &str) -> Result<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(self.cmd.timeout_secs);
        let host = Path::new("/run/installer/findiso");
        let mut tried = vec![];
        loop {
            self.coldplug();
            self.mountable();
            for name in Self::block_devices() {
                let dev = format!("/dev/{name}");
                let mounted = ["ext4", "vfat", "xfs", "btrfs", "iso9660"]
                    .iter()
                    .any(|fs| sys::mount(&dev, host, fs, libc::MS_RDONLY, "").is_ok());
                if !mounted {
                    continue;
                }
                let file = host.join(iso.trim_start_matches('/'));
                if file.is_file() {
                    log(&format!("found {iso} on {dev}"));
                    let lo = sys::loop_attach(&file).doing(|| format!("attaching {}", file.display()))?;
                    let medium = Path::new("/run/installer/medium");
                    sys::mount(&lo.to_string_lossy(), medium, "iso9660", libc::MS_RDONLY, "")
                        .doing(|| format!("mounting {iso}"))?;
                    let _ = std::fs::write("/run/installer/boot-device", format!("{dev}\n"));
                    let squash = medium.join("live/filesystem.squashfs");
                    return if squash.exists() {
                        Ok(squash)
                    } else {
                        Err(Error::NoSquashfs { on: iso.into() })
                    };
                }
                tried.push(dev);
                let _ = sys::umount(host);
            }
            if Instant::now() >= deadline {
                tried.sort();
                tried.dedup();
                return Err(Error::IsoNotFound { iso: iso.into(), tried: tried.join(", ") });
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// DHCP on every wired interface (busybox udhcpc), then an HTTP download into RAM.
    fn fetch(&mut self, url: &str) -> Result<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(self.cmd.timeout_secs);
        let mut ifaces = vec![];
        while ifaces.is_empty() {
            self.coldplug();
            ifaces = std::fs::read_dir("/sys/class/net")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n != "lo")
                .collect();
            if ifaces.is_empty() {
                if Instant::now() > deadline {
                    return Err(Error::NoNetwork);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        std::fs::write("/etc/udhcpc.script", UDHCPC_SCRIPT).doing(|| "writing /etc/udhcpc.script".into())?;
        let _ = std::fs::set_permissions(
            "/etc/udhcpc.script",
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        );
        let mut configured = false;
        for i in &ifaces {
            self.trace(&format!("DHCP on {i}"));
            let _ = Command::new("/bin/busybox").args(["ip", "link", "set", i, "up"]).status();
            let st = Command::new("/bin/busybox")
                .args(["udhcpc", "-i", i, "-s", "/etc/udhcpc.script", "-q", "-n", "-t", "10", "-T", "2"])
                .status();
            if st.is_ok_and(|s| s.success()) {
                configured = true;
                break;
            }
        }
        if !configured {
            return Err(Error::Dhcp { ifaces: ifaces.join(", ") });
        }
        let ram = Path::new("/run/installer/ram");
        mount_ram(ram)?;
        let dest = ram.join("filesystem.squashfs");
        log(&format!("downloading {url}"));
        let n = stage1::http::download(url, &dest)
            .map_err(|source| Error::Download { url: url.into(), source })?;
        log(&format!("downloaded {} MiB", n >> 20));
        Ok(dest)
    }

    fn medium_squashfs(&mut self) -> Result<PathBuf> {
        if let Some(iso) = self.cmd.findiso.clone() {
            return self.findiso(&iso);
        }
        let label = self.cmd.live_label.clone().ok_or(Error::NoLiveLabel)?;
        let dev = self.wait_for_medium(&label)?;
        log(&format!("live medium {label:?} on {dev}"));
        // The disk holding the medium: a partition's sysfs parent directory is its disk.
        let name = dev.trim_start_matches("/dev/");
        let disk = if Path::new(&format!("/sys/class/block/{name}/partition")).exists() {
            std::fs::read_link(format!("/sys/class/block/{name}"))
                .ok()
                .and_then(|p| p.parent()?.file_name().map(|d| format!("/dev/{}", d.to_string_lossy())))
                .unwrap_or_else(|| dev.clone())
        } else {
            dev.clone()
        };
        let medium = Path::new("/run/installer/medium");
        let fstype = {
            let mut f = std::fs::File::open(&dev).doing(|| format!("opening {dev}"))?;
            if probe::iso9660_volume_id(&mut f).is_some() {
                "iso9660"
            } else if probe::ext_label(&mut f).is_some() {
                "ext4"
            } else {
                "vfat"
            }
        };
        self.mountable();
        sys::mount(&dev, medium, fstype, libc::MS_RDONLY, "")
            .doing(|| format!("mounting {dev} ({fstype})"))?;
        std::fs::write("/run/installer/boot-device", format!("{disk}\n"))
            .doing(|| "writing /run/installer/boot-device".into())?;
        let mut squash = medium.join("live/filesystem.squashfs");
        if !squash.exists() {
            return Err(Error::NoSquashfs { on: dev });
        }
        if self.cmd.copytoram {
            log("copying the live system to RAM");
            let ram = Path::new("/run/installer/ram");
            mount_ram(ram)?;
            let dest = ram.join("filesystem.squashfs");
            std::fs::copy(&squash, &dest).doing(|| "copying the squashfs to RAM".into())?;
            squash = dest;
        }
        Ok(squash)
    }

    /// Puts the kernel where the live root's `/boot/vmlinuz-<version>` link points
    /// ([`initrd::config::LIVE_KERNEL`]): a link to the medium's while the medium stays mounted,
    /// else a copy of it or of the netboot initrd's (8 MiB of RAM; the initrd is freed at the
    /// switch). Without one the live system runs, but `installer install` finds no kernel.
    fn provide_kernel(&self) {
        let dest = Path::new(initrd::config::LIVE_KERNEL);
        let on_medium = Path::new("/run/installer/medium/boot/vmlinuz");
        let in_initrd = Path::new("/boot/vmlinuz");
        // Again after a failed attempt (boot.shell_on_fail): replace what the last one left.
        let _ = std::fs::remove_file(dest);
        let done = if on_medium.is_file() && !self.cmd.copytoram {
            std::os::unix::fs::symlink(on_medium, dest)
        } else if on_medium.is_file() {
            std::fs::copy(on_medium, dest).map(drop)
        } else if in_initrd.is_file() {
            std::fs::copy(in_initrd, dest).map(drop)
        } else {
            log("no kernel on the medium or in the initrd: `installer install` will find none");
            return;
        };
        if let Err(e) = done {
            log(&format!("handing the kernel to the live system: {e}"));
        }
    }

    fn mount_root(&mut self, squash: &Path) -> Result<()> {
        self.provide_kernel();
        self.mountable();
        let lo = sys::loop_attach(squash).doing(|| format!("attaching {}", squash.display()))?;
        let lower = Path::new("/run/installer/squashfs");
        sys::mount(&lo.to_string_lossy(), lower, "squashfs", libc::MS_RDONLY, "")
            .doing(|| "mounting the squashfs".into())?;
        let medium = Path::new("/run/installer/medium");
        if self.cmd.copytoram && medium.join("live").exists() {
            sys::umount(medium).doing(|| "releasing the medium".into())?;
            let _ = std::fs::write("/run/installer/boot-device", "");
        }
        let rw = Path::new("/run/installer/overlay");
        sys::mount("tmpfs", rw, "tmpfs", 0, "mode=0755")
            .doing(|| format!("mounting a tmpfs on {}", rw.display()))?;
        for d in ["upper", "work"] {
            std::fs::create_dir_all(rw.join(d)).doing(|| format!("creating {}", rw.join(d).display()))?;
        }
        let root = Path::new("/sysroot");
        sys::mount(
            "overlay",
            root,
            "overlay",
            0,
            &format!(
                "lowerdir={},upperdir={}/upper,workdir={}/work",
                lower.display(),
                rw.display(),
                rw.display()
            ),
        )
        .doing(|| "mounting the overlay".into())?;
        self.switch(root, "switching to the live system")
    }
}

/// The tmpfs a squashfs is put into, capped at all of the memory but a reserve.
fn mount_ram(ram: &Path) -> Result<()> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    sys::mount("tmpfs", ram, "tmpfs", 0, &sys::ram_tmpfs_options(&meminfo))
        .doing(|| format!("mounting a tmpfs on {}", ram.display()))
}

/// Runs a tool with stdin detached, killing it after `secs`.
fn run_with_timeout(cmd: &mut Command, secs: u64) -> Result<std::process::ExitStatus> {
    let mut child = cmd.stdin(std::process::Stdio::null()).spawn().doing(|| format!("running {cmd:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().doing(|| format!("waiting for {cmd:?}"))? {
            return Ok(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Timeout { cmd: format!("{cmd:?}"), secs });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const UDHCPC_SCRIPT: &str = "#!/bin/sh\ncase \"$1\" in\n  bound|renew)\n    /bin/busybox ifconfig \"$interface\" \"$ip\" netmask \"${subnet:-255.255.255.0}\" up\n    for r in $router; do /bin/busybox route add default gw \"$r\" dev \"$interface\"; break; done\n    : > /etc/resolv.conf; for d in $dns; do echo \"nameserver $d\" >> /etc/resolv.conf; done\n    ;;\nesac\nexit 0\n";

fn shell(reason: &str) {
    log(&format!("{reason}; starting a shell (exit it to continue)"));
    let _ = Command::new("/bin/busybox").args(["setsid", "/bin/busybox", "cttyhack", "/bin/sh"]).status();
}

fn main() {
    // Not PID 1: the live system runs this binary as its HTTP(S) client (`stage1 fetch`, `post`).
    let args: Vec<String> = std::env::args().collect();
    if std::process::id() != 1 {
        match args.get(1).map(String::as_str) {
            Some("fetch") => std::process::exit(stage1::http::fetch_command(&args[2..])),
            Some("post") => std::process::exit(stage1::http::post_command(&args[2..])),
            _ => {}
        }
    }
    let _ = sys::mount("proc", Path::new("/proc"), "proc", 0, "");
    let _ = sys::mount("sysfs", Path::new("/sys"), "sysfs", 0, "");
    let _ = sys::mount("devtmpfs", Path::new("/dev"), "devtmpfs", 0, "mode=0755");
    let _ = sys::mount("tmpfs", Path::new("/run"), "tmpfs", 0, "mode=0755");
    let _ = std::fs::create_dir_all("/run/installer");
    let cmd = Cmdline::parse(&std::fs::read_to_string("/proc/cmdline").unwrap_or_default());
    if cmd.debug1 {
        shell("boot.debug1: before loading any module");
    }
    let kver = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let mdir = Path::new("/lib/modules").join(&kver);
    let config: Config = std::fs::read_to_string("/etc/stage1.json")
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut s = Stage1 {
        tree: ModuleTree::open(&mdir).ok(),
        aliases: std::fs::read_to_string(mdir.join("modules.alias"))
            .map(|t| modalias::parse_aliases(&t))
            .unwrap_or_default(),
        cmd,
        config,
        loaded: vec![],
        pending: vec![],
        first: vec![],
        coldplug_after: None,
        keymap_loaded: false,
    };
    if s.tree.is_none() {
        log(&format!("no modules for kernel {kver} in this initrd"));
    }
    // Started, not waited for: coldplug looks for the devices while they load.
    let first: Vec<String> = s.config.modules.iter().chain(s.cmd.modules.iter()).cloned().collect();
    // Each name on its own: one the initrd lacks must not hide the others from `mountable`.
    if let Some(t) = &s.tree {
        s.first = first.iter().filter_map(|n| t.resolve(&[n.as_str()]).ok()).flatten().collect();
    }
    let started = s.start(&first);
    s.pending.extend(started);
    loop {
        let err = match s.boot() {
            Ok(()) => return,
            Err(e) => e,
        };
        log(&format!("error: {err}"));
        if s.cmd.panic_on_fail {
            log("boot.panic_on_fail: giving up");
            std::process::exit(1);
        }
        if s.cmd.shell_on_fail {
            shell("boot.shell_on_fail");
            continue;
        }
        log("add boot.shell_on_fail to the kernel command line for a shell here; rebooting in 30 seconds");
        std::thread::sleep(Duration::from_secs(30));
        sys::reboot_now();
    }
}
