//! The example configurations of the seed manual (chapters 2, 5, 7, 8, 10) that use only options in
//! our set evaluate with our modules; the one naming an undeclared option fails with NixOS's text.

mod golden;

use std::path::{Path, PathBuf};

use installer::config::{evaluate, option_info, SystemConfig};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manual").join(name)
}

fn eval(name: &str) -> SystemConfig {
    let v = evaluate(&case(name), None).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: typed view: {e}"))
}

#[test]
fn chapter_2_configuration_and_hardware_scan() {
    let c = eval("ch2-example-2.2.nix");
    assert_eq!(c.boot.loader.grub.devices, ["/dev/sda"]);
    assert!(c.services.openssh.enable, "services.sshd.enable is the alias of services.openssh.enable");
    assert_eq!(c.file_systems["/"].device.as_deref(), Some("/dev/disk/by-label/nixos"));
    assert_eq!(c.swap_devices[0].device, "/dev/disk/by-label/swap");
    assert!(c.hardware.enable_redistributable_firmware, "not-detected.nix sets it");
    assert_eq!(c.networking.firewall.allowed_tcp_ports, [22]);
    // sshd's host keys: NixOS's default (RSA 4096 and Ed25519).
    let keys: Vec<(&str, Option<u32>, &str)> =
        c.services.openssh.host_keys.iter().map(|k| (k.kind.as_str(), k.bits, k.path.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("rsa", Some(4096), "/etc/ssh/ssh_host_rsa_key"),
            ("ed25519", None, "/etc/ssh/ssh_host_ed25519_key")
        ]
    );
    let vb = eval("ch2-virtualbox.nix");
    assert!(!vb.boot.initrd.check_journaling_fs);
    assert_eq!(vb.file_systems["/virtualboxshare"].fs_type, "vboxsf");
    assert_eq!(vb.virtualisation["virtualbox"]["guest"]["enable"], true);
}

#[test]
fn chapter_5_syntax_and_modularity() {
    let c = eval("ch5-syntax.nix");
    assert_eq!(c.networking.host_name, "dexter");
    assert!(!c.networking.firewall.allow_ping);
    assert_eq!(c.file_systems["/boot"].options, ["rw", "data=ordered", "relatime"]);
    assert_eq!(c.boot.kernel_modules, ["fuse", "kvm-intel", "coretemp"]);
    assert_eq!(c.environment.system_packages, ["thunderbird"]);
    assert!(c.networking.extra_hosts.contains("other-localhost"));
    let m = eval("ch5-modularity.nix");
    assert_eq!(m.boot.kernel_modules.first().map(String::as_str), Some("kvm-intel"), "mkBefore");
    assert_eq!(m.networking.host_name, "forced-name", "mkForce wins over the module's definition");
    assert!(m.environment.system_packages.contains(&"firefox".to_string()), "config of another module");
    assert!(m.environment.system_packages.contains(&"emacs".to_string()));
}

#[test]
fn chapter_5_undeclared_option_fails_with_the_nixos_text() {
    let err = evaluate(&case("ch5-httpd-undeclared.nix"), None).unwrap_err().to_string();
    // As today's NixOS: named at the first name that does not exist, with the file and value.
    assert!(err.contains("The option `services.httpd' does not exist. Definition values:"), "{err}");
    assert!(err.contains(&format!("- In `{}':", case("ch5-httpd-undeclared.nix").display())), "{err}");
    assert!(err.contains("adminAddr = \"alice@example.org\";"), "{err}");
}

#[test]
fn chapter_7_users_and_groups() {
    let c = eval("ch7-users.nix");
    let alice = &c.users.users["alice"];
    assert!(alice.is_normal_user && alice.uid == Some(1000));
    assert_eq!(alice.home, "/home/alice");
    assert_eq!(alice.extra_groups, ["wheel", "networkmanager"]);
    assert_eq!(alice.openssh.authorized_keys.keys.len(), 1);
    assert!(!c.users.mutable_users);
    assert_eq!(c.users.groups["students"].gid, Some(1000));
}

