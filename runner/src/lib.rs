//! The command runner: every subprocess of the installer, the image builder and the bootloader code
//! goes through [`Cmd::run`]. It logs the command line (with secrets redacted) through `tracing` and,
//! when set, to a log file; passes secrets only on stdin; captures stdout and stderr; and on failure
//! returns an error that names what was being done, the command, its status and the end of stderr.

pub mod mountinfo;

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

/// Failure of one command.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{what}: cannot run `{cmdline}`: {source}")]
    Spawn { what: String, cmdline: String, source: std::io::Error },
    #[error("{what}: `{cmdline}` failed ({status}){}", stderr_suffix(.stderr))]
    Failed { what: String, cmdline: String, status: String, stdout: String, stderr: String },
}

fn stderr_suffix(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = t.lines().collect();
        format!(": {}", lines[lines.len().saturating_sub(8)..].join("\n"))
    }
}

/// What a successful command printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// A secret value: never printed by `Debug`/`Display`, never put on a command line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
enum Stdin {
    Null,
    Data(Vec<u8>),
    Secret(Secret),
}

/// A command to run.
#[derive(Debug, Clone)]
pub struct Cmd {
    what: String,
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    stdin: Stdin,
    /// Text to blank out of anything logged or returned (e.g. a passphrase that a tool echoes).
    redact: Vec<String>,
    /// Exit codes besides 0 that mean success (e.g. blkid's 2: "nothing found").
    ok_codes: Vec<i32>,
}

