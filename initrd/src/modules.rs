//! Kernel module resolution from a module tree (`lib/modules/<version>/` with `modules.dep`).
//!
//! `depmod` writes `modules.dep` with one line per module: its path and the paths of every module it
//! needs. [`ModuleTree::resolve`] turns a list of module names into the files to ship, ordered so that
//! each module comes after everything it depends on (the order to load them with `finit_module`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::path::{Path, PathBuf};

/// Errors reading a module tree or resolving names in it.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("reading {path}: {source} (was depmod run for this kernel?)")]
    Read { path: PathBuf, source: io::Error },
    #[error("kernel module {name:?} is neither in modules.dep nor built in ({dir})")]
    Unknown { name: String, dir: PathBuf },
    #[error("{path}:{line}: malformed modules.dep line")]
    Malformed { path: PathBuf, line: usize },
}

/// The `modules.dep`/`modules.builtin` view of one kernel's module directory.
#[derive(Debug, Clone)]
pub struct ModuleTree {
    dir: PathBuf,
    /// Module name (normalized: `-` → `_`) → path relative to `dir`.
    paths: BTreeMap<String, String>,
    /// Relative path → relative paths of its dependencies, as depmod listed them.
    deps: BTreeMap<String, Vec<String>>,
    builtin: HashSet<String>,
    /// Module name → names or aliases to load before it (`softdep X pre: …`).
    softdeps: BTreeMap<String, Vec<String>>,
    /// Exact aliases (no wildcards) → module names, e.g. `crypto-crc32c` → `crc32c_generic`.
    aliases: BTreeMap<String, Vec<String>>,
}

/// Module names treat `-` and `_` as the same character, as modprobe does.
pub fn normalize_name(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let base = base
        .strip_suffix(".ko")
        .or_else(|| base.strip_suffix(".ko.xz"))
        .or_else(|| base.strip_suffix(".ko.zst"))
        .unwrap_or(base);
    base.replace('-', "_")
}

/// Where a live root keeps the index (depmod's output) of all of a kernel's modules, in its module
/// directory, while the index in its place lists only the modules an installer needs: the live
/// system loads no others, and an install puts this index back in place (the installed system
/// has every module). [`ModuleTree::open`] reads this one when it is there.
pub const FULL_INDEX_DIR: &str = "installer-full-index";

/// What depmod writes into a module directory (what [`FULL_INDEX_DIR`] holds).
pub const DEPMOD_OUTPUTS: &[&str] = &[
    "modules.alias",
    "modules.alias.bin",
    "modules.builtin.alias.bin",
    "modules.builtin.bin",
    "modules.dep",
    "modules.dep.bin",
    "modules.devname",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
];