#[test]
fn chapter_8_file_systems_and_luks() {
    let c = eval("ch8-filesystems.nix");
    assert_eq!(c.file_systems["/data"].device.as_deref(), Some("/dev/disk/by-label/data"));
    assert_eq!(c.file_systems["/"].device.as_deref(), Some("/dev/mapper/crypted"));
    assert_eq!(
        c.boot.initrd.luks.devices["crypted"].device,
        "/dev/disk/by-uuid/3f6b0024-3a44-4fde-a43a-767b872abe5d"
    );
    assert!(c.boot.loader.grub.enable_cryptodisk);
}

#[test]
fn chapter_10_networking() {
    let c = eval("ch10-networking.nix");
    assert_eq!(c.services.openssh.settings.permit_root_login, "no");
    assert_eq!(c.networking.interfaces["eth0"].ipv4.addresses[0].address, "192.168.1.2");
    assert_eq!(c.networking.default_gateway.as_deref(), Some("192.168.1.1"));
    assert!(!c.networking.enable_ipv6);
    let mut tcp = c.networking.firewall.allowed_tcp_ports.clone();
    tcp.sort();
    assert_eq!(tcp, [22, 80, 443]);
    assert_eq!(c.users.users["alice"].openssh.authorized_keys.keys.len(), 1);
}

/// Configurations written for NixOS 16.09 use names NixOS renamed or retired since: they still
/// evaluate to what the new names give, and each old name defined is reported with its new name
/// (NixOS's own texts), in the order of the modules that declare them.
#[test]
fn names_of_16_09_evaluate_with_a_warning_naming_todays_option() {
    let hw = case("ch2-hardware-configuration.nix");
    let renamed = |from: &str, file: &Path, to: &str| {
        format!("The option `{from}' defined in `{}' has been renamed to `{to}'.", file.display())
    };

    let c = eval("ch2-configuration-16.09.nix");
    let conf = case("ch2-configuration-16.09.nix");
    assert_eq!(
        c.warnings,
        [
            renamed("nix.maxJobs", &hw, "nix.settings.max-jobs"),
            renamed("i18n.consoleKeyMap", &conf, "console.keyMap"),
            renamed("users.extraUsers", &conf, "users.users"),
            "The boot.loader.grub.version option does not have any effect anymore, please remove it from your configuration.".to_string(),
        ]
    );
    assert_eq!(c.console.key_map, "fr");
    assert!(c.users.users["guest"].is_normal_user && c.users.users["guest"].uid == Some(1000));
    assert!(c.boot.loader.grub.enable && c.boot.loader.grub.devices == ["/dev/sda"]);

    let net = case("ch10-networking.nix");
    assert_eq!(
        eval("ch10-networking.nix").warnings,
        [
            renamed("services.openssh.permitRootLogin", &net, "services.openssh.settings.PermitRootLogin"),
            renamed("nix.maxJobs", &hw, "nix.settings.max-jobs"),
            renamed("users.extraUsers", &net, "users.users"),
            renamed("networking.interfaces.eth0.ip4", &net, "networking.interfaces.eth0.ipv4.addresses"),
        ]
    );
    // An alias NixOS keeps without a warning.
    let ex = eval("ch2-example-2.2.nix");
    assert_eq!(ex.warnings, [renamed("nix.maxJobs", &hw, "nix.settings.max-jobs")]);
    assert!(ex.services.openssh.enable);
    // The hardware scan's `lib.mkDefault 1` keeps its priority under the new name.
    let v = option_info(&case("ch2-example-2.2.nix"), "nix.settings.max-jobs").unwrap();
    assert_eq!(v["value"], 1);
}

/// `installer eval` shows the warnings on stderr, as nixos-rebuild does.
#[test]
fn eval_prints_the_warnings() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_installer"))
        .arg("eval")
        .arg(case("ch2-configuration-16.09.nix"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: The option `users.extraUsers' defined in `"), "{stderr}");
    assert!(stderr.contains("has been renamed to `users.users'."), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"guest\""));
}

