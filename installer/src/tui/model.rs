//! The TUI's state ([`Model`]), its messages ([`Msg`]) and the pure [`update`]: keys and the
//! results of background work come in as messages; what must happen outside (probing, evaluating,
//! installing, a shell, the editor) goes out as [`Cmd`]s that the runtime carries out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::guided::{self, Layout};
use super::widgets::{FilterList, TextInput};
use crate::answer::{
    Answer, FinishAction, FinishSection, InterfaceSection, NetworkSection, NixSection, RootSection, Section,
    UserSection,
};
use crate::progress::{Event, Stage};
use crate::session::{self, FieldProblem, Prepared};
use crate::storage::probe::{Probe, ProbedDisk};
use crate::storage::StorageSpec;

/// Secret values by name (clear-text passwords to hash, or other secrets).
pub type Secrets = BTreeMap<String, String>;

/// The steps, in order; the first seven are forms, then the install and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Language,
    Network,
    Storage,
    TimeZone,
    Users,
    Configuration,
    Review,
    Installing,
    Finish,
}

impl Step {
    pub const FORMS: [Step; 7] = [
        Step::Language,
        Step::Network,
        Step::Storage,
        Step::TimeZone,
        Step::Users,
        Step::Configuration,
        Step::Review,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Step::Language => "Keyboard and language",
            Step::Network => "Network",
            Step::Storage => "Storage",
            Step::TimeZone => "Time zone",
            Step::Users => "Users",
            Step::Configuration => "Configuration",
            Step::Review => "Review",
            Step::Installing => "Installing",
            Step::Finish => "Finished",
        }
    }

    /// 1-based number of 8.
    pub fn number(self) -> usize {
        (self as usize + 1).min(8)
    }

    fn next(self) -> Step {
        match self {
            Step::Language => Step::Network,
            Step::Network => Step::Storage,
            Step::Storage => Step::TimeZone,
            Step::TimeZone => Step::Users,
            Step::Users => Step::Configuration,
            Step::Configuration => Step::Review,
            Step::Review => Step::Installing,
            Step::Installing | Step::Finish => Step::Finish,
        }
    }

    fn prev(self) -> Step {
        match self {
            Step::Language | Step::Network => Step::Language,
            Step::Storage => Step::Network,
            Step::TimeZone => Step::Storage,
            Step::Users => Step::TimeZone,
            Step::Configuration => Step::Users,
            Step::Review => Step::Configuration,
            s => s,
        }
    }
}

/// A network interface of the live system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub up: bool,
    pub mac: String,
    pub addresses: Vec<String>,
}

/// What the live system offers to choose from (read once at start; fixed in tests).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveData {
    pub keymaps: Vec<String>,
    pub locales: Vec<String>,
    pub zones: Vec<String>,
    pub interfaces: Vec<Interface>,
    /// Running on a Linux VT (keymaps can be loaded).
    pub vt: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LanguageForm {
    pub focus: usize,
    pub keymap: FilterList,
    pub locale: FilterList,
    /// A field to try the keymap in.
    pub try_it: TextInput,
    /// The keymap loaded on this VT (see [`keymap_chosen`]); None: the console's own.
    pub loaded: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkForm {
    pub focus: usize,
    pub hostname: TextInput,
    pub iface: usize,
    /// A static address on the selected interface instead of DHCP.
    pub static_ip: bool,
    pub address: TextInput,
    pub gateway: TextInput,
    pub dns: TextInput,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorageForm {
    pub focus: usize,
    pub disk: usize,
    /// The second disk of RAID1 (index into the probe's disks).
    pub second: Option<usize>,
    pub layout: usize,
    pub encrypt: bool,
    pub pass1: TextInput,
    pub pass2: TextInput,
    pub swap: TextInput,
    /// The edited spec of the Custom layout (TOML), and its problems.
    pub custom: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsersForm {
    pub focus: usize,
    pub root_password: bool,
    pub root1: TextInput,
    pub root2: TextInput,
    pub name: TextInput,
    pub full_name: TextInput,
    pub pass1: TextInput,
    pub pass2: TextInput,
    pub admin: bool,
    pub ssh_key: TextInput,
    /// Users added before the one in the form (with their clear-text password, if any).
    pub added: Vec<(UserSection, Option<String>)>,
}

/// The evaluation of the configuration by the real evaluator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Evaluation {
    #[default]
    NotYet,
    Running,
    /// Evaluated; the module system's warnings (renamed options, …).
    Ok(Vec<String>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigView {
    pub scroll: u16,
    /// Nix text added in the editor.
    pub extra: String,
    pub eval: Evaluation,
    /// The text that was evaluated (an evaluation of another text is stale).
    pub evaluated: String,
}

/// One gauge of the progress screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: &'static str,
    pub state: PhaseState,
    /// Done of total (actions, bytes).
    pub done: u64,
    pub total: u64,
    pub started: f64,
    pub secs: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseState {
    Waiting,
    Running,
    Done,
    Failed,
}

pub const PHASES: [&str; 8] = [
    "Partitioning, formatting, mounting",
    "Writing the configuration",
    "Evaluating the configuration",
    "Copying the system",
    "Configuring users, network, services",
    "Building the initrd",
    "Installing the bootloader",
    "Passwords, answer file, unmounting",
];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstallState {
    pub phases: Vec<Phase>,
    pub log: Vec<String>,
    pub started: f64,
    /// The failed step and the reason.
    pub failed: Option<(String, String)>,
    /// The step the install reported as failed (it names the failure better than the runtime can).
    pub failed_step: Option<String>,
    pub done: Option<String>,
    pub show_log: bool,
}

/// The answer the TUI started from (`installer tui --answer FILE`, or `installer.answer=` with
/// `[interactive]`): the sections it does not list as interactive are taken as given and skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub answer: Answer,
    /// Its secrets (password hashes, passphrases), used as they are.
    pub secrets: Secrets,
    /// Where its relative files are.
    pub dir: PathBuf,
}

/// The answer section a step asks for.
pub fn section_of(step: Step) -> Option<Section> {
    Some(match step {
        Step::Language => Section::Keyboard,
        Step::Network => Section::Network,
        Step::Storage => Section::Storage,
        Step::TimeZone => Section::Timezone,
        Step::Users => Section::Users,
        Step::Configuration => Section::Nix,
        _ => return None,
    })
}

/// A box over the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Help,
    ConfirmQuit,
    /// A message to acknowledge (e.g. why a disk cannot be chosen).
    Message(String),
}

/// What the person chooses at the end.
pub const FINISH_CHOICES: [(&str, FinishAction); 3] =
    [("Reboot", FinishAction::Reboot), ("Power off", FinishAction::Poweroff), ("Shell", FinishAction::None)];

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub step: Step,
    /// Plain ASCII borders and marks (terminals without line drawing).
    pub ascii: bool,
    pub live: LiveData,
    pub probe: Option<Result<Probe, String>>,
    pub language: LanguageForm,
    pub network: NetworkForm,
    pub storage: StorageForm,
    pub zone: FilterList,
    pub users: UsersForm,
    pub config: ConfigView,
    pub confirm: TextInput,
    pub install: InstallState,
    pub finish: usize,
    pub dialog: Option<Dialog>,
    /// Problems of the current step (field, message), shown under it.
    pub problems: Vec<FieldProblem>,
    /// Seconds since start (from ticks, so that `view` stays pure).
    pub now: f64,
    pub quit: bool,
    /// Another front end holds the install (who).
    pub held_by: Option<String>,
    pub given: Option<Given>,
}

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    /// Seconds since start.
    Tick(f64),
    /// The terminal was resized (or Ctrl-L): the runtime draws everything again.
    Redraw,
    Probed(Result<Probe, String>),
    /// The Custom layout's spec came back from the editor.
    SpecEdited(String),
    /// Extra Nix came back from the editor.
    NixEdited(String),
    /// The evaluation's warnings, or its error.
    Evaluated(Result<Vec<String>, String>),
    Progress(Event),
    /// The install ended: the summary, or the failed step and reason.
    Installed(Result<String, (String, String)>),
    /// The install could not start (another front end holds it).
    Busy(String),
    /// The logs were saved (where), or why not.
    LogsSaved(Result<String, String>),
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Probe,
    LoadKeymap(String),
    /// Open the editor on this text; the result comes back as `SpecEdited`/`NixEdited`.
    EditSpec(String),
    EditNix(String),
    /// Evaluate this configuration.nix with the real evaluator.
    Evaluate(String),
    /// Hash passwords and run the install of this answer. `passwords` maps secret names to
    /// clear-text passwords (hashed by the runtime, in memory), `secrets` holds the rest.
    Install {
        answer: Box<Answer>,
        passwords: BTreeMap<String, String>,
        secrets: BTreeMap<String, String>,
    },
    Shell,
    /// Copy the logs onto a removable disk.
    SaveLogs,
    Finish(FinishAction),
    Quit,
}

