//! Answer files: `installer validate` on broken files reports every problem with file:line:col and
//! the field (golden `tests/answers/bad-*.err`, one class of bad input per file, its first line
//! saying which; `UPDATE_GOLDEN=1` rewrites them), touches nothing,
//! and the good example validates, plans its configuration.nix and that evaluates.

mod common;
mod golden;

use std::path::Path;
use std::process::Command;

fn installer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_installer"))
}

/// Evaluates `configuration` next to a hardware-configuration.nix of `hardware` (an attribute set).
fn evaluate(configuration: &str, hardware: &str) -> installer::config::SystemConfig {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("configuration.nix"), configuration).unwrap();
    std::fs::write(t.path().join("hardware-configuration.nix"), format!("{{ ... }}: {hardware}\n")).unwrap();
    let v = installer::config::evaluate(&t.path().join("configuration.nix"), None).unwrap();
    serde_json::from_value(v).unwrap()
}

#[test]
fn broken_answer_files_report_each_problem_with_its_position() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/answers");
    let mut golden = golden::Golden::new();
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !(name.starts_with("bad-") && name.ends_with(".toml")) {
            continue;
        }
        seen += 1;
        let out = installer().current_dir(&dir).args(["validate", &name]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{name}: validate must refuse it");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        for line in stderr.lines() {
            let pos = line.strip_prefix(&format!("{name}:")).unwrap_or_else(|| panic!("{name}: {line}"));
            let mut it = pos.splitn(3, ':');
            let (l, c) = (it.next().unwrap(), it.next().unwrap());
            assert!(l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok(), "no line:col in {line}");
        }
        golden.check(&dir.join(name.replace(".toml", ".err")), &stderr);
        // Secrets never appear in messages.
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    assert!(seen >= 100, "{seen} golden bad files");
    golden.finish();
}

#[test]
fn the_good_answer_file_validates_and_its_configuration_evaluates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/answers");
    let out = installer().current_dir(&dir).args(["validate", "good.toml"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(dir.join("good.toml")).unwrap();
    let a = installer::answer::parse(&text, "good.toml").unwrap();
    let boot = common::uefi_systemd_boot(&a);
    let nix = installer::answer::configuration_nix(&a, &boot);
    assert!(!nix.contains("$6$") && !nix.contains("correct horse"), "secrets in configuration.nix:\n{nix}");
    assert!(nix.contains("boot.loader.efi.efiSysMountPoint = \"/boot\";"), "{nix}");
    let c = evaluate(
        &nix,
        "{ fileSystems.\"/\" = { device = \"/dev/disk/by-uuid/x\"; fsType = \"ext4\"; }; fileSystems.\"/boot\" = { device = \"/dev/disk/by-uuid/y\"; fsType = \"vfat\"; }; }",
    );
    assert_eq!(c.networking.host_name, "web1");
    assert!(c.boot.loader.systemd_boot.enable);
    assert_eq!(c.networking.firewall.allowed_tcp_ports, [22, 80, 443], "sshd opens its port");
    let alice = &c.users.users["alice"];
    assert!(alice.is_normal_user && alice.extra_groups == ["wheel"] && alice.hashed_password.is_none());
    assert_eq!(c.users.groups["media"].gid, Some(2000));
    assert_eq!(c.time.time_zone.as_deref(), Some("Europe/Amsterdam"));
    // sudo as NixOS has it: on, and wheel types its own password.
    assert!(c.security.sudo.enable && c.security.sudo.wheel_needs_password);
    // An administrator with an SSH key and no password: sudo asks for no password.
    let mut keyed = a.clone();
    keyed.users[0].password = None;
    keyed.users[0].ssh_keys =
        vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkW1zH5v0i4Q4cJm8Z0K9vXQn3P2Jx1h7yYp3k0e0m alice@laptop"
            .into()];
    let nix = installer::answer::configuration_nix(&keyed, &boot);
    assert!(
        nix.contains("# alice logs in with an SSH key and has no password")
            && nix.contains("security.sudo.wheelNeedsPassword = false;"),
        "{nix}"
    );
    let c = evaluate(
        &nix,
        "{ fileSystems.\"/\" = { device = \"/dev/disk/by-uuid/x\"; fsType = \"ext4\"; }; fileSystems.\"/boot\" = { device = \"/dev/disk/by-uuid/y\"; fsType = \"vfat\"; }; }",
    );
    assert!(c.security.sudo.enable && !c.security.sudo.wheel_needs_password);
    // The redacted copy saved into the target has no secret values.
    let red = installer::answer::redacted(&a);
    assert!(!red.contains("correct horse") && !red.contains("$6$") && red.contains("<redacted>"), "{red}");
}

#[test]
fn the_schema_describes_version_1_answer_files() {
    let out = installer().arg("schema").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let required: Vec<&str> = v["required"].as_array().unwrap().iter().filter_map(|x| x.as_str()).collect();
    // `storage` may be left to the TUI (`[interactive] sections = ["storage"]`); validation
    // requires it otherwise.
    assert_eq!(required, ["version"]);
    assert_eq!(v["additionalProperties"], serde_json::json!(false), "unknown keys are rejected");
    let text = serde_json::to_string(&v).unwrap();
    for word in
        ["hostname", "luks", "lvm-pv", "passphrase", "bios-boot", "reboot", "secrets_file", "interactive"]
    {
        assert!(text.contains(word), "the schema lacks {word}");
    }
}

