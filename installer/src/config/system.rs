//! The evaluated system as the install step consumes it: the subset of `config` it acts on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemConfig {
    pub boot: Boot,
    #[serde(rename = "fileSystems")]
    pub file_systems: BTreeMap<String, FileSystem>,
    #[serde(rename = "swapDevices")]
    pub swap_devices: Vec<SwapDevice>,
    pub networking: Networking,
    pub users: Users,
    pub services: Services,
    #[serde(default)]
    pub security: Security,
    pub time: Time,
    pub i18n: I18n,
    pub console: Console,
    pub environment: Environment,
    pub hardware: Hardware,
    pub virtualisation: serde_json::Value,
    pub system: SystemVersion,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Boot {
    pub loader: Loader,
    pub initrd: Initrd,
    pub kernel_modules: Vec<String>,
    pub kernel_params: Vec<String>,
    pub swraid: Enable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enable {
    pub enable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loader {
    /// `boot.loader.timeout`: seconds until the default entry boots; None shows the menu until
    /// a key is pressed.
    pub timeout: Option<u32>,
    pub grub: Grub,
    #[serde(rename = "systemd-boot")]
    pub systemd_boot: Enable,
    pub efi: Efi,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grub {
    pub enable: bool,
    pub devices: Vec<String>,
    pub efi_support: bool,
    pub efi_install_as_removable: bool,
    pub enable_cryptodisk: bool,
    pub configuration_limit: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Efi {
    pub can_touch_efi_variables: bool,
    pub efi_sys_mount_point: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Initrd {
    pub available_kernel_modules: Vec<String>,
    pub kernel_modules: Vec<String>,
    #[serde(rename = "checkJournalingFS")]
    pub check_journaling_fs: bool,
    pub luks: Luks,
    /// Files copied into the initrd: initrd path → file of the installed system (None: the same).
    #[serde(default)]
    pub secrets: BTreeMap<String, Option<String>>,
}

impl Initrd {
    /// `boot.initrd.secrets` as (path in the initrd, file of the installed system).
    pub fn secret_files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.secrets.iter().map(|(dest, src)| (dest.as_str(), src.as_deref().unwrap_or(dest)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Luks {
    pub devices: BTreeMap<String, LuksDevice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LuksDevice {
    pub device: String,
    pub key_file: Option<String>,
    pub allow_discards: bool,
    #[serde(rename = "preLVM")]
    pub pre_lvm: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSystem {
    pub mount_point: String,
    pub device: Option<String>,
    pub label: Option<String>,
    pub fs_type: String,
    pub options: Vec<String>,
    pub needed_for_boot: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapDevice {
    pub device: String,
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Networking {
    pub host_name: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(rename = "useDHCP")]
    pub use_dhcp: bool,
    pub interfaces: BTreeMap<String, Interface>,
    pub default_gateway: Option<String>,
    pub nameservers: Vec<String>,
    #[serde(rename = "enableIPv6")]
    pub enable_ipv6: bool,
    pub firewall: Firewall,
    pub extra_hosts: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    #[serde(rename = "useDHCP")]
    pub use_dhcp: Option<bool>,
    pub ipv4: Addresses,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Addresses {
    pub addresses: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub address: String,
    pub prefix_length: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Firewall {
    pub enable: bool,
    #[serde(rename = "allowedTCPPorts")]
    pub allowed_tcp_ports: Vec<u16>,
    #[serde(rename = "allowedUDPPorts")]
    pub allowed_udp_ports: Vec<u16>,
    pub allow_ping: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Users {
    pub mutable_users: bool,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub name: String,
    pub uid: Option<u32>,
    pub is_normal_user: bool,
    pub is_system_user: bool,
    pub description: String,
    pub home: String,
    pub create_home: bool,
    pub group: String,
    pub extra_groups: Vec<String>,
    pub shell: String,
    pub hashed_password: Option<String>,
    #[serde(default)]
    pub initial_hashed_password: Option<String>,
    pub openssh: OpensshUser,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpensshUser {
    pub authorized_keys: Keys,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub gid: Option<u32>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Services {
    pub openssh: Openssh,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Openssh {
    pub enable: bool,
    pub settings: OpensshSettings,
    pub ports: Vec<u16>,
    /// Checked by the module (type, size, a file name in /etc/ssh).
    pub host_keys: Vec<HostKey>,
}

/// `services.openssh.settings`: what goes into sshd_config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpensshSettings {
    #[serde(rename = "PermitRootLogin")]
    pub permit_root_login: String,
}

/// One of `services.openssh.hostKeys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostKey {
    #[serde(rename = "type")]
    pub kind: String,
    pub bits: Option<u32>,
    pub path: String,
}

/// `security`: who may become root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Security {
    #[serde(default)]
    pub sudo: Sudo,
}

/// `security.sudo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sudo {
    pub enable: bool,
    pub wheel_needs_password: bool,
}

impl Default for Sudo {
    /// The options' defaults (security/sudo.nix).
    fn default() -> Self {
        Sudo { enable: true, wheel_needs_password: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Time {
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct I18n {
    pub default_locale: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Console {
    pub key_map: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    /// Package names (attribute names of the catalog).
    pub system_packages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hardware {
    pub cpu: serde_json::Value,
    pub enable_redistributable_firmware: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemVersion {
    pub state_version: String,
}