fn key_is(k: &KeyEvent, code: KeyCode) -> bool {
    k.code == code && !k.modifiers.contains(KeyModifiers::CONTROL)
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem { field: field.into(), message: message.into() }
}

/// A host name as NixOS takes it (RFC 1123 label).
pub fn hostname_problem(h: &str) -> Option<String> {
    (!crate::answer::hostname_ok(h))
        .then(|| "letters, digits and -, at most 63, not starting or ending with -".into())
}

/// A new user's name (useradd's default NAME_REGEX, as NixOS takes it).
pub fn user_name_problem(n: &str) -> Option<String> {
    if !crate::answer::user_name_ok(n) {
        return Some("lower-case letters, digits, - and _, starting with a letter".into());
    }
    ["root", "nobody", "daemon", "bin", "sys", "sshd", "messagebus"]
        .contains(&n)
        .then(|| format!("{n} is a system account"))
}

/// Why a password is weak (a warning, not a refusal).
pub fn weak_password(p: &str) -> Option<&'static str> {
    let classes = [
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if p.chars().count() < 8 {
        Some("weak: shorter than 8 characters")
    } else if classes < 2 && p.chars().count() < 16 {
        Some("weak: use more kinds of characters or a longer passphrase")
    } else {
        None
    }
}

fn ip_problem(s: &str, with_prefix: bool) -> Option<String> {
    let t = s.trim();
    let ok = if with_prefix {
        crate::answer::grammar::address_prefix_ok(t)
    } else {
        t.parse::<std::net::IpAddr>().is_ok()
    };
    (!ok).then(|| {
        if with_prefix {
            format!("{t:?} is not an address with a prefix, like 192.168.1.10/24")
        } else {
            format!("{t:?} is not an IP address")
        }
    })
}

impl Model {
    pub fn new(live: LiveData, ascii: bool) -> Self {
        let keymap = FilterList::new(live.keymaps.clone(), "us");
        let locale = FilterList::new(live.locales.clone(), "en_US.UTF-8");
        let zone = FilterList::new(live.zones.clone(), "UTC");
        Model {
            step: Step::Language,
            ascii,
            live,
            probe: None,
            language: LanguageForm { keymap, locale, ..Default::default() },
            network: NetworkForm { hostname: TextInput::new("nixos"), ..Default::default() },
            storage: StorageForm {
                pass1: TextInput::masked(),
                pass2: TextInput::masked(),
                swap: TextInput::new("0"),
                ..Default::default()
            },
            zone,
            users: UsersForm {
                root1: TextInput::masked(),
                root2: TextInput::masked(),
                pass1: TextInput::masked(),
                pass2: TextInput::masked(),
                admin: true,
                ..Default::default()
            },
            config: ConfigView::default(),
            confirm: TextInput::default(),
            install: InstallState::default(),
            finish: 0,
            dialog: None,
            problems: vec![],
            now: 0.0,
            quit: false,
            held_by: None,
            given: None,
        }
    }

    /// Starts from a given answer: the forms are filled from it; with `[interactive]` only the
    /// listed sections are asked (the first of them is the first screen), the others are taken as
    /// they are (password hashes and passphrases included).
    pub fn start_from(&mut self, given: Given) {
        self.prefill(&given.answer);
        self.given = Some(given);
        self.step = Step::FORMS.into_iter().find(|s| self.asks(*s)).unwrap_or(Step::Review);
    }

