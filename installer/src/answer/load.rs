//! Reading an answer file: size cap, TOML, the version, every type error at once (serde stops at
//! the first), then the checks; the secrets file beside it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use super::checks::semantic_problems;
use super::positions::{entry_lines, key, line_col, located, path_at, render_path, Problem, Problems, Seg};
use super::Answer;

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
