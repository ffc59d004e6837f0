//! Copying the system from the live medium's squashfs (the lower layer, so nothing of the live
//! session leaks in) into the target, preserving owners, modes, timestamps, xattrs and hard links.
//! Onto a target no copy has reached the programs of yet, `unsquashfs` extracts the squashfs at
//! the speed of reading the medium ([`unsquash`]); otherwise (a re-run, a resumed install, a source
//! that is a plain directory) [`copy_tree`] walks the source and skips what an earlier run already
//! copied (same type, size, mtime, mode and owner).

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

/// Totals of a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub entries: u64,
    pub bytes: u64,
    /// Files copied (not skipped).
    pub copied_files: u64,
    pub copied_bytes: u64,
    pub skipped_files: u64,
}

/// Progress so far against the totals counted up front.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub entries: u64,
    pub total_entries: u64,
    pub bytes: u64,
    pub total_bytes: u64,
}

/// Visits every entry below `root` (not descending into `exclude`), each directory before what is
/// in it, in the order mksquashfs lays the files' data out: depth first, names sorted as bytes, so
/// that a copy from a squashfs reads its medium front to back.
fn walk(
    root: &Path,
    exclude: &[PathBuf],
    f: &mut dyn FnMut(&Path, &std::fs::Metadata) -> Result<()>,
) -> Result<()> {
    fn visit(
        root: &Path,
        rel: &Path,
        exclude: &[PathBuf],
        f: &mut dyn FnMut(&Path, &std::fs::Metadata) -> Result<()>,
    ) -> Result<()> {
        let dir = root.join(rel);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        names.sort();
        for name in names {
            let r = rel.join(&name);
            let md = std::fs::symlink_metadata(root.join(&r))
                .with_context(|| format!("reading {}", root.join(&r).display()))?;
            f(&r, &md)?;
            if md.is_dir() && !exclude.contains(&r) {
                visit(root, &r, exclude, f)?;
            }
        }
        Ok(())
    }
    visit(root, Path::new(""), exclude, f)
}

/// What is below a tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub entries: u64,
    /// Regular files, and their bytes.
    pub files: u64,
    pub bytes: u64,
}

/// Counts entries, regular files and their bytes below `src`.
pub fn measure(src: &Path, exclude: &[PathBuf]) -> Result<Totals> {
    let mut t = Totals::default();
    walk(src, exclude, &mut |_, md| {
        t.entries += 1;
        if md.is_file() {
            t.files += 1;
            t.bytes += md.len();
        }
        Ok(())
    })?;
    Ok(t)
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.file_type() == b.file_type()
        && a.len() == b.len()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
        && a.mode() == b.mode()
        && a.uid() == b.uid()
        && a.gid() == b.gid()
}

fn copy_xattrs(src: &Path, dst: &Path) -> Result<()> {
    let Ok(names) = xattr::list(src) else { return Ok(()) };
    for name in names {
        if let Some(value) =
            xattr::get(src, &name).with_context(|| format!("reading xattrs of {}", src.display()))?
        {
            xattr::set(dst, &name, &value)
                .with_context(|| format!("setting xattr {:?} on {}", name, dst.display()))?;
        }
    }
    Ok(())
}

/// The source's modification time, as the copy keeps it.
fn mtime_of(md: &std::fs::Metadata) -> SystemTime {
    SystemTime::UNIX_EPOCH
        + Duration::new(md.mtime().max(0) as u64, md.mtime_nsec().clamp(0, 999_999_999) as u32)
}

fn set_meta(dst: &Path, md: &std::fs::Metadata) -> Result<()> {
    std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()))
        .with_context(|| format!("chown {}", dst.display()))?;
    if !md.file_type().is_symlink() {
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(md.mode() & 0o7777))
            .with_context(|| format!("chmod {}", dst.display()))?;
        let f = std::fs::File::open(dst).with_context(|| format!("opening {}", dst.display()))?;
        f.set_times(std::fs::FileTimes::new().set_modified(mtime_of(md)))
            .with_context(|| format!("setting the time of {}", dst.display()))?;
    }
    Ok(())
}

