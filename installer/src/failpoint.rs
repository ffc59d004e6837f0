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

/// The storage points: `after:<kind>` after the first action of each kind of the storage plan
/// (storage/apply.rs; with several actions of a kind, that is inside the phase).
pub const STORAGE_POINTS: &[&str] = &[
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
    "after:mk-swap",
    "after:mount",
    "after:swap-on",
];

/// The points between and inside the session's steps and the install's, in the order an install
/// reaches them.
pub const STEP_POINTS: &[&str] = &[
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

/// Every point: [`STORAGE_POINTS`] then [`STEP_POINTS`].
pub fn all() -> Vec<&'static str> {
    STORAGE_POINTS.iter().chain(STEP_POINTS).copied().collect()
}

/// Where a reached point is announced.
pub const MARKER: &str = "/run/installer/failpoint";

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED.get_or_init(|| std::env::var("INSTALLER_FAILPOINT").ok().filter(|p| !p.is_empty())).as_deref()
}

/// Stops here for good when `point` is the armed one (see the module's text). `point` must be one
/// of [`all`].
pub fn hit(point: &str) {
    debug_assert!(all().contains(&point), "unknown failpoint {point}");
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
        for p in all() {
            assert!(seen.insert(p), "{p} twice");
        }
        assert!(seen.len() >= 20);
    }

    #[test]
    fn an_unarmed_point_returns() {
        // The variable is not set in unit tests.
        hit("after:copy");
    }
}
