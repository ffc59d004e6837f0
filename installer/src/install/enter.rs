//! `installer enter` (nixos-enter): run a command or a login shell inside the installed system,
//! with /dev, /proc, /sys and /run available and the live system's resolv.conf.

use std::path::Path;

use anyhow::{bail, Context, Result};
use runner::Cmd;

/// Mounts what a chroot needs and unmounts it when dropped.
struct Binds {
    mounted: Vec<std::path::PathBuf>,
}

impl Drop for Binds {
    fn drop(&mut self) {
        for m in self.mounted.iter().rev() {
            let _ = Cmd::new("unmounting", "umount").arg("--lazy").arg(m).run();
        }
    }
}

fn is_mountpoint(p: &Path) -> bool {
    runner::mountinfo::read().unwrap_or_default().iter().any(|m| Path::new(&m.mountpoint) == p)
}

/// Mounts /dev, /proc, /sys and /run in `root` (what is not mounted there yet) and copies the
/// live system's resolv.conf; they are unmounted when the result is dropped.
pub(crate) fn chroot_mounts(root: &Path) -> Result<impl Drop> {
    let mut binds = Binds { mounted: vec![] };
    for (what, fstype, src) in [
        ("dev", None, "/dev"),
        ("proc", Some("proc"), "proc"),
        ("sys", None, "/sys"),
        ("run", Some("tmpfs"), "tmpfs"),
    ] {
        let target = root.join(what);
        std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
        if is_mountpoint(&target) {
            continue;
        }
        let c = match fstype {
            Some(t) => Cmd::new(format!("mounting /{what}"), "mount").args(["-t", t, src]).arg(&target),
            None => Cmd::new(format!("binding /{what}"), "mount").args(["--rbind", src]).arg(&target),
        };
        c.run()?;
        binds.mounted.push(target);
    }
    if let Ok(rc) = std::fs::read("/etc/resolv.conf") {
        let dest = root.join("run/resolv.conf");
        let _ = std::fs::write(dest, rc);
    }
    Ok(binds)
}

/// Runs `cmd` (or a login shell) in `root`; returns its exit code.
pub fn enter(root: &Path, cmd: &[String]) -> Result<i32> {
    if !root.join("etc/os-release").exists() && !root.join("usr/lib/os-release").exists() {
        bail!("{} does not look like an installed system (no os-release)", root.display());
    }
    let root = std::fs::canonicalize(root).with_context(|| format!("resolving {}", root.display()))?;
    let _binds = chroot_mounts(&root)?;
    let mut c = std::process::Command::new("chroot");
    c.arg(&root);
    if cmd.is_empty() {
        c.args(["/bin/bash", "--login"]);
    } else {
        c.args(["/bin/sh", "-c", &cmd.join(" ")]);
    }
    c.env("PS1", "[installer-enter \\w]# ");
    let st = c.status().context("running chroot")?;
    Ok(st.code().unwrap_or(1))
}
