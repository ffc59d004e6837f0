//! The TUI without a terminal: `update` driven by messages and scripted keys, every screen drawn
//! on ratatui's `TestBackend` at 80x24 and 120x40 and compared with `insta` snapshots.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::model::*;
use super::view::view;
use crate::progress::{Event, Stage};
use crate::storage::probe::{Probe, ProbedDisk, ProbedPartition};
use crate::storage::size::{GIB, MIB};
use crate::storage::spec::PartType;

fn disk(path: &str, model: &str, serial: &str, size: u64) -> ProbedDisk {
    ProbedDisk::blank(path, model, serial, size)
}

/// The machine of the design sketch: an empty disk, a disk with data, a busy disk and the boot
/// medium.
pub fn probe() -> Probe {
    let mut data = disk("/dev/vdb", "QEMU HARDDISK", "DATA-DISK", 4 * GIB);
    data.table = Some("gpt".into());
    data.partitions = vec![ProbedPartition {
        number: 1,
        path: "/dev/vdb1".into(),
        start_bytes: MIB,
        size: 2 * GIB,
        kind: Some(PartType::Linux),
        fstype: Some("ext4".into()),
        label: Some("data".into()),
    }];
    let mut busy = disk("/dev/vdc", "QEMU HARDDISK", "BUSY-DISK", 2 * GIB);
    busy.busy = vec!["/dev/vdc1 is mounted on /srv".into()];
    let mut medium = disk("/dev/sr0", "QEMU DVD-ROM", "QM00003", 250 * MIB);
    medium.transport = "ata".into();
    medium.boot_medium = true;
    medium.fstype = Some("iso9660".into());
    Probe {
        disks: vec![disk("/dev/vda", "QEMU HARDDISK", "DEMO-DISK", 8 * GIB), data, busy, medium],
        uefi: false,
        system_bytes: None,
    }
}

pub fn live() -> LiveData {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    LiveData {
        keymaps: s(&["de", "fr", "uk", "us"]),
        locales: s(&["C.UTF-8", "de_DE.UTF-8", "en_GB.UTF-8", "en_US.UTF-8", "nl_NL.UTF-8"]),
        zones: s(&["America/New_York", "Europe/Amsterdam", "Europe/Berlin", "UTC"]),
        interfaces: vec![Interface {
            name: "ens3".into(),
            up: true,
            mac: "52:54:00:12:34:56".into(),
            addresses: vec!["10.0.2.15/24".into()],
        }],
        vt: false,
    }
}

fn model() -> Model {
    let mut m = Model::new(live(), false);
    update(&mut m, Msg::Probed(Ok(probe())));
    m
}

