//! Timing records: every boot of a machine appends JSON lines to
//! `<VM_HARNESS_DIR>/timings/<pid>.jsonl` (`pid` of the test process), one when the guest is
//! first seen ready (the first console match or agent answer of that boot) and one when QEMU
//! stops. `cargo xtask test` reads them to print how long each test spent booting and running.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What happened to a machine, `secs` after its QEMU started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub pid: u32,
    pub machine: String,
    /// `ready`, `stop`, `resumed` (started from a saved state instead of booting), or `exec` (a
    /// guest command that took a while: `secs` is its duration, `detail` the command).
    pub event: String,
    pub secs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub fn dir() -> PathBuf {
    crate::base_dir().join("timings")
}

/// Appends one record for this process (best effort: timing never fails a test).
pub fn record(machine: &str, event: &str, secs: f64) {
    record_detail(machine, event, secs, None)
}

/// Guest commands that take at least this long are recorded (`exec`).
pub const LONG_COMMAND_SECS: f64 = 5.0;

/// [`record`] with a detail (the command of an `exec`).
pub fn record_detail(machine: &str, event: &str, secs: f64, detail: Option<&str>) {
    let r = Record {
        pid: std::process::id(),
        machine: machine.to_string(),
        event: event.to_string(),
        secs,
        detail: detail.map(str::to_string),
    };
    let d = dir();
    let _ = std::fs::create_dir_all(&d);
    if let Ok(mut f) =
        std::fs::File::options().create(true).append(true).open(d.join(format!("{}.jsonl", r.pid)))
    {
        if let Ok(line) = serde_json::to_string(&r) {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The records a process wrote (empty when none).
pub fn read(pid: u32) -> Vec<Record> {
    std::fs::read_to_string(dir().join(format!("{pid}.jsonl")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
