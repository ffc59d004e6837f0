//! The live system: what goes on top of the Debian root so that it boots into the installer
//! (autologin on tty1 and the serial console, DHCP on wired NICs, sshd off, a readiness line).

use std::path::PathBuf;

use crate::squashfs::Layer;

/// Printed on the console once the live system is up; tests wait for it.
pub const READY_LINE: &str = "installer ready";

/// Installs authorized keys from the image (`/etc/installer/authorized_keys`, from the profile) and
/// from `installer.ssh_key=` kernel parameters (percent-encoded, e.g. `ssh-ed25519%20AAAA…`), and
/// starts sshd only when there is a key, with host keys made at this boot.
const SSH_KEYS_SCRIPT: &str = r#"#!/bin/bash
set -eu
keys=""
if [ -s /etc/installer/authorized_keys ]; then
    keys="$(cat /etc/installer/authorized_keys)"
fi
for word in $(cat /proc/cmdline); do
    case "$word" in
        installer.ssh_key=*)
            k="${word#installer.ssh_key=}"
            keys="$keys"$'
'"$(printf '%b' "$(sed 's/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g' <<< "$k")")"
            ;;
    esac
done
keys="$(printf '%s
' "$keys" | sed '/^$/d')"
[ -n "$keys" ] || exit 0
install -d -m 0700 /root/.ssh
printf '%s
' "$keys" > /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
# One Ed25519 host key, made now (never shipped in the image): `ssh-keygen -A` also makes RSA
# and ECDSA keys, and RSA's prime search took 10 to 40 s of a one-CPU boot under TCG.
[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
systemctl start --no-block ssh.service
"#;
/// The live sshd offers the one host key the live system makes.
const SSHD_LIVE_CONF: &str = "HostKey /etc/ssh/ssh_host_ed25519_key\n";
const SSH_KEYS_UNIT: &str = "[Unit]\nDescription=Enable sshd when the image or the kernel command line gives a key\nConditionKernelCommandLine=|installer.ssh_key\nConditionFileNotEmpty=|/etc/installer/authorized_keys\nAfter=local-fs.target\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/installer-ssh-keys\n\n[Install]\nWantedBy=multi-user.target\n";

/// Starts `installer auto` at boot when the kernel command line names an answer
/// (`installer.answer=file:/path` on the live medium or in the live system, `cdrom:/path`,
/// `label:LABEL:/path` on a filesystem with that label; Anaconda's `inst.ks=hd:LABEL=X:/ks.cfg`,
/// `cdrom:` and `file:`) or a filesystem labelled `OEMDRV` holds `answer.toml` or `ks.cfg`.
/// `installer fetch-answer` finds the file, reads it once, checks `installer.answer_sha256=` and
/// its signature (`FILE.minisig`, against the image's keys; required when the image says so),
/// imports a Kickstart file, and writes what passed: the install uses that and nothing else. A
/// refused file stops there, before any disk is touched. It asks for one confirmation on the
/// console unless `installer.yes=1` is given too. Given arguments, it reads them instead of the
/// kernel command line: an unattended install started by hand in the running live system (e.g.
/// once the stick with the answer is plugged in).
const AUTOSTART_SCRIPT: &str = r#"#!/bin/bash
set -u
if ! out=$(/usr/local/bin/installer fetch-answer "$@"); then
    echo "installer: no answer to act on; nothing was touched"
    exit 3
fi
path=""; origin=""; yes=""; interactive=0
while IFS='=' read -r key value; do
    case "$key" in
        path) path="$value" ;;
        origin) origin="$value" ;;
        yes) [ "$value" = 1 ] && yes="--yes" ;;
        interactive) interactive="$value" ;;
    esac
done <<< "$out"
if [ "$interactive" = 1 ]; then
    # Sections to ask: the TUI on this console, the rest of the answer as given.
    active=$(cat /sys/class/tty/console/active 2>/dev/null)
    case "${active##* }" in
        ttyS*) export TERM=vt220; [ "$(stty size)" = "0 0" ] && stty rows 24 cols 80 ;;
        *) export TERM=linux ;;
    esac
    echo "installer: the answer from $origin asks for some sections: starting the TUI"
    /usr/local/bin/installer tui --answer "$path"
    exit $?
