//! A QEMU machine for tests: builder, process lifecycle, console, QMP and the agent channel.

use std::fs::File;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{json, Value};

use crate::accel::Accel;
use crate::agent::{AgentConn, Output, PORT_NAME};
use crate::console::{Console, WaitOutcome};
use crate::error::{Error, IoContext, Result};
use crate::http::HttpServer;
use crate::qmp::{key_combo, qcodes_for_char, Qmp};
use crate::slots::{self, Slot};

pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS.
    Bios,
    /// OVMF, with a private copy of the variable store per machine.
    Uefi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskInterface {
    Virtio,
    /// SATA on the q35 machine's AHCI controller.
    Sata,
    Nvme,
    /// usb-storage on an xHCI controller.
    Usb,
    /// scsi-hd on a virtio-scsi controller.
    Scsi,
}

impl std::str::FromStr for DiskInterface {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "virtio" => DiskInterface::Virtio,
            "sata" | "ahci" => DiskInterface::Sata,
            "nvme" => DiskInterface::Nvme,
            "usb" => DiskInterface::Usb,
            "scsi" | "virtio-scsi" => DiskInterface::Scsi,
            _ => return Err(format!("unknown disk interface {s:?} (virtio, sata, nvme, usb, scsi)")),
        })
    }
}

#[derive(Debug, Clone)]
enum DiskSource {
    /// A fresh, empty qcow2 in the machine's state directory.
    NewQcow2 { size: u64 },
    /// A qcow2 overlay on a backing file (which is never written).
    Overlay { backing: PathBuf },
    /// An existing image used as it is (written in place unless read-only).
    File { path: PathBuf, format: String },
}

/// A disk to attach. Build with [`Disk::new_qcow2`], [`Disk::overlay`] or [`Disk::file`].
#[derive(Debug, Clone)]
pub struct Disk {
    source: DiskSource,
    interface: DiskInterface,
    serial: Option<String>,
    bootindex: Option<u32>,
    id: Option<String>,
    readonly: bool,
}

impl Disk {
    fn with(source: DiskSource) -> Self {
        Disk {
            source,
            interface: DiskInterface::Virtio,
            serial: None,
            bootindex: None,
            id: None,
            readonly: false,
        }
    }
    /// An empty qcow2 of `size` bytes, created by the harness (sparse).
    pub fn new_qcow2(size: u64) -> Self {
        Self::with(DiskSource::NewQcow2 { size })
    }
    /// A qcow2 overlay whose backing file is `backing`: writes go to the overlay only.
    pub fn overlay(backing: impl Into<PathBuf>) -> Self {
        Self::with(DiskSource::Overlay { backing: backing.into() })
    }
    /// An existing image file, `format` as qemu names it (`raw`, `qcow2`, `vmdk`...).
    pub fn file(path: impl Into<PathBuf>, format: &str) -> Self {
        Self::with(DiskSource::File { path: path.into(), format: format.to_string() })
    }
    pub fn interface(mut self, i: DiskInterface) -> Self {
        self.interface = i;
        self
    }
    pub fn serial(mut self, s: &str) -> Self {
        self.serial = Some(s.to_string());
        self
    }
    pub fn bootindex(mut self, i: u32) -> Self {
        self.bootindex = Some(i);
        self
    }
    /// The QEMU device id (used by [`Machine::set_boot_index`] and [`Machine::disk_path`]).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_string());
        self
    }
    pub fn readonly(mut self) -> Self {
        self.readonly = true;
        self
    }
}

/// User-mode networking with optional TFTP/PXE, port forwards and the host HTTP helper.
#[derive(Debug, Clone, Default)]
pub struct Net {
    tftp: Option<PathBuf>,
    bootfile: Option<String>,
    forwards: Vec<u16>,
    http_dir: Option<PathBuf>,
    bootindex: Option<u32>,
}

impl Net {
    pub fn user() -> Self {
        Self::default()
    }
    /// Serve `dir` over QEMU's built-in TFTP server and hand out `bootfile` by DHCP (PXE).
    pub fn tftp(mut self, dir: impl Into<PathBuf>, bootfile: &str) -> Self {
        self.tftp = Some(dir.into());
        self.bootfile = Some(bootfile.to_string());
        self
    }
    /// Forward a free host port on 127.0.0.1 to `guest_port` (see [`Machine::forwarded_port`]).
    pub fn forward(mut self, guest_port: u16) -> Self {
        self.forwards.push(guest_port);
        self
    }
    /// Serve `dir` over HTTP on the host, reachable from the guest (see [`Machine::http_url`]).
    pub fn http_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.http_dir = Some(dir.into());
        self
    }
    /// Boot from the network card (PXE) with this boot index.
    pub fn bootindex(mut self, i: u32) -> Self {
        self.bootindex = Some(i);
        self
    }
}

/// The machine's configuration; [`MachineBuilder::build`] makes a stopped [`Machine`].
#[derive(Debug, Clone)]
pub struct MachineBuilder {
    name: String,
    memory_mib: u32,
    cpus: u32,
    firmware: Firmware,
    kernel: Option<(PathBuf, Option<PathBuf>, String)>,
    cdrom: Option<Option<PathBuf>>,
    cdrom_bootindex: Option<u32>,
    disks: Vec<Disk>,
    net: Option<Net>,
    smbios: Vec<String>,
    extra_args: Vec<String>,
    echo_console: bool,
    accel: Option<Accel>,
    agent_timeout: Duration,
    command_timeout: Duration,
    /// Boot once, resume many times: see [`MachineBuilder::resume_after`].
    resume: Option<(String, Duration)>,
    /// A guest command run once before the state is saved (see [`MachineBuilder::before_save`]).
    before_save: Option<(String, Duration)>,
    /// Press Enter at boot-loader menus on the serial console (see [`MachineBuilder::skip_boot_menus`]).
    skip_boot_menus: bool,
    /// Empty PCIe root ports for [`Machine::hotplug_disk`].
    hotplug_ports: u32,
    /// QEMU's own machine and default devices (see [`MachineBuilder::qemu_defaults`]).
    qemu_defaults: bool,
}

impl MachineBuilder {
    /// Boot once, resume many times: the first machine of this exact configuration in a run boots
    /// until `ready` (a console regex) appears and its agent answers, and its state (memory,
    /// devices, disks) is saved under `<VM_HARNESS_DIR>/saved/`; it and every later machine of the
    /// same configuration start from that state instead of booting. Only machines whose disks are
    /// all new and blank are resumed (others boot as usual). The resumed machine's serial log
    /// begins with the saved boot's output, so waits for what that boot printed succeed; its clock
    /// is set to the host's. A later `start()` (after `shutdown`/`crash`) boots as usual.
    pub fn resume_after(mut self, ready: &str, boot_timeout: Duration) -> Self {
        self.resume = Some((ready.to_string(), boot_timeout));
        self
    }

    /// Boots this machine even when it was built to resume (see [`MachineBuilder::resume_after`]):
    /// for a machine whose devices differ from every other's (a NIC, its own SMBIOS), whose saved
    /// boot no other machine would resume, so that saving it would only cost time.
    pub fn boot_without_saving(mut self) -> Self {
        self.resume = None;
        self.before_save = None;
        self
    }

    /// For [`MachineBuilder::resume_after`]: a guest command that must succeed (within `timeout`)
    /// after the boot is ready and before its state is saved, e.g. one that reads what every
    /// resumed machine will read, so that they find it in the page cache. It is part of the saved
    /// state's identity; the boot's time to ready (the calibration's figure) does not include it.
    pub fn before_save(mut self, cmd: &str, timeout: Duration) -> Self {
        self.before_save = Some((cmd.to_string(), timeout));
        self
    }

    /// Whether the harness presses Enter when a GRUB or systemd-boot menu shows on the serial
    /// console (on by default: each menu otherwise waits out its timeout, 5 s on an installed
    /// system). Turn it off to look at or drive a menu.
    pub fn skip_boot_menus(mut self, on: bool) -> Self {
        self.skip_boot_menus = on;
        self
    }