fn k(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Sends keys; returns every command they caused.
fn press(m: &mut Model, keys: impl IntoIterator<Item = KeyEvent>) -> Vec<Cmd> {
    keys.into_iter().flat_map(|key| update(m, Msg::Key(key))).collect()
}

fn typed(m: &mut Model, text: &str) -> Vec<Cmd> {
    press(m, keys(text))
}

fn screen(m: &Model, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    format!("{}", t.backend())
}

/// Both sizes of one state.
fn snap(name: &str, m: &Model) {
    insta::assert_snapshot!(format!("{name}-80x24"), screen(m, 80, 24));
    insta::assert_snapshot!(format!("{name}-120x40"), screen(m, 120, 40));
}

/// Walks the forms with keys as a person would: hostname, guided ext4 on the first free disk,
/// a time zone by search, a user with a password, the evaluation, the review.
fn walk_to_review(m: &mut Model) {
    assert!(press(m, [k(KeyCode::Enter)]).is_empty());
    assert_eq!(m.step, Step::Network);
    press(m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(m, "demo\n");
    assert_eq!(m.step, Step::Storage, "{:?}", m.problems);
    typed(m, "\n");
    assert_eq!(m.step, Step::TimeZone, "{:?}", m.problems);
    typed(m, "amst\n");
    assert_eq!(m.step, Step::Users);
    // root (locked) → name → full name → password → again
    typed(m, "\talice\tAlice Liddell\tcorrect horse 1\tcorrect horse 1");
    let cmds = typed(m, "\n");
    assert_eq!(m.step, Step::Configuration, "{:?}", m.problems);
    let Some(Cmd::Evaluate(text)) = cmds.first() else { panic!("no evaluation: {cmds:?}") };
    assert!(text.contains("users.users.\"alice\""), "{text}");
    // Enter while evaluating: not yet.
    typed(m, "\n");
    assert_eq!(m.step, Step::Configuration);
    update(m, Msg::Evaluated(Ok(vec![])));
    typed(m, "\n");
    assert_eq!(m.step, Step::Review);
}

#[test]
fn a_scripted_install_yields_the_golden_answer() {
    let mut m = model();
    walk_to_review(&mut m);
    // A wrong name does not start anything.
    assert!(typed(&mut m, "vdb\n").is_empty());
    assert_eq!(m.problems[0].field, "confirm");
    press(&mut m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    let cmds = typed(&mut m, "vda\n");
    let Some(Cmd::Install { answer, passwords, secrets }) = cmds.into_iter().next() else {
        panic!("no install")
    };
    assert_eq!(m.step, Step::Installing);
    assert_eq!(passwords.get("alice-password").map(String::as_str), Some("correct horse 1"));
    assert!(secrets.is_empty());
    let golden_text = include_str!("testdata/golden-answer.toml");
    let mut golden = crate::answer::parse(golden_text, "golden-answer.toml").unwrap();
    golden.secrets_file = None;
    assert_eq!(*answer, golden, "got:\n{}", crate::answer::replayable(&answer));
    // What the TUI saves into the target reads back as the same answer.
    let saved = crate::answer::replayable(&answer);
    let mut again = crate::answer::parse(&saved, "answer.toml").unwrap();
    assert_eq!(again.secrets_file.as_deref(), Some(std::path::Path::new("answer-secrets.toml")));
    again.secrets_file = None;
    assert_eq!(again, *answer);
    assert!(!saved.contains("correct horse"));
}

#[test]
fn the_boot_medium_and_busy_disks_cannot_be_chosen() {
    let mut m = model();
    m.step = Step::Storage;
    // vda is chosen first; down to the busy disk and the medium.
    press(&mut m, [k(KeyCode::Down), k(KeyCode::Down)]);
    assert_eq!(m.storage.disk, 2);
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Storage);
    assert!(m.problems[0].message.contains("busy"), "{:?}", m.problems);
    snap("storage-busy-disk", &m);
    press(&mut m, [k(KeyCode::Down)]);
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Storage);
    assert!(m.problems[0].message.contains("boot medium"), "{:?}", m.problems);
    // Space (RAID1's second disk) refuses it too.
    typed(&mut m, " ");
    assert_eq!(m.storage.second, None);
    assert!(matches!(&m.dialog, Some(Dialog::Message(t)) if t.contains("boot medium")));
}

#[test]
fn the_plan_follows_every_choice() {
    let mut m = model();
    m.step = Step::Storage;
    let plan = |m: &Model| m.plan().map(|p| super::view::plan_summary(&p.plan)).unwrap_or_default();
    assert!(plan(&m).contains("/dev/vda"), "{}", plan(&m));
    // Layout: LVM, encrypted, with swap.
    press(&mut m, [k(KeyCode::Tab), k(KeyCode::Down), k(KeyCode::Down), k(KeyCode::Tab)]);
    assert_eq!(m.layout(), super::guided::Layout::Lvm);
    typed(&mut m, " ");
    assert!(m.storage.encrypt);
    typed(&mut m, "\tsecret\tsecreX\t");
    press(&mut m, [k(KeyCode::Backspace)]);
    typed(&mut m, "1GiB\n");
    assert_eq!(m.step, Step::Storage);
    assert_eq!(m.problems[0].field, "passphrase again");
    snap("storage-lvm-luks-mismatch", &m);
    press(&mut m, [KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE), k(KeyCode::Backspace)]);
    typed(&mut m, "t\n");
    assert_eq!(m.step, Step::TimeZone, "{:?}", m.problems);
    let (_, _, secrets) = m.answer().unwrap();
    assert_eq!(secrets.get(super::guided::PASSPHRASE_SECRET).map(String::as_str), Some("secret"));
    let p = m.plan().unwrap();
    let text = p.plan.to_string();
    assert!(text.contains("LUKS") && text.contains("vg0"), "{text}");
    // The passphrase is in no plan, no configuration.
    assert!(!text.contains("secret\n") && !p.configuration_nix.contains("secret\""));
}

