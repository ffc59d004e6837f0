//! Strict grammars for the values of an answer that reach a command line, a config file or /etc:
//! a value outside its grammar is a problem with its field, never escaped silently. Messages name
//! what is wrong, never the value when it may be a secret.

use super::{key, Answer, Seg};
use crate::storage::spec::{Content, DiskSelector, FsFormat};

type Found = Vec<(Vec<Seg>, String)>;

/// A crypt(3) hash as chpasswd -e and /etc/shadow take it (`!`/`*` lock the account).
pub fn crypt_hash_ok(v: &str) -> bool {
    if v == "!" || v == "*" {
        return true;
    }
    let Some(rest) = v.strip_prefix('$') else { return false };
    let id = rest.split('$').next().unwrap_or("");
    ["1", "5", "6", "y", "2a", "2b", "2y", "7", "gy"].contains(&id)
        && rest.split('$').count() >= 3
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "./$=,".contains(c))
}

/// A host name (RFC 1123 label): letters, digits and `-`, at most 63, no `-` at either end.
pub fn hostname_ok(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 63
        && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !h.starts_with('-')
        && !h.ends_with('-')
}

/// A new user's name (useradd's default NAME_REGEX).
pub fn user_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// An OpenSSH public key line: a known type, a base64 body, an optional comment; one line.
pub fn ssh_key_problem(k: &str) -> Option<&'static str> {
    if k.chars().any(|c| c.is_control()) {
        return Some("an SSH key is one line without control characters");
    }
    let mut parts = k.split_whitespace();
    let kind = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let known =
        ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]
            .contains(&kind)
            || kind.starts_with("sk-");
    if !known {
        return Some("not an OpenSSH public key (ssh-ed25519, ssh-rsa, ecdsa-sha2-…, sk-…)");
    }
    if body.len() < 16 || !body.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)) {
        return Some("the key's body is not base64");
    }
    None
}

/// A kernel parameter (`name` or `name=value`): what GRUB's and systemd-boot's entries can hold
/// without quoting.
pub fn kernel_param_ok(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('-')
        && p.chars().all(|c| c.is_ascii_alphanumeric() || "._,:/=+@%~-".contains(c))
}

/// An interface address with its prefix length (`192.0.2.10/24`, `2001:db8::1/64`): the prefix
/// fits the family. The TUI's address field and the answer file use this one grammar.
pub fn address_prefix_ok(s: &str) -> bool {
    s.split_once('/').is_some_and(|(ip, p)| {
        let max = match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => 32,
            Ok(std::net::IpAddr::V6(_)) => 128,
            Err(_) => return false,
        };
        !p.starts_with('+') && p.parse::<u8>().is_ok_and(|p| (1..=max).contains(&p))
    })
}

/// A mount point: absolute, normalised (no empty, `.` or `..` components), of letters, digits
/// and `/ . _ - + @` (fstab needs no escapes), and not over a kernel API file system.
pub fn mountpoint_problem(m: &str) -> Option<&'static str> {
    if !m.starts_with('/') {
        return Some("a mount point is an absolute path");
    }
    if m != "/" && (m.ends_with('/') || m.split('/').skip(1).any(|c| c.is_empty() || c == "." || c == "..")) {
        return Some("a mount point has no empty, `.` or `..` components");
    }
    if !m.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+@".contains(c)) {
        return Some("a mount point is letters, digits and / . _ - + @ (no spaces)");
    }
    if ["/proc", "/sys", "/dev", "/run"].iter().any(|api| m == *api || m.starts_with(&format!("{api}/"))) {
        return Some("/proc, /sys, /dev and /run are the kernel's and systemd's, not for file systems");
    }
    None
}

/// Users and groups the installed base system already has: a new one of the same name would
/// take over its files.
pub const SYSTEM_ACCOUNTS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "nogroup",
    "_apt",
    "sshd",
    "messagebus",
    "systemd-network",
    "systemd-resolve",
    "systemd-timesync",
    "systemd-journal",
    "polkitd",
    "tss",
];

/// Names that reach LVM, cryptsetup, mdadm and /dev/mapper: no leading `-`, no `/`, not `.`/`..`.
pub fn device_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && !n.starts_with('-')
        && n != "."
        && n != ".."
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
}

