//! Image profiles (TOML): what a build adds to the live image.
//!
//! ```toml
//! packages = ["vim", "htop"]          # extra Debian packages
//! kernel_params = ["quiet"]            # on every boot entry
//! serial_console = true                # the serial console on the default entry
//! agent = false                        # the vm-harness test agent (test images only)
//! ssh_authorized_keys = ["ssh-ed25519 AAAA… admin@example"]  # sshd on, for these keys
//! ca_certificates = ["corp-ca.pem"]   # trusted by stage-1 for root=live:https:// (besides Mozilla's)
//! answer_public_keys = ["fleet.pub"] # minisign keys an answer's signature (FILE.minisig) is checked with
//! require_signed_answers = true        # refuse an answer without a good signature from one of them
//! [files]
//! "/etc/motd" = "motd.txt"             # path in the image = file next to the profile
//! ```

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub kernel_params: Vec<String>,
    #[serde(default)]
    pub serial_console: bool,
    #[serde(default)]
    pub agent: bool,
    /// Root's SSH keys in the live system; sshd starts only when there is one.
    #[serde(default)]
    pub ssh_authorized_keys: Vec<String>,
    /// CA certificates (PEM files, relative to the profile) stage-1 trusts for `root=live:https://`.
    #[serde(default)]
    pub ca_certificates: Vec<std::path::PathBuf>,
    /// Minisign public key files (relative to the profile) that answers may be signed with.
    #[serde(default)]
    pub answer_public_keys: Vec<std::path::PathBuf>,
    /// Answers must carry a good signature from one of `answer_public_keys`.
    #[serde(default)]
    pub require_signed_answers: bool,
    /// Files to add: path in the live system → file on the build host (relative to the profile).
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, std::path::PathBuf>,
}

impl Profile {
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let p = Profile::from_toml("packages = [\"vim\"]\nserial_console = true\n").unwrap();
        assert_eq!(p.packages, ["vim"]);
        assert!(p.serial_console && !p.agent);
        assert!(Profile::from_toml("pakages = []").is_err());
        let f = Profile::from_toml("[files]\n\"/etc/motd\" = \"motd.txt\"\n").unwrap();
        assert_eq!(f.files["/etc/motd"], std::path::PathBuf::from("motd.txt"));
    }
}
