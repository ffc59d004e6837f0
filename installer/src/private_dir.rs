//! A private (0700) directory under the system's temporary directory, unique to its process and
//! its creation, removed when dropped: where downloads and request bodies wait for the HTTP client.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// `$TMPDIR/installer-{what}-{pid}-{n}`.
    pub fn new(what: &str) -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("installer-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::DirBuilder::new().mode(0o700).create(&p)?;
        Ok(PrivateDir(p))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