/// A path of plain components (mount points, subvolumes): no `..`, `.` or empty components.
fn path_components_ok(p: &str) -> bool {
    p.split('/')
        .filter(|c| !c.is_empty())
        .all(|c| c != "." && c != ".." && !c.chars().any(|x| x.is_control()))
}

/// Longest label each filesystem takes.
fn label_max(f: FsFormat) -> usize {
    match f {
        FsFormat::Ext4 => 16,
        FsFormat::Vfat => 11,
        FsFormat::Xfs => 12,
        FsFormat::Btrfs => 255,
    }
}

fn label_ok(l: &str) -> bool {
    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

fn selector_is_empty(s: &DiskSelector) -> bool {
    s.path.is_none()
        && s.serial.is_none()
        && s.model.is_none()
        && s.size.is_none()
        && !s.largest
        && !s.smallest
}

fn content_problems(c: &Content, at: Vec<Seg>, out: &mut Found) {
    let at_key = |k: &str| [at.clone(), vec![key(k)]].concat();
    match c {
        Content::Filesystem { format, label, mountpoint, subvolumes, options } => {
            if let Some(l) = label {
                if !label_ok(l) {
                    out.push((at_key("label"), "a label is letters, digits, _ - and .".into()));
                } else if l.len() > label_max(*format) {
                    out.push((
                        at_key("label"),
                        format!("{} labels have at most {} characters", format.name(), label_max(*format)),
                    ));
                }
            }
            if let Some(m) = mountpoint.as_deref().and_then(mountpoint_problem) {
                out.push((at_key("mountpoint"), m.into()));
            }
            for (i, o) in options.iter().enumerate() {
                if o.is_empty() || !o.chars().all(|c| c.is_ascii_alphanumeric() || "=._-:/+@%~".contains(c)) {
                    out.push((
                        [at.clone(), vec![key("options"), Seg::Index(i)]].concat(),
                        "one mount option per entry: letters, digits and = . _ - : / + @ % ~".into(),
                    ));
                }
            }
            for (i, sv) in subvolumes.iter().enumerate() {
                let sat = [at.clone(), vec![key("subvolumes"), Seg::Index(i)]].concat();
                let name_ok = !sv.name.is_empty()
                    && !sv.name.starts_with('/')
                    && path_components_ok(&sv.name)
                    && sv.name.chars().all(|c| c.is_ascii_alphanumeric() || "@_.-/".contains(c));
                if !name_ok {
                    out.push((
                        [sat.clone(), vec![key("name")]].concat(),
                        "a subvolume name is a relative path of letters, digits, @ _ . - without `..`".into(),
                    ));
                }
                if let Some(m) = sv.mountpoint.as_deref().and_then(mountpoint_problem) {
                    out.push(([sat, vec![key("mountpoint")]].concat(), m.into()));
                }
            }
        }
        Content::Swap { label } => {
            if label.as_deref().is_some_and(|l| !label_ok(l) || l.len() > 15) {
                out.push((at_key("label"), "a swap label is up to 15 letters, digits, _ - and .".into()));
            }
        }
        Content::Luks { name, content, keyfile, version, cipher, .. } => {
            if !device_name_ok(name) || name == "control" {
                out.push((
                    at_key("name"),
                    "a LUKS name is letters, digits, + _ . - (not starting with -, not `control`)".into(),
                ));
            }
            if ![1, 2].contains(version) {
                out.push((at_key("version"), "LUKS version 1 or 2".into()));
            }
            let cipher_ok = |c: &str| {
                !c.is_empty()
                    && c.len() <= 64
                    && c.starts_with(|x: char| x.is_ascii_alphabetic())
                    && c.chars().all(|x| x.is_ascii_alphanumeric() || "-_:".contains(x))
            };
            if cipher.as_deref().is_some_and(|c| !cipher_ok(c)) {
                out.push((
                    at_key("cipher"),
                    "a cipher is like aes-xts-plain64 (letters, digits, - _ :)".into(),
                ));
            }
            if keyfile.as_deref().is_some_and(|k| !k.starts_with('/') || !path_components_ok(k)) {
                out.push((at_key("keyfile"), "a key file is an absolute path without `..`".into()));
            }
            content_problems(content, at_key("content"), out);
        }
        Content::LvmPv { vg } => {
            if !device_name_ok(vg) {
                out.push((
                    at_key("vg"),
                    "a volume group name is letters, digits, + _ . - (not starting with -)".into(),
                ));
            }
        }
        Content::RaidMember { array } => {
            if !device_name_ok(array) {
                out.push((
                    at_key("array"),
                    "an array name is letters, digits, + _ . - (not starting with -)".into(),
                ));
            }
        }
    }
}

/// What the planner would find with any disks: two `rest` partitions, LUKS without a key, RAID
/// levels and member counts, volume groups used but not declared (or declared and unused), an ESP
/// that is not vfat, a BIOS boot partition on MBR. `validate` reports them without a machine.
fn storage_structure(a: &Answer, out: &mut Found) {
    use crate::storage::size::Size;
    use crate::storage::spec::{PartType, TableKind};
    use std::collections::BTreeMap;
    // Array and volume group references, with where they are made.
    // Name → (how many, where the first is).
    let mut members: BTreeMap<String, (usize, Vec<Seg>)> = BTreeMap::new();
    let mut pvs: BTreeMap<String, (usize, Vec<Seg>)> = BTreeMap::new();
    fn walk(
        c: &Content,
        at: Vec<Seg>,
        members: &mut BTreeMap<String, (usize, Vec<Seg>)>,
        pvs: &mut BTreeMap<String, (usize, Vec<Seg>)>,
        out: &mut Found,
    ) {
        if let Content::Luks { passphrase: None, keyfile: None, .. } = c {
            out.push((
                [at.clone(), vec![key("passphrase")]].concat(),
                "LUKS needs a passphrase (a secret's name) or a keyfile".into(),
            ));
        }
        match c {
            Content::Luks { content, .. } => {
                walk(content, [at, vec![key("content")]].concat(), members, pvs, out)
            }
            Content::RaidMember { array } => {
                members.entry(array.clone()).or_insert((0, [at.clone(), vec![key("array")]].concat())).0 += 1
            }
            Content::LvmPv { vg } => {
                pvs.entry(vg.clone()).or_insert((0, [at, vec![key("vg")]].concat())).0 += 1
            }
            _ => {}
        }
    }
    for (i, d) in a.storage.disks.iter().enumerate() {
        let at = vec![key("storage"), key("disk"), Seg::Index(i)];
        let mut rest_seen = false;
        for (j, p) in d.partitions.iter().enumerate() {
            let pat = [at.clone(), vec![key("partition"), Seg::Index(j)]].concat();
            if p.size == Size::Rest && !p.preserve {
                if rest_seen {
                    out.push((
                        [pat.clone(), vec![key("size")]].concat(),
                        "a second partition sized \"rest\" on this disk: only one can take the rest".into(),
                    ));
                }
                rest_seen = true;
            }
            if p.kind == PartType::BiosBoot && d.table == TableKind::Mbr {
                out.push((
                    [pat.clone(), vec![key("type")]].concat(),
                    "bios-boot partitions exist only on GPT disks".into(),
                ));
            }
            if p.kind == PartType::Esp {
                if let Some(Content::Filesystem { format, .. }) = &p.content {
                    if *format != FsFormat::Vfat {
                        out.push((
                            [pat.clone(), vec![key("content"), key("format")]].concat(),
                            "an ESP holds a vfat filesystem".into(),
                        ));
                    }
                }
            }
            if let Some(c) = &p.content {
                walk(c, [pat, vec![key("content")]].concat(), &mut members, &mut pvs, out);
            }
        }
    }
    for (i, r) in a.storage.raids.iter().enumerate() {
        let at = vec![key("storage"), key("raid"), Seg::Index(i)];
        let declared = members.remove(&r.name);
        match crate::storage::plan::min_members(r.level) {
            None => out.push((
                [at.clone(), vec![key("level")]].concat(),
                format!("RAID level {} is not one of 0, 1, 5, 10", r.level),
            )),
            Some(min) => {
                let n = declared.map(|(n, _)| n).unwrap_or(0);
                if n < min {
                    out.push((at.clone(), format!("RAID{} needs at least {min} members (partitions with raid-member content), has {n}", r.level)));
                }
            }
        }
        walk(&r.content, [at, vec![key("content")]].concat(), &mut BTreeMap::new(), &mut pvs, out);
    }
    for (i, vg) in a.storage.vgs.iter().enumerate() {
        let at = vec![key("storage"), key("vg"), Seg::Index(i)];
        if pvs.remove(&vg.name).is_none() {
            out.push((
                [at.clone(), vec![key("name")]].concat(),
                "no physical volume (lvm-pv content) names this volume group".into(),
            ));
        }
        let rests = vg.lvs.iter().filter(|lv| lv.size == Size::Rest).count();
        if rests > 1 {
            out.push(([at, vec![key("lv")]].concat(), "more than one logical volume sized \"rest\"".into()));
        }
    }
    for (array, (_, at)) in members {
        out.push((at, format!("the array {array:?} is not declared in [[storage.raid]]")));
    }
    for (vg, (_, at)) in pvs {
        out.push((at, format!("the volume group {vg:?} is not declared in [[storage.vg]]")));
    }
}

/// Every LUKS volume gets its own /dev/mapper name.
fn luks_names(a: &Answer, out: &mut Found) {
    let mut seen: Vec<String> = vec![];
    let mut visit = |c: &Content, at: Vec<Seg>, out: &mut Found| {
        let (mut c, mut at) = (c, at);
        while let Content::Luks { name, content, .. } = c {
            if seen.contains(name) {
                out.push((
                    [at.clone(), vec![key("name")]].concat(),
                    "another LUKS volume has this name".into(),
                ));
            }
            seen.push(name.clone());
            at.push(key("content"));
            c = content;
        }
    };
    for (c, at) in super::storage_contents(a) {
        visit(c, at, out);
    }
}

/// Where time zones are: the running system's (the live system's when installing).
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// A list of names this system has (`None`: it cannot say) and where it came from.
type SystemNames = (Option<Vec<String>>, &'static str);

/// This system's locales and keymaps (the live system has both), read once: answers are checked
/// again on every change in the TUI, and the lists do not change while the installer runs.
fn system_names() -> &'static [SystemNames; 2] {
    use crate::livedata::{keymaps, locales, KEYMAPS_DIR, LOCALES_FILE};
    static NAMES: std::sync::OnceLock<[SystemNames; 2]> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let root = std::path::Path::new("/");
        [(locales(root), LOCALES_FILE), (keymaps(root), KEYMAPS_DIR)]
    })
}

