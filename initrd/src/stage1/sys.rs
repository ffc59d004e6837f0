//! The few system calls stage-1 makes, as thin safe wrappers over libc.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// mount(2). `data` is the filesystem's option string.
pub fn mount(source: &str, target: &Path, fstype: &str, flags: libc::c_ulong, data: &str) -> io::Result<()> {
    std::fs::create_dir_all(target)?;
    let s = CString::new(source)?;
    let t = cstr(target)?;
    let f = CString::new(fstype)?;
    let d = CString::new(data)?;
    // SAFETY: every pointer is a valid NUL-terminated string for the duration of the call.
    check(unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, d.as_ptr().cast()) })
}

/// Moves a mount (MS_MOVE).
pub fn move_mount(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let s = cstr(from)?;
    let t = cstr(to)?;
    // SAFETY: valid C strings; the other arguments may be null for MS_MOVE.
    check(unsafe { libc::mount(s.as_ptr(), t.as_ptr(), std::ptr::null(), libc::MS_MOVE, std::ptr::null()) })
}

pub fn umount(target: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: valid C string.
    check(unsafe { libc::umount2(t.as_ptr(), 0) })
}

/// Loads an uncompressed module file with finit_module(2). EEXIST (already loaded) is success.
pub fn load_module(path: &Path, params: &str) -> io::Result<()> {
    let f = File::open(path)?;
    let p = CString::new(params)?;
    // SAFETY: the descriptor is open and the parameter string valid for the call.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), p.as_ptr(), 0) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EEXIST) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_SET_FD: libc::c_ulong = 0x4C00;

/// Attaches `file` read-only to a free loop device and returns the device path.
pub fn loop_attach(file: &Path) -> io::Result<PathBuf> {
    let ctl = File::options().read(true).write(true).open("/dev/loop-control")?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument.
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
    check(unsafe { libc::ioctl(lo.as_raw_fd(), LOOP_SET_FD as _, backing.as_raw_fd()) })?;
    Ok(dev)
}

/// Deletes the initramfs contents (not crossing into other filesystems), like switch_root does.
pub fn delete_initramfs(dir: &Path, root_dev: u64) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(md) = std::fs::symlink_metadata(&p) else { continue };
        if md.dev() != root_dev {
            continue;
        }
        if md.is_dir() {
            delete_initramfs(&p, root_dev);
            let _ = std::fs::remove_dir(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Makes `newroot` the root and executes `init` in it. Only returns on failure.
pub fn switch_root(newroot: &Path, init: &str) -> io::Error {
    use std::os::unix::fs::MetadataExt;
    let root_dev = match std::fs::metadata("/") {
        Ok(m) => m.dev(),
        Err(e) => return e,
    };
    if let Err(e) = std::env::set_current_dir(newroot) {
        return e;
    }
    delete_initramfs(Path::new("/"), root_dev);
    if let Err(e) = move_mount(Path::new("."), Path::new("/")) {
        return e;
    }
    let dot = CString::new(".").expect("no NUL");
    // SAFETY: valid C string.
    if unsafe { libc::chroot(dot.as_ptr()) } < 0 {
        return io::Error::last_os_error();
    }
    if let Err(e) = std::env::set_current_dir("/") {
        return e;
    }
    let prog = match CString::new(init) {
        Ok(p) => p,
        Err(e) => return io::Error::new(io::ErrorKind::InvalidInput, e),
    };
    let argv = [prog.as_ptr(), std::ptr::null()];
    // SAFETY: argv is a NULL-terminated array of valid C strings; execv only returns on error.
    unsafe { libc::execv(prog.as_ptr(), argv.as_ptr()) };
    io::Error::last_os_error()
}

/// Power off / reboot without returning (used after boot.panic_on_fail would be too harsh).
pub fn reboot_now() {
    // SAFETY: no pointers involved.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_AUTOBOOT);
    }
}

/// Asks on the console (stdin) for a line without echoing it; the trailing newline is dropped.
pub fn read_secret(prompt: &str) -> io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let fd = 0;
    // SAFETY: termios is plain data; tcgetattr fills it, or fails and we do not echo-toggle.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    let saved = term;
    if have_tty {
        term.c_lflag &= !libc::ECHO;
        term.c_lflag |= libc::ECHONL;
        // SAFETY: a valid termios for this descriptor.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    // The prompt only once echo is off: a passphrase typed (or sent by a script) as soon as the
    // prompt shows must not be echoed by the line discipline.
    let shown = {
        let mut out = io::stdout().lock();
        out.write_all(prompt.as_bytes()).and_then(|()| out.flush())
    };
    let mut line = vec![];
    let mut b = [0u8; 1];
    let r = if let Err(e) = shown {
        Err(e)
    } else {
        loop {
            match io::stdin().lock().read(&mut b) {
                Ok(0) => break Ok(()),
                Ok(_) if b[0] == b'\n' || b[0] == b'\r' => break Ok(()),
                Ok(_) => line.push(b[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        }
    };
    if have_tty {
        // SAFETY: restoring the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    r.map(|_| line)
}

/// Whether `path` exists inside `root`, following symlinks as they would resolve after
/// switch_root (absolute link targets are relative to `root`, not to the initrd).
pub fn exists_in_root(root: &Path, path: &str) -> bool {
    let mut parts: Vec<String> =
        path.split('/').filter(|p| !p.is_empty()).map(str::to_string).rev().collect();
    let mut cur = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = parts.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let next = cur.join(&part);
        let full = root.join(&next);
        match std::fs::symlink_metadata(&full) {
            Err(_) => return false,
            Ok(md) if md.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return false;
                }
                let Ok(target) = std::fs::read_link(&full) else { return false };
                let t = target.to_string_lossy().to_string();
                if t.starts_with('/') {
                    cur = PathBuf::new();
                }
                parts.extend(t.split('/').filter(|p| !p.is_empty()).map(str::to_string).rev());
            }
            Ok(_) => cur = next,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_new_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("usr/sbin")).unwrap();
        std::fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
        std::fs::write(r.join("usr/lib/systemd/systemd"), "").unwrap();
        std::os::unix::fs::symlink("usr/sbin", r.join("sbin")).unwrap();
        std::os::unix::fs::symlink("/lib/systemd/systemd", r.join("usr/sbin/init")).unwrap();
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        assert!(exists_in_root(r, "/sbin/init"));
        std::fs::remove_file(r.join("usr/lib/systemd/systemd")).unwrap();
        assert!(!exists_in_root(r, "/sbin/init"));
        std::os::unix::fs::symlink("/loop", r.join("loop")).unwrap();
        assert!(!exists_in_root(r, "/loop"));
    }
}

/// The size cap of the tmpfs that holds a live squashfs in RAM (downloaded, or copied with
/// `copytoram`): all of the memory but `reserve` for the system that runs from it. tmpfs's
/// default, half the memory, refuses a 240 MiB squashfs on a 512 MiB machine; without a cap, one
/// too large for the machine would end in the OOM killer instead of an error.
pub fn ram_tmpfs_options(meminfo: &str) -> String {
    const RESERVE_KIB: u64 = 128 << 10;
    let total_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
    match total_kib {
        Some(t) => format!("mode=0755,size={}k", t.saturating_sub(RESERVE_KIB).max(64 << 10)),
        None => "mode=0755,size=90%".to_string(),
    }
}

#[cfg(test)]
mod ram_tests {
    use super::ram_tmpfs_options;

    #[test]
    fn the_ram_tmpfs_takes_all_but_a_reserve() {
        assert_eq!(
            ram_tmpfs_options("MemTotal:         490000 kB\nMemFree: 1 kB\n"),
            "mode=0755,size=358928k"
        );
        assert_eq!(ram_tmpfs_options("MemTotal:  100000 kB\n"), "mode=0755,size=65536k");
        assert_eq!(ram_tmpfs_options(""), "mode=0755,size=90%");
    }
}
