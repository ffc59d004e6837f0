//! Activating the configuration in the target: the files a NixOS activation script would manage,
//! written the Debian way (hostname, hosts, fstab, accounts, homes and keys, systemd-networkd,
//! time zone, locale, keymap, sshd, nftables), and removing what only the live system has.

use std::path::Path;

use anyhow::{bail, Context, Result};
use runner::Cmd;

use super::users::Accounts;
use super::{write_bytes, write_file};
use crate::config::system::{Firewall, HostKey, Networking, Sudo, SystemConfig};

/// `/etc/hosts`.
pub fn render_hosts(net: &Networking) -> String {
    // With a domain, the fully qualified name first (as NixOS writes it).
    let names = match net.domain.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => format!("{h}.{d} {h}", h = net.host_name),
        None => net.host_name.clone(),
    };
    let mut s = format!(
        "127.0.0.1 localhost\n127.0.1.1 {names}\n::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n"
    );
    if !net.extra_hosts.trim().is_empty() {
        s.push_str(net.extra_hosts.trim_end());
        s.push('\n');
    }
    s
}

/// `/etc/fstab` from `fileSystems` and `swapDevices` (devices as configured: by-uuid paths from
/// generate-config, or `LABEL=`).
pub fn render_fstab(c: &SystemConfig) -> String {
    let mut s = String::from("# Written by the installer from fileSystems and swapDevices.\n# <device> <mount point> <type> <options> <dump> <pass>\n");
    let mut fss: Vec<_> = c.file_systems.values().collect();
    fss.sort_by_key(|f| {
        (f.mount_point.matches('/').count() - usize::from(f.mount_point == "/"), f.mount_point.clone())
    });
    for f in fss {
        let dev = match (&f.device, &f.label) {
            (Some(d), _) => d.clone(),
            (None, Some(l)) => format!("LABEL={l}"),
            (None, None) => "none".into(),
        };
        let opts = if f.options.is_empty() { "defaults".to_string() } else { f.options.join(",") };
        let pass = match (f.mount_point.as_str(), f.fs_type.as_str()) {
            ("/", t) if t.starts_with("ext") => 1,
            (_, t) if t.starts_with("ext") || t == "vfat" => 2,
            _ => 0,
        };
        s.push_str(&format!("{dev} {} {} {opts} 0 {pass}\n", f.mount_point, f.fs_type));
    }
    for sw in &c.swap_devices {
        let dev = match &sw.label {
            Some(l) if sw.device.is_empty() => format!("LABEL={l}"),
            _ => sw.device.clone(),
        };
        s.push_str(&format!("{dev} none swap sw 0 0\n"));
    }
    s
}

/// systemd-networkd files: one per configured interface, and DHCP on every other wired NIC when
/// `networking.useDHCP`.
pub fn render_networkd(net: &Networking) -> Vec<(String, String)> {
    let mut files = vec![];
    let dns: String = net.nameservers.iter().map(|n| format!("DNS={n}\n")).collect();
    for (name, i) in &net.interfaces {
        let dhcp = i.use_dhcp.unwrap_or(net.use_dhcp && i.ipv4.addresses.is_empty());
        let mut s = format!("[Match]\nName={name}\n\n[Network]\nDHCP={}\n", if dhcp { "yes" } else { "no" });
        if !net.enable_ipv6 {
            s.push_str("LinkLocalAddressing=no\nIPv6AcceptRA=no\n");
        }
        for a in &i.ipv4.addresses {
            s.push_str(&format!("Address={}/{}\n", a.address, a.prefix_length));
        }
        if let (Some(gw), false) = (&net.default_gateway, i.ipv4.addresses.is_empty()) {
            s.push_str(&format!("Gateway={gw}\n"));
        }
        s.push_str(&dns);
        files.push((format!("10-{name}.network"), s));
    }
    if net.use_dhcp {
        let mut s = String::from("[Match]\nType=ether\n\n[Network]\nDHCP=yes\n");
        if !net.enable_ipv6 {
            s.push_str("LinkLocalAddressing=no\nIPv6AcceptRA=no\n");
        }
        s.push_str(&dns);
        files.push(("99-dhcp.network".into(), s));
    }
    files
}

