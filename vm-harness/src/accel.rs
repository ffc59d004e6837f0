//! Choosing the accelerator. KVM is used only when a probe shows that it really boots a kernel here
//! (on some hosts `/dev/kvm` exists but QEMU hangs or aborts with it); otherwise TCG.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    /// `VM_HARNESS_ACCEL=kvm|tcg`; TCG when unset or unknown.
    pub fn from_env() -> Accel {
        match std::env::var("VM_HARNESS_ACCEL").as_deref() {
            Ok("kvm") => Accel::Kvm,
            _ => Accel::Tcg,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    /// TCG machines get QEMU's default CPU model (qemu64: the x86-64 baseline our images must boot
    /// on); `VM_HARNESS_CPU=MODEL` overrides it for experiments. `max` (AES-NI, SSE4.2, AVX…) was
    /// measured: an encrypted install was 4% faster, within the day's noise, so the baseline stays.
    pub(crate) fn qemu_args(self) -> Vec<String> {
        match self {
            Accel::Kvm => vec!["-accel".into(), "kvm".into(), "-cpu".into(), "host".into()],
            Accel::Tcg => {
                let mut a = vec!["-accel".into(), "tcg".into()];
                if let Ok(cpu) = std::env::var("VM_HARNESS_CPU") {
                    a.extend(["-cpu".into(), cpu]);
                }
                a
            }
        }
    }
}

/// The marker the test initrd prints when booted with `vmharness.probe` on its command line.
pub const PROBE_MARKER: &str = "vmharness-probe-ok";

/// Boots `kernel`+`initrd` (the test initrd) with KVM and reports whether it reached its init within
/// `timeout`. Any hang, abort or missing `/dev/kvm` counts as "no".
pub fn probe_kvm(kernel: &Path, initrd: &Path, timeout: Duration) -> bool {
    if std::fs::File::options().read(true).write(true).open("/dev/kvm").is_err() {
        return false;
    }
    let child = Command::new("qemu-system-x86_64")
        .args(["-accel", "kvm", "-cpu", "host", "-M", "q35", "-m", "256", "-nodefaults"])
        .args(["-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 vmharness.probe panic=-1 quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains(PROBE_MARKER) {
                let _ = tx.send(true);
                return;
            }
        }
        let _ = tx.send(false);
    });
    let start = Instant::now();
    let ok = rx.recv_timeout(timeout.saturating_sub(start.elapsed())).unwrap_or(false);
    let _ = child.kill();
    let _ = child.wait();
    ok
}
