//! vm-harness: QEMU machines for tests, modelled on the NixOS test driver.
//!
//! ```no_run
//! use std::time::Duration;
//! use vm_harness::{machine, TestAssets};
//! let assets = TestAssets::load()?;
//! let mut m = machine("demo")
//!     .kernel(&assets.kernel, Some(assets.initrd.clone()), "console=ttyS0")
//!     .start()?;
//! m.wait_for_console_text("test-init: ready", Duration::from_secs(60))?;
//! assert_eq!(m.succeed("uname -r")?.trim(), assets.kernel_version);
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod accel;
pub mod agent;
pub mod assets;
pub mod console;
pub mod error;
pub mod http;
pub mod machine;
pub mod qmp;
pub mod saved;
pub mod slots;
pub mod testca;
pub mod testimage;
pub mod timing;

pub use accel::Accel;
pub use agent::Output;
pub use assets::TestAssets;
pub use error::{Error, Result};
pub use machine::{machine, Disk, DiskInterface, Firmware, Machine, MachineBuilder, Net};

use std::path::PathBuf;

/// Where machine logs and slot locks live: `VM_HARNESS_DIR`, or `<tmp>/vm-harness`.
pub fn base_dir() -> PathBuf {
    std::env::var_os("VM_HARNESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("vm-harness"))
}