#[test]
fn raid1_and_install_beside_from_the_storage_screen() {
    let mut m = model();
    m.step = Step::Storage;
    // Mark vdb as the second disk, choose RAID1.
    press(&mut m, [k(KeyCode::Down), k(KeyCode::Char(' ')), k(KeyCode::Up), k(KeyCode::Tab)]);
    press(&mut m, [k(KeyCode::Down), k(KeyCode::Down), k(KeyCode::Down)]);
    assert_eq!(m.layout(), super::guided::Layout::Raid1);
    let p = m.plan().unwrap();
    assert_eq!(p.plan.target_disks(), vec!["/dev/vda", "/dev/vdb"]);
    assert_eq!(m.erase_words(), "vda vdb");
    snap("storage-raid1", &m);
    // Beside the existing system on vdb: its partition is kept.
    press(&mut m, [k(KeyCode::Down), k(KeyCode::BackTab), k(KeyCode::Down)]);
    assert_eq!(m.layout(), super::guided::Layout::Beside);
    let p = m.plan().unwrap();
    assert!(p.plan.to_string().contains("KEEP"), "{}", p.plan);
    snap("storage-beside", &m);
}

#[test]
fn custom_opens_the_guided_spec_and_reports_problems_with_line_and_column() {
    let mut m = model();
    m.step = Step::Storage;
    press(&mut m, [k(KeyCode::Tab), k(KeyCode::End)]);
    for _ in 0..5 {
        press(&mut m, [k(KeyCode::Down)]);
    }
    assert_eq!(m.layout(), super::guided::Layout::Custom);
    let cmds = typed(&mut m, "\n");
    let Some(Cmd::EditSpec(text)) = cmds.first() else { panic!("{cmds:?}") };
    assert!(text.contains("serial = \"DEMO-DISK\""), "{text}");
    update(&mut m, Msg::SpecEdited(text.replace("type = \"bios-boot\"", "type = \"bios-boot\"\nsizes = 3")));
    assert_eq!(m.problems[0].field, "custom");
    assert!(m.problems[0].message.contains(':'), "{}", m.problems[0].message);
    snap("storage-custom-error", &m);
    update(&mut m, Msg::SpecEdited(text.clone()));
    assert!(m.problems.is_empty(), "{:?}", m.problems);
}

#[test]
fn fields_are_checked_as_typed() {
    let mut m = model();
    m.step = Step::Network;
    press(&mut m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut m, "-bad");
    assert_eq!(m.problems[0].field, "hostname");
    press(&mut m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut m, "web1\t\t ");
    assert!(m.network.static_ip);
    typed(&mut m, "\t10.0.0.5\t10.0.0.1\t9.9.9.9");
    assert_eq!(m.problems[0].field, "address");
    snap("network-static-error", &m);
    press(&mut m, [KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE); 2]);
    typed(&mut m, "/24\n");
    assert_eq!(m.step, Step::Storage, "{:?}", m.problems);
    let (a, _, _) = m.answer().unwrap();
    assert_eq!(a.network.interfaces[0].addresses, vec!["10.0.0.5/24"]);
    assert_eq!(a.network.gateway.as_deref(), Some("10.0.0.1"));
    assert_eq!(a.network.nameservers, vec!["9.9.9.9"]);
}

#[test]
fn users_flag_weak_and_mismatched_passwords_and_bad_names() {
    let mut m = model();
    m.step = Step::Users;
    typed(&mut m, "\tAlice\t\tabc\tabd");
    let fields: Vec<&str> = m.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, vec!["name", "password again"]);
    assert_eq!(m.password_warnings(), vec![("password", "weak: shorter than 8 characters")]);
    snap("users-errors", &m);
    // Root with a password, no user: allowed.
    let mut m = model();
    m.step = Step::Users;
    typed(&mut m, " \tLong enough 1\tLong enough 1\n");
    assert_eq!(m.step, Step::Configuration, "{:?}", m.problems);
    // Root locked and no administrator: refused.
    let mut m = model();
    m.step = Step::Users;
    typed(&mut m, "\n");
    assert_eq!(m.problems[0].field, "root");
    // An SSH key instead of a password, checked.
    let mut m = model();
    m.step = Step::Users;
    typed(&mut m, "\tbob\t\t\t\t\tnot-a-key");
    assert_eq!(m.problems[0].field, "SSH key");
    press(&mut m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut m, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZ2 bob@laptop\n");
    assert_eq!(m.step, Step::Configuration, "{:?}", m.problems);
    let (a, p, _) = m.answer().unwrap();
    assert!(a.system.ssh);
    assert!(p.is_empty());
}

