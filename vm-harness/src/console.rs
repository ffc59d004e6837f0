//! The serial console: a thread drains QEMU's serial socket into a log file and an in-memory buffer
//! that `wait_for_console_text` searches.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use regex::Regex;

use crate::error::{IoContext, Result};

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// Set when the socket closed (QEMU exited).
    closed: bool,
}

/// A handle on one machine's serial console; clones share the same buffer.
#[derive(Debug, Clone)]
pub struct Console {
    shared: Arc<(Mutex<Buffer>, Condvar)>,
    log_path: PathBuf,
    /// Where the next wait starts searching.
    cursor: Arc<Mutex<usize>>,
}

/// What a wait on the console ended with.
#[derive(Debug)]
pub enum WaitOutcome {
    Matched(String),
    TimedOut,
    Closed,
}

impl Console {
    pub(crate) fn new(log_path: PathBuf) -> Self {
        Self {
            shared: Arc::new((Mutex::new(Buffer::default()), Condvar::new())),
            log_path,
            cursor: Arc::new(Mutex::new(0)),
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Starts draining `stream` (appending to the log file) on a thread.
    pub(crate) fn attach(&self, stream: UnixStream, echo: bool) -> Result<()> {
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .ctx(|| format!("opening {}", self.log_path.display()))?;
        let shared = self.shared.clone();
        {
            let mut b = shared.0.lock().unwrap();
            b.closed = false;
        }
        std::thread::spawn(move || {
            let mut stream = stream;
            let mut chunk = [0u8; 4096];
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let _ = log.write_all(&chunk[..n]);
                        if echo {
                            let mut out = std::io::stdout().lock();
                            let _ = out.write_all(&chunk[..n]);
                            let _ = out.flush();
                        }
                        let (lock, cv) = &*shared;
                        lock.lock().unwrap().bytes.extend_from_slice(&chunk[..n]);
                        cv.notify_all();
                    }
                }
            }
            let (lock, cv) = &*shared;
            lock.lock().unwrap().closed = true;
            cv.notify_all();
        });
        Ok(())
    }

    /// Waits until `re` matches console output after the cursor; on a match the cursor moves past it.
    pub fn wait_for(&self, re: &Regex, timeout: Duration) -> WaitOutcome {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.shared;
        let mut buf = lock.lock().unwrap();
        loop {
            let start = *self.cursor.lock().unwrap();
            let text = String::from_utf8_lossy(&buf.bytes[start.min(buf.bytes.len())..]).into_owned();
            if let Some(m) = re.find(&text) {
                // Map the match end back to a byte offset; lossy conversion can change lengths, so
                // only advance when the prefix converted one to one.
                let advance = if text.len() == buf.bytes.len() - start { m.end() } else { 0 };
                *self.cursor.lock().unwrap() = start + advance;
                return WaitOutcome::Matched(m.as_str().to_string());
            }
            if buf.closed {
                return WaitOutcome::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return WaitOutcome::TimedOut;
            }
            buf = cv.wait_timeout(buf, deadline - now).unwrap().0;
        }
    }

    /// Everything the console printed since the machine was created (all boots).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.shared.0.lock().unwrap().bytes).into_owned()
    }

    /// The last `n` lines of output, for error messages.
    pub fn tail(&self, n: usize) -> String {
        let text = self.text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Adds output printed before this machine existed (the boot a saved state was taken from) to
    /// the buffer and the log, where the next wait finds it.
    pub(crate) fn preload(&self, bytes: &[u8]) -> Result<()> {
        File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .and_then(|mut f| f.write_all(bytes))
            .ctx(|| format!("writing {}", self.log_path.display()))?;
        self.shared.0.lock().unwrap().bytes.extend_from_slice(bytes);
        Ok(())
    }

    /// Moves the cursor to the end of what has been printed so far.
    pub fn skip_to_end(&self) {
        let len = self.shared.0.lock().unwrap().bytes.len();
        *self.cursor.lock().unwrap() = len;
    }
}
