//! The TUI's input state: a one-line text field and a searchable list. Pure data with key
//! handling; drawing is in [`super::view`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A one-line text field. `masked` fields show bullets (passwords, passphrases).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub value: String,
    /// Cursor position in characters.
    pub cursor: usize,
    pub masked: bool,
}

impl TextInput {
    pub fn new(value: &str) -> Self {
        TextInput { value: value.into(), cursor: value.chars().count(), masked: false }
    }

    pub fn masked() -> Self {
        TextInput { masked: true, ..Default::default() }
    }

    pub fn set(&mut self, value: &str) {
        self.value = value.into();
        self.cursor = value.chars().count();
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.value.char_indices().nth(chars).map(|(i, _)| i).unwrap_or(self.value.len())
    }

    /// Handles an editing key; returns whether it was one.
    pub fn key(&mut self, k: KeyEvent) -> bool {
        let len = self.value.chars().count();
        match k.code {
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.value.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) && !c.is_control() => {
                let at = self.byte_at(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }

    /// What is shown: the value, or a bullet per character when masked.
    pub fn shown(&self, ascii: bool) -> String {
        if self.masked {
            let b = if ascii { "*" } else { "•" };
            b.repeat(self.value.chars().count())
        } else {
            self.value.clone()
        }
    }
}

/// A list with a type-to-search filter (time zones, keymaps, locales).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterList {
    pub items: Vec<String>,
    pub filter: TextInput,
    /// Index into [`FilterList::visible`].
    pub selected: usize,
}

impl FilterList {
    pub fn new(items: Vec<String>, chosen: &str) -> Self {
        let mut l = FilterList { items, ..Default::default() };
        l.select(chosen);
        l
    }

    /// The items matching the filter (case-insensitive substring).
    pub fn visible(&self) -> Vec<&str> {
        let f = self.filter.value.to_lowercase();
        self.items
            .iter()
            .filter(|i| f.is_empty() || i.to_lowercase().contains(&f))
            .map(String::as_str)
            .collect()
    }

    pub fn current(&self) -> Option<&str> {
        self.visible().get(self.selected).copied()
    }

    /// Selects `item` (clearing the filter) if it is in the list.
    pub fn select(&mut self, item: &str) {
        self.filter = TextInput::default();
        self.selected = self.items.iter().position(|i| i == item).unwrap_or(0);
    }

    /// Arrows and paging move; printable keys edit the filter.
    pub fn key(&mut self, k: KeyEvent) -> bool {
        let n = self.visible().len();
        match k.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(10),
            KeyCode::PageDown => self.selected = (self.selected + 10).min(n.saturating_sub(1)),
            KeyCode::Home if self.filter.value.is_empty() => self.selected = 0,
            KeyCode::End if self.filter.value.is_empty() => self.selected = n.saturating_sub(1),
            _ => {
                let before = self.filter.value.clone();
                if !self.filter.key(k) {
                    return false;
                }
                if self.filter.value != before {
                    self.selected = 0;
                }
            }
        }
        true
    }
}

/// How long an Esc waits for the rest of an escape sequence that a slow line split.
pub const ESC_DELAY: std::time::Duration = std::time::Duration::from_millis(80);

