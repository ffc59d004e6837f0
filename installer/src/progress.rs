//! Typed progress events of the long steps, reported through a [`Reporter`]. Library code reports
//! events and never prints; front ends render them: [`Lines`] as the CLI's lines (a bar on a
//! terminal), [`JsonLines`] for `installer auto --progress=json`, the TUI as messages.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One thing that happened during an install.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// Step `n` of `total` started.
    StepStarted {
        n: usize,
        total: usize,
        step: String,
    },
    StepFinished {
        n: usize,
        total: usize,
        step: String,
        secs: f64,
    },
    StepFailed {
        n: usize,
        total: usize,
        step: String,
        error: String,
    },
    /// Storage action `n` of `total` (partition, format, open, mount …) is starting.
    Action {
        n: usize,
        total: usize,
        action: String,
    },
    /// The system copy: files and bytes done of their totals.
    Copy {
        files: u64,
        total_files: u64,
        bytes: u64,
        total_bytes: u64,
    },
    /// A command is being run (its redacted command line).
    Command {
        what: String,
        cmdline: String,
    },
    Warning {
        message: String,
    },
    /// The install (see [`crate::install::install`]) entered a stage.
    Stage {
        stage: Stage,
    },
    /// A line for the log (what the CLI printed as `installer: …`).
    Info {
        message: String,
    },
}

/// The stages of [`crate::install::install`], for front ends that show a gauge per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Evaluate,
    Copy,
    Activate,
    Initrd,
    Bootloader,
}

/// Where events go. Shared with worker threads, hence `Sync`.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// Drops every event (tests, and callers that only want the result).
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: Event) {}
}

/// Forwards events to a function (e.g. a channel sender).
pub struct Forward<F: Fn(Event) + Send + Sync>(pub F);

impl<F: Fn(Event) + Send + Sync> std::fmt::Debug for Forward<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Forward")
    }
}

impl<F: Fn(Event) + Send + Sync> Reporter for Forward<F> {
    fn report(&self, event: Event) {
        (self.0)(event)
    }
}

/// The CLI's rendering, on stderr: `installer: [n/N] step`, `… done in 1.2s`, copy progress as a
/// bar on a terminal (else a line per tenth), warnings as `warning: …`. Commands are not shown
/// (the runner logs each one).
#[derive(Debug)]
pub struct Lines {
    tty: bool,
    last_decile: Mutex<u64>,
}

impl Lines {
    pub fn stderr() -> Lines {
        use std::io::IsTerminal;
        Lines { tty: std::io::stderr().is_terminal(), last_decile: Mutex::new(u64::MAX) }
    }

    /// The text of an event as the CLI shows it (`None`: not shown).
    pub fn render(&self, event: &Event) -> Option<String> {
        Some(match event {
            Event::StepStarted { n, total, step } => format!("installer: [{n}/{total}] {step}\n"),
            Event::StepFinished { n, total, step, secs } => {
                format!("installer: [{n}/{total}] {step}: done in {secs:.1}s\n")
            }
            Event::StepFailed { n, total, step, .. } => format!("installer: [{n}/{total}] {step}: FAILED\n"),
            Event::Action { .. } | Event::Command { .. } | Event::Stage { .. } => return None,
            Event::Copy { files, total_files, bytes, total_bytes } => {
                let pct = (bytes * 100).checked_div(*total_bytes).unwrap_or(100);
                let line = format!(
                    "copying: {files}/{total_files} files, {}/{} MiB ({pct}%)",
                    bytes >> 20,
                    total_bytes >> 20
                );
                if self.tty {
                    let width = 30;
                    let filled = (pct as usize * width / 100).min(width);
                    let end = if files == total_files { "\n" } else { "" };
                    format!("\r[{}{}] {line}{end}", "#".repeat(filled), " ".repeat(width - filled))
                } else {
                    let mut last = self.last_decile.lock().unwrap_or_else(|e| e.into_inner());
                    if pct / 10 == *last {
                        return None;
                    }
                    *last = pct / 10;
                    format!("{line}\n")
                }
            }
            Event::Warning { message } => format!("warning: {message}\n"),
            Event::Info { message } => format!("installer: {message}\n"),
        })
    }
}

