//! Why stage 1 could not boot: one typed error, shown on the console with `error: …` before the
//! `boot.shell_on_fail` / `boot.panic_on_fail` handling.

use std::io;

/// A stage-1 failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call or file operation, with what was being done.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("module {name}: {reason}")]
    Module { name: String, reason: String },
    #[error("no device with the label {label:?} appeared within {secs}s; found: {found}")]
    MediumNotFound { label: String, secs: u64, found: String },
    #[error("the root device {want} did not appear within {secs}s; found: {found}")]
    RootNotFound { want: String, secs: u64, found: String },
    #[error("e2fsck found errors on {dev} it could not correct (exit {status:?}); run e2fsck {dev} by hand")]
    Fsck { dev: String, status: Option<i32> },
    #[error("could not open {name} ({dev}) after 3 tries")]
    Unlock { name: String, dev: String },
    #[error("{dev} has no {init}: is it the root filesystem?")]
    NotARoot { dev: String, init: String },
    #[error("switch_root: {0}")]
    SwitchRoot(#[source] io::Error),
    #[error("{on} has no live/filesystem.squashfs")]
    NoSquashfs { on: String },
    #[error("root=live:initrd but this initrd carries no /live/filesystem.squashfs")]
    NoSquashfsInInitrd,
    #[error("the kernel command line has no root=live:LABEL=<volume id>")]
    NoLiveLabel,
    #[error("findiso: {iso} is on none of the filesystems found ({tried})")]
    IsoNotFound { iso: String, tried: String },
    #[error("no network interface appeared for root=live:http")]
    NoNetwork,
    #[error("DHCP failed on {ifaces}")]
    Dhcp { ifaces: String },
    #[error("downloading {url}: {source}")]
    Download {
        url: String,
        #[source]
        source: crate::http::Error,
    },
    #[error("{cmd} did not finish within {secs}s")]
    Timeout { cmd: String, secs: u64 },
}

/// `Result` with stage 1's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what was being done to an I/O error.
pub trait Context<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io { what: what(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_failed() {
        let e =
            Err::<(), _>(io::Error::from_raw_os_error(2)).doing(|| "mounting /dev/vda1 on /sysroot".into());
        assert_eq!(
            e.unwrap_err().to_string(),
            "mounting /dev/vda1 on /sysroot: No such file or directory (os error 2)"
        );
        let e = Error::RootNotFound { want: "UUID=1234".into(), secs: 30, found: "no block devices".into() };
        assert_eq!(
            e.to_string(),
            "the root device UUID=1234 did not appear within 30s; found: no block devices"
        );
    }
}
