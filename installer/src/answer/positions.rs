//! Where in the answer file a problem is: field paths, their line and column, and the problems
//! as they are shown (`file:line:col: field: message`).

use std::ops::Range;

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

pub(super) fn render_path(path: &[Seg]) -> String {
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
pub(super) fn span_of(doc: &toml_edit::ImDocument<String>, path: &[Seg]) -> Option<Range<usize>> {
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

/// Problems found on fields, with the positions of those fields in `text`, in file order.
pub(super) fn located(
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

/// The lines holding the entry at `span`: whole lines, and for a `[table]` header its whole body
/// and its sub-tables (up to the next header of another table).
pub(super) fn entry_lines(text: &str, span: &Range<usize>) -> Range<usize> {
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
pub(super) fn path_at(doc: &toml_edit::ImDocument<String>, pos: usize) -> Vec<Seg> {
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

pub(crate) fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}