impl Cmd {
    /// `what` says what the command is for, in a few lowercase words ("creating the GPT on /dev/vda").
    pub fn new(what: impl Into<String>, program: impl Into<OsString>) -> Self {
        Cmd {
            what: what.into(),
            program: program.into(),
            args: vec![],
            env: vec![],
            cwd: None,
            stdin: Stdin::Null,
            redact: vec![],
            ok_codes: vec![],
        }
    }
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Stdin::Data(data.into());
        self
    }
    /// Feeds a secret on stdin; its text is also redacted from captured output.
    pub fn stdin_secret(mut self, s: &Secret) -> Self {
        let text = String::from_utf8_lossy(s.expose()).trim_end_matches('\n').to_string();
        if !text.is_empty() {
            self.redact.push(text);
        }
        self.stdin = Stdin::Secret(s.clone());
        self
    }
    /// Treats these exit codes as success too.
    pub fn ok_codes(mut self, codes: &[i32]) -> Self {
        self.ok_codes.extend_from_slice(codes);
        self
    }
    pub fn what(&self) -> &str {
        &self.what
    }
    pub fn program(&self) -> &OsString {
        &self.program
    }
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The command line as logged (shell-quoted, secrets redacted).
    pub fn display(&self) -> String {
        let mut s = quote(&self.program.to_string_lossy());
        for a in &self.args {
            s.push(' ');
            s.push_str(&quote(&a.to_string_lossy()));
        }
        if matches!(self.stdin, Stdin::Secret(_)) {
            s.push_str(" <<< (secret)");
        }
        self.scrub(&s)
    }

    fn scrub(&self, text: &str) -> String {
        let mut t = text.to_string();
        for r in &self.redact {
            t = t.replace(r.as_str(), "***");
        }
        t
    }

    /// Runs the command through the process-wide log (see [`set_log_file`]).
    pub fn run(&self) -> Result<Output, RunError> {
        self.run_inner(None).map(|(o, _)| o)
    }

    /// Like [`Cmd::run`], for a command whose output is bytes, not text (a binary keymap): its
    /// stdout as it is (not logged, not scrubbed).
    pub fn run_bytes(&self) -> Result<Vec<u8>, RunError> {
        self.run_inner(None).map(|(_, raw)| raw)
    }

    /// Like [`Cmd::run`], and hands each piece of stdout to `piece` as it comes: the text up to
    /// each end of line or carriage return (a progress bar redraws its line with `\r`), without
    /// that end, and not scrubbed of [`Cmd::redact`]ed text: for a command whose output is
    /// progress, not secrets. The returned stdout has it all.
    pub fn run_streaming(&self, piece: &mut dyn FnMut(&str)) -> Result<Output, RunError> {
        self.run_inner(Some(piece)).map(|(o, _)| o)
    }

    /// Runs the command: its output as text, and its stdout's bytes.
    fn run_inner(&self, piece: Option<&mut dyn FnMut(&str)>) -> Result<(Output, Vec<u8>), RunError> {
        let cmdline = self.display();
        let started = Instant::now();
        tracing::info!(what = %self.what, "run: {cmdline}");
        log_line(&format!("$ {cmdline}    # {}", self.what));
        if let Some(o) = OBSERVER.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            o(&self.what, &cmdline);
        }
        let mut c = Command::new(&self.program);
        c.args(&self.args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.stdin(if matches!(self.stdin, Stdin::Null) { Stdio::null() } else { Stdio::piped() });
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        let mut child = c.spawn().map_err(|source| {
            log_line(&format!("  ! cannot run: {source}"));
            RunError::Spawn { what: self.what.clone(), cmdline: cmdline.clone(), source }
        })?;
        let data = match &self.stdin {
            Stdin::Null => None,
            Stdin::Data(d) => Some(d.clone()),
            Stdin::Secret(s) => Some(s.expose().to_vec()),
        };
        let writer = data.map(|d| {
            let mut stdin = child.stdin.take().expect("piped stdin");
            std::thread::spawn(move || {
                let _ = stdin.write_all(&d);
            })
        });
        let spawn_error =
            |source| RunError::Spawn { what: self.what.clone(), cmdline: cmdline.clone(), source };
        let out = match piece {
            None => child.wait_with_output().map_err(spawn_error)?,
            Some(piece) => {
                let mut stderr = child.stderr.take().expect("piped stderr");
                let errors = std::thread::spawn(move || {
                    let mut all = vec![];
                    std::io::Read::read_to_end(&mut stderr, &mut all).map(|_| all)
                });
                let stdout = child.stdout.take().expect("piped stdout");
                let stdout = read_pieces(stdout, piece).map_err(spawn_error)?;
                let stderr = errors.join().unwrap_or_else(|_| Ok(vec![])).map_err(spawn_error)?;
                let status = child.wait().map_err(spawn_error)?;
                std::process::Output { status, stdout, stderr }
            }
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        let stdout = self.scrub(&String::from_utf8_lossy(&out.stdout));
        let stderr = self.scrub(&String::from_utf8_lossy(&out.stderr));
        let secs = started.elapsed().as_secs_f64();
        for line in stderr.lines().take(50) {
            log_line(&format!("  | {line}"));
        }
        if !out.status.success() && !out.status.code().is_some_and(|c| self.ok_codes.contains(&c)) {
            log_line(&format!("  ! {} after {secs:.1}s", out.status));
            tracing::warn!(what = %self.what, "failed: {cmdline}: {}", out.status);
            return Err(RunError::Failed {
                what: self.what.clone(),
                cmdline,
                status: out.status.to_string(),
                stdout,
                stderr,
            });
        }
        tracing::debug!(what = %self.what, "ok in {secs:.1}s");
        Ok((Output { stdout, stderr }, out.stdout))
    }
}

/// Reads `from` to its end, handing `piece` the text before each `\n` or `\r` (and what is left
/// at the end); returns all that was read.
fn read_pieces(mut from: impl std::io::Read, piece: &mut dyn FnMut(&str)) -> std::io::Result<Vec<u8>> {
    let (mut all, mut buf, mut start) = (vec![], [0u8; 4096], 0);
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        all.extend_from_slice(&buf[..n]);
        while let Some(end) = all[start..].iter().position(|b| *b == b'\n' || *b == b'\r') {
            piece(&String::from_utf8_lossy(&all[start..start + end]));
            start += end + 1;
        }
    }
    if start < all.len() {
        piece(&String::from_utf8_lossy(&all[start..]));
    }
    Ok(all)
}