    /// Adds `n` empty PCIe root ports that disks can be plugged into while the machine runs
    /// ([`Machine::hotplug_disk`]).
    pub fn hotplug_ports(mut self, n: u32) -> Self {
        self.hotplug_ports = n;
        self
    }

    /// Plain QEMU, as a person starts it with `-cdrom`: the `pc` machine with its default devices
    /// (a floppy drive, the CD on the IDE bus as `ide1-cd0`, an e1000 NIC on user networking, the
    /// standard VGA) instead of a q35 machine with only the devices asked for; `-boot d` when the
    /// CD boots first. Disks and the harness's own channels are added as usual.
    pub fn qemu_defaults(mut self) -> Self {
        self.qemu_defaults = true;
        self
    }

    pub fn memory_mib(mut self, m: u32) -> Self {
        self.memory_mib = m;
        self
    }
    pub fn cpus(mut self, n: u32) -> Self {
        self.cpus = n;
        self
    }
    pub fn firmware(mut self, f: Firmware) -> Self {
        self.firmware = f;
        self
    }
    pub fn uefi(self) -> Self {
        self.firmware(Firmware::Uefi)
    }
    /// Direct kernel boot.
    pub fn kernel(mut self, kernel: impl Into<PathBuf>, initrd: Option<PathBuf>, append: &str) -> Self {
        self.kernel = Some((kernel.into(), initrd, append.to_string()));
        self
    }
    /// A CD-ROM drive holding `iso` (SATA, device id `cd0`).
    pub fn cdrom(mut self, iso: impl Into<PathBuf>) -> Self {
        self.cdrom = Some(Some(iso.into()));
        self
    }
    /// An empty CD-ROM drive (a medium can be inserted later).
    pub fn empty_cdrom(mut self) -> Self {
        self.cdrom = Some(None);
        self
    }
    pub fn cdrom_bootindex(mut self, i: u32) -> Self {
        self.cdrom_bootindex = Some(i);
        self
    }
    pub fn disk(mut self, d: Disk) -> Self {
        self.disks.push(d);
        self
    }
    pub fn net(mut self, n: Net) -> Self {
        self.net = Some(n);
        self
    }
    /// An SMBIOS entry as QEMU's `-smbios` takes it, e.g. `type=1,manufacturer=...`.
    pub fn smbios(mut self, entry: &str) -> Self {
        self.smbios.push(entry.to_string());
        self
    }
    /// Presents the machine as a VirtualBox guest (system manufacturer and product).
    pub fn virtualbox_smbios(self) -> Self {
        self.smbios("type=1,manufacturer=innotek GmbH,product=VirtualBox,version=1.2")
            .smbios("type=2,manufacturer=Oracle Corporation,product=VirtualBox")
    }
    pub fn extra_args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }
    /// Copy console output to our stdout as it arrives (for the interactive CLI).
    pub fn echo_console(mut self, on: bool) -> Self {
        self.echo_console = on;
        self
    }
    pub fn accel(mut self, a: Accel) -> Self {
        self.accel = Some(a);
        self
    }
    /// How long the first command waits for the agent to answer (default 300 s).
    pub fn agent_timeout(mut self, t: Duration) -> Self {
        self.agent_timeout = t;
        self
    }
    /// Default timeout of one command (default 600 s).
    pub fn command_timeout(mut self, t: Duration) -> Self {
        self.command_timeout = t;
        self
    }

    /// Creates the state and log directories and the disks; does not start QEMU.
    pub fn build(self) -> Result<Machine> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let unique = format!("{}-{}-{}", self.name, std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        // Unix socket paths are limited to 108 bytes: keep state in a short temporary directory.
        let state = tempfile::Builder::new()
            .prefix("vmh-")
            .tempdir()
            .ctx(|| "creating machine state directory".into())?;
        let log_dir = crate::base_dir().join("logs").join(&unique);
        std::fs::create_dir_all(&log_dir).ctx(|| format!("creating {}", log_dir.display()))?;
        let console = Console::new(log_dir.join("serial.log"));
        let mut disk_paths = Vec::new();
        for (i, d) in self.disks.iter().enumerate() {
            disk_paths.push(make_disk(state.path(), i, d)?);
        }
        if self.firmware == Firmware::Uefi {
            std::fs::copy(OVMF_VARS, state.path().join("OVMF_VARS.fd"))
                .ctx(|| format!("copying {OVMF_VARS} (is the ovmf package installed?)"))?;
        }
        let http = match self.net.as_ref().and_then(|n| n.http_dir.as_ref()) {
            Some(dir) => Some(HttpServer::serve_dir(dir)?),
            None => None,
        };
        let forwards = match &self.net {
            Some(n) => n.forwards.iter().map(|g| Ok((*g, free_port()?))).collect::<Result<Vec<_>>>()?,
            None => vec![],
        };
        tracing::info!(machine = %self.name, logs = %log_dir.display(), "machine created");
        Ok(Machine {
            cdrom: self.cdrom.clone().flatten(),
            cfg: self,
            state,
            log_dir,
            console,
            disk_paths,
            http,
            forwards,
            running: None,
            started_once: false,
            saved_boot_secs: None,
            saved_before_save_secs: None,
            hotplugged: 0,
        })
    }

    /// Builds and starts the machine.
    pub fn start(self) -> Result<Machine> {
        let mut m = self.build()?;
        m.start()?;
        Ok(m)
    }
}

/// Creates disk `i`'s file in the state directory (new or overlay) or names the given file; returns
/// the path and QEMU's format name.
fn make_disk(state: &Path, i: usize, d: &Disk) -> Result<(PathBuf, String)> {
    Ok(match &d.source {
        DiskSource::NewQcow2 { size } => {
            let p = state.join(format!("disk{i}.qcow2"));
            qemu_img(&["create", "-q", "-f", "qcow2"], &[p.as_os_str(), size.to_string().as_ref()])?;
            (p, "qcow2".to_string())
        }
        DiskSource::Overlay { backing } => {
            let p = state.join(format!("disk{i}.qcow2"));
            let backing =
                std::fs::canonicalize(backing).ctx(|| format!("backing file {}", backing.display()))?;
            let fmt = detect_format(&backing)?;
            qemu_img(
                &["create", "-q", "-f", "qcow2", "-F", &fmt, "-b"],
                &[backing.as_os_str(), p.as_os_str()],
            )?;
            (p, "qcow2".to_string())
        }
        DiskSource::File { path, format } => (path.clone(), format.clone()),
    })
}

