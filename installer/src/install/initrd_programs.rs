//! The programs an installed system's initrd runs (e2fsck, cryptsetup, lvm, mdadm) with every
//! library they load, and the check that the initrd's own copies really run.
//!
//! The libraries come from two places: the ones a program links (`ldd`), and the ones glibc loads
//! itself at run time, which no `DT_NEEDED` entry names: `libgcc_s.so.1`, which glibc dlopens to
//! unwind a thread that exits. cryptsetup's Argon2 runs one thread per `Threads:` of the LUKS2
//! key slot (the CPUs of the machine that formatted it); without that library every thread's exit
//! aborts cryptsetup ("libgcc_s.so.1 must be installed for pthread_exit to work"), which stage 1
//! reads as a wrong passphrase. dracut and initramfs-tools copy it for the same reason.
//!
//! [`check`] runs each program in a chroot of exactly the initrd's files, doing what it does at
//! boot: cryptsetup formats and unlocks a small LUKS2 header whose Argon2 has four threads.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Libraries glibc loads by itself (dlopen) and programs therefore never name.
pub const RUN_TIME_LIBRARIES: &[&str] = &["libgcc_s.so.1"];

/// Programs for the initrd (paths in the system at `root`, e.g. `usr/sbin/e2fsck`) as
/// `sbin/<name>`, with the libraries they link and [`RUN_TIME_LIBRARIES`] beside their libc (read
/// from that system).
pub fn program_files(root: &Path, programs: &[&str]) -> Result<Vec<(String, PathBuf)>> {
    let mut files: Vec<(String, PathBuf)> = vec![];
    let add = |files: &mut Vec<(String, PathBuf)>, path: &str| {
        let rel = path.trim_start_matches('/');
        if files.iter().any(|(f, _)| f == rel) {
            return;
        }
        let in_root = root.join(rel);
        let host = if in_root.exists() { in_root } else { PathBuf::from(path) };
        files.push((rel.to_string(), std::fs::canonicalize(&host).unwrap_or(host)));
    };
    for p in programs {
        let bin = root.join(p);
        let name = Path::new(p).file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        files.push((format!("sbin/{name}"), bin.clone()));
        let out = runner::Cmd::new(format!("listing {name}'s libraries"), "ldd").arg(&bin).run()?;
        let mut libc_dir = None;
        for l in out.stdout.lines() {
            let path = match l.split_once("=>") {
                Some((_, rhs)) => rhs.split_whitespace().next().unwrap_or(""),
                None => l.split_whitespace().next().unwrap_or(""),
            };
            if !path.starts_with('/') {
                continue;
            }
            if Path::new(path).file_name().is_some_and(|n| n == "libc.so.6") {
                libc_dir = Path::new(path).parent().map(Path::to_path_buf);
            }
            add(&mut files, path);
        }
        let Some(dir) = libc_dir else { continue };
        for lib in RUN_TIME_LIBRARIES {
            let path = dir.join(lib);
            if !root.join(path.strip_prefix("/").unwrap_or(&path)).exists() && !path.exists() {
                bail!("{name} runs with {lib}, which the system to copy does not have in {}", dir.display());
            }
            add(&mut files, &path.to_string_lossy());
        }
    }
    Ok(files)
}

/// What each program does at boot, as a check in a chroot (`/` the initrd's files): a shell
/// command line, for people reading the error.
fn boot_check(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "e2fsck" => &["/sbin/e2fsck", "-V"],
        "lvm" => &["/sbin/lvm", "version"],
        "mdadm" => &["/sbin/mdadm", "--version"],
        // Formats a LUKS2 header with four Argon2 threads (a machine with four CPUs made it),
        // then unlocks it, as stage 1 does.
        "cryptsetup" => &[
            "/sbin/cryptsetup",
            "luksFormat",
            "--type",
            "luks2",
            "--pbkdf",
            "argon2id",
            "--pbkdf-force-iterations",
            "4",
            "--pbkdf-memory",
            "32",
            "--pbkdf-parallel",
            "4",
            "--luks2-metadata-size",
            "16k",
            "--luks2-keyslots-size",
            "256k",
            "--batch-mode",
            "--key-file=/check/key",
            "/check/header",
        ],
        _ => return None,
    })
}

