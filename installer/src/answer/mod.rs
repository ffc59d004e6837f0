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
//!
//! [storage]                      # the disk engine's spec (see storage::spec)
//! [[storage.disk]]
//! match = { largest = true }
//! # …
//!
//! [secrets]
//! alice-hash = "$6$…"
//! ```

pub mod grammar;
mod render;

pub use grammar::{crypt_hash_ok, hostname_ok, kernel_param_ok, ssh_key_problem, user_name_ok};

pub use render::{configuration_nix, BootTarget};

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::storage::spec::{BootloaderChoice, Content, StorageSpec};

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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
}

/// One problem in an answer file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// The field, e.g. `storage.disk[0].partition[1].size`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
        } else {
            write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.col, self.field, self.message)
        }
    }
}

/// All the problems of an answer file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// A step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

fn render_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for p in path {
        match p {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The span of the field at `path` in the parsed document: its key when the path ends at a key,
/// else the deepest element found.
fn span_of(doc: &toml_edit::ImDocument<String>, path: &[Seg]) -> Option<Range<usize>> {
    span_in(doc.as_table(), path)
}

fn span_in(t: &dyn toml_edit::TableLike, path: &[Seg]) -> Option<Range<usize>> {
    let Some((Seg::Key(k), rest)) = path.split_first() else { return None };
    let (key, item) = t.get_key_value(k)?;
    if rest.is_empty() {
        return key.span().or_else(|| item.span());
    }
    span_item(item, rest).or_else(|| key.span())
}

fn span_item(item: &toml_edit::Item, path: &[Seg]) -> Option<Range<usize>> {
    match path.first()? {
        Seg::Key(_) => span_in(item.as_table_like()?, path),
        Seg::Index(i) => match item {
            toml_edit::Item::ArrayOfTables(a) => {
                let t = a.get(*i)?;
                if path.len() == 1 {
                    t.span()
                } else {
                    span_in(t, &path[1..]).or_else(|| t.span())
                }
            }
            _ => span_value(item.as_array()?.get(*i)?, &path[1..]),
        },
    }
}

fn span_value(v: &toml_edit::Value, path: &[Seg]) -> Option<Range<usize>> {
    match path.first() {
        None => v.span(),
        Some(Seg::Key(_)) => span_in(v.as_inline_table()?, path).or_else(|| v.span()),
        Some(Seg::Index(i)) => span_value(v.as_array()?.get(*i)?, &path[1..]).or_else(|| v.span()),
    }
}

/// Parses and checks an answer file: TOML syntax (the first error), then every type and key
/// error, or, when there is none, every semantic problem, each with its position and field.
pub fn parse(text: &str, file: &str) -> Result<Answer, Problems> {
    let problem = |span: Option<Range<usize>>, field: String, message: String| {
        let (line, col) = span.map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        Problem { file: file.to_string(), line, col, field, message }
    };
    let doc = match toml_edit::ImDocument::parse(text.to_string()) {
        Ok(d) => d,
        Err(e) => {
            return Err(Problems(vec![problem(e.span(), String::new(), e.message().trim().to_string())]))
        }
    };
    // Version first: a file of another version gets no other advice.
    match doc.get("version").map(|v| v.as_integer()) {
        None => {
            return Err(Problems(vec![problem(
                Some(0..0),
                "version".into(),
                "missing: add `version = 1` at the top".into(),
            )]))
        }
        Some(Some(1)) => {}
        Some(other) => {
            return Err(Problems(vec![problem(
                doc.get("version").and_then(|v| v.span()),
                "version".into(),
                format!(
                    "this installer reads version 1 answer files, not {}",
                    other.map(|v| v.to_string()).unwrap_or_else(|| "a non-integer".into())
                ),
            )]))
        }
    }
    let answer: Answer = match structure(text, &doc) {
        Ok(a) => a,
        Err(found) => {
            let mut problems: Vec<Problem> = found
                .into_iter()
                .map(|(span, msg)| {
                    let mut path = match &span {
                        Some(s) if s.start > 0 => path_at(&doc, s.start),
                        _ => vec![],
                    };
                    // A missing field is reported at its table: name the field.
                    path.extend(missing_field(&msg).map(key));
                    problem(span, render_path(&path), msg)
                })
                .collect();
            problems.sort_by_key(|p| (p.line, p.col));
            return Err(Problems(problems));
        }
    };
    let problems = located(text, &doc, file, semantic_problems(&answer));
    if problems.is_empty() {
        Ok(answer)
    } else {
        Err(Problems(problems))
    }
}

/// Problems found on fields, with the positions of those fields in `text`, in file order.
fn located(
    text: &str,
    doc: &toml_edit::ImDocument<String>,
    file: &str,
    found: Vec<(Vec<Seg>, String)>,
) -> Vec<Problem> {
    let mut problems: Vec<Problem> = found
        .into_iter()
        .map(|(path, message)| {
            let (line, col) = span_of(doc, &path).map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            Problem { file: file.to_string(), line, col, field: render_path(&path), message }
        })
        .collect();
    problems.sort_by_key(|p| (p.line, p.col));
    problems
}

/// A message and where it points.
type Found = (Option<Range<usize>>, String);

/// Type and key errors, every one: serde stops at the first, so each offending entry is blanked
/// out (its lines replaced by spaces, so positions stay) and the text parsed again. A "missing
/// field" that only the blanking caused is not reported; its table is blanked in turn.
fn structure(text: &str, doc: &toml_edit::ImDocument<String>) -> Result<Answer, Vec<Found>> {
    let mut work = text.to_string();
    let mut found: Vec<Found> = vec![];
    let mut blanked: Vec<Vec<Seg>> = vec![];
    for _ in 0..100 {
        let e = match toml::from_str::<Answer>(&work) {
            Ok(a) if found.is_empty() => return Ok(a),
            Ok(_) => break,
            Err(e) => e,
        };
        let msg = friendlier(e.message().trim());
        let Some(span) = e.span() else {
            found.push((None, msg));
            break;
        };
        // "missing field `x`" after `x` (or a table holding it) was blanked is no new problem.
        let missing = missing_field(&msg).map(key);
        let caused_by_blanking = missing.as_ref().is_some_and(|f| blanked.iter().any(|p| p.contains(f)));
        if !caused_by_blanking && !found.iter().any(|(s, m)| s.as_ref() == Some(&span) && *m == msg) {
            found.push((Some(span.clone()), msg));
        }
        if missing.is_some() && span.start == 0 {
            // A field the whole file lacks: nothing left to blank.
            break;
        }
        let range = entry_lines(&work, &span);
        if range.is_empty() || range == (0..work.len()) || work[range.clone()].trim().is_empty() {
            break;
        }
        blanked.push(path_at(doc, span.start));
        let spaces: String =
            work[range.clone()].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        work.replace_range(range, &spaces);
    }
    Err(found)
}

/// The field a serde "missing field `x`" message names.
fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `").and_then(|m| m.split('`').next())
}

/// serde's words for a few errors, in the answer file's terms.
fn friendlier(msg: &str) -> String {
    if msg.contains("untagged enum Selectors") {
        return "expected a disk selector like { serial = \"S1\" } or { largest = true }, or a list of them"
            .into();
    }
    msg.to_string()
}

/// The lines holding the entry at `span`: whole lines, and for a `[table]` header its whole body
/// and its sub-tables (up to the next header of another table).
fn entry_lines(text: &str, span: &Range<usize>) -> Range<usize> {
    let start = text[..span.start.min(text.len())].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = |from: usize| text[from..].find('\n').map(|i| from + i + 1).unwrap_or(text.len());
    let mut end = line_end(span.end.max(span.start).min(text.len()).max(start));
    let header = |line: &str| -> Option<String> {
        let l = line.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    };
    if let Some(name) = header(&text[start..line_end(start)]) {
        while end < text.len() {
            let next = line_end(end);
            match header(&text[end..next]) {
                Some(h) if !h.starts_with(&format!("{name}.")) => break,
                _ => end = next,
            }
        }
    }
    start..end
}

/// The field path of the deepest entry of `doc` holding byte `pos`.
fn path_at(doc: &toml_edit::ImDocument<String>, pos: usize) -> Vec<Seg> {
    let mut path = vec![];
    locate_in(doc.as_table(), pos, &mut path);
    path
}

fn union(a: Option<Range<usize>>, b: Option<Range<usize>>) -> Option<Range<usize>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.start.min(b.start)..a.end.max(b.end)),
        (a, b) => a.or(b),
    }
}