/// The evaluation's warnings (an option under its 16.09 name in the added Nix) are shown above
/// the configuration; they do not stop the install.
#[test]
fn evaluation_warnings_are_shown_on_the_configuration_screen() {
    let mut m = model();
    assert!(press(&mut m, [k(KeyCode::Enter)]).is_empty());
    press(&mut m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut m, "demo\n");
    typed(&mut m, "\n");
    typed(&mut m, "amst\n");
    typed(&mut m, "\talice\tAlice Liddell\tcorrect horse 1\tcorrect horse 1");
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Configuration);
    let w = "The option `users.extraUsers' defined in `/etc/nixos/configuration.nix' has been renamed to `users.users'.";
    update(&mut m, Msg::Evaluated(Ok(vec![w.into()])));
    let text = screen(&m, 120, 40);
    assert!(text.contains("evaluated") && text.contains("1 warning(s) (see below)"), "{text}");
    assert!(text.contains("warning: The option `users.extraUsers' defined in"), "{text}");
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Review, "warnings do not block: {:?}", m.problems);
}

#[test]
fn every_screen_at_both_sizes() {
    let mut m = model();
    snap("language", &m);
    typed(&mut m, "\n");
    snap("network", &m);
    typed(&mut m, "\n");
    snap("storage", &m);
    typed(&mut m, "\n");
    typed(&mut m, "euro");
    snap("timezone-search", &m);
    typed(&mut m, "\n");
    typed(&mut m, "\talice\tAlice Liddell\tcorrect horse 1\tcorrect horse 1");
    snap("users", &m);
    typed(&mut m, "\n");
    update(
        &mut m,
        Msg::Evaluated(Err("error: undefined variable 'foo' at /etc/nixos/configuration.nix:40:3".into())),
    );
    snap("configuration-eval-failed", &m);
    update(&mut m, Msg::NixEdited("services.openssh.enable = true;".into()));
    update(&mut m, Msg::Evaluated(Ok(vec![])));
    snap("configuration", &m);
    typed(&mut m, "\n");
    typed(&mut m, "vda");
    snap("review", &m);
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Installing);
    update(&mut m, Msg::Tick(10.0));
    for e in [
        Event::StepStarted { n: 1, total: 6, step: "partitioning, formatting, mounting".into() },
        Event::Action { n: 3, total: 4, action: "make ext4 filesystem on /dev/vda2".into() },
        Event::Command { what: "mkfs".into(), cmdline: "mkfs.ext4 -F -L nixos /dev/vda2".into() },
        Event::StepStarted { n: 2, total: 6, step: "writing the configuration".into() },
        Event::Stage { stage: Stage::Evaluate },
    ] {
        update(&mut m, Msg::Progress(e));
    }
    update(&mut m, Msg::Tick(27.0));
    update(&mut m, Msg::Progress(Event::Stage { stage: Stage::Copy }));
    update(&mut m, Msg::Tick(37.0));
    update(
        &mut m,
        Msg::Progress(Event::Copy {
            files: 9000,
            total_files: 21000,
            bytes: 300 << 20,
            total_bytes: 720 << 20,
        }),
    );
    snap("installing-copy", &m);
    update(
        &mut m,
        Msg::Installed(Err((
            "installing the system and the bootloader".into(),
            "step \"installing the system and the bootloader\" failed: copying /usr: No space left on device"
                .into(),
        ))),
    );
    snap("installing-failed", &m);
    update(
        &mut m,
        Msg::Installed(Ok(
            "Installed generation 1 in 95 s (21000 files copied); bootloader: GRUB on /dev/vda.".into(),
        )),
    );
    snap("finish", &m);
    let cmds = press(&mut m, [k(KeyCode::Down), k(KeyCode::Enter)]);
    assert_eq!(cmds, vec![Cmd::Finish(crate::answer::FinishAction::Poweroff)]);
}

