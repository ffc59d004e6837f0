//! Power-cut points for tests. With `INSTALLER_FAILPOINT=<point>` in its environment the installer
//! stops when it reaches that point: it writes the point's name to `/run/installer/failpoint` and
//! waits there, touching nothing more, until the machine is killed. The VM tests then boot again
//! and run the same answer, which must finish the install (`installer/tests/guest_auto.rs`: a
//! subset in `cargo xtask test`, every point in `cargo xtask soak`).
//!
//! Without the variable (every real install) a point costs one comparison.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// Every point, in the order an install reaches them. Storage points are `after:<action>` for
/// each kind of action of the storage plan (the first action of that kind: with several, that is
/// inside the phase).
pub const POINTS: &[&str] = &[
    // Partitioning, LUKS, LVM, RAID, formatting and mounting (storage/apply.rs).
    "after:wipe",
    "after:partition",
    "after:md-create",
    "after:luks-format",
    "after:luks-open",
    "after:pv-create",
    "after:vg-create",
    "after:lv-create",
    "after:mkfs",
    "after:btrfs-subvolumes",
    "after:mkswap",
    "after:mount",
    "after:swap-on",
    // The session's steps (session.rs).
    "after:storage",
    "after:configuration",
    // The install (install/mod.rs, generation.rs, bootloader.rs).
    "after:evaluate",
    "copy:started",
    "copy:half",
    "after:copy",
    "after:activate",
    "after:initrd",
    "generation:kernel",
    "generation:initrd",
    "after:generation",
    "bootloader:kernels",
    "bootloader:installed",
    "after:bootloader",
    // The session's last steps.
    "after:install",
    "after:passwords",
    "after:answer",
];

/// Where a reached point is announced.
pub const MARKER: &str = "/run/installer/failpoint";

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED.get_or_init(|| std::env::var("INSTALLER_FAILPOINT").ok().filter(|p| !p.is_empty())).as_deref()
}

/// Stops here for good when `point` is the armed one (see the module's text). `point` must be one
/// of [`POINTS`].
pub fn hit(point: &str) {
    debug_assert!(POINTS.contains(&point), "unknown failpoint {point}");
    if armed() != Some(point) {
        return;
    }
    if let Some(dir) = Path::new(MARKER).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(MARKER, point);
    tracing::warn!("failpoint {point} reached; waiting to be killed");
    eprintln!("installer: failpoint {point} reached; waiting to be killed");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_unique_and_enough() {
        let mut seen = std::collections::BTreeSet::new();
        for p in POINTS {
            assert!(seen.insert(*p), "{p} twice");
        }
        assert!(POINTS.len() >= 20);
    }

    #[test]
    fn an_unarmed_point_returns() {
        // The variable is not set in unit tests.
        hit("after:copy");
    }
}