/// Where a table and everything under it lies.
fn table_extent(t: &toml_edit::Table) -> Option<Range<usize>> {
    t.iter().fold(t.span(), |acc, (k, v)| union(union(acc, t.key(k).and_then(|k| k.span())), extent(v)))
}

/// Where an item and everything under it lies.
fn extent(item: &toml_edit::Item) -> Option<Range<usize>> {
    match item {
        toml_edit::Item::Table(t) => table_extent(t),
        toml_edit::Item::ArrayOfTables(a) => a.iter().fold(None, |acc, t| union(acc, table_extent(t))),
        toml_edit::Item::Value(v) => v.span(),
        toml_edit::Item::None => None,
    }
}

fn locate_in(t: &dyn toml_edit::TableLike, pos: usize, path: &mut Vec<Seg>) {
    for (k, v) in t.iter() {
        let key_span = t.get_key_value(k).and_then(|(key, _)| key.span());
        if union(key_span, extent(v)).is_some_and(|r| r.start <= pos && pos < r.end.max(r.start + 1)) {
            path.push(Seg::Key(k.to_string()));
            locate_item(v, pos, path);
            return;
        }
    }
}

fn locate_item(item: &toml_edit::Item, pos: usize, path: &mut Vec<Seg>) {
    match item {
        toml_edit::Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                if table_extent(t).is_some_and(|r| r.start <= pos && pos < r.end) {
                    path.push(Seg::Index(i));
                    locate_in(t, pos, path);
                    return;
                }
            }
        }
        toml_edit::Item::Value(v) => locate_value(v, pos, path),
        other => {
            if let Some(t) = other.as_table_like() {
                locate_in(t, pos, path);
            }
        }
    }
}