#[test]
fn small_screens_ascii_terminals_help_and_quit() {
    let m = model();
    insta::assert_snapshot!("too-small-60x20", screen(&m, 60, 20));
    let mut a = Model::new(live(), true);
    update(&mut a, Msg::Probed(Ok(probe())));
    a.step = Step::Storage;
    insta::assert_snapshot!("storage-ascii-80x24", screen(&a, 80, 24));
    let s = screen(&a, 80, 24);
    assert!(s.is_ascii(), "{s}");
    let mut m = model();
    press(&mut m, [k(KeyCode::F(1))]);
    insta::assert_snapshot!("help-80x24", screen(&m, 80, 24));
    press(&mut m, [k(KeyCode::Char('x'))]);
    assert_eq!(m.dialog, None);
    press(&mut m, [KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)]);
    assert_eq!(m.dialog, Some(Dialog::ConfirmQuit));
    assert_eq!(press(&mut m, [k(KeyCode::Char('y'))]), vec![Cmd::Quit]);
    assert!(m.quit);
    // F2 asks for a shell from anywhere.
    let mut m = model();
    assert_eq!(press(&mut m, [k(KeyCode::F(2))]), vec![Cmd::Shell]);
}

#[test]
fn the_keymap_is_loaded_when_the_list_is_left_on_a_vt() {
    let mut m = model();
    m.live.vt = true;
    // Moving through the list loads nothing: the layouts on the way would read the next keys.
    assert_eq!(press(&mut m, [k(KeyCode::Up)]), vec![]);
    assert_eq!(typed(&mut m, "d"), vec![]);
    // Leaving the list (Tab to try it) loads the one chosen, once.
    assert_eq!(press(&mut m, [k(KeyCode::Tab)]), vec![Cmd::LoadKeymap("de".into())]);
    assert_eq!(press(&mut m, [k(KeyCode::BackTab)]), vec![]);
    assert_eq!(press(&mut m, [k(KeyCode::Tab)]), vec![]);
    let (a, _, _) = {
        let mut m = m.clone();
        m.step = Step::Users;
        typed(&mut m, " \tLong enough 1\tLong enough 1");
        m.answer().unwrap()
    };
    assert_eq!(a.system.keymap, "de");
}

#[test]
fn a_prefilled_answer_fills_the_forms() {
    let a = crate::answer::parse(include_str!("testdata/golden-answer.toml"), "golden-answer.toml").unwrap();
    let mut m = model();
    m.prefill(&a);
    assert_eq!(m.network.hostname.value, "demo");
    assert_eq!(m.zone.current(), Some("Europe/Amsterdam"));
    assert_eq!(m.users.name.value, "alice");
    assert_eq!(m.layout(), super::guided::Layout::Custom);
    let p = m.plan().unwrap();
    assert_eq!(p.plan.target_disks(), vec!["/dev/vda"]);
}

#[test]
fn install_progress_moves_through_the_phases() {
    let mut m = model();
    walk_to_review(&mut m);
    typed(&mut m, "vda\n");
    update(
        &mut m,
        Msg::Progress(Event::StepStarted {
            n: 1,
            total: 6,
            step: "partitioning, formatting, mounting".into(),
        }),
    );
    assert_eq!(m.install.phases[0].state, PhaseState::Running);
    update(&mut m, Msg::Tick(5.0));
    update(&mut m, Msg::Progress(Event::Stage { stage: Stage::Initrd }));
    assert!(m.install.phases[..5].iter().all(|p| p.state == PhaseState::Done));
    assert_eq!(m.install.phases[5].state, PhaseState::Running);
    update(
        &mut m,
        Msg::Progress(Event::StepFinished {
            n: 6,
            total: 6,
            step: "unmounting the target".into(),
            secs: 1.0,
        }),
    );
    assert!(m.install.phases.iter().all(|p| p.state == PhaseState::Done));
    // Ctrl-C while installing does not quit.
    press(&mut m, [KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)]);
    assert!(matches!(m.dialog, Some(Dialog::Message(_))));
    // A failure offers retry: back to the review, nothing restarted by itself.
    let mut m = model();
    walk_to_review(&mut m);
    typed(&mut m, "vda\n");
    update(
        &mut m,
        Msg::Progress(Event::StepFailed {
            n: 3,
            total: 6,
            step: "installing the system".into(),
            error: "x".into(),
        }),
    );
    update(&mut m, Msg::Installed(Err(("install".into(), "reason".into()))));
    // The failure is named by the step the install reported.
    assert_eq!(m.install.failed.as_ref().map(|f| f.0.as_str()), Some("installing the system"));
    assert_eq!(typed(&mut m, "s"), vec![Cmd::Shell]);
    assert_eq!(typed(&mut m, "w"), vec![Cmd::SaveLogs]);
    update(&mut m, Msg::LogsSaved(Ok("installer-logs-1 on /dev/sdb1".into())));
    assert!(matches!(&m.dialog, Some(Dialog::Message(t)) if t.contains("/dev/sdb1")));
    typed(&mut m, " ");
    assert!(typed(&mut m, "r").is_empty());
    assert_eq!(m.step, Step::Review);
    // Another front end holding the lock: told who.
    let cmds = typed(&mut m, "vda\n");
    assert!(matches!(cmds.first(), Some(Cmd::Install { .. })));
    update(&mut m, Msg::Busy("installer tui on /dev/ttyS0 (pid 7)".into()));
    assert_eq!(m.step, Step::Review);
    assert!(matches!(&m.dialog, Some(Dialog::Message(t)) if t.contains("ttyS0")));
}

