//! The golden-file check of this crate's golden tests: what a test produced must equal the file
//! kept in the tree; `UPDATE_GOLDEN=1` rewrites the files instead. Differences are collected, so
//! one run shows every case that changed.

use std::path::Path;

/// The golden files one test compares against.
#[derive(Debug)]
pub struct Golden {
    update: bool,
    failures: Vec<String>,
}

impl Golden {
    pub fn new() -> Golden {
        Golden { update: std::env::var_os("UPDATE_GOLDEN").is_some(), failures: vec![] }
    }

    /// Compares `got` with the file at `path` (or rewrites the file under `UPDATE_GOLDEN=1`).
    pub fn check(&mut self, path: &Path, got: &str) {
        if self.update {
            std::fs::write(path, got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let want = std::fs::read_to_string(path).unwrap_or_default();
        if want != got {
            self.failures.push(format!("--- {}: expected\n{want}--- got\n{got}", path.display()));
        }
    }

    /// Fails the test with every difference found, and how to accept them.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} golden file(s) differ (UPDATE_GOLDEN=1 rewrites them after a deliberate change):\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}
