//! Layers on top of a shared root directory, and squashfs images of the result.
//!
//! The cached Debian root is never modified: [`build`] hard-links it into a work directory
//! (`cp -al`), applies a [`Layer`] there (replacing files, never writing through a link), and runs
//! mksquashfs. The image is rebuilt only when the root or the layer changed.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use runner::Cmd;

use crate::rootfs::{io, RootfsError};

#[derive(Debug, Clone, Hash)]
enum Item {
    File { data: Vec<u8>, mode: u32 },
    HostFile { path: PathBuf, mode: Option<u32> },
    HostTree { path: PathBuf },
    Symlink { target: String },
    Remove,
}

/// Files to put on top of a root (paths relative to the root, applied in order).
#[derive(Debug, Clone, Default, Hash)]
pub struct Layer {
    items: Vec<(String, Item)>,
}

impl Layer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> &mut Self {
        self.items.push((path.trim_start_matches('/').into(), Item::File { data: data.into(), mode }));
        self
    }
    /// Copies a host file (its content is read when the image is built).
    pub fn host_file(&mut self, path: &str, host: &Path, mode: Option<u32>) -> &mut Self {
        self.items.push((path.trim_start_matches('/').into(), Item::HostFile { path: host.into(), mode }));
        self
    }
    /// Copies a whole host directory tree to `path`.
    pub fn host_tree(&mut self, path: &str, host: &Path) -> &mut Self {
        self.items.push((path.trim_start_matches('/').into(), Item::HostTree { path: host.into() }));
        self
    }
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.items.push((path.trim_start_matches('/').into(), Item::Symlink { target: target.into() }));
        self
    }
    pub fn remove(&mut self, path: &str) -> &mut Self {
        self.items.push((path.trim_start_matches('/').into(), Item::Remove));
        self
    }

    /// A digest of the layer including the content and mtime of host files it names.
    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        for (_, item) in &self.items {
            let p = match item {
                Item::HostFile { path, .. } | Item::HostTree { path } => path,
                _ => continue,
            };
            if let Ok(m) = std::fs::metadata(p) {
                m.len().hash(&mut h);
                m.modified().ok().hash(&mut h);
            }
            if let (Item::HostFile { .. }, Ok(data)) = (item, std::fs::read(p)) {
                data.hash(&mut h);
            }
        }
        h.finish()
    }

    /// Applies the layer to `root` (a private hard-linked copy).
    pub fn apply(&self, root: &Path) -> Result<(), RootfsError> {
        for (rel, item) in &self.items {
            let dest = root.join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
            }
            // Never write through a hard link into the shared root.
            if dest.is_dir() && !dest.is_symlink() {
                if matches!(item, Item::HostTree { .. } | Item::Remove) {
                    std::fs::remove_dir_all(&dest).map_err(io(format!("removing {}", dest.display())))?;
                }
            } else if dest.symlink_metadata().is_ok() {
                std::fs::remove_file(&dest).map_err(io(format!("removing {}", dest.display())))?;
            }
            match item {
                Item::File { data, mode } => {
                    std::fs::write(&dest, data).map_err(io(format!("writing {}", dest.display())))?;
                    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(*mode))
                        .map_err(io(format!("chmod {}", dest.display())))?;
                }
                Item::HostFile { path, mode } => {
                    std::fs::copy(path, &dest).map_err(io(format!("copying {}", path.display())))?;
                    if let Some(m) = mode {
                        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(*m))
                            .map_err(io(format!("chmod {}", dest.display())))?;
                    }
                }
                Item::HostTree { path } => {
                    // Hard links when the tree is on the same filesystem (the work copy is only read).
                    let linked =
                        Cmd::new("linking a tree into the image", "cp").arg("-al").arg(path).arg(&dest).run();
                    if linked.is_err() {
                        let _ = std::fs::remove_dir_all(&dest);
                        Cmd::new("copying a tree into the image", "cp")
                            .arg("-a")
                            .arg(path)
                            .arg(&dest)
                            .run()?;
                    }
                }
                Item::Symlink { target } => {
                    std::os::unix::fs::symlink(target, &dest)
                        .map_err(io(format!("linking {}", dest.display())))?;
                }
                Item::Remove => {}
            }
        }
        Ok(())
    }
}

/// The bytes and the number of the regular files an install copies from `root` (all but /boot
/// and the API filesystems' mount points), each file counted in whole 4 KiB blocks as a
/// filesystem stores it.
pub fn system_size(root: &Path) -> std::io::Result<(u64, u64)> {
    fn walk(dir: &Path, total: &mut (u64, u64)) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let m = e.path().symlink_metadata()?;
            if m.is_dir() {
                walk(&e.path(), total)?;
            } else if m.is_file() {
                total.0 += m.len().div_ceil(4096) * 4096;
                total.1 += 1;
            }
        }
        Ok(())
    }
    let mut total = (0, 0);
    for e in std::fs::read_dir(root)? {
        let e = e?;
        let name = e.file_name();
        if ["boot", "proc", "sys", "dev", "run", "tmp"].iter().any(|n| name == *n) {
            continue;
        }
        if e.path().symlink_metadata()?.is_dir() {
            walk(&e.path(), &mut total)?;
        }
    }
    Ok(total)
}

