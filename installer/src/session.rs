//! The install session both front ends drive: [`prepare`] (answer + probe → plan and
//! configuration.nix, or every problem with its field path) and [`execute`] (apply, configure,
//! install, bootloader, passwords; teardown on failure). `installer auto` and `installer tui` call
//! exactly these; neither prints nor prompts here: progress goes to a [`Reporter`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use runner::Secret;

use crate::answer::HookWhen;
use crate::answer::{self, Answer, BootTarget};
use crate::config::hardware;
use crate::failpoint;
use crate::hooks::{self, HookEnv};
use crate::install::{self, InstallOptions, InstallReport};
use crate::progress::{Event, EventLog, Steps};
use crate::storage::{self, apply, probe, Plan, Probe, StorageSpec};

/// A problem with an answer held in memory: the field at fault (`system.hostname`,
/// `storage.disk[0].partition[1].size`, …) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An answer checked against this machine: what will be done.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub answer: Answer,
    pub spec: StorageSpec,
    pub plan: Plan,
    /// The configuration.nix that will be written.
    pub configuration_nix: String,
}

/// Checks an answer held in memory (no file positions: front ends map fields to their widgets).
pub fn check(a: &Answer) -> Vec<FieldProblem> {
    answer::check(a).into_iter().map(|(field, message)| FieldProblem { field, message }).collect()
}

/// The planner's error as a problem of the answer's `storage` field.
fn plan_problem(e: &storage::PlanError) -> FieldProblem {
    let text = e.to_string();
    let field = e.field().to_string();
    let message = text.strip_prefix(&format!("{field}: ")).unwrap_or(&text).to_string();
    let field = if field.is_empty() { "storage".into() } else { format!("storage.{field}") };
    FieldProblem { field, message }
}

/// Checks `a` and plans it on the machine `probe` describes; `base` is where relative files of
/// the answer (`nix.file`) are. Nothing is written.
pub fn prepare(a: &Answer, probe: &Probe, target: &Path, base: &Path) -> Result<Prepared, Vec<FieldProblem>> {
    let problems = check(a);
    if !problems.is_empty() {
        return Err(problems);
    }
    let spec = answer::storage_spec(a);
    let plan = storage::plan(&spec, probe, target).map_err(|e| vec![plan_problem(&e)])?;
    let configuration_nix = match &a.nix.file {
        Some(f) => {
            let f = base.join(f);
            std::fs::read_to_string(&f).map_err(|e| {
                vec![FieldProblem { field: "nix.file".into(), message: format!("{}: {e}", f.display()) }]
            })?
        }
        None => answer::configuration_nix(a, &BootTarget::from_plan(&plan, &spec)),
    };
    Ok(Prepared { answer: a.clone(), spec, plan, configuration_nix })
}

/// Only one install runs at a time: the TUI on tty1, the one on the serial console, one over ssh
/// and `installer auto` take this lock before the first write; a second is told who holds it.
#[derive(Debug)]
pub struct InstallLock {
    _file: std::fs::File,
}

impl InstallLock {
    /// The lock file (`INSTALLER_LOCK` overrides it, for tests).
    pub fn path() -> PathBuf {
        std::env::var_os("INSTALLER_LOCK")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/run/installer/install.lock"))
    }

    fn open() -> std::io::Result<std::fs::File> {
        let path = Self::path();
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
    }

