//! Generations, NixOS style: `/nix/var/nix/profiles/system-<N>-link` points at
//! `/nix/var/installer/generations/<N>/` (kernel, initrd, kernel-params, kernel-version, the
//! configuration files and the evaluated system), and `system` points at the current one.
//! Installing again with nothing changed reuses the newest generation.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{write_bytes, write_file};

pub const GENERATIONS: &str = "nix/var/installer/generations";
pub const PROFILES: &str = "nix/var/nix/profiles";

/// What makes a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationContent {
    pub kernel: Vec<u8>,
    pub initrd: Vec<u8>,
    pub kernel_version: String,
    pub kernel_params: String,
    /// The evaluated system (JSON, without password hashes).
    pub system_json: String,
    /// The configuration directory's files (name, content).
    pub configuration: Vec<(String, Vec<u8>)>,
}

/// A generation on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub number: u32,
    pub dir: PathBuf,
    pub kernel_version: String,
    pub kernel_params: String,
    /// "YYYY-MM-DD HH:MM" (UTC) of its creation.
    pub date: String,
}

/// The generations present under `root`, oldest first.
pub fn list(root: &Path) -> Vec<Generation> {
    let mut gens = vec![];
    let profiles = root.join(PROFILES);
    for e in std::fs::read_dir(&profiles).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(n) = name.strip_prefix("system-").and_then(|r| r.strip_suffix("-link")) else { continue };
        let Ok(number) = n.parse::<u32>() else { continue };
        let dir = root.join(GENERATIONS).join(number.to_string());
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default().trim().to_string();
        if !dir.join("kernel").exists() {
            continue;
        }
        gens.push(Generation {
            number,
            kernel_version: read("kernel-version"),
            kernel_params: read("kernel-params"),
            date: read("date"),
            dir,
        });
    }
    gens.sort_by_key(|g| g.number);
    gens
}

fn matches(dir: &Path, c: &GenerationContent) -> bool {
    let same = |f: &str, data: &[u8]| std::fs::read(dir.join(f)).is_ok_and(|d| d == data);
    same("kernel", &c.kernel)
        && same("initrd", &c.initrd)
        && same("kernel-version", format!("{}\n", c.kernel_version).as_bytes())
        && same("kernel-params", format!("{}\n", c.kernel_params).as_bytes())
        && same("system.json", c.system_json.as_bytes())
        && c.configuration.iter().all(|(n, d)| same(&format!("configuration/{n}"), d))
}

/// UTC "YYYY-MM-DD HH:MM" for a Unix time (civil-from-days).
pub fn format_date(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let (h, m) = ((secs % 86400) / 3600, (secs % 3600) / 60);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}")
}

/// Returns the newest generation when it has exactly this content, or writes a new one and
/// points `system` at it. The directory is complete before its profile link appears.
pub fn ensure(root: &Path, c: &GenerationContent) -> Result<(Generation, bool)> {
    let existing = list(root);
    if let Some(last) = existing.last() {
        if matches(&last.dir, c) {
            point_system(root, last.number)?;
            return Ok((last.clone(), false));
        }
    }
    let number = existing.last().map(|g| g.number + 1).unwrap_or(1);
    let dir = root.join(GENERATIONS).join(number.to_string());
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing the unfinished {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("configuration"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let date = format_date(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    );
    std::fs::write(dir.join("kernel"), &c.kernel).context("writing the generation's kernel")?;
    crate::failpoint::hit("generation:kernel");
    // Root only: the initrd may hold key files (boot.initrd.secrets).
    write_bytes(&dir.join("initrd"), &c.initrd, 0o600).context("writing the generation's initrd")?;
    crate::failpoint::hit("generation:initrd");
    write_file(&dir.join("kernel-version"), &format!("{}\n", c.kernel_version), 0o644)?;
    write_file(&dir.join("kernel-params"), &format!("{}\n", c.kernel_params), 0o644)?;
    write_file(&dir.join("system.json"), &c.system_json, 0o600)?;
    write_file(&dir.join("date"), &format!("{date}\n"), 0o644)?;
    for (n, d) in &c.configuration {
        std::fs::write(dir.join("configuration").join(n), d).with_context(|| format!("saving {n}"))?;
    }
    // On disk before the link that makes it a generation: a power cut must not leave a listed
    // generation with an empty kernel.
    sync_dir(&dir).with_context(|| format!("syncing {}", dir.display()))?;
    let profiles = root.join(PROFILES);
    std::fs::create_dir_all(&profiles).context("creating the profiles directory")?;
    let link = profiles.join(format!("system-{number}-link"));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("/{GENERATIONS}/{number}"), &link)
        .context("linking the generation")?;
    point_system(root, number)?;
    let g =
        list(root).into_iter().find(|g| g.number == number).context("the new generation is not listed")?;
    Ok((g, true))
}

/// fsyncs every file below `dir`, then the directories.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            sync_dir(&p)?;
        } else {
            std::fs::File::open(&p)?.sync_all()?;
        }
    }
    std::fs::File::open(dir)?.sync_all()
}

fn point_system(root: &Path, number: u32) -> Result<()> {
    let profiles = root.join(PROFILES);
    let tmp = profiles.join(".system-tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("system-{number}-link"), &tmp)
        .context("linking the system profile")?;
    std::fs::rename(&tmp, profiles.join("system")).context("switching the system profile")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(params: &str) -> GenerationContent {
        GenerationContent {
            kernel: b"k".to_vec(),
            initrd: b"i".to_vec(),
            kernel_version: "6.1".into(),
            kernel_params: params.into(),
            system_json: "{}".into(),
            configuration: vec![("configuration.nix".into(), b"{ }".to_vec())],
        }
    }

    #[test]
    fn same_content_reuses_the_generation_and_changes_make_a_new_one() {
        let t = tempfile::tempdir().unwrap();
        let (g1, new1) = ensure(t.path(), &content("quiet")).unwrap();
        assert_eq!((g1.number, new1), (1, true));
        let (again, new) = ensure(t.path(), &content("quiet")).unwrap();
        assert_eq!((again.number, new), (1, false));
        let (g2, _) = ensure(t.path(), &content("quiet console=ttyS0")).unwrap();
        assert_eq!(g2.number, 2);
        assert_eq!(list(t.path()).iter().map(|g| g.number).collect::<Vec<_>>(), [1, 2]);
        let profiles = t.path().join(PROFILES);
        assert_eq!(std::fs::read_link(profiles.join("system")).unwrap(), Path::new("system-2-link"));
        assert_eq!(
            std::fs::read_link(profiles.join("system-1-link")).unwrap(),
            Path::new("/nix/var/installer/generations/1")
        );
        assert_eq!(g2.kernel_params, "quiet console=ttyS0");
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(format_date(0), "1970-01-01 00:00");
        assert_eq!(format_date(1_795_629_600), "2026-11-25 18:00");
        assert_eq!(format_date(951_782_400), "2000-02-29 00:00");
    }
}