/// Every grammar problem of `a`.
pub(crate) fn problems(a: &Answer) -> Found {
    let mut out = vec![];
    storage_structure(a, &mut out);
    disk_problems(a, &mut out);
    raid_and_vg_problems(a, &mut out);
    luks_names(a, &mut out);
    system_problems(a, &mut out);
    network_problems(a, &mut out);
    account_problems(a, &mut out);
    hook_problems(a, &mut out);
    out
}

/// Hooks: a command to run, a timeout that ends, `chroot` only where there is an installed system.
fn hook_problems(a: &Answer, out: &mut Found) {
    for (i, h) in a.hooks.iter().enumerate() {
        let at = vec![key("hook"), Seg::Index(i)];
        if h.run.trim().is_empty() || h.run.contains('\0') || h.run.len() > 16 << 10 {
            out.push((
                [at.clone(), vec![key("run")]].concat(),
                "a hook runs a command: 1 to 16384 bytes, no NUL".into(),
            ));
        }
        if !(1..=86_400).contains(&h.timeout) {
            out.push(([at.clone(), vec![key("timeout")]].concat(), "a timeout is 1 to 86400 seconds".into()));
        }
        if h.chroot && h.when != crate::answer::HookWhen::Late {
            out.push((
                [at, vec![key("chroot")]].concat(),
                "only a late hook runs inside the installed system (there is none before, or after a failure)".into(),
            ));
        }
    }
}

