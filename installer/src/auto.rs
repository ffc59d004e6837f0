//! `installer auto --answer FILE`: the unattended install. validate → probe → plan → apply →
//! hardware-configuration.nix → configuration.nix from the answer → install (evaluate, copy,
//! activate, initrd, bootloader) → password hashes → the answer (secrets removed) and the log into
//! the target → the on-finish action. Each step prints a start and an end line with its time;
//! running the same command again after a crash or power cut does the whole job again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use runner::Secret;

use crate::answer::{self, Answer, BootTarget, FinishAction};
use crate::config::hardware;
use crate::install::{self, InstallOptions};
use crate::storage::{self, apply, probe};

#[derive(Debug, Clone)]
pub struct AutoOptions {
    pub answer: PathBuf,
    pub yes: bool,
    pub root: PathBuf,
    pub source: PathBuf,
    pub stage1: PathBuf,
    pub busybox: PathBuf,
    /// Do not run the on-finish action (tests, or when a caller reboots itself).
    pub no_finish: bool,
}

/// Step events as lines: `installer: [n/N] step … ` and `… done in 12.3s`.
struct Steps {
    n: usize,
    total: usize,
    times: Vec<(String, f64)>,
}

impl Steps {
    fn run<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.n += 1;
        eprintln!("installer: [{}/{}] {name}", self.n, self.total);
        tracing::info!(step = name, "started");
        let t = Instant::now();
        match f() {
            Ok(v) => {
                let secs = t.elapsed().as_secs_f64();
                eprintln!("installer: [{}/{}] {name}: done in {secs:.1}s", self.n, self.total);
                self.times.push((name.to_string(), secs));
                Ok(v)
            }
            Err(e) => {
                eprintln!("installer: [{}/{}] {name}: FAILED", self.n, self.total);
                Err(e.context(format!("step {name:?} failed")))
            }
        }
    }
}

fn confirm(plan: &storage::Plan) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!(
            "the plan above erases {}; confirm with --yes (or installer.yes=1 on the kernel command line)",
            plan.target_disks().join(", ")
        );
    }
    eprint!("Erase {} and install? Type \"yes\": ", plan.target_disks().join(", "));
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the confirmation")?;
    if line.trim() != "yes" {
        bail!("not confirmed; nothing was touched");
    }
    Ok(())
}

/// Step times as lines `   12.3s  step`.
fn phase_table(times: &[(String, f64)]) -> String {
    times.iter().map(|(n, s)| format!("{s:8.1}s  {n}\n")).collect()
}

/// Sets password hashes (from secrets) with `chpasswd -e`, on stdin.
fn set_hashes(root: &Path, a: &Answer, secrets: &BTreeMap<String, String>) -> Result<usize> {
    let mut lines = String::new();
    let mut n = 0;
    let mut add = |user: &str, secret: &Option<String>| -> Result<()> {
        if let Some(name) = secret {
            let hash = secrets.get(name).with_context(|| format!("no secret named {name:?}"))?;
            lines.push_str(&format!("{user}:{hash}\n"));
            n += 1;
        }
        Ok(())
    };
    add("root", &a.root.password)?;
    for u in &a.users {
        add(&u.name, &u.password)?;
    }
    if n > 0 {
        runner::Cmd::new("setting password hashes", "chpasswd")
            .args(["--encrypted", "--root"])
            .arg(root)
            .stdin_secret(&Secret::new(lines.into_bytes()))
            .run()?;
    }
    Ok(n)
}

