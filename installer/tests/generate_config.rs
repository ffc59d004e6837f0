//! generate-config from hardware snapshots captured in QEMU guests (`cargo xtask capture-hw`):
//! virtio, AHCI, NVMe, USB storage, a VirtualBox-branded machine, BIOS and UEFI, LUKS+LVM, btrfs.
//! Each `tests/hw/NAME.json` must give `tests/hw/NAME.nix` (`UPDATE_GOLDEN=1` rewrites them), and
//! what it gives must evaluate with our modules.

mod golden;

use std::path::Path;

use installer::config::hardware::{configuration, detect, hardware_configuration, Snapshot};
use installer::config::{evaluate, SystemConfig};

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hw");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn load(p: &Path) -> (String, Snapshot) {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    (v["root"].as_str().unwrap().to_string(), serde_json::from_value(v["snapshot"].clone()).unwrap())
}

#[test]
fn golden_hardware_configurations() {
    let fx = fixtures();
    assert!(fx.len() >= 9, "expected the captured machines, found {}", fx.len());
    let mut golden = golden::Golden::new();
    for p in &fx {
        let (root, snap) = load(p);
        let got = hardware_configuration(&detect(&snap, Path::new(&root), true));
        golden.check(&p.with_extension("nix"), &got);
    }
    golden.finish();
}

/// The generated pair (hardware-configuration.nix and the configuration.nix template, with the
/// boot loader device that the template leaves for the user to fill in under BIOS) evaluates.
#[test]
fn generated_configurations_evaluate() {
    for p in fixtures() {
        let (root, snap) = load(&p);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hardware-configuration.nix"),
            hardware_configuration(&detect(&snap, Path::new(&root), true)),
        )
        .unwrap();
        std::fs::write(dir.path().join("configuration.nix"), configuration(snap.uefi)).unwrap();
        let top = dir.path().join("top.nix");
        let device = if snap.uefi { "" } else { "boot.loader.grub.device = \"/dev/vda\";" };
        std::fs::write(&top, format!("{{ imports = [ ./configuration.nix ]; {device} }}")).unwrap();
        let v = evaluate(&top, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let c: SystemConfig = serde_json::from_value(v).unwrap();
        assert!(c.file_systems.contains_key("/"), "{}: no / in {:?}", p.display(), c.file_systems);
        assert_eq!(c.boot.loader.systemd_boot.enable, snap.uefi, "{}", p.display());
    }
}

#[test]
fn detection_matches_the_machine_kind() {
    for p in fixtures() {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let (root, snap) = load(&p);
        let text = hardware_configuration(&detect(&snap, Path::new(&root), true));
        let has = |s: &str| text.contains(s);
        if name.contains("virtualbox") {
            assert!(has("virtualisation.virtualbox.guest.enable = true;"), "{name}:\n{text}");
            assert!(!has("qemu-guest.nix"), "{name}");
        } else {
            assert!(has("(modulesPath + \"/profiles/qemu-guest.nix\")"), "{name}:\n{text}");
        }
        if name.contains("ahci") {
            assert!(has("\"ahci\""), "{name}:\n{text}");
        }
        if name.contains("nvme") {
            assert!(has("\"nvme\""), "{name}:\n{text}");
        }
        if name.contains("usb") {
            assert!(has("\"usb_storage\"") && has("\"xhci_pci\""), "{name}:\n{text}");
        }
        if name.contains("virtio") {
            assert!(has("\"virtio_blk\""), "{name}:\n{text}");
        }
        if name.contains("luks") {
            assert!(
                has("boot.initrd.luks.devices.\"cryptlvm\".device = \"/dev/disk/by-uuid/"),
                "{name}:\n{text}"
            );
            assert!(has("\"dm-snapshot\""), "{name}:\n{text}");
            assert!(has("device = \"/dev/mapper/vg-root\""), "{name}:\n{text}");
        }
        if name.contains("btrfs") {
            assert!(has("options = [ \"subvol=@home\" ]"), "{name}:\n{text}");
            assert!(has("fsType = \"vfat\""), "{name}:\n{text}");
        }
        if name.starts_with("bios") && !name.contains("raid1") && !name.contains("lvm") {
            assert!(has("swapDevices =\n    [ { device = \"/dev/disk/by-uuid/"), "{name}:\n{text}");
        }
        if name.contains("raid1") {
            assert!(has("boot.swraid.enable = true;"), "{name}:\n{text}");
            assert!(has("fileSystems.\"/\" =\n    { device = \"/dev/disk/by-uuid/"), "{name}:\n{text}");
        } else {
            assert!(!has("boot.swraid"), "{name}:\n{text}");
        }
        if name == "bios-virtio-lvm" {
            assert!(has("boot.initrd.kernelModules = [ \"dm-snapshot\" ];"), "{name}:\n{text}");
            assert!(has("device = \"/dev/mapper/pool-home\";\n      fsType = \"xfs\";"), "{name}:\n{text}");
            assert!(has("[ { device = \"/dev/mapper/pool-swap\"; }"), "{name}:\n{text}");
        }
        if name.contains("scsi") {
            assert!(has("\"virtio_scsi\"") && has("\"sd_mod\""), "{name}:\n{text}");
            // A bind mount names its source as the installed system sees it; a tmpfs is kept but
            // the one on /tmp (boot.tmpOnTmpfs makes that).
            assert!(
                has("fileSystems.\"/data\" =\n    { device = \"/srv/data\";\n      fsType = \"none\";\n      options = [ \"bind\" ];"),
                "{name}:\n{text}"
            );
            assert!(
                has("fileSystems.\"/scratch\" =\n    { device = \"tmpfs\";\n      fsType = \"tmpfs\";"),
                "{name}:\n{text}"
            );
            assert!(!has("fileSystems.\"/tmp\""), "{name}:\n{text}");
        }
        // Configuration for the boot mode.
        let cfg = configuration(snap.uefi);
        assert_eq!(
            cfg.contains("boot.loader.systemd-boot.enable = true;"),
            name.starts_with("uefi"),
            "{name}"
        );
        // --no-filesystems leaves them out.
        let nofs = hardware_configuration(&detect(&snap, Path::new(&root), false));
        assert!(!nofs.contains("fileSystems."), "{name}");
    }
}

/// `nixpkgs.hostPlatform`, which generate-config writes as today's NixOS does, is declared: the
/// x86_64 platform evaluates (as a string or a set), any other is refused by name.
#[test]
fn host_platform_is_declared_and_only_x86_64_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let eval = |platform: &str| {
        let top = dir.path().join("top.nix");
        std::fs::write(
            &top,
            format!(
                "{{ lib, ... }}: {{ nixpkgs.hostPlatform = {platform}; fileSystems.\"/\".device = \"/dev/vda1\"; \
                 boot.loader.grub.device = \"/dev/vda\"; }}"
            ),
        )
        .unwrap();
        evaluate(&top, None)
    };
    eval("lib.mkDefault \"x86_64-linux\"").unwrap();
    eval("{ system = \"x86_64-linux\"; }").unwrap();
    let e = eval("\"aarch64-linux\"").unwrap_err().to_string();
    assert!(e.contains("nixpkgs.hostPlatform is \"aarch64-linux\""), "{e}");
}
