//! Users and groups in the target's `/etc/passwd`, `/etc/group`, `/etc/shadow` and `/etc/gshadow`:
//! declared users and groups are added or updated, IDs are allocated like useradd does (normal
//! users and groups from 1000, system ones below 1000), and only hashed passwords are written.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::system::{User, Users};

/// A colon-separated table (passwd, group, shadow, gshadow), kept in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<Vec<String>>,
    width: usize,
}

impl Table {
    pub fn parse(text: &str, width: usize) -> Table {
        let rows = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut f: Vec<String> = l.split(':').map(str::to_string).collect();
                f.resize(width, String::new());
                f
            })
            .collect();
        Table { rows, width }
    }
    pub fn render(&self) -> String {
        self.rows.iter().map(|r| r.join(":") + "\n").collect()
    }
    pub fn get(&self, name: &str) -> Option<&Vec<String>> {
        self.rows.iter().find(|r| r[0] == name)
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut Vec<String>> {
        self.rows.iter_mut().find(|r| r[0] == name)
    }
    /// Replaces the row named `row[0]` or appends it.
    pub fn upsert(&mut self, mut row: Vec<String>) {
        row.resize(self.width, String::new());
        match self.get_mut(&row[0].clone()) {
            Some(r) => *r = row,
            None => self.rows.push(row),
        }
    }
    fn ids(&self) -> Vec<u32> {
        self.rows.iter().filter_map(|r| r.get(2)?.parse().ok()).collect()
    }
}

/// The four account files.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub passwd: Table,
    pub group: Table,
    pub shadow: Table,
    pub gshadow: Table,
}

fn free_id(taken: &[u32], system: bool) -> u32 {
    if system {
        (100..1000).rev().find(|i| !taken.contains(i)).unwrap_or(999)
    } else {
        (1000..60000).find(|i| !taken.contains(i)).unwrap_or(60000)
    }
}

