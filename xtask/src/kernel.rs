//! The Debian kernel the VMs boot: `linux-image-<abi>-amd64` fetched with `apt-get download`,
//! unpacked and `depmod`-ed into the cache, keyed by package name and version.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::deps;

#[derive(Debug, Clone)]
pub struct Kernel {
    /// Unpacked package root (`boot/`, `lib/modules/<version>/`).
    pub root: PathBuf,
    /// `uname -r`.
    pub version: String,
    /// The Debian package, e.g. `linux-image-6.1.0-56-amd64`; the images install the same one.
    pub package: String,
}

impl Kernel {
    pub fn vmlinuz(&self) -> PathBuf {
        self.root.join("boot").join(format!("vmlinuz-{}", self.version))
    }
    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.version)
    }
}

/// The concrete kernel package `linux-image-amd64` depends on, and its version.
fn resolve_package() -> Result<(String, String)> {
    let show = |updated: bool| -> Result<Option<(String, String)>> {
        let out =
            Command::new("apt-cache").args(["show", "linux-image-amd64"]).output().context("apt-cache")?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)"
        for line in text.lines() {
            if let Some(dep) = line.strip_prefix("Depends: ") {
                let mut w = dep.split_whitespace();
                if let (Some(name), Some("(="), Some(ver)) = (w.next(), w.next(), w.next()) {
                    return Ok(Some((name.to_string(), ver.trim_end_matches(')').to_string())));
                }
            }
        }
        if updated {
            bail!("apt-cache show linux-image-amd64 names no kernel package:\n{text}");
        }
        Ok(None)
    };
    if let Some(r) = show(false)? {
        return Ok(r);
    }
    deps::apt_update()?;
    Ok(show(true)?.expect("bails when missing"))
}

fn newest_cached(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".complete").exists())
        .collect();
    entries.sort();
    entries.pop()
}

fn read_cached(entry: &Path) -> Result<Kernel> {
    let version = std::fs::read_to_string(entry.join(".complete"))?.trim().to_string();
    let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let package = name.split('_').next().unwrap_or_default().to_string();
    Ok(Kernel { root: entry.join("root"), version, package })
}

/// Returns the cached kernel, downloading it first when the archive has a version we lack.
pub fn ensure(cache: &Path) -> Result<Kernel> {
    let dir = cache.join("kernel");
    std::fs::create_dir_all(&dir)?;
    let (pkg, ver) = match resolve_package() {
        Ok(p) => p,
        Err(e) => {
            // Offline: any kernel we already have will do.
            if let Some(entry) = newest_cached(&dir) {
                eprintln!("xtask: cannot ask apt for the kernel version ({e:#}); using {}", entry.display());
                return read_cached(&entry);
            }
            return Err(e);
        }
    };
    let entry = dir.join(format!("{pkg}_{ver}"));
    if entry.join(".complete").exists() {
        return read_cached(&entry);
    }
    let t = Instant::now();
    eprintln!("xtask: fetching the Debian kernel {pkg} {ver} into {}", entry.display());
    let _ = std::fs::remove_dir_all(&entry);
    let dl = entry.join("download");
    std::fs::create_dir_all(&dl)?;
    // apt drops privileges to _apt for downloads; let it write here.
    let _ = Command::new("chmod").args(["0777"]).arg(&dl).status();
    let st = deps::apt_command()
        .current_dir(&dl)
        .args(["-q", "download", &format!("{pkg}={ver}")])
        .status()
        .context("apt-get download")?;
    if !st.success() {
        bail!("apt-get download {pkg}={ver} failed ({st})");
    }
    let deb = std::fs::read_dir(&dl)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .context("apt-get download left no .deb")?;
    let root = entry.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let modules = root.join("lib/modules");
    let version = std::fs::read_dir(&modules)
        .with_context(|| format!("reading {}", modules.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .context("the kernel package has no lib/modules/<version>")?;
    run(Command::new("depmod").arg("-b").arg(&root).arg(&version))?;
    std::fs::remove_dir_all(&dl)?;
    std::fs::write(entry.join(".complete"), format!("{version}\n"))?;
    eprintln!("xtask: kernel {version} ready in {:.1}s", t.elapsed().as_secs_f64());
    Ok(Kernel { root, version, package: pkg })
}

fn run(cmd: &mut Command) -> Result<()> {
    let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed ({st})");
    }
    Ok(())
}