fn qemu_img(args: &[&str], paths: &[&std::ffi::OsStr]) -> Result<()> {
    let out = Command::new("qemu-img")
        .args(args)
        .args(paths)
        .output()
        .ctx(|| "running qemu-img (is qemu-utils installed?)".into())?;
    if !out.status.success() {
        return Err(Error::Setup(format!(
            "qemu-img {args:?} {paths:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

fn detect_format(path: &Path) -> Result<String> {
    let mut magic = [0u8; 4];
    use std::io::Read;
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .ctx(|| format!("reading {}", path.display()))?;
    Ok(match (n, &magic) {
        (4, b"QFI\xfb") => "qcow2",
        (4, b"KDMV") => "vmdk",
        _ => "raw",
    }
    .to_string())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").ctx(|| "finding a free port".into())?;
    Ok(l.local_addr().ctx(|| "finding a free port".into())?.port())
}

/// QEMU's option syntax doubles commas inside values.
fn esc(s: &str) -> String {
    s.replace(',', ",,")
}

fn esc_path(p: &Path) -> String {
    esc(&p.to_string_lossy())
}

#[derive(Debug)]
struct Running {
    child: Child,
    qmp: Qmp,
    serial: UnixStream,
    agent: Option<AgentConn>,
    _slot: Slot,
    started: Instant,
    /// For the timing records: the machine's name, and whether this boot was seen ready.
    name: String,
    /// Seconds from start to ready, once seen.
    ready: Option<f64>,
}

impl Running {
    fn mark_ready(&mut self) {
        if self.ready.is_none() {
            let secs = self.started.elapsed().as_secs_f64();
            self.ready = Some(secs);
            crate::timing::record(&self.name, "ready", secs);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        crate::timing::record(&self.name, "stop", self.started.elapsed().as_secs_f64());
    }
}

/// A test machine. Dropping it kills QEMU and deletes its disks; its logs stay.
#[derive(Debug)]
pub struct Machine {
    cfg: MachineBuilder,
    state: tempfile::TempDir,
    log_dir: PathBuf,
    console: Console,
    disk_paths: Vec<(PathBuf, String)>,
    http: Option<HttpServer>,
    forwards: Vec<(u16, u16)>,
    cdrom: Option<PathBuf>,
    running: Option<Running>,
    started_once: bool,
    /// How long the boot took that saved the state this machine started from (see
    /// [`Machine::saved_boot_secs`]).
    saved_boot_secs: Option<f64>,
    /// How long that boot's [`MachineBuilder::before_save`] command took.
    saved_before_save_secs: Option<f64>,
    /// Disks plugged in while running (each takes the next root port).
    hotplugged: u32,
}

/// Starts describing a machine called `name` (used in logs and errors).
pub fn machine(name: &str) -> MachineBuilder {
    MachineBuilder {
        name: name.to_string(),
        memory_mib: 512,
        // What every machine people install on has: several CPUs (a LUKS2 header formatted on
        // one has as many Argon2 threads; with one CPU such bugs hide).
        cpus: 2,
        firmware: Firmware::Bios,
        kernel: None,
        cdrom: None,
        cdrom_bootindex: None,
        disks: vec![],
        net: None,
        smbios: vec![],
        extra_args: vec![],
        echo_console: false,
        accel: None,
        agent_timeout: Duration::from_secs(300),
        command_timeout: Duration::from_secs(600),
        resume: None,
        before_save: None,
        skip_boot_menus: true,
        hotplug_ports: 0,
        qemu_defaults: false,
    }
}

impl Machine {
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    pub fn serial_log(&self) -> &Path {
        self.console.log_path()
    }

    /// Everything the serial console printed so far (all boots of this machine), as text.
    pub fn serial_text(&self) -> Result<String> {
        let path = self.serial_log();
        let data = std::fs::read(path).ctx(|| format!("reading {}", path.display()))?;
        Ok(String::from_utf8_lossy(&data).into_owned())
    }

    /// The serial console as a terminal shows it: everything printed since the machine started,
    /// played through a `rows`x`cols` terminal emulator (for full-screen programs such as the
    /// installer's TUI). Lines are trimmed at the end.
    pub fn serial_screen(&self, rows: u16, cols: u16) -> Result<String> {
        let path = self.serial_log();
        let data = std::fs::read(path).ctx(|| format!("reading {}", path.display()))?;
        Ok(terminal_screen(&data, rows, cols))
    }

    /// Reads a screen with `read` every `every` until `regex` matches it (returns it) or `timeout`
    /// passes (returns the last screen as the error). The waits on screens share it.
    fn poll_screen(
        &mut self,
        re: &Regex,
        timeout: Duration,
        every: Duration,
        mut read: impl FnMut(&mut Self) -> Result<String>,
    ) -> Result<std::result::Result<String, String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = read(self)?;
            if re.is_match(&screen) {
                return Ok(Ok(screen));
            }
            if Instant::now() >= deadline {
                return Ok(Err(screen));
            }
            std::thread::sleep(every);
        }
    }

    /// Waits until the serial console's screen (see [`Machine::serial_screen`], 24x80) matches
    /// `regex`; returns the screen.
    pub fn wait_for_screen(&mut self, regex: &str, timeout: Duration) -> Result<String> {
        let re = regex_of(regex)?;
        let read = |m: &mut Self| {
            let screen = m.serial_screen(24, 80)?;
            // The last screen of a machine that has gone may still be the one waited for.
            if !re.is_match(&screen) {
                if let Some(status) = m.running()?.child.try_wait().ok().flatten() {
                    return Err(
                        m.not_running(format!("exited while waiting for screen /{regex}/: {status:?}"))
                    );
                }
            }
            Ok(screen)
        };
        match self.poll_screen(&re, timeout, Duration::from_millis(300), read)? {
            Ok(screen) => {
                if let Some(r) = &mut self.running {
                    r.mark_ready();
                }
                Ok(screen)
            }
            Err(screen) => {
                tracing::warn!("screen at timeout:\n{screen}");
                Err(self.timeout(format!("screen text /{regex}/ (screen:\n{screen})"), timeout))
            }
        }
    }

    /// The text of the Linux virtual terminal `vt` (`/dev/vcsaN`, read by the agent itself: no
    /// process in the guest, which matters while a test waits on the screen through a long
    /// install): what the console shows there, under UEFI too, where the firmware's framebuffer
    /// leaves no VGA text buffer to read. Characters outside ASCII (line drawing) read as spaces;
    /// lines are trimmed.
    pub fn vt_text(&mut self, vt: u8) -> Result<String> {
        let t = self.cfg.command_timeout;
        let name = self.cfg.name.clone();
        let path = format!("/dev/vcsa{vt}");
        let data = self
            .agent()?
            .get(&path, t)?
            .map_err(|e| Error::Agent { machine: name.clone(), message: format!("reading {path}: {e}") })?;
        vcsa_text(&data)
            .ok_or_else(|| Error::Setup(format!("{name}: {path} has no screen: {} bytes", data.len())))
    }

    /// Every cell of virtual terminal `vt` as Unicode (`/dev/vcsu<vt>`, its size from
    /// `/dev/vcsa<vt>`): a line per row, not trimmed, box drawing and all. What a person sees on
    /// the screen, to compare with what a program meant to show.
    pub fn vt_cells(&mut self, vt: u8) -> Result<Vec<String>> {
        let t = self.cfg.command_timeout;
        let name = self.cfg.name.clone();
        let read = |m: &mut Self, path: String| -> Result<Vec<u8>> {
            m.agent()?
                .get(&path, t)?
                .map_err(|e| Error::Agent { machine: name.clone(), message: format!("reading {path}: {e}") })
        };
        let attrs = read(self, format!("/dev/vcsa{vt}"))?;
        let cells = read(self, format!("/dev/vcsu{vt}"))?;
        vcsu_lines(&attrs, &cells).ok_or_else(|| {
            Error::Setup(format!(
                "{}: vt{vt}: {} bytes of vcsa, {} of vcsu",
                self.cfg.name,
                attrs.len(),
                cells.len()
            ))
        })
    }

    /// Waits until virtual terminal `vt` (see [`Machine::vt_text`]) matches `regex`; returns it.
    pub fn wait_for_vt_text(&mut self, vt: u8, regex: &str, timeout: Duration) -> Result<String> {
        match self.poll_screen(&regex_of(regex)?, timeout, Duration::from_millis(700), |m| m.vt_text(vt))? {
            Ok(screen) => Ok(screen),
            Err(screen) => Err(self.timeout(format!("vt{vt} text /{regex}/ (screen:\n{screen})"), timeout)),
        }
    }

    pub fn console(&self) -> &Console {
        &self.console
    }

    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// The image file behind disk number `index` (in the order they were added).
    pub fn disk_path(&self, index: usize) -> Option<&Path> {
        self.disk_paths.get(index).map(|(p, _)| p.as_path())
    }

    /// URL of the host HTTP helper as the guest sees it.
    pub fn http_url(&self) -> Option<String> {
        self.http.as_ref().map(HttpServer::guest_url)
    }

    /// The host port forwarded to `guest_port`.
    pub fn forwarded_port(&self, guest_port: u16) -> Option<u16> {
        self.forwards.iter().find(|(g, _)| *g == guest_port).map(|(_, h)| *h)
    }

    /// The full QEMU command line (without the program name) for the current configuration.
    /// The disks' drives and devices, controllers added as the first disk needing one comes;
    /// returns the SATA ports used.
    fn disk_args(&self, a: &mut Vec<String>) -> usize {
        let cfg = &self.cfg;
        let mut sata_port = 0;
        let mut have_xhci = false;
        let mut have_scsi = false;
        for (i, d) in cfg.disks.iter().enumerate() {
            let (path, format) = &self.disk_paths[i];
            let id = d.id.clone().unwrap_or_else(|| format!("disk{i}"));
            let ro = if d.readonly { ",readonly=on" } else { "" };
            a.push("-drive".into());
            a.push(format!(
                "if=none,id={id}-drv,file={},format={format},cache=writeback,discard=unmap{ro}",
                esc_path(path)
            ));
            let mut dev = match d.interface {
                DiskInterface::Virtio => format!("virtio-blk-pci,drive={id}-drv,id={id}"),
                DiskInterface::Sata => {
                    sata_port += 1;
                    format!("ide-hd,drive={id}-drv,id={id},bus=ide.{}", sata_port - 1)
                }
                DiskInterface::Nvme => format!("nvme,drive={id}-drv,id={id}"),
                DiskInterface::Usb => {
                    if !have_xhci {
                        a.extend(["-device".into(), "qemu-xhci,id=xhci".into()]);
                        have_xhci = true;
                    }
                    format!("usb-storage,bus=xhci.0,drive={id}-drv,id={id},removable=on")
                }
                DiskInterface::Scsi => {
                    if !have_scsi {
                        a.extend(["-device".into(), "virtio-scsi-pci,id=scsi0".into()]);
                        have_scsi = true;
                    }
                    format!("scsi-hd,bus=scsi0.0,drive={id}-drv,id={id}")
                }
            };
            let serial = match (&d.serial, d.interface) {
                (Some(s), _) => Some(s.clone()),
                (None, DiskInterface::Nvme) => Some(format!("nvme{i}")),
                _ => None,
            };
            if let Some(sn) = serial {
                dev.push_str(&format!(",serial={}", esc(&sn)));
            }
            if let Some(b) = d.bootindex {
                dev.push_str(&format!(",bootindex={b}"));
            }
            a.extend(["-device".into(), dev]);
        }
        sata_port
    }

    pub fn qemu_args(&self, accel: Accel) -> Vec<String> {
        let s = self.state.path();
        let cfg = &self.cfg;
        let mut a: Vec<String> = vec![];
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        if cfg.qemu_defaults {
            push(&["-name", &esc(&cfg.name), "-M", "pc", "-no-user-config"]);
        } else {
            push(&["-name", &esc(&cfg.name), "-M", "q35", "-nodefaults", "-no-user-config"]);
        }
        push(&["-m", &cfg.memory_mib.to_string(), "-smp", &cfg.cpus.to_string()]);
        push(&["-display", "none", "-vga", "std"]);
        // The serial socket comes first and waits for us, so no early output is lost.
        let ser = format!("socket,id=ser0,path={},server=on,wait=on", esc_path(&s.join("serial.sock")));
        push(&["-chardev", &ser, "-serial", "chardev:ser0"]);
        let qmp = format!("socket,id=qmp0,path={},server=on,wait=off", esc_path(&s.join("qmp.sock")));
        push(&["-chardev", &qmp, "-mon", "chardev=qmp0,mode=control"]);
        let agent = format!("socket,id=agent0,path={},server=on,wait=off", esc_path(&s.join("agent.sock")));
        push(&["-device", "virtio-serial-pci,id=vser0", "-chardev", &agent]);
        push(&["-device", &format!("virtserialport,bus=vser0.0,chardev=agent0,name={PORT_NAME}")]);
        let mut a2 = accel.qemu_args();
        a.append(&mut a2);
        if cfg.firmware == Firmware::Uefi {
            a.push("-drive".into());
            a.push(format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"));
            a.push("-drive".into());
            a.push(format!("if=pflash,format=raw,unit=1,file={}", esc_path(&s.join("OVMF_VARS.fd"))));
        }
        if let Some((kernel, initrd, append)) = &cfg.kernel {
            a.extend(["-kernel".into(), kernel.to_string_lossy().into_owned()]);
            if let Some(i) = initrd {
                a.extend(["-initrd".into(), i.to_string_lossy().into_owned()]);
            }
            a.extend(["-append".into(), append.clone()]);
        }
        let sata_port = self.disk_args(&mut a);
        if let (true, Some(_)) = (cfg.qemu_defaults, &cfg.cdrom) {
            if let Some(p) = &self.cdrom {
                a.extend(["-cdrom".into(), p.to_string_lossy().into_owned()]);
            }
            if cfg.cdrom_bootindex.is_some() {
                a.extend(["-boot".into(), "d".into()]);
            }
        } else if let Some(cd) = &cfg.cdrom {
            let file = match (&self.cdrom, cd) {
                (Some(p), _) => format!(",format=raw,file={}", esc_path(p)),
                _ => String::new(),
            };
            a.push("-drive".into());
            a.push(format!("if=none,id=cd0-drv,media=cdrom,readonly=on{file}"));
            let mut dev = format!("ide-cd,drive=cd0-drv,id=cd0,bus=ide.{}", sata_port.max(4));
            if let Some(b) = cfg.cdrom_bootindex {
                dev.push_str(&format!(",bootindex={b}"));
            }
            a.extend(["-device".into(), dev]);
        }
        if let Some(n) = &cfg.net {
            let mut nd = "user,id=net0".to_string();
            if let Some(t) = &n.tftp {
                nd.push_str(&format!(",tftp={}", esc_path(t)));
            }
            if let Some(b) = &n.bootfile {
                nd.push_str(&format!(",bootfile={}", esc(b)));
            }
            for (guest, host) in &self.forwards {
                nd.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
            }
            let mut dev = "virtio-net-pci,netdev=net0,id=nic0".to_string();
            if let Some(b) = n.bootindex {
                dev.push_str(&format!(",bootindex={b}"));
            }
            a.extend(["-netdev".into(), nd, "-device".into(), dev]);
        }
        for n in 0..cfg.hotplug_ports {
            a.extend(["-device".into(), format!("pcie-root-port,id=hp{n},chassis={}", n + 1)]);
        }
        for s in &cfg.smbios {
            a.extend(["-smbios".into(), s.clone()]);
        }
        a.extend(cfg.extra_args.iter().cloned());
        a
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.running {
            Some(r) => matches!(r.child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts QEMU (again, after `shutdown`/`crash`: the disks are kept).
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Err(Error::Setup(format!("{}: already running", self.name())));
        }
        let first = !self.started_once;
        self.started_once = true;
        match self.cfg.resume.clone() {
            Some((ready, timeout)) if first && self.resumable() => self.start_resumed(&ready, timeout),
            _ => self.start_qemu(None),
        }
    }

    /// Only blank new disks: their saved content is what any machine of this shape starts with.
    fn resumable(&self) -> bool {
        self.cfg.disks.iter().all(|d| matches!(d.source, DiskSource::NewQcow2 { .. }))
    }

    /// What identifies a saved state: the QEMU command line (this machine's state directory and
    /// name left out), the disks, and the identity of every file the machine boots from.
    fn saved_key(&self, accel: Accel) -> String {
        use std::hash::{Hash, Hasher};
        let state = self.state.path().to_string_lossy().into_owned();
        let mut args = self.qemu_args(accel);
        if let Some(i) = args.iter().position(|a| a == "-name") {
            args.drain(i..i + 2);
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for a in &args {
            a.replace(&state, "@STATE@").hash(&mut h);
        }
        for d in &self.cfg.disks {
            format!("{d:?}").hash(&mut h);
        }
        self.cfg.before_save.hash(&mut h);
        let files = self.cfg.kernel.iter().flat_map(|(k, i, _)| [Some(k.clone()), i.clone()]).flatten();
        for f in files.chain(self.cdrom.clone()) {
            let meta = std::fs::metadata(&f).ok();
            (f, meta.as_ref().map(|m| m.len()), meta.and_then(|m| m.modified().ok())).hash(&mut h);
        }
        format!("{:016x}", h.finish())
    }

    fn start_resumed(&mut self, ready: &str, timeout: Duration) -> Result<()> {
        let accel = self.cfg.accel.unwrap_or_else(Accel::from_env);
        let saved = crate::saved::Saved::lock(&self.saved_key(accel))?;
        if !saved.is_complete() {
            tracing::info!(machine = %self.name(), "booting once to save the state at /{ready}/");
            self.start_qemu(None)?;
            self.wait_for_console_text(ready, timeout)?;
            self.wait_for_agent()?;
            let mut before_save_secs = None;
            if let Some((cmd, timeout)) = self.cfg.before_save.clone() {
                let t = Instant::now();
                let o = self.execute_with_timeout(&cmd, timeout)?;
                if o.status != 0 {
                    return Err(self.command_error(&cmd, o));
                }
                before_save_secs = Some(t.elapsed().as_secs_f64());
            }
            self.save_state(&saved, before_save_secs)?;
        }
        self.saved_boot_secs = saved.boot_secs();
        self.saved_before_save_secs = saved.before_save_secs();
        if let Err(e) = self.resume_from(&saved) {
            // The saved boot is an optimisation: a machine that cannot resume boots (the timing
            // table then shows a boot instead of a resume).
            eprintln!("vm-harness: {}: resuming the saved state failed ({e}); booting instead", self.name());
            self.crash()?;
            return self.start_qemu(None);
        }
        Ok(())
    }

    /// Stops the guest, writes its memory and device state, kills QEMU and moves the disks (and
    /// UEFI variables) into `saved`.
    fn save_state(&mut self, saved: &crate::saved::Saved, before_save_secs: Option<f64>) -> Result<()> {
        let boot_secs = self.running.as_ref().and_then(|r| r.ready);
        saved.clear()?;
        self.qmp("stop", json!({}))?;
        let uri = format!("exec:cat > {}", saved.state_file().display());
        self.qmp("migrate", json!({ "uri": uri }))?;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let st = self.qmp("query-migrate", json!({}))?;
            match st["status"].as_str() {
                Some("completed") => break,
                Some("failed") | Some("cancelled") => {
                    return Err(Error::Setup(format!("{}: saving the state failed: {st}", self.name())))
                }
                _ if Instant::now() > deadline => {
                    return Err(self.timeout("saving the machine state".into(), Duration::from_secs(600)))
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        self.crash()?;
        for (i, (path, _)) in self.disk_paths.iter().enumerate() {
            saved.take_file(path, &format!("disk{i}.qcow2"))?;
        }
        if self.cfg.firmware == Firmware::Uefi {
            saved.take_file(&self.state.path().join("OVMF_VARS.fd"), "OVMF_VARS.fd")?;
        }
        saved.complete(self.console.text().as_bytes(), boot_secs, before_save_secs)
    }

    /// Starts QEMU from the saved state, on overlays of the saved disks.
    fn resume_from(&mut self, saved: &crate::saved::Saved) -> Result<()> {
        for (i, (path, format)) in self.disk_paths.iter_mut().enumerate() {
            let _ = std::fs::remove_file(&*path);
            let backing = saved.file(&format!("disk{i}.qcow2"));
            qemu_img(
                &["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"],
                &[backing.as_os_str(), path.as_os_str()],
            )?;
            *format = "qcow2".into();
        }
        if self.cfg.firmware == Firmware::Uefi {
            let vars = self.state.path().join("OVMF_VARS.fd");
            std::fs::copy(saved.file("OVMF_VARS.fd"), &vars).ctx(|| format!("copying {}", vars.display()))?;
        }
        self.start_qemu(Some(saved))?;
        // The state was saved stopped, and QEMU keeps that: wait for the load, then continue.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let st = self.qmp("query-status", json!({}))?;
            match st["status"].as_str() {
                Some("running") => break,
                Some("inmigrate") if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Some("paused") | Some("postmigrate") | Some("prelaunch") => {
                    self.qmp("cont", json!({}))?;
                }
                _ => return Err(Error::Setup(format!("{}: resuming the saved state: {st}", self.name()))),
            }
        }
        if let Some(r) = &mut self.running {
            crate::timing::record(&r.name, "resumed", r.started.elapsed().as_secs_f64());
        }
        self.wait_for_agent()?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        self.succeed(&format!("date -s @{} >/dev/null", now.as_secs()))?;
        Ok(())
    }

    fn start_qemu(&mut self, incoming: Option<&crate::saved::Saved>) -> Result<()> {
        self.running = None;
        if std::env::var_os("VM_HARNESS_FORBID").is_some() {
            return Err(Error::Setup(format!(
                "{}: this test binary boots VMs; list it in xtask's suite::VM_BINARIES",
                self.name()
            )));
        }
        let slot = slots::acquire()?;
        let accel = self.cfg.accel.unwrap_or_else(Accel::from_env);
        let mut args = self.qemu_args(accel);
        if let Some(saved) = incoming {
            args.extend(["-incoming".into(), format!("exec:cat {}", saved.state_file().display())]);
        }
        let s = self.state.path().to_path_buf();
        for sock in ["serial.sock", "qmp.sock", "agent.sock"] {
            let _ = std::fs::remove_file(s.join(sock));
        }
        std::fs::write(self.log_dir.join("qemu-args.txt"), shell_words(&args))
            .ctx(|| "writing qemu-args.txt".into())?;
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(self.log_dir.join("qemu-stderr.log"))
            .ctx(|| "opening qemu-stderr.log".into())?;
        tracing::info!(machine = %self.name(), accel = accel.name(), "starting qemu");
        let mut child = Command::new("qemu-system-x86_64")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().ctx(|| "dup stderr log".into())?)
            .stderr(stderr)
            .spawn()
            .ctx(|| "spawning qemu-system-x86_64 (is qemu-system-x86 installed?)".into())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let connect = |name: &str, child: &mut Child| -> Result<UnixStream> {
            loop {
                if let Ok(st) = UnixStream::connect(s.join(name)) {
                    return Ok(st);
                }
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(self.not_running(status.to_string()));
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    return Err(Error::Setup(format!("{}: QEMU did not open {name}", self.cfg.name)));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let serial = connect("serial.sock", &mut child)?;
        let qmp_stream = connect("qmp.sock", &mut child)?;
        // A new boot starts searching after what earlier boots printed; a resumed one at the
        // output of the boot its state was saved from.
        self.console.skip_to_end();
        if let Some(saved) = incoming {
            self.console.preload(&saved.serial_log()?)?;
        }
        self.console.attach(
            serial.try_clone().ctx(|| "cloning serial socket".into())?,
            self.cfg.echo_console,
            self.cfg.skip_boot_menus,
        )?;
        let qmp = Qmp::connect(&self.cfg.name, qmp_stream)?;
        self.running = Some(Running {
            child,
            qmp,
            serial,
            agent: None,
            _slot: slot,
            started: Instant::now(),
            name: self.cfg.name.clone(),
            ready: None,
        });
        Ok(())
    }

    fn not_running(&self, status: String) -> Error {
        let stderr = std::fs::read_to_string(self.log_dir.join("qemu-stderr.log")).unwrap_or_default();
        Error::NotRunning {
            machine: self.cfg.name.clone(),
            status,
            stderr,
            log: self.console.log_path().to_path_buf(),
            tail: self.console.tail(30),
        }
    }

    fn timeout(&self, what: String, timeout: Duration) -> Error {
        Error::Timeout {
            machine: self.cfg.name.clone(),
            what,
            secs: timeout.as_secs(),
            log: self.console.log_path().to_path_buf(),
            tail: self.console.tail(30),
        }
    }

    fn running(&mut self) -> Result<&mut Running> {
        let dead = match &mut self.running {
            None => Some("never started or stopped".to_string()),
            Some(r) => match r.child.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                _ => None,
            },
        };
        if let Some(status) = dead {
            return Err(self.not_running(status));
        }
        Ok(self.running.as_mut().expect("checked above"))
    }

    /// Seconds since QEMU was started.
    pub fn uptime(&self) -> Option<Duration> {
        self.running.as_ref().map(|r| r.started.elapsed())
    }

    /// Waits until `regex` matches serial console output printed after the previous match (or after
    /// the start of this boot); returns the matched text.
    pub fn wait_for_console_text(&mut self, regex: &str, timeout: Duration) -> Result<String> {
        let re = regex_of(regex)?;
        match self.console.wait_for(&re, timeout) {
            WaitOutcome::Matched(s) => {
                if let Some(r) = &mut self.running {
                    r.mark_ready();
                }
                Ok(s)
            }
            WaitOutcome::TimedOut => Err(self.timeout(format!("console text /{regex}/"), timeout)),
            WaitOutcome::Closed => {
                let status = self.running()?.child.try_wait().ok().flatten();
                Err(self.not_running(format!("exited while waiting for /{regex}/: {status:?}")))
            }
        }
    }

    /// Types `text` on the serial console.
    pub fn send_console(&mut self, text: &str) -> Result<()> {
        use std::io::Write;
        let name = self.cfg.name.clone();
        self.running()?
            .serial
            .write_all(text.as_bytes())
            .ctx(|| format!("{name}: writing to the serial console"))
    }

    /// Waits for the guest agent to answer.
    pub fn wait_for_agent(&mut self) -> Result<()> {
        self.agent().map(|_| ())
    }

    /// Forgets the agent connection (after the guest rebooted); the next command pings again.
    pub fn reconnect_agent(&mut self) {
        if let Some(r) = &mut self.running {
            r.agent = None;
        }
    }

    fn agent(&mut self) -> Result<&mut AgentConn> {
        let timeout = self.cfg.agent_timeout;
        let name = self.cfg.name.clone();
        let sock = self.state.path().join("agent.sock");
        if self.running()?.agent.is_none() {
            let stream =
                UnixStream::connect(&sock).ctx(|| format!("{name}: connecting {}", sock.display()))?;
            let deadline = Instant::now() + timeout;
            // Poll QEMU's liveness between pings so a crashed guest fails fast.
            let mut check_err = None;
            let conn = {
                let r = self.running.as_mut().expect("running");
                AgentConn::connect(&name, stream, deadline, || match r.child.try_wait() {
                    Ok(Some(st)) => {
                        check_err = Some(st.to_string());
                        Err(Error::Setup("qemu exited".into()))
                    }
                    _ => Ok(()),
                })
            };
            match (conn, check_err) {
                (_, Some(status)) => {
                    return Err(self.not_running(format!("exited while waiting for the agent: {status}")))
                }
                (Err(e), None) => return Err(e),
                (Ok(None), None) => return Err(self.timeout("the guest agent".into(), timeout)),
                (Ok(Some(c)), None) => self.running.as_mut().expect("running").agent = Some(c),
            }
        }
        let r = self.running.as_mut().expect("connected above");
        r.mark_ready();
        Ok(r.agent.as_mut().expect("connected above"))
    }

    /// Runs `cmd` with `sh -c` in the guest with a timeout; returns status and output.
    pub fn execute_with_timeout(&mut self, cmd: &str, timeout: Duration) -> Result<Output> {
        tracing::info!(machine = %self.cfg.name, "exec: {cmd}");
        let t = Instant::now();
        let out = self.agent()?.exec(cmd, timeout);
        let secs = t.elapsed().as_secs_f64();
        if secs >= crate::timing::LONG_COMMAND_SECS {
            let short: String = cmd.chars().take(60).collect();
            crate::timing::record_detail(&self.cfg.name, "exec", secs, Some(&short));
        }
        if out.is_err() {
            // The channel is out of step after an error: start afresh next time.
            self.reconnect_agent();
        }
        out
    }

    /// Runs `cmd` in the guest; returns (exit status, stdout).
    pub fn execute(&mut self, cmd: &str) -> Result<(i32, String)> {
        let o = self.execute_with_timeout(cmd, self.cfg.command_timeout)?;
        Ok((o.status, o.stdout))
    }

    fn command_error(&self, cmd: &str, o: Output) -> Error {
        Error::Command {
            machine: self.cfg.name.clone(),
            cmd: cmd.to_string(),
            status: o.status,
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }

    /// Runs `cmd`, which must succeed; returns its stdout.
    pub fn succeed(&mut self, cmd: &str) -> Result<String> {
        let o = self.execute_with_timeout(cmd, self.cfg.command_timeout)?;
        if o.status != 0 {
            return Err(self.command_error(cmd, o));
        }
        Ok(o.stdout)
    }

    /// Runs `cmd`, which must fail; returns its stdout.
    pub fn fail(&mut self, cmd: &str) -> Result<String> {
        let o = self.execute_with_timeout(cmd, self.cfg.command_timeout)?;
        if o.status == 0 {
            return Err(self.command_error(cmd, o));
        }
        Ok(o.stdout)
    }

    /// Retries `cmd` once a second until it succeeds; returns its stdout.
    pub fn wait_until_succeeds(&mut self, cmd: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let o = self.execute_with_timeout(cmd, left.max(Duration::from_secs(1)))?;
            if o.status == 0 {
                return Ok(o.stdout);
            }
            last = o;
            if Instant::now() + Duration::from_secs(1) >= deadline {
                let what =
                    format!("`{cmd}` to succeed (last status {}, stderr {:?})", last.status, last.stderr);
                return Err(self.timeout(what, timeout));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Copies a small host file into the guest (mode kept).
    pub fn copy_to_guest(&mut self, host: &Path, guest: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let data = std::fs::read(host).ctx(|| format!("reading {}", host.display()))?;
        let mode =
            std::fs::metadata(host).ctx(|| format!("stat {}", host.display()))?.permissions().mode() & 0o7777;
        let t = self.cfg.command_timeout;
        let name = self.cfg.name.clone();
        self.agent()?
            .put(guest, mode, &data, t)?
            .map_err(|e| Error::Agent { machine: name, message: format!("writing {guest}: {e}") })
    }

    /// Copies a small guest file to the host.
    pub fn copy_from_guest(&mut self, guest: &str, host: &Path) -> Result<()> {
        let t = self.cfg.command_timeout;
        let name = self.cfg.name.clone();
        let data = self
            .agent()?
            .get(guest, t)?
            .map_err(|e| Error::Agent { machine: name, message: format!("reading {guest}: {e}") })?;
        std::fs::write(host, data).ctx(|| format!("writing {}", host.display()))
    }

    /// Plugs a virtio disk into the running machine (an empty root port, see
    /// [`MachineBuilder::hotplug_ports`]), as a disk or USB stick plugged into a running computer;
    /// returns its index for [`Machine::disk_path`]. Later boots of this machine have it from the
    /// start.
    pub fn hotplug_disk(&mut self, d: Disk) -> Result<usize> {
        if d.interface != DiskInterface::Virtio {
            return Err(Error::Setup(format!("{}: only virtio disks can be plugged in", self.name())));
        }
        if self.hotplugged >= self.cfg.hotplug_ports {
            return Err(Error::Setup(format!(
                "{}: no free hot-plug port ({} in all)",
                self.name(),
                self.cfg.hotplug_ports
            )));
        }
        let i = self.cfg.disks.len();
        let (path, format) = make_disk(self.state.path(), i, &d)?;
        let id = d.id.clone().unwrap_or_else(|| format!("disk{i}"));
        self.qmp(
            "blockdev-add",
            json!({
                "driver": format,
                "node-name": format!("{id}-drv"),
                "read-only": d.readonly,
                "discard": "unmap",
                "file": { "driver": "file", "filename": path.to_string_lossy() },
            }),
        )?;
        let mut dev = json!({
            "driver": "virtio-blk-pci",
            "id": id,
            "drive": format!("{id}-drv"),
            "bus": format!("hp{}", self.hotplugged),
        });
        if let Some(sn) = &d.serial {
            dev["serial"] = json!(sn);
        }
        self.qmp("device_add", dev)?;
        self.hotplugged += 1;
        self.cfg.disks.push(d);
        self.disk_paths.push((path, format));
        Ok(i)
    }

    /// Runs a raw QMP command.
    pub fn qmp(&mut self, command: &str, args: Value) -> Result<Value> {
        self.running()?.qmp.execute(command, args)
    }

    /// Saves the display as a PNG file.
    pub fn screendump(&mut self, png_path: &Path) -> Result<()> {
        let ppm = self.state.path().join("screen.ppm");
        self.qmp("screendump", json!({ "filename": ppm.to_string_lossy() }))?;
        let data = std::fs::read(&ppm).ctx(|| format!("reading {}", ppm.display()))?;
        let png =
            ppm_to_png(&data).map_err(|e| Error::Setup(format!("{}: screendump: {e}", self.cfg.name)))?;
        std::fs::write(png_path, png).ctx(|| format!("writing {}", png_path.display()))
    }

    /// The text of a VGA text-mode screen (80x25: the BIOS, GRUB's console before its grub.cfg
    /// chooses the serial line, the Linux VGA console), read from the text buffer at 0xB8000.
    /// Graphics modes (UEFI GOP) show nothing here: use [`Machine::screendump`].
    pub fn screen_text(&mut self) -> Result<String> {
        let dump = self.state.path().join("vga-text.bin");
        self.qmp("pmemsave", json!({ "val": 0xb8000u64, "size": 4000, "filename": dump.to_string_lossy() }))?;
        let data = std::fs::read(&dump).ctx(|| format!("reading {}", dump.display()))?;
        Ok(vga_text(&data))
    }

    /// Waits until `regex` matches the text screen ([`Machine::screen_text`]); returns the screen.
    pub fn wait_for_screen_text(&mut self, regex: &str, timeout: Duration) -> Result<String> {
        match self.poll_screen(&regex_of(regex)?, timeout, Duration::from_millis(500), |m| m.screen_text())? {
            Ok(screen) => Ok(screen),
            Err(screen) => Err(self.timeout(format!("screen text /{regex}/ (screen: {screen:?})"), timeout)),
        }
    }

    /// Presses a key combination such as `ret`, `ctrl-alt-delete` or `shift-a` (QEMU qcodes).
    pub fn send_key(&mut self, combo: &str) -> Result<()> {
        self.qmp("send-key", key_combo(combo)).map(|_| ())
    }

    /// Types `text` on the emulated keyboard (US layout).
    pub fn send_chars(&mut self, text: &str) -> Result<()> {
        for c in text.chars() {
            let (shift, code) =
                qcodes_for_char(c).ok_or_else(|| Error::Setup(format!("send_chars: no key for {c:?}")))?;
            self.send_key(&if shift { format!("shift-{code}") } else { code.to_string() })?;
            // A key every 50 ms: a guest slowed down (several vCPUs in one TCG thread, a loaded
            // host) empties the emulated PS/2 queue late, and QEMU drops what does not fit.
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    pub fn system_reset(&mut self) -> Result<()> {
        self.qmp("system_reset", json!({})).map(|_| ())?;
        self.reconnect_agent();
        Ok(())
    }

    /// Opens the CD tray and removes the medium.
    pub fn eject_cdrom(&mut self) -> Result<()> {
        if self.cfg.qemu_defaults {
            // `-cdrom`'s drive, by its block name (as `eject -f ide1-cd0` in the monitor).
            self.qmp("eject", json!({ "device": "ide1-cd0", "force": true }))?;
        } else {
            self.qmp("eject", json!({ "id": "cd0", "force": true }))?;
        }
        self.cdrom = None;
        Ok(())
    }

    /// Inserts another ISO into the CD drive.
    pub fn change_cdrom(&mut self, iso: &Path) -> Result<()> {
        self.qmp(
            "blockdev-change-medium",
            json!({ "id": "cd0", "filename": iso.to_string_lossy(), "format": "raw", "read-only-mode": "read-only" }),
        )?;
        self.cdrom = Some(iso.to_path_buf());
        Ok(())
    }

    /// Changes a device's boot index (disks by id, `cd0`, `nic0`); firmware sees it at the next reset.
    pub fn set_boot_index(&mut self, device_id: &str, index: i32) -> Result<()> {
        self.qmp(
            "qom-set",
            json!({ "path": format!("/machine/peripheral/{device_id}"), "property": "bootindex", "value": index }),
        )
        .map(|_| ())
    }

    /// Waits for QEMU to exit by itself (the guest powered off).
    pub fn wait_for_shutdown(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(r) = &mut self.running else { return Ok(()) };
            if let Ok(Some(_)) = r.child.try_wait() {
                self.running = None;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.timeout("the machine to power off".into(), timeout));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Cleanly powers the guest off (through the agent when it answers, else ACPI) and waits.
    pub fn shutdown(&mut self) -> Result<()> {
        if !self.is_running() {
            self.running = None;
            return Ok(());
        }
        // Through the agent when one answers within a few seconds (the test initrd has no ACPI
        // daemon), else by the ACPI power button.
        let saved = self.cfg.agent_timeout;
        self.cfg.agent_timeout = Duration::from_secs(5);
        let via_agent = self.agent().and_then(|a| a.poweroff()).is_ok();
        self.cfg.agent_timeout = saved;
        if !via_agent {
            self.qmp("system_powerdown", json!({}))?;
        }
        self.wait_for_shutdown(Duration::from_secs(120))
    }

    /// Stops QEMU at once through QMP `quit`, which closes the disk images cleanly (unlike
    /// [`Machine::crash`]); the guest is not shut down, so what it has not flushed (`sync`, or
    /// unmounting) is lost. For a machine whose disks the guest has already flushed and that
    /// nothing boots again as it is: a guest shutdown costs seconds under TCG.
    pub fn quit(&mut self) -> Result<()> {
        if !self.is_running() {
            self.running = None;
            return Ok(());
        }
        // QEMU may close the monitor before it answers.
        let _ = self.qmp("quit", json!({}));
        self.wait_for_shutdown(Duration::from_secs(30))
    }

    /// For a machine started with [`MachineBuilder::resume_after`]: how long the boot that saved
    /// its state took from start to ready, whichever process booted it in this run.
    pub fn saved_boot_secs(&self) -> Option<f64> {
        self.saved_boot_secs
    }

    /// For a machine started with [`MachineBuilder::resume_after`] and
    /// [`MachineBuilder::before_save`]: how long that command took in the boot that saved the state.
    pub fn saved_before_save_secs(&self) -> Option<f64> {
        self.saved_before_save_secs
    }

    /// Power cut: kills QEMU at once. The disks stay usable for the next `start`.
    pub fn crash(&mut self) -> Result<()> {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        Ok(())
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.crash();
        if std::thread::panicking() {
            eprintln!("vm-harness: logs of machine {} kept in {}", self.cfg.name, self.log_dir.display());
        }
    }
}

fn shell_words(args: &[String]) -> String {
    let words = std::iter::once("qemu-system-x86_64").chain(args.iter().map(String::as_str));
    // QEMU's arguments never hold NUL, the one thing shlex refuses.
    shlex::try_join(words).unwrap_or_default() + "\n"
}

/// Converts a binary PPM (P6, maxval 255), as QEMU's screendump writes, into PNG.
pub fn ppm_to_png(data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while i < data.len() && data[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < data.len() && data[i] == b'#' {
            while i < data.len() && data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < data.len() && !data[i].is_ascii_whitespace() {
            i += 1;
        }
        if start == i {
            return Err("truncated PPM header".into());
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    i += 1; // the single whitespace byte after maxval
    if fields[0] != "P6" || fields[3] != "255" {
        return Err(format!("unsupported PPM {} maxval {}", fields[0], fields[3]));
    }
    let w: u32 = fields[1].parse().map_err(|_| "bad width")?;
    let h: u32 = fields[2].parse().map_err(|_| "bad height")?;
    let pixels = data.get(i..i + (w * h * 3) as usize).ok_or("truncated PPM pixels")?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A wait's pattern, or a setup error naming it.
fn regex_of(regex: &str) -> Result<Regex> {
    Regex::new(regex).map_err(|e| Error::Setup(format!("bad regex {regex:?}: {e}")))
}

/// What a `rows`x`cols` terminal shows after receiving `data`.
pub fn terminal_screen(data: &[u8], rows: u16, cols: u16) -> String {
    let mut p = vt100::Parser::new(rows, cols, 0);
    p.process(data);
    p.screen().contents().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

/// Character, attribute pairs (VGA text memory, `/dev/vcsaN`) as lines of `cols` characters,
/// trailing blanks cut; characters outside printable ASCII (line drawing) read as spaces.
fn cell_lines(cells: &[u8], cols: usize) -> Vec<String> {
    let chars: Vec<char> =
        cells.chunks(2).map(|p| if (0x20..0x7f).contains(&p[0]) { p[0] as char } else { ' ' }).collect();
    chars.chunks(cols).map(|l| l.iter().collect::<String>().trim_end().to_string()).collect()
}

/// The text of a `/dev/vcsaN` read: a header of rows, columns and the cursor, then a character
/// and an attribute byte per cell, as lines (see [`cell_lines`]). `None` when the data is shorter
/// than its header says.
pub fn vcsa_text(data: &[u8]) -> Option<String> {
    let (rows, cols) = (usize::from(*data.first()?), usize::from(*data.get(1)?));
    let cells = data.get(4..4 + rows * cols * 2)?;
    if cols == 0 {
        return None;
    }
    Some(cell_lines(cells, cols).join("\n"))
}

/// `/dev/vcsu` (one UTF-32LE code point per cell) as rows, the size from `/dev/vcsa`'s header.
pub fn vcsu_lines(vcsa: &[u8], vcsu: &[u8]) -> Option<Vec<String>> {
    let (rows, cols) = (usize::from(*vcsa.first()?), usize::from(*vcsa.get(1)?));
    if cols == 0 || vcsu.len() < rows * cols * 4 {
        return None;
    }
    let chars: Vec<char> = vcsu[..rows * cols * 4]
        .chunks_exact(4)
        .map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('\u{fffd}'))
        .collect();
    Some(chars.chunks(cols).map(|r| r.iter().collect()).collect())
}

/// VGA text memory (character, attribute pairs; 80 columns) as lines of text, trailing blanks cut.
pub fn vga_text(data: &[u8]) -> String {
    let mut out = String::new();
    for line in cell_lines(data, 80) {
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end_matches('\n').to_string() + "\n"
}

#[cfg(test)]
mod tests {
    #[test]
    fn vcsu_cells_are_code_points_in_rows() {
        let vcsa = [2u8, 3, 0, 0];
        let cells: Vec<u8> = "ab│┌ d".chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        assert_eq!(super::vcsu_lines(&vcsa, &cells).unwrap(), ["ab│", "┌ d"]);
        assert_eq!(super::vcsu_lines(&vcsa, &cells[..8]), None);
    }

    #[test]
    fn terminal_screen_plays_escape_sequences() {
        let s = super::terminal_screen(
            b"boot noise\r\n\x1b[?1049h\x1b[2J\x1b[1;1H+ Title\x1b[3;5Hfield\x1b[3;5HF",
            24,
            80,
        );
        assert_eq!(s.lines().next(), Some("+ Title"));
        assert_eq!(s.lines().nth(2), Some("    Field"));
    }

    use super::*;

    #[test]
    fn vcsa_reads_as_trimmed_lines() {
        // 2 rows of 4 columns, cursor at (1, 0); a line-drawing character reads as a space.
        let mut data = vec![2u8, 4, 1, 0];
        for c in b"ab  ".iter().chain(&[0xc4, b'x', b'y', b' ']) {
            data.extend([*c, 0x07]);
        }
        assert_eq!(vcsa_text(&data).as_deref(), Some("ab\n xy"));
        assert_eq!(vcsa_text(&data[..10]), None, "shorter than the header says");
        assert_eq!(vcsa_text(&[0, 0, 0, 0]), None);
    }

    #[test]
    fn vga_text_memory_reads_as_lines() {
        let mut mem = vec![];
        for (i, c) in "Enter passphrase for hd0,gpt2".bytes().enumerate() {
            mem.extend([c, 0x07]);
            assert!(i < 80);
        }
        mem.resize(160, 0);
        mem.extend([b'>', 0x07, 0, 0x07, 0xc4, 0x07]);
        mem.resize(4000, 0);
        assert_eq!(vga_text(&mem), "Enter passphrase for hd0,gpt2\n>\n");
    }

    #[test]
    fn ppm_converts_to_png() {
        let mut ppm = b"P6\n# comment\n2 1\n255\n".to_vec();
        ppm.extend_from_slice(&[255, 0, 0, 0, 255, 0]);
        let png = ppm_to_png(&ppm).unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 1));
        assert_eq!(&buf[..6], &[255, 0, 0, 0, 255, 0]);
        assert!(ppm_to_png(b"P5\n1 1\n255\n\0").is_err());
    }

    #[test]
    fn command_line_has_devices_serials_and_escapes() {
        let m = machine("t")
            .uefi()
            .disk(Disk::new_qcow2(1 << 20).serial("S1"))
            .disk(Disk::new_qcow2(1 << 20).interface(DiskInterface::Sata).serial("S,2").bootindex(1))
            .disk(Disk::new_qcow2(1 << 20).interface(DiskInterface::Nvme))
            .disk(Disk::new_qcow2(1 << 20).interface(DiskInterface::Usb))
            .disk(Disk::new_qcow2(1 << 20).interface(DiskInterface::Scsi).serial("S5"))
            .empty_cdrom()
            .net(Net::user().forward(22))
            .virtualbox_smbios()
            .build()
            .unwrap();
        let args = m.qemu_args(Accel::Tcg).join(" ");
        assert!(args.contains("virtio-blk-pci,drive=disk0-drv,id=disk0,serial=S1"), "{args}");
        assert!(args.contains("ide-hd,drive=disk1-drv,id=disk1,bus=ide.0,serial=S,,2,bootindex=1"), "{args}");
        assert!(args.contains("nvme,drive=disk2-drv,id=disk2,serial=nvme2"), "{args}");
        assert!(args.contains("qemu-xhci,id=xhci"));
        assert!(args.contains("usb-storage,bus=xhci.0,drive=disk3-drv"));
        assert!(args.contains("-device virtio-scsi-pci,id=scsi0 -device scsi-hd"), "{args}");
        assert!(args.contains("scsi-hd,bus=scsi0.0,drive=disk4-drv,id=disk4,serial=S5"), "{args}");
        assert!(args.contains("ide-cd,drive=cd0-drv,id=cd0,bus=ide.4"));
        assert!(args.contains("if=pflash,format=raw,unit=0,readonly=on"));
        assert!(args.contains("type=1,manufacturer=innotek GmbH,product=VirtualBox"));
        let port = m.forwarded_port(22).unwrap();
        assert!(args.contains(&format!("hostfwd=tcp:127.0.0.1:{port}-:22")));
        assert!(args.contains("-accel tcg"));
        assert!(m.disk_path(0).unwrap().exists());
    }
}
