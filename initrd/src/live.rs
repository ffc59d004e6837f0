//! Building the live initrd: our stage-1 as `/init`, busybox (for `boot.shell_on_fail`), the kernel
//! modules a live medium needs with their dependencies, and the `modules.dep`/`modules.alias`
//! entries for exactly those modules, so that stage-1 can coldplug by modalias.

use std::path::Path;

use crate::config::Config;
use crate::cpio::{Archive, CpioError};
use crate::installed::STORAGE_MODULES;
use crate::modules::{normalize_name, ModuleError, ModuleTree};

/// What a live boot needs besides the disk drivers of [`STORAGE_MODULES`]: NICs (netboot), the
/// virtio console (test agent), and the filesystems of the medium and the overlay.
pub const LIVE_MODULES: &[&str] = &[
    "virtio_net",
    "virtio_console",
    "e1000",
    "e1000e",
    "isofs",
    "squashfs",
    "overlay",
    "loop",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_iso8859_1",
];

/// Modules stage-1 always loads (it needs them whatever the hardware).
pub const ALWAYS: &[&str] = &[
    "loop",
    "squashfs",
    "overlay",
    "isofs",
    "sr_mod",
    "sd_mod",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_iso8859_1",
];

#[derive(Debug, thiserror::Error)]
pub enum LiveInitrdError {
    #[error(transparent)]
    Modules(#[from] ModuleError),
    #[error(transparent)]
    Cpio(#[from] CpioError),
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
}

/// The live initrd for the kernel whose module directory is `modules_dir`, with extra `files`
/// (path in the initrd, host file), e.g. CA certificates for `root=live:https://`; the caller
/// compresses it (gzip with [`Archive::to_gzip`], or a release's xz over [`Archive::to_bytes`]).
pub fn build(
    modules_dir: &Path,
    stage1: &Path,
    busybox: &Path,
    extra: &[String],
    files: &[(String, std::path::PathBuf)],
) -> Result<Archive, LiveInitrdError> {
    let mut names: Vec<String> = STORAGE_MODULES.iter().chain(LIVE_MODULES).map(|s| s.to_string()).collect();
    names.extend(extra.iter().cloned());
    let mut a = with_modules(modules_dir, stage1, busybox, &names)?;
    for (path, host) in files {
        a.host_file(path.trim_start_matches('/'), host)?;
    }
    let config = Config { modules: ALWAYS.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    a.file("etc/stage1.json", 0o644, serde_json::to_string_pretty(&config).expect("serializable"))?;
    Ok(a)
}

/// The contents of a zstd-compressed file (one frame, as `zstd` writes a module).
fn unzstd(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut d = ruzstd::decoding::StreamingDecoder::new(f)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut out = vec![];
    d.read_to_end(&mut out)?;
    Ok(out)
}

/// An archive with stage-1 as `/init`, busybox, and the named modules (those this kernel has)
/// with their dependencies and the matching `modules.dep`/`modules.alias`/`modules.softdep`.
pub(crate) fn with_modules(
    modules_dir: &Path,
    stage1: &Path,
    busybox: &Path,
    names: &[String],
) -> Result<Archive, LiveInitrdError> {
    let tree = ModuleTree::open(modules_dir)?;
    let names: Vec<&String> =
        names.iter().filter(|n| tree.path_of(n).is_some() || tree.is_builtin(n)).collect();
    let files = tree.resolve(&names)?;
    let kver = modules_dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|source| LiveInitrdError::Read { path: p.display().to_string(), source })
    };
    let included: Vec<String> = files.iter().map(|f| normalize_name(f)).collect();
    // Compressed modules (`.ko.zst`, as the images ship them) go into the initrd decompressed:
    // stage 1 loads plain files with finit_module, and the initrd is compressed as a whole.
    let dep: String = read(&modules_dir.join("modules.dep"))?
        .lines()
        .filter(|l| l.split(':').next().is_some_and(|m| files.iter().any(|f| f == m)))
        .map(|l| format!("{}\n", l.replace(".ko.zst", ".ko")))
        .collect();
    let alias: String = read(&modules_dir.join("modules.alias"))?
        .lines()
        .filter(|l| l.split_whitespace().nth(2).is_some_and(|m| included.contains(&normalize_name(m))))
        .map(|l| format!("{l}\n"))
        .collect();
    let builtin = read(&modules_dir.join("modules.builtin")).unwrap_or_default();
    let mut a = Archive::new();
    a.base_layout()?;
    a.host_file("init", stage1)?;
    a.host_file("bin/busybox", busybox)?;
    a.symlink("bin/sh", "busybox")?;
    a.dir("sysroot", 0o755)?;
    let m = format!("lib/modules/{kver}");
    for f in &files {
        let host = modules_dir.join(f);
        match f.strip_suffix(".zst") {
            Some(plain) => {
                let data = unzstd(&host)
                    .map_err(|source| LiveInitrdError::Read { path: host.display().to_string(), source })?;
                a.file(&format!("{m}/{plain}"), 0o644, data)?;
            }
            None => {
                a.host_file(&format!("{m}/{f}"), &host)?;
            }
        }
    }
    a.file(&format!("{m}/modules.dep"), 0o644, dep)?;
    a.file(&format!("{m}/modules.alias"), 0o644, alias)?;
    a.file(&format!("{m}/modules.builtin"), 0o644, builtin)?;
    a.file(
        &format!("{m}/modules.softdep"),
        0o644,
        read(&modules_dir.join("modules.softdep")).unwrap_or_default(),
    )?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::Entry;

    /// A module tree as the images ship it (`.ko.zst`, depmod's paths) gives an initrd of plain
    /// `.ko` files, byte for byte the originals, and a modules.dep naming them.
    #[test]
    fn compressed_modules_go_in_decompressed() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("6.1.0-test");
        std::fs::create_dir_all(dir.join("kernel/fs/ext4")).unwrap();
        std::fs::create_dir_all(dir.join("kernel/lib")).unwrap();
        let ext4: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let zst = |p: &str, data: &[u8]| {
            let c = ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest);
            std::fs::write(dir.join(p), c).unwrap();
        };
        zst("kernel/fs/ext4/ext4.ko.zst", &ext4);
        zst("kernel/lib/crc16.ko.zst", b"crc16 module");
        std::fs::write(
            dir.join("modules.dep"),
            "kernel/fs/ext4/ext4.ko.zst: kernel/lib/crc16.ko.zst\nkernel/lib/crc16.ko.zst:\n",
        )
        .unwrap();
        std::fs::write(dir.join("modules.alias"), "alias fs-ext4 ext4\n").unwrap();
        let stage1 = t.path().join("stage1");
        std::fs::write(&stage1, b"stage1").unwrap();
        let a = with_modules(&dir, &stage1, &stage1, &["ext4".to_string()]).unwrap();
        let m = "lib/modules/6.1.0-test";
        match a.get(&format!("{m}/kernel/fs/ext4/ext4.ko")) {
            Some(Entry::File { data, .. }) => assert!(data == &ext4, "ext4.ko is not the original"),
            other => panic!("no ext4.ko in the initrd: {other:?}"),
        }
        assert!(a.contains(&format!("{m}/kernel/lib/crc16.ko")));
        assert!(!a.contains(&format!("{m}/kernel/fs/ext4/ext4.ko.zst")));
        match a.get(&format!("{m}/modules.dep")) {
            Some(Entry::File { data, .. }) => {
                let dep = String::from_utf8_lossy(data);
                assert!(dep.contains("kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko\n"), "{dep}");
                assert!(!dep.contains(".zst"), "{dep}");
            }
            other => panic!("no modules.dep: {other:?}"),
        }
    }
}
