//! The `configuration.nix` an answer file stands for (secrets are not in it: password hashes are
//! set after the install, LUKS passphrases are only used to format).

use super::Answer;
use crate::config::nix_syntax::{string as s, string_list as list};
use crate::storage::plan::{Bootloader, Firmware, InitrdKey, Plan};
use crate::storage::spec::StorageSpec;

/// Where the machine boots from, as the storage plan decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootTarget {
    pub loader: Bootloader,
    pub uefi: bool,
    /// The ESP's mount point (UEFI).
    pub esp: Option<String>,
    /// Disks for GRUB's BIOS boot code.
    pub grub_devices: Vec<String>,
    /// Key files stage 1 opens LUKS devices with (put into the initrd); there are some exactly
    /// when GRUB unlocks an encrypted /boot.
    pub initrd_keys: Vec<InitrdKey>,
}

impl BootTarget {
    /// What the storage plan decided for `spec`.
    pub fn from_plan(plan: &Plan, spec: &StorageSpec) -> Self {
        BootTarget {
            loader: plan.bootloader,
            uefi: plan.firmware == Firmware::Uefi,
            esp: super::esp_mountpoint(spec),
            grub_devices: plan.boot_disks.clone(),
            initrd_keys: plan.initrd_keys.clone(),
        }
    }
}

/// Groups, root's keys, the users and what sudo asks of the administrators.
fn users_nix(o: &mut String, a: &Answer) {
    for g in &a.groups {
        match g.gid {
            Some(gid) => o.push_str(&format!("  users.groups.{}.gid = {gid};\n", s(&g.name))),
            None => o.push_str(&format!("  users.groups.{} = {{ }};\n", s(&g.name))),
        }
    }
    if !a.root.ssh_keys.is_empty() {
        o.push_str(&format!(
            "  users.users.root.openssh.authorizedKeys.keys = {};\n",
            list(&a.root.ssh_keys)
        ));
    }
    for u in &a.users {
        o.push_str(&format!("  users.users.{} = {{\n    isNormalUser = true;\n", s(&u.name)));
        if let Some(uid) = u.uid {
            o.push_str(&format!("    uid = {uid};\n"));
        }
        if !u.description.is_empty() {
            o.push_str(&format!("    description = {};\n", s(&u.description)));
        }
        if !u.groups.is_empty() {
            o.push_str(&format!("    extraGroups = {};\n", list(&u.groups)));
        }
        if let Some(sh) = &u.shell {
            o.push_str(&format!("    shell = {};\n", s(sh)));
        }
        if !u.ssh_keys.is_empty() {
            o.push_str(&format!("    openssh.authorizedKeys.keys = {};\n", list(&u.ssh_keys)));
        }
        o.push_str("  };\n");
    }
    let key_only: Vec<&str> = key_only_admins(a);
    if !key_only.is_empty() {
        let who = match key_only.as_slice() {
            [one] => format!("{one} logs in with an SSH key and has"),
            many => format!("{} log in with an SSH key and have", many.join(", ")),
        };
        o.push_str(&format!(
            "  # {who} no password for sudo to ask for.\n  security.sudo.wheelNeedsPassword = false;\n"
        ));
    }
}

/// The administrators (members of `wheel`) who have SSH keys and no password: sudo could only
/// ask them for one they do not have, so the configuration lets wheel use sudo without it.
fn key_only_admins(a: &Answer) -> Vec<&str> {
    a.users
        .iter()
        .filter(|u| u.groups.iter().any(|g| g == "wheel") && u.password.is_none() && !u.ssh_keys.is_empty())
        .map(|u| u.name.as_str())
        .collect()
}