/// Copies a regular file's content, xattrs, owner, mode and mtime, all through the open files. A
/// file that is not there yet is written in place: if the power goes, what is left has another
/// mtime and the next run copies it again. One that is there (changed since, or a hard link of
/// another path) is replaced by a rename, never written through.
fn copy_file(s: &Path, d: &Path, md: &std::fs::Metadata, replace: bool) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = d.with_file_name(format!(
        ".installer-tmp-{}",
        d.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
    ));
    let out = if replace { &tmp } else { d };
    if replace {
        let _ = std::fs::remove_file(&tmp);
    }
    let mut src = std::fs::File::open(s).with_context(|| format!("opening {}", s.display()))?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    std::io::copy(&mut src, &mut dst).with_context(|| format!("copying {}", s.display()))?;
    copy_xattrs(s, out)?;
    std::os::unix::fs::fchown(&dst, Some(md.uid()), Some(md.gid()))
        .with_context(|| format!("chown {}", out.display()))?;
    dst.set_permissions(std::fs::Permissions::from_mode(md.mode() & 0o7777))
        .with_context(|| format!("chmod {}", out.display()))?;
    dst.set_times(std::fs::FileTimes::new().set_modified(mtime_of(md)))
        .with_context(|| format!("setting the time of {}", out.display()))?;
    if replace {
        std::fs::rename(&tmp, d).with_context(|| format!("renaming to {}", d.display()))?;
    }
    Ok(())
}

fn remove_any(p: &Path) -> Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(md) if md.is_dir() => {
            std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))
        }
        Ok(_) => std::fs::remove_file(p).with_context(|| format!("removing {}", p.display())),
        Err(_) => Ok(()),
    }
}

/// Copies `src` into `dst`. Directories listed in `exclude` (relative) are created but their
/// contents are not copied. `progress` is called now and then.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    exclude: &[PathBuf],
    progress: &mut dyn FnMut(Progress),
) -> Result<CopyStats> {
    let Totals { entries: total_entries, bytes: total_bytes, .. } = measure(src, exclude)?;
    let mut stats = CopyStats::default();
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut dirs: Vec<(PathBuf, std::fs::Metadata)> = vec![];
    let mut fresh: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut last = Instant::now();
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    walk(src, exclude, &mut |rel, md| {
        let s = src.join(rel);
        let d = dst.join(rel);
        stats.entries += 1;
        // Nothing is in a directory this run created: no need to look (a stat per file costs
        // under emulation).
        let in_fresh_dir = rel.parent().is_some_and(|p| fresh.contains(p));
        let existing = if in_fresh_dir { None } else { std::fs::symlink_metadata(&d).ok() };
        let ft = md.file_type();
        if ft.is_dir() {
            if existing.as_ref().is_some_and(|e| !e.is_dir()) {
                remove_any(&d)?;
            }
            if existing.as_ref().is_none_or(|e| !e.is_dir()) {
                std::fs::create_dir(&d).with_context(|| format!("creating {}", d.display()))?;
                fresh.insert(rel.to_path_buf());
            }
            dirs.push((d, md.clone()));
        } else if ft.is_file() {
            stats.bytes += md.len();
            if md.nlink() > 1 {
                if let Some(first) = links.get(&(md.dev(), md.ino())) {
                    let first_md = std::fs::symlink_metadata(first)
                        .with_context(|| format!("reading {}", first.display()))?;
                    if existing
                        .as_ref()
                        .is_some_and(|e| e.ino() == first_md.ino() && e.dev() == first_md.dev())
                    {
                        stats.skipped_files += 1;
                    } else {
                        remove_any(&d)?;
                        std::fs::hard_link(first, &d)
                            .with_context(|| format!("linking {} to {}", d.display(), first.display()))?;
                    }
                    return Ok(());
                }
                links.insert((md.dev(), md.ino()), d.clone());
            }
            if existing.as_ref().is_some_and(|e| same_file(md, e)) {
                stats.skipped_files += 1;
            } else {
                if existing.as_ref().is_some_and(|e| e.is_dir()) {
                    remove_any(&d)?;
                }
                copy_file(&s, &d, md, existing.is_some())?;
                stats.copied_files += 1;
                stats.copied_bytes += md.len();
            }
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&s).with_context(|| format!("reading link {}", s.display()))?;
            if existing.is_none() || std::fs::read_link(&d).ok().as_ref() != Some(&target) {
                if existing.is_some() {
                    remove_any(&d)?;
                }
                std::os::unix::fs::symlink(&target, &d)
                    .with_context(|| format!("creating link {}", d.display()))?;
                std::os::unix::fs::lchown(&d, Some(md.uid()), Some(md.gid()))
                    .with_context(|| format!("chown {}", d.display()))?;
            }
        } else if (ft.is_char_device() || ft.is_block_device() || ft.is_fifo()) && existing.is_none() {
            let (kind, major, minor) = if ft.is_fifo() {
                ("p", 0, 0)
            } else {
                let rdev = md.rdev();
                let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
                let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
                (if ft.is_char_device() { "c" } else { "b" }, major, minor)
            };
            let mut cmd = runner::Cmd::new(format!("creating {}", d.display()), "mknod").arg(&d).arg(kind);
            if kind != "p" {
                cmd = cmd.arg(major.to_string()).arg(minor.to_string());
            }
            cmd.run()?;
            set_meta(&d, md)?;
        }
        if last.elapsed() > Duration::from_millis(500) {
            last = Instant::now();
            progress(Progress { entries: stats.entries, total_entries, bytes: stats.bytes, total_bytes });
        }
        Ok(())
    })?;
    // Directory times last, deepest first, once nothing more is written into them.
    for (d, md) in dirs.iter().rev() {
        set_meta(d, md)?;
        if let Ok(names) = xattr::list(src.join(d.strip_prefix(dst).unwrap_or(d))) {
            if names.count() > 0 {
                copy_xattrs(&src.join(d.strip_prefix(dst).unwrap_or(d)), d)?;
            }
        }
    }
    progress(Progress { entries: stats.entries, total_entries, bytes: stats.bytes, total_bytes });
    Ok(stats)
}

