//! Checks on an answer that its types cannot express: one root, mount points used once, the
//! secrets it names, names that reach commands; the grammars themselves are in [`super::grammar`].

use std::collections::BTreeMap;

use super::grammar;
use super::positions::{key, render_path, Seg};
use super::{crypt_hash_ok, hostname_ok, user_name_ok, Answer, Section};
use crate::storage::spec::Content;

/// Every top-level content of the storage (of partitions, arrays and logical volumes) with its
/// field path.
pub(crate) fn storage_contents(a: &Answer) -> Vec<(&Content, Vec<Seg>)> {
    let mut out = vec![];
    for (i, d) in a.storage.disks.iter().enumerate() {
        for (j, p) in d.partitions.iter().enumerate() {
            if let Some(c) = &p.content {
                let at = vec![key("storage"), key("disk"), Seg::Index(i), key("partition"), Seg::Index(j)];
                out.push((c, [at, vec![key("content")]].concat()));
            }
        }
    }
    for (i, r) in a.storage.raids.iter().enumerate() {
        out.push((&r.content, vec![key("storage"), key("raid"), Seg::Index(i), key("content")]));
    }
    for (i, vg) in a.storage.vgs.iter().enumerate() {
        for (j, lv) in vg.lvs.iter().enumerate() {
            let at = vec![key("storage"), key("vg"), Seg::Index(i), key("lv"), Seg::Index(j), key("content")];
            out.push((&lv.content, at));
        }
    }
    out
}

/// What types cannot say: one root, sizes, secret references, names.
pub(super) fn semantic_problems(a: &Answer) -> Found {
    let mut out = vec![];
    mount_and_passphrase_problems(a, &mut out);
    storage_problems(a, &mut out);
    account_reference_problems(a, &mut out);
    secret_value_problems(a, &mut out);
    out.extend(grammar::problems(a));
    name_problems(a, &mut out);
    out
}

/// Problems as (field path, message).
type Found = Vec<(Vec<Seg>, String)>;

const NO_SUCH_SECRET: &str = "names a secret that [secrets] (or secrets_file) does not hold";

/// Whether the secret `name` is there (with a secrets file, its secrets are checked when loaded).
fn has_secret(a: &Answer, name: &str) -> bool {
    a.secrets.contains_key(name) || a.secrets_file.is_some()
}

/// Every mount point with its field path, in the order the storage lists them.
fn mount_points(a: &Answer) -> Vec<(&String, Vec<Seg>)> {
    let mut out = vec![];
    for (content, at) in storage_contents(a) {
        let mut stack = vec![(content, at)];
        while let Some((c, at)) = stack.pop() {
            match c {
                Content::Filesystem { mountpoint, subvolumes, .. } => {
                    out.extend(
                        mountpoint.iter().map(|m| (m, [at.clone(), vec![key("mountpoint")]].concat())),
                    );
                    for (i, sv) in subvolumes.iter().enumerate() {
                        let p =
                            [at.clone(), vec![key("subvolumes"), Seg::Index(i), key("mountpoint")]].concat();
                        out.extend(sv.mountpoint.iter().map(|m| (m, p.clone())));
                    }
                }
                Content::Luks { content, .. } => stack.push((content, [at, vec![key("content")]].concat())),
                _ => {}
            }
        }
    }
    out
}

/// Mount points used twice, one root at most, and the secrets LUKS passphrases name.
fn mount_and_passphrase_problems(a: &Answer, out: &mut Found) {
    let mut mounts: BTreeMap<String, Vec<Seg>> = BTreeMap::new();
    for (mp, p) in mount_points(a) {
        if let Some(first) = mounts.insert(mp.clone(), p.clone()) {
            if mp != "/" {
                out.push((p, format!("{mp} is already mounted by {}", render_path(&first))));
            }
        }
    }
    for (mut c, mut at) in storage_contents(a) {
        while let Content::Luks { passphrase, content, .. } = c {
            if passphrase.as_deref().is_some_and(|n| !has_secret(a, n)) {
                out.push(([at.clone(), vec![key("passphrase")]].concat(), NO_SUCH_SECRET.to_string()));
            }
            at = [at, vec![key("content")]].concat();
            c = content;
        }
    }
}

