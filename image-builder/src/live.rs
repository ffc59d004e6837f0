//! The live system: what goes on top of the Debian root so that it boots into the installer
//! (autologin on tty1 and the serial console, DHCP on wired NICs, sshd off, a readiness line).

use std::path::PathBuf;

use crate::squashfs::Layer;

/// Printed on the console once the live system is up; tests wait for it.
pub const READY_LINE: &str = "installer ready";

/// Inputs of a live image.
#[derive(Debug, Clone)]
pub struct LiveInputs {
    /// Unpacked kernel package (boot/vmlinuz-<version>, lib/modules/<version>).
    pub kernel_root: PathBuf,
    pub kernel_version: String,
    /// The installer binary and our Nix modules (`installer/nix`).
    pub installer: PathBuf,
    pub nix_dir: PathBuf,
    /// Test images only: the vm-harness agent, started at boot. Release images never have it.
    pub agent: Option<PathBuf>,
}

impl LiveInputs {
    pub fn vmlinuz(&self) -> PathBuf {
        self.kernel_root.join("boot").join(format!("vmlinuz-{}", self.kernel_version))
    }
    pub fn modules_dir(&self) -> PathBuf {
        self.kernel_root.join("lib/modules").join(&self.kernel_version)
    }
}

const AUTOLOGIN_TTY: &str =
    "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear %I $TERM\n";
const AUTOLOGIN_SERIAL: &str = "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM\n";
const PROFILE: &str = r#"# The live installer's login message.
if [ -n "$PS1" ] && [ -z "$INSTALLER_HELP_SHOWN" ]; then
    export INSTALLER_HELP_SHOWN=1
    echo "This is the installer. Run 'installer --help' (disks, plan, partition, generate-config, eval)."
fi
"#;
const NETWORK: &str = "[Match]\nType=ether\n\n[Network]\nDHCP=yes\n";
const READY_UNIT: &str = "[Unit]\nDescription=Tell the console that the installer is ready\nAfter=getty.target systemd-networkd.service\n\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'for c in /dev/ttyS0 /dev/console; do echo \"installer ready\" > $c 2>/dev/null; done; true'\n\n[Install]\nWantedBy=multi-user.target\n";

/// The layer that turns the Debian root into the live system.
pub fn layer(inp: &LiveInputs) -> Layer {
    let mut l = Layer::new();
    l.host_tree(&format!("usr/lib/modules/{}", inp.kernel_version), &inp.modules_dir())
        .host_file("usr/local/bin/installer", &inp.installer, Some(0o755))
        .host_tree("usr/share/installer/nix", &inp.nix_dir)
        .file("etc/hostname", 0o644, "installer\n")
        .file("etc/hosts", 0o644, "127.0.0.1 localhost\n127.0.1.1 installer\n::1 localhost\n")
        .file("etc/systemd/system/getty@tty1.service.d/autologin.conf", 0o644, AUTOLOGIN_TTY)
        .file("etc/systemd/system/serial-getty@.service.d/autologin.conf", 0o644, AUTOLOGIN_SERIAL)
        .file("etc/profile.d/installer.sh", 0o644, PROFILE)
        .file("etc/systemd/network/20-wired.network", 0o644, NETWORK)
        .symlink(
            "etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
            "/lib/systemd/system/systemd-networkd.service",
        )
        .symlink(
            "etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
            "/lib/systemd/system/systemd-networkd.socket",
        )
        .file("etc/systemd/system/installer-ready.service", 0o644, READY_UNIT)
        .symlink(
            "etc/systemd/system/multi-user.target.wants/installer-ready.service",
            "/etc/systemd/system/installer-ready.service",
        )
        // sshd stays off unless a profile or kernel parameter gives a key.
        .remove("etc/systemd/system/multi-user.target.wants/ssh.service")
        .remove("etc/systemd/system/sshd.service");
    if let Some(agent) = &inp.agent {
        l.host_file("usr/local/sbin/vm-harness-agent", agent, Some(0o755))
            .file("etc/systemd/system/vm-harness-agent.service", 0o644, AGENT_UNIT)
            .symlink(
                "etc/systemd/system/sysinit.target.wants/vm-harness-agent.service",
                "/etc/systemd/system/vm-harness-agent.service",
            );
    }
    l
}

/// Same unit as vm-harness's test images (kept here so the release build needs no test crate).
const AGENT_UNIT: &str = "[Unit]\nDescription=vm-harness test agent (test images only)\nDefaultDependencies=no\nAfter=systemd-remount-fs.service\n\n[Service]\nExecStart=/usr/local/sbin/vm-harness-agent\nRestart=always\nRestartSec=1\n\n[Install]\nWantedBy=sysinit.target\n";

/// Does a squashfs contain the test agent? (release images must not).
pub fn has_agent(listing: &str) -> bool {
    listing.lines().any(|l| l.ends_with("usr/local/sbin/vm-harness-agent"))
}
