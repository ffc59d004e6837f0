//! `installer auto --answer FILE`: the unattended install. validate → probe → plan → apply →
//! hardware-configuration.nix → configuration.nix from the answer → install (evaluate, copy,
//! activate, initrd, bootloader) → password hashes → the answer (secrets removed) and the log into
//! the target → the on-finish action. Each step reports a start and an end event with its time
//! (lines, or JSON with `--progress=json`); running the same command again after a crash or power
//! cut does the whole job again. The engine is [`crate::session`], shared with the TUI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::answer::{self, FinishAction};
use crate::cli::refused;
use crate::finish;
use crate::progress::{Event, JsonLines, Lines, Reporter, Steps};
use crate::report::Remote;
use crate::session::{self, ExecOptions};
use crate::storage::{self, probe};

/// How `installer auto` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProgressFormat {
    /// Lines on stderr (a bar on a terminal).
    #[default]
    Lines,
    /// One JSON object per event on stdout.
    Json,
}

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
    pub progress: ProgressFormat,
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

/// Runs the answer's early hooks (they may rewrite the answer file); when one fails, the error
/// hooks run and the install stops with nothing touched.
fn early_hooks(a: &answer::Answer, o: &AutoOptions, reporter: &dyn Reporter) -> Result<()> {
    use crate::hooks::{self, HookEnv};
    let env = HookEnv {
        answer: o.answer.clone(),
        root: o.root.clone(),
        disks: vec![],
        hostname: a.system.hostname.clone(),
        failed: None,
    };
    if let Err(e) = hooks::run(&a.hooks, answer::HookWhen::Early, &env, reporter) {
        let env = HookEnv { failed: Some(("the early hooks".into(), format!("{e:#}"))), ..env };
        if let Err(h) = hooks::run(&a.hooks, answer::HookWhen::Error, &env, reporter) {
            reporter.report(Event::Warning { message: format!("{h:#}") });
        }
        return Err(e.context("nothing was touched"));
    }
    Ok(())
}

/// Runs the whole unattended install. Returns the step times.
pub fn auto(o: &AutoOptions) -> Result<Vec<(String, f64)>> {
    let base: Arc<dyn Reporter> = match o.progress {
        ProgressFormat::Lines => Arc::new(Lines::stderr()),
        ProgressFormat::Json => Arc::new(JsonLines),
    };
    let remote = Arc::new(Remote::new(base));
    let reporter: Arc<dyn Reporter> = remote.clone();
    let finishing = |f: &answer::FinishSection| !o.no_finish && f.action != FinishAction::None;
    let result = install(o, reporter.clone(), &remote).inspect(|(_, f)| {
        if finishing(f) {
            finish::prepare_and_wait(f.wait_for_removal, reporter.as_ref());
        }
    });
    // The report endpoint gets its last events before the machine reboots or powers off.
    if let Some(dropped @ 1..) = remote.finish(Duration::from_secs(30)) {
        reporter.report(Event::Warning { message: format!("{dropped} progress reports could not be sent") });
    }
    let (times, f) = result?;
    if finishing(&f) {
        let what = if f.action == FinishAction::Reboot { "rebooting" } else { "powering off" };
        reporter.report(Event::Info { message: what.into() });
        finish::power(f.action)?;
    }
    Ok(times)
}

/// The install itself, reporting through `reporter` (`remote` learns the answer's `[report]`).
fn install(
    o: &AutoOptions,
    reporter: Arc<dyn Reporter>,
    remote: &Remote,
) -> Result<(Vec<(String, f64)>, answer::FinishSection)> {
    let who = format!("installer auto --answer {} (pid {})", o.answer.display(), std::process::id());
    let _lock = refused(
        session::InstallLock::acquire(&who)
            .map_err(|holder| anyhow::anyhow!("another install is running: {holder}; nothing was touched")),
    )?;
    let mut steps = Steps::new(2 + session::EXECUTE_STEPS, reporter.clone());
    let (a, secrets) = refused(steps.run("validating the answer file", || {
        let (a, secrets) = answer::load(&o.answer).map_err(|p| anyhow::anyhow!("{p}"))?;
        early_hooks(&a, o, reporter.as_ref())?;
        if !a.hooks.iter().any(|h| h.when == answer::HookWhen::Early) {
            return Ok((a, secrets));
        }
        // What the early hooks left is the answer: validated again (its early hooks do not run twice).
        answer::load(&o.answer).map_err(|p| anyhow::anyhow!("after the early hooks: {p}"))
    }))?;
    remote.configure(crate::report::destination(&a, &secrets, &o.stage1));
    if !a.interactive.is_empty() {
        return refused(Err(anyhow::anyhow!(
            "{} asks for sections in the TUI ([interactive]): run `installer tui --answer {}`",
            o.answer.display(),
            o.answer.display()
        )));
    }
    let prepared = refused(steps.run("probing disks and planning", || {
        let p = probe::probe_system()?;
        let base = o.answer.parent().unwrap_or(Path::new("."));
        let prepared = session::prepare(&a, &p, &o.root, base).map_err(|problems| {
            let lines: Vec<String> =
                problems.iter().map(|p| format!("{}: {p}", o.answer.display())).collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        })?;
        if o.progress == ProgressFormat::Lines {
            print!("{}", prepared.plan);
        }
        Ok(prepared)
    }))?;
    if !o.yes {
        refused(confirm(&prepared.plan))?;
    }
    let exec = ExecOptions {
        root: o.root.clone(),
        source: o.source.clone(),
        stage1: o.stage1.clone(),
        busybox: o.busybox.clone(),
    };
    let report = session::execute(&prepared, &secrets, &exec, &mut steps)?;
    let total: f64 = steps.times.iter().map(|(_, s)| s).sum();
    reporter.report(Event::Info {
        message: format!(
            "installed generation {} in {total:.0}s ({} files copied); bootloader: {}",
            report.generation, report.copy.copied_files, report.bootloader
        ),
    });
    let mut times = steps.times.clone();
    times.push(("total".into(), total));
    if o.progress == ProgressFormat::Lines {
        eprint!("{}", session::phase_table(&times));
    }
    Ok((times, a.finish.clone()))
}