impl ModuleTree {
    /// Reads `dir/modules.dep` and, when present, `dir/modules.builtin` (the full index of
    /// [`FULL_INDEX_DIR`] instead when `dir` has one).
    pub fn open(dir: &Path) -> Result<Self, ModuleError> {
        let full = dir.join(FULL_INDEX_DIR);
        let index = if full.join("modules.dep").is_file() { full } else { dir.to_path_buf() };
        let dep_path = index.join("modules.dep");
        let text = std::fs::read_to_string(&dep_path)
            .map_err(|source| ModuleError::Read { path: dep_path.clone(), source })?;
        let builtin = match std::fs::read_to_string(dir.join("modules.builtin")) {
            Ok(t) => t.lines().map(normalize_name).collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => HashSet::new(),
            Err(source) => return Err(ModuleError::Read { path: dir.join("modules.builtin"), source }),
        };
        let mut tree = Self::parse(dir, &text, builtin)
            .map_err(|line| ModuleError::Malformed { path: dep_path, line })?;
        if let Ok(t) = std::fs::read_to_string(index.join("modules.softdep")) {
            for l in t.lines() {
                let mut w = l.split_whitespace();
                if w.next() != Some("softdep") {
                    continue;
                }
                let Some(m) = w.next() else { continue };
                let mut pre = false;
                for x in w {
                    match x {
                        "pre:" => pre = true,
                        "post:" => pre = false,
                        dep if pre => {
                            tree.softdeps.entry(normalize_name(m)).or_default().push(dep.to_string())
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Ok(t) = std::fs::read_to_string(index.join("modules.alias")) {
            for l in t.lines() {
                let mut w = l.split_whitespace();
                if let (Some("alias"), Some(a), Some(m)) = (w.next(), w.next(), w.next()) {
                    if !a.contains(['*', '?', '[']) {
                        tree.aliases.entry(a.to_string()).or_default().push(m.to_string());
                    }
                }
            }
        }
        Ok(tree)
    }

    fn parse(dir: &Path, text: &str, builtin: HashSet<String>) -> Result<Self, usize> {
        let mut paths = BTreeMap::new();
        let mut deps = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (module, rest) = line.split_once(':').ok_or(i + 1)?;
            let module = module.trim().to_string();
            paths.insert(normalize_name(&module), module.clone());
            deps.insert(module, rest.split_whitespace().map(str::to_string).collect());
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            paths,
            deps,
            builtin,
            softdeps: BTreeMap::new(),
            aliases: BTreeMap::new(),
        })
    }

    /// The module directory this tree was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&normalize_name(name))
    }

    /// Path of a module relative to the module directory, if it is a loadable module.
    pub fn path_of(&self, name: &str) -> Option<&str> {
        self.paths.get(&normalize_name(name)).map(String::as_str)
    }

    /// Resolves module names into relative `.ko` paths, dependencies first, each once. Built-in
    /// modules are skipped silently; unknown names are an error.
    pub fn resolve<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<String>, ModuleError> {
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        for name in names {
            let name = name.as_ref();
            match self.path_of(name) {
                Some(path) => self.visit(path, &mut seen, &mut order),
                None if self.is_builtin(name) => {}
                None => return Err(ModuleError::Unknown { name: name.to_string(), dir: self.dir.clone() }),
            }
        }
        Ok(order)
    }

    fn visit(&self, path: &str, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if !seen.insert(path.to_string()) {
            return;
        }
        // Soft dependencies first (e.g. ext4 needs a crc32c implementation), by name or by alias.
        // Every module an alias names is taken: some only load on some CPUs (crc32c_intel needs
        // SSE4.2), so a generic one must be there too.
        for dep in self.softdeps.get(&normalize_name(path)).into_iter().flatten() {
            let targets: Vec<String> = match self.path_of(dep) {
                Some(p) => vec![p.to_string()],
                None => self
                    .aliases
                    .get(dep.as_str())
                    .into_iter()
                    .flatten()
                    .filter_map(|m| self.path_of(m).map(str::to_string))
                    .collect(),
            };
            for t in targets {
                self.visit(&t, seen, order);
            }
        }
        // depmod lists the transitive closure with the deepest dependency last: walk it in
        // reverse so that, even without recursion, the load order is right.
        if let Some(deps) = self.deps.get(path) {
            for dep in deps.iter().rev() {
                self.visit(dep, seen, order);
            }
        }
        order.push(path.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_index_is_read_where_a_live_root_keeps_it() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("modules.dep"), "kernel/a.ko:\n").unwrap();
        assert!(ModuleTree::open(t.path()).unwrap().path_of("snd").is_none());
        std::fs::create_dir(t.path().join(FULL_INDEX_DIR)).unwrap();
        std::fs::write(
            t.path().join(FULL_INDEX_DIR).join("modules.dep"),
            "kernel/a.ko:\nkernel/snd.ko: kernel/a.ko\n",
        )
        .unwrap();
        let tree = ModuleTree::open(t.path()).unwrap();
        assert_eq!(tree.path_of("snd"), Some("kernel/snd.ko"));
        assert_eq!(tree.dir(), t.path());
    }

    const DEP: &str = "\
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/drivers/usb/storage/usb-storage.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
";

    fn tree() -> ModuleTree {
        ModuleTree::parse(
            Path::new("/m"),
            DEP,
            ["kernel/fs/ext4/ext4.ko"].iter().map(|s| normalize_name(s)).collect(),
        )
        .unwrap()
    }

    #[test]
    fn dependencies_come_first_and_once() {
        let order = tree().resolve(&["virtio_blk", "virtio-pci"]).unwrap();
        let pos = |m: &str| order.iter().position(|p| p.ends_with(m)).unwrap();
        assert_eq!(order.len(), 6);
        assert!(pos("/virtio_ring.ko") < pos("/virtio_blk.ko"));
        assert!(pos("/virtio.ko") < pos("/virtio_blk.ko"));
        assert!(pos("/virtio_pci_modern_dev.ko") < pos("/virtio_pci.ko"));
        assert!(pos("/virtio_pci_legacy_dev.ko") < pos("/virtio_pci.ko"));
    }

    #[test]
    fn dash_and_underscore_are_the_same() {
        let order = tree().resolve(&["usb_storage"]).unwrap();
        assert_eq!(
            order,
            vec![
                "kernel/drivers/scsi/scsi_common.ko",
                "kernel/drivers/scsi/scsi_mod.ko",
                "kernel/drivers/usb/storage/usb-storage.ko"
            ]
        );
    }

    #[test]
    fn builtin_is_skipped_unknown_is_an_error() {
        assert!(tree().resolve(&["ext4"]).unwrap().is_empty());
        let err = tree().resolve(&["nosuch"]).unwrap_err();
        assert!(err.to_string().contains("\"nosuch\""), "{err}");
    }

    #[test]
    fn soft_dependencies_through_aliases_come_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("modules.dep"), "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko\nkernel/lib/crc16.ko:\nkernel/crypto/crc32c_generic.ko:\nkernel/arch/x86/crypto/crc32c-intel.ko:\n").unwrap();
        std::fs::write(
            dir.path().join("modules.softdep"),
            "# Soft dependencies\nsoftdep ext4 pre: crypto-crc32c\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("modules.alias"),
            "alias crypto-crc32c crc32c_intel\nalias crypto-crc32c crc32c_generic\nalias fs-ext4 ext4\n",
        )
        .unwrap();
        let t = ModuleTree::open(dir.path()).unwrap();
        assert_eq!(
            t.resolve(&["ext4"]).unwrap(),
            [
                "kernel/arch/x86/crypto/crc32c-intel.ko",
                "kernel/crypto/crc32c_generic.ko",
                "kernel/lib/crc16.ko",
                "kernel/fs/ext4/ext4.ko"
            ]
        );
    }

    #[test]
    fn malformed_line_is_reported() {
        assert_eq!(ModuleTree::parse(Path::new("/m"), "a.ko: b.ko\nbogus\n", HashSet::new()).unwrap_err(), 2);
    }
}

/// The kernel a root filesystem carries (`boot/vmlinuz-<version>`, `usr/lib/modules/<version>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKernel {
    pub version: String,
    pub vmlinuz: std::path::PathBuf,
    pub modules_dir: std::path::PathBuf,
}

/// Finds the newest kernel in `root` that has its modules (with `modules.dep`).
pub fn kernel_in_root(root: &Path) -> Option<RootKernel> {
    let boot = root.join("boot");
    let mut versions: Vec<String> = std::fs::read_dir(&boot)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("vmlinuz-").map(str::to_string))
        .filter(|v| root.join("usr/lib/modules").join(v).join("modules.dep").exists())
        .collect();
    versions.sort();
    let version = versions.pop()?;
    Some(RootKernel {
        vmlinuz: boot.join(format!("vmlinuz-{version}")),
        modules_dir: root.join("usr/lib/modules").join(&version),
        version,
    })
}