/// Disks: selectors that select something, ids, partition names and numbers, contents.
fn disk_problems(a: &Answer, out: &mut Found) {
    for (i, d) in a.storage.disks.iter().enumerate() {
        let at = vec![key("storage"), key("disk"), Seg::Index(i)];
        let sels = d.selectors.as_slice();
        if sels.is_empty() || sels.iter().any(selector_is_empty) {
            out.push((
                [at.clone(), vec![key("match")]].concat(),
                "an empty selector would pick any disk: give path, serial, model, size, largest or smallest"
                    .into(),
            ));
        }
        for sel in sels {
            let text_ok = |v: &Option<String>| {
                v.as_deref().is_none_or(|v| !v.trim().is_empty() && !v.chars().any(|c| c.is_control()))
            };
            if !text_ok(&sel.serial) || !text_ok(&sel.model) {
                out.push((
                    [at.clone(), vec![key("match")]].concat(),
                    "a serial or model to match is one line, not empty".into(),
                ));
            }
            let path_ok = |p: &str| {
                p.starts_with("/dev/")
                    && path_components_ok(p)
                    && !p.contains("//")
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:+@".contains(c))
            };
            if sel.path.as_deref().is_some_and(|p| !path_ok(p)) {
                out.push((
                    [at.clone(), vec![key("match"), key("path")]].concat(),
                    "a disk path is under /dev/, like /dev/disk/by-id/…, without `..`".into(),
                ));
            }
            if sel.largest && sel.smallest {
                out.push((
                    [at.clone(), vec![key("match")]].concat(),
                    "largest and smallest cannot both be asked of one selector".into(),
                ));
            }
        }
        let same = |e: &crate::storage::spec::DiskSpec| e.selectors == d.selectors;
        let empty = sels.is_empty() || sels.iter().any(selector_is_empty);
        if let Some(first) = a.storage.disks[..i].iter().position(same).filter(|_| !empty) {
            out.push((
                [at.clone(), vec![key("match")]].concat(),
                format!("the same selector as storage.disk[{first}]: one disk cannot be laid out twice"),
            ));
        }
        if let Some(id) = &d.id {
            if !device_name_ok(id) {
                out.push((
                    [at.clone(), vec![key("id")]].concat(),
                    "an id is letters, digits, + _ . -".into(),
                ));
            }
            if a.storage.disks[..i].iter().any(|e| e.id.as_ref() == Some(id)) {
                out.push(([at.clone(), vec![key("id")]].concat(), "another disk has this id".into()));
            }
        }
        for (j, p) in d.partitions.iter().enumerate() {
            let pat = [at.clone(), vec![key("partition"), Seg::Index(j)]].concat();
            let name_ok = |n: &str| {
                !n.is_empty()
                    && n.len() <= 36
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || " ._-+@:()".contains(c))
            };
            if p.name.as_deref().is_some_and(|n| !name_ok(n)) {
                out.push((
                    [pat.clone(), vec![key("name")]].concat(),
                    "a GPT partition name is up to 36 letters, digits, spaces and . _ - + @ : ( )".into(),
                ));
            }
            if p.number.is_some_and(|n| !(1..=128).contains(&n)) {
                out.push((
                    [pat.clone(), vec![key("number")]].concat(),
                    "partition numbers are 1 to 128".into(),
                ));
            }
            if let Some(c) = &p.content {
                content_problems(c, [pat, vec![key("content")]].concat(), out);
            }
        }
    }
}

