//! Nix text from Rust values: the one string escaper and list writer every generated file uses
//! (hardware-configuration.nix, the answer's configuration.nix, the evaluator's arguments).

/// A Nix string literal holding `s` exactly: `\`, `"` and `${` are escaped, newlines, carriage
/// returns and tabs written as `\n`, `\r`, `\t`; every other character (other control characters
/// and non-ASCII included) as it is, which a Nix string may hold.
pub fn string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => o.push_str("\\$"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A one-line Nix list of strings: `[ ]` when empty, else `[ "a" "b" ]`.
pub fn string_list(items: &[String]) -> String {
    if items.is_empty() {
        "[ ]".into()
    } else {
        format!("[ {} ]", items.iter().map(|i| string(i)).collect::<Vec<_>>().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: &[&str] = &[
        "",
        "plain",
        "with \"quotes\" and \\ backslashes",
        "${interpolation} and $${double} and $ alone and ${",
        "line\nbreaks\r\nand\ttabs",
        "control \u{1} \u{8} \u{c} \u{7f}",
        "unicode é ✓ 🚀",
        "ends with \\",
        "ends with $",
        "''not special in double quotes''",
    ];

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c${d}$e\n"), r#""a\"b\\c\${d}$e\n""#);
        assert_eq!(string_list(&[]), "[ ]");
        assert_eq!(string_list(&["a".into(), "b c".into()]), r#"[ "a" "b c" ]"#);
    }

    /// The real evaluator reads every tricky string back exactly.
    #[test]
    fn the_evaluator_reads_them_back() {
        let items: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
        let out = std::process::Command::new("nix-instantiate")
            .args([
                "--eval",
                "--strict",
                "--json",
                "--readonly-mode",
                "--option",
                "build-users-group",
                "",
                "-E",
            ])
            .arg(string_list(&items))
            .output()
            .expect("nix-instantiate (Debian nix-bin) is installed by `cargo xtask test`");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let back: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(back, items);
    }
}