#[test]
fn password_hashes_are_sha512_crypt() {
    let h = super::hash_password("correct horse 1").unwrap();
    assert!(h.starts_with("$6$"), "{h}");
    assert!(sha_crypt::sha512_check("correct horse 1", &h).is_ok());
    assert_ne!(h, super::hash_password("correct horse 1").unwrap(), "salted");
}

#[test]
fn looking_at_the_disks_again_keeps_the_chosen_one() {
    let mut m = model();
    m.step = Step::Storage;
    press(&mut m, [k(KeyCode::Down)]);
    assert_eq!(m.storage.disk, 1);
    assert_eq!(typed(&mut m, "r"), vec![Cmd::Probe]);
    update(&mut m, Msg::Probed(Ok(probe())));
    assert_eq!(m.storage.disk, 1);
}

#[test]
fn interactive_sections_ask_only_what_the_answer_lists() {
    let text = r#"version = 1
[system]
hostname = "given"
timezone = "Europe/Berlin"
[[user]]
name = "alice"
groups = ["wheel"]
password = "alice-hash"
[secrets]
alice-hash = "$6$salt$hash"
[[storage.disk]]
match = { serial = "DEMO-DISK" }
[[storage.disk.partition]]
size = "1MiB"
type = "bios-boot"
[[storage.disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
[interactive]
sections = ["timezone"]
"#;
    let answer = crate::answer::parse(text, "a.toml").unwrap();
    let secrets = answer.secrets.clone();
    let mut m = model();
    m.start_from(Given { answer, secrets, dir: "/".into() });
    // The first screen is the first asked one; there is nothing before it to go back to.
    assert_eq!(m.step, Step::TimeZone);
    press(&mut m, [k(KeyCode::Esc)]);
    assert_eq!(m.step, Step::TimeZone);
    let cmds = typed(&mut m, "amst\n");
    // Users are given: next is the configuration (always shown, it is evaluated).
    assert_eq!(m.step, Step::Configuration, "{:?}", m.problems);
    assert!(matches!(cmds.first(), Some(Cmd::Evaluate(_))));
    update(&mut m, Msg::Evaluated(Ok(vec![])));
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Review);
    let cmds = typed(&mut m, "vda\n");
    let Some(Cmd::Install { answer, passwords, secrets }) = cmds.into_iter().next() else {
        panic!("no install")
    };
    assert_eq!(answer.system.hostname, "given");
    assert_eq!(answer.system.timezone.as_deref(), Some("Europe/Amsterdam"));
    assert_eq!(answer.users[0].password.as_deref(), Some("alice-hash"));
    assert!(passwords.is_empty());
    assert_eq!(secrets.get("alice-hash").map(String::as_str), Some("$6$salt$hash"));
    assert_eq!(answer.storage.disks.len(), 1);
    assert!(answer.interactive.is_empty());
    // `installer auto` refuses such an answer (it needs the TUI), and an answer that asks for
    // storage needs none.
    let asks_storage = text.replace("sections = [\"timezone\"]", "sections = [\"storage\"]");
    let cut = asks_storage.find("[[storage.disk]]").unwrap();
    let end = asks_storage.find("[interactive]").unwrap();
    let without_storage = format!("{}{}", &asks_storage[..cut], &asks_storage[end..]);
    let a = crate::answer::parse(&without_storage, "b.toml").unwrap();
    assert!(a.interactive.asks(crate::answer::Section::Storage));
}

/// Plain QEMU's default devices: a floppy drive listed first, the CD, a zram disk, a disk too
/// small for the system, and one large enough, which is chosen.
#[test]
fn floppies_ram_disks_and_disks_too_small_are_never_chosen() {
    let mut medium = disk("/dev/sr0", "QEMU DVD-ROM", "QM00003", 250 * MIB);
    medium.boot_medium = true;
    let p = Probe {
        disks: vec![
            disk("/dev/fd0", "", "", 4096),
            disk("/dev/sr1", "QEMU DVD-ROM", "QM00004", 700 * MIB),
            medium,
            disk("/dev/zram0", "", "", 16 * GIB),
            disk("/dev/vda", "QEMU HARDDISK", "SMALL", GIB),
            disk("/dev/vdb", "QEMU HARDDISK", "LARGE", 8 * GIB),
            // The live system's squashfs, on the medium.
            ProbedDisk { boot_medium: true, ..disk("/dev/loop0", "", "", 200 * MIB) },
        ],
        uefi: false,
        system_bytes: Some(900 * MIB),
    };
    let mut m = Model::new(live(), false);
    update(&mut m, Msg::Probed(Ok(p)));
    let names: Vec<&str> = m.disks().iter().map(|d| d.path.as_str()).collect();
    assert_eq!(names, ["/dev/sr0", "/dev/vda", "/dev/vdb"], "the boot medium is shown, not offered");
    assert_eq!(m.disks()[m.storage.disk].path, "/dev/vdb", "the first disk large enough");
    m.step = Step::Storage;
    let s = screen(&m, 80, 24);
    assert!(s.contains("too small: system needs 1.7 GiB"), "{s}");
    // Choosing the small disk anyway is refused with the sizes.
    press(&mut m, [k(KeyCode::Up)]);
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Storage);
    assert!(m.problems[0].message.contains("too small"), "{:?}", m.problems);
}

