//! Progress reports to a fleet's endpoint (`[report]` in the answer): each progress event but
//! the per-command and per-file ones is POSTed as one JSON object (the event, with its `time`),
//! in order, by a background thread through the live system's HTTP client (`stage1 post`,
//! the bearer token on its stdin). A report never blocks or fails the install: events queue in
//! memory, a POST is tried three times, one that still fails is dropped and counted, and at the
//! end the queue gets a bounded time to drain.
//!
//! The reporter exists from the install's first event and holds what it gets until the answer
//! says where to send it ([`Remote::configure`]); without `[report]` it only passes events on.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::progress::{Event, EventLog, Reporter};

enum State {
    /// No destination known yet: lines held.
    Holding(Vec<String>),
    Sending(mpsc::Sender<String>),
    Off,
}

/// The reporter that sends events to the answer's `[report]` URL (and passes each on).
pub struct Remote {
    inner: Arc<dyn Reporter>,
    state: Mutex<State>,
    done: Mutex<Option<mpsc::Receiver<usize>>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Remote")
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: String,
    pub token: Option<runner::Secret>,
    /// The HTTP client: `stage1` (run as `stage1 post URL FILE [--bearer-stdin]`).
    pub poster: PathBuf,
    /// Pause after a failed POST (doubled after the second).
    pub pause: Duration,
}

/// Events that are reported (not each command line, not each file copied).
pub fn wanted(e: &Event) -> bool {
    !matches!(e, Event::Command { .. } | Event::Copy { .. })
}

impl Remote {
    pub fn new(inner: Arc<dyn Reporter>) -> Remote {
        Remote { inner, state: Mutex::new(State::Holding(vec![])), done: Mutex::new(None) }
    }

    /// Starts sending to `to` (what was held first), or, with `None`, stops holding.
    pub fn configure(&self, to: Option<Destination>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let held = match std::mem::replace(&mut *st, State::Off) {
            State::Holding(h) => h,
            _ => vec![],
        };
        let Some(to) = to else { return };
        let (tx, rx) = mpsc::channel::<String>();
        let (done_tx, done_rx) = mpsc::channel();
        for line in held {
            let _ = tx.send(line);
        }
        std::thread::spawn(move || {
            let mut dropped = 0;
            let dir = crate::private_dir::PrivateDir::new("report");
            for line in rx {
                let sent = match &dir {
                    Ok(d) => post_with_retries(&to, &line, &d.path().join("event.json")),
                    Err(_) => false,
                };
                if !sent {
                    dropped += 1;
                }
            }
            let _ = done_tx.send(dropped);
        });
        *st = State::Sending(tx);
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = Some(done_rx);
    }

    /// Closes the queue and waits up to `wait` for it to drain. Returns how many events were
    /// dropped, or `None` when there was nothing to send to or the time ran out.
    pub fn finish(&self, wait: Duration) -> Option<usize> {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = State::Off;
        let rx = self.done.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        rx.recv_timeout(wait).ok()
    }
}

impl Reporter for Remote {
    fn report(&self, event: Event) {
        if wanted(&event) {
            let line = EventLog::line(&event, std::time::SystemTime::now());
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *st {
                State::Holding(h) if h.len() < 10_000 => h.push(line),
                State::Sending(tx) => {
                    let _ = tx.send(line);
                }
                _ => {}
            }
        }
        self.inner.report(event)
    }
}

fn post_with_retries(to: &Destination, line: &str, file: &Path) -> bool {
    let mut pause = to.pause;
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(pause);
            pause *= 2;
        }
        if post(to, line, file).is_ok() {
            return true;
        }
    }
    false
}