fi
echo "installer: unattended install from $origin"
/usr/local/bin/installer auto --answer "$path" $yes
status=$?
[ $status -eq 0 ] || echo "installer: the unattended install failed (exit $status); log in to see why"
exit $status
"#;
const AUTOSTART_UNIT: &str = "[Unit]\nDescription=Unattended install (installer.answer=)\nConditionKernelCommandLine=|installer.answer\nConditionKernelCommandLine=|inst.ks\nConditionPathExists=|/dev/disk/by-label/OEMDRV\nAfter=multi-user.target installer-ready.service\nConflicts=getty@tty1.service serial-getty@ttyS0.service\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/installer-autostart\nStandardInput=tty-force\nStandardOutput=tty\nStandardError=tty\nTTYPath=/dev/console\nExecStopPost=-/bin/systemctl --no-block start getty@tty1.service serial-getty@ttyS0.service\n\n[Install]\nWantedBy=multi-user.target\n";

/// Inputs of a live image.
#[derive(Debug, Clone)]
pub struct LiveInputs {
    /// The installer binary and our Nix modules (`installer/nix`).
    pub installer: PathBuf,
    pub nix_dir: PathBuf,
    /// Our stage-1 and a static busybox: in the live initrd, and kept in the live system
    /// (`/usr/lib/installer/`) so that `installer install` builds the target's initrd from them.
    pub stage1: PathBuf,
    pub busybox: PathBuf,
    /// Test images only: the vm-harness agent, started at boot. Release images never have it.
    pub agent: Option<PathBuf>,
    /// SSH public keys for root (from the profile); sshd starts only when there is one.
    pub ssh_authorized_keys: Vec<String>,
    /// Extra files (from the profile): path in the image → host file.
    pub files: Vec<(String, PathBuf)>,
    /// Minisign public keys an answer's signature is checked against: file name → the key file's
    /// text (`/etc/installer/answer-keys/`).
    pub answer_keys: Vec<(String, String)>,
    /// Answers must be signed by one of those keys.
    pub require_signed_answers: bool,
}

/// A filesystem labelled OEMDRV that is there at boot (one plugged in later is left alone) starts
/// the unattended install, as Anaconda's OEMDRV does: once udev has settled the boot's coldplug
/// (the devices there at power-on, the ones whose drivers coldplug loaded among them), this
/// unit looks for the label and queues installer-auto.service (which still waits for
/// multi-user.target and asks for a confirmation unless installer.yes=1). It runs once a boot.
/// (It used to be a udev rule on coldplug's synthesized events, `SYNTH_UUID`: a disk whose driver
/// only coldplug loads appears with a real `add` event and was missed whenever stage 1 had not
/// loaded that driver itself; before that, "at boot" was `/run/installer/ready` not being there
/// yet, which raced with coldplug.)
const OEMDRV_UNIT: &str = "[Unit]\nDescription=An OEMDRV filesystem at boot: the unattended install\nConditionKernelCommandLine=!installer.answer\nConditionKernelCommandLine=!inst.ks\nWants=systemd-udev-settle.service\nAfter=systemd-udev-settle.service\nConditionPathExists=/dev/disk/by-label/OEMDRV\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/systemctl --no-block start installer-auto.service\n\n[Install]\nWantedBy=multi-user.target\n";

/// Whether `text` is a minisign public key file (or its key line alone): a line of 56 base64
/// characters starting `RW` (the Ed25519 algorithm tag). The live system parses it fully.
pub fn is_minisign_public_key(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let key = match lines.as_slice() {
        [k] => k,
        [c, k] if c.starts_with("untrusted comment:") => k,
        _ => return false,
    };
    key.len() == 56
        && key.starts_with("RW")
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')
}

/// Enables installer-auto.service only when the kernel command line has `installer.answer=`: a unit
/// enabled at every boot is queued at every boot, and its `Conflicts=` (the console logins must
/// not fight the unattended install for the console) then stopped the logins even when its own
/// condition failed.
const AUTOSTART_GENERATOR: &str = "#!/bin/sh\n# installer: enable the unattended install only when installer.answer= is given.\ngrep -qE 'installer.answer=|inst.ks=' /proc/cmdline || exit 0\nmkdir -p \"$1/multi-user.target.wants\"\nln -sf /etc/systemd/system/installer-auto.service \"$1/multi-user.target.wants/installer-auto.service\"\n";
/// The consoles' logins start the TUI as soon as logins are allowed: `Type=simple`, not getty's
/// `idle`, which waits until every other boot job is done (the network's among them) or 5 s.
/// Boot messages do not land on the TUI: systemd's status is `auto` ([`LIVE_SYSTEM_CONF`]).
const AUTOLOGIN_TTY: &str =
    "[Service]\nType=simple\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear %I $TERM\n";
