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

    /// Starts draining `stream` (appending to the log file) on a thread. With `menus`, the thread
    /// answers boot-loader menus (see [`MenuSkipper`]) on the same line.
    pub(crate) fn attach(&self, stream: UnixStream, echo: bool, menus: bool) -> Result<()> {
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
        let mut reply = if menus { stream.try_clone().ok() } else { None };
        std::thread::spawn(move || {
            let mut stream = stream;
            let mut chunk = [0u8; 4096];
            let mut skipper = MenuSkipper::default();
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if let Some(w) = reply.as_mut() {
                            for _ in 0..skipper.feed(&chunk[..n]) {
                                let _ = w.write_all(b"\r");
                            }
                        }
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

/// Boot-loader menus wait for their timeout (GRUB 5 s, systemd-boot 5 s on an installed system) unless
/// someone presses Enter, as a person in front of the machine would. Fed the serial output, it
/// says when to press Enter: once per menu shown (GRUB's "Press enter to boot the selected OS",
/// systemd-boot's "Boot in N s."), then not again until a kernel starts (so a menu that is still
/// counting down gets one Enter, not one per second).
#[derive(Debug)]
pub(crate) struct MenuSkipper {
    pending: Vec<u8>,
    armed: bool,
}

impl Default for MenuSkipper {
    fn default() -> Self {
        MenuSkipper { pending: vec![], armed: true }
    }
}

impl MenuSkipper {
    const KEEP: usize = 256;

    /// Takes more output; returns how many times to press Enter now.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> usize {
        static MENU: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
        static KERNEL: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
        let menu = MENU.get_or_init(|| {
            regex::bytes::Regex::new(r"Press enter to boot the selected OS|Boot in \d+ s\.").unwrap()
        });
        let kernel = KERNEL.get_or_init(|| regex::bytes::Regex::new(r"Linux version |EFI stub: ").unwrap());
        self.pending.extend_from_slice(bytes);
        let mut presses = 0;
        loop {
            let re = if self.armed { menu } else { kernel };
            let Some(m) = re.find(&self.pending) else { break };
            if self.armed {
                presses += 1;
            }
            self.armed = !self.armed;
            self.pending.drain(..m.end());
        }
        let excess = self.pending.len().saturating_sub(Self::KEEP);
        self.pending.drain(..excess);
        presses
    }
}

#[cfg(test)]
mod tests {
    use super::MenuSkipper;

    #[test]
    fn one_enter_per_menu_until_a_kernel_starts() {
        let mut s = MenuSkipper::default();
        assert_eq!(s.feed(b"GNU GRUB  version 2.06\r\n      Press enter to boot"), 0);
        assert_eq!(s.feed(b" the selected OS, `e' to edit"), 1, "a pattern split across reads");
        assert_eq!(s.feed(b"The highlighted entry... Press enter to boot the selected OS"), 0, "redrawn");
        assert_eq!(s.feed(b"[    0.000000] Linux version 6.1.0"), 0);
        assert_eq!(s.feed(b"reboot ... Boot in 5 s. Boot in 4 s."), 1, "systemd-boot after a reboot");
        assert_eq!(s.feed(b"EFI stub: Loaded initrd ... Boot in 3 s."), 1);
        assert_eq!(s.feed(&[b'x'; 10_000]), 0);
        assert!(s.pending.len() <= MenuSkipper::KEEP);
    }
}