    /// Whether the person is asked this step (else it comes from the given answer as it is).
    /// Configuration and review are always shown: they check and confirm what will be done.
    pub fn asks(&self, step: Step) -> bool {
        match (&self.given, section_of(step)) {
            (Some(g), Some(section)) if !g.answer.interactive.is_empty() => {
                step == Step::Configuration || g.answer.interactive.asks(section)
            }
            _ => true,
        }
    }

    /// The given answer, when this step is taken from it.
    fn taken(&self, step: Step) -> Option<&Answer> {
        self.given.as_ref().filter(|_| !self.asks(step)).map(|g| &g.answer)
    }

    /// Fills the forms from an answer (`installer tui --answer FILE`).
    pub fn prefill(&mut self, a: &Answer) {
        self.language.keymap.select(&a.system.keymap);
        self.language.locale.select(&a.system.locale);
        if let Some(tz) = &a.system.timezone {
            self.zone.select(tz);
        }
        self.network.hostname.set(&a.system.hostname);
        if let Some(i) = a.network.interfaces.iter().find(|i| !i.addresses.is_empty()) {
            self.network.static_ip = true;
            self.network.iface = self.live.interfaces.iter().position(|l| l.name == i.name).unwrap_or(0);
            self.network.address.set(&i.addresses[0]);
            self.network.gateway.set(a.network.gateway.as_deref().unwrap_or(""));
            self.network.dns.set(&a.network.nameservers.join(" "));
        }
        if let Some(u) = a.users.first() {
            self.users.name.set(&u.name);
            self.users.full_name.set(&u.description);
            self.users.admin = u.groups.iter().any(|g| g == "wheel");
            self.users.ssh_key.set(u.ssh_keys.first().map(String::as_str).unwrap_or(""));
        }
        if !a.storage.disks.is_empty() {
            self.storage.layout = Layout::ALL.iter().position(|l| *l == Layout::Custom).unwrap_or(0);
            self.storage.custom = Some(guided::to_toml(&a.storage));
        }
        self.config.extra = a.nix.extra.clone().unwrap_or_default();
    }

    pub fn disks(&self) -> &[ProbedDisk] {
        match &self.probe {
            Some(Ok(p)) => &p.disks,
            _ => &[],
        }
    }

    pub fn uefi(&self) -> bool {
        matches!(&self.probe, Some(Ok(p)) if p.uefi)
    }

    /// Why a disk cannot be installed to (`None`: it can): see [`Probe::unusable`].
    pub fn unusable(&self, d: &ProbedDisk) -> Option<String> {
        match &self.probe {
            Some(Ok(p)) => p.unusable(d),
            _ => Probe::default().unusable(d),
        }
    }

    pub fn layout(&self) -> Layout {
        Layout::ALL[self.storage.layout]
    }

    /// The storage spec the storage screen stands for, or its problem.
    pub fn storage_spec(&self) -> Result<StorageSpec, FieldProblem> {
        if let Some(a) = self.taken(Step::Storage) {
            return Ok(a.storage.clone());
        }
        let disks = self.disks();
        if self.layout() == Layout::Custom {
            let text = match &self.storage.custom {
                Some(t) => t.clone(),
                None => return Err(problem("layout", "press Enter to edit the storage spec")),
            };
            return StorageSpec::from_toml(&text).map_err(|e| {
                let (line, col) = e.span().map(|s| crate::answer::line_col(&text, s.start)).unwrap_or((1, 1));
                problem("custom", format!("storage spec {line}:{col}: {}", e.message().trim()))
            });
        }
        let Some(disk) = disks.get(self.storage.disk) else {
            return Err(problem("disk", "no disk to install to"));
        };
        if let Some(why) = self.unusable(disk) {
            return Err(problem("disk", format!("{}: {why}", disk.path)));
        }
        let second = self.storage.second.and_then(|i| disks.get(i));
        if let Some(d) = second {
            if let Some(why) = self.unusable(d) {
                return Err(problem("second", format!("{}: {why}", d.path)));
            }
        }
        let c = guided::Choice {
            layout: self.layout(),
            disk,
            second,
            encrypt: self.storage.encrypt,
            swap: &self.storage.swap.value,
            uefi: self.uefi(),
        };
        guided::spec(&c).map_err(|(f, m)| problem(f, m))
    }

    /// Problems of one step's fields (checked as typed).
    pub fn step_problems(&self, step: Step) -> Vec<FieldProblem> {
        let mut out = vec![];
        if !self.asks(step) && step != Step::Storage {
            // Given as it is (the answer was checked when it was read).
            return out;
        }
        match step {
            Step::Language => {
                if self.language.keymap.current().is_none() && !self.live.keymaps.is_empty() {
                    out.push(problem("keymap", "no keymap matches the search"));
                }
                if self.language.locale.current().is_none() && !self.live.locales.is_empty() {
                    out.push(problem("locale", "no locale matches the search"));
                }
            }
            Step::Network => {
                let n = &self.network;
                if let Some(p) = hostname_problem(&n.hostname.value) {
                    out.push(problem("hostname", p));
                }
                if n.static_ip {
                    if self.live.interfaces.is_empty() {
                        out.push(problem("interface", "no network interface for a static address"));
                    }
                    out.extend(ip_problem(&n.address.value, true).map(|m| problem("address", m)));
                    if !n.gateway.value.trim().is_empty() {
                        out.extend(ip_problem(&n.gateway.value, false).map(|m| problem("gateway", m)));
                    }
                    for d in n.dns.value.split([' ', ',']).filter(|s| !s.is_empty()) {
                        out.extend(ip_problem(d, false).map(|m| problem("dns", m)));
                    }
                }
            }
            Step::Storage => {
                if let Some(Err(e)) = &self.probe {
                    out.push(problem("disk", format!("probing the disks failed: {e}")));
                    return out;
                }
                if self.probe.is_none() {
                    out.push(problem("disk", "looking for disks…"));
                    return out;
                }
                if let Err(p) = self.plan() {
                    out.push(p);
                }
                if self.storage.encrypt && self.layout() != Layout::Custom {
                    let (a, b) = (&self.storage.pass1.value, &self.storage.pass2.value);
                    if a.is_empty() {
                        out.push(problem("passphrase", "type the passphrase that will unlock the disk"));
                    } else if a != b {
                        out.push(problem("passphrase again", "the passphrases do not match"));
                    }
                }
            }
            Step::TimeZone => {
                if self.zone.current().is_none() && !self.live.zones.is_empty() {
                    out.push(problem("time zone", "no time zone matches the search"));
                }
            }
            Step::Users => {
                let u = &self.users;
                if u.root_password {
                    if u.root1.value.is_empty() {
                        out.push(problem("root password", "type root's password, or lock root"));
                    } else if u.root1.value != u.root2.value {
                        out.push(problem("root password again", "the passwords do not match"));
                    }
                }
                let name = u.name.value.trim();
                if !name.is_empty() {
                    if let Some(p) = user_name_problem(name) {
                        out.push(problem("name", p));
                    }
                    if u.full_name.value.contains(['"', ':', '\n', '\\']) {
                        out.push(problem("full name", "no quotes, colons or backslashes"));
                    }
                    if u.pass1.value != u.pass2.value {
                        out.push(problem("password again", "the passwords do not match"));
                    }
                    if u.pass1.value.is_empty() && u.ssh_key.value.trim().is_empty() {
                        out.push(problem("password", "give the user a password or an SSH key"));
                    }
                    if !u.ssh_key.value.trim().is_empty() {
                        out.extend(
                            crate::answer::ssh_key_problem(u.ssh_key.value.trim())
                                .map(|m| problem("SSH key", m)),
                        );
                    }
                }
                if u.added.iter().any(|(a, _)| a.name == name) {
                    out.push(problem("name", format!("{name} is already added")));
                }
                let admin_added = u.added.iter().any(|(a, _)| a.groups.iter().any(|g| g == "wheel"));
                if !u.root_password && (name.is_empty() || !u.admin) && !admin_added {
                    out.push(problem(
                        "root",
                        "with root locked, add an administrator (wheel) so that someone can log in and manage the system",
                    ));
                }
            }
            Step::Configuration => match &self.config.eval {
                Evaluation::Failed(e) => out.push(problem("configuration", e.clone())),
                Evaluation::Running => out.push(problem("configuration", "evaluating…")),
                _ => {}
            },
            Step::Review => {}
            Step::Installing | Step::Finish => {}
        }
        out
    }