const AUTOLOGIN_SERIAL: &str = "[Service]\nType=simple\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM\n";
/// systemd's status lines only for a job that is slow (25 s) or fails, as with `quiet`: the TUI
/// starts while the rest of the boot (the network) goes on. `systemd.show_status=1` on the kernel
/// command line shows them all again.
const LIVE_SYSTEM_CONF: &str =
    "# installer: the TUI owns the console while the boot finishes.\n[Manager]\nShowStatus=auto\n";
/// networkd starts once the consoles' logins are about to start the TUI, not beside the rest of
/// the boot: on a machine of one slow CPU its start (4.4 s under TCG) took the CPU from the units
/// on the way to the TUI, which does not need the network to appear (an answer or a mirror over
/// the network is fetched with retries; DHCP is there before a person reaches the network screen).
const NETWORKD_AFTER_READY: &str =
    "# installer: the network comes up beside the TUI, not before it.\n[Unit]\nAfter=installer-ready.service\n";
/// The live system's journal stays in RAM (`/run/log/journal`): the root is a RAM overlay anyway,
/// and Debian's persistent `/var/log/journal` made systemd-journal-flush copy the boot's journal
/// there on the boot's critical chain (0.8 s under TCG). `journalctl` reads it all the same.
const LIVE_JOURNALD_CONF: &str =
    "# installer: the live system's journal stays in RAM.\n[Journal]\nStorage=volatile\n";
/// Debian's systemd-user-sessions.service without `network.target` in its `After=`: the live
/// system's logins (the TUI's autologin) do not wait for the network to start. Nor does it run
/// anything at boot: its start only removes `/run/nologin`, which the live system never makes
/// ([`LIVE_NOLOGIN`]), and it was a program's start (0.5-1.6 s under TCG) on the chain to the TUI.
/// Its stop still makes `/run/nologin` at shutdown.
const USER_SESSIONS_UNIT: &str = "[Unit]\nDescription=Permit User Sessions\nDocumentation=man:systemd-user-sessions.service(8)\n# installer (live system): logins do not wait for network.target; no /run/nologin to remove at boot.\nAfter=remote-fs.target nss-user-lookup.target home.mount\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStop=/lib/systemd/systemd-user-sessions stop\n";
/// systemd-tmpfiles's `/run/nologin` ("System is booting up"), masked in the live system: only
/// root logs in there, and pam_nologin never stops root.
pub const LIVE_NOLOGIN: &str = "etc/tmpfiles.d/systemd-nologin.conf";
const PROFILE: &str = r#"# The live installer: the TUI starts by itself on tty1 and on the serial console when that is the
# kernel console (installer.tui=0: a shell, as does an unattended boot with installer.answer=).
if [ -n "$PS1" ] && [ -z "$INSTALLER_TUI_STARTED" ]; then
    export INSTALLER_TUI_STARTED=1
    tty=$(tty 2>/dev/null)
    start=""
    case "$tty" in
        /dev/tty1) start=1 ;;
        /dev/ttyS*)
            # The kernel console is the last console= on the command line.
            kconsole=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^console=\([^,]*\).*/\1/p' | tail -n 1)
            [ "/dev/$kconsole" = "$tty" ] && start=1
            # A serial line has no size of its own: assume the usual 80x24.
            [ "$(stty size 2>/dev/null)" = "0 0" ] && stty rows 24 cols 80
            ;;
    esac
    for word in $(cat /proc/cmdline); do
        case "$word" in
            installer.tui=0|installer.answer=*) start="" ;;
        esac
    done
    if [ -n "$start" ]; then
        installer tui
    fi
    echo "This is the installer. Run 'installer tui' for the interactive installer, or 'installer --help'."
