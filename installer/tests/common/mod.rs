//! Helpers shared by the guest tests of this crate (each test crate uses a part of them).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use vm_harness::{Disk, Machine, MachineBuilder, TestAssets};

/// The live test image booted directly with a blank 4 GiB TARGET disk and the BYSTANDER disk (see
/// [`vm_harness::testimage::live_machine`]: machines with no `extra` and no more devices resume
/// from one saved boot).
pub fn live_image(name: &str, extra: &str) -> MachineBuilder {
    let a = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    vm_harness::testimage::live_machine(name, &a, extra)
        .expect("the live test ISO (cargo xtask assets builds it)")
}

/// The live machine with TARGET (disk 0) and BYSTANDER (1) resumed from the boot the install tests
/// share, with the answer disk (2, serial ANSWERS) and more blank 4 GiB disks (3…, these serials)
/// plugged in.
pub fn live_plugged(name: &str, uefi: bool, answer_img: &std::path::Path, more: &[&str]) -> Machine {
    let mut b = live_image(name, "");
    if uefi {
        b = b.uefi();
    }
    let mut m = b.start().unwrap();
    m.wait_for_agent().unwrap();
    m.hotplug_disk(Disk::file(answer_img, "raw").serial("ANSWERS")).unwrap();
    for serial in more {
        m.hotplug_disk(Disk::new_qcow2(4 << 30).serial(serial)).unwrap();
    }
    let present: Vec<String> = std::iter::once("ANSWERS")
        .chain(more.iter().copied())
        .map(|s| format!("test -e /dev/disk/by-id/virtio-{s}"))
        .collect();
    m.wait_until_succeeds(
        &format!("udevadm settle && {}", present.join(" && ")),
        std::time::Duration::from_secs(120),
    )
    .unwrap();
    m
}

/// Starts the live system's unattended-install script with these kernel parameters, as
/// installer-auto.service runs it when a boot has them (on the console, the console logins
/// stopped first as the unit's `Conflicts=` does): what a boot with `installer.answer=` does,
/// without a boot of its own.
pub fn start_autostart(m: &mut Machine, params: &str) {
    start_autostart_with(m, params, &[])
}

/// [`start_autostart`] with these environment variables (e.g. `INSTALLER_FAILPOINT`).
pub fn start_autostart_with(m: &mut Machine, params: &str, env: &[(&str, &str)]) {
    let env: String = env.iter().map(|(k, v)| format!("--setenv={k}={v} ")).collect();
    m.succeed(&format!(
        "systemctl stop serial-getty@ttyS0.service getty@tty1.service && \
         systemd-run --unit=installer-auto-by-hand {env}--property=StandardInput=tty-force \
         --property=StandardOutput=tty --property=StandardError=tty --property=TTYPath=/dev/console \
         /usr/local/sbin/installer-autostart {params}"
    ))
    .unwrap();
}

/// Waits until a booting installed system has reached multi-user.target: one blocking wait
/// (`systemctl is-system-running --wait`) rather than a poll that costs the booting guest a
/// process a second.
pub fn wait_for_multi_user(m: &mut Machine) {
    m.wait_until_succeeds(
        "systemctl is-system-running --wait >/dev/null; \
         systemctl is-active multi-user.target && test \"$(systemctl is-system-running)\" != starting",
        std::time::Duration::from_secs(300),
    )
    .expect("the installed system reaches multi-user.target");
}

/// Moves disk `index` of a stopped machine out of its state directory (removed with the
/// machine) into a new temporary directory.
pub fn take_disk(m: &Machine, index: usize) -> (tempfile::TempDir, PathBuf) {
    let disk = m.disk_path(index).unwrap().to_path_buf();
    let keep = tempfile::tempdir().unwrap();
    let dest = keep.path().join(format!("disk{index}.qcow2"));
    std::fs::rename(&disk, &dest).or_else(|_| std::fs::copy(&disk, &dest).map(|_| ())).unwrap();
    (keep, dest)
}

/// Copies our installer into the guest's PATH: the static release build the images carry (from
/// the assets manifest), else this build's binary, stripped.
pub fn copy_installer(m: &mut Machine) {
    if let Some(bin) = TestAssets::load().ok().and_then(|a| a.installer).filter(|p| p.exists()) {
        m.copy_to_guest(&bin, "/usr/local/bin/installer").unwrap();
        return;
    }
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

/// An ext4 image labelled ANSWERS holding `answer.toml` (as a USB stick with an answer would be).
pub fn answer_disk(dir: &std::path::Path, answer: &str) -> PathBuf {
    answer_disk_with(dir, "answer.toml", answer)
}

/// [`answer_disk`] with the file named `name` (e.g. a Kickstart file's `ks.cfg`).
pub fn answer_disk_with(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    labelled_disk(dir, "ANSWERS", &[(name, text)])
}

/// A 16 MiB raw disk image holding one ext4 filesystem labelled `label` with these files.
pub fn labelled_disk(dir: &std::path::Path, label: &str, files: &[(&str, &str)]) -> PathBuf {
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    for (name, text) in files {
        std::fs::write(content.join(name), text).unwrap();
    }
    let img = dir.join("answers.img");
    std::fs::File::create(&img).unwrap().set_len(16 << 20).unwrap();
    let st =
        Command::new("mkfs.ext4").args(["-q", "-L", label, "-d"]).arg(&content).arg(&img).status().unwrap();
    assert!(st.success());
    img
}

/// Disk `index` of a stopped machine was never written: it was blank and still holds no data
/// (`qemu-img map` finds no extent with data, in the disk or under it when it is an overlay).
pub fn assert_never_written(m: &Machine, index: usize) {
    let p = m.disk_path(index).unwrap();
    let out = Command::new("qemu-img").args(["map", "-U", "--output=json"]).arg(p).output().unwrap();
    assert!(out.status.success(), "qemu-img map {}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
    let extents: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let written: Vec<&serde_json::Value> = extents.iter().filter(|e| e["data"] == true).collect();
    assert!(written.is_empty(), "disk {index} ({}), outside the plan, was written: {written:?}", p.display());
}

/// The SHA-256 of a file on the host.
pub fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// The SHA-256 of bytes, as `installer.answer_sha256=` takes it.
pub fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    installer::source::hex(&sha2::Sha256::digest(bytes))
}

/// Where an answer's configuration.nix is rendered for in host tests: UEFI with systemd-boot and
/// the ESP the answer's storage mounts.
pub fn uefi_systemd_boot(a: &installer::answer::Answer) -> installer::answer::BootTarget {
    installer::answer::BootTarget {
        loader: installer::storage::plan::Bootloader::SystemdBoot,
        uefi: true,
        esp: installer::answer::esp_mountpoint(&installer::answer::storage_spec(a)),
        grub_devices: vec![],
        initrd_keys: vec![],
    }
}