    /// Warnings (not refusals) of the users step.
    pub fn password_warnings(&self) -> Vec<(&'static str, &'static str)> {
        let mut w = vec![];
        if self.users.root_password {
            w.extend(weak_password(&self.users.root1.value).map(|m| ("root password", m)));
        }
        if !self.users.name.value.trim().is_empty() && !self.users.pass1.value.is_empty() {
            w.extend(weak_password(&self.users.pass1.value).map(|m| ("password", m)));
        }
        if self.users.admin
            && !self.users.name.value.trim().is_empty()
            && self.users.pass1.value.is_empty()
            && !self.users.ssh_key.value.trim().is_empty()
        {
            w.push((
                "sudo",
                "no password for sudo to ask: the configuration gets security.sudo.wheelNeedsPassword = false",
            ));
        }
        w
    }

    /// The network section of the form.
    fn form_network(&self) -> NetworkSection {
        let n = &self.network;
        let mut network = NetworkSection::default();
        if n.static_ip {
            if let Some(i) = self.live.interfaces.get(n.iface) {
                network.interfaces.push(InterfaceSection {
                    name: i.name.clone(),
                    addresses: vec![n.address.value.trim().to_string()],
                    dhcp: Some(false),
                });
            }
            let gw = n.gateway.value.trim();
            network.gateway = (!gw.is_empty()).then(|| gw.to_string());
            network.nameservers =
                n.dns.value.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_string).collect();
        }
        network
    }

    /// Root and the users of the form; their clear-text passwords go into `passwords`.
    fn form_users(&self, passwords: &mut Secrets) -> (RootSection, Vec<UserSection>) {
        let u = &self.users;
        let mut root = RootSection::default();
        if u.root_password {
            root.password = Some("root-password".into());
            passwords.insert("root-password".into(), u.root1.value.clone());
        }
        let mut users = vec![];
        for (user, clear) in &u.added {
            if let (Some(secret), Some(clear)) = (&user.password, clear) {
                passwords.insert(secret.clone(), clear.clone());
            }
            users.push(user.clone());
        }
        let name = u.name.value.trim();
        if !name.is_empty() {
            let secret = format!("{name}-password");
            let password = if u.pass1.value.is_empty() {
                None
            } else {
                passwords.insert(secret.clone(), u.pass1.value.clone());
                Some(secret)
            };
            let key = u.ssh_key.value.trim();
            users.push(UserSection {
                name: name.into(),
                uid: None,
                description: u.full_name.value.trim().into(),
                groups: if u.admin { vec!["wheel".into()] } else { vec![] },
                password,
                ssh_keys: if key.is_empty() { vec![] } else { vec![key.into()] },
                shell: None,
            });
        }
        (root, users)
    }

    /// The answer the forms stand for (secrets named, not filled), with the clear-text passwords
    /// by secret name and the other secrets (the LUKS passphrase, the given answer's secrets).
    /// Asked sections come from the forms, the others as the given answer has them.
    pub fn answer(&self) -> Result<(Answer, Secrets, Secrets), FieldProblem> {
        let storage = self.storage_spec()?;
        let mut passwords = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        let given = self.given.as_ref().map(|g| &g.answer);
        let mut system = given.map(|a| a.system.clone()).unwrap_or_default();
        match self.taken(Step::Language) {
            Some(a) => (system.keymap, system.locale) = (a.system.keymap.clone(), a.system.locale.clone()),
            None => {
                system.keymap = self.language.keymap.current().unwrap_or("us").into();
                system.locale = self.language.locale.current().unwrap_or("en_US.UTF-8").into();
            }
        }
        let network = match self.taken(Step::Network) {
            Some(a) => {
                system.hostname = a.system.hostname.clone();
                a.network.clone()
            }
            None => {
                system.hostname = self.network.hostname.value.trim().into();
                self.form_network()
            }
        };
        system.timezone = match self.taken(Step::TimeZone) {
            Some(a) => a.system.timezone.clone(),
            None => self.zone.current().map(str::to_string),
        };
        let (root, users) = match self.taken(Step::Users) {
            Some(a) => (a.root.clone(), a.users.clone()),
            None => {
                let (root, users) = self.form_users(&mut passwords);
                system.ssh = users.iter().any(|u| !u.ssh_keys.is_empty());
                (root, users)
            }
        };
        let extra = self.config.extra.trim();
        let answer = Answer {
            version: 1,
            storage,
            system,
            network,
            root,
            users,
            groups: given.map(|a| a.groups.clone()).unwrap_or_default(),
            nix: NixSection {
                extra: (!extra.is_empty()).then(|| extra.to_string()),
                file: given.and_then(|a| a.nix.file.clone()),
            },
            finish: FinishSection { action: FinishAction::None, wait_for_removal: false },
            secrets: BTreeMap::new(),
            secrets_file: None,
            interactive: Default::default(),
            // An answer's late and error hooks run after the TUI's install as after `auto`'s.
            hooks: given.map(|a| a.hooks.clone()).unwrap_or_default(),
            report: given.and_then(|a| a.report.clone()),
        };
        let named = crate::answer::secret_names(&answer);
        // The passphrase of a guided encrypted layout, from the form.
        if self.taken(Step::Storage).is_none() && named.iter().any(|n| n == guided::PASSPHRASE_SECRET) {
            secrets.insert(guided::PASSPHRASE_SECRET.to_string(), self.storage.pass1.value.clone());
        }
        // The given answer's secrets that this answer still names, as they are.
        if let Some(g) = &self.given {
            for name in named {
                if let (Some(v), false) = (g.secrets.get(&name), passwords.contains_key(&name)) {
                    secrets.entry(name).or_insert_with(|| v.clone());
                }
            }
        }
        Ok((answer, passwords, secrets))
    }

    /// The answer planned on this machine (placeholders stand for secrets, so that the checks of
    /// secret references pass; the runtime fills in the real ones).
    pub fn plan(&self) -> Result<Prepared, FieldProblem> {
        let (mut a, passwords, secrets) = self.answer()?;
        for k in passwords.keys().chain(secrets.keys()) {
            a.secrets.insert(k.clone(), "$6$placeholder$placeholder".into());
        }
        let Some(Ok(probe)) = &self.probe else { return Err(problem("disk", "looking for disks…")) };
        let dir = self.given.as_ref().map(|g| g.dir.clone()).unwrap_or_else(|| PathBuf::from("/"));
        let prepared =
            session::prepare(&a, probe, std::path::Path::new("/mnt"), &dir).map_err(|mut p| p.remove(0))?;
        Ok(Prepared { answer: Answer { secrets: BTreeMap::new(), ..prepared.answer }, ..prepared })
    }

    /// The configuration.nix that will be written.
    pub fn configuration_nix(&self) -> Option<String> {
        self.plan().ok().map(|p| p.configuration_nix)
    }

    /// The step's focusable fields (their names, for the focus ring and problems).
    pub fn fields(&self, step: Step) -> Vec<&'static str> {
        match step {
            Step::Language => vec!["keymap", "locale", "try"],
            Step::Network => {
                let mut f = vec!["hostname", "interface", "mode"];
                if self.network.static_ip {
                    f.extend(["address", "gateway", "dns"]);
                }
                f
            }
            Step::Storage => {
                let mut f = vec!["disk", "layout"];
                if self.layout() != Layout::Custom {
                    f.push("encrypt");
                    if self.storage.encrypt {
                        f.extend(["passphrase", "passphrase again"]);
                    }
                    f.push("swap");
                }
                f
            }
            Step::Users => {
                let mut f = vec!["root"];
                if self.users.root_password {
                    f.extend(["root password", "root password again"]);
                }
                f.extend(["name", "full name", "password", "password again", "admin", "SSH key", "add user"]);
                f
            }
            Step::Review => vec!["confirm"],
            _ => vec![],
        }
    }

    pub fn focused(&self) -> &'static str {
        let f = self.fields(self.step);
        let i = match self.step {
            Step::Language => self.language.focus,
            Step::Network => self.network.focus,
            Step::Storage => self.storage.focus,
            Step::Users => self.users.focus,
            _ => 0,
        };
        f.get(i.min(f.len().saturating_sub(1))).copied().unwrap_or("")
    }

    fn focus_mut(&mut self) -> Option<&mut usize> {
        match self.step {
            Step::Language => Some(&mut self.language.focus),
            Step::Network => Some(&mut self.network.focus),
            Step::Storage => Some(&mut self.storage.focus),
            Step::Users => Some(&mut self.users.focus),
            _ => None,
        }
    }

    fn move_focus(&mut self, forward: bool) {
        let n = self.fields(self.step).len();
        if let Some(f) = self.focus_mut() {
            if n > 0 {
                *f = if forward { (*f + 1) % n } else { (*f + n - 1) % n };
            }
        }
    }

    /// The disk names the review asks the person to type (`vda`, or `vda vdb`).
    pub fn erase_words(&self) -> String {
        match self.plan() {
            Ok(p) => p
                .plan
                .target_disks()
                .iter()
                .map(|d| d.trim_start_matches("/dev/").to_string())
                .collect::<Vec<_>>()
                .join(" "),
            Err(_) => String::new(),
        }
    }
}