/// Renders configuration.nix (it imports ./hardware-configuration.nix).
pub fn configuration_nix(a: &Answer, boot: &BootTarget) -> String {
    let mut o = String::from(
        "# Written by the installer (`installer auto` or `installer tui`); edit it and run `installer install` again.\n{ config, pkgs, ... }:\n\n{\n  imports = [ ./hardware-configuration.nix ];\n\n",
    );
    let esp = boot.esp.clone().unwrap_or_else(|| "/boot".into());
    match boot.loader {
        Bootloader::None => o.push_str("  boot.loader.grub.enable = false;\n"),
        Bootloader::SystemdBoot => {
            o.push_str("  boot.loader.systemd-boot.enable = true;\n  boot.loader.grub.enable = false;\n");
            o.push_str("  boot.loader.efi.canTouchEfiVariables = true;\n");
            o.push_str(&format!("  boot.loader.efi.efiSysMountPoint = {};\n", s(&esp)));
        }
        Bootloader::Grub if boot.uefi => {
            o.push_str("  boot.loader.grub.enable = true;\n  boot.loader.grub.efiSupport = true;\n  boot.loader.grub.device = \"nodev\";\n");
            o.push_str("  boot.loader.efi.canTouchEfiVariables = true;\n");
            o.push_str(&format!("  boot.loader.efi.efiSysMountPoint = {};\n", s(&esp)));
        }
        Bootloader::Grub => {
            o.push_str("  boot.loader.grub.enable = true;\n");
            o.push_str(&format!("  boot.loader.grub.devices = {};\n", list(&boot.grub_devices)));
        }
    }
    if !boot.initrd_keys.is_empty() {
        o.push_str(
            "  # /boot is encrypted: GRUB asks for the passphrase, the initrd opens it with a key file.\n",
        );
        o.push_str("  boot.loader.grub.enableCryptodisk = true;\n");
    }
    for k in &boot.initrd_keys {
        o.push_str(&format!("  boot.initrd.luks.devices.{}.keyFile = {};\n", s(&k.name), s(&k.key_file)));
        o.push_str(&format!("  boot.initrd.secrets.{} = {};\n", s(&k.key_file), s(&k.key_file)));
    }
    if !a.system.kernel_params.is_empty() {
        o.push_str(&format!("  boot.kernelParams = {};\n", list(&a.system.kernel_params)));
    }
    o.push('\n');
    o.push_str(&format!("  networking.hostName = {};\n", s(&a.system.hostname)));
    o.push_str(&format!("  networking.useDHCP = {};\n", a.network.dhcp));
    for i in &a.network.interfaces {
        let addrs: Vec<String> = i
            .addresses
            .iter()
            .filter_map(|a| a.split_once('/'))
            .map(|(ip, p)| format!("{{ address = {}; prefixLength = {p}; }}", s(ip)))
            .collect();
        o.push_str(&format!(
            "  networking.interfaces.{}.ipv4.addresses = [ {} ];\n",
            s(&i.name),
            addrs.join(" ")
        ));
        if let Some(d) = i.dhcp {
            o.push_str(&format!("  networking.interfaces.{}.useDHCP = {d};\n", s(&i.name)));
        }
    }
    if let Some(g) = &a.network.gateway {
        o.push_str(&format!("  networking.defaultGateway = {};\n", s(g)));
    }
    if !a.network.nameservers.is_empty() {
        o.push_str(&format!("  networking.nameservers = {};\n", list(&a.network.nameservers)));
    }
    let fw = &a.network.firewall;
    o.push_str(&format!("  networking.firewall.enable = {};\n", fw.enable));
    let ports = |p: &[u16]| format!("[ {} ]", p.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" "));
    if !fw.tcp_ports.is_empty() {
        o.push_str(&format!("  networking.firewall.allowedTCPPorts = {};\n", ports(&fw.tcp_ports)));
    }
    if !fw.udp_ports.is_empty() {
        o.push_str(&format!("  networking.firewall.allowedUDPPorts = {};\n", ports(&fw.udp_ports)));
    }
    o.push('\n');
    if let Some(tz) = &a.system.timezone {
        o.push_str(&format!("  time.timeZone = {};\n", s(tz)));
    }
    o.push_str(&format!("  i18n.defaultLocale = {};\n", s(&a.system.locale)));
    o.push_str(&format!("  console.keyMap = {};\n", s(&a.system.keymap)));
    o.push_str(&format!("  services.openssh.enable = {};\n\n", a.system.ssh));
    users_nix(&mut o, a);
    if let Some(extra) = &a.nix.extra {
        o.push_str("\n  # From the answer file's [nix] extra.\n");
        for l in extra.trim_end().lines() {
            o.push_str(&format!("  {l}\n"));
        }
    }
    o.push_str("\n  system.stateVersion = \"16.09\";\n}\n");
    o
}