/// The configuration.nix that `generate-config` writes uses today's names: with every commented
/// option enabled it evaluates without a warning, for both firmwares.
#[test]
fn generated_configuration_uses_todays_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hardware-configuration.nix"),
        "{ ... }: { fileSystems.\"/\" = { device = \"/dev/disk/by-label/nixos\"; fsType = \"ext4\"; }; }\n",
    )
    .unwrap();
    for uefi in [false, true] {
        let text = installer::config::hardware::configuration(uefi);
        for old in ["grub.version", "consoleKeyMap", "extraUsers", "maxJobs", "permitRootLogin"] {
            assert!(!text.contains(old), "{old} in\n{text}");
        }
        // Every commented definition enabled (the explanations start with a capital letter).
        let enabled: String = text
            .lines()
            .map(|l| match l.strip_prefix("  # ") {
                Some(rest)
                    if !rest.contains("...")
                        && !rest.starts_with("installer ")
                        && rest.starts_with(|c: char| {
                            c.is_ascii_lowercase() || c == '}' || c == ']' || c == ' '
                        }) =>
                {
                    format!("  {rest}\n")
                }
                _ => format!("{l}\n"),
            })
            .collect();
        assert!(enabled.contains("\n  users.users.alice = {\n"), "{enabled}");
        let conf = dir.path().join("configuration.nix");
        std::fs::write(&conf, &enabled).unwrap();
        let v = evaluate(&conf, None).unwrap_or_else(|e| panic!("uefi={uefi}: {e}\n{enabled}"));
        let c: SystemConfig = serde_json::from_value(v).unwrap();
        assert_eq!(c.warnings, Vec::<String>::new(), "uefi={uefi}");
        assert!(c.services.openssh.enable && c.users.users["alice"].is_normal_user);
        assert_eq!(c.boot.loader.systemd_boot.enable, uefi);
    }
}