/// The pure update: applies `msg` to the model and returns the work to do.
pub fn update(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Tick(t) => {
            m.now = t;
            vec![]
        }
        Msg::Redraw => vec![],
        Msg::Probed(p) => {
            // Looking again keeps what was chosen (by path); the first look starts on the first
            // disk that can be installed to.
            let chosen = m.disks().get(m.storage.disk).map(|d| d.path.clone());
            let second = m.storage.second.and_then(|i| m.disks().get(i)).map(|d| d.path.clone());
            // Floppy and optical drives, RAM disks and loop devices (the live system's squashfs)
            // are no disks to a person; a boot medium people can hold stays, not selectable.
            let p = p.map(|mut p| {
                p.disks.retain(ProbedDisk::shown_to_people);
                p
            });
            m.probe = Some(p);
            let at = |m: &Model, path: &Option<String>| {
                path.as_ref().and_then(|p| m.disks().iter().position(|d| &d.path == p))
            };
            m.storage.second = at(m, &second);
            match at(m, &chosen) {
                Some(i) => m.storage.disk = i,
                None => {
                    m.storage.disk = m.disks().iter().position(|d| m.unusable(d).is_none()).unwrap_or(0);
                }
            }
            refresh(m);
            vec![]
        }
        Msg::SpecEdited(text) => {
            m.storage.custom = Some(text);
            refresh(m);
            vec![]
        }
        Msg::NixEdited(text) => {
            m.config.extra = text;
            m.config.eval = Evaluation::NotYet;
            evaluate(m)
        }
        Msg::Evaluated(r) => {
            m.config.eval = match r {
                Ok(warnings) => Evaluation::Ok(warnings),
                Err(e) => Evaluation::Failed(e),
            };
            refresh(m);
            vec![]
        }
        Msg::Progress(e) => {
            progress(m, e);
            vec![]
        }
        Msg::Installed(r) => {
            match r {
                Ok(summary) => {
                    m.install.done = Some(summary);
                    m.step = Step::Finish;
                }
                Err((step, reason)) => {
                    for p in &mut m.install.phases {
                        if p.state == PhaseState::Running {
                            p.state = PhaseState::Failed;
                        }
                    }
                    let step = m.install.failed_step.take().unwrap_or(step);
                    m.install.failed = Some((step, reason));
                }
            }
            vec![]
        }
        Msg::LogsSaved(r) => {
            m.dialog = Some(Dialog::Message(match r {
                Ok(place) => format!("The logs are saved in {place}."),
                Err(e) => format!("The logs were not saved: {e}"),
            }));
            vec![]
        }
        Msg::Busy(who) => {
            m.held_by = Some(who.clone());
            m.step = Step::Review;
            m.dialog = Some(Dialog::Message(format!(
                "Another installer holds the disks: {who}. Nothing was touched."
            )));
            vec![]
        }
        Msg::Key(k) => key(m, k),
    }
}