/// A login shell that exists in the target: a path, or a package name like `zsh-5.9`.
pub fn resolve_shell(root: &Path, shell: &str) -> String {
    if shell.starts_with('/') {
        return shell.to_string();
    }
    let name = match shell.rsplit_once('-') {
        Some((n, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => n,
        _ => shell,
    };
    for dir in ["usr/bin", "bin", "usr/sbin"] {
        if root.join(dir).join(name).exists() {
            return format!("/{dir}/{name}");
        }
    }
    "/bin/bash".to_string()
}

impl Accounts {
    pub fn load(root: &Path) -> Result<Accounts> {
        let read = |f: &str| {
            let p = root.join("etc").join(f);
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
        };
        Ok(Accounts {
            passwd: Table::parse(&read("passwd")?, 7),
            group: Table::parse(&read("group")?, 4),
            shadow: Table::parse(&read("shadow")?, 9),
            gshadow: Table::parse(&read("gshadow").unwrap_or_default(), 4),
        })
    }

    pub fn save(&self, root: &Path) -> Result<()> {
        for (f, t, mode) in [
            ("passwd", &self.passwd, 0o644),
            ("group", &self.group, 0o644),
            ("shadow", &self.shadow, 0o640),
            ("gshadow", &self.gshadow, 0o640),
        ] {
            let p = root.join("etc").join(f);
            super::write_file(&p, &t.render(), mode)?;
            if mode == 0o640 {
                // root:shadow as on Debian.
                let gid = self.group.get("shadow").and_then(|g| g[2].parse().ok()).unwrap_or(0);
                std::os::unix::fs::chown(&p, Some(0), Some(gid))
                    .with_context(|| format!("chown {}", p.display()))?;
            }
        }
        Ok(())
    }

    fn ensure_group(&mut self, name: &str, gid: Option<u32>, system: bool) -> Result<u32> {
        if let Some(g) = self.group.get(name) {
            let have: u32 = g[2].parse().unwrap_or(0);
            match gid {
                Some(want) if want != have => {
                    bail!("group {name} exists with gid {have} but the configuration says {want}")
                }
                _ => return Ok(have),
            }
        }
        let gid = match gid {
            Some(g) => g,
            None => free_id(&self.group.ids(), system),
        };
        self.group.upsert(vec![name.into(), "x".into(), gid.to_string(), String::new()]);
        self.gshadow.upsert(vec![name.into(), "!".into(), String::new(), String::new()]);
        Ok(gid)
    }

    fn add_member(&mut self, group: &str, user: &str) {
        for t in [&mut self.group, &mut self.gshadow] {
            let col = 3;
            if let Some(r) = t.get_mut(group) {
                let mut members: Vec<String> =
                    r[col].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect();
                if !members.iter().any(|m| m == user) {
                    members.push(user.to_string());
                }
                r[col] = members.join(",");
            }
        }
    }

    /// Applies `users.users` and `users.groups`. Returns the users whose home directories should
    /// exist: (name, home, uid, gid).
    pub fn apply(
        &mut self,
        users: &Users,
        root: &Path,
        days_since_epoch: u64,
    ) -> Result<Vec<(String, String, u32, u32)>> {
        for g in users.groups.values() {
            self.ensure_group(&g.name, g.gid, g.gid.is_some_and(|x| x < 1000))?;
        }
        let mut homes = vec![];
        let declared: BTreeMap<&String, &User> = users.users.values().map(|u| (&u.name, u)).collect();
        for u in declared.values() {
            let system = u.is_system_user || (!u.is_normal_user && u.name != "root");
            let gid = self.ensure_group(&u.group, None, u.group != "users" && system)?;
            let existing = self.passwd.get(&u.name).cloned();
            let uid = match (u.uid, &existing) {
                (Some(uid), _) => uid,
                (None, Some(row)) => row[2].parse().unwrap_or(0),
                (None, None) => free_id(&self.passwd.ids(), system),
            };
            let shell = resolve_shell(root, &u.shell);
            let gecos = if u.description.is_empty() {
                existing.as_ref().map(|r| r[4].clone()).unwrap_or_default()
            } else {
                u.description.clone()
            };
            self.passwd.upsert(vec![
                u.name.clone(),
                "x".into(),
                uid.to_string(),
                gid.to_string(),
                gecos,
                u.home.clone(),
                shell,
            ]);
            let old_hash = self.shadow.get(&u.name).map(|r| r[1].clone());
            let hash = match (&u.hashed_password, &u.initial_hashed_password, old_hash) {
                (Some(h), _, _) => h.clone(),
                (None, _, Some(old)) => old,
                (None, Some(h), None) => h.clone(),
                (None, None, None) => "!".into(),
            };
            self.shadow.upsert(vec![
                u.name.clone(),
                hash,
                days_since_epoch.to_string(),
                "0".into(),
                "99999".into(),
                "7".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            for g in &u.extra_groups {
                self.ensure_group(g, None, true)?;
                self.add_member(g, &u.name);
            }
            if u.create_home {
                homes.push((u.name.clone(), u.home.clone(), uid, gid));
            }
        }
        for g in users.groups.values() {
            for m in &g.members {
                self.add_member(&g.name, m);
            }
        }
        Ok(homes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::system::{Group, Keys, OpensshUser};

    fn user(name: &str, normal: bool) -> User {
        User {
            name: name.into(),
            uid: None,
            is_normal_user: normal,
            is_system_user: false,
            description: String::new(),
            home: if normal { format!("/home/{name}") } else { "/var/empty".into() },
            create_home: normal,
            group: if normal { "users".into() } else { "nogroup".into() },
            extra_groups: vec![],
            shell: "/bin/bash".into(),
            hashed_password: None,
            initial_hashed_password: None,
            openssh: OpensshUser { authorized_keys: Keys { keys: vec![] } },
        }
    }

    #[test]
    fn adds_users_groups_and_memberships_with_debian_style_ids() {
        let mut a = Accounts {
            passwd: Table::parse("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", 7),
            group: Table::parse("root:x:0:\nusers:x:100:\nshadow:x:42:\nnogroup:x:65534:\n", 4),
            shadow: Table::parse("root:*:19000:0:99999:7:::\n", 9),
            gshadow: Table::parse("root:*::\nusers:*::\n", 4),
        };
        let mut alice = user("alice", true);
        alice.extra_groups = vec!["wheel".into()];
        alice.hashed_password = Some("$6$salt$hash".into());
        let mut users = Users { mutable_users: true, users: BTreeMap::new(), groups: BTreeMap::new() };
        users.users.insert("alice".into(), alice);
        users.users.insert("bob".into(), user("bob", true));
        users.groups.insert(
            "media".into(),
            Group { name: "media".into(), gid: Some(2000), members: vec!["bob".into()] },
        );
        let homes = a.apply(&users, Path::new("/nonexistent"), 20000).unwrap();
        assert_eq!(a.passwd.get("alice").unwrap().join(":"), "alice:x:1000:100::/home/alice:/bin/bash");
        assert_eq!(a.passwd.get("bob").unwrap()[2], "1001");
        assert_eq!(a.shadow.get("alice").unwrap()[1], "$6$salt$hash");
        assert_eq!(a.shadow.get("bob").unwrap()[1], "!", "no password: locked");
        assert_eq!(a.group.get("wheel").unwrap().join(":"), "wheel:x:999:alice");
        assert_eq!(a.group.get("media").unwrap().join(":"), "media:x:2000:bob");
        assert_eq!(homes.len(), 2);
        // Applying again changes nothing.
        let before = (a.passwd.render(), a.group.render(), a.shadow.render());
        a.apply(&users, Path::new("/nonexistent"), 20000).unwrap();
        assert_eq!(before, (a.passwd.render(), a.group.render(), a.shadow.render()));
        // A conflicting gid is an error.
        users.groups.get_mut("media").unwrap().gid = Some(3000);
        assert!(a.apply(&users, Path::new("/nonexistent"), 20000).is_err());
    }

    #[test]
    fn shells_from_packages_resolve_to_binaries() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("usr/bin")).unwrap();
        std::fs::write(t.path().join("usr/bin/zsh"), "").unwrap();
        assert_eq!(resolve_shell(t.path(), "zsh-5.9"), "/usr/bin/zsh");
        assert_eq!(resolve_shell(t.path(), "/bin/sh"), "/bin/sh");
        assert_eq!(resolve_shell(t.path(), "fish-3.6"), "/bin/bash");
    }
}