/// `services.openssh.hostKeys` reach ssh-keygen's command line and sshd's configuration: a type
/// other than rsa, ecdsa or ed25519, or a path that is not a plain file name in /etc/ssh, fails
/// the evaluation (before any disk is touched), as does sshd with no key at all.
#[test]
fn ssh_host_keys_are_checked_by_the_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("configuration.nix");
    let try_keys = |keys: &str| {
        std::fs::write(&f, format!("{{ ... }}: {{ boot.loader.grub.device = \"/dev/sda\"; services.openssh.enable = true; services.openssh.hostKeys = {keys}; }}"))
            .unwrap();
        evaluate(&f, None)
    };
    let ok = try_keys(r#"[ { type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; } ]"#).unwrap();
    let c: SystemConfig = serde_json::from_value(ok).unwrap();
    assert_eq!(c.services.openssh.host_keys.len(), 1);
    for (keys, want) in [
        (r#"[ { type = "ed25519"; path = "/etc/ssh/../shadow"; } ]"#, "must be a file name in /etc/ssh"),
        (r#"[ { type = "ed25519"; path = "/etc/ssh/k -N x"; } ]"#, "must be a file name in /etc/ssh"),
        (r#"[ { type = "ed25519"; path = "/root/key"; } ]"#, "must be a file name in /etc/ssh"),
        (r#"[ { type = "ed25519"; path = "/etc/ssh/k\nPort 1"; } ]"#, "must be a file name in /etc/ssh"),
        (r#"[ { type = "dsa"; path = "/etc/ssh/k"; } ]"#, "one of"),
        (r#"[ { type = "rsa"; bits = 100000; path = "/etc/ssh/k"; } ]"#, "between"),
        ("[ ]", "sshd needs at least one host key"),
    ] {
        let err = try_keys(keys).unwrap_err().to_string();
        assert!(err.contains(want), "{keys}: {err}");
    }
}

#[test]
fn option_shows_merged_value_and_defining_files() {
    let info = option_info(&case("ch5-modularity.nix"), "boot.kernelModules").unwrap();
    assert_eq!(info["value"], serde_json::json!(["kvm-intel", "tun"]));
    assert_eq!(info["type"], "list of strings");
    let defs: Vec<String> = serde_json::from_value(info["definitions"].clone()).unwrap();
    assert!(defs.iter().any(|d| d.ends_with("ch5-modularity.nix")), "{defs:?}");
    assert!(defs.iter().any(|d| d.ends_with("ch5-extra-module.nix")), "{defs:?}");
    let fs = option_info(&case("ch2-example-2.2.nix"), "fileSystems").unwrap();
    assert_eq!(fs["value"]["/"]["fsType"], "ext4");
    assert!(fs["definitions"][0].as_str().unwrap().ends_with("ch2-hardware-configuration.nix"));
}

#[test]
fn missing_package_and_missing_evaluator_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("configuration.nix");
    std::fs::write(&f, "{ pkgs, ... }: { environment.systemPackages = [ pkgs.no-such-package ]; }").unwrap();
    let err = evaluate(&f, None).unwrap_err().to_string();
    assert!(err.contains("no-such-package"), "{err}");
    assert!(err.contains(&f.display().to_string()), "the error names the file: {err}");
}

/// The reference page (`installer options`, like the manual's Appendix A) is generated from the
/// modules, lists every option the installer acts on, and is kept in `installer/nix/OPTIONS.md`.
#[test]
fn option_reference_page_is_complete_and_up_to_date() {
    let list = installer::config::reference().unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    for want in [
        "boot.loader.timeout",
        "boot.loader.grub.enable",
        "boot.loader.grub.device",
        "boot.loader.grub.devices",
        "boot.loader.grub.efiSupport",
        "boot.loader.grub.efiInstallAsRemovable",
        "boot.loader.grub.enableCryptodisk",
        "boot.loader.grub.configurationLimit",
        "boot.loader.systemd-boot.enable",
        "boot.loader.efi.canTouchEfiVariables",
        "boot.loader.efi.efiSysMountPoint",
        "boot.initrd.availableKernelModules",
        "boot.initrd.kernelModules",
        "boot.initrd.checkJournalingFS",
        "boot.initrd.secrets",
        "boot.initrd.luks.devices",
        "boot.initrd.luks.devices.<name>.device",
        "boot.initrd.luks.devices.<name>.keyFile",
        "boot.initrd.luks.devices.<name>.allowDiscards",
        "boot.initrd.luks.devices.<name>.preLVM",
        "boot.kernelModules",
        "boot.kernelParams",
        "boot.extraModulePackages",
        "boot.swraid.enable",
        "fileSystems",
        "fileSystems.<name>.device",
        "fileSystems.<name>.fsType",
        "fileSystems.<name>.options",
        "fileSystems.<name>.label",
        "fileSystems.<name>.neededForBoot",
        "swapDevices",
        "networking.hostName",
        "networking.useDHCP",
        "networking.interfaces.<name>.useDHCP",
        "networking.interfaces.<name>.ipv4.addresses",
        "networking.defaultGateway",
        "networking.nameservers",
        "networking.enableIPv6",
        "networking.firewall.enable",
        "networking.firewall.allowedTCPPorts",
        "networking.firewall.allowedUDPPorts",
        "networking.firewall.allowPing",
        "users.mutableUsers",
        "users.users",
        "users.extraUsers",
        "users.groups",
        "users.extraGroups",
        "users.users.<name>.isNormalUser",
        "users.users.<name>.uid",
        "users.users.<name>.home",
        "users.users.<name>.description",
        "users.users.<name>.extraGroups",
        "users.users.<name>.hashedPassword",
        "users.users.<name>.shell",
        "users.users.<name>.openssh.authorizedKeys.keys",
        "services.openssh.enable",
        "security.sudo.enable",
        "security.sudo.wheelNeedsPassword",
        "services.openssh.permitRootLogin",
        "services.openssh.ports",
        "time.timeZone",
        "i18n.defaultLocale",
        "console.keyMap",
        "i18n.consoleKeyMap",
        "environment.systemPackages",
        "hardware.cpu.intel.updateMicrocode",
        "hardware.cpu.amd.updateMicrocode",
        "hardware.enableRedistributableFirmware",
        "virtualisation.virtualbox.guest.enable",
        "nix.maxJobs",
        "system.stateVersion",
    ] {
        assert!(names.contains(&want), "{want} is not declared (have {names:?})");
    }
    for o in list.as_array().unwrap() {
        assert!(!o["type"].as_str().unwrap_or("").is_empty(), "{o}");
        assert!(!o["description"].as_str().unwrap_or("").is_empty(), "{} has no description", o["name"]);
    }
    let page = installer::cli::render_reference(&list);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("nix/OPTIONS.md");
    let mut golden = golden::Golden::new();
    golden.check(&path, &page);
    golden.finish();
}
