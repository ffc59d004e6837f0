//! A cross-process limit on how many QEMU machines run at once (`VM_HARNESS_MAX_VMS`, default 2):
//! each running machine holds an advisory lock on one slot file under the harness directory.

use std::fs::File;
use std::time::Duration;

use crate::error::{IoContext, Result};

#[derive(Debug)]
pub struct Slot {
    _file: File,
    pub index: usize,
}

pub fn max_vms() -> usize {
    std::env::var("VM_HARNESS_MAX_VMS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(2)
}

/// Opens (creating) a file used only for its advisory lock.
pub(crate) fn lock_file(path: &std::path::Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx(|| format!("opening {}", path.display()))
}

/// Blocks until a slot is free and takes it; the slot is released when the returned value drops.
pub fn acquire() -> Result<Slot> {
    let dir = crate::base_dir().join("slots");
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let max = max_vms();
    let mut waited = false;
    loop {
        for index in 0..max {
            let file = lock_file(&dir.join(format!("slot-{index}.lock")))?;
            if file.try_lock().is_ok() {
                return Ok(Slot { _file: file, index });
            }
        }
        if !waited {
            tracing::info!("all {max} VM slots busy; waiting");
            waited = true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