/// An encrypted /boot (LVM on LUKS1, GRUB): the plan adds a key file for the initrd, and the
/// configuration written from the answer turns on GRUB's cryptodisk and puts the key file into the
/// initrd, with no passphrase in it.
#[test]
fn an_encrypted_boot_turns_on_cryptodisk_and_an_initrd_key_file() {
    let text = r#"version = 1
[system]
hostname = "fde"
[storage.boot]
firmware = "bios"
[[storage.disk]]
match = { serial = "S1" }
[[storage.disk.partition]]
size = "1MiB"
type = "bios-boot"
[[storage.disk.partition]]
size = "rest"
type = "linux"
content = { type = "luks", name = "cryptlvm", version = 1, passphrase = "disk", content = { type = "lvm-pv", vg = "vg" } }
[[storage.vg]]
name = "vg"
[[storage.vg.lv]]
name = "root"
size = "rest"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
[secrets]
disk = "correct horse"
"#;
    let a = installer::answer::parse(text, "fde.toml").unwrap();
    let spec = installer::answer::storage_spec(&a);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let probe: installer::storage::Probe = serde_json::from_str(
        &std::fs::read_to_string(dir.join("fixtures/probe-two-disks-bios.json")).unwrap(),
    )
    .unwrap();
    let plan = installer::storage::plan(&spec, &probe, Path::new("/mnt")).unwrap();
    assert!(plan.grub_cryptodisk());
    let boot = installer::answer::BootTarget::from_plan(&plan, &spec);
    let nix = installer::answer::configuration_nix(&a, &boot);
    assert!(!nix.contains("correct horse"), "{nix}");
    let c = evaluate(
        &nix,
        "{ fileSystems.\"/\" = { device = \"/dev/vg/root\"; fsType = \"ext4\"; }; boot.initrd.luks.devices.cryptlvm.device = \"/dev/disk/by-uuid/x\"; }",
    );
    assert!(c.boot.loader.grub.enable_cryptodisk);
    assert_eq!(c.boot.loader.grub.devices, ["/dev/vda"]);
    let key = "/etc/secrets/initrd/cryptlvm.key";
    let luks = &c.boot.initrd.luks.devices["cryptlvm"];
    assert_eq!((luks.device.as_str(), luks.key_file.as_deref()), ("/dev/disk/by-uuid/x", Some(key)));
    assert_eq!(c.boot.initrd.secrets.get(key), Some(&Some(key.to_string())));
}

/// Locale and keymap names are checked against the running system's lists when it has them (the
/// live system has both; a build machine may have only the locales).
#[test]
fn locales_and_keymaps_are_checked_against_this_system() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("names.toml");
    std::fs::write(&f, "version = 1\n[system]\nlocale = \"xx_NOWHERE.UTF-8\"\nkeymap = \"nosuchmap\"\n")
        .unwrap();
    let out = installer().arg("validate").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let has_locales = Path::new("/usr/share/i18n/SUPPORTED").is_file();
    let has_keymaps = Path::new("/usr/share/keymaps").is_dir();
    assert_eq!(
        err.contains("system.locale: not a locale of this system (/usr/share/i18n/SUPPORTED)"),
        has_locales,
        "{err}"
    );
    assert_eq!(
        err.contains("system.keymap: not a keymap of this system (/usr/share/keymaps)"),
        has_keymaps,
        "{err}"
    );
    assert_eq!(out.status.success(), !has_locales && !has_keymaps, "{err}");
    std::fs::write(&f, "version = 1\n[system]\nlocale = \"C.UTF-8\"\n").unwrap();
    let out = installer().arg("validate").arg(&f).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("system.locale"), "{out:?}");
}

#[test]
fn a_huge_answer_file_is_refused_at_once() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("huge.toml");
    let mut text = String::from("version = 1\n");
    while text.len() < 10 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&f, &text).unwrap();
    let started = std::time::Instant::now();
    let out = installer().arg("validate").arg(&f).output().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("answer files are at most 1024 KiB") && err.contains(":1:1:"), "{err}");
}

#[test]
fn auto_reports_progress_as_json_lines_and_stops_at_a_bad_answer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/answers");
    let t = tempfile::tempdir().unwrap();
    let out = installer()
        .current_dir(&dir)
        .env("INSTALLER_LOCK", t.path().join("lock"))
        .args(["auto", "--answer", "bad-size.toml", "--yes", "--no-finish", "--progress=json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "refused before anything was written");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2, "{stdout}");
    assert_eq!(events[0]["event"], "step-started");
    assert_eq!(events[0]["step"], "validating the answer file");
    assert_eq!(events[1]["event"], "step-failed");
    assert!(events[1]["error"].as_str().unwrap().contains("bad-size.toml:"), "{stdout}");
}