/// `/etc/nftables.conf` from `networking.firewall`.
pub fn render_nftables(fw: &Firewall) -> String {
    let ports = |p: &[u16]| p.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
    let mut s = String::from("#!/usr/sbin/nft -f\n# Written by the installer from networking.firewall.\nflush ruleset\n\ntable inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    iifname \"lo\" accept\n    ct state established,related accept\n    ct state invalid drop\n    meta l4proto 58 accept comment \"ICMPv6\"\n    udp dport 546 accept comment \"DHCPv6 client\"\n");
    if fw.allow_ping {
        s.push_str("    icmp type echo-request accept\n");
    }
    if !fw.allowed_tcp_ports.is_empty() {
        s.push_str(&format!("    tcp dport {{ {} }} accept\n", ports(&fw.allowed_tcp_ports)));
    }
    if !fw.allowed_udp_ports.is_empty() {
        s.push_str(&format!("    udp dport {{ {} }} accept\n", ports(&fw.allowed_udp_ports)));
    }
    s.push_str("  }\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n  }\n}\n");
    s
}

/// Makes the host keys that are not there yet (as NixOS's sshd does before its first start), each
/// under a temporary name first: a cut leaves no half-written key that a rerun would keep.
fn make_host_keys(root: &Path, keys: &[HostKey]) -> Result<()> {
    for k in keys {
        let key = root.join(k.path.trim_start_matches('/'));
        if key.exists() {
            continue;
        }
        let tmp = key.with_file_name(format!(".installer-new-{}", k.kind));
        let tmp_pub = tmp.with_file_name(format!(".installer-new-{}.pub", k.kind));
        for f in [&tmp, &tmp_pub] {
            let _ = std::fs::remove_file(f);
        }
        let mut cmd = Cmd::new(format!("making the SSH host key {}", k.path), "ssh-keygen")
            .args(["-q", "-t", &k.kind, "-N", "", "-C", ""]);
        if let Some(bits) = k.bits {
            cmd = cmd.arg("-b").arg(bits.to_string());
        }
        cmd.arg("-f").arg(&tmp).run()?;
        let key_pub =
            key.with_file_name(format!("{}.pub", key.file_name().unwrap_or_default().to_string_lossy()));
        std::fs::rename(&tmp_pub, &key_pub)
            .with_context(|| format!("moving {} into place", key_pub.display()))?;
        std::fs::rename(&tmp, &key).with_context(|| format!("moving {} into place", key.display()))?;
    }
    Ok(())
}

fn enable_unit(root: &Path, target: &str, unit: &str, enable: bool) -> Result<()> {
    let link = root.join("etc/systemd/system").join(format!("{target}.wants")).join(unit);
    let _ = std::fs::remove_file(&link);
    if enable {
        std::fs::create_dir_all(link.parent().expect("has parent"))?;
        std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), &link)
            .with_context(|| format!("enabling {unit}"))?;
    }
    Ok(())
}

/// Removes the paths the live system lists in `/usr/share/installer/live-only` (read from the
/// copy source).
pub fn remove_live_only(source: &Path, root: &Path) -> Result<Vec<String>> {
    let list = source.join("usr/share/installer/live-only");
    let Ok(text) = std::fs::read_to_string(&list) else { return Ok(vec![]) };
    let mut removed = vec![];
    for rel in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let p = root.join(rel.trim_start_matches('/'));
        if std::fs::symlink_metadata(&p).is_ok() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            removed.push(rel.to_string());
        }
    }
    Ok(removed)
}

