//! `vm-harness`: run a QEMU machine from the command line.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use vm_harness::{accel, machine, Disk, DiskInterface, Firmware, Net};

#[derive(Parser)]
#[command(version, about = "QEMU machines for tests")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Boot a machine; attach its console, or wait for text, or run a command through the agent.
    Run(Box<RunArgs>),
    /// Report whether KVM really boots a kernel here (prints `kvm` or `tcg`).
    ProbeKvm {
        #[arg(long)]
        kernel: PathBuf,
        #[arg(long)]
        initrd: PathBuf,
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
}

#[derive(Parser)]
struct RunArgs {
    /// Boot with OVMF instead of SeaBIOS.
    #[arg(long)]
    uefi: bool,
    /// An ISO in the CD-ROM drive (booted first).
    #[arg(long)]
    iso: Option<PathBuf>,
    /// A disk: PATH[,if=virtio|sata|nvme|usb][,serial=S][,format=F][,boot=N]. Repeatable.
    #[arg(long = "disk")]
    disks: Vec<String>,
    #[arg(long)]
    kernel: Option<PathBuf>,
    #[arg(long)]
    initrd: Option<PathBuf>,
    #[arg(long, default_value = "console=ttyS0")]
    append: String,
    #[arg(long, default_value_t = 512)]
    mem: u32,
    /// vCPUs.
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// Seconds to wait for --expect or the agent.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Wait for this regex on the serial console; exit 0 when seen.
    #[arg(long)]
    expect: Option<String>,
    /// Run this command through the agent, print its stdout and exit with its status.
    #[arg(long)]
    exec: Option<String>,
    /// User-mode network; with --tftp DIR and --bootfile F for PXE.
    #[arg(long)]
    net: bool,
    #[arg(long)]
    tftp: Option<PathBuf>,
    #[arg(long, default_value = "boot.ipxe")]
    bootfile: String,
    /// An extra argument for QEMU (after the harness's own). Repeatable.
    #[arg(long = "qemu-arg", allow_hyphen_values = true)]
    qemu_args: Vec<String>,
}

fn parse_disk(spec: &str) -> Result<Disk> {
    let mut parts = spec.split(',');
    let path = parts.next().filter(|p| !p.is_empty()).context("--disk needs a path")?;
    let mut format = if path.ends_with(".qcow2") { "qcow2" } else { "raw" }.to_string();
    let (mut iface, mut serial, mut boot) = (DiskInterface::Virtio, None, None);
    for p in parts {
        match p.split_once('=') {
            Some(("if", v)) => iface = v.parse().map_err(anyhow::Error::msg)?,
            Some(("serial", v)) => serial = Some(v.to_string()),
            Some(("format", v)) => format = v.to_string(),
            Some(("boot", v)) => boot = Some(v.parse().context("boot=N takes a number")?),
            _ => bail!("unknown --disk option {p:?} in {spec:?}"),
        }
    }
    let mut d = Disk::file(path, &format).interface(iface);
    if let Some(s) = serial {
        d = d.serial(&s);
    }
    if let Some(b) = boot {
        d = d.bootindex(b);
    }
    Ok(d)
}

fn run(a: RunArgs) -> Result<ExitCode> {
    let interactive = a.expect.is_none() && a.exec.is_none();
    let mut b = machine("cli").memory_mib(a.mem).cpus(a.cpus).echo_console(interactive);
    if a.uefi {
        b = b.firmware(Firmware::Uefi);
    }
    if let Some(k) = &a.kernel {
        b = b.kernel(k, a.initrd.clone(), &a.append);
    } else if a.initrd.is_some() {
        bail!("--initrd needs --kernel");
    }
    if let Some(iso) = &a.iso {
        b = b.cdrom(iso).cdrom_bootindex(0);
    }
    for d in &a.disks {
        b = b.disk(parse_disk(d)?);
    }
    if a.net || a.tftp.is_some() {
        let mut n = Net::user();
        if let Some(t) = &a.tftp {
            n = n.tftp(t, &a.bootfile).bootindex(0);
        }
        b = b.net(n);
    }
    b = b.extra_args(a.qemu_args.iter().cloned()).agent_timeout(Duration::from_secs(a.timeout));
    let mut m = b.start().context("starting the machine")?;
    eprintln!("vm-harness: serial log {}", m.serial_log().display());
    if let Some(re) = &a.expect {
        m.wait_for_console_text(re, Duration::from_secs(a.timeout))?;
        eprintln!("vm-harness: saw /{re}/");
    }
    if let Some(cmd) = &a.exec {
        let (status, out) = m.execute(cmd)?;
        print!("{out}");
        std::io::stdout().flush()?;
        let _ = m.shutdown();
        return Ok(ExitCode::from(status.clamp(0, 255) as u8));
    }
    if interactive {
        // Forward stdin to the serial console until QEMU exits.
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 256];
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        });
        while m.is_running() {
            if let Ok(bytes) = rx.recv_timeout(Duration::from_millis(200)) {
                m.send_console(&String::from_utf8_lossy(&bytes))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("VM_HARNESS_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Run(a) => run(*a),
        Cmd::ProbeKvm { kernel, initrd, timeout } => {
            let ok = accel::probe_kvm(&kernel, &initrd, Duration::from_secs(timeout));
            println!("{}", if ok { "kvm" } else { "tcg" });
            Ok(ExitCode::SUCCESS)
        }
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vm-harness: {e:#}");
            ExitCode::FAILURE
        }
    }
}