/// A disk and one root unless asked for interactively; extra Nix or a file, not both.
fn storage_problems(a: &Answer, out: &mut Found) {
    if a.nix.extra.is_some() && a.nix.file.is_some() {
        out.push((
            vec![key("nix"), key("extra")],
            "give extra Nix or a configuration file, not both (the file is used as it is)".into(),
        ));
    }
    let storage_asked = a.interactive.asks(Section::Storage);
    if a.storage.disks.is_empty() && !storage_asked {
        out.push((vec![key("storage")], "names no disk ([[storage.disk]])".into()));
    }
    let roots: Vec<Vec<Seg>> =
        mount_points(a).into_iter().filter(|(m, _)| *m == "/").map(|(_, p)| p).collect();
    match roots.len() {
        0 if a.nix.file.is_none() && !storage_asked => {
            out.push((vec![key("storage")], "nothing is mounted on /".into()))
        }
        n if n > 1 => {
            for r in &roots[1..] {
                out.push((
                    r.clone(),
                    format!("a second root file system (the first is {})", render_path(&roots[0])),
                ));
            }
        }
        _ => {}
    }
}

/// The password secrets root and users name, and users' names.
fn account_reference_problems(a: &Answer, out: &mut Found) {
    if let Some(r) = &a.report {
        if r.token.as_deref().is_some_and(|n| !has_secret(a, n)) {
            out.push((vec![key("report"), key("token")], NO_SUCH_SECRET.to_string()));
        }
        if crate::source::http::url(&r.url).is_err() || r.url.contains("${") {
            out.push((
                vec![key("report"), key("url")],
                "an http:// or https:// URL (printable, no quotes or spaces, 2048 bytes at most)".into(),
            ));
        }
    }
    if a.root.password.as_deref().is_some_and(|n| !has_secret(a, n)) {
        out.push((vec![key("root"), key("password")], NO_SUCH_SECRET.to_string()));
    }
    let mut names = vec![];
    for (i, u) in a.users.iter().enumerate() {
        if u.password.as_deref().is_some_and(|n| !has_secret(a, n)) {
            out.push((vec![key("user"), Seg::Index(i), key("password")], NO_SUCH_SECRET.to_string()));
        }
        if !user_name_ok(&u.name) || u.name == "root" {
            out.push((
                vec![key("user"), Seg::Index(i), key("name")],
                format!("{:?} is not a valid new user name", u.name),
            ));
        }
        if names.contains(&u.name) {
            out.push((
                vec![key("user"), Seg::Index(i), key("name")],
                format!("user {:?} is listed twice", u.name),
            ));
        }
        names.push(u.name.clone());
    }
}

/// Secrets must look like what they are used for.
fn secret_value_problems(a: &Answer, out: &mut Found) {
    let passphrases = passphrase_names(a);
    for (name, value) in &a.secrets {
        if passphrases.contains(name) && value.is_empty() {
            out.push((vec![key("secrets"), key(name)], "an empty passphrase".into()));
        }
    }
    for (name, value) in &a.secrets {
        let used_as_hash = a.root.password.as_deref() == Some(name)
            || a.users.iter().any(|u| u.password.as_deref() == Some(name));
        if used_as_hash && !crypt_hash_ok(value) {
            out.push((vec![key("secrets"), key(name)], "a password secret must hold a crypt(3) hash (e.g. from `mkpasswd -m sha-512`), not a plain password".into()));
        }
    }
}

/// The host name and interface addresses.
fn name_problems(a: &Answer, out: &mut Found) {
    let h = &a.system.hostname;
    if !hostname_ok(h) {
        out.push((vec![key("system"), key("hostname")], format!("{h:?} is not a valid host name")));
    }
    for (i, iface) in a.network.interfaces.iter().enumerate() {
        for (j, addr) in iface.addresses.iter().enumerate() {
            if !grammar::address_prefix_ok(addr) {
                out.push((
                    vec![key("network"), key("interface"), Seg::Index(i), key("addresses"), Seg::Index(j)],
                    format!("{addr:?} is not address/prefix"),
                ));
            }
        }
    }
}

/// The semantic problems of an answer held in memory, as (field path, message): what a front end
/// shows beside the field at fault.
pub fn check(a: &Answer) -> Vec<(String, String)> {
    semantic_problems(a).into_iter().map(|(path, m)| (render_path(&path), m)).collect()
}

/// The secret names LUKS passphrases refer to.
fn passphrase_names(a: &Answer) -> Vec<String> {
    let mut out = vec![];
    for (mut c, _) in storage_contents(a) {
        while let Content::Luks { passphrase, content, .. } = c {
            out.extend(passphrase.clone());
            c = content;
        }
    }
    out
}

/// Every secret name the answer holds or refers to (passwords, LUKS passphrases), sorted.
pub fn secret_names(a: &Answer) -> Vec<String> {
    let mut names: Vec<String> = a.secrets.keys().cloned().collect();
    names.extend(a.root.password.clone());
    names.extend(a.users.iter().filter_map(|u| u.password.clone()));
    names.extend(passphrase_names(a));
    names.sort();
    names.dedup();
    names
}

/// A group name as groupadd takes it (and NixOS's `users.groups`).
pub fn group_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}