/// A word as a POSIX shell reads it back (an argument cannot hold NUL, which shlex refuses).
fn quote(s: &str) -> String {
    shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_else(|_| format!("{s:?}"))
}

static LOG: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Told of every command (what it is for, its redacted command line) before it runs.
pub type Observer = Box<dyn Fn(&str, &str) + Send + Sync>;
static OBSERVER: Mutex<Option<Observer>> = Mutex::new(None);

/// Sets (or with `None` clears) the process-wide command observer: front ends show commands as
/// they run.
pub fn set_observer(o: Option<Observer>) {
    *OBSERVER.lock().unwrap_or_else(|e| e.into_inner()) = o;
}

/// Also append every command (redacted) and its stderr to `path`.
pub fn set_log_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Commands are logged redacted, but their context (devices, names) is nobody else's business:
    // the log is 0600 from its creation.
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::File::options().create(true).append(true).mode(0o600).open(path)?;
    *LOG.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
    Ok(())
}

/// Stops logging to the file (so that its filesystem can be unmounted).
pub fn close_log_file() {
    *LOG.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Adds a line of findings (not a command) to the log file, as `# line`.
pub fn log_note(line: &str) {
    for l in line.lines() {
        log_line(&format!("# {l}"));
    }
}

fn log_line(line: &str) {
    if let Some(f) = LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = writeln!(f, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_hands_over_each_redrawn_line_and_keeps_the_whole_output() {
        let mut pieces = vec![];
        let out = Cmd::new("a progress bar", "sh")
            .args(["-c", "printf '\\r[=  ] 1/3\\r[== ] 2/3'; echo warn >&2; printf '\\r[===] 3/3\\ndone'"])
            .run_streaming(&mut |p| pieces.push(p.to_string()))
            .unwrap();
        assert_eq!(pieces, ["", "[=  ] 1/3", "[== ] 2/3", "[===] 3/3", "done"]);
        assert_eq!(out.stdout, "\r[=  ] 1/3\r[== ] 2/3\r[===] 3/3\ndone");
        assert_eq!(out.stderr, "warn\n");
        let err =
            Cmd::new("failing", "sh").args(["-c", "echo a; echo bad >&2; exit 3"]).run_streaming(&mut |_| {});
        assert!(err.unwrap_err().to_string().contains("bad"));
    }

    #[test]
    fn captures_and_reports_failure_with_context() {
        let out = Cmd::new("greeting", "sh").args(["-c", "echo hi; echo warn >&2"]).run().unwrap();
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(out.stderr, "warn\n");
        let err =
            Cmd::new("checking the disk", "sh").args(["-c", "echo broken >&2; exit 3"]).run().unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("checking the disk: `sh -c "), "{msg}");
        assert!(msg.contains("exit status: 3") && msg.ends_with(": broken"), "{msg}");
        let err = Cmd::new("x", "/nonexistent/tool").run().unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }));
    }

    #[test]
    fn the_logged_command_line_is_what_a_shell_reads_back() {
        let args = ["-n", "it's mine", "--key-file=-", "$HOME", "a b", ""];
        let line = Cmd::new("x", "mkfs.ext4").args(args).display();
        assert_eq!(shlex::split(&line).unwrap(), [&["mkfs.ext4"][..], &args[..]].concat());
        assert!(line.starts_with("mkfs.ext4 -n "), "{line}");
    }

    #[test]
    fn secrets_go_on_stdin_and_never_into_logs_or_errors() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("cmds.log");
        set_log_file(&log).unwrap();
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let out = Cmd::new("echoing", "sh")
            .args(["-c", "read p; echo got:$p"])
            .stdin_secret(&secret)
            .run()
            .unwrap();
        assert_eq!(out.stdout, "got:***\n");
        let err = Cmd::new("failing", "sh")
            .args(["-c", "read p; echo bad $p >&2; exit 1"])
            .stdin_secret(&secret)
            .run()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("<<< (secret)"));
        assert!(text.contains("bad ***"));
        assert!(!text.contains("hunter2"), "{text}");
        // The log is private from its creation.
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
