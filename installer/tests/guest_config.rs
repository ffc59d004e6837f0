//! generate-config for real in a guest: the disk engine lays out ESP + LUKS + LVM on a UEFI
//! machine, then `installer generate-config --root /mnt` writes both files, `installer eval`
//! evaluates them with the Nix evaluator in the guest, and `installer option fileSystems` shows the
//! merged value and the file that defines it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{copy_installer, write_guest_file};

use vm_harness::{Disk, TestAssets};

#[test]
fn generate_config_in_a_guest_after_the_disk_engine_and_evaluate_it() {
    let assets = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    let mut m = assets
        .debian_machine("generate-config")
        .uefi()
        .disk(Disk::new_qcow2(1 << 30).serial("CFG1"))
        .start()
        .unwrap();
    m.wait_for_agent().unwrap();
    copy_installer(&mut m);
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("nix.tar");
    let manifest = env!("CARGO_MANIFEST_DIR");
    assert!(Command::new("tar")
        .args(["-C", manifest, "-cf"])
        .arg(&tar)
        .arg("nix")
        .status()
        .unwrap()
        .success());
    m.copy_to_guest(&tar, "/tmp/nix.tar").unwrap();
    m.succeed("mkdir -p /usr/share/installer && tar -C /usr/share/installer -xf /tmp/nix.tar").unwrap();
    write_guest_file(
        &mut m,
        "/root/spec.toml",
        r#"
[boot]
firmware = "uefi"
[[disk]]
match = { serial = "CFG1" }
[[disk.partition]]
size = "100MiB"
type = "esp"
content = { type = "filesystem", format = "vfat", mountpoint = "/boot" }
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "luks"
name = "cryptroot"
pbkdf = "pbkdf2"
iter_time_ms = 50
keyfile = "/root/key"
content = { type = "lvm-pv", vg = "sys" }
[[vg]]
name = "sys"
[[vg.lv]]
name = "root"
size = "rest"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#,
        0o644,
    );
    m.succeed("head -c 64 /dev/urandom > /root/key && chmod 600 /root/key").unwrap();
    m.wait_until_succeeds("udevadm settle && ls /dev/disk/by-id | grep -q CFG1", Duration::from_secs(120))
        .unwrap();
    m.succeed("installer partition --storage /root/spec.toml --yes >/dev/null").unwrap();
    m.succeed("udevadm settle && installer generate-config --root /mnt").unwrap();
    let hw = m.succeed("cat /mnt/etc/nixos/hardware-configuration.nix").unwrap();
    let luks_uuid = m.succeed("blkid -p -o value -s UUID /dev/vdb2").unwrap().trim().to_string();
    assert!(
        hw.contains(&format!(
            "boot.initrd.luks.devices.\"cryptroot\".device = \"/dev/disk/by-uuid/{luks_uuid}\";"
        )),
        "{hw}"
    );
    assert!(hw.contains("device = \"/dev/mapper/sys-root\""), "{hw}");
    // As today's nixos-generate-config lays it out: the LUKS device right after the filesystem
    // it backs, the platform last.
    assert!(
        hw.contains(&format!(
            "fileSystems.\"/\" =\n    {{ device = \"/dev/mapper/sys-root\";\n      fsType = \"ext4\";\n    }};\n\n  \
             boot.initrd.luks.devices.\"cryptroot\".device = \"/dev/disk/by-uuid/{luks_uuid}\";\n\n"
        )),
        "{hw}"
    );
    assert!(hw.ends_with("  nixpkgs.hostPlatform = lib.mkDefault \"x86_64-linux\";\n}\n"), "{hw}");
    assert!(hw.contains("\"dm-snapshot\"") && hw.contains("\"virtio_blk\""), "{hw}");
    let esp_uuid = m.succeed("blkid -p -o value -s UUID /dev/vdb1").unwrap().trim().to_string();
    assert!(hw.contains(&format!("fileSystems.\"/boot\" =\n    {{ device = \"/dev/disk/by-uuid/{esp_uuid}\";\n      fsType = \"vfat\";")), "{hw}");
    let cfg = m.succeed("cat /mnt/etc/nixos/configuration.nix").unwrap();
    assert!(cfg.contains("boot.loader.systemd-boot.enable = true;"), "UEFI machine: {cfg}");
    // A second run keeps the (edited) configuration.nix unless --force.
    m.succeed("echo '# edited' >> /mnt/etc/nixos/configuration.nix && installer generate-config --root /mnt 2>&1 | grep -q 'not overwriting'").unwrap();
    m.succeed("tail -1 /mnt/etc/nixos/configuration.nix | grep -q edited").unwrap();
    // Evaluated by the real Nix evaluator in the guest.
    let sys: serde_json::Value =
        serde_json::from_str(&m.succeed("installer eval --root /mnt").unwrap()).unwrap();
    assert_eq!(sys["fileSystems"]["/"]["device"], "/dev/mapper/sys-root");
    assert_eq!(
        sys["boot"]["initrd"]["luks"]["devices"]["cryptroot"]["device"],
        format!("/dev/disk/by-uuid/{luks_uuid}")
    );
    assert_eq!(sys["boot"]["loader"]["systemd-boot"]["enable"], true);
    let opt = m.succeed("installer option fileSystems --root /mnt").unwrap();
    assert!(
        opt.contains("\"/dev/mapper/sys-root\"") && opt.contains("/mnt/etc/nixos/hardware-configuration.nix"),
        "{opt}"
    );
    // --show-hardware-config prints the same file and writes nothing new.
    let shown = m.succeed("installer generate-config --root /mnt --show-hardware-config").unwrap();
    assert_eq!(shown, hw);
}
