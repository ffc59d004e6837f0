//! The pure view: draws a [`Model`] into a frame. Nothing here reads anything but the model.

use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::guided::Layout;
use super::model::*;
use super::widgets::{FilterList, TextInput};
use crate::storage::size::human;

/// The smallest screen the installer draws on.
pub const MIN: (u16, u16) = (80, 24);

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Marks that have an ASCII form.
struct Marks {
    radio_on: &'static str,
    radio_off: &'static str,
    ok: &'static str,
    running: &'static str,
    waiting: &'static str,
    failed: &'static str,
    bar_full: &'static str,
    bar_empty: &'static str,
    border: border::Set<'static>,
}

fn marks(ascii: bool) -> Marks {
    if ascii {
        Marks {
            radio_on: "(*)",
            radio_off: "( )",
            ok: "ok",
            running: ">",
            waiting: "-",
            failed: "!!",
            bar_full: "#",
            bar_empty: ".",
            border: ASCII_BORDER,
        }
    } else {
        Marks {
            radio_on: "(•)",
            radio_off: "( )",
            ok: "✓",
            running: "▶",
            waiting: "·",
            failed: "✗",
            bar_full: "█",
            bar_empty: "░",
            border: border::PLAIN,
        }
    }
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn reversed() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

fn help(step: Step, m: &Model) -> &'static str {
    match step {
        Step::Language => " ↑↓ choose  type to search  Tab next field  Enter next  F1 help  F2 shell ",
        Step::Network => " Tab/↑↓ field  Space DHCP/static  Enter next  Esc back  F2 shell ",
        Step::Storage => {
            if m.layout() == Layout::Custom {
                " ↑↓ choose  Tab field  e edit spec  Enter next  Esc back  F2 shell "
            } else {
                " ↑↓ choose  Space mark/toggle  Tab field  Enter next  Esc back  F2 shell "
            }
        }
        Step::TimeZone => " ↑↓ choose  type to search  Enter next  Esc back  F2 shell ",
        Step::Users => " Tab/↑↓ field  Space toggle  Enter next  Esc back  F2 shell ",
        Step::Configuration => " ↑↓ PgUp PgDn scroll  e add Nix  Enter next  Esc back  F2 shell ",
        Step::Review => " type the disk names, Enter install  Esc back  F2 shell ",
        Step::Installing => {
            if m.install.failed.is_some() {
                " r retry  s shell  w save logs to a USB stick  p power off  l log "
            } else {
                " l full log  F2 shell "
            }
        }
        Step::Finish => " ↑↓ choose  Enter do it ",
    }
}

fn ascii_help(s: &str) -> String {
    s.replace("↑↓", "Up/Down").replace('↑', "Up").replace('↓', "Down")
}

/// Draws the whole screen.
pub fn view(m: &Model, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN.0 || area.height < MIN.1 {
        let text = format!(
            "The installer needs a screen of at least {}x{}; this one is {}x{}.\nEnlarge the window or the font, or press F2 for a shell.",
            MIN.0, MIN.1, area.width, area.height
        );
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let mk = marks(m.ascii);
    let title = match m.step {
        Step::Installing => format!(" Installing · 8/8 {} ", clock(m.now - m.install.started)),
        Step::Finish => " Finished ".to_string(),
        s => format!(" Install · {}/8 {} ", s.number(), s.title()),
    };
    let h = help(m.step, m);
    let h = if m.ascii { ascii_help(h) } else { h.to_string() };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(mk.border)
        .title_top(Line::from(Span::styled(if m.ascii { title.replace('·', "-") } else { title }, bold())))
        .title_bottom(Line::from(h));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [body, problems] = Split::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    match m.step {
        Step::Language => language(m, f, body),
        Step::Network => network(m, f, body),
        Step::Storage => storage(m, f, body),
        Step::TimeZone => zone(m, f, body),
        Step::Users => users(m, f, body),
        Step::Configuration => configuration(m, f, body),
        Step::Review => review(m, f, body),
        Step::Installing => installing(m, f, inner),
        Step::Finish => finish(m, f, body),
    }
    if m.step != Step::Installing {
        let mut lines: Vec<Line> = m
            .problems
            .iter()
            .take(2)
            .map(|p| Line::from(Span::styled(format!("! {}: {}", p.field, p.message), bold())))
            .collect();
        if m.step == Step::Users && lines.len() < 2 {
            for (field, w) in m.password_warnings().into_iter().take(2 - lines.len()) {
                lines.push(Line::from(format!("  {field}: {w}")));
            }
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), problems);
    }
    if let Some(d) = &m.dialog {
        dialog(m, f, area, d);
    }
    if m.ascii {
        // Whatever text still holds beyond ASCII (messages, names) is shown in ASCII too.
        for cell in f.buffer_mut().content.iter_mut() {
            let sym = cell.symbol();
            if !sym.is_ascii() {
                let c = match sym {
                    "…" => ".",
                    "·" | "─" | "—" | "–" => "-",
                    "│" => "|",
                    "•" => "*",
                    _ => "?",
                };
                cell.set_symbol(c);
            }
        }
    }
}

