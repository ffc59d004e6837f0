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
    let base =
        cli.profile.as_deref().and_then(|p| p.parent()).unwrap_or(std::path::Path::new(".")).to_path_buf();
    let answer_keys = answer_keys(&profile, &base)?;
    let b = BuildInputs {
        live: LiveInputs {
            answer_keys,
            require_signed_answers: profile.require_signed_answers,
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

/// The profile's answer keys, each checked to be a minisign public key, by file name.
fn answer_keys(profile: &Profile, base: &std::path::Path) -> Result<Vec<(String, String)>> {
    if profile.require_signed_answers && profile.answer_public_keys.is_empty() {
        bail!("the profile requires signed answers but names no answer_public_keys");
    }
    let mut keys: Vec<(String, String)> = vec![];
    for k in &profile.answer_public_keys {
        let path = base.join(k);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        if !image_builder::live::is_minisign_public_key(&text) {
            bail!(
                "{}: not a minisign public key (a line of 56 base64 characters starting RW)",
                path.display()
            );
        }
        let name = format!("{}.pub", path.file_stem().unwrap_or_default().to_string_lossy());
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            || name.starts_with('.')
        {
            bail!("{}: an answer key's file name is A-Z a-z 0-9 . - _", path.display());
        }
        if keys.iter().any(|(n, _)| *n == name) {
            bail!("{}: two answer keys would be named {name}", path.display());
        }
        keys.push((name, text));
    }
    Ok(keys)
}
