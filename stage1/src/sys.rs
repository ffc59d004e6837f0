//! The few system calls stage-1 makes, through the `nix` crate (no unsafe code here; the loop
//! device ioctls, which `nix` does not wrap, are in [`loopdev`]).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};

pub mod loopdev;

pub use loopdev::loop_attach;

fn io_err(e: nix::Error) -> io::Error {
    io::Error::from(e)
}

/// mount(2). `data` is the filesystem's option string.
pub fn mount(source: &str, target: &Path, fstype: &str, flags: libc::c_ulong, data: &str) -> io::Result<()> {
    std::fs::create_dir_all(target)?;
    nix::mount::mount(Some(source), target, Some(fstype), MsFlags::from_bits_truncate(flags), Some(data))
        .map_err(io_err)
}

/// Moves a mount (MS_MOVE).
pub fn move_mount(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    nix::mount::mount(Some(from), to, None::<&str>, MsFlags::MS_MOVE, None::<&str>).map_err(io_err)
}

pub fn umount(target: &Path) -> io::Result<()> {
    nix::mount::umount2(target, MntFlags::empty()).map_err(io_err)
}

/// Loads an uncompressed module file with finit_module(2). EEXIST (already loaded) is success.
pub fn load_module(path: &Path, params: &str) -> io::Result<()> {
    let f = File::open(path)?;
    let p = CString::new(params)?;
    match nix::kmod::finit_module(&f, &p, nix::kmod::ModuleInitFlags::empty()) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(io_err(e)),
    }
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
    if let Err(e) = nix::unistd::chroot(".") {
        return io_err(e);
    }
    if let Err(e) = std::env::set_current_dir("/") {
        return e;
    }
    let prog = match CString::new(init) {
        Ok(p) => p,
        Err(e) => return io::Error::new(io::ErrorKind::InvalidInput, e),
    };
    match nix::unistd::execv(&prog, &[&prog]) {
        Err(e) => io_err(e),
        Ok(never) => match never {},
    }
}

/// Reboots at once (after boot.panic_on_fail).
pub fn reboot_now() {
    nix::unistd::sync();
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT);
}

/// The consoles a person may type at: the kernel's active consoles
/// (`/sys/class/tty/console/active`, e.g. `tty0 ttyS0`), `tty0` standing for the VT in front
/// (`/sys/class/tty/tty0/active`). `/dev/console` is only the last of them: a person at the
/// screen and keyboard of a machine whose command line ends with `console=ttyS0` types on tty1.
pub fn consoles(sys_tty: &Path) -> Vec<String> {
    let Ok(active) = std::fs::read_to_string(sys_tty.join("console/active")) else { return vec![] };
    let mut out: Vec<String> = vec![];
    for name in active.split_whitespace() {
        let name = if name == "tty0" {
            match std::fs::read_to_string(sys_tty.join("tty0/active")) {
                Ok(vt) if !vt.trim().is_empty() => vt.trim().to_string(),
                _ => "tty1".to_string(),
            }
        } else {
            name.to_string()
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// A console opened for a secret: echo off until dropped.
struct Quiet {
    file: File,
    saved: Option<nix::sys::termios::Termios>,
}

impl Quiet {
    fn open(path: &Path) -> io::Result<Quiet> {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        use std::os::unix::fs::OpenOptionsExt;
        let file =
            std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOCTTY).open(path)?;
        let saved = tcgetattr(&file).ok();
        if let Some(t) = &saved {
            let mut quiet = t.clone();
            quiet.local_flags.remove(LocalFlags::ECHO);
            quiet.local_flags.insert(LocalFlags::ECHONL | LocalFlags::ICANON);
            let _ = tcsetattr(&file, SetArg::TCSANOW, &quiet);
        }
        Ok(Quiet { file, saved })
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(&self.file, nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

/// Asks for a line without echoing it on every console at once ([`consoles`]); whichever console
/// answers first gives it. The trailing newline is dropped. Without a console to open, asks on
/// /dev/console.
pub fn read_secret(prompt: &str) -> io::Result<Vec<u8>> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    let mut ttys: Vec<Quiet> = consoles(Path::new("/sys/class/tty"))
        .iter()
        .filter_map(|n| Quiet::open(&Path::new("/dev").join(n)).ok())
        .collect();
    if ttys.is_empty() {
        ttys.push(Quiet::open(Path::new("/dev/console"))?);
    }
    // The prompt only once echo is off: a passphrase typed (or sent by a script) as soon as the
    // prompt shows must not be echoed by the line discipline.
    for t in &mut ttys {
        let _ = t.file.write_all(prompt.as_bytes()).and_then(|()| t.file.flush());
    }
    let mut lines: Vec<Vec<u8>> = vec![vec![]; ttys.len()];
    loop {
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd> =
                ttys.iter().map(|t| PollFd::new(t.file.as_fd(), PollFlags::POLLIN)).collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(io_err(e)),
            }
            fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect()
        };
        for (i, r) in ready.iter().enumerate() {
            if !r {
                continue;
            }
            let mut buf = [0u8; 512];
            let n = match ttys[i].file.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A console that cannot be read (hung up) is asked no more.
                Err(_) => 0,
            };
            if n == 0 {
                ttys.remove(i);
                lines.remove(i);
                if ttys.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "no console to read a passphrase from",
                    ));
                }
                break;
            }
            lines[i].extend_from_slice(&buf[..n]);
            if let Some(end) = lines[i].iter().position(|&b| b == b'\n' || b == b'\r') {
                let mut line = std::mem::take(&mut lines[i]);
                line.truncate(end);
                // The other consoles still show the prompt: end their line.
                for (j, t) in ttys.iter_mut().enumerate() {
                    if j != i {
                        let _ = t.file.write_all(b"\n");
                    }
                }
                return Ok(line);
            }
        }
    }
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
