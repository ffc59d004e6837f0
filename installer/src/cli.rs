//! The `installer` command line (clap structs and the dispatch; the work is in the domain modules).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use runner::Secret;

use crate::storage::{self, apply, probe};

#[derive(Parser, Debug)]
#[command(name = "installer", version, about = "Install a NixOS-style Debian system")]
pub struct Cli {
    /// Also log every command run (secrets redacted) to this file.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the disks as the installer sees them.
    Disks {
        #[arg(long)]
        json: bool,
    },
    /// Show what a storage spec would do on this machine (a dry run; nothing is touched).
    Plan {
        #[arg(long)]
        storage: PathBuf,
        /// Mount root for the new system.
        #[arg(long, default_value = "/mnt")]
        root: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Partition, format and mount as the storage spec says.
    Partition {
        #[arg(long)]
        storage: PathBuf,
        /// TOML file of named secrets (`name = "passphrase"`).
        #[arg(long)]
        secrets: Option<PathBuf>,
        #[arg(long, default_value = "/mnt")]
        root: PathBuf,
        /// Required: confirms that the disks in the plan may be erased.
        #[arg(long)]
        yes: bool,
    },
    /// Unmount the target, close LUKS, deactivate LVM, stop RAID on the given disks.
    Teardown {
        #[arg(long, default_value = "/mnt")]
        root: PathBuf,
        /// A disk whose stacked devices to close (repeatable); none: only unmount the target.
        #[arg(long = "disk")]
        disks: Vec<String>,
    },
}

fn read_spec(path: &Path) -> Result<storage::StorageSpec> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    storage::StorageSpec::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Reads a secrets file: a TOML table of names to strings.
pub fn read_secrets(path: &Path) -> Result<BTreeMap<String, Secret>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: BTreeMap<String, String> =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(table.into_iter().map(|(k, v)| (k, Secret::new(v))).collect())
}

fn print_disks(p: &storage::Probe) {
    println!(
        "{:<16} {:>10}  {:<24} {:<20} {:<6} {:<5} STATE",
        "DEVICE", "SIZE", "MODEL", "SERIAL", "TRAN", "TABLE"
    );
    for d in &p.disks {
        let state = if d.boot_medium {
            "boot medium".to_string()
        } else if !d.busy.is_empty() {
            format!("busy: {}", d.busy.join("; "))
        } else {
            "free".into()
        };
        println!(
            "{:<16} {:>10}  {:<24} {:<20} {:<6} {:<5} {state}",
            d.path,
            storage::size::human(d.size),
            d.model,
            d.serial,
            d.transport,
            d.table.as_deref().unwrap_or("-"),
        );
    }
}

pub fn run(cli: Cli) -> Result<()> {
    if let Some(log) = &cli.log {
        runner::set_log_file(log).with_context(|| format!("opening {}", log.display()))?;
    }
    match cli.cmd {
        Command::Disks { json } => {
            let p = probe::probe_system()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print_disks(&p);
            }
        }
        Command::Plan { storage: path, root, json } => {
            let spec = read_spec(&path)?;
            let p = probe::probe_system()?;
            let plan =
                storage::plan(&spec, &p, &root).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print!("{plan}");
                println!(
                    "\nDry run: nothing was changed. `installer partition --storage {} --yes` applies it.",
                    path.display()
                );
            }
        }
        Command::Partition { storage: path, secrets, root, yes } => {
            let spec = read_spec(&path)?;
            let secrets = match secrets {
                Some(f) => read_secrets(&f)?,
                None => BTreeMap::new(),
            };
            let p = probe::probe_system()?;
            let plan =
                storage::plan(&spec, &p, &root).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            print!("{plan}");
            if !yes {
                bail!("not applied: add --yes to erase the disks listed above");
            }
            let made = apply::apply(&plan, &secrets, &probe::probe_system)?;
            println!("{}", serde_json::to_string_pretty(&made)?);
        }
        Command::Teardown { root, disks } => apply::teardown(&root, &disks)?,
    }
    Ok(())
}
