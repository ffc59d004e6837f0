//! Loop devices: the one place in the workspace that allows unsafe code.
//!
//! Attaching a file needs two ioctls (`LOOP_CTL_GET_FREE` on /dev/loop-control, `LOOP_SET_FD` on
//! the device). The `nix` crate has no safe wrapper for them (its `ioctl_*!` macros generate
//! `unsafe fn`s), and the `loopdev` crate generates its bindings with bindgen at build time, which
//! the design keeps out of the build (libclang on every build machine, for two constants). So
//! this module makes the two calls itself: each takes only integers (a descriptor it owns, and
//! for `LOOP_SET_FD` the backing file's descriptor, open for the call); no pointers cross.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_SET_FD: libc::c_ulong = 0x4C00;

/// Attaches `file` read-only to a free loop device and returns the device path.
pub fn loop_attach(file: &Path) -> io::Result<PathBuf> {
    let ctl = File::options().read(true).write(true).open("/dev/loop-control")?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument; `ctl` is open for the call.
    let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE as _) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let dev = PathBuf::from(format!("/dev/loop{n}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dev.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let lo = File::open(&dev)?;
    let backing = File::open(file)?;
    // SAFETY: both descriptors are open; LOOP_SET_FD takes the backing descriptor by value.
    if unsafe { libc::ioctl(lo.as_raw_fd(), LOOP_SET_FD as _, backing.as_raw_fd()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(dev)
}
