//! The system, accounts, network and scripts of a Kickstart file.

use super::lex::{Command, Section};
use super::opts::Grammar;
use super::{Cx, Note};
use crate::answer::{FinishAction, GroupSection, Hook, HookWhen, InterfaceSection, UserSection};
use crate::storage::spec::BootloaderChoice;

/// Commands `storage` translates.
pub const STORAGE: &[&str] = &[
    "part",
    "partition",
    "raid",
    "volgroup",
    "logvol",
    "autopart",
    "reqpart",
    "clearpart",
    "zerombr",
    "ignoredisk",
];

/// Commands with no meaning for this installer (the system comes from the live image and the
/// Nix configuration): a warning each.
const IGNORED: &[&str] = &[
    "url",
    "repo",
    "cdrom",
    "harddrive",
    "nfs",
    "liveimg",
    "ostreesetup",
    "install",
    "upgrade",
    "text",
    "graphical",
    "cmdline",
    "skipx",
    "xconfig",
    "selinux",
    "auth",
    "authconfig",
    "authselect",
    "firstboot",
    "eula",
    "logging",
    "module",
    "mediacheck",
    "vnc",
    "realm",
    "rhsm",
    "syspurpose",
    "timesource",
    "updates",
    "driverdisk",
    "device",
    "monitor",
    "mouse",
    "interactive",
    "autostep",
    "sshpw",
    "zfcp",
    "iscsi",
    "iscsiname",
    "fcoe",
    "nvdimm",
    "snapshot",
    "zipl",
    "dmraid",
    "multipath",
    "rescue",
    "bootc",
    "lilo",
];

/// `%pre`, `%post` and the other sections.
pub fn section(s: &Section, cx: &mut Cx) {
    let m = match s.name.as_str() {
        "packages" => "%packages: packages come from the Nix configuration here (environment.systemPackages in nix.extra); the list is not carried over".to_string(),
        "pre" | "post" | "onerror" => return script(s, cx),
        "pre-install" => format!(
            "%pre-install: there is no moment between partitioning and the package install here; {} lines dropped",
            s.body.len()
        ),
        _ => format!("%{}: has no meaning here, ignored", s.name),
    };
    cx.warn(&s.at, &m);
}

/// `%pre`, `%post` and `%onerror` become hooks: early, late (inside the installed system unless
/// `--nochroot`) and error. Kickstart ignores a failing script unless `--erroronfail`, and so
/// does the hook then; `--interpreter` runs the body with that program.
fn script(s: &Section, cx: &mut Cx) {
    let (mut chroot, mut erroronfail, mut interpreter) = (s.name == "post", false, None::<String>);
    let mut args = s.args.iter();
    while let Some(a) = args.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        match name {
            "--nochroot" if s.name == "post" => chroot = false,
            "--erroronfail" => erroronfail = true,
            "--interpreter" => interpreter = inline.or_else(|| args.next().cloned()),
            "--log" | "--logfile" => {
                if inline.is_none() {
                    args.next();
                }
                cx.warn(&s.at, &format!("%{} {name}: the script's output goes to the install log", s.name));
            }
            _ => cx.warn(&s.at, &format!("%{} {a}: has no meaning here, ignored", s.name)),
        }
    }
    let body = s.body.join("\n");
    let body = match interpreter.as_deref() {
        None | Some("/bin/sh" | "/bin/bash" | "/usr/bin/bash" | "/usr/bin/sh") => body,
        Some(i) if i.starts_with('/') && !i.contains(char::is_whitespace) => {
            format!("{i} <<'KICKSTART_SCRIPT_END'\n{body}\nKICKSTART_SCRIPT_END")
        }
        Some(i) => return cx.error(&s.at, &format!("%{} --interpreter={i}: an absolute path", s.name)),
    };
    let run = if erroronfail {
        body
    } else {
        let line = s.at.line;
        format!(
            "(\n{body}\n) || echo \"%{} (line {line}) failed with status $?: ignored, as Kickstart does without --erroronfail\"",
            s.name
        )
    };
    let when = match s.name.as_str() {
        "pre" => HookWhen::Early,
        "post" => HookWhen::Late,
        _ => HookWhen::Error,
    };
    if when == HookWhen::Early {
        cx.warn(
            &s.at,
            "%pre runs as an early hook: before the install, after this file was read (what it writes for %include is not read)",
        );
    }
    cx.answer.hooks.push(Hook { when, run, chroot: chroot && when == HookWhen::Late, timeout: 3600 });
}

