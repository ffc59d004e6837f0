//! Saved machine states ("boot once, resume many times"): `<VM_HARNESS_DIR>/saved/<key>/` holds a
//! QEMU migration stream (`state`), the disks as they were (`disk<N>.qcow2`, backing files of the
//! resumed machines' overlays), the UEFI variables, the serial log of the boot, and `complete` once
//! all of it is written. A lock file per key makes one process boot and save while the others
//! wait, across test processes. `cargo xtask test` clears the folder at the start of each run.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

pub fn root() -> PathBuf {
    crate::base_dir().join("saved")
}

/// One saved state, locked for this process while the value lives.
#[derive(Debug)]
pub struct Saved {
    dir: PathBuf,
    _lock: File,
}

impl Saved {
    /// Waits for and takes the lock of `key`'s state.
    pub fn lock(key: &str) -> Result<Self> {
        let root = root();
        std::fs::create_dir_all(&root).ctx(|| format!("creating {}", root.display()))?;
        let path = root.join(format!("{key}.lock"));
        let lock = crate::slots::lock_file(&path)?;
        lock.lock().ctx(|| format!("locking {}", path.display()))?;
        Ok(Saved { dir: root.join(key), _lock: lock })
    }

    pub fn is_complete(&self) -> bool {
        self.dir.join("complete").exists()
    }

    /// Empties the folder for a new save.
    pub fn clear(&self) -> Result<()> {
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(&self.dir).ctx(|| format!("creating {}", self.dir.display()))
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Moves (or copies) `from` into the folder as `name`.
    pub fn take_file(&self, from: &Path, name: &str) -> Result<()> {
        let to = self.dir.join(name);
        std::fs::rename(from, &to)
            .or_else(|_| std::fs::copy(from, &to).map(|_| ()))
            .ctx(|| format!("saving {} as {}", from.display(), to.display()))
    }

    /// Writes the boot's serial log, how long the boot took (start to ready) and how long the
    /// command before the save took, and marks the state complete.
    pub fn complete(
        &self,
        serial: &[u8],
        boot_secs: Option<f64>,
        before_save_secs: Option<f64>,
    ) -> Result<()> {
        std::fs::write(self.dir.join("serial.log"), serial).ctx(|| "writing the saved serial log".into())?;
        for (name, secs) in [("boot-secs", boot_secs), ("before-save-secs", before_save_secs)] {
            if let Some(secs) = secs {
                std::fs::write(self.dir.join(name), format!("{secs}\n"))
                    .ctx(|| format!("writing the saved state's {name}"))?;
            }
        }
        std::fs::write(self.dir.join("complete"), b"").ctx(|| "marking the saved state complete".into())
    }

    fn secs(&self, name: &str) -> Option<f64> {
        std::fs::read_to_string(self.dir.join(name)).ok()?.trim().parse().ok()
    }

    /// How long the boot that saved this state took, start to ready.
    pub fn boot_secs(&self) -> Option<f64> {
        self.secs("boot-secs")
    }

    /// How long the command run before the save took (see `MachineBuilder::before_save`).
    pub fn before_save_secs(&self) -> Option<f64> {
        self.secs("before-save-secs")
    }

    pub fn serial_log(&self) -> Result<Vec<u8>> {
        let p = self.dir.join("serial.log");
        std::fs::read(&p).ctx(|| format!("reading {}", p.display()))
    }
}