/// The block device of the squashfs mounted at `source` (the live system's lower layer, on a loop
/// device), when `source` is the root of a mounted squashfs.
fn squashfs_device(source: &Path) -> Option<PathBuf> {
    let source = source.canonicalize().ok()?;
    let mounts = runner::mountinfo::read().ok()?;
    let m = mounts.iter().rev().find(|m| Path::new(&m.mountpoint) == source)?;
    (m.fstype == "squashfs" && m.root == "/" && m.source.starts_with("/dev/"))
        .then(|| PathBuf::from(&m.source))
}

/// The copy may go through [`unsquash`]: `source` is a mounted squashfs (the image is returned),
/// no copy has begun in `dst` and the machine has the memory for it.
pub fn extraction(source: &Path, dst: &Path) -> Option<PathBuf> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    squashfs_device(source).filter(|_| copy_not_begun(dst) && room_to_unsquash(&meminfo))
}

/// No copy has reached the system's programs in `dst` yet (no `usr`): whatever an earlier copy
/// that was cut wrote before them may be written over, as nothing after the copy has run.
fn copy_not_begun(dst: &Path) -> bool {
    std::fs::symlink_metadata(dst.join("usr")).is_err()
}

/// `unsquashfs`'s progress line (`[===|  ] 1234/9552  12%`): what it has written of what it will
/// (inodes and data blocks together).
fn unsquashfs_progress(line: &str) -> Option<(u64, u64)> {
    let (done, total) = line.rsplit_once(']')?.1.split_whitespace().next()?.split_once('/')?;
    Some((done.parse().ok()?, total.parse().ok()?)).filter(|(d, t)| d <= t && *t > 0)
}

/// Memory `unsquashfs` may hold in its queues of blocks read and not yet written (MiB each; its
/// default, 256 each, is more than the smallest machines the live system installs from have).
const UNSQUASHFS_QUEUE_MIB: u32 = 8;

/// The memory available (`MemAvailable`) below which the copy goes file by file instead of
/// through `unsquashfs` (its queues and tables take 20-25 MB, and the page cache must still hold
/// the running live system: on the 192 MiB floor, with about 100 MiB available, the extraction
/// thrashed for minutes where the file-by-file copy takes its usual time).
const UNSQUASHFS_MIN_AVAILABLE_MIB: u64 = 256;

/// Whether `/proc/meminfo` (its text) shows enough memory for [`unsquash`].
fn room_to_unsquash(meminfo: &str) -> bool {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .is_some_and(|kib| kib >= UNSQUASHFS_MIN_AVAILABLE_MIB << 10)
}