/// Re-checks the current step after a change.
fn refresh(m: &mut Model) {
    m.problems = m.step_problems(m.step);
}

/// Starts evaluating the configuration if its text changed since the last evaluation.
fn evaluate(m: &mut Model) -> Vec<Cmd> {
    match m.configuration_nix() {
        Some(text) if text != m.config.evaluated || m.config.eval == Evaluation::NotYet => {
            m.config.evaluated = text.clone();
            m.config.eval = Evaluation::Running;
            refresh(m);
            vec![Cmd::Evaluate(text)]
        }
        _ => vec![],
    }
}

/// The next (or previous) step the person is asked.
fn neighbour(m: &Model, from: Step, forward: bool) -> Step {
    let mut s = from;
    loop {
        let t = if forward { s.next() } else { s.prev() };
        if t == s || m.asks(t) || t >= Step::Review {
            return if !forward && !m.asks(t) { from } else { t };
        }
        s = t;
    }
}

fn go(m: &mut Model, step: Step) -> Vec<Cmd> {
    m.step = step;
    m.problems = vec![];
    if step == Step::Configuration {
        return evaluate(m);
    }
    vec![]
}

fn key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    if k.kind == crossterm::event::KeyEventKind::Release {
        return vec![];
    }
    // Dialogs first.
    if let Some(d) = &m.dialog {
        match d {
            Dialog::ConfirmQuit => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    m.quit = true;
                    return vec![Cmd::Quit];
                }
                _ => m.dialog = None,
            },
            Dialog::Help | Dialog::Message(_) => m.dialog = None,
        }
        return vec![];
    }
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match k.code {
        KeyCode::Char('c') if ctrl => {
            if m.step == Step::Installing && m.install.failed.is_none() {
                m.dialog =
                    Some(Dialog::Message("The install is running; it cannot be stopped halfway.".into()));
            } else {
                m.dialog = Some(Dialog::ConfirmQuit);
            }
            return vec![];
        }
        KeyCode::F(1) => {
            m.dialog = Some(Dialog::Help);
            return vec![];
        }
        KeyCode::F(2) => return vec![Cmd::Shell],
        _ => {}
    }
    match m.step {
        Step::Installing => return installing_key(m, k),
        Step::Finish => return finish_key(m, k),
        _ => {}
    }
    match k.code {
        KeyCode::Esc => return go(m, neighbour(m, m.step, false)),
        KeyCode::Tab => {
            let cmds = keymap_chosen(m);
            m.move_focus(true);
            return cmds;
        }
        KeyCode::BackTab => {
            let cmds = keymap_chosen(m);
            m.move_focus(false);
            return cmds;
        }
        _ => {}
    }
    let cmds = match m.step {
        Step::Language => language_key(m, k),
        Step::Network => network_key(m, k),
        Step::Storage => storage_key(m, k),
        Step::TimeZone => {
            if !key_is(&k, KeyCode::Enter) {
                m.zone.key(k);
            }
            vec![]
        }
        Step::Users => users_key(m, k),
        Step::Configuration => config_key(m, k),
        Step::Review => review_key(m, k),
        Step::Installing | Step::Finish => vec![],
    };
    if !cmds.is_empty() || m.step == Step::Review {
        // The review keeps its own message (the confirmation).
        return cmds;
    }
    refresh(m);
    if key_is(&k, KeyCode::Enter) && m.step == Step::Users && m.focused() == "add user" {
        add_user(m);
        return vec![];
    }
    if key_is(&k, KeyCode::Enter) && m.step != Step::Review {
        if m.problems.is_empty() {
            let mut cmds = keymap_chosen(m);
            cmds.extend(go(m, neighbour(m, m.step, true)));
            return cmds;
        }
        return vec![];
    }
    vec![]
}

/// On a VT, the keymap chosen in the list is loaded when the person leaves the list (Tab to try
/// it, Enter to go on), not at each move: the layouts on the way (other machines' among them)
/// would read the next keys, arrows and letters alike.
fn keymap_chosen(m: &mut Model) -> Vec<Cmd> {
    if m.step != Step::Language || m.focused() != "keymap" || !m.live.vt {
        return vec![];
    }
    let Some(km) = m.language.keymap.current().map(str::to_string) else { return vec![] };
    if m.language.loaded.as_deref() == Some(km.as_str()) {
        return vec![];
    }
    m.language.loaded = Some(km.clone());
    vec![Cmd::LoadKeymap(km)]
}