#[test]
fn more_disks_than_fit_are_announced_and_loops_are_no_disks() {
    let mut p = probe();
    for (i, name) in ["vdd", "vde", "loop0"].iter().enumerate() {
        p.disks.push(disk(&format!("/dev/{name}"), "QEMU HARDDISK", &format!("EXTRA-{i}"), 2 * GIB));
    }
    let mut m = Model::new(live(), false);
    update(&mut m, Msg::Probed(Ok(p)));
    assert!(m.disks().iter().all(|d| !d.path.starts_with("/dev/loop")));
    m.step = Step::Storage;
    let s = screen(&m, 80, 24);
    assert!(s.contains("(2 more disks below)"), "{s}");
    // Moving down scrolls the chosen disk into view.
    press(&mut m, [k(KeyCode::Down); 5]);
    let s = screen(&m, 80, 24);
    assert!(s.contains("> vde") && s.contains("serial EXTRA-1"), "{s}");
}

#[test]
fn more_users_are_added_one_after_the_other() {
    let mut m = model();
    m.step = Step::Users;
    // Adding with no name: refused.
    press(&mut m, [k(KeyCode::BackTab)]);
    assert_eq!(m.focused(), "add user");
    typed(&mut m, "\n");
    assert_eq!(m.problems[0].field, "name");
    press(&mut m, [k(KeyCode::Tab), k(KeyCode::Tab)]);
    assert_eq!(m.focused(), "name");
    typed(&mut m, "alice\tAlice\tcorrect horse 1\tcorrect horse 1\t\t\t\n");
    assert_eq!(m.users.added.len(), 1, "{:?}", m.problems);
    assert_eq!((m.users.name.value.as_str(), m.focused()), ("", "name"));
    // The same name twice is refused; bob is no administrator and logs in with a key.
    typed(&mut m, "alice");
    assert!(m.problems.iter().any(|p| p.message == "alice is already added"), "{:?}", m.problems);
    press(&mut m, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut m, "bob\tBob\t\t\t\tssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZ2 bob@laptop");
    snap("users-added", &m);
    typed(&mut m, "\n");
    assert_eq!(m.step, Step::Configuration, "{:?}", m.problems);
    let (a, passwords, _) = m.answer().unwrap();
    let names: Vec<&str> = a.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(a.users[0].groups, ["wheel"]);
    assert!(a.users[1].groups.is_empty() && a.users[1].password.is_none());
    assert_eq!(passwords.get("alice-password").map(String::as_str), Some("correct horse 1"));
    assert!(a.system.ssh);
}
