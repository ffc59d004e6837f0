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

/// Keeps every event, with its time (`"time"`: seconds since the epoch), as a JSON line in a
/// file (the target's `/var/log/installer/events.jsonl` once it is mounted; the events before
/// are held until the file is opened) and passes each on to the reporter it wraps.
pub struct EventLog {
    inner: Arc<dyn Reporter>,
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    held: Vec<String>,
    file: Option<std::fs::File>,
    closed: bool,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventLog")
    }
}

impl EventLog {
    pub fn new(inner: Arc<dyn Reporter>) -> EventLog {
        EventLog { inner, state: Mutex::new(LogState::default()) }
    }

    /// The event as a line of the log.
    pub fn line(event: &Event, time: std::time::SystemTime) -> String {
        let mut v = serde_json::to_value(event).expect("events serialize");
        let t = time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        v["time"] = serde_json::json!((t * 1000.0).round() / 1000.0);
        v.to_string() + "\n"
    }

    /// Appends to `path` (mode 0600, created with it) from now on, starting with what was held.
    pub fn open(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for line in st.held.drain(..) {
            f.write_all(line.as_bytes())?;
        }
        st.file = Some(f);
        Ok(())
    }

    /// Stops writing (the target is about to be unmounted); later events are dropped.
    pub fn close(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = st.file.take() {
            let _ = f.sync_all();
        }
        st.held = vec![];
        st.closed = true;
    }
}

impl Reporter for EventLog {
    fn report(&self, event: Event) {
        let line = Self::line(&event, std::time::SystemTime::now());
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let st = &mut *st;
            match st.file.as_mut() {
                Some(f) => {
                    let _ = f.write_all(line.as_bytes());
                }
                None if !st.closed && st.held.len() < 100_000 => st.held.push(line),
                None => {}
            }
        }
        self.inner.report(event)
    }
}

/// Numbered steps: reports start, end (with the time) or failure of each.
pub struct Steps {
    n: usize,
    total: usize,
    reporter: Arc<dyn Reporter>,
    /// Each finished step's name and seconds.
    pub times: Vec<(String, f64)>,
    /// The step that failed, with its error.
    pub failed: Option<(String, String)>,
}

impl std::fmt::Debug for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Steps").field("n", &self.n).field("total", &self.total).finish()
    }
}

impl Steps {
    pub fn new(total: usize, reporter: Arc<dyn Reporter>) -> Self {
        Steps { n: 0, total, reporter, times: vec![], failed: None }
    }

    /// Counts `more` steps beyond those announced (e.g. the late hooks, when the answer has them).
    pub fn add_steps(&mut self, more: usize) {
        self.total += more;
    }

    pub fn reporter(&self) -> Arc<dyn Reporter> {
        self.reporter.clone()
    }

    /// Reports through `reporter` from now on (e.g. an [`EventLog`] around the one before).
    pub fn set_reporter(&mut self, reporter: Arc<dyn Reporter>) {
        self.reporter = reporter;
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
                self.failed = Some((name.to_string(), format!("{e:#}")));
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
    fn the_event_log_holds_events_until_opened_and_passes_each_on() {
        let seen = Arc::new(Mutex::new(vec![]));
        let s2 = seen.clone();
        let log = EventLog::new(Arc::new(Forward(move |e: Event| s2.lock().unwrap().push(e))));
        log.report(Event::Info { message: "before".into() });
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("var/log/installer/events.jsonl");
        log.open(&path).unwrap();
        log.report(Event::Stage { stage: Stage::Copy });
        log.close();
        log.report(Event::Info { message: "after".into() });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["event"], "info");
        assert_eq!(lines[0]["message"], "before");
        assert_eq!(lines[1]["stage"], "copy");
        assert!(lines[1]["time"].as_f64().unwrap() > 1.7e9);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(seen.lock().unwrap().len(), 3, "every event is passed on");
    }

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