fn locate_value(v: &toml_edit::Value, pos: usize, path: &mut Vec<Seg>) {
    match v {
        toml_edit::Value::InlineTable(t) => locate_in(t, pos, path),
        toml_edit::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if x.span().is_some_and(|r| r.start <= pos && pos < r.end) {
                    path.push(Seg::Index(i));
                    locate_value(x, pos, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

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
fn semantic_problems(a: &Answer) -> Vec<(Vec<Seg>, String)> {
    let mut out = vec![];
    // Mount points, and the secrets LUKS names.
    let has = |n: &str| a.secrets.contains_key(n) || a.secrets_file.is_some();
    let mut roots = vec![];
    let mut mounts: BTreeMap<String, Vec<Seg>> = BTreeMap::new();
    let mut visit = |content: &Content, at: Vec<Seg>, out: &mut Vec<(Vec<Seg>, String)>| {
        let mut stack = vec![(content, at)];
        while let Some((c, at)) = stack.pop() {
            match c {
                Content::Filesystem { mountpoint, subvolumes, .. } => {
                    let mut mps: Vec<(Option<&String>, Vec<Seg>)> =
                        vec![(mountpoint.as_ref(), [at.clone(), vec![key("mountpoint")]].concat())];
                    for (i, sv) in subvolumes.iter().enumerate() {
                        mps.push((
                            sv.mountpoint.as_ref(),
                            [at.clone(), vec![key("subvolumes"), Seg::Index(i), key("mountpoint")]].concat(),
                        ));
                    }
                    for (mp, p) in mps {
                        let Some(mp) = mp else { continue };
                        if mp == "/" {
                            roots.push(p.clone());
                        }
                        if let Some(first) = mounts.insert(mp.clone(), p.clone()) {
                            if mp != "/" {
                                out.push((p, format!("{mp} is already mounted by {}", render_path(&first))));
                            }
                        }
                    }
                }
                Content::Luks { passphrase, content, .. } => {
                    if let Some(name) = passphrase {
                        if !has(name) {
                            out.push((
                                [at.clone(), vec![key("passphrase")]].concat(),
                                "names a secret that [secrets] (or secrets_file) does not hold".to_string(),
                            ));
                        }
                    }
                    stack.push((content, [at, vec![key("content")]].concat()));
                }
                _ => {}
            }
        }
    };
    for (c, at) in storage_contents(a) {
        visit(c, at, &mut out);
    }
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
    // Secrets referenced by users and root.
    if let Some(n) = &a.root.password {
        if !has(n) {
            out.push((
                vec![key("root"), key("password")],
                "names a secret that [secrets] (or secrets_file) does not hold".to_string(),
            ));
        }
    }
    let mut names = vec![];
    for (i, u) in a.users.iter().enumerate() {
        if let Some(n) = &u.password {
            if !has(n) {
                out.push((
                    vec![key("user"), Seg::Index(i), key("password")],
                    "names a secret that [secrets] (or secrets_file) does not hold".to_string(),
                ));
            }
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
    // Secrets must look like what they are used for.
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
    out.extend(grammar::problems(a));
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
    out
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

/// A group name as groupadd takes it (and NixOS's `users.groups`).
pub fn group_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The largest answer file read.
pub const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// Reads an answer file and its secrets file.
pub fn load(path: &Path) -> Result<(Answer, BTreeMap<String, String>), Problems> {
    let file = path.display().to_string();
    // Answer files are small; a huge one is refused at once instead of parsed for minutes.
    if let Ok(m) = std::fs::metadata(path) {
        if m.len() > MAX_ANSWER_BYTES {
            return Err(Problems(vec![Problem {
                file: file.clone(),
                line: 1,
                col: 1,
                field: String::new(),
                message: format!(
                    "{} bytes: answer files are at most {} KiB",
                    m.len(),
                    MAX_ANSWER_BYTES >> 10
                ),
            }]));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            file: file.clone(),
            line: 1,
            col: 1,
            field: String::new(),
            message: e.to_string(),
        }])
    })?;
    let a = parse(&text, &file)?;
    let mut secrets = a.secrets.clone();
    if let Some(sf) = &a.secrets_file {
        let sp = path.parent().unwrap_or(Path::new(".")).join(sf);
        let stext = std::fs::read_to_string(&sp).map_err(|e| {
            Problems(vec![Problem {
                file: file.clone(),
                line: 1,
                col: 1,
                field: "secrets_file".into(),
                message: format!("{}: {e}", sp.display()),
            }])
        })?;
        let more: BTreeMap<String, String> = toml::from_str(&stext).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(&stext, s.start)).unwrap_or((1, 1));
            Problems(vec![Problem {
                file: sp.display().to_string(),
                line,
                col,
                field: String::new(),
                message: e.message().to_string(),
            }])
        })?;
        secrets.extend(more);
    }
    // What only the answer's directory can tell: the secrets file's secrets checked like inline
    // ones, and the configuration file being there.
    let mut late = vec![];
    if a.secrets_file.is_some() {
        let mut strict = a.clone();
        strict.secrets = secrets.clone();
        strict.secrets_file = None;
        late.extend(semantic_problems(&strict));
    }
    if let Some(f) = &a.nix.file {
        let full = path.parent().unwrap_or(Path::new(".")).join(f);
        if !full.is_file() {
            late.push((vec![key("nix"), key("file")], format!("{}: no such file", full.display())));
        }
    }
    if !late.is_empty() {
        let doc = toml_edit::ImDocument::parse(text.clone()).expect("parsed above");
        return Err(Problems(located(&text, &doc, &file, late)));
    }
    Ok((a, secrets))
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