fi
"#;
const NETWORK: &str = "[Match]\nType=ether\n\n[Network]\nDHCP=yes\n";
/// `installer ready` on the consoles (and `/run/installer/ready`) just before their logins start
/// the TUI (so the line never lands on its screen): logins are allowed and nothing else is waited
/// for. The network comes up beside the TUI (an answer or a mirror over the network is fetched
/// with retries); the consoles used to wait for networkd's start (3.7-5.5 s under TCG) through
/// systemd-user-sessions.
const READY_UNIT: &str = "[Unit]\nDescription=Tell the console that the installer is ready\nAfter=systemd-user-sessions.service\nWants=getty-pre.target\nBefore=getty-pre.target\n\n[Service]\nType=oneshot\nExecStart=/bin/sh -c '[ -d /run/installer ] || mkdir -p /run/installer; : > /run/installer/ready; for c in /dev/ttyS0 /dev/console; do echo \"installer ready\" > $c 2>/dev/null; done; true'\n\n[Install]\nWantedBy=multi-user.target\n";

/// What only the live system has besides its masked units and spare consoles (all of it in
/// [`live_only`]).
pub const LIVE_ONLY: &[&str] = &[
    "etc/systemd/system/getty@tty1.service.d/autologin.conf",
    "etc/systemd/system/serial-getty@.service.d/autologin.conf",
    "etc/systemd/system.conf.d/installer-live.conf",
    "etc/systemd/journald.conf.d/installer-live.conf",
    "etc/systemd/system/systemd-networkd.service.d/installer-live.conf",
    "etc/systemd/system/systemd-user-sessions.service",
    LIVE_NOLOGIN,
    "etc/profile.d/installer.sh",
    "etc/systemd/network/20-wired.network",
    "etc/systemd/system/installer-ready.service",
    "etc/systemd/system/multi-user.target.wants/installer-ready.service",
    "usr/local/sbin/installer-ssh-keys",
    "etc/ssh/sshd_config.d/installer-live.conf",
    "usr/local/sbin/installer-autostart",
    "etc/systemd/system/installer-auto.service",
    "etc/systemd/system-generators/installer-answer",
    "etc/systemd/system/installer-ssh-keys.service",
    "etc/systemd/system/multi-user.target.wants/installer-ssh-keys.service",
    "etc/installer/authorized_keys",
    "usr/share/installer/live-only",
    "etc/modprobe.d/installer-live.conf",
];

/// Modules udev would load at every live boot that an installer never uses, among those the live
/// index lists (wireless and Bluetooth are not in it at all: [`crate::live_modules`]): KVM,
/// watchdogs, the PC speaker, SMBus and chipset sensors, joysticks. On a one-CPU machine under TCG
/// these and cfg80211 (networkd asks for nl80211) delayed `installer ready` by about 2 s (measured
/// side by side, 19.3/17.5 s to `running` with them, 16.8/15.5 s without). Only the live system
/// has the list: installed systems load what their hardware asks.
pub const LIVE_BLACKLISTED_MODULES: &[&str] = &[
    "kvm",
    "kvm_amd",
    "kvm_intel",
    "iTCO_wdt",
    "iTCO_vendor_support",
    "intel_pmc_bxt",
    "sp5100_tco",
    "pcspkr",
    "i2c_i801",
    "i2c_smbus",
    "lpc_ich",
    "intel_rapl_msr",
    "intel_rapl_common",
    "joydev",
];

/// `/etc/modprobe.d/installer-live.conf`: a `blacklist` line per module (an explicit `modprobe`
/// still loads one; udev's loads by alias do not).
pub fn live_modprobe_conf() -> String {
    let mut s =
        String::from("# The live installer does not need these (installed systems load what they need).\n");
    for m in LIVE_BLACKLISTED_MODULES {
        s.push_str(&format!("blacklist {m}\n"));
    }
    s
}

