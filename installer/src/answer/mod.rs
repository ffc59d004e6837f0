//! Answer file v1: one TOML file drives an unattended install (`installer validate|plan --answer|
//! auto`). It holds the disk engine's storage spec, system settings, users and groups, extra Nix
//! configuration, what to do at the end, and secrets referenced by name (LUKS passphrases, password
//! hashes) that never reach logs, argv or Nix files.
//!
//! ```toml
//! version = 1
//!
//! [system]
//! hostname = "web1"
//! timezone = "Europe/Amsterdam"
//! bootloader = "auto"            # auto | grub | systemd-boot
//!
//! [network]
//! dhcp = true
//!
//! [[user]]
//! name = "alice"
//! groups = ["wheel"]
//! password = "alice-hash"        # the name of a secret holding a crypt(3) hash
//! ssh_keys = ["ssh-ed25519 AAAA… alice@laptop"]
//!
//! [finish]
//! action = "reboot"              # reboot | poweroff | none
//! wait_for_removal = false       # first wait until the CD or USB stick is taken out
//!
//! [storage]                      # the disk engine's spec (see storage::spec)
//! [[storage.disk]]
//! match = { largest = true }
//! # …
//!
//! [secrets]
//! alice-hash = "$6$…"
//! ```

mod checks;
pub mod grammar;
mod load;
mod positions;
mod render;
mod types;

pub(crate) use checks::storage_contents;
pub use checks::{check, group_name_ok, secret_names};
pub use load::{load, parse, MAX_ANSWER_BYTES};
pub(crate) use positions::{key, Seg};
pub use positions::{line_col, Problem, Problems};
pub use types::*;

pub use grammar::{crypt_hash_ok, hostname_ok, kernel_param_ok, ssh_key_problem, user_name_ok};

pub use render::{configuration_nix, BootTarget};

use std::path::PathBuf;

use crate::storage::spec::{BootloaderChoice, Content, StorageSpec};

/// The answer as saved into the installed system (`/etc/installer/answer.toml`) to install the
/// same system again: no secret values, the secrets it names are read from `secrets_file`
/// (`answer-secrets.toml` beside it, which the installer never writes).
pub fn replayable(a: &Answer) -> String {
    let mut a = a.clone();
    let names = secret_names(&a);
    a.secrets.clear();
    if !names.is_empty() {
        a.secrets_file = Some(PathBuf::from("answer-secrets.toml"));
    }
    let mut head = String::from(
        "# The answer this system was installed from. To install the same system again:\n#   installer auto --answer answer.toml\n",
    );
    if !names.is_empty() {
        head.push_str("# with answer-secrets.toml beside it, holding (name = \"value\"):\n");
        for n in &names {
            head.push_str(&format!("#   {n}\n"));
        }
    }
    head + &toml::to_string_pretty(&a).unwrap_or_default()
}

/// The storage spec with the answer's bootloader choice applied (when the spec leaves it `auto`).
pub fn storage_spec(a: &Answer) -> StorageSpec {
    let mut spec = a.storage.clone();
    if spec.boot.bootloader == BootloaderChoice::Auto {
        spec.boot.bootloader = a.system.bootloader;
    }
    spec
}

/// The ESP's mount point in the spec, if any.
pub fn esp_mountpoint(spec: &StorageSpec) -> Option<String> {
    spec.disks.iter().flat_map(|d| &d.partitions).find_map(|p| match (&p.kind, &p.content) {
        (crate::storage::spec::PartType::Esp, Some(Content::Filesystem { mountpoint, .. })) => {
            mountpoint.clone()
        }
        _ => None,
    })
}

/// The answer without its secrets, as saved into the installed system.
pub fn redacted(a: &Answer) -> String {
    let mut a = a.clone();
    for v in a.secrets.values_mut() {
        *v = "<redacted>".into();
    }
    format!(
        "# The answer file this system was installed from (secrets removed).\n{}",
        toml::to_string_pretty(&a).unwrap_or_default()
    )
}