/// RAID arrays and volume groups: names that reach mdadm and lvm2, and their contents.
fn raid_and_vg_problems(a: &Answer, out: &mut Found) {
    for (i, r) in a.storage.raids.iter().enumerate() {
        let at = vec![key("storage"), key("raid"), Seg::Index(i)];
        if !device_name_ok(&r.name) {
            out.push((
                [at.clone(), vec![key("name")]].concat(),
                "an array name is letters, digits, + _ . - (not starting with -)".into(),
            ));
        }
        content_problems(&r.content, [at, vec![key("content")]].concat(), out);
    }
    for (i, vg) in a.storage.vgs.iter().enumerate() {
        let at = vec![key("storage"), key("vg"), Seg::Index(i)];
        if !device_name_ok(&vg.name) {
            out.push((
                [at.clone(), vec![key("name")]].concat(),
                "a volume group name is letters, digits, + _ . - (not starting with -)".into(),
            ));
        }
        for (j, lv) in vg.lvs.iter().enumerate() {
            let lat = [at.clone(), vec![key("lv"), Seg::Index(j)]].concat();
            // lvm(8): names LVM keeps for itself.
            let reserved = lv.name.starts_with("snapshot")
                || lv.name.starts_with("pvmove")
                || [
                    "_cdata", "_cmeta", "_corig", "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta",
                    "_tdata", "_tmeta", "_vorigin", "_vdata",
                ]
                .iter()
                .any(|r| lv.name.contains(r));
            if !device_name_ok(&lv.name) || reserved {
                out.push((
                    [lat.clone(), vec![key("name")]].concat(),
                    "a logical volume name is letters, digits, + _ . - (not starting with -, not one LVM reserves)"
                        .into(),
                ));
            }
            content_problems(&lv.content, [lat, vec![key("content")]].concat(), out);
        }
    }
}

