//! Kickstart import (`installer import-kickstart FILE`): a Kickstart file as pykickstart reads it
//! ([`lex`], [`opts`]) translated into an answer file: storage (`part`, `raid`, `volgroup`,
//! `logvol`, `autopart`, `reqpart`, `clearpart`, `ignoredisk`, `bootloader`) in [`storage`], the
//! system, accounts and network in [`system`]. What has no meaning here is a warning with its line;
//! what is wrong is an error with its line, and nothing is written. Plain-text passwords become
//! SHA-512 crypt hashes; secrets go to the answer's `[secrets]` and never into a message.

mod lex;
mod opts;
mod storage;
mod system;

use std::path::Path;

use crate::answer::{self, Answer};

/// A place in the Kickstart file and what was found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Note {
    pub fn new(file: &str, line: usize, message: &str) -> Note {
        Note { file: file.into(), line, message: message.into() }
    }

    /// The same place with another message.
    pub fn with(&self, message: &str) -> Note {
        Note { message: message.into(), ..self.clone() }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a Kickstart file was not imported: every error, each with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refused(pub Vec<Note>);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

/// An imported answer and the warnings of the import.
#[derive(Debug)]
pub struct Import {
    pub answer: Answer,
    pub warnings: Vec<Note>,
}

/// The translation under way.
pub(crate) struct Cx {
    pub answer: Answer,
    pub warnings: Vec<Note>,
    pub errors: Vec<Note>,
}

impl Cx {
    pub fn warn(&mut self, at: &Note, message: &str) {
        self.warnings.push(at.with(message));
    }

    pub fn error(&mut self, at: &Note, message: &str) {
        self.errors.push(at.with(message));
    }

    /// The command's options by its grammar; an error is recorded and `None` returned when they
    /// do not parse, options that mean nothing here are warned about.
    pub fn opts(&mut self, cmd: &lex::Command, g: &opts::Grammar) -> Option<opts::Opts> {
        match opts::Opts::parse(cmd, g) {
            Ok(o) => {
                for i in &o.ignored {
                    self.warn(&cmd.at, &format!("{} {i}: has no meaning here, ignored", cmd.name));
                }
                Some(o)
            }
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }
}

/// Reads and translates the Kickstart file at `path`.
pub fn import_file(path: &Path) -> Result<Import, Refused> {
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| Refused(vec![Note::new(&file, 1, &e.to_string())]))?;
    import(&text, &file, path.parent().unwrap_or(Path::new(".")))
}

/// Translates Kickstart `text` (the file `file`, includes relative to `dir`).
pub fn import(text: &str, file: &str, dir: &Path) -> Result<Import, Refused> {
    let parsed = lex::parse(text, file, dir).map_err(Refused)?;
    let blank = "version = 1\n[finish]\naction = \"reboot\"\n";
    let blank: Answer = toml::from_str(blank).expect("the blank answer has every default");
    let mut cx = Cx { answer: blank, warnings: vec![], errors: vec![] };
    for s in &parsed.sections {
        system::section(s, &mut cx);
    }
    system::translate(&parsed.commands, &mut cx);
    storage::translate(&parsed.commands, &mut cx);
    if !cx.errors.is_empty() {
        cx.errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        return Err(Refused(cx.errors));
    }
    // What the answer's own checks find is an error of the import too.
    let at = Note::new(file, 1, "");
    let problems = answer::check(&cx.answer);
    if !problems.is_empty() {
        return Err(Refused(
            problems
                .into_iter()
                .map(|(field, m)| at.with(&format!("the imported answer's {field}: {m}")))
                .collect(),
        ));
    }
    let mut warnings = cx.warnings;
    warnings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(Import { answer: cx.answer, warnings })
}

/// The imported answer as an answer file, headed by where it came from.
pub fn to_toml(i: &Import, source: &str) -> String {
    let mut s = format!(
        "# Imported from the Kickstart file {source} by `installer import-kickstart`.\n\
         # It holds secrets ([secrets]): keep it readable by root only, or move them to a secrets_file.\n"
    );
    for w in &i.warnings {
        // A comment holds no control characters: the file's own text in a warning is escaped.
        let line: String = w
            .to_string()
            .chars()
            .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
            .collect();
        s.push_str(&format!("# warning: {line}\n"));
    }
    s + &toml::to_string_pretty(&i.answer).unwrap_or_default()
}
