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
