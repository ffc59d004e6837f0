//! `installer tui`: the interactive installer, in the Elm architecture. [`model`] holds the state,
//! the messages and the pure `update`; [`view`] draws; this module is the runtime: the terminal,
//! a thread reading keys, worker threads for probing, evaluating and installing (each sends
//! messages back, so the screen never blocks), and the commands that leave the TUI for a while
//! (the editor, a shell). Logs go to /var/log/installer/tui.log, never over the screen.

pub mod data;
pub mod guided;
pub mod logs;
pub mod model;
pub mod view;
pub mod widgets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{self, Event as TermEvent};

use crate::answer::FinishAction;
use crate::progress::{Forward, Steps};
use crate::session::{self, ExecOptions};
use model::{update, Cmd, Model, Msg};

/// Where the TUI installs from and to.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    pub root: PathBuf,
    pub source: PathBuf,
    pub stage1: PathBuf,
    pub busybox: PathBuf,
    /// An answer whose sections prefill the forms.
    pub answer: Option<PathBuf>,
}

/// The TUI's log file (`/var/log/installer/tui.log`, or `INSTALLER_TUI_LOG`), opened for append.
pub fn log_file() -> Option<std::fs::File> {
    let path = std::env::var_os("INSTALLER_TUI_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| model::log_dir().join("tui.log"));
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).ok()?;
    }
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).ok()
}

impl TuiOptions {
    /// Where the given answer's relative files (`nix.file`) are.
    pub fn answer_dir(&self) -> PathBuf {
        self.answer.as_deref().and_then(Path::parent).unwrap_or(Path::new("/")).to_path_buf()
    }
}

/// Whether the terminal can only show ASCII (serial lines with TERM=vt100/vt220, or a non-UTF-8
/// locale); `INSTALLER_TUI_ASCII=0/1` decides instead.
pub fn ascii_terminal() -> bool {
    if let Ok(v) = std::env::var("INSTALLER_TUI_ASCII") {
        return v == "1";
    }
    let term = std::env::var("TERM").unwrap_or_default();
    let lang =
        ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
    let utf8 = lang.is_some_and(|l| l.to_ascii_uppercase().replace('-', "").contains("UTF8"));
    term.starts_with("vt") || term == "dumb" || (term != "linux" && !utf8)
}

/// The key reader: a thread that polls the terminal, and stops reading while something else
/// (the editor, a shell) owns the terminal.
struct Input {
    paused: Arc<AtomicBool>,
    parked: Arc<AtomicBool>,
}

impl Input {
    fn start(tx: Sender<Msg>) -> Input {
        let paused = Arc::new(AtomicBool::new(false));
        let parked = Arc::new(AtomicBool::new(false));
        let (p, k) = (paused.clone(), parked.clone());
        std::thread::spawn(move || loop {
            if p.load(Ordering::SeqCst) {
                k.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            k.store(false, Ordering::SeqCst);
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => match event::read() {
                    Ok(TermEvent::Key(key)) => {
                        // On a serial line an escape sequence can arrive in pieces: an Esc, then
                        // its characters. Wait a moment for them (as curses' ESCDELAY does).
                        let next = |wait: Duration| match event::poll(wait) {
                            Ok(true) => match event::read() {
                                Ok(TermEvent::Key(k)) => Some(k),
                                _ => None,
                            },
                            _ => None,
                        };
                        for key in widgets::reassemble(key, next) {
                            // Ctrl-L: draw everything again (as in curses programs).
                            let ctrl_l = key.code == crossterm::event::KeyCode::Char('l')
                                && key.modifiers.contains(crossterm::event::KeyModifiers::CONTROL);
                            if tx.send(if ctrl_l { Msg::Redraw } else { Msg::Key(key) }).is_err() {
                                return;
                            }
                        }
                    }
                    Ok(_) => {
                        // A resize (or focus, mouse): redraw.
                        if tx.send(Msg::Redraw).is_err() {
                            return;
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                },
                Ok(false) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        });
        Input { paused, parked }
    }

    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        while !self.parked.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

/// Clears the whole terminal and makes the next frame draw every cell. (ratatui's own `clear`
/// first asks the terminal where its cursor is: a serial line may never answer, and then it
/// neither clears nor redraws.)
fn clear(term: &mut ratatui::DefaultTerminal) -> std::io::Result<()> {
    use crossterm::terminal::{Clear, ClearType};
    crossterm::execute!(std::io::stdout(), Clear(ClearType::All), crossterm::cursor::MoveTo(0, 0))?;
    term.swap_buffers();
    Ok(())
}

/// Leaves the TUI's screen to run `f` on the plain terminal, then comes back.
fn outside<T>(term: &mut ratatui::DefaultTerminal, input: &Input, f: impl FnOnce() -> T) -> Result<T> {
    use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
    input.pause();
    crossterm::terminal::disable_raw_mode().ok();
    crossterm::execute!(std::io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show).ok();
    let out = f();
    crossterm::terminal::enable_raw_mode().context("raw mode")?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen).ok();
    clear(term).ok();
    input.resume();
    Ok(out)
}

/// Opens `text` in the editor (`$EDITOR`, else nano, else vi) and returns what was saved.
fn edit(name: &str, text: &str) -> Result<String> {
    let dir = Path::new("/run/installer/tui");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(name);
    crate::install::write_file(&file, text, 0o600)?;
    let editor = std::env::var("EDITOR").ok().filter(|e| !e.is_empty()).unwrap_or_else(|| {
        if Path::new("/usr/bin/nano").exists() || Path::new("/bin/nano").exists() {
            "nano".into()
        } else {
            "vi".into()
        }
    });
    let status = std::process::Command::new(&editor)
        .arg(&file)
        .status()
        .with_context(|| format!("running {editor}"))?;
    tracing::info!("editor {editor} exited with {status}");
    std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))
}

fn shell() {
    println!("\r\nA shell of the live system. Type `exit` to go back to the installer.\r");
    let sh = std::env::var("SHELL").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "/bin/bash".into());
    let _ = std::process::Command::new(sh).arg("-l").status();
}

