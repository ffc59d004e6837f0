//! Bootloader configuration: rendering and installing GRUB (BIOS/EFI) and systemd-boot for the
//! installed system, with one menu entry per generation (NixOS style: the newest is the default,
//! every generation is reachable under "All configurations" or in the systemd-boot menu).
//!
//! Rendering is pure ([`grub::render`], [`systemd_boot::render_entries`]); installing runs the
//! standard tools (`grub-install`, `efibootmgr`) through [`runner::Cmd`].

pub mod efi_entries;
pub mod grub;
pub mod install;
pub mod systemd_boot;

/// One generation of the installed system as a bootloader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub number: u32,
    /// e.g. "2026-11-25 18:00".
    pub date: String,
    pub kernel_version: String,
    /// The kernel and initrd paths as the bootloader reads them (relative to the filesystem it
    /// searches for GRUB, to the ESP for systemd-boot).
    pub kernel: String,
    pub initrd: String,
    /// The kernel command line.
    pub params: String,
}

/// The serial console the installed system should use (when the installer ran on one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Serial {
    pub unit: u8,
    pub speed: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Run(#[from] runner::RunError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("no generations to put in the boot menu")]
    NoGenerations,
    #[error("GRUB for BIOS needs at least one device (boot.loader.grub.devices)")]
    NoGrubDevice,
}

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BootError {
    let context = context.into();
    move |source| BootError::Io { context, source }
}
