//! `image-builder iso|netboot|ova --out DIR [--profile FILE] [--answer FILE] [--release] ...`

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use image_builder::build::{self, BuildInputs};
use image_builder::live::LiveInputs;
use image_builder::profile::Profile;

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Iso,
    Netboot,
    Ova,
}

#[derive(Parser)]
#[command(about = "Build the installer's live media")]
struct Cli {
    kind: Kind,
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    profile: Option<PathBuf>,
    /// An answer file to embed (as /answer.toml on the medium).
    #[arg(long)]
    answer: Option<PathBuf>,
    /// xz+BCJ squashfs (smallest, slow) instead of zstd-3.
    #[arg(long)]
    release: bool,
    /// The Debian kernel package installed into the image.
    #[arg(long, default_value = "linux-image-amd64")]
    kernel_package: String,
    /// Our binaries: the installer and stage-1 (static), and for test images the agent.
    #[arg(long)]
    installer: PathBuf,
    #[arg(long)]
    stage1: PathBuf,
    #[arg(long)]
    agent: Option<PathBuf>,
    /// Our Nix modules (installer/nix).
    #[arg(long)]
    nix_dir: PathBuf,
    #[arg(long, default_value = "/bin/busybox")]
    busybox: PathBuf,
    #[arg(long, default_value = "/var/cache/installer-image")]
    cache: PathBuf,
    #[arg(long, default_value = "INSTALLER")]
    volid: String,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let profile = match &cli.profile {
        Some(p) => Profile::from_toml(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("parsing {}", p.display()))?,
        None => Profile::default(),
    };
    if profile.agent && cli.agent.is_none() {
        bail!("the profile asks for the test agent: pass --agent");
    }
    let b = BuildInputs {
        live: LiveInputs {
            installer: cli.installer,
            nix_dir: cli.nix_dir,
            stage1: cli.stage1,
            busybox: cli.busybox,
            agent: if profile.agent { cli.agent } else { None },
            ssh_authorized_keys: profile.ssh_authorized_keys,
            files: profile
                .files
                .iter()
                .map(|(path, host)| {
                    let base =
                        cli.profile.as_deref().and_then(|p| p.parent()).unwrap_or(std::path::Path::new("."));
                    (path.clone(), base.join(host))
                })
                .collect(),
        },
        cache: cli.cache,
        out_dir: cli.out,
        release: cli.release,
        serial_default: profile.serial_console,
        kernel_params: profile.kernel_params,
        kernel_package: cli.kernel_package,
        ca_certificates: profile
            .ca_certificates
            .iter()
            .map(|c| {
                cli.profile.as_deref().and_then(|p| p.parent()).unwrap_or(std::path::Path::new(".")).join(c)
            })
            .collect(),
        packages: profile.packages,
        answer: cli.answer,
        volid: cli.volid,
    };
    let a = build::iso(&b)?;
    let path = match cli.kind {
        Kind::Iso => a.iso,
        Kind::Netboot => a.netboot,
        Kind::Ova => a.ova,
    };
    println!("{}", path.display());
    Ok(())
}