/// Puts back each kernel's full module index, which the live root keeps aside in
/// [`initrd::modules::FULL_INDEX_DIR`] (its own lists only the modules an installer needs): the
/// installed system loads any module. Each file is written whole (a rename), then the directory
/// goes; a copy made again brings both back and this runs again.
pub fn restore_module_index(root: &Path) -> Result<Vec<String>> {
    let mut restored = vec![];
    let base = root.join("usr/lib/modules");
    for v in std::fs::read_dir(&base).into_iter().flatten().flatten() {
        let full = v.path().join(initrd::modules::FULL_INDEX_DIR);
        if !full.is_dir() {
            continue;
        }
        for f in initrd::modules::DEPMOD_OUTPUTS {
            if let Ok(bytes) = std::fs::read(full.join(f)) {
                write_bytes(&v.path().join(f), &bytes, 0o644)?;
            }
        }
        std::fs::remove_dir_all(&full).with_context(|| format!("removing {}", full.display()))?;
        restored.push(v.file_name().to_string_lossy().to_string());
    }
    Ok(restored)
}

/// Everything but the bootloader, in the target mounted at `root`.
/// `mdadm_conf`: the arrays to record ([`mdadm_conf`], read before the copy).
pub fn activate(c: &SystemConfig, source: &Path, root: &Path, mdadm_conf: Option<&str>) -> Result<()> {
    let etc = root.join("etc");
    remove_live_only(source, root)?;
    restore_module_index(root)?;
    write_file(&etc.join("hostname"), &format!("{}\n", c.networking.host_name), 0o644)?;
    write_file(&etc.join("hosts"), &render_hosts(&c.networking), 0o644)?;
    write_file(&etc.join("fstab"), &render_fstab(c), 0o644)?;
    accounts(c, root)?;
    network(c, root)?;
    time_zone_locale_keymap(c, root)?;
    sshd(c, root)?;
    sudo(c, root)?;
    firewall(c, root)?;
    if let Some(conf) = mdadm_conf {
        write_file(&etc.join("mdadm/mdadm.conf"), conf, 0o644)?;
    }
    Ok(())
}