/// One POST. The client runs outside the runner on purpose: the runner tells the install's
/// reporter of every command, and a report of each report would be sent again, and logged in the
/// install log between the install's own commands.
/// `file` (in the worker's private directory) holds the body while the client runs.
fn post(to: &Destination, line: &str, file: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?
        .write_all(line.trim_end().as_bytes())?;
    let mut c = std::process::Command::new(&to.poster);
    c.arg("post").arg(&to.url).arg(file);
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    if to.token.is_some() {
        c.arg("--bearer-stdin").stdin(std::process::Stdio::piped());
    } else {
        c.stdin(std::process::Stdio::null());
    }
    let mut child = c.spawn()?;
    if let (Some(t), Some(mut stdin)) = (&to.token, child.stdin.take()) {
        let _ = stdin.write_all(t.expose());
        let _ = stdin.write_all(b"\n");
    }
    let st = child.wait()?;
    let _ = std::fs::remove_file(file);
    if st.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{} post: {st}", to.poster.display())))
    }
}

/// The destination an answer names: its URL and its token's secret.
pub fn destination(
    a: &crate::answer::Answer,
    secrets: &std::collections::BTreeMap<String, String>,
    poster: &Path,
) -> Option<Destination> {
    let r = a.report.as_ref()?;
    let token =
        r.token.as_ref().and_then(|n| secrets.get(n)).map(|t| runner::Secret::new(t.clone().into_bytes()));
    Some(Destination {
        url: r.url.clone(),
        token,
        poster: poster.to_path_buf(),
        pause: Duration::from_secs(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl Reporter for Quiet {
        fn report(&self, _: Event) {}
    }

    /// A stand-in for `stage1 post` appending each body (and the token it read) to `t/got`,
    /// failing while `t/fail` has lines.
    fn poster(t: &Path) -> PathBuf {
        let p = t.join("poster");
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nif [ -s {t}/fail ]; then sed -i 1d {t}/fail; exit 1; fi\n\
                 tok=''; [ \"$4\" = --bearer-stdin ] && read -r tok\n\
                 {{ cat \"$3\"; echo \" $tok\"; }} >> {t}/got\n",
                t = t.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn step(n: usize, started: bool) -> Event {
        if started {
            Event::StepStarted { n, total: 2, step: format!("step {n}") }
        } else {
            Event::StepFinished { n, total: 2, step: format!("step {n}"), secs: 1.0 }
        }
    }

    #[test]
    fn events_held_before_the_answer_is_read_go_first_in_order_and_failures_are_retried() {
        let t = tempfile::tempdir().unwrap();
        let r = Remote::new(Arc::new(Quiet));
        r.report(step(1, true));
        r.report(Event::Command { what: "x".into(), cmdline: "ls".into() });
        r.report(step(1, false));
        std::fs::write(t.path().join("fail"), "1\n2\n").unwrap();
        r.configure(Some(Destination {
            url: "http://h/r".into(),
            token: Some(runner::Secret::new(b"tok-1".to_vec())),
            poster: poster(t.path()),
            pause: Duration::from_millis(10),
        }));
        r.report(step(2, true));
        r.report(step(2, false));
        assert_eq!(r.finish(Duration::from_secs(20)), Some(0));
        let got = std::fs::read_to_string(t.path().join("got")).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.len(), 4, "no command events: {got}");
        for (l, (n, kind)) in
            lines.iter().zip([(1, "started"), (1, "finished"), (2, "started"), (2, "finished")])
        {
            assert!(l.contains(&format!("\"n\":{n}")) && l.contains(&format!("step-{kind}")), "{got}");
            assert!(l.contains("\"time\":") && l.ends_with(" tok-1"), "{l}");
        }
    }

    #[test]
    fn an_endpoint_that_stays_down_never_blocks_the_install_and_its_events_are_counted_as_dropped() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("fail"), "1\n".repeat(100)).unwrap();
        let r = Remote::new(Arc::new(Quiet));
        r.configure(Some(Destination {
            url: "http://h/r".into(),
            token: None,
            poster: poster(t.path()),
            pause: Duration::from_millis(10),
        }));
        let start = std::time::Instant::now();
        for n in 1..=3 {
            r.report(step(n, true));
        }
        assert!(start.elapsed() < Duration::from_millis(500), "reporting does not wait for the network");
        assert_eq!(r.finish(Duration::from_secs(20)), Some(3));
        // Without [report]: nothing held, nothing sent.
        let off = Remote::new(Arc::new(Quiet));
        off.report(step(1, true));
        off.configure(None);
        assert_eq!(off.finish(Duration::from_secs(1)), None);
    }
}