/// Up/Down move between fields when the focused one is not a list.
fn arrows_move_focus(m: &mut Model, k: &KeyEvent) -> bool {
    match k.code {
        KeyCode::Up => m.move_focus(false),
        KeyCode::Down => m.move_focus(true),
        _ => return false,
    }
    true
}

fn language_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    match m.focused() {
        "keymap" => {
            m.language.keymap.key(k);
        }
        "locale" => {
            m.language.locale.key(k);
        }
        _ => {
            if !arrows_move_focus(m, &k) {
                m.language.try_it.key(k);
            }
        }
    }
    vec![]
}

fn network_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    let ifaces = m.live.interfaces.len();
    match m.focused() {
        "hostname" => {
            if !arrows_move_focus(m, &k) {
                m.network.hostname.key(k);
            }
        }
        "interface" => match k.code {
            KeyCode::Up => m.network.iface = m.network.iface.saturating_sub(1),
            KeyCode::Down => m.network.iface = (m.network.iface + 1).min(ifaces.saturating_sub(1)),
            _ => {}
        },
        "mode" => {
            if key_is(&k, KeyCode::Char(' ')) {
                m.network.static_ip = !m.network.static_ip;
            } else {
                arrows_move_focus(m, &k);
            }
        }
        f => {
            if !arrows_move_focus(m, &k) {
                let field = match f {
                    "address" => &mut m.network.address,
                    "gateway" => &mut m.network.gateway,
                    _ => &mut m.network.dns,
                };
                field.key(k);
            }
        }
    }
    vec![]
}

fn storage_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    let ndisks = m.disks().len();
    match m.focused() {
        "disk" => match k.code {
            KeyCode::Up => m.storage.disk = m.storage.disk.saturating_sub(1),
            KeyCode::Down => m.storage.disk = (m.storage.disk + 1).min(ndisks.saturating_sub(1)),
            KeyCode::Char(' ') => {
                // Space marks the second disk of RAID1.
                let i = m.storage.disk;
                if let Some(why) = m.disks().get(i).and_then(|d| m.unusable(d)) {
                    m.dialog = Some(Dialog::Message(format!("{}: {why}", m.disks()[i].path)));
                } else {
                    m.storage.second = if m.storage.second == Some(i) { None } else { Some(i) };
                }
            }
            KeyCode::Char('r') => return vec![Cmd::Probe],
            _ => {}
        },
        "layout" => match k.code {
            KeyCode::Up => m.storage.layout = m.storage.layout.saturating_sub(1),
            KeyCode::Down => m.storage.layout = (m.storage.layout + 1).min(Layout::ALL.len() - 1),
            KeyCode::Enter if m.layout() == Layout::Custom && m.storage.custom.is_none() => {
                return vec![Cmd::EditSpec(custom_start(m))];
            }
            KeyCode::Char('e') if m.layout() == Layout::Custom => {
                return vec![Cmd::EditSpec(m.storage.custom.clone().unwrap_or_else(|| custom_start(m)))];
            }
            _ => {}
        },
        "encrypt" => {
            if key_is(&k, KeyCode::Char(' ')) {
                m.storage.encrypt = !m.storage.encrypt;
            } else {
                arrows_move_focus(m, &k);
            }
        }
        f => {
            if !arrows_move_focus(m, &k) {
                let field = match f {
                    "passphrase" => &mut m.storage.pass1,
                    "passphrase again" => &mut m.storage.pass2,
                    _ => &mut m.storage.swap,
                };
                field.key(k);
            }
        }
    }
    vec![]
}

/// What Custom opens first: the spec of the guided layout chosen before (ext4 if none).
fn custom_start(m: &Model) -> String {
    let mut probe = m.clone();
    let custom = Layout::ALL.iter().position(|l| *l == Layout::Custom).unwrap_or(0);
    probe.storage.layout = if m.storage.layout == custom { 0 } else { m.storage.layout };
    let body = probe.storage_spec().map(|s| guided::to_toml(&s)).unwrap_or_default();
    format!(
        "# The storage spec of this install (the [storage] table of an answer file).\n# Save and quit the editor to check it; problems are shown with line:col.\n{body}"
    )
}

fn users_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    match m.focused() {
        "root" => {
            if key_is(&k, KeyCode::Char(' ')) {
                m.users.root_password = !m.users.root_password;
            } else {
                arrows_move_focus(m, &k);
            }
        }
        "admin" => {
            if key_is(&k, KeyCode::Char(' ')) {
                m.users.admin = !m.users.admin;
            } else {
                arrows_move_focus(m, &k);
            }
        }
        "add user" => {
            arrows_move_focus(m, &k);
        }
        f => {
            if !arrows_move_focus(m, &k) {
                let u = &mut m.users;
                let field = match f {
                    "root password" => &mut u.root1,
                    "root password again" => &mut u.root2,
                    "name" => &mut u.name,
                    "full name" => &mut u.full_name,
                    "password" => &mut u.pass1,
                    "password again" => &mut u.pass2,
                    _ => &mut u.ssh_key,
                };
                field.key(k);
            }
        }
    }
    vec![]
}

/// Keeps the user of the form (when it has no problem) and clears the form for the next one.
fn add_user(m: &mut Model) {
    let problems: Vec<FieldProblem> =
        m.step_problems(Step::Users).into_iter().filter(|p| p.field != "root").collect();
    if m.users.name.value.trim().is_empty() {
        m.problems = vec![problem("name", "type the user's name first")];
        return;
    }
    if !problems.is_empty() {
        m.problems = problems;
        return;
    }
    let Ok((answer, passwords, _)) = m.answer() else { return };
    let Some(user) = answer.users.last().cloned() else { return };
    let clear = user.password.as_ref().and_then(|s| passwords.get(s).cloned());
    let name_field = m.fields(Step::Users).iter().position(|f| *f == "name").unwrap_or(0);
    let u = &mut m.users;
    u.added.push((user, clear));
    for f in [&mut u.name, &mut u.full_name, &mut u.pass1, &mut u.pass2, &mut u.ssh_key] {
        f.set("");
    }
    u.admin = false;
    u.focus = name_field;
    m.problems = vec![];
}

