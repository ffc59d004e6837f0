//! Helpers shared by the guest tests of this crate.

use std::process::Command;

use vm_harness::Machine;

/// Copies our installer binary (stripped: the debug build is large) into the guest's PATH.
pub fn copy_installer(m: &mut Machine) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("installer");
    let st = Command::new("strip").arg("-o").arg(&bin).arg(env!("CARGO_BIN_EXE_installer")).status().unwrap();
    assert!(st.success(), "strip failed");
    m.copy_to_guest(&bin, "/usr/local/bin/installer").unwrap();
}

/// Writes `contents` to `guest_path` with mode `mode`.
pub fn write_guest_file(m: &mut Machine, guest_path: &str, contents: &str, mode: u32) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("file");
    std::fs::write(&p, contents).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    m.copy_to_guest(&p, guest_path).unwrap();
}