fn clock(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// `label [value    ]`, reversed when focused; a cursor is placed in the focused text field.
fn field_line<'a>(m: &Model, label: &str, name: &str, input: &TextInput, width: usize) -> Line<'a> {
    let focused = m.focused() == name;
    let shown = input.shown(m.ascii);
    let shown: String = {
        let n = shown.chars().count();
        if n > width {
            shown.chars().skip(n - width).collect()
        } else {
            format!("{shown:<width$}")
        }
    };
    let style = if focused { reversed() } else { Style::default() };
    Line::from(vec![
        Span::raw(format!("{label:<14}")),
        Span::raw("["),
        Span::styled(shown, style),
        Span::raw("]"),
    ])
}

fn toggle_line<'a>(m: &Model, label: &str, name: &str, on: bool, text: &str) -> Line<'a> {
    let focused = m.focused() == name;
    let mark = if on { "[x]" } else { "[ ]" };
    let style = if focused { reversed() } else { Style::default() };
    Line::from(vec![Span::raw(format!("{label:<14}")), Span::styled(format!("{mark} {text}"), style)])
}

/// A searchable list: the search field, then the items around the selection.
fn filter_list(m: &Model, f: &mut Frame, area: Rect, title: &str, l: &FilterList, focused: bool) {
    let mk = marks(m.ascii);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(mk.border)
        .title(Span::styled(format!(" {title} "), if focused { bold() } else { Style::default() }));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines = vec![Line::from(format!("search: {}", l.filter.value))];
    let visible = l.visible();
    let rows = inner.height.saturating_sub(1) as usize;
    let first = l.selected.saturating_sub(rows.saturating_sub(1) / 2).min(visible.len().saturating_sub(rows));
    for (i, item) in visible.iter().enumerate().skip(first).take(rows) {
        let sel = i == l.selected;
        let text = format!("{} {item}", if sel { ">" } else { " " });
        lines
            .push(Line::from(Span::styled(text, if sel && focused { reversed() } else { Style::default() })));
    }
    if visible.is_empty() {
        lines.push(Line::from("  (nothing matches)"));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn language(m: &Model, f: &mut Frame, area: Rect) {
    let [lists, tryit] = Split::vertical([Constraint::Min(4), Constraint::Length(2)]).areas(area);
    let [a, b] = Split::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(lists);
    filter_list(m, f, a, "Keyboard layout", &m.language.keymap, m.focused() == "keymap");
    filter_list(m, f, b, "System locale", &m.language.locale, m.focused() == "locale");
    let note = if m.live.vt {
        "Tab: the layout applies to this console"
    } else {
        "(not a VT: the layout applies to the installed system)"
    };
    let lines = vec![
        field_line(m, "Try it:", "try", &m.language.try_it, 40),
        Line::from(format!("              {note}")),
    ];
    f.render_widget(Paragraph::new(lines), tryit);
}

fn network(m: &Model, f: &mut Frame, area: Rect) {
    let n = &m.network;
    let mut lines = vec![field_line(m, "Host name", "hostname", &n.hostname, 30), Line::from("")];
    lines.push(Line::from(Span::styled("Interfaces", bold())));
    if m.live.interfaces.is_empty() {
        lines.push(Line::from("  no network interface found (the system is installed without network)"));
    }
    for (i, iface) in m.live.interfaces.iter().enumerate() {
        let sel = i == n.iface;
        let link = if iface.up { "link up" } else { "no link" };
        let addrs =
            if iface.addresses.is_empty() { "no address".to_string() } else { iface.addresses.join(" ") };
        let text = format!(
            "{} {:<10} {:<8} {}  {}",
            if sel { ">" } else { " " },
            iface.name,
            link,
            iface.mac,
            addrs
        );
        let style = if sel && m.focused() == "interface" { reversed() } else { Style::default() };
        lines.push(Line::from(Span::styled(text, style)));
    }
    lines.push(Line::from(""));
    let mk = marks(m.ascii);
    let style = if m.focused() == "mode" { reversed() } else { Style::default() };
    let iface = m.live.interfaces.get(n.iface).map(|i| i.name.as_str()).unwrap_or("-");
    let (d, s) = if n.static_ip { (mk.radio_off, mk.radio_on) } else { (mk.radio_on, mk.radio_off) };
    lines.push(Line::from(vec![
        Span::raw(format!("{:<14}", "Addresses")),
        Span::styled(format!("{d} DHCP on every wired interface   {s} static on {iface}"), style),
    ]));
    if n.static_ip {
        lines.push(field_line(m, "  Address", "address", &n.address, 24));
        lines.push(field_line(m, "  Gateway", "gateway", &n.gateway, 24));
        lines.push(field_line(m, "  DNS", "dns", &n.dns, 40));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn disk_lines<'a>(m: &Model) -> Vec<Line<'a>> {
    let mut lines = vec![];
    match &m.probe {
        None => lines.push(Line::from("looking for disks…")),
        Some(Err(e)) => lines.push(Line::from(format!("probing failed: {e}"))),
        Some(Ok(p)) if p.disks.is_empty() => lines.push(Line::from("no disk found (r: look again)")),
        Some(Ok(p)) => {
            for (i, d) in p.disks.iter().enumerate() {
                let sel = i == m.storage.disk;
                let second = m.storage.second == Some(i);
                let mark = if sel {
                    ">"
                } else if second {
                    "+"
                } else {
                    " "
                };
                let model = if d.model.is_empty() { "unknown model" } else { &d.model };
                let style = if sel && m.focused() == "disk" { reversed() } else { Style::default() };
                let name = d.path.trim_start_matches("/dev/");
                lines.push(Line::from(Span::styled(
                    format!("{mark} {name:<8}{:>10}  {}", human(d.size), trunc(model, 18)),
                    style,
                )));
                let serial = if d.serial.is_empty() {
                    "no serial".into()
                } else {
                    format!("serial {}", trunc(&d.serial, 14))
                };
                lines.push(Line::from(format!("    {serial}  {}", d.transport)));
                let what = match m.unusable(d) {
                    Some(why) => why,
                    None if d.partitions.is_empty() && d.fstype.is_none() => "empty".into(),
                    None if d.partitions.is_empty() => d.fstype.clone().unwrap_or_default(),
                    None => d
                        .partitions
                        .iter()
                        .map(|p| {
                            let fs = p.fstype.as_deref().unwrap_or("?");
                            match &p.label {
                                Some(l) => format!("{fs} \"{l}\" {}", human(p.size)),
                                None => format!("{fs} {}", human(p.size)),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                lines.push(Line::from(format!("    {}", trunc(&what, 34))));
            }
        }
    }
    lines
}

fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "~"
    }
}

fn storage(m: &Model, f: &mut Frame, area: Rect) {
    let mk = marks(m.ascii);
    let plan_rows = if area.height > 20 { area.height / 2 } else { 7 };
    let [top, plan] = Split::vertical([Constraint::Min(6), Constraint::Length(plan_rows)]).areas(area);
    let [left, right] = Split::horizontal([Constraint::Length(40), Constraint::Min(30)]).areas(top);
    let disks =
        Block::default().borders(Borders::RIGHT).border_set(mk.border).title(Span::styled("Disks", bold()));
    let dl = disks.inner(left);
    f.render_widget(disks, left);
    let lines = disk_lines(m);
    // Keep the selected disk in view (3 lines each); say when more are below.
    let rows = dl.height as usize;
    let avail = if lines.len() > rows { rows.saturating_sub(1) } else { rows };
    let skip = (m.storage.disk * 3 + 3).saturating_sub(avail);
    let mut shown: Vec<Line> = lines.into_iter().skip(skip).collect();
    if shown.len() > rows && rows > 1 {
        // Disks whose first line is hidden.
        let more = (shown.len() - (rows - 1)) / 3;
        shown.truncate(rows - 1);
        shown.push(Line::from(match more {
            0 => "  (more below)".to_string(),
            1 => "  (1 more disk below)".to_string(),
            n => format!("  ({n} more disks below)"),
        }));
    }
    f.render_widget(Paragraph::new(shown), dl);
    let mut r = vec![Line::from(Span::styled("Layout", bold()))];
    for (i, l) in Layout::ALL.iter().enumerate() {
        let on = i == m.storage.layout;
        let style = if on && m.focused() == "layout" { reversed() } else { Style::default() };
        r.push(Line::from(Span::styled(
            format!(" {} {}", if on { mk.radio_on } else { mk.radio_off }, l.label()),
            style,
        )));
    }
    if m.layout() == Layout::Custom {
        r.push(Line::from(match &m.storage.custom {
            None => " Enter: edit the spec in the editor".to_string(),
            Some(_) => " e: edit the spec again".to_string(),
        }));
    } else {
        r.push(toggle_line(m, " Encrypt", "encrypt", m.storage.encrypt, "LUKS2"));
        if m.storage.encrypt {
            r.push(field_line(m, " Passphrase", "passphrase", &m.storage.pass1, 20));
            r.push(field_line(m, " Again", "passphrase again", &m.storage.pass2, 20));
            // Stage 1 asks for it with the installed system's keymap.
            let layout = m.language.keymap.current().unwrap_or("us");
            r.push(Line::from(format!("   typed at boot with layout {}", trunc(layout, 14))));
        }
        r.push(field_line(m, " Swap", "swap", &m.storage.swap, 10));
    }
    f.render_widget(Paragraph::new(r), right);
    let pb = Block::default().borders(Borders::TOP).border_set(mk.border).title(Span::styled("Plan", bold()));
    let pl = pb.inner(plan);
    f.render_widget(pb, plan);
    let text = match m.plan() {
        Ok(p) => plan_summary(&p.plan),
        Err(e) => format!("No plan yet: {}: {}", e.field, e.message),
    };
    f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), pl);
}

/// The plan for people, short: what happens to which disk, by model, serial and size.
pub fn plan_summary(p: &crate::storage::Plan) -> String {
    let full = p.to_string();
    let mut out = vec![];
    for l in full.lines() {
        // The actions follow the disks; the screen shows the disks.
        if l.trim_start().starts_with("Actions:") {
            break;
        }
        if l.trim().is_empty() {
            continue;
        }
        // Partition rows without their sector range: `  2  /dev/vda2  8.0 GiB linux ext4 -> /`.
        let t: Vec<&str> = l.split_whitespace().collect();
        let is_row = t.len() > 3
            && t[0].chars().all(|c| c.is_ascii_digit())
            && t[1].starts_with("/dev/")
            && t[2].contains('-')
            && t[2].chars().all(|c| c.is_ascii_digit() || c == '-');
        if is_row {
            out.push(format!("  {:<3}{:<12} {}", t[0], t[1], t[3..].join(" ")));
        } else {
            out.push(l.trim_end().replace(" [disk[0]]", "").to_string());
        }
    }
    out.join("\n")
}

fn zone(m: &Model, f: &mut Frame, area: Rect) {
    filter_list(m, f, area, "Time zone", &m.zone, true);
}

fn users(m: &Model, f: &mut Frame, area: Rect) {
    let mk = marks(m.ascii);
    let u = &m.users;
    let style = if m.focused() == "root" { reversed() } else { Style::default() };
    let (locked, pw) =
        if u.root_password { (mk.radio_off, mk.radio_on) } else { (mk.radio_on, mk.radio_off) };
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("{:<14}", "Root account")),
        Span::styled(format!("{locked} locked, admins use sudo   {pw} password"), style),
    ])];
    if u.root_password {
        lines.push(field_line(m, "  password", "root password", &u.root1, 20));
        lines.push(field_line(m, "  again", "root password again", &u.root2, 20));
    }
    lines.push(Line::from(""));
    for (a, _) in &u.added {
        let admin = if a.groups.iter().any(|g| g == "wheel") { ", administrator" } else { "" };
        let keys = if a.ssh_keys.is_empty() { "" } else { ", SSH key" };
        lines.push(Line::from(format!("Added: {} ({}{admin}{keys})", a.name, a.description)));
    }
    let title = if u.added.is_empty() {
        "User (leave the name empty for none)"
    } else {
        "Another user (or leave the name empty)"
    };
    lines.push(Line::from(Span::styled(title, bold())));
    lines.push(field_line(m, "  name", "name", &u.name, 20));
    lines.push(field_line(m, "  full name", "full name", &u.full_name, 30));
    lines.push(field_line(m, "  password", "password", &u.pass1, 20));
    let matched = if u.pass2.value.is_empty() {
        ""
    } else if u.pass1.value == u.pass2.value {
        if m.ascii {
            "  ok: match"
        } else {
            "  ✓ match"
        }
    } else {
        "  do not match"
    };
    let mut again = field_line(m, "  again", "password again", &u.pass2, 20);
    again.spans.push(Span::raw(matched));
    lines.push(again);
    lines.push(toggle_line(m, "  ", "admin", u.admin, "administrator (wheel, may use sudo)"));
    lines.push(field_line(m, "  SSH key", "SSH key", &u.ssh_key, 50));
    lines.push(Line::from("                (paste an OpenSSH public key; it enables sshd)"));
    let style = if m.focused() == "add user" { reversed() } else { Style::default() };
    lines.push(Line::from(Span::styled("  [ Add another user ]", style)));
    f.render_widget(Paragraph::new(lines), area);
}

fn configuration(m: &Model, f: &mut Frame, area: Rect) {
    let [status, text] = Split::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mk = marks(m.ascii);
    let state = match &m.config.eval {
        Evaluation::NotYet => "not evaluated yet (Enter evaluates)".to_string(),
        Evaluation::Running => "evaluating with the Nix evaluator…".to_string(),
        Evaluation::Ok(w) if w.is_empty() => format!("evaluated {}", mk.ok),
        Evaluation::Ok(w) => format!("evaluated {}, {} warning(s) (see below)", mk.ok, w.len()),
        Evaluation::Failed(_) => "the evaluation FAILED (see below; e to fix the added Nix)".to_string(),
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![Span::styled("configuration.nix  ", bold()), Span::raw(state)])),
        status,
    );
    let mut body =
        m.configuration_nix().unwrap_or_else(|| "(no configuration: a step before has a problem)".into());
    match &m.config.eval {
        Evaluation::Failed(e) => body = format!("{e}\n\n{body}"),
        Evaluation::Ok(w) if !w.is_empty() => {
            let warnings: String = w.iter().map(|w| format!("warning: {w}\n")).collect();
            body = format!("{warnings}\n{body}");
        }
        _ => {}
    }
    f.render_widget(Paragraph::new(body).scroll((m.config.scroll, 0)), text);
}