/// Extracts the squashfs `image` (the one `src` is mounted from, or its file) into `dst` with
/// `unsquashfs`, but for what is in the top-level directories `exclude` (they are made, empty,
/// with the source's owner, mode and time). Files already in `dst` are written over: only for a
/// target where [`copy_not_begun`]. `progress` gets `unsquashfs`'s fraction scaled to the totals
/// of `src`, which a walk of its (by then cached) tables counts beside the extraction.
pub fn unsquash(
    image: &Path,
    src: &Path,
    dst: &Path,
    exclude: &[PathBuf],
    progress: &mut dyn FnMut(Progress),
) -> Result<CopyStats> {
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    let queue = UNSQUASHFS_QUEUE_MIB.to_string();
    let cmd = runner::Cmd::new(format!("extracting the system into {}", dst.display()), "unsquashfs")
        .args(["-f", "-q", "-data-queue", &queue, "-frag-queue", &queue, "-d"])
        .arg(dst)
        .arg("-excludes")
        .arg(image)
        .args(exclude.iter().map(|e| e.as_os_str()));
    let totals = std::thread::scope(|s| -> Result<Totals> {
        // The walk starts once unsquashfs has read the tables (its first progress line).
        let (mut walk, mut totals) = (None, None);
        let mut last = Instant::now();
        let panicked = || anyhow::anyhow!("counting the system's files panicked");
        cmd.run_streaming(&mut |line| {
            let Some((done, units)) = unsquashfs_progress(line) else { return };
            if totals.is_none() {
                if !walk.get_or_insert_with(|| s.spawn(|| measure(src, exclude))).is_finished() {
                    return;
                }
                totals = walk.take().map(|w| w.join().unwrap_or_else(|_| Err(panicked())));
            }
            let Some(Ok(t)) = &totals else { return };
            if last.elapsed() > Duration::from_millis(500) || done == units {
                last = Instant::now();
                let scaled = |n: u64| (n as u128 * done as u128 / units as u128) as u64;
                progress(Progress {
                    entries: scaled(t.entries),
                    total_entries: t.entries,
                    bytes: scaled(t.bytes),
                    total_bytes: t.bytes,
                });
            }
        })?;
        match (totals, walk) {
            (Some(t), _) => t,
            (None, Some(w)) => w.join().unwrap_or_else(|_| Err(panicked())),
            (None, None) => measure(src, exclude),
        }
    })?;
    for e in exclude {
        let (s, d) = (src.join(e), dst.join(e));
        let Ok(md) = std::fs::symlink_metadata(&s) else { continue };
        if md.is_dir() {
            if !d.is_dir() {
                std::fs::create_dir(&d).with_context(|| format!("creating {}", d.display()))?;
            }
            set_meta(&d, &md)?;
        }
    }
    progress(Progress {
        entries: totals.entries,
        total_entries: totals.entries,
        bytes: totals.bytes,
        total_bytes: totals.bytes,
    });
    Ok(CopyStats {
        entries: totals.entries,
        bytes: totals.bytes,
        copied_files: totals.files,
        copied_bytes: totals.bytes,
        skipped_files: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source with a set-uid file owned by others, a hard link to it, a symlink, and a /boot
    /// (the copy leaves its contents out).
    fn sample_source(src: &Path) {
        std::fs::create_dir_all(src.join("etc/sub")).unwrap();
        std::fs::create_dir_all(src.join("boot")).unwrap();
        std::fs::write(src.join("boot/vmlinuz"), b"k").unwrap();
        std::fs::write(src.join("etc/a"), b"hello").unwrap();
        std::os::unix::fs::chown(src.join("etc/a"), Some(12), Some(34)).unwrap();
        std::fs::set_permissions(src.join("etc/a"), std::fs::Permissions::from_mode(0o4750)).unwrap();
        std::fs::hard_link(src.join("etc/a"), src.join("etc/sub/b")).unwrap();
        std::os::unix::fs::symlink("../a", src.join("etc/sub/l")).unwrap();
    }

    /// What [`sample_source`] made is in `dst` as in `src`.
    fn assert_copied_like(src: &Path, dst: &Path) {
        assert_eq!(std::fs::read(dst.join("etc/a")).unwrap(), b"hello");
        let a = std::fs::metadata(dst.join("etc/a")).unwrap();
        assert_eq!((a.mode() & 0o7777, a.uid(), a.gid()), (0o4750, 12, 34));
        assert_eq!(a.ino(), std::fs::metadata(dst.join("etc/sub/b")).unwrap().ino());
        assert_eq!(std::fs::read_link(dst.join("etc/sub/l")).unwrap(), Path::new("../a"));
        assert!(dst.join("boot").is_dir() && !dst.join("boot/vmlinuz").exists());
        assert_eq!(std::fs::metadata(src.join("etc/a")).unwrap().mtime(), a.mtime(), "times are kept");
    }

    #[test]
    fn copies_links_modes_and_skips_on_rerun() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        let dst = t.path().join("dst");
        sample_source(&src);
        let mut calls = 0;
        let s = copy_tree(&src, &dst, &[PathBuf::from("boot")], &mut |_| calls += 1).unwrap();
        assert!(calls >= 1);
        assert_eq!(s.copied_files, 1, "{s:?}");
        assert_copied_like(&src, &dst);
        let again = copy_tree(&src, &dst, &[PathBuf::from("boot")], &mut |_| {}).unwrap();
        assert_eq!((again.copied_files, again.skipped_files), (0, 2), "{again:?}");
        std::fs::write(dst.join("etc/sub/b"), b"changed").unwrap();
        std::fs::remove_file(dst.join("etc/sub/l")).unwrap();
        let third = copy_tree(&src, &dst, &[PathBuf::from("boot")], &mut |_| {}).unwrap();
        assert_eq!(third.copied_files, 1, "{third:?}");
        assert_eq!(std::fs::read(dst.join("etc/sub/b")).unwrap(), b"hello");
        assert!(dst.join("etc/sub/l").exists());
    }

    #[test]
    fn a_file_half_written_before_a_power_cut_is_copied_again() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        std::fs::create_dir_all(src.join("usr")).unwrap();
        std::fs::create_dir_all(dst.join("usr")).unwrap();
        std::fs::write(src.join("usr/big"), vec![7u8; 100_000]).unwrap();
        std::fs::write(src.join("usr/small"), b"s").unwrap();
        // What a cut left: the start of the file, written now, with the mode it is created with.
        std::fs::write(dst.join("usr/big"), vec![7u8; 4096]).unwrap();
        std::fs::set_permissions(dst.join("usr/big"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = copy_tree(&src, &dst, &[], &mut |_| {}).unwrap();
        assert_eq!((s.copied_files, s.skipped_files), (2, 0), "{s:?}");
        assert_eq!(std::fs::read(dst.join("usr/big")).unwrap(), vec![7u8; 100_000]);
        let names: Vec<_> =
            std::fs::read_dir(dst.join("usr")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }

    #[test]
    fn small_machines_copy_file_by_file() {
        assert!(!room_to_unsquash("MemTotal:  145212 kB\nMemFree: 60340 kB\nMemAvailable:  104056 kB\n"));
        assert!(room_to_unsquash("MemTotal: 1000000 kB\nMemAvailable:  900000 kB\n"));
        assert!(room_to_unsquash("MemAvailable: 262144 kB\n"));
        assert!(!room_to_unsquash("MemTotal: 1000000 kB\n"), "no figure: the copy that needs least");
    }

    #[test]
    fn unsquashfs_progress_lines_are_read() {
        assert_eq!(unsquashfs_progress("[=====|     ] 1234/9552  12%"), Some((1234, 9552)));
        assert_eq!(unsquashfs_progress("[==========================|] 9552/9552 100%"), Some((9552, 9552)));
        assert_eq!(unsquashfs_progress("created 4488 files"), None);
        assert_eq!(unsquashfs_progress("[] 5/0 0%"), None);
        assert_eq!(unsquashfs_progress(""), None);
    }

    /// The extraction keeps what [`copy_tree`] keeps, leaves the excluded directory's contents
    /// out, and writes over what a cut copy left; a second copy with [`copy_tree`] finds all in place.
    #[test]
    fn unsquash_extracts_like_the_copy_and_the_copy_finds_it_in_place() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst, image) = (t.path().join("src"), t.path().join("dst"), t.path().join("root.squashfs"));
        sample_source(&src);
        std::fs::set_permissions(src.join("boot"), std::fs::Permissions::from_mode(0o750)).unwrap();
        std::fs::write(src.join("big"), vec![5u8; 3 << 20]).unwrap();
        // A squashfs keeps whole seconds, as the live system's source (its mount) shows them.
        for f in ["big", "etc/a"] {
            let whole = std::fs::FileTimes::new()
                .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
            std::fs::File::options().write(true).open(src.join(f)).unwrap().set_times(whole).unwrap();
        }
        runner::Cmd::new("packing", "mksquashfs")
            .arg(&src)
            .arg(&image)
            .args(["-quiet", "-no-progress", "-noappend"])
            .run()
            .unwrap();
        // What a cut copy left: a part of a file, a mount point.
        std::fs::create_dir_all(dst.join("etc")).unwrap();
        std::fs::write(dst.join("etc/a"), b"he").unwrap();
        std::fs::create_dir_all(dst.join("boot")).unwrap();
        assert!(copy_not_begun(&dst));
        let mut seen = vec![];
        let s = unsquash(&image, &src, &dst, &[PathBuf::from("boot")], &mut |p| seen.push(p)).unwrap();
        assert_eq!((s.copied_files, s.copied_bytes), (3, 5 + 5 + (3 << 20)), "{s:?}");
        let last = seen.last().unwrap();
        assert_eq!((last.bytes, last.total_bytes, last.entries), (s.bytes, s.bytes, s.entries));
        assert_copied_like(&src, &dst);
        assert_eq!(std::fs::metadata(dst.join("boot")).unwrap().mode() & 0o7777, 0o750);
        let again = copy_tree(&src, &dst, &[PathBuf::from("boot")], &mut |_| {}).unwrap();
        assert_eq!((again.copied_files, again.skipped_files), (0, 3), "{again:?}");
    }
}