/// Runs each program of `files` (`sbin/<name>`) in a chroot of exactly `files`, doing what it
/// does at boot; an error names the program, the command and what it printed. Needs root (chroot,
/// device nodes).
pub fn check(files: &[(String, PathBuf)]) -> Result<()> {
    let dir =
        crate::private_dir::PrivateDir::new("initrd-check").context("making the initrd check's directory")?;
    let tree = dir.path();
    for (dest, host) in files {
        let to = tree.join(dest);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(host, &to)
            .with_context(|| format!("copying {} for the initrd check", host.display()))?;
    }
    // What the initrd has at boot besides its files: device nodes (stage 1 mounts devtmpfs) and
    // the CPUs' list (here: four, so that cryptsetup makes a header with four threads on any
    // machine).
    std::fs::create_dir_all(tree.join("dev")).context("creating the check's /dev")?;
    for (name, minor) in [("null", 3), ("random", 8), ("urandom", 9)] {
        nix::sys::stat::mknod(
            &tree.join("dev").join(name),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, minor),
        )
        .with_context(|| format!("making /dev/{name} for the initrd check"))?;
    }
    let cpu = tree.join("sys/devices/system/cpu");
    std::fs::create_dir_all(&cpu).context("creating the check's /sys")?;
    std::fs::write(cpu.join("online"), "0-3\n").context("writing the check's CPU list")?;
    std::fs::create_dir_all(tree.join("check")).context("creating the check's scratch directory")?;
    std::fs::write(tree.join("check/key"), "initrd check").context("writing the check's key")?;
    let header = std::fs::File::create(tree.join("check/header")).context("creating the check's header")?;
    header.set_len(1 << 20).context("sizing the check's header")?;
    let run = |argv: &[&str]| -> Result<()> {
        let name =
            Path::new(argv[0]).file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        runner::Cmd::new(format!("running the initrd's {name} as at boot"), "chroot")
            // glibc's fatal messages go to stderr (not /dev/tty), where the error quotes them.
            .env("LIBC_FATAL_STDERR_", "1")
            .arg(tree)
            .args(argv)
            .run()
            .map(|_| ())
            .with_context(|| {
                format!("the initrd's {name} does not run: `{}` in a chroot of its files", argv.join(" "))
            })
    };
    for (dest, _) in files {
        let Some(name) = dest.strip_prefix("sbin/") else { continue };
        let Some(argv) = boot_check(name) else { continue };
        run(argv)?;
        if name == "cryptsetup" {
            run(&[
                "/sbin/cryptsetup",
                "open",
                "--test-passphrase",
                "--key-file=/check/key",
                "/check/header",
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's cryptsetup with the libraries it links, and the run-time ones: the check passes;
    /// without libgcc_s.so.1 (what the initrd had before) it fails on the four-thread unlock.
    #[test]
    fn cryptsetup_unlocks_a_four_thread_header_only_with_its_run_time_libraries() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root (chroot)");
            return;
        }
        let files = program_files(Path::new("/"), &["usr/sbin/cryptsetup", "usr/sbin/e2fsck"]).unwrap();
        assert!(files.iter().any(|(f, _)| f.ends_with("/libgcc_s.so.1")), "{files:?}");
        assert!(files.iter().any(|(f, _)| f.ends_with("/libargon2.so.1")), "{files:?}");
        check(&files).unwrap();
        let without: Vec<_> = files.iter().filter(|(f, _)| !f.ends_with("/libgcc_s.so.1")).cloned().collect();
        let e = format!("{:#}", check(&without).unwrap_err());
        assert!(
            e.contains("the initrd's cryptsetup does not run") && e.contains("--pbkdf-parallel 4"),
            "{e}"
        );
        assert!(e.contains("libgcc_s.so.1 must be installed"), "{e}");
    }
}