/// Every command but storage's.
pub fn translate(commands: &[Command], cx: &mut Cx) {
    for c in commands {
        match c.name.as_str() {
            n if STORAGE.contains(&n) => {}
            "rootpw" => rootpw(c, cx),
            "user" => user(c, cx),
            "group" => group(c, cx),
            "sshkey" => {}
            "network" => network(c, cx),
            "timezone" => timezone(c, cx),
            "lang" => lang(c, cx),
            "keyboard" => keyboard(c, cx),
            "firewall" => firewall(c, cx),
            "services" => services(c, cx),
            "bootloader" => bootloader(c, cx),
            "reboot" | "shutdown" | "poweroff" | "halt" => finish(c, cx),
            n if IGNORED.contains(&n) => cx.warn(&c.at, &format!("{n}: has no meaning here, ignored")),
            n => cx.error(&c.at, &format!("unknown command {n:?}")),
        }
    }
    // Keys after every user is known (sshkey may come first).
    for c in commands.iter().filter(|c| c.name == "sshkey") {
        sshkey(c, cx);
    }
}

/// A password for the answer: `(secret name, crypt hash)`; a plain one is hashed here.
fn password(at: &Note, clear_or_hash: &str, crypted: bool, cx: &mut Cx) -> Option<String> {
    if crypted {
        if !crate::answer::crypt_hash_ok(clear_or_hash) {
            cx.error(at, "--iscrypted, but the password is not a crypt(3) hash");
            return None;
        }
        return Some(clear_or_hash.to_string());
    }
    match crate::tui::hash_password(clear_or_hash) {
        Ok(h) => Some(h),
        Err(e) => {
            cx.error(at, &format!("hashing the password: {e}"));
            None
        }
    }
}

fn rootpw(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &[], flags: &["iscrypted", "plaintext", "lock", "allow-ssh"], ignored: &[] };
    let Some(o) = cx.opts(c, &g) else { return };
    if o.flag("allow-ssh") {
        cx.warn(&c.at, "rootpw --allow-ssh: root logs in over SSH with a key here (sshkey --username=root)");
    }
    match o.positional.as_slice() {
        [] if o.flag("lock") => cx.answer.root.password = None,
        [p] => {
            if o.flag("lock") {
                cx.warn(&c.at, "rootpw --lock with a password: the password is set, the account not locked");
            }
            if let Some(h) = password(&c.at, p, o.flag("iscrypted"), cx) {
                cx.answer.secrets.insert("root-password".into(), h);
                cx.answer.root.password = Some("root-password".into());
            }
        }
        _ => cx.error(&c.at, "rootpw takes one password (or --lock)"),
    }
}

fn user(c: &Command, cx: &mut Cx) {
    let g = Grammar {
        values: &["name", "groups", "password", "uid", "gid", "gecos", "shell", "homedir"],
        flags: &["iscrypted", "plaintext", "lock"],
        ignored: &["gid", "homedir", "lock"],
    };
    let Some(o) = cx.opts(c, &g) else { return };
    let Some(name) = o.value("name").map(String::from) else {
        return cx.error(&c.at, "user needs --name");
    };
    let uid = match o.number("uid") {
        Ok(u) => u.map(|u| u as u32),
        Err(e) => return cx.errors.push(e),
    };
    let mut u = UserSection {
        name: name.clone(),
        uid,
        description: o.value("gecos").unwrap_or_default().to_string(),
        groups: o.list("groups"),
        password: None,
        ssh_keys: vec![],
        shell: o.value("shell").map(String::from),
    };
    if let Some(p) = o.value("password") {
        if let Some(h) = password(&c.at, p, o.flag("iscrypted"), cx) {
            let secret = format!("{name}-password");
            cx.answer.secrets.insert(secret.clone(), h);
            u.password = Some(secret);
        }
    }
    cx.answer.users.push(u);
}

fn group(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &["name", "gid"], flags: &[], ignored: &[] };
    let Some(o) = cx.opts(c, &g) else { return };
    let Some(name) = o.value("name").map(String::from) else {
        return cx.error(&c.at, "group needs --name");
    };
    match o.number("gid") {
        Ok(gid) => cx.answer.groups.push(GroupSection { name, gid: gid.map(|g| g as u32) }),
        Err(e) => cx.errors.push(e),
    }
}

fn sshkey(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &["username"], flags: &[], ignored: &[] };
    let Some(o) = cx.opts(c, &g) else { return };
    let (Some(user), [key]) = (o.value("username"), o.positional.as_slice()) else {
        return cx.error(&c.at, "sshkey takes --username and one quoted key");
    };
    if user == "root" {
        cx.answer.root.ssh_keys.push(key.clone());
    } else if let Some(u) = cx.answer.users.iter_mut().find(|u| u.name == user) {
        u.ssh_keys.push(key.clone());
    } else {
        cx.error(&c.at, &format!("sshkey --username={user}: no user command declares {user}"));
    }
}

