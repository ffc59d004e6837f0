//! What this system offers for names that reach its configuration: console keymaps and locales
//! (`None` when the data is not installed, so callers can tell "unknown" from "cannot say").
//! The live system has both; `validate` checks answers against them, the TUI lists them.

use std::path::Path;

/// Where the console keymaps are, below the root.
pub const KEYMAPS_DIR: &str = "usr/share/keymaps";
/// The list of locales glibc supports, below the root.
pub const LOCALES_FILE: &str = "usr/share/i18n/SUPPORTED";

/// Console keymaps (`/usr/share/keymaps/**/NAME.kmap.gz`, from console-data), sorted.
pub fn keymaps(root: &Path) -> Option<Vec<String>> {
    let top = root.join(KEYMAPS_DIR);
    if !top.is_dir() {
        return None;
    }
    let mut out = vec![];
    let mut stack = vec![top];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                if let Some(name) = n.strip_suffix(".kmap.gz").or_else(|| n.strip_suffix(".kmap")) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// Locales glibc supports (`/usr/share/i18n/SUPPORTED`, from the locales package), and `C.UTF-8`,
/// which every glibc has built in.
pub fn locales(root: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(root.join(LOCALES_FILE)).ok()?;
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    out.push("C.UTF-8".into());
    out.sort();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_without_the_data_and_the_names_with_it() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(keymaps(t.path()), None);
        assert_eq!(locales(t.path()), None);
        let km = t.path().join("usr/share/keymaps/i386/qwertz");
        std::fs::create_dir_all(&km).unwrap();
        std::fs::write(km.join("de.kmap.gz"), "").unwrap();
        std::fs::create_dir_all(t.path().join("usr/share/i18n")).unwrap();
        std::fs::write(t.path().join("usr/share/i18n/SUPPORTED"), "de_DE.UTF-8 UTF-8\nde_DE ISO-8859-1\n")
            .unwrap();
        assert_eq!(keymaps(t.path()).unwrap(), vec!["de"]);
        assert_eq!(locales(t.path()).unwrap(), vec!["C.UTF-8", "de_DE", "de_DE.UTF-8"]);
    }
}