/// Accounts, their homes (from /etc/skel) and their SSH keys.
fn accounts(c: &SystemConfig, root: &Path) -> Result<()> {
    let mut acc = Accounts::load(root)?;
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86400)
        .unwrap_or(0);
    let homes = acc.apply(&c.users, root, days)?;
    acc.save(root)?;
    for (name, home, uid, gid) in &homes {
        let h = root.join(home.trim_start_matches('/'));
        if !h.exists() {
            std::fs::create_dir_all(&h).with_context(|| format!("creating {}", h.display()))?;
            let skel = root.join("etc/skel");
            for e in std::fs::read_dir(&skel).into_iter().flatten().flatten() {
                if e.path().is_file() {
                    let dest = h.join(e.file_name());
                    std::fs::copy(e.path(), &dest).with_context(|| format!("copying {}", dest.display()))?;
                    std::os::unix::fs::chown(&dest, Some(*uid), Some(*gid))?;
                }
            }
            std::fs::set_permissions(&h, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            std::os::unix::fs::chown(&h, Some(*uid), Some(*gid))
                .with_context(|| format!("chown {name}'s home"))?;
        }
    }
    for u in c.users.users.values() {
        if u.openssh.authorized_keys.keys.is_empty() {
            continue;
        }
        let (uid, gid, home) = {
            let row = acc.passwd.get(&u.name).context("a declared user is missing from passwd")?;
            (row[2].parse::<u32>().unwrap_or(0), row[3].parse::<u32>().unwrap_or(0), row[5].clone())
        };
        let ssh = root.join(home.trim_start_matches('/')).join(".ssh");
        std::fs::create_dir_all(&ssh).with_context(|| format!("creating {}", ssh.display()))?;
        std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        std::os::unix::fs::chown(&ssh, Some(uid), Some(gid))?;
        let keys = ssh.join("authorized_keys");
        write_file(&keys, &(u.openssh.authorized_keys.keys.join("\n") + "\n"), 0o600)?;
        std::os::unix::fs::chown(&keys, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// systemd-networkd files, and resolv.conf when name servers are given.
fn network(c: &SystemConfig, root: &Path) -> Result<()> {
    let etc = root.join("etc");
    let netdir = etc.join("systemd/network");
    std::fs::create_dir_all(&netdir)?;
    for e in std::fs::read_dir(&netdir)?.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.ends_with(".network") && (n.starts_with("10-") || n == "99-dhcp.network") {
            std::fs::remove_file(e.path())?;
        }
    }
    for (name, content) in render_networkd(&c.networking) {
        write_file(&netdir.join(name), &content, 0o644)?;
    }
    enable_unit(root, "multi-user.target", "systemd-networkd.service", true)?;
    enable_unit(root, "sockets.target", "systemd-networkd.socket", true)?;
    if !c.networking.nameservers.is_empty() {
        let _ = std::fs::remove_file(etc.join("resolv.conf"));
        let rc: String = c.networking.nameservers.iter().map(|n| format!("nameserver {n}\n")).collect();
        write_file(&etc.join("resolv.conf"), &rc, 0o644)?;
    }
    Ok(())
}

/// Time zone, locale, keymap.
fn time_zone_locale_keymap(c: &SystemConfig, root: &Path) -> Result<()> {
    let etc = root.join("etc");
    if let Some(tz) = &c.time.time_zone {
        if !root.join("usr/share/zoneinfo").join(tz).is_file() {
            bail!("time.timeZone = {tz:?} is not a known time zone (no /usr/share/zoneinfo/{tz})");
        }
        let lt = etc.join("localtime");
        let _ = std::fs::remove_file(&lt);
        std::os::unix::fs::symlink(format!("/usr/share/zoneinfo/{tz}"), &lt)
            .context("linking /etc/localtime")?;
        write_file(&etc.join("timezone"), &format!("{tz}\n"), 0o644)?;
    }
    write_file(&etc.join("default/locale"), &format!("LANG={}\n", c.i18n.default_locale), 0o644)?;
    write_file(&etc.join("locale.conf"), &format!("LANG={}\n", c.i18n.default_locale), 0o644)?;
    write_file(&etc.join("vconsole.conf"), &format!("KEYMAP={}\n", c.console.key_map), 0o644)?;
    Ok(())
}

/// sshd: its settings and host keys, enabled or not.
fn sshd(c: &SystemConfig, root: &Path) -> Result<()> {
    let etc = root.join("etc");
    let sshd_conf = etc.join("ssh/sshd_config.d/10-installer.conf");
    let o = &c.services.openssh;
    if o.enable {
        let mut s = format!(
            "# Written by the installer from services.openssh.\nPermitRootLogin {}\n",
            o.settings.permit_root_login
        );
        for p in &o.ports {
            s.push_str(&format!("Port {p}\n"));
        }
        for k in &o.host_keys {
            s.push_str(&format!("HostKey {}\n", k.path));
        }
        write_file(&sshd_conf, &s, 0o644)?;
        make_host_keys(root, &o.host_keys)?;
    } else {
        let _ = std::fs::remove_file(&sshd_conf);
    }
    enable_unit(root, "multi-user.target", "ssh.service", o.enable)?;
    Ok(())
}

/// The sudoers rule `security.sudo` stands for: `%wheel` may run anything as anyone, with or
/// without its own password.
pub fn render_sudoers(s: &Sudo) -> String {
    let tag = if s.wheel_needs_password { "" } else { "NOPASSWD: " };
    format!("# Written by the installer from security.sudo.\n%wheel ALL=(ALL:ALL) {tag}ALL\n")
}

/// sudo: the wheel rule (checked by visudo), or, with `security.sudo.enable = false`, no rule and
/// no setuid bit (a dpkg-statoverride, so that an upgrade of the package keeps it so).
fn sudo(c: &SystemConfig, root: &Path) -> Result<()> {
    const RULE: &str = "etc/sudoers.d/10-installer";
    const SUDO: &str = "/usr/bin/sudo";
    let rule = root.join(RULE);
    let bin = root.join(SUDO.trim_start_matches('/'));
    if !bin.exists() {
        if c.security.sudo.enable {
            bail!("security.sudo.enable is true but the system has no {SUDO}");
        }
        let _ = std::fs::remove_file(&rule);
        return Ok(());
    }
    // An override a disabled sudo left is lifted; set again below when sudo stays disabled.
    let statoverride = |args: &[&str]| {
        Cmd::new("recording sudo's mode", "dpkg-statoverride")
            .arg("--root")
            .arg(root)
            .args(args.iter().copied())
    };
    statoverride(&["--remove", SUDO]).ok_codes(&[2]).run()?;
    use std::os::unix::fs::PermissionsExt;
    if c.security.sudo.enable {
        write_file(&rule, &render_sudoers(&c.security.sudo), 0o440)?;
        Cmd::new("checking the sudoers rule", root.join("usr/sbin/visudo"))
            .args(["-c", "-q", "-f"])
            .arg(&rule)
            .run()?;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o4755))
            .with_context(|| format!("chmod {}", bin.display()))?;
    } else {
        let _ = std::fs::remove_file(&rule);
        statoverride(&["--add", "root", "root", "0755", SUDO]).run()?;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", bin.display()))?;
    }
    Ok(())
}