/// A dotted netmask as a prefix length.
fn prefix(netmask: &str) -> Option<u32> {
    let m: std::net::Ipv4Addr = netmask.parse().ok()?;
    let bits = u32::from(m);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones())
}

fn network(c: &Command, cx: &mut Cx) {
    let g = Grammar {
        values: &[
            "bootproto",
            "device",
            "ip",
            "netmask",
            "gateway",
            "nameserver",
            "hostname",
            "ipv6",
            "mtu",
            "ethtool",
            "essid",
            "wepkey",
            "wpakey",
            "bondslaves",
            "bondopts",
            "vlanid",
            "interfacename",
            "teamslaves",
            "teamconfig",
            "bridgeslaves",
            "bridgeopts",
            "ipv6gateway",
        ],
        flags: &["activate", "onboot", "noipv4", "noipv6", "nodefroute", "nodns", "no-activate"],
        ignored: &[
            "ipv6",
            "mtu",
            "ethtool",
            "essid",
            "wepkey",
            "wpakey",
            "bondslaves",
            "bondopts",
            "vlanid",
            "interfacename",
            "teamslaves",
            "teamconfig",
            "bridgeslaves",
            "bridgeopts",
            "ipv6gateway",
            "activate",
            "onboot",
            "noipv4",
            "noipv6",
            "nodefroute",
            "nodns",
            "no-activate",
        ],
    };
    let Some(o) = cx.opts(c, &g) else { return };
    if let Some(h) = o.value("hostname") {
        // NixOS's host name is one label; the rest of a fully qualified name is its domain.
        let (host, domain) = h.split_once('.').unwrap_or((h, ""));
        cx.answer.system.hostname = host.to_string();
        if !domain.is_empty() {
            let line = format!("networking.domain = {};\n", crate::config::nix_syntax::string(domain));
            cx.answer.nix.extra.get_or_insert_with(String::new).push_str(&line);
        }
    }
    match o.value("bootproto") {
        None | Some("dhcp") | Some("bootp") | Some("ibft") => {}
        Some("static") => static_address(c, &o, cx),
        Some(p) => cx.error(&c.at, &format!("network --bootproto={p}: dhcp or static")),
    }
    cx.answer.network.nameservers.extend(o.list("nameserver"));
}

fn static_address(c: &Command, o: &super::opts::Opts, cx: &mut Cx) {
    let Some(dev) = o.value("device").filter(|d| !matches!(*d, "link" | "bootif") && !d.contains(':')) else {
        return cx
            .error(&c.at, "network --bootproto=static needs --device with an interface name (like enp1s0)");
    };
    let (Some(ip), Some(mask)) = (o.value("ip"), o.value("netmask")) else {
        return cx.error(&c.at, "network --bootproto=static needs --ip and --netmask");
    };
    let Some(p) = prefix(mask) else {
        return cx.error(&c.at, &format!("--netmask={mask} is not a netmask"));
    };
    cx.answer.network.dhcp = false;
    cx.answer.network.interfaces.push(InterfaceSection {
        name: dev.to_string(),
        addresses: vec![format!("{ip}/{p}")],
        dhcp: Some(false),
    });
    if let Some(gw) = o.value("gateway") {
        cx.answer.network.gateway = Some(gw.to_string());
    }
}

fn timezone(c: &Command, cx: &mut Cx) {
    let g = Grammar {
        values: &["ntpservers"],
        flags: &["utc", "isUtc", "nontp"],
        ignored: &["ntpservers", "utc", "isUtc", "nontp"],
    };
    let Some(o) = cx.opts(c, &g) else { return };
    match o.positional.as_slice() {
        [tz] => cx.answer.system.timezone = Some(tz.clone()),
        _ => cx.error(&c.at, "timezone takes one time zone, like Europe/Amsterdam"),
    }
}

fn lang(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &["addsupport"], flags: &[], ignored: &["addsupport"] };
    let Some(o) = cx.opts(c, &g) else { return };
    match o.positional.as_slice() {
        [l] => cx.answer.system.locale = l.clone(),
        _ => cx.error(&c.at, "lang takes one locale, like en_US.UTF-8"),
    }
}

fn keyboard(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &["vckeymap", "xlayouts", "switch"], flags: &[], ignored: &["switch"] };
    let Some(o) = cx.opts(c, &g) else { return };
    let xlayout = o.list("xlayouts").into_iter().next().map(|l| l.trim_matches('\'').to_string());
    match o.value("vckeymap").map(String::from).or(o.positional.first().cloned()).or(xlayout) {
        Some(k) => cx.answer.system.keymap = k,
        None => cx.error(&c.at, "keyboard needs a keymap (--vckeymap=us)"),
    }
}