/// System: kernel parameters, locale, keymap and time zone.
fn system_problems(a: &Answer, out: &mut Found) {
    for (i, p) in a.system.kernel_params.iter().enumerate() {
        if !kernel_param_ok(p) {
            out.push((
                vec![key("system"), key("kernel_params"), Seg::Index(i)],
                "a kernel parameter is one word of letters, digits and . _ , : / = + @ % ~ -".into(),
            ));
        }
    }
    let [locales, keymaps] = system_names();
    for (field, v, (names, source)) in
        [("locale", &a.system.locale, locales), ("keymap", &a.system.keymap, keymaps)]
    {
        if v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
        {
            out.push((
                vec![key("system"), key(field)],
                format!("a {field} name is letters, digits and . _ @ -"),
            ));
        } else if names.as_ref().is_some_and(|names| !names.iter().any(|n| n == v)) {
            out.push((vec![key("system"), key(field)], format!("not a {field} of this system (/{source})")));
        }
    }
    if let Some(tz) = &a.system.timezone {
        let ok = !tz.starts_with('/')
            && path_components_ok(tz)
            && tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if !ok {
            out.push((
                vec![key("system"), key("timezone")],
                "a time zone is like Europe/Amsterdam or UTC".into(),
            ));
        } else if std::path::Path::new(ZONEINFO).is_dir()
            && !std::path::Path::new(ZONEINFO).join(tz).is_file()
        {
            out.push((
                vec![key("system"), key("timezone")],
                format!("not a time zone of this system's tz database ({ZONEINFO})"),
            ));
        }
    }
}

/// Network values reach systemd-networkd files.
fn network_problems(a: &Answer, out: &mut Found) {
    if let Some(g) = &a.network.gateway {
        if g.parse::<std::net::IpAddr>().is_err() {
            out.push((vec![key("network"), key("gateway")], "the gateway is an IP address".into()));
        }
    }
    for (i, n) in a.network.nameservers.iter().enumerate() {
        if n.parse::<std::net::IpAddr>().is_err() {
            out.push((
                vec![key("network"), key("nameservers"), Seg::Index(i)],
                "a name server is an IP address".into(),
            ));
        }
    }
    for (i, iface) in a.network.interfaces.iter().enumerate() {
        let ok = !iface.name.is_empty()
            && iface.name.len() <= 15
            && iface.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            out.push((
                vec![key("network"), key("interface"), Seg::Index(i), key("name")],
                "an interface name is up to 15 letters, digits, . _ -".into(),
            ));
        }
    }
    let fw = &a.network.firewall;
    for (field, ports) in [("tcp_ports", &fw.tcp_ports), ("udp_ports", &fw.udp_ports)] {
        for i in ports.iter().enumerate().filter(|(_, p)| **p == 0).map(|(i, _)| i) {
            out.push((
                vec![key("network"), key("firewall"), key(field), Seg::Index(i)],
                "ports are 1 to 65535".into(),
            ));
        }
    }
}

