//! `modules.alias` and coldplug: which modules the devices present (their `modalias`) ask for.

/// One `alias PATTERN MODULE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub pattern: String,
    pub module: String,
}

pub fn parse_aliases(text: &str) -> Vec<Alias> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some("alias"), Some(p), Some(m)) => {
                    Some(Alias { pattern: p.to_string(), module: m.to_string() })
                }
                _ => None,
            }
        })
        .collect()
}

/// fnmatch(3) without flags: `*`, `?` and `[...]` (with ranges and `!`/`^` negation).
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star_p, mut star_t) = (usize::MAX, 0);
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star_p = p;
                    star_t = t;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&pattern[p..], text[t]) {
                        if matched {
                            p += next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        if star_p != usize::MAX {
            p = star_p + 1;
            star_t += 1;
            t = star_t;
            continue;
        }
        return false;
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches `c` against the class at the start of `pat` (`[...]`); returns (matched, class length).
fn class(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pat.len() {
        if pat[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < pat.len() && pat[i + 1] == b'-' && pat[i + 2] != b']' {
            if pat[i] <= c && c <= pat[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if pat[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// The modules whose aliases match `modalias`, in `modules.alias` order, each once.
pub fn modules_for(aliases: &[Alias], modalias: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for a in aliases {
        if glob_match(a.pattern.as_bytes(), modalias.as_bytes()) && !out.contains(&a.module) {
            out.push(a.module.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        assert!(glob_match(
            b"pci:v00001AF4d00001001sv*sd*bc*sc*i*",
            b"pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
        ));
        assert!(!glob_match(b"pci:v00001AF4d00001000*", b"pci:v00001AF4d00001001sv00001AF4"));
        assert!(glob_match(b"scsi:t-0x0[05]*", b"scsi:t-0x05"));
        assert!(!glob_match(b"scsi:t-0x0[!05]*", b"scsi:t-0x05"));
        assert!(glob_match(
            b"usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*",
            b"usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00"
        ));
        assert!(glob_match(b"a?c", b"abc") && !glob_match(b"a?c", b"ac"));
        assert!(glob_match(b"*", b"") && glob_match(b"x*", b"x"));
    }

    #[test]
    fn modules_for_a_device() {
        let aliases = parse_aliases(
            "# Aliases extracted from modules themselves.\n\
             alias pci:v00008086d00002922sv*sd*bc*sc*i* ahci\n\
             alias pci:v*d*sv*sd*bc01sc06i01* ahci\n\
             alias virtio:d00000002v* virtio_blk\n",
        );
        assert_eq!(modules_for(&aliases, "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"), ["ahci"]);
        assert_eq!(modules_for(&aliases, "virtio:d00000002v00001AF4"), ["virtio_blk"]);
        assert!(modules_for(&aliases, "virtio:d00000001v00001AF4").is_empty());
    }
}
