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

    /// TCG machines get [`TCG_CPU`]; `VM_HARNESS_CPU=MODEL` overrides it for experiments. One host
    /// thread runs all of a TCG machine's vCPUs in turn (`thread=single`): the guest sees as many
    /// CPUs as it is given (what matters to it: Argon2's threads, the scheduler), and the host's
    /// two cores still run two machines at once. Multi-threaded TCG (QEMU's default) put four
    /// busy threads on two cores when two 2-vCPU machines ran, slowed the calibration's read of
    /// the live root 3.3 times, and left a 2-vCPU UEFI guest with both CPUs in soft lockups for
    /// ten minutes (2026-12-08).
    pub(crate) fn qemu_args(self) -> Vec<String> {
        match self {
            Accel::Kvm => vec!["-accel".into(), "kvm".into(), "-cpu".into(), "host".into()],
            Accel::Tcg => {
                let cpu = std::env::var("VM_HARNESS_CPU").unwrap_or_else(|_| TCG_CPU.to_string());
                vec!["-accel".into(), "tcg,thread=single".into(), "-cpu".into(), cpu]
            }
        }
    }
}

/// The CPU TCG emulates: QEMU's `qemu64` raised to x86-64-v2 with AES-NI, which every x86-64
/// machine of the last fifteen years has. AES-NI is what matters: without it the guest encrypts
/// dm-crypt volumes in software, at half the speed of TCG's AES helpers (measured here: 256 MiB
/// through LUKS2 in 10.8 s on plain qemu64, 5.7 s with these; an unattended LUKS2 install, 133 s
/// of installing before, 107 s after); booting and reading the squashfs stayed within the noise.
/// PCLMULQDQ needs SSSE3 beside it (the 6.1 kernel's crct10dif-pclmul uses PSHUFB and faults on
/// a CPU that has one without the other, which no real one does). `max` was measured slower:
/// reading the live squashfs took 52 s against 35 s.
pub const TCG_CPU: &str = "qemu64,+aes,+pclmulqdq,+ssse3,+sse4.1,+sse4.2,+popcnt";

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