/// Evaluates configuration.nix with the real evaluator, against a hardware configuration that is
/// only known after partitioning (so an empty one here).
fn evaluate(text: &str) -> Result<Vec<String>, String> {
    let dir = Path::new("/run/installer/tui/eval");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let hw = "# Written after partitioning; empty for this check.\n{ ... }:\n{ }\n";
    crate::install::write_file(&dir.join("hardware-configuration.nix"), hw, 0o644)
        .map_err(|e| format!("{e:#}"))?;
    crate::install::write_file(&dir.join("configuration.nix"), text, 0o644).map_err(|e| format!("{e:#}"))?;
    let v = crate::config::evaluate(&dir.join("configuration.nix"), None).map_err(|e| e.to_string())?;
    Ok(v["warnings"].as_array().into_iter().flatten().filter_map(|w| w.as_str().map(String::from)).collect())
}

/// Hashes passwords in memory (SHA-512 crypt); the clear text goes nowhere else.
pub fn hash_password(clear: &str) -> Result<String> {
    sha_crypt::sha512_simple(clear, &sha_crypt::Sha512Params::default())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e:?}"))
}

/// Who this front end is, for a second one to be told.
fn whoami() -> String {
    let tty = data::stdin_tty().unwrap_or_else(|| "?".into());
    let ssh =
        std::env::var("SSH_CONNECTION").ok().and_then(|s| s.split_whitespace().next().map(str::to_string));
    match ssh {
        Some(from) => format!("installer tui over ssh from {from} (pid {})", std::process::id()),
        None => format!("installer tui on {tty} (pid {})", std::process::id()),
    }
}

fn install(
    o: &TuiOptions,
    tx: Sender<Msg>,
    answer: crate::answer::Answer,
    passwords: BTreeMap<String, String>,
    mut secrets: BTreeMap<String, String>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let lock = session::InstallLock::acquire(&whoami()).map_err(|holder| holder.to_string())?;
    for (name, clear) in &passwords {
        secrets.insert(name.clone(), hash_password(clear).map_err(|e| format!("{e:#}"))?);
    }
    let o = o.clone();
    Ok(std::thread::spawn(move || {
        let _lock = lock;
        let fail = |step: &str, e: String| Msg::Installed(Err((step.to_string(), e)));
        let mut a = answer;
        a.secrets = secrets.clone();
        let probe = match crate::storage::probe::probe_system() {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(fail("probing disks", format!("{e:#}")));
                return;
            }
        };
        let prepared = match session::prepare(&a, &probe, &o.root, &o.answer_dir()) {
            Ok(p) => p,
            Err(problems) => {
                let text = problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n");
                let _ = tx.send(fail("planning", text));
                return;
            }
        };
        let exec = ExecOptions {
            root: o.root.clone(),
            source: o.source.clone(),
            stage1: o.stage1.clone(),
            busybox: o.busybox.clone(),
        };
        let events = tx.clone();
        // The answer's [report] endpoint hears of the TUI's install as of `installer auto`'s.
        let remote = Arc::new(crate::report::Remote::new(Arc::new(Forward(move |e| {
            let _ = events.send(Msg::Progress(e));
        }))));
        remote.configure(crate::report::destination(&prepared.answer, &secrets, &o.stage1));
        let mut steps = Steps::new(session::EXECUTE_STEPS, remote.clone());
        let result = session::execute(&prepared, &secrets, &exec, &mut steps);
        remote.finish(std::time::Duration::from_secs(10));
        let msg = match result {
            Ok(r) => {
                let total: f64 = steps.times.iter().map(|(_, s)| s).sum();
                Msg::Installed(Ok(format!(
                    "Installed generation {} in {total:.0} s ({} files copied); bootloader: {}.",
                    r.generation, r.copy.copied_files, r.bootloader
                )))
            }
            // The model names the step from the install's own step-failed event.
            Err(e) => Msg::Installed(Err(("install".into(), format!("{e:#}")))),
        };
        let _ = tx.send(msg);
    }))
}

