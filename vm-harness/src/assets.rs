//! The assets tests boot: the cached Debian kernel and the harness's test initrd. `cargo xtask
//! assets` (run by `cargo xtask test`) prepares them and writes their paths to a manifest.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const MANIFEST_NAME: &str = "test-assets.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TestAssets {
    /// The Debian kernel image (`vmlinuz-<version>`).
    pub kernel: PathBuf,
    /// `uname -r` of that kernel.
    pub kernel_version: String,
    /// The unpacked kernel package root (holds `lib/modules/<version>` with depmod's files).
    pub kernel_root: PathBuf,
    /// busybox + agent + storage/virtio modules (see [`crate::testimage`]).
    pub initrd: PathBuf,
    /// The static guest agent binary.
    pub agent: PathBuf,
    /// The Debian test root (squashfs): the live package set, the kernel's modules and the agent.
    pub debian_root: PathBuf,
    /// The live test ISO (our stage-1, the live system with the agent), when built.
    #[serde(default)]
    pub live_iso: Option<PathBuf>,
    /// The same image built as a release (no agent), for comparison.
    #[serde(default)]
    pub release_iso: Option<PathBuf>,
    /// The release image as shipped (xz squashfs, no agent) in `images/dist/`, when built:
    /// `cargo xtask soak` and `cargo xtask bench image` build it (it takes minutes to compress).
    #[serde(default)]
    pub dist_iso: Option<PathBuf>,
    /// A test CA the live test image's stage-1 trusts, with a server certificate (for the
    /// guest's view of the host, 10.0.2.2) signed by it: `ca.pem`, `server.pem`, `server.key`.
    #[serde(default)]
    pub test_ca: Option<PathBuf>,
    /// The static release build of `installer`, the one the images carry (for guests that boot
    /// the Debian test root, which has none).
    #[serde(default)]
    pub installer: Option<PathBuf>,
}

impl TestAssets {
    /// A machine booting [`TestAssets::debian_root`] (see [`crate::testimage::debian_machine`]).
    pub fn debian_machine(&self, name: &str) -> crate::MachineBuilder {
        crate::testimage::debian_machine(name, self, &self.debian_root)
    }

    pub fn modules_dir(&self) -> PathBuf {
        self.kernel_root.join("lib/modules").join(&self.kernel_version)
    }

    /// Reads the manifest named by `VM_HARNESS_ASSETS`, or `target/test-assets.json` in the first
    /// ancestor of the current directory that has one.
    pub fn load() -> Result<Self> {
        let path = match std::env::var_os("VM_HARNESS_ASSETS") {
            Some(p) => PathBuf::from(p),
            None => find_default().ok_or_else(|| {
                Error::Setup(format!(
                    "no {MANIFEST_NAME} found: run `cargo xtask assets` (or `cargo xtask test`) first"
                ))
            })?,
        };
        Self::read(&path)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Setup(format!("reading {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| Error::Setup(format!("parsing {}: {e}", path.display())))
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("serializable");
        std::fs::write(path, text).map_err(|e| Error::Setup(format!("writing {}: {e}", path.display())))
    }
}

fn find_default() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join("target").join(MANIFEST_NAME)).find(|p| p.is_file())
}