/// Writes [`initrd::config::SYSTEM_SIZE`] into the root (before it is squashed): the planner refuses a root
/// filesystem too small for it before anything is written.
fn write_system_size(root: &Path) -> Result<(), RootfsError> {
    let (bytes, files) = system_size(root).map_err(io(format!("measuring {}", root.display())))?;
    let path = root.join(initrd::config::SYSTEM_SIZE.trim_start_matches('/'));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    std::fs::write(&path, format!("{bytes} {files}\n")).map_err(io(format!("writing {}", path.display())))
}

/// squashfs compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// zstd level 3: fast, for development and CI.
    Zstd3,
    /// xz with the x86 BCJ filter and plain kernel modules (see [`unpack_modules`]): smallest,
    /// for releases.
    XzBcj,
}

/// Decompresses the kernel modules of `root` (a private hard-linked copy) and runs depmod: xz over
/// whole 1 MiB blocks packs the plain modules into 64 MiB where the per-file zstd ones take 94 MiB.
fn unpack_modules(root: &Path) -> Result<(), RootfsError> {
    let base = root.join("usr/lib/modules");
    let Ok(versions) = std::fs::read_dir(&base) else { return Ok(()) };
    for v in versions.flatten() {
        let dir = v.path();
        if !dir.join("modules.dep").exists() {
            continue;
        }
        let mut packed = Vec::new();
        collect_suffix(&dir, ".ko.zst", &mut packed)?;
        for chunk in packed.chunks(256) {
            // `--rm` unlinks the hard link in the copy; the shared root keeps its file.
            Cmd::new("decompressing the kernel modules", "zstd")
                .args(["-q", "-d", "--rm"])
                .args(chunk)
                .run()?;
        }
        Cmd::new("indexing the decompressed modules", "depmod")
            .arg("-b")
            .arg(root)
            .arg(v.file_name())
            .run()?;
    }
    Ok(())
}

fn collect_suffix(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) -> Result<(), RootfsError> {
    for e in std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))? {
        let e = e.map_err(io(format!("reading {}", dir.display())))?;
        let t = e.file_type().map_err(io(format!("reading {}", e.path().display())))?;
        if t.is_dir() {
            collect_suffix(&e.path(), suffix, out)?;
        } else if t.is_file() && e.file_name().to_string_lossy().ends_with(suffix) {
            out.push(e.path());
        }
    }
    Ok(())
}

/// The files the live system reads from its root while it boots to the TUI (recorded by `cargo
/// xtask boot-files`: the root's files with pages in the page cache after a boot of the test
/// image). mksquashfs writes them first (`-sort`), so their small files share a few fragment
/// blocks: reading one decompresses a whole block (1 MiB of xz in a release image), and scattered
/// over the root they made the boot decompress many blocks for a few kilobytes each. A kernel
/// module is listed by its uncompressed name. A list gone stale only costs time: a path the root
/// does not have is left out.
pub const BOOT_FILES: &str = include_str!("boot-files.txt");