    /// Takes the lock for `who` (a description a second front end shows), or returns who holds it.
    pub fn acquire(who: &str) -> Result<InstallLock, String> {
        use std::io::{Read, Seek, Write};
        let mut f = Self::open().map_err(|e| format!("{}: {e}", Self::path().display()))?;
        match f.try_lock() {
            Ok(()) => {
                let _ = f.set_len(0);
                let _ = f.rewind();
                let _ = f.write_all(who.as_bytes());
                Ok(InstallLock { _file: f })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                Err(if holder.trim().is_empty() {
                    "another installer".into()
                } else {
                    holder.trim().to_string()
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(format!("{}: {e}", Self::path().display())),
        }
    }

    /// Who holds the lock now, if anyone.
    pub fn holder() -> Option<String> {
        use std::io::Read;
        let mut f = Self::open().ok()?;
        match f.try_lock() {
            Ok(()) => None,
            Err(_) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                Some(holder.trim().to_string())
            }
        }
    }
}

/// Where the install goes and what it copies.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub root: PathBuf,
    pub source: PathBuf,
    pub stage1: PathBuf,
    pub busybox: PathBuf,
}

/// The number of steps [`execute`] reports.
pub const EXECUTE_STEPS: usize = 6;

/// Sets password hashes (from secrets) with `chpasswd -e`, on stdin.
fn set_hashes(root: &Path, a: &Answer, secrets: &BTreeMap<String, String>) -> Result<usize> {
    let mut lines = String::new();
    let mut n = 0;
    let mut add = |user: &str, secret: &Option<String>| -> Result<()> {
        if let Some(name) = secret {
            let hash =
                secrets.get(name).with_context(|| format!("{user}'s password secret was not given"))?;
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

/// Step times as lines `   12.3s  step`.
pub fn phase_table(times: &[(String, f64)]) -> String {
    times.iter().map(|(n, s)| format!("{s:8.1}s  {n}\n")).collect()
}

/// Runs the plan and the install: [`EXECUTE_STEPS`] steps counted on `steps`. On failure what the
/// install opened or mounted is torn down, so that running it again starts clean.
pub fn execute(
    p: &Prepared,
    secrets: &BTreeMap<String, String>,
    o: &ExecOptions,
    steps: &mut Steps,
) -> Result<InstallReport> {
    // Every event of the install is kept in the target too (a fleet's collector reads it there).
    let events = Arc::new(EventLog::new(steps.reporter()));
    steps.set_reporter(events.clone());
    let reporter = steps.reporter();
    let observer = reporter.clone();
    runner::set_observer(Some(Box::new(move |what: &str, cmdline: &str| {
        observer.report(Event::Command { what: what.to_string(), cmdline: cmdline.to_string() })
    })));
    // Commands run after this session are not its own.
    struct ClearObserver;
    impl Drop for ClearObserver {
        fn drop(&mut self) {
            runner::set_observer(None);
        }
    }
    let _clear = ClearObserver;
    let disks: Vec<String> = p.plan.target_disks().iter().map(|d| d.to_string()).collect();
    if p.answer.hooks.iter().any(|h| h.when == HookWhen::Late) {
        steps.add_steps(1);
    }
    let hook_env = HookEnv {
        answer: o.root.join("etc/installer/answer.toml"),
        root: o.root.clone(),
        disks: disks.clone(),
        hostname: p.answer.system.hostname.clone(),
        failed: None,
    };
    match execute_steps(p, secrets, o, steps, &events, &hook_env) {
        Ok(r) => Ok(r),
        Err(e) => {
            if p.answer.hooks.iter().any(|h| h.when == HookWhen::Error) {
                let failed = steps.failed.clone().unwrap_or_else(|| ("the install".into(), format!("{e:#}")));
                let env = HookEnv { failed: Some(failed), ..hook_env };
                if let Err(h) = hooks::run(&p.answer.hooks, HookWhen::Error, &env, reporter.as_ref()) {
                    reporter.report(Event::Warning { message: format!("{h:#}") });
                }
            }
            events.close();
            runner::close_log_file();
            reporter.report(Event::Info { message: "tearing down what the failed install opened".into() });
            if let Err(t) = apply::teardown(&o.root, &disks) {
                reporter.report(Event::Warning { message: format!("teardown: {t:#}") });
            }
            Err(e)
        }
    }
}

fn execute_steps(
    p: &Prepared,
    secrets: &BTreeMap<String, String>,
    o: &ExecOptions,
    steps: &mut Steps,
    events: &EventLog,
    hook_env: &HookEnv,
) -> Result<InstallReport> {
    let reporter = steps.reporter();
    steps.run("partitioning, formatting, mounting", || {
        let named: BTreeMap<String, Secret> =
            secrets.iter().map(|(k, v)| (k.clone(), Secret::new(v.clone().into_bytes()))).collect();
        apply::apply_reporting(&p.plan, &named, &probe::probe_system, reporter.as_ref())?;
        Ok(())
    })?;
    failpoint::hit("after:storage");
    let log = o.root.join("var/log/installer/install.log");
    runner::set_log_file(&log).with_context(|| format!("opening {}", log.display()))?;
    let event_log = o.root.join("var/log/installer/events.jsonl");
    events.open(&event_log).with_context(|| format!("opening {}", event_log.display()))?;
    steps.run("writing the configuration", || {
        let dir = o.root.join("etc/nixos");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let snap = hardware::Snapshot::from_system();
        let found = hardware::detect(&snap, &o.root, true);
        install::write_file(
            &dir.join("hardware-configuration.nix"),
            &hardware::hardware_configuration(&found),
            0o644,
        )?;
        install::write_file(&dir.join("configuration.nix"), &p.configuration_nix, 0o644)
    })?;
    failpoint::hit("after:configuration");
    let opts = InstallOptions {
        root: o.root.clone(),
        source: o.source.clone(),
        no_bootloader: false,
        stage1: o.stage1.clone(),
        busybox: o.busybox.clone(),
    };
    let report = steps
        .run("installing the system and the bootloader", || install::install(&opts, reporter.as_ref()))?;
    failpoint::hit("after:install");
    steps.run("setting passwords", || set_hashes(&o.root, &p.answer, secrets).map(|_| ()))?;
    failpoint::hit("after:passwords");
    steps.run("saving the answer file and the log", || {
        install::write_file(
            &o.root.join("var/log/installer/answer.toml"),
            &answer::redacted(&p.answer),
            0o600,
        )?;
        install::write_file(&o.root.join("etc/installer/answer.toml"), &answer::replayable(&p.answer), 0o600)
    })?;
    failpoint::hit("after:answer");
    if p.answer.hooks.iter().any(|h| h.when == HookWhen::Late) {
        steps.run("running the late hooks", || {
            hooks::run(&p.answer.hooks, HookWhen::Late, hook_env, reporter.as_ref()).map(|_| ())
        })?;
    }
    install::write_file(&o.root.join("var/log/installer/phases"), &phase_table(&steps.times), 0o644)?;
    events.close();
    runner::close_log_file();
    steps.run("unmounting the target", || {
        let _ = std::process::Command::new("sync").status();
        apply::teardown(&o.root, &[])
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::probe::ProbedDisk;

    fn disk(path: &str, serial: &str, gib: u64) -> ProbedDisk {
        ProbedDisk::blank(path, "QEMU HARDDISK", serial, gib << 30)
    }

    fn answer(text: &str) -> Answer {
        answer::parse(text, "t.toml").unwrap()
    }

    const EXT4: &str = r#"version = 1
[system]
hostname = "box"
[[storage.disk]]
match = { serial = "T" }
[[storage.disk.partition]]
size = "1MiB"
type = "bios-boot"
[[storage.disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#;

    #[test]
    fn a_second_installer_is_told_who_holds_the_lock() {
        let t = tempfile::tempdir().unwrap();
        std::env::set_var("INSTALLER_LOCK", t.path().join("lock"));
        assert_eq!(InstallLock::holder(), None);
        let held = InstallLock::acquire("installer tui on /dev/tty1 (pid 1)").unwrap();
        assert_eq!(InstallLock::acquire("other").unwrap_err(), "installer tui on /dev/tty1 (pid 1)");
        assert_eq!(InstallLock::holder().as_deref(), Some("installer tui on /dev/tty1 (pid 1)"));
        drop(held);
        // Other tests of this process may hold it for a moment: `holder()` (the TUI's tests) takes
        // it to look, and a child forked then keeps a copy of the descriptor until it execs.
        let again = (0..100)
            .find_map(|_| {
                InstallLock::acquire("second")
                    .inspect_err(|_| std::thread::sleep(std::time::Duration::from_millis(20)))
                    .ok()
            })
            .expect("the lock is free once its holder is gone");
        drop(again);
        std::env::remove_var("INSTALLER_LOCK");
    }

    #[test]
    fn prepare_plans_and_renders_the_configuration() {
        let probe = Probe { disks: vec![disk("/dev/vda", "T", 8)], uefi: false, system_bytes: None };
        let p = prepare(&answer(EXT4), &probe, Path::new("/mnt"), Path::new(".")).unwrap();
        assert_eq!(p.plan.target_disks(), vec!["/dev/vda"]);
        assert!(p.configuration_nix.contains("networking.hostName = \"box\";"), "{}", p.configuration_nix);
    }

    #[test]
    fn problems_name_their_fields_in_memory_and_on_this_machine() {
        let mut a = answer(EXT4);
        a.system.hostname = "bad host".into();
        let probe = Probe { disks: vec![disk("/dev/vda", "T", 8)], uefi: false, system_bytes: None };
        let e = prepare(&a, &probe, Path::new("/mnt"), Path::new(".")).unwrap_err();
        assert_eq!(e[0].field, "system.hostname");
        // A disk the machine does not have: the planner's field, under `storage`.
        let probe = Probe { disks: vec![disk("/dev/vda", "OTHER", 8)], uefi: false, system_bytes: None };
        let e = prepare(&answer(EXT4), &probe, Path::new("/mnt"), Path::new(".")).unwrap_err();
        assert_eq!(e[0].field, "storage.disk[0].match");
        assert!(e[0].message.starts_with("no disk matches"), "{}", e[0].message);
        // The boot medium is never a target.
        let mut medium = disk("/dev/vda", "T", 8);
        medium.boot_medium = true;
        let e = prepare(
            &answer(EXT4),
            &Probe { disks: vec![medium], uefi: false, system_bytes: None },
            Path::new("/mnt"),
            Path::new("."),
        )
        .unwrap_err();
        assert!(e[0].message.contains("booted from"), "{}", e[0].message);
    }
}