/// Accounts: what reaches /etc/passwd, /etc/group, authorized_keys and chpasswd.
fn account_problems(a: &Answer, out: &mut Found) {
    for (i, k) in a.root.ssh_keys.iter().enumerate() {
        if let Some(m) = ssh_key_problem(k) {
            out.push((vec![key("root"), key("ssh_keys"), Seg::Index(i)], m.into()));
        }
    }
    for (i, u) in a.users.iter().enumerate() {
        let at = vec![key("user"), Seg::Index(i)];
        if u.uid.is_some_and(|uid| !(1000..=59999).contains(&uid)) {
            out.push((
                [at.clone(), vec![key("uid")]].concat(),
                "a user's uid is 1000 to 59999 (below are the system's, above are reserved)".into(),
            ));
        } else if let Some(uid) = u.uid {
            if let Some(first) = a.users[..i].iter().position(|v| v.uid == Some(uid)) {
                out.push((
                    [at.clone(), vec![key("uid")]].concat(),
                    format!("user[{first}] has this uid too"),
                ));
            }
        }
        if SYSTEM_ACCOUNTS.contains(&u.name.as_str()) && u.name != "root" {
            out.push((
                [at.clone(), vec![key("name")]].concat(),
                "the installed system has an account of this name already".into(),
            ));
        }
        if u.description.chars().any(|c| c == ':' || c == '\\' || c.is_control()) {
            out.push((
                [at.clone(), vec![key("description")]].concat(),
                "a full name has no colon, backslash or control characters".into(),
            ));
        }
        for (j, g) in u.groups.iter().enumerate() {
            if !super::group_name_ok(g) {
                out.push((
                    [at.clone(), vec![key("groups"), Seg::Index(j)]].concat(),
                    "a group name is lower-case letters, digits, - and _".into(),
                ));
            }
        }
        for (j, k) in u.ssh_keys.iter().enumerate() {
            if let Some(m) = ssh_key_problem(k) {
                out.push(([at.clone(), vec![key("ssh_keys"), Seg::Index(j)]].concat(), m.into()));
            }
        }
        if let Some(sh) = &u.shell {
            let ok = sh.starts_with('/')
                && path_components_ok(sh)
                && !sh.ends_with('/')
                && sh.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
            if !ok {
                out.push((
                    [at, vec![key("shell")]].concat(),
                    "a login shell is an absolute path like /bin/bash, without `..` or arguments".into(),
                ));
            }
        }
    }
    for (i, g) in a.groups.iter().enumerate() {
        let at = vec![key("group"), Seg::Index(i)];
        if !super::group_name_ok(&g.name) {
            out.push((
                [at.clone(), vec![key("name")]].concat(),
                "a group name is lower-case letters, digits, - and _".into(),
            ));
        }
        if g.gid == Some(0) {
            out.push(([at.clone(), vec![key("gid")]].concat(), "gid 0 is root's group".into()));
        }
        if a.groups[..i].iter().any(|h| h.name == g.name) {
            out.push(([at, vec![key("name")]].concat(), "this group is listed twice".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammars() {
        assert!(crypt_hash_ok("$6$salt$abcDEF./"));
        assert!(crypt_hash_ok("$y$j9T$salt$hash"));
        assert!(crypt_hash_ok("!"));
        assert!(!crypt_hash_ok("$6$salt$abc\nroot::0:0"));
        assert!(!crypt_hash_ok("hunter2"));
        assert!(!crypt_hash_ok("$6$x"));
        assert!(!crypt_hash_ok("$6$salt$a:b"));
        assert_eq!(ssh_key_problem("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI a@b"), None);
        assert!(ssh_key_problem("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\nssh-rsa AAAA").is_some());
        assert!(ssh_key_problem("command=\"x\" ssh-rsa AAAAB3NzaC1yc2EAAAADAQ").is_some());
        assert!(kernel_param_ok("console=ttyS0,115200"));
        assert!(kernel_param_ok("quiet"));
        assert!(!kernel_param_ok("quiet\ninit=/bin/sh"));
        assert!(!kernel_param_ok("a b"));
        assert!(!kernel_param_ok("x;reboot"));
        assert!(device_name_ok("vg0") && device_name_ok("crypt.root_1"));
        assert!(
            !device_name_ok("-ffoo")
                && !device_name_ok("..")
                && !device_name_ok("a/b")
                && !device_name_ok("")
        );
        assert!(path_components_ok("/home/x") && !path_components_ok("/home/../etc"));
    }
}