/// The paths [`BOOT_FILES`] lists, in its order (comments and blank lines left out).
pub fn boot_files() -> impl Iterator<Item = &'static str> {
    BOOT_FILES.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The `-sort` file for `root`: each [`BOOT_FILES`] entry that `root` has (a module as `.ko` or
/// `.ko.zst`), in the list's order, with priorities falling from the first so that mksquashfs
/// keeps that order.
pub fn sort_list(root: &Path) -> String {
    let mut out = String::new();
    let mut priority: i32 = 32767;
    for entry in boot_files() {
        let rel = entry.trim_start_matches('/');
        let found = [rel.to_string(), format!("{rel}.zst"), format!("{rel}.xz")]
            .into_iter()
            .find(|c| root.join(c).symlink_metadata().is_ok_and(|m| m.is_file()));
        // Names with spaces or newlines cannot be written in a sort file; Debian's root has none.
        if let Some(path) = found.filter(|p| !p.contains(char::is_whitespace)) {
            out.push_str(&format!("{path} {priority}\n"));
            priority = (priority - 1).max(1);
        }
    }
    out
}

/// Builds `out` from `base` + `layer` unless an image of the same inputs is already there.
/// Returns whether it was (re)built.
pub fn build(base: &Path, layer: &Layer, compression: Compression, out: &Path) -> Result<bool, RootfsError> {
    let mut h = DefaultHasher::new();
    base.hash(&mut h);
    std::fs::read_to_string(base.parent().unwrap_or(base).join(".complete")).ok().hash(&mut h);
    layer.digest().hash(&mut h);
    compression.hash(&mut h);
    BOOT_FILES.hash(&mut h);
    crate::live_modules::NOT_FOR_THE_INSTALLER.hash(&mut h);
    let key = format!("{:016x}\n", h.finish());
    let stamp = out.with_extension("key");
    if out.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str()) {
        return Ok(false);
    }
    let t = Instant::now();
    let parent = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    // The work paths beside the output: `.<name>.work` and the like.
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let beside = |what: &str| parent.join(format!(".{name}.{what}"));
    let work = beside("work");
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(io(format!("removing {}", work.display())))?;
    }
    Cmd::new("linking the root into a work directory", "cp").arg("-al").arg(base).arg(&work).run()?;
    layer.apply(&work)?;
    if compression == Compression::XzBcj {
        unpack_modules(&work)?;
    }
    let scratch = beside("modules");
    let _ = std::fs::remove_dir_all(&scratch);
    crate::live_modules::index_installer_modules(&work, &scratch)?;
    write_system_size(&work)?;
    let _ = std::fs::remove_file(out);
    let sort = beside("sort");
    std::fs::write(&sort, sort_list(&work)).map_err(io(format!("writing {}", sort.display())))?;
    let mut cmd = Cmd::new("building the squashfs", "mksquashfs").arg(&work).arg(out).args([
        "-noappend",
        "-quiet",
        "-no-progress",
        "-wildcards",
    ]);
    cmd = cmd.arg("-sort").arg(&sort);
    cmd = match compression {
        Compression::Zstd3 => cmd.args(["-comp", "zstd", "-Xcompression-level", "3"]),
        Compression::XzBcj => cmd.args(["-comp", "xz", "-Xbcj", "x86", "-b", "1M"]),
    };
    cmd.args(["-e", "proc/*", "sys/*", "dev/*", "run/*", "tmp/*"]).run()?;
    std::fs::remove_dir_all(&work).map_err(io(format!("removing {}", work.display())))?;
    let _ = std::fs::remove_file(&sort);
    std::fs::write(&stamp, key).map_err(io("writing the image stamp"))?;
    tracing::info!("squashfs {} built in {:.1}s", out.display(), t.elapsed().as_secs_f64());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_size_counts_what_an_install_copies_in_whole_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (p, len) in
            [("usr/bin/a", 1), ("usr/lib/b", 4097), ("etc/c", 0), ("boot/vmlinuz", 9000), ("run/x", 5)]
        {
            std::fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
            std::fs::write(root.join(p), vec![0u8; len]).unwrap();
        }
        std::os::unix::fs::symlink("a", root.join("usr/bin/link")).unwrap();
        assert_eq!(system_size(root).unwrap(), (4096 + 8192, 3));
        write_system_size(root).unwrap();
        let written = root.join(initrd::config::SYSTEM_SIZE.trim_start_matches('/'));
        assert_eq!(std::fs::read_to_string(written).unwrap(), "12288 3\n");
    }

    #[test]
    fn layer_replaces_files_without_touching_the_shared_root() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::write(base.join("etc/hostname"), "base\n").unwrap();
        std::fs::write(base.join("etc/keep"), "keep\n").unwrap();
        let work = dir.path().join("work");
        Cmd::new("t", "cp").arg("-al").arg(&base).arg(&work).run().unwrap();
        let mut layer = Layer::new();
        layer.file("/etc/hostname", 0o644, "live\n").symlink("etc/link", "hostname").remove("etc/keep");
        layer.apply(&work).unwrap();
        assert_eq!(std::fs::read_to_string(work.join("etc/hostname")).unwrap(), "live\n");
        assert_eq!(std::fs::read_to_string(work.join("etc/link")).unwrap(), "live\n");
        assert!(!work.join("etc/keep").exists());
        // The hard-linked original is untouched.
        assert_eq!(std::fs::read_to_string(base.join("etc/hostname")).unwrap(), "base\n");
        assert!(base.join("etc/keep").exists());
    }

    #[test]
    fn the_boot_file_list_is_relative_plain_and_sorted() {
        let entries: Vec<&str> = boot_files().collect();
        assert!(entries.len() > 100, "{} entries", entries.len());
        for e in &entries {
            assert!(!e.is_empty() && !e.starts_with('/') && !e.contains(char::is_whitespace), "{e:?}");
            assert!(!e.ends_with(".zst"), "{e}: modules are listed by their plain names");
        }
        assert!(entries.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
        assert!(entries.contains(&"usr/local/bin/installer"), "the TUI's binary is read at boot");
    }

    #[test]
    fn the_sort_list_names_what_the_root_has_in_order_with_falling_priorities() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Two entries of the list: one as it is, the other a module compressed with zstd.
        let entries: Vec<&str> = boot_files().collect();
        let module = entries.iter().find(|e| e.ends_with(".ko")).expect("a module in the list");
        let file = "usr/local/bin/installer";
        for p in [file.to_string(), format!("{module}.zst")] {
            std::fs::create_dir_all(root.join(&p).parent().unwrap()).unwrap();
            std::fs::write(root.join(&p), "x").unwrap();
        }
        let list = sort_list(root);
        let lines: Vec<(&str, i32)> =
            list.lines().map(|l| l.rsplit_once(' ').map(|(p, n)| (p, n.parse().unwrap())).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{list}");
        let names: Vec<&str> = lines.iter().map(|(p, _)| *p).collect();
        let module_zst = format!("{module}.zst");
        let mut want = vec![module_zst.as_str(), file];
        want.sort_by_key(|p| entries.iter().position(|e| p.starts_with(e)));
        assert_eq!(names, want, "in the list's order");
        assert!(lines[0].1 > lines[1].1 && lines[1].1 > 0);
    }

    #[test]
    fn squashfs_is_built_once_per_input_and_unpacks_with_the_layer() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("root");
        std::fs::create_dir_all(base.join("usr/bin")).unwrap();
        std::fs::write(base.join("usr/bin/tool"), "#!/bin/sh\n").unwrap();
        let mut layer = Layer::new();
        layer.file("etc/motd", 0o644, "hello\n");
        let out = dir.path().join("out/root.squashfs");
        assert!(build(&base, &layer, Compression::Zstd3, &out).unwrap());
        assert!(!build(&base, &layer, Compression::Zstd3, &out).unwrap(), "rebuilt with the same inputs");
        layer.file("etc/issue", 0o644, "x\n");
        assert!(build(&base, &layer, Compression::Zstd3, &out).unwrap(), "not rebuilt after a change");
        let listing = Cmd::new("t", "unsquashfs").arg("-l").arg(&out).run().unwrap().stdout;
        for p in ["usr/bin/tool", "etc/motd", "etc/issue"] {
            assert!(listing.contains(p), "{p} not in {listing}");
        }
    }

    #[test]
    fn development_builds_use_zstd_and_release_builds_xz_with_the_x86_filter() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("root");
        std::fs::create_dir_all(base.join("usr/bin")).unwrap();
        std::fs::copy("/bin/sh", base.join("usr/bin/sh")).unwrap();
        let layer = Layer::new();
        let stats = |comp: Compression, name: &str| {
            let out = dir.path().join(name);
            build(&base, &layer, comp, &out).unwrap();
            Cmd::new("t", "unsquashfs").arg("-s").arg(&out).run().unwrap().stdout
        };
        let dev = stats(Compression::Zstd3, "dev.squashfs");
        assert!(dev.contains("Compression zstd") && dev.contains("compression-level 3"), "{dev}");
        let rel = stats(Compression::XzBcj, "release.squashfs");
        assert!(rel.contains("Compression xz") && rel.contains("Filters selected: x86"), "{rel}");
        assert!(rel.contains("Block size 1048576"), "{rel}");
    }

    #[test]
    fn release_builds_hold_plain_kernel_modules_indexed_by_depmod() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("root");
        let kdir = base.join("usr/lib/modules/6.1.0-test");
        std::fs::create_dir_all(kdir.join("kernel/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", base.join("lib")).unwrap();
        std::fs::write(kdir.join("kernel/lib/a.ko"), "not really a module\n").unwrap();
        Cmd::new("t", "zstd").args(["-q", "--rm"]).arg(kdir.join("kernel/lib/a.ko")).run().unwrap();
        std::fs::write(kdir.join("modules.dep"), "kernel/lib/a.ko.zst:\n").unwrap();
        let out = dir.path().join("release.squashfs");
        build(&base, &Layer::new(), Compression::XzBcj, &out).unwrap();
        let x = dir.path().join("x");
        Cmd::new("t", "unsquashfs").arg("-q").arg("-d").arg(&x).arg(&out).run().unwrap();
        let m = x.join("usr/lib/modules/6.1.0-test");
        assert_eq!(std::fs::read_to_string(m.join("kernel/lib/a.ko")).unwrap(), "not really a module\n");
        assert!(!m.join("kernel/lib/a.ko.zst").exists());
        assert_eq!(std::fs::read_to_string(m.join("modules.dep")).unwrap(), "kernel/lib/a.ko:\n");
        // The shared root keeps its compressed module and index.
        assert!(kdir.join("kernel/lib/a.ko.zst").exists() && !kdir.join("kernel/lib/a.ko").exists());
        assert_eq!(std::fs::read_to_string(kdir.join("modules.dep")).unwrap(), "kernel/lib/a.ko.zst:\n");
    }
}