/// Units the live system never needs, masked there (installed systems keep them): they ran beside
/// the boot's critical chain on a one-CPU machine (e2scrub_reap 17.6 s, lvm2-monitor 3.0 s under
/// TCG) and made `installer ready` later; man-db's daily timer would rebuild its index at every
/// boot of a medium that never ran it. getty-static ran `systemctl` to start the spare consoles'
/// gettys (2.6 s beside networkd, which the console's login waits for): they are wanted by
/// getty.target instead ([`SPARE_CONSOLES`]). systemd-pstore archives crash records of an earlier
/// boot, which a live medium has none of; it pulled in a modprobe of efi_pstore at every boot.
/// And units that each took 0.7-1.8 s of the one CPU before `installer ready` (TCG,
/// `systemd-analyze blame`) for nothing a live installer uses: utmp's boot and runlevel records,
/// sysusers (the image's users are made when it is built; it ran at every boot because a live
/// root never has `/etc/.updated`), and the API filesystems nobody mounts anything on here (huge
/// pages, POSIX message queues, debugfs, tracefs, FUSE's and configfs's control filesystems, with
/// the modprobes of fuse and configfs they pull in). Not systemd-random-seed, though the medium
/// has no seed: its blocking read of the kernel's random numbers is what makes the kernel gather
/// entropy at boot under TCG (without it the RNG was ready 7 minutes later, and a LUKS format
/// waited for it). systemd-journal-flush moves the journal from /run to /var/log/journal, which
/// the live journal never goes to (`Storage=volatile`): it ran on the chain to `installer ready`
/// (systemd-tmpfiles-setup is ordered after it) for nothing.
pub const LIVE_MASKED: &[&str] = &[
    "e2scrub_reap.service",
    "lvm2-monitor.service",
    "man-db.timer",
    "getty-static.service",
    "systemd-pstore.service",
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
    "systemd-sysusers.service",
    "dev-hugepages.mount",
    "dev-mqueue.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "sys-kernel-config.mount",
    "systemd-journal-flush.service",
];

/// What only the live system has, which `installer install` removes from the installed system:
/// [`LIVE_ONLY`], the masks of [`LIVE_MASKED`] and the gettys of [`SPARE_CONSOLES`] (the test
/// agent is not listed: a test image's installed systems keep it for the tests).
pub fn live_only() -> Vec<String> {
    let masks = LIVE_MASKED.iter().map(|u| format!("etc/systemd/system/{u}"));
    let spare =
        SPARE_CONSOLES.iter().map(|t| format!("etc/systemd/system/getty.target.wants/getty@{t}.service"));
    LIVE_ONLY.iter().map(|p| p.to_string()).chain(masks).chain(spare).collect()
}

/// The virtual consoles besides tty1 (the TUI's) with a root login, for a shell beside the TUI
/// (Alt+F2 and on).
pub const SPARE_CONSOLES: &[&str] = &["tty2", "tty3", "tty4", "tty5", "tty6"];