/// The nftables rules, checked by nft now rather than rejected at boot.
fn firewall(c: &SystemConfig, root: &Path) -> Result<()> {
    let etc = root.join("etc");
    if c.networking.firewall.enable {
        let conf = etc.join("nftables.conf");
        write_file(&conf, &render_nftables(&c.networking.firewall), 0o755)?;
        // Check the rules with the same nft now rather than find them rejected at boot.
        if Path::new("/usr/sbin/nft").exists() {
            Cmd::new("checking the firewall rules", "/usr/sbin/nft").arg("-c").arg("-f").arg(&conf).run()?;
        }
    }
    enable_unit(root, "sysinit.target", "nftables.service", c.networking.firewall.enable)?;
    Ok(())
}

/// RAID: the `/etc/mdadm/mdadm.conf` that records the running arrays, so that the installed
/// system (and its initrd) assembles them by UUID; `None` when there are none.
pub fn mdadm_conf(c: &SystemConfig) -> Result<Option<String>> {
    if c.boot.swraid.enable
        || Path::new("/proc/mdstat").exists()
            && std::fs::read_to_string("/proc/mdstat").unwrap_or_default().contains(" : active")
    {
        let scan = Cmd::new("listing RAID arrays", "mdadm").args(["--detail", "--scan"]).run()?;
        if !scan.stdout.trim().is_empty() {
            return Ok(Some(format!(
                "# Written by the installer (mdadm --detail --scan).\nHOMEHOST <system>\n{}",
                scan.stdout
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::system::{Address, Addresses, Interface};
    use std::collections::BTreeMap;

    #[test]
    fn the_full_module_index_goes_back_in_place() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("usr/lib/modules/6.1.0-test");
        let full = dir.join(initrd::modules::FULL_INDEX_DIR);
        std::fs::create_dir_all(&full).unwrap();
        std::fs::write(dir.join("modules.dep"), "kernel/a.ko:\n").unwrap();
        std::fs::write(dir.join("modules.alias"), "alias a a\n").unwrap();
        std::fs::write(full.join("modules.dep"), "kernel/a.ko:\nkernel/snd.ko:\n").unwrap();
        std::fs::write(full.join("modules.alias"), "alias a a\nalias s snd\n").unwrap();
        assert_eq!(restore_module_index(t.path()).unwrap(), ["6.1.0-test"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("modules.dep")).unwrap(),
            "kernel/a.ko:\nkernel/snd.ko:\n"
        );
        assert_eq!(std::fs::read_to_string(dir.join("modules.alias")).unwrap(), "alias a a\nalias s snd\n");
        assert!(!full.exists());
        // Again (nothing aside any more): nothing changes.
        assert!(restore_module_index(t.path()).unwrap().is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.join("modules.dep")).unwrap(),
            "kernel/a.ko:\nkernel/snd.ko:\n"
        );
    }

    fn net() -> Networking {
        Networking {
            host_name: "web1".into(),
            domain: None,
            use_dhcp: false,
            interfaces: BTreeMap::new(),
            default_gateway: None,
            nameservers: vec![],
            enable_ipv6: true,
            firewall: Firewall {
                enable: true,
                allowed_tcp_ports: vec![22, 80],
                allowed_udp_ports: vec![],
                allow_ping: true,
            },
            extra_hosts: "10.0.0.5 db\n".into(),
        }
    }

    /// The listed host keys are made (with the host's ssh-keygen), the ones already there are
    /// kept, and what a cut left under the temporary name is replaced.
    #[test]
    fn host_keys_are_made_once_and_a_cut_leaves_nothing_half_written() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc/ssh")).unwrap();
        let keys =
            [HostKey { kind: "ed25519".into(), bits: None, path: "/etc/ssh/ssh_host_ed25519_key".into() }];
        std::fs::write(t.path().join("etc/ssh/.installer-new-ed25519"), "half").unwrap();
        make_host_keys(t.path(), &keys).unwrap();
        let key = t.path().join("etc/ssh/ssh_host_ed25519_key");
        let first = std::fs::read_to_string(&key).unwrap();
        assert!(first.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"), "{first}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        let public = std::fs::read_to_string(t.path().join("etc/ssh/ssh_host_ed25519_key.pub")).unwrap();
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        let mut names: Vec<String> = std::fs::read_dir(t.path().join("etc/ssh"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]);
        make_host_keys(t.path(), &keys).unwrap();
        assert_eq!(std::fs::read_to_string(&key).unwrap(), first, "an existing key is kept");
        // NixOS's default adds RSA 4096 (the VM scenarios use Ed25519 only: RSA is slow under TCG).
        let rsa = HostKey { kind: "rsa".into(), bits: Some(4096), path: "/etc/ssh/ssh_host_rsa_key".into() };
        make_host_keys(t.path(), &[rsa, keys[0].clone()]).unwrap();
        let out = std::process::Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(t.path().join("etc/ssh/ssh_host_rsa_key.pub"))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("4096 "), "{out:?}");
        assert_eq!(std::fs::read_to_string(&key).unwrap(), first);
    }

    #[test]
    fn wheel_may_use_sudo_with_or_without_a_password_and_visudo_accepts_it() {
        let with = render_sudoers(&Sudo::default());
        assert_eq!(with, "# Written by the installer from security.sudo.\n%wheel ALL=(ALL:ALL) ALL\n");
        let without = render_sudoers(&Sudo { enable: true, wheel_needs_password: false });
        assert!(without.ends_with("%wheel ALL=(ALL:ALL) NOPASSWD: ALL\n"), "{without}");
        if std::path::Path::new("/usr/sbin/visudo").exists() {
            let t = tempfile::tempdir().unwrap();
            for (i, text) in [with, without].iter().enumerate() {
                let f = t.path().join(format!("rule{i}"));
                std::fs::write(&f, text).unwrap();
                Cmd::new("t", "/usr/sbin/visudo").args(["-c", "-q", "-f"]).arg(&f).run().unwrap();
            }
        }
    }

    #[test]
    fn hosts_networkd_and_firewall() {
        let mut n = net();
        assert_eq!(render_hosts(&n).lines().nth(1), Some("127.0.1.1 web1"));
        assert!(render_hosts(&n).ends_with("10.0.0.5 db\n"));
        let fqdn = Networking { domain: Some("example.com".into()), ..net() };
        assert_eq!(render_hosts(&fqdn).lines().nth(1), Some("127.0.1.1 web1.example.com web1"));
        n.interfaces.insert(
            "eth0".into(),
            Interface {
                use_dhcp: None,
                ipv4: Addresses {
                    addresses: vec![Address { address: "192.168.1.2".into(), prefix_length: 24 }],
                },
            },
        );
        n.default_gateway = Some("192.168.1.1".into());
        n.nameservers = vec!["9.9.9.9".into()];
        let files = render_networkd(&n);
        assert_eq!(files.len(), 1);
        assert_eq!(
            files[0].1,
            "[Match]\nName=eth0\n\n[Network]\nDHCP=no\nAddress=192.168.1.2/24\nGateway=192.168.1.1\nDNS=9.9.9.9\n"
        );
        n.use_dhcp = true;
        assert_eq!(render_networkd(&n).last().unwrap().0, "99-dhcp.network");
        let fw = render_nftables(&n.firewall);
        assert!(fw.contains("policy drop;") && fw.contains("tcp dport { 22, 80 } accept"));
        assert!(fw.contains("icmp type echo-request accept") && !fw.contains("udp dport {"));
    }
}