fn firewall(c: &Command, cx: &mut Cx) {
    let g = Grammar {
        values: &["port", "service", "trust", "remove-service", "use-system-defaults"],
        flags: &["enabled", "enable", "disabled", "disable", "ssh", "http", "smtp", "telnet", "ftp"],
        ignored: &["trust", "remove-service", "use-system-defaults"],
    };
    let Some(o) = cx.opts(c, &g) else { return };
    let fw = &mut cx.answer.network.firewall;
    fw.enable = !(o.flag("disabled") || o.flag("disable"));
    let mut services = o.list("service");
    services
        .extend(["ssh", "http", "smtp", "telnet", "ftp"].into_iter().filter(|s| o.flag(s)).map(String::from));
    for s in services {
        match s.as_str() {
            "ssh" => fw.tcp_ports.push(22),
            "http" => fw.tcp_ports.push(80),
            "https" => fw.tcp_ports.push(443),
            "smtp" => fw.tcp_ports.push(25),
            "ftp" => fw.tcp_ports.push(21),
            "telnet" => fw.tcp_ports.push(23),
            other => cx.warnings.push(
                c.at.with(&format!("firewall --service={other}: not known here; open its port with --port")),
            ),
        }
    }
    let fw = &mut cx.answer.network.firewall;
    for p in o.list("port") {
        let (port, proto) = p.split_once(':').unwrap_or((&p, "tcp"));
        match (port.parse::<u16>(), proto) {
            (Ok(n), "tcp") if n > 0 => fw.tcp_ports.push(n),
            (Ok(n), "udp") if n > 0 => fw.udp_ports.push(n),
            _ => cx.errors.push(c.at.with(&format!("firewall --port={p}: a port like 22:tcp or 53:udp"))),
        }
    }
    let fw = &mut cx.answer.network.firewall;
    fw.tcp_ports.dedup();
}

fn services(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &["enabled", "disabled"], flags: &[], ignored: &[] };
    let Some(o) = cx.opts(c, &g) else { return };
    for s in o.list("enabled") {
        match s.as_str() {
            "sshd" | "ssh" => cx.answer.system.ssh = true,
            other => {
                cx.warn(&c.at, &format!("services --enabled={other}: enable it in the Nix configuration"))
            }
        }
    }
    for s in o.list("disabled") {
        match s.as_str() {
            "sshd" | "ssh" => cx.answer.system.ssh = false,
            other => {
                cx.warn(&c.at, &format!("services --disabled={other}: not enabled here unless configured"))
            }
        }
    }
}

fn bootloader(c: &Command, cx: &mut Cx) {
    let g = Grammar {
        values: &["location", "boot-drive", "append", "timeout", "password", "driveorder", "md5pass"],
        flags: &["iscrypted", "nombr", "leavebootorder", "extlinux", "disabled"],
        ignored: &[
            "boot-drive",
            "password",
            "driveorder",
            "leavebootorder",
            "md5pass",
            "iscrypted",
            "nombr",
            "extlinux",
        ],
    };
    let Some(o) = cx.opts(c, &g) else { return };
    if o.flag("disabled") || o.value("location") == Some("none") {
        cx.answer.system.bootloader = BootloaderChoice::None;
    }
    if let Some(a) = o.value("append") {
        match shlex::split(a) {
            Some(words) => cx.answer.system.kernel_params.extend(words),
            None => cx.error(&c.at, "bootloader --append: unbalanced quotes"),
        }
    }
    if let Some(t) = o.value("timeout") {
        // Anaconda's seconds until the default entry boots: NixOS's boot.loader.timeout.
        match t.parse::<u32>() {
            Ok(secs) if t.bytes().all(|b| b.is_ascii_digit()) && secs <= 86_400 => {
                let line = format!("boot.loader.timeout = {secs};\n");
                cx.answer.nix.extra.get_or_insert_with(String::new).push_str(&line);
            }
            _ => cx.error(&c.at, &format!("bootloader --timeout={t}: seconds, 0 to 86400")),
        }
    }
}

fn finish(c: &Command, cx: &mut Cx) {
    let g = Grammar { values: &[], flags: &["eject", "kexec"], ignored: &["eject", "kexec"] };
    if cx.opts(c, &g).is_some() {
        cx.answer.finish.action =
            if c.name == "reboot" { FinishAction::Reboot } else { FinishAction::Poweroff };
    }
}
