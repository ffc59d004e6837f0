//! The answer file's types: what each section holds and its defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::storage::spec::{BootloaderChoice, StorageSpec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub version: u32,
    /// Required unless `[interactive]` lists `storage`.
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default)]
    pub system: SystemSection,
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub root: RootSection,
    #[serde(default, rename = "user")]
    pub users: Vec<UserSection>,
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupSection>,
    #[serde(default)]
    pub nix: NixSection,
    #[serde(default)]
    pub finish: FinishSection,
    /// Named secrets (never logged, never written into Nix files).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// A TOML file of further secrets (`name = "value"`), relative to the answer file.
    #[serde(default)]
    pub secrets_file: Option<PathBuf>,
    /// Sections a person answers in the TUI (the others are taken as given), as Ubuntu's
    /// autoinstall `interactive-sections`: `installer.answer=` with this table starts the TUI.
    #[serde(default, skip_serializing_if = "InteractiveSection::is_empty")]
    pub interactive: InteractiveSection,
    /// Commands run before the answer is used, after the install, or when a step fails.
    #[serde(default, rename = "hook", skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    /// Where the install's progress events are POSTed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportSection>,
}

/// `[report] url = "https://…"`: every step's start and end (and the warnings) POSTed as JSON, in
/// order, in the background: retried, never blocking or failing the install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub url: String,
    /// The secret holding the bearer token (sent as `Authorization: Bearer …`).
    #[serde(default)]
    pub token: Option<String>,
}

/// `[[hook]]`: a command (`bash -c`) the install runs at one point, with a timeout; its output
/// goes to the install log and the install's state is in `INSTALLER_*` environment variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    pub when: HookWhen,
    /// The command, run by `bash -c`.
    pub run: String,
    /// `late` only: run inside the installed system (chroot) instead of the live system.
    #[serde(default)]
    pub chroot: bool,
    /// Seconds before the hook is stopped (and counts as failed).
    #[serde(default = "Hook::default_timeout")]
    pub timeout: u32,
}

impl Hook {
    pub fn default_timeout() -> u32 {
        300
    }
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HookWhen {
    /// Before the answer is used (after it validates): it may rewrite the answer file
    /// (`$INSTALLER_ANSWER`), which is then read again. A failure stops the install untouched.
    Early,
    /// After the install, before the target is unmounted (`$INSTALLER_ROOT`). A failure fails
    /// the install.
    Late,
    /// When a step of the install fails, before what it opened is torn down.
    Error,
}

impl HookWhen {
    pub fn name(self) -> &'static str {
        match self {
            HookWhen::Early => "early",
            HookWhen::Late => "late",
            HookWhen::Error => "error",
        }
    }
}

/// `[interactive] sections = ["storage", "users"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractiveSection {
    #[serde(default)]
    pub sections: Vec<Section>,
}

impl InteractiveSection {
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    pub fn asks(&self, s: Section) -> bool {
        self.sections.contains(&s)
    }
}

/// The parts of an answer the TUI can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// Keyboard layout and locale.
    Keyboard,
    /// Host name and addresses.
    Network,
    Storage,
    Timezone,
    /// Root and the users.
    Users,
    /// Nix added to configuration.nix.
    Nix,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemSection {
    #[serde(default = "default_hostname")]
    pub hostname: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default = "default_locale")]
    pub locale: String,
    #[serde(default = "default_keymap")]
    pub keymap: String,
    #[serde(default)]
    pub bootloader: BootloaderChoice,
    #[serde(default)]
    pub kernel_params: Vec<String>,
    /// Enable sshd in the installed system.
    #[serde(default)]
    pub ssh: bool,
}

fn default_hostname() -> String {
    "nixos".into()
}
fn default_locale() -> String {
    "en_US.UTF-8".into()
}
fn default_keymap() -> String {
    "us".into()
}

impl Default for SystemSection {
    fn default() -> Self {
        SystemSection {
            hostname: default_hostname(),
            timezone: None,
            locale: default_locale(),
            keymap: default_keymap(),
            bootloader: BootloaderChoice::Auto,
            kernel_params: vec![],
            ssh: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// DHCP on every wired interface not configured statically.
    #[serde(default = "yes")]
    pub dhcp: bool,
    #[serde(default, rename = "interface")]
    pub interfaces: Vec<InterfaceSection>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub firewall: FirewallSection,
}

fn yes() -> bool {
    true
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            dhcp: true,
            interfaces: vec![],
            gateway: None,
            nameservers: vec![],
            firewall: FirewallSection::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceSection {
    pub name: String,
    /// `address/prefix`, e.g. `192.168.1.10/24`.
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub dhcp: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallSection {
    #[serde(default = "yes")]
    pub enable: bool,
    #[serde(default)]
    pub tcp_ports: Vec<u16>,
    #[serde(default)]
    pub udp_ports: Vec<u16>,
}

impl Default for FirewallSection {
    fn default() -> Self {
        FirewallSection { enable: true, tcp_ports: vec![], udp_ports: vec![] }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RootSection {
    /// The name of a secret holding root's password hash; without it root has no password.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub ssh_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSection {
    pub name: String,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// The name of a secret holding the password hash (crypt(3)).
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    #[serde(default)]
    pub shell: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSection {
    pub name: String,
    #[serde(default)]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NixSection {
    /// Nix attribute definitions added to the generated configuration.nix.
    #[serde(default)]
    pub extra: Option<String>,
    /// A configuration.nix to use as it is (it should import ./hardware-configuration.nix).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum FinishAction {
    #[default]
    Reboot,
    Poweroff,
    None,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishSection {
    #[serde(default)]
    pub action: FinishAction,
    /// Before the action, wait until the installation medium is removed (the CD ejected, the USB
    /// stick unplugged), saying so on the console and to the report endpoint: the firmware then
    /// starts the installed system, not the installer again. Without a medium (netboot) there is
    /// nothing to wait for.
    #[serde(default)]
    pub wait_for_removal: bool,
}
