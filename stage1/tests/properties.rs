//! Property test (proptest, stable Rust): the kernel command-line parser never panics and always
//! finds an init, whatever the boot loader or a person typed. `cargo test` runs 256 cases;
//! `cargo xtask fuzz` sets `FUZZ_SECONDS` and runs many more.

use proptest::prelude::*;
use stage1::cmdline::Cmdline;

fn cases() -> u32 {
    match std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(secs) => secs.saturating_mul(5000),
        None => 256,
    }
}

fn command_lines() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "root=",
        "root=live:",
        "root=live:LABEL=",
        "root=live:https://",
        "rd.timeout=",
        "rd.modules=",
        "init=",
        "findiso=",
        "copytoram",
        "copytoram=0",
        "boot.shell_on_fail",
        "=",
        "==",
        "rootflags=",
        "\u{0}",
        "é",
    ]);
    prop::collection::vec((word, "[ -~]{0,12}"), 0..12)
        .prop_map(|ws| ws.into_iter().map(|(a, b)| format!("{a}{b}")).collect::<Vec<_>>().join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_stage1_command_line_parser_never_panics(text in command_lines()) {
        let c = Cmdline::parse(&text);
        prop_assert!(!c.init.is_empty());
    }
}