/// Puts back together an escape sequence that arrived in pieces (`Esc`, `[`, `B` → Down): when
/// `first` is a lone Esc, `next(wait)` gives the keys that follow within the wait. Whatever does
/// not form a known sequence is returned as it came.
pub fn reassemble(
    first: KeyEvent,
    mut next: impl FnMut(std::time::Duration) -> Option<KeyEvent>,
) -> Vec<KeyEvent> {
    let plain = |k: &KeyEvent| match k.code {
        KeyCode::Char(c) if k.modifiers.difference(KeyModifiers::SHIFT).is_empty() => Some(c),
        _ => None,
    };
    if first.code != KeyCode::Esc || !first.modifiers.is_empty() {
        return vec![first];
    }
    let mut got = vec![first];
    let Some(intro) = next(ESC_DELAY) else { return got };
    got.push(intro);
    let csi = match plain(&intro) {
        Some('[') => true,
        Some('O') => false,
        _ => return got,
    };
    let mut params = String::new();
    loop {
        let Some(k) = next(ESC_DELAY) else { return got };
        got.push(k);
        let Some(c) = plain(&k) else { return got };
        if c.is_ascii_digit() || c == ';' {
            params.push(c);
            if params.len() > 4 {
                return got;
            }
            continue;
        }
        let code = match (csi, params.as_str(), c) {
            (_, "", 'A') => KeyCode::Up,
            (_, "", 'B') => KeyCode::Down,
            (_, "", 'C') => KeyCode::Right,
            (_, "", 'D') => KeyCode::Left,
            (_, "", 'H') | (true, "1", '~') | (true, "7", '~') => KeyCode::Home,
            (_, "", 'F') | (true, "4", '~') | (true, "8", '~') => KeyCode::End,
            (true, "", 'Z') => KeyCode::BackTab,
            (true, "2", '~') => KeyCode::Insert,
            (true, "3", '~') => KeyCode::Delete,
            (true, "5", '~') => KeyCode::PageUp,
            (true, "6", '~') => KeyCode::PageDown,
            (false, "", 'P') | (true, "11", '~') => KeyCode::F(1),
            (false, "", 'Q') | (true, "12", '~') => KeyCode::F(2),
            (false, "", 'R') | (true, "13", '~') => KeyCode::F(3),
            (false, "", 'S') | (true, "14", '~') => KeyCode::F(4),
            _ => return got,
        };
        let mods = if code == KeyCode::BackTab { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
        return vec![KeyEvent::new(code, mods)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn text_input_edits_at_the_cursor() {
        let mut t = TextInput::new("ac");
        t.key(key(KeyCode::Left));
        t.key(key(KeyCode::Char('b')));
        assert_eq!(t.value, "abc");
        t.key(key(KeyCode::End));
        t.key(key(KeyCode::Backspace));
        assert_eq!(t.value, "ab");
        t.key(key(KeyCode::Home));
        t.key(key(KeyCode::Delete));
        assert_eq!((t.value.as_str(), t.cursor), ("b", 0));
        t.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(t.value, "");
        assert!(!t.key(key(KeyCode::Enter)));
        let mut p = TextInput::masked();
        p.key(key(KeyCode::Char('é')));
        assert_eq!(p.shown(true), "*");
    }

    #[test]
    fn split_escape_sequences_are_put_back_together() {
        let run = |keys: Vec<KeyEvent>| {
            let mut rest = keys.into_iter();
            let first = rest.next().unwrap();
            reassemble(first, |_| rest.next())
        };
        let chars = |s: &str| -> Vec<KeyEvent> {
            s.chars().map(|c| key(if c == '\u{1b}' { KeyCode::Esc } else { KeyCode::Char(c) })).collect()
        };
        assert_eq!(run(chars("\u{1b}[B")), vec![key(KeyCode::Down)]);
        assert_eq!(run(chars("\u{1b}OQ")), vec![key(KeyCode::F(2))]);
        assert_eq!(run(chars("\u{1b}[6~")), vec![key(KeyCode::PageDown)]);
        assert_eq!(run(chars("\u{1b}[Z")), vec![KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)]);
        // A lone Esc stays an Esc; what is no sequence comes back as it came.
        assert_eq!(run(chars("\u{1b}")), vec![key(KeyCode::Esc)]);
        assert_eq!(run(chars("\u{1b}x")), chars("\u{1b}x"));
        assert_eq!(run(chars("\u{1b}[9q")), chars("\u{1b}[9q"));
        assert_eq!(run(chars("a")), chars("a"));
    }

    #[test]
    fn filter_list_searches_and_keeps_the_selection_in_range() {
        let mut l =
            FilterList::new(vec!["Europe/Amsterdam".into(), "Europe/Berlin".into(), "UTC".into()], "UTC");
        assert_eq!(l.current(), Some("UTC"));
        for c in "berl".chars() {
            l.key(key(KeyCode::Char(c)));
        }
        assert_eq!(l.visible(), vec!["Europe/Berlin"]);
        assert_eq!(l.current(), Some("Europe/Berlin"));
        l.key(key(KeyCode::Down));
        assert_eq!(l.current(), Some("Europe/Berlin"));
        l.filter.set("nothing");
        assert_eq!(l.current(), None);
    }
}