fn review(m: &Model, f: &mut Frame, area: Rect) {
    let mk = marks(m.ascii);
    let mut lines = vec![];
    match m.plan() {
        Ok(p) => {
            let a = &p.answer;
            let net = if a.network.interfaces.is_empty() {
                "DHCP".to_string()
            } else {
                let i = &a.network.interfaces[0];
                format!("{} {}", i.name, i.addresses.join(" "))
            };
            lines.push(Line::from(format!(
                "Host   {} · {} · {} · keymap {} · {net}",
                a.system.hostname,
                a.system.timezone.as_deref().unwrap_or("UTC"),
                a.system.locale,
                a.system.keymap
            )));
            let users: Vec<String> = a
                .users
                .iter()
                .map(|u| {
                    let mut s = u.name.clone();
                    if u.groups.iter().any(|g| g == "wheel") {
                        s.push_str(" (wheel)");
                    }
                    if !u.ssh_keys.is_empty() {
                        s.push_str(" + SSH key");
                    }
                    s
                })
                .collect();
            let root = if a.root.password.is_some() { "root has a password" } else { "root locked" };
            lines.push(Line::from(format!(
                "Users  {} · {root}",
                if users.is_empty() { "none".into() } else { users.join(", ") }
            )));
            let fw = if p.plan.firmware == crate::storage::plan::Firmware::Uefi { "UEFI" } else { "BIOS" };
            let loader = match p.plan.bootloader {
                crate::storage::plan::Bootloader::Grub => "GRUB",
                crate::storage::plan::Bootloader::SystemdBoot => "systemd-boot",
                crate::storage::plan::Bootloader::None => "no bootloader",
            };
            lines.push(Line::from(format!("Boot   {fw} · {loader}")));
            for l in plan_summary(&p.plan).lines().skip(1).take(area.height.saturating_sub(8) as usize) {
                lines.push(Line::from(format!("       {l}")));
            }
            let eval = match &m.config.eval {
                Evaluation::Ok(_) => format!("evaluated {}", mk.ok),
                Evaluation::Failed(_) => "evaluation FAILED".into(),
                _ => "not evaluated".into(),
            };
            lines.push(Line::from(format!("configuration.nix  {eval}")));
            lines.push(Line::from(""));
            let words = m.erase_words();
            lines.push(Line::from(Span::styled(
                format!("Nothing has been written yet. Type \"{words}\" and Enter to ERASE it and install:"),
                bold(),
            )));
            if let Some(who) = &m.held_by {
                lines.push(Line::from(format!("(another installer holds the disks: {who})")));
            }
            lines.push(field_line(m, "Erase", "confirm", &m.confirm, 20));
        }
        Err(e) => lines.push(Line::from(format!("Not ready: {}: {}", e.field, e.message))),
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn bar(mk: &Marks, done: u64, total: u64, width: usize) -> String {
    let filled =
        if total == 0 { 0 } else { ((done as f64 / total as f64) * width as f64) as usize }.min(width);
    format!("{}{}", mk.bar_full.repeat(filled), mk.bar_empty.repeat(width - filled))
}

fn installing(m: &Model, f: &mut Frame, area: Rect) {
    let mk = marks(m.ascii);
    let st = &m.install;
    let n = st.phases.len() as u16;
    let [phases, rule, log] =
        Split::vertical([Constraint::Length(n + 1), Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut lines = vec![];
    for (i, p) in st.phases.iter().enumerate() {
        let mark = match p.state {
            PhaseState::Waiting => mk.waiting,
            PhaseState::Running => mk.running,
            PhaseState::Done => mk.ok,
            PhaseState::Failed => mk.failed,
        };
        let mut text = format!("{mark:<2} {:<38}", p.name);
        match p.state {
            PhaseState::Done => text.push_str(&format!("{:>8.1} s", p.secs)),
            PhaseState::Running if i == 3 && p.total > 0 => {
                let secs = (m.now - p.started).max(0.1);
                let rate = p.done as f64 / secs;
                let left = if rate > 0.0 { (p.total - p.done.min(p.total)) as f64 / rate } else { 0.0 };
                text = format!(
                    "{mark:<2} {:<19} {} {}/{} MiB {:>3} MiB/s {}",
                    "Copying the system",
                    bar(&mk, p.done, p.total, 14),
                    p.done >> 20,
                    p.total >> 20,
                    (rate as u64) >> 20,
                    clock(left)
                );
            }
            PhaseState::Running if p.total > 0 => {
                text.push_str(&format!("{} {}/{}", bar(&mk, p.done, p.total, 14), p.done, p.total));
            }
            PhaseState::Running => text.push_str(&clock(m.now - p.started)),
            _ => {}
        }
        lines.push(Line::from(text));
    }
    if let Some((step, reason)) = &st.failed {
        let _ = reason;
        lines.push(Line::from(Span::styled(format!("FAILED: {step}"), bold())));
    } else if let Some(done) = &st.done {
        lines.push(Line::from(done.clone()));
    }
    f.render_widget(Paragraph::new(lines), phases);
    f.render_widget(Paragraph::new(if m.ascii { "-" } else { "─" }.repeat(rule.width as usize)), rule);
    let rows = log.height as usize;
    let tail: Vec<Line> = if let Some((_, reason)) = st.failed.as_ref().filter(|_| !st.show_log) {
        reason.lines().map(|l| Line::from(l.to_string())).collect()
    } else {
        let skip = st.log.len().saturating_sub(rows);
        st.log.iter().skip(skip).map(|l| Line::from(trunc(l, log.width as usize))).collect()
    };
    f.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), log);
}

fn finish(m: &Model, f: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::from(Span::styled("The system is installed.", bold())),
        Line::from(m.install.done.clone().unwrap_or_default()),
        Line::from(""),
        Line::from("Remove the installation medium (USB stick, CD), then press Enter."),
        Line::from("The answer this install acted on is /etc/installer/answer.toml on the new system."),
        Line::from(""),
    ];
    // The summary may be long: wrap it.
    if let Some(l) = lines.get_mut(1) {
        *l = Line::from(trunc(&m.install.done.clone().unwrap_or_default(), area.width as usize));
    }
    for (i, (label, _)) in FINISH_CHOICES.iter().enumerate() {
        let sel = i == m.finish;
        lines.push(Line::from(Span::styled(
            format!("{} {label}", if sel { ">" } else { " " }),
            if sel { reversed() } else { Style::default() },
        )));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn dialog(m: &Model, f: &mut Frame, area: Rect, d: &Dialog) {
    let mk = marks(m.ascii);
    let (title, text) = match d {
        Dialog::Help => (
            " Help ",
            "Tab / Shift-Tab, or arrows: move between fields\nEnter: next step     Esc: previous step\nSpace: toggle or mark\nType in a list to search it\nF2: a shell (type exit to come back)\nCtrl-C: quit the installer\n\nNothing is written to a disk before the review step,\nwhere you type the names of the disks to erase.\n\nAny key closes this help."
                .to_string(),
        ),
        Dialog::ConfirmQuit => (" Quit? ", "Quit the installer? Nothing has been written.\n\ny: quit   any other key: stay".into()),
        Dialog::Message(msg) => (" Note ", format!("{msg}\n\nAny key closes this.")),
    };
    let w = 64.min(area.width - 4);
    let h = (text.lines().count() as u16 + 2 + (text.len() as u16 / w)).min(area.height - 2);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::default().borders(Borders::ALL).border_set(mk.border).title(Span::styled(title, bold())),
        ),
        r,
    );
}
