//! Reading a Kickstart file as pykickstart does: one command per line, words split with POSIX
//! shell quoting, `#` comments, `%include`/`%ksappend` of files that exist when the file is read,
//! and sections (`%pre`, `%post`, `%packages`, …) up to their `%end`.

use std::path::{Path, PathBuf};

use super::Note;

/// One command line: `part / --size=4096 --grow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub at: Note,
    pub name: String,
    pub args: Vec<String>,
}

/// A `%section` with its header's arguments and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub at: Note,
    pub name: String,
    pub args: Vec<String>,
    pub body: Vec<String>,
}

/// A Kickstart file read: its commands and sections, includes resolved.
#[derive(Debug, Default)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub sections: Vec<Section>,
}

/// How deep `%include` may nest (a file including itself stops here).
const MAX_DEPTH: usize = 8;

/// The line without its comment: `#` at the start of a word, outside quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut escaped, mut word_start) = (false, false, false, true);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && word_start => return &line[..i],
            _ => {}
        }
        word_start = c.is_whitespace();
    }
    line
}

/// Reads `text` (the file `file`; includes are relative to `dir`).
pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Parsed, Vec<Note>> {
    let mut out = Parsed::default();
    let mut errors = vec![];
    read_into(text, file, dir, 0, &mut out, &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn read_into(text: &str, file: &str, dir: &Path, depth: usize, out: &mut Parsed, errors: &mut Vec<Note>) {
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let at = Note::new(file, i + 1, "");
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let Some(words) = shlex::split(line) else {
            errors.push(at.with("unbalanced quotes"));
            continue;
        };
        let (name, args) = (words[0].clone(), words[1..].to_vec());
        match name.as_str() {
            "%include" | "%ksappend" => include(&at, &args, dir, depth, out, errors),
            s if s.starts_with('%') && s != "%end" => {
                let mut body = vec![];
                let mut ended = false;
                for (_, l) in lines.by_ref() {
                    if l.trim() == "%end" {
                        ended = true;
                        break;
                    }
                    body.push(l.to_string());
                }
                if !ended {
                    errors.push(at.with(&format!("{s} has no %end")));
                }
                out.sections.push(Section {
                    at,
                    name: s.trim_start_matches('%').to_string(),
                    args: args.to_vec(),
                    body,
                });
            }
            "%end" => errors.push(at.with("%end without a section")),
            _ => out.commands.push(Command { at, name, args: args.to_vec() }),
        }
    }
}

fn include(at: &Note, args: &[String], dir: &Path, depth: usize, out: &mut Parsed, errors: &mut Vec<Note>) {
    let [path] = args else {
        errors.push(at.with("%include takes one file"));
        return;
    };
    if depth >= MAX_DEPTH {
        errors.push(at.with(&format!("%include {path}: included more than {MAX_DEPTH} deep")));
        return;
    }
    let full: PathBuf = dir.join(path);
    match std::fs::read_to_string(&full) {
        Ok(text) => {
            let sub_dir = full.parent().unwrap_or(dir).to_path_buf();
            // Named as the including file's name is (relative stays relative).
            let name = Path::new(&at.file).with_file_name(path);
            read_into(&text, &name.display().to_string(), &sub_dir, depth + 1, out, errors);
        }
        Err(e) => errors.push(at.with(&format!("%include {}: {e}", full.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_comments_sections_and_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("part.ks"), "part / --size=1 # inline\n").unwrap();
        let text = "# a comment\nrootpw --iscrypted '$6$a b#c'  # comment\n%include part.ks\n%post --nochroot\necho hi # kept\n%end\nlang en_US.UTF-8\n";
        let p = parse(text, "ks.cfg", dir.path()).unwrap();
        let names: Vec<&str> = p.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["rootpw", "part", "lang"]);
        assert_eq!(p.commands[0].args, ["--iscrypted", "$6$a b#c"]);
        assert_eq!(p.commands[1].args, ["/", "--size=1"]);
        assert!(p.commands[1].at.file.ends_with("part.ks"));
        assert_eq!(p.commands[2].at.line, 7);
        assert_eq!(p.sections[0].name, "post");
        assert_eq!(p.sections[0].args, ["--nochroot"]);
        assert_eq!(p.sections[0].body, ["echo hi # kept"]);
    }

    #[test]
    fn errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("self.ks"), "%include self.ks\n").unwrap();
        let e = parse("lang 'en\n%include missing.ks\n%post\n", "ks.cfg", dir.path()).unwrap_err();
        let text: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert_eq!(text[0], "ks.cfg:1: unbalanced quotes");
        assert!(text[1].starts_with("ks.cfg:2: %include ") && text[1].contains("missing.ks"), "{text:?}");
        assert_eq!(text[2], "ks.cfg:3: %post has no %end");
        let e = parse("%include self.ks\n", "ks.cfg", dir.path()).unwrap_err();
        assert!(e[0].message.contains("more than 8 deep"), "{e:?}");
    }
}