/// The text of the TUI's last frame, kept in `/run/installer/tui/<terminal>.screen` (one line per
/// row): what the screen must show, for people helping from another console and for the tests
/// that compare it with what the console really shows (`/dev/vcsu1`). Written when it changes.
struct ScreenFile {
    path: Option<PathBuf>,
    last: String,
}

impl ScreenFile {
    fn for_this_terminal() -> ScreenFile {
        let path = data::stdin_tty().and_then(|t| {
            let name = t.strip_prefix("/dev/")?.replace('/', "-");
            Some(Path::new("/run/installer/tui").join(format!("{name}.screen")))
        });
        ScreenFile { path, last: Default::default() }
    }

    fn record(&mut self, buffer: &ratatui::buffer::Buffer) {
        let Some(path) = &self.path else { return };
        let text = screen_text(buffer);
        if self.last == text {
            return;
        }
        if let Err(e) = crate::install::write_file(path, &text, 0o644) {
            tracing::debug!("{}: {e:#}", path.display());
        }
        self.last = text;
    }
}

/// A frame's text, a line per row (a wide character's second cell adds nothing).
fn screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut s = String::with_capacity((area.width as usize + 1) * area.height as usize);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            s.push_str(buffer[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// When `installer tui` started (for the first frame's time in the log).
static PROCESS_START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Runs the TUI until the person quits or chooses what happens after the install.
pub fn run(o: &TuiOptions) -> Result<()> {
    PROCESS_START.get_or_init(Instant::now);
    let live = data::live();
    let mut m = Model::new(live, ascii_terminal());
    if let Some(path) = &o.answer {
        let (answer, secrets) = crate::answer::load(path).map_err(|p| anyhow::anyhow!("{p}"))?;
        m.start_from(model::Given { answer, secrets, dir: o.answer_dir() });
    }
    if let Some(holder) = session::InstallLock::holder() {
        m.held_by = Some(holder);
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    // Kernel messages on the console would scribble over the screen: errors only while the TUI
    // runs (the log keeps everything).
    let printk = Path::new("/proc/sys/kernel/printk");
    let saved_printk = std::fs::read_to_string(printk).ok();
    if saved_printk.is_some() && std::fs::write(printk, "3").is_err() {
        tracing::debug!("cannot lower the console log level (not root?)");
    }
    let mut term = ratatui::try_init().context("setting up the terminal")?;
    // The screen is the TUI's from its first frame: what the console showed before (the kernel's
    // messages, the login banner) goes. A Linux VT has no alternate screen to hide it.
    clear(&mut term).context("clearing the terminal")?;
    let input = Input::start(tx.clone());
    let result = event_loop(o, &mut m, &mut term, &input, tx, rx);
    ratatui::restore();
    if let Some(level) = saved_printk.as_deref().and_then(|s| s.split_whitespace().next()) {
        let _ = std::fs::write(printk, level);
    }
    // From memory: the medium may be gone (see crate::finish).
    match result? {
        Some(action) => crate::finish::power(action),
        None => Ok(()),
    }
}

/// Starts a command that runs beside the screen (its result comes back as a message); gives
/// back the others.
fn in_background(cmd: Cmd, tx: &Sender<Msg>) -> Option<Cmd> {
    let tx = tx.clone();
    match cmd {
        Cmd::Probe => {
            std::thread::spawn(move || {
                let p = crate::storage::probe::probe_system().map_err(|e| format!("{e:#}"));
                let _ = tx.send(Msg::Probed(p));
            });
        }
        Cmd::LoadKeymap(k) => {
            std::thread::spawn(move || {
                if let Err(e) = runner::Cmd::new("loading the keymap", "loadkeys").arg(&k).run() {
                    tracing::warn!("loadkeys {k}: {e}");
                }
            });
        }
        Cmd::Evaluate(text) => {
            std::thread::spawn(move || {
                let _ = tx.send(Msg::Evaluated(evaluate(&text)));
            });
        }
        Cmd::SaveLogs => {
            std::thread::spawn(move || {
                let _ = tx.send(Msg::LogsSaved(logs::save().map_err(|e| format!("{e:#}"))));
            });
        }
        other => return Some(other),
    }
    None
}

fn event_loop(
    o: &TuiOptions,
    m: &mut Model,
    term: &mut ratatui::DefaultTerminal,
    input: &Input,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
) -> Result<Option<FinishAction>> {
    let start = Instant::now();
    let mut first_frame = true;
    // When the keys of the current batch arrived (for `key to frame` times in the log).
    let mut key_at: Option<Instant> = None;
    let mut pending: Vec<Cmd> = vec![Cmd::Probe];
    let mut worker: Option<std::thread::JoinHandle<()>> = None;
    let mut redraw_all = false;
    // Whether something may have changed what the screen shows (a frame is only drawn then: a
    // serial line gets no bytes while nothing happens).
    let mut changed = true;
    let mut screen_file = ScreenFile::for_this_terminal();
    loop {
        changed |= !pending.is_empty();
        for cmd in std::mem::take(&mut pending) {
            tracing::debug!("command {:?}", std::mem::discriminant(&cmd));
            let Some(cmd) = in_background(cmd, &tx) else { continue };
            match cmd {
                Cmd::EditSpec(text) => {
                    let r = outside(term, input, || edit("storage.toml", &text))??;
                    pending.extend(update(m, Msg::SpecEdited(r)));
                }
                Cmd::EditNix(text) => {
                    let r = outside(term, input, || edit("extra.nix", &text))??;
                    pending.extend(update(m, Msg::NixEdited(r)));
                }
                Cmd::Install { answer, passwords, secrets } => {
                    match install(o, tx.clone(), *answer, passwords, secrets) {
                        Ok(h) => worker = Some(h),
                        Err(holder) => pending.extend(update(m, Msg::Busy(holder))),
                    }
                }
                Cmd::Shell => {
                    outside(term, input, shell)?;
                }
                Cmd::Finish(FinishAction::None) | Cmd::Quit => return Ok(None),
                Cmd::Finish(a) => return Ok(Some(a)),
                // Run by in_background.
                Cmd::Probe | Cmd::LoadKeymap(_) | Cmd::Evaluate(_) | Cmd::SaveLogs => {}
            }
        }
        if std::mem::take(&mut redraw_all) {
            clear(term).ok();
            changed = true;
        }
        // The Installing screen shows a clock.
        if std::mem::take(&mut changed) || m.step == model::Step::Installing {
            let frame = term.draw(|f| view::view(m, f)).context("drawing")?;
            screen_file.record(frame.buffer);
        }
        if std::mem::take(&mut first_frame) {
            let ms = PROCESS_START.get().map(|t| t.elapsed()).unwrap_or_default().as_secs_f64() * 1000.0;
            tracing::info!(target: "installer::tui::timing", "first frame after {ms:.1} ms");
        }
        if let Some(t) = key_at.take() {
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(target: "installer::tui::timing", "key to frame {ms:.1} ms");
        }
        // One message, waited for; then every message already queued (an install reports
        // thousands of copy events), and one frame for all of them.
        let mut msgs = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(msg) => vec![msg],
            Err(RecvTimeoutError::Timeout) => vec![],
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        };
        msgs.extend(rx.try_iter().take(10_000));
        changed |= !msgs.is_empty();
        if msgs.iter().any(|m| matches!(m, Msg::Key(_))) {
            key_at = Some(Instant::now());
        }
        update(m, Msg::Tick(start.elapsed().as_secs_f64()));
        for msg in msgs {
            match &msg {
                // A resize, or Ctrl-L: draw everything again (kernel messages may have been
                // printed over the screen).
                Msg::Redraw => {
                    redraw_all = true;
                    continue;
                }
                Msg::Installed(r) => {
                    tracing::info!("install ended: {r:?}");
                    if let Some(h) = worker.take() {
                        let _ = h.join();
                    }
                    // Before the Finish screen asks for the medium to be taken out.
                    if r.is_ok() {
                        if let Err(e) = crate::finish::prepare() {
                            tracing::warn!("{e:#}");
                        }
                    }
                }
                _ => {}
            }
            pending.extend(update(m, msg));
            if m.quit {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests;