impl Reporter for Lines {
    fn report(&self, event: Event) {
        if let Some(text) = self.render(&event) {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}

/// One JSON object per line on stdout (`installer auto --progress=json`).
#[derive(Debug, Default)]
pub struct JsonLines;

impl JsonLines {
    pub fn render(event: &Event) -> String {
        serde_json::to_string(event).expect("events serialize") + "\n"
    }
}

impl Reporter for JsonLines {
    fn report(&self, event: Event) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(Self::render(&event).as_bytes());
        let _ = out.flush();
    }
}

/// Numbered steps: reports start, end (with the time) or failure of each.
pub struct Steps {
    n: usize,
    total: usize,
    reporter: Arc<dyn Reporter>,
    /// Each finished step's name and seconds.
    pub times: Vec<(String, f64)>,
}

impl std::fmt::Debug for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Steps").field("n", &self.n).field("total", &self.total).finish()
    }
}

impl Steps {
    pub fn new(total: usize, reporter: Arc<dyn Reporter>) -> Self {
        Steps { n: 0, total, reporter, times: vec![] }
    }

    pub fn reporter(&self) -> Arc<dyn Reporter> {
        self.reporter.clone()
    }

    /// Runs step `name`; a failure carries the step's name as context.
    pub fn run<T>(&mut self, name: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.n += 1;
        let (n, total) = (self.n, self.total);
        self.reporter.report(Event::StepStarted { n, total, step: name.into() });
        tracing::info!(step = name, "started");
        let t = std::time::Instant::now();
        match f() {
            Ok(v) => {
                let secs = t.elapsed().as_secs_f64();
                self.reporter.report(Event::StepFinished { n, total, step: name.into(), secs });
                self.times.push((name.to_string(), secs));
                Ok(v)
            }
            Err(e) => {
                self.reporter.report(Event::StepFailed {
                    n,
                    total,
                    step: name.into(),
                    error: format!("{e:#}"),
                });
                Err(e.context(format!("step {name:?} failed")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_render_steps_as_the_cli_printed_them() {
        let l = Lines { tty: false, last_decile: Mutex::new(u64::MAX) };
        let s = |e| l.render(&e);
        assert_eq!(
            s(Event::StepStarted { n: 2, total: 8, step: "probing".into() }).unwrap(),
            "installer: [2/8] probing\n"
        );
        assert_eq!(
            s(Event::StepFinished { n: 2, total: 8, step: "probing".into(), secs: 1.25 }).unwrap(),
            "installer: [2/8] probing: done in 1.2s\n"
        );
        assert_eq!(s(Event::Command { what: "x".into(), cmdline: "true".into() }), None);
        // Copy progress without a terminal: one line per tenth.
        let copy = |bytes| Event::Copy { files: 1, total_files: 10, bytes, total_bytes: 100 << 20 };
        assert!(s(copy(1 << 20)).unwrap().contains("(1%)"));
        assert_eq!(s(copy(5 << 20)), None);
        assert!(s(copy(12 << 20)).unwrap().contains("12/100 MiB (12%)"));
    }

    #[test]
    fn json_lines_are_tagged_objects() {
        let j = JsonLines::render(&Event::Copy { files: 3, total_files: 9, bytes: 10, total_bytes: 20 });
        assert_eq!(j, "{\"event\":\"copy\",\"files\":3,\"total_files\":9,\"bytes\":10,\"total_bytes\":20}\n");
    }

    #[test]
    fn a_failed_step_names_itself_and_reports_the_error() {
        let seen = Arc::new(Mutex::new(vec![]));
        let s2 = seen.clone();
        let mut steps = Steps::new(2, Arc::new(Forward(move |e| s2.lock().unwrap().push(e))));
        steps.run("one", || Ok(())).unwrap();
        let e = steps.run("two", || -> anyhow::Result<()> { anyhow::bail!("disk gone") }).unwrap_err();
        assert_eq!(format!("{e:#}"), "step \"two\" failed: disk gone");
        let seen = seen.lock().unwrap();
        assert!(matches!(&seen[3], Event::StepFailed { n: 2, error, .. } if error == "disk gone"));
        assert_eq!(steps.times.len(), 1);
    }
}