/// The layer that turns the Debian root into the live system.
pub fn layer(inp: &LiveInputs) -> Layer {
    let mut l = Layer::new();
    l.host_file("usr/local/bin/installer", &inp.installer, Some(0o755))
        .host_file("usr/lib/installer/stage1", &inp.stage1, Some(0o755))
        .host_file("usr/lib/installer/busybox", &inp.busybox, Some(0o755))
        .file("usr/share/installer/live-only", 0o644, live_only().join("\n") + "\n")
        .host_tree("usr/share/installer/nix", &inp.nix_dir)
        .file("etc/hostname", 0o644, "installer\n")
        .file("etc/hosts", 0o644, "127.0.0.1 localhost\n127.0.1.1 installer\n::1 localhost\n")
        .file("etc/systemd/system/getty@tty1.service.d/autologin.conf", 0o644, AUTOLOGIN_TTY)
        .file("etc/systemd/system/serial-getty@.service.d/autologin.conf", 0o644, AUTOLOGIN_SERIAL)
        .file("etc/systemd/system.conf.d/installer-live.conf", 0o644, LIVE_SYSTEM_CONF)
        .file("etc/systemd/journald.conf.d/installer-live.conf", 0o644, LIVE_JOURNALD_CONF)
        .file(
            "etc/systemd/system/systemd-networkd.service.d/installer-live.conf",
            0o644,
            NETWORKD_AFTER_READY,
        )
        .file("etc/systemd/system/systemd-user-sessions.service", 0o644, USER_SESSIONS_UNIT)
        .symlink(LIVE_NOLOGIN, "/dev/null")
        .file("etc/profile.d/installer.sh", 0o644, PROFILE)
        .file("etc/systemd/network/20-wired.network", 0o644, NETWORK)
        .file("etc/modprobe.d/installer-live.conf", 0o644, live_modprobe_conf());
    for unit in LIVE_MASKED {
        l.symlink(&format!("etc/systemd/system/{unit}"), "/dev/null");
    }
    for tty in SPARE_CONSOLES {
        l.symlink(
            &format!("etc/systemd/system/getty.target.wants/getty@{tty}.service"),
            "/lib/systemd/system/getty@.service",
        );
    }
    l.symlink(
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
    // sshd stays off unless a profile or kernel parameter gives a key; host keys are made at
    // boot, never shared by every copy of the image.
    .remove("etc/systemd/system/multi-user.target.wants/ssh.service")
    .remove("etc/systemd/system/sshd.service")
    .remove("etc/ssh/ssh_host_rsa_key")
    .remove("etc/ssh/ssh_host_rsa_key.pub")
    .remove("etc/ssh/ssh_host_ecdsa_key")
    .remove("etc/ssh/ssh_host_ecdsa_key.pub")
    .remove("etc/ssh/ssh_host_ed25519_key")
    .remove("etc/ssh/ssh_host_ed25519_key.pub")
    .file("usr/local/sbin/installer-autostart", 0o755, AUTOSTART_SCRIPT)
    .file("etc/systemd/system/installer-auto.service", 0o644, AUTOSTART_UNIT)
    .file("etc/systemd/system-generators/installer-answer", 0o755, AUTOSTART_GENERATOR)
    .file("etc/systemd/system/installer-oemdrv.service", 0o644, OEMDRV_UNIT)
    .symlink(
        "etc/systemd/system/multi-user.target.wants/installer-oemdrv.service",
        "/etc/systemd/system/installer-oemdrv.service",
    )
    .file("usr/local/sbin/installer-ssh-keys", 0o755, SSH_KEYS_SCRIPT)
    .file("etc/ssh/sshd_config.d/installer-live.conf", 0o644, SSHD_LIVE_CONF)
    .file("etc/systemd/system/installer-ssh-keys.service", 0o644, SSH_KEYS_UNIT)
    .symlink(
        "etc/systemd/system/multi-user.target.wants/installer-ssh-keys.service",
        "/etc/systemd/system/installer-ssh-keys.service",
    );
    for (path, host) in &inp.files {
        l.host_file(path, host, None);
    }
    if !inp.ssh_authorized_keys.is_empty() {
        l.file("etc/installer/authorized_keys", 0o644, inp.ssh_authorized_keys.join("\n") + "\n");
    }
    for (name, key) in &inp.answer_keys {
        l.file(&format!("etc/installer/answer-keys/{name}"), 0o644, key.clone());
    }
    if inp.require_signed_answers {
        l.file(
            "etc/installer/require-signed-answers",
            0o644,
            "answers must be signed by a key in answer-keys/\n",
        );
    }
    if let Some(agent) = &inp.agent {
        add_agent(&mut l, agent);
    }
    l
}

/// Adds the vm-harness test agent, started early by systemd (test images only: the live test
/// image and the harness's Debian test root).
pub fn add_agent(l: &mut Layer, agent: &std::path::Path) {
    l.host_file("usr/local/sbin/vm-harness-agent", agent, Some(0o755))
        .file("etc/systemd/system/vm-harness-agent.service", 0o644, AGENT_UNIT)
        .symlink(
            "etc/systemd/system/sysinit.target.wants/vm-harness-agent.service",
            "/etc/systemd/system/vm-harness-agent.service",
        );
}

const AGENT_UNIT: &str = "[Unit]\nDescription=vm-harness test agent (test images only)\nDefaultDependencies=no\nAfter=systemd-remount-fs.service\n\n[Service]\nExecStart=/usr/local/sbin/vm-harness-agent\nRestart=always\nRestartSec=1\n\n[Install]\nWantedBy=sysinit.target\n";

/// Does a squashfs contain the test agent? (release images must not).
pub fn has_agent(listing: &str) -> bool {
    listing.lines().any(|l| l.ends_with("usr/local/sbin/vm-harness-agent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(agent: Option<PathBuf>) -> LiveInputs {
        LiveInputs {
            installer: "/bin/true".into(),
            nix_dir: "/nix".into(),
            stage1: "/s".into(),
            busybox: "/b".into(),
            agent,
            ssh_authorized_keys: vec!["ssh-ed25519 AAAA a@b".into()],
            files: vec![("/etc/motd".into(), "/tmp/motd".into())],
            answer_keys: vec![(
                "fleet.pub".into(),
                format!("untrusted comment: minisign public key\n{KEY}\n"),
            )],
            require_signed_answers: true,
        }
    }

    const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    #[test]
    fn answer_keys_and_the_signature_requirement_go_into_the_layer() {
        let l = format!("{:?}", layer(&inputs(None)));
        assert!(l.contains("etc/installer/answer-keys/fleet.pub"));
        let key_bytes =
            format!("{:?}", format!("untrusted comment: minisign public key\n{KEY}\n").into_bytes());
        assert!(l.contains(&key_bytes[1..key_bytes.len() - 1]), "the key's text is the file");
        assert!(l.contains("etc/installer/require-signed-answers"));
        let mut open = inputs(None);
        open.require_signed_answers = false;
        assert!(!format!("{:?}", layer(&open)).contains("require-signed-answers"));
        assert!(is_minisign_public_key(KEY));
        assert!(is_minisign_public_key(&format!("untrusted comment: x\n{KEY}\n")));
        for bad in
            ["", "ssh-ed25519 AAAA", &KEY[1..], &format!("{KEY}\n{KEY}\n{KEY}"), &KEY.replace('Q', "!")]
        {
            assert!(!is_minisign_public_key(bad), "{bad}");
        }
    }

    #[test]
    fn an_oemdrv_filesystem_at_boot_starts_the_unattended_install_once() {
        let l = format!("{:?}", layer(&inputs(None)));
        assert!(l.contains("etc/systemd/system/multi-user.target.wants/installer-oemdrv.service"));
        assert!(OEMDRV_UNIT.contains("ConditionPathExists=/dev/disk/by-label/OEMDRV"));
        assert!(OEMDRV_UNIT.contains("After=systemd-udev-settle.service"), "the boot's devices, all of them");
        assert!(OEMDRV_UNIT.contains("RemainAfterExit=yes"), "once a boot, not for a stick plugged in later");
        assert!(READY_UNIT.contains("/run/installer/ready"));
        assert!(AUTOSTART_UNIT.contains("ConditionPathExists=|/dev/disk/by-label/OEMDRV"));
    }

    #[test]
    fn profile_files_and_keys_go_into_the_layer_and_only_test_images_get_the_agent() {
        let with = format!("{:?}", layer(&inputs(Some("/agent".into()))));
        let without = format!("{:?}", layer(&inputs(None)));
        assert!(with.contains("vm-harness-agent") && !without.contains("vm-harness-agent"));
        assert!(without.contains("\"etc/motd\"") && without.contains("etc/installer/authorized_keys"));
        assert!(without.contains("etc/ssh/ssh_host_ed25519_key"), "shipped host keys are removed");
    }

    #[test]
    fn masked_units_and_spare_consoles_are_live_only() {
        let l = format!("{:?}", layer(&inputs(None)));
        let paths = LIVE_MASKED.iter().map(|u| format!("etc/systemd/system/{u}")).chain(
            SPARE_CONSOLES.iter().map(|t| format!("etc/systemd/system/getty.target.wants/getty@{t}.service")),
        );
        for p in paths {
            assert!(l.contains(&format!("{p:?}")), "{p} is not in the layer");
            assert!(live_only().contains(&p), "{p} is not removed from installed systems");
        }
        assert!(SSH_KEYS_UNIT.contains("ConditionKernelCommandLine=|installer.ssh_key\n"));
    }

    #[test]
    fn the_live_module_blacklist_is_live_only_and_names_each_module_once() {
        let l = format!("{:?}", layer(&inputs(None)));
        assert!(l.contains("etc/modprobe.d/installer-live.conf"));
        assert!(
            LIVE_ONLY.contains(&"etc/modprobe.d/installer-live.conf"),
            "installed systems must not keep it"
        );
        let conf = live_modprobe_conf();
        let lines: Vec<&str> = conf.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), LIVE_BLACKLISTED_MODULES.len());
        let mut seen = std::collections::HashSet::new();
        for l in lines {
            let m = l.strip_prefix("blacklist ").unwrap_or_else(|| panic!("{l}"));
            assert!(m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{m}");
            assert!(seen.insert(m), "{m} twice");
        }
        // Never what finding the medium, the disks or the console needs.
        for needed in ["virtio_blk", "ahci", "sr_mod", "dm_mod", "md_mod", "usb_storage", "bochs", "evdev"] {
            assert!(!seen.contains(needed), "{needed}");
        }
    }
}