fn config_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    let c = &mut m.config;
    match k.code {
        KeyCode::Up => c.scroll = c.scroll.saturating_sub(1),
        KeyCode::Down => c.scroll = c.scroll.saturating_add(1),
        KeyCode::PageUp => c.scroll = c.scroll.saturating_sub(10),
        KeyCode::PageDown => c.scroll = c.scroll.saturating_add(10),
        KeyCode::Home => c.scroll = 0,
        KeyCode::Char('e') => {
            let text = if c.extra.is_empty() {
                "# Nix added inside the configuration's { … }, e.g.\n# environment.systemPackages = [ ];\n"
                    .into()
            } else {
                c.extra.clone()
            };
            return vec![Cmd::EditNix(text)];
        }
        KeyCode::Enter if m.config.eval == Evaluation::NotYet => return evaluate(m),
        _ => {}
    }
    vec![]
}

fn review_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    if !key_is(&k, KeyCode::Enter) {
        m.confirm.key(k);
        return vec![];
    }
    let wanted = m.erase_words();
    let typed: Vec<&str> = m.confirm.value.split_whitespace().collect();
    let wanted_words: Vec<&str> = wanted.split_whitespace().collect();
    if wanted_words.is_empty() || typed != wanted_words {
        m.problems = vec![problem("confirm", format!("type {wanted:?} to erase and start"))];
        return vec![];
    }
    // Every step once more: nothing is written while any has a problem.
    for s in Step::FORMS {
        let p = m.step_problems(s);
        if !p.is_empty() {
            let first = p[0].clone();
            m.step = s;
            m.problems = p;
            m.dialog = Some(Dialog::Message(format!("{}: {}: {}", s.title(), first.field, first.message)));
            return vec![];
        }
    }
    match m.answer() {
        Ok((answer, passwords, secrets)) => {
            start_install(m);
            vec![Cmd::Install { answer: Box::new(answer), passwords, secrets }]
        }
        Err(p) => {
            m.problems = vec![p];
            vec![]
        }
    }
}

fn start_install(m: &mut Model) {
    m.step = Step::Installing;
    m.install = InstallState {
        phases: PHASES
            .iter()
            .map(|n| Phase {
                name: n,
                state: PhaseState::Waiting,
                done: 0,
                total: 0,
                started: 0.0,
                secs: 0.0,
            })
            .collect(),
        started: m.now,
        ..Default::default()
    };
}

fn installing_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    match k.code {
        KeyCode::Char('l') => m.install.show_log = !m.install.show_log,
        _ if m.install.failed.is_some() => match k.code {
            // Retry: back to the review; the install starts clean (teardown ran).
            KeyCode::Char('r') => {
                m.step = Step::Review;
                m.confirm = TextInput::default();
            }
            KeyCode::Char('s') => return vec![Cmd::Shell],
            KeyCode::Char('w') => return vec![Cmd::SaveLogs],
            KeyCode::Char('p') => return vec![Cmd::Finish(FinishAction::Poweroff)],
            _ => {}
        },
        _ => {}
    }
    vec![]
}

fn finish_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    match k.code {
        KeyCode::Up => m.finish = m.finish.saturating_sub(1),
        KeyCode::Down => m.finish = (m.finish + 1).min(FINISH_CHOICES.len() - 1),
        KeyCode::Enter => return vec![Cmd::Finish(FINISH_CHOICES[m.finish].1)],
        _ => {}
    }
    vec![]
}

/// Which phase a step or stage event starts.
fn phase_of(e: &Event) -> Option<usize> {
    match e {
        Event::StepStarted { step, .. } => match step.as_str() {
            "partitioning, formatting, mounting" => Some(0),
            "writing the configuration" => Some(1),
            "setting passwords" => Some(7),
            _ => None,
        },
        Event::Stage { stage } => Some(match stage {
            Stage::Evaluate => 2,
            Stage::Copy => 3,
            Stage::Activate => 4,
            Stage::Initrd => 5,
            Stage::Bootloader => 6,
        }),
        _ => None,
    }
}

/// Folds an install event into the progress screen.
fn progress(m: &mut Model, e: Event) {
    let now = m.now;
    let st = &mut m.install;
    if let Some(i) = phase_of(&e) {
        for (j, p) in st.phases.iter_mut().enumerate() {
            if j < i && p.state != PhaseState::Done {
                if p.state == PhaseState::Running {
                    p.secs = now - p.started;
                }
                p.state = PhaseState::Done;
            }
        }
        if let Some(p) = st.phases.get_mut(i) {
            p.state = PhaseState::Running;
            p.started = now;
        }
    }
    let line = match &e {
        Event::StepStarted { step, .. } => Some(format!("== {step}")),
        Event::StepFinished { step, secs, .. } => Some(format!("== {step}: done in {secs:.1}s")),
        Event::StepFailed { step, error, .. } => {
            st.failed_step = Some(step.clone());
            Some(format!("!! {step}: {error}"))
        }
        Event::Action { n, total, action } => {
            if let Some(p) = st.phases.first_mut() {
                p.done = *n as u64;
                p.total = *total as u64;
            }
            Some(format!("[{n}/{total}] {action}"))
        }
        Event::Copy { bytes, total_bytes, .. } => {
            if let Some(p) = st.phases.get_mut(3) {
                p.done = *bytes;
                p.total = *total_bytes;
            }
            None
        }
        Event::Command { cmdline, .. } => Some(cmdline.clone()),
        Event::Warning { message } => Some(format!("warning: {message}")),
        Event::Info { message } => Some(message.clone()),
        Event::Stage { .. } => None,
    };
    if let Event::StepFinished { step, .. } = &e {
        if step == "unmounting the target" {
            for p in &mut st.phases {
                if p.state != PhaseState::Done {
                    if p.state == PhaseState::Running {
                        p.secs = now - p.started;
                    }
                    p.state = PhaseState::Done;
                }
            }
        }
    }
    if let Some(l) = line {
        st.log.push(l);
        if st.log.len() > 2000 {
            st.log.drain(..1000);
        }
    }
}

/// Keys from text, for tests and scripted runs: each char a key, `\t` Tab, `\n` Enter.
pub fn keys(text: &str) -> Vec<KeyEvent> {
    text.chars()
        .map(|c| match c {
            '\t' => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
            '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        })
        .collect()
}

/// Where the TUI writes what it did.
pub fn log_dir() -> PathBuf {
    PathBuf::from("/var/log/installer")
}