/// The steps that change the machine, from partitioning to unmounting the target.
fn install_steps(
    o: &AutoOptions,
    steps: &mut Steps,
    a: &Answer,
    spec: &storage::StorageSpec,
    plan: &storage::Plan,
    secrets: &BTreeMap<String, String>,
) -> Result<install::InstallReport> {
    steps.run("partitioning, formatting, mounting", || {
        let named: BTreeMap<String, Secret> =
            secrets.iter().map(|(k, v)| (k.clone(), Secret::new(v.clone().into_bytes()))).collect();
        apply::apply(plan, &named, &probe::probe_system)?;
        Ok(())
    })?;
    let log = o.root.join("var/log/installer/install.log");
    runner::set_log_file(&log).with_context(|| format!("opening {}", log.display()))?;
    steps.run("writing the configuration", || {
        let dir = o.root.join("etc/nixos");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let snap = hardware::Snapshot::from_system();
        let found = hardware::detect(&snap, &o.root, true);
        install::write_file(
            &dir.join("hardware-configuration.nix"),
            &hardware::hardware_configuration(&found, snap.cpus),
            0o644,
        )?;
        let text = match &a.nix.file {
            Some(f) => {
                let f = o.answer.parent().unwrap_or(Path::new(".")).join(f);
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
            }
            None => answer::configuration_nix(a, &BootTarget::from_plan(plan, spec)),
        };
        install::write_file(&dir.join("configuration.nix"), &text, 0o644)
    })?;
    let opts = InstallOptions {
        root: o.root.clone(),
        source: o.source.clone(),
        no_root_passwd: true,
        no_bootloader: false,
        stage1: o.stage1.clone(),
        busybox: o.busybox.clone(),
    };
    let report = steps.run("installing the system and the bootloader", || install::install(&opts))?;
    steps.run("setting passwords", || set_hashes(&o.root, a, secrets).map(|_| ()))?;
    steps.run("saving the answer file and the log", || {
        install::write_file(&o.root.join("var/log/installer/answer.toml"), &answer::redacted(a), 0o600)
    })?;
    install::write_file(&o.root.join("var/log/installer/phases"), &phase_table(&steps.times), 0o644)?;
    runner::close_log_file();
    steps.run("unmounting the target", || {
        let _ = std::process::Command::new("sync").status();
        apply::teardown(&o.root, &[])
    })?;
    Ok(report)
}

/// Runs the whole unattended install. Returns the step times.
pub fn auto(o: &AutoOptions) -> Result<Vec<(String, f64)>> {
    let mut steps = Steps { n: 0, total: 8, times: vec![] };
    let (a, secrets) = steps
        .run("validating the answer file", || answer::load(&o.answer).map_err(|p| anyhow::anyhow!("{p}")))?;
    let spec = answer::storage_spec(&a);
    let plan = steps.run("probing disks and planning", || {
        let p = probe::probe_system()?;
        let plan = storage::plan(&spec, &p, &o.root)
            .map_err(|e| anyhow::anyhow!("{}: storage.{e}", o.answer.display()))?;
        print!("{plan}");
        Ok(plan)
    })?;
    if !o.yes {
        confirm(&plan)?;
    }
    let disks: Vec<String> = plan.target_disks().iter().map(|d| d.to_string()).collect();
    let report = match install_steps(o, &mut steps, &a, &spec, &plan, &secrets) {
        Ok(r) => r,
        Err(e) => {
            // Leave the machine as a re-run (or the user) expects it: nothing of the target mounted
            // or open.
            runner::close_log_file();
            eprintln!("installer: tearing down what the failed install opened");
            if let Err(t) = apply::teardown(&o.root, &disks) {
                eprintln!("installer: teardown: {t:#}");
            }
            return Err(e);
        }
    };
    let total: f64 = steps.times.iter().map(|(_, s)| s).sum();
    eprintln!(
        "installer: installed generation {} in {total:.0}s ({} files copied); bootloader: {}",
        report.generation, report.copy.copied_files, report.bootloader
    );
    let mut times = steps.times.clone();
    times.push(("total".into(), total));
    eprint!("{}", phase_table(&times));
    if !o.no_finish {
        match a.finish.action {
            FinishAction::Reboot => {
                eprintln!("installer: rebooting");
                runner::Cmd::new("rebooting", "systemctl").arg("reboot").run()?;
            }
            FinishAction::Poweroff => {
                eprintln!("installer: powering off");
                runner::Cmd::new("powering off", "systemctl").arg("poweroff").run()?;
            }
            FinishAction::None => {}
        }
    }
    Ok(times)
}
