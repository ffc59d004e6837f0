//! A command's options as pykickstart reads them: `--opt value` and `--opt=value` for options
//! that take a value, flags alone, positional arguments anywhere.

use std::collections::BTreeMap;

use super::lex::Command;
use super::Note;

/// What a command takes.
pub struct Grammar {
    /// Options with a value (`--size=1024`, `--size 1024`).
    pub values: &'static [&'static str],
    /// Options without one (`--grow`).
    pub flags: &'static [&'static str],
    /// Options Kickstart has that mean nothing here: read (with their value, if `values` has
    /// them) and reported as a warning.
    pub ignored: &'static [&'static str],
}

/// The options of one command line.
#[derive(Debug)]
pub struct Opts {
    pub at: Note,
    values: BTreeMap<String, String>,
    flags: Vec<String>,
    pub positional: Vec<String>,
    /// Options read but not used here.
    pub ignored: Vec<String>,
}

impl Opts {
    pub fn parse(cmd: &Command, g: &Grammar) -> Result<Opts, Note> {
        let mut o = Opts {
            at: cmd.at.clone(),
            values: BTreeMap::new(),
            flags: vec![],
            positional: vec![],
            ignored: vec![],
        };
        let mut args = cmd.args.iter();
        while let Some(a) = args.next() {
            let Some(opt) = a.strip_prefix("--") else {
                o.positional.push(a.clone());
                continue;
            };
            let (name, inline) = match opt.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (opt, None),
            };
            if g.ignored.contains(&name) {
                o.ignored.push(format!("--{name}"));
                if g.values.contains(&name) && inline.is_none() {
                    args.next();
                }
            } else if g.values.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => args
                        .next()
                        .cloned()
                        .ok_or_else(|| cmd.at.with(&format!("{}: --{name} needs a value", cmd.name)))?,
                };
                o.values.insert(name.to_string(), v);
            } else if g.flags.contains(&name) {
                if inline.is_some() {
                    return Err(cmd.at.with(&format!("{}: --{name} takes no value", cmd.name)));
                }
                o.flags.push(name.to_string());
            } else {
                return Err(cmd.at.with(&format!("{}: unknown option --{name}", cmd.name)));
            }
        }
        Ok(o)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// A comma-separated value as a list.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.value(name)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }

    /// A whole number, or an error naming the option.
    pub fn number(&self, name: &str) -> Result<Option<u64>, Note> {
        self.value(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| self.at.with(&format!("--{name}={v} is not a whole number")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_flags_positionals_and_unknown_options() {
        let cmd = Command {
            at: Note::new("ks.cfg", 3, ""),
            name: "part".into(),
            args: ["/", "--size", "500", "--grow", "--fstype=xfs", "--maxsize=9"].map(String::from).to_vec(),
        };
        let g = Grammar { values: &["size", "fstype", "maxsize"], flags: &["grow"], ignored: &["maxsize"] };
        let o = Opts::parse(&cmd, &g).unwrap();
        assert_eq!(o.positional, ["/"]);
        assert_eq!(o.number("size").unwrap(), Some(500));
        assert_eq!(o.value("fstype"), Some("xfs"));
        assert!(o.flag("grow"));
        assert_eq!(o.ignored, ["--maxsize"]);
        let bad = Command { args: vec!["--bogus".into()], ..cmd.clone() };
        assert_eq!(Opts::parse(&bad, &g).unwrap_err().to_string(), "ks.cfg:3: part: unknown option --bogus");
        let bad = Command { args: vec!["--size".into()], ..cmd };
        assert_eq!(Opts::parse(&bad, &g).unwrap_err().to_string(), "ks.cfg:3: part: --size needs a value");
    }
}
