//! Golden tests of our module system under the real evaluator: every `tests/modules/NAME.nix` is a
//! function `{ lib }: …`; its JSON value must equal `NAME.json`, or, for `err-*` cases, the error
//! must equal `NAME.err`. `UPDATE_GOLDEN=1 cargo test -p installer --test modules` rewrites them.

mod golden;

use std::path::Path;
use std::process::Command;

#[test]
fn module_system_golden_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = dir.join("nix/lib");
    let cases_dir = dir.join("tests/modules");
    let mut cases: Vec<_> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nix"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} module-system cases", cases.len());
    let mut goldens = golden::Golden::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().to_string();
        let out = Command::new("nix-instantiate")
            .args([
                "--readonly-mode",
                "--eval",
                "--strict",
                "--json",
                "--option",
                "build-users-group",
                "",
                "-E",
            ])
            .arg(format!("(import {}) {{ lib = import {}; }}", case.display(), lib.display()))
            .output()
            .expect("nix-instantiate (Debian nix-bin) is installed by `cargo xtask test`");
        let (got, golden) = if out.status.success() {
            (String::from_utf8_lossy(&out.stdout).to_string() + "\n", case.with_extension("json"))
        } else {
            let err: String = String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| !l.starts_with("warning:") && !l.contains("--show-trace"))
                .collect::<Vec<_>>()
                .join("\n");
            (err + "\n", case.with_extension("err"))
        };
        assert_eq!(name.starts_with("err-"), !out.status.success(), "{name}: {got}");
        goldens.check(&golden, &got);
    }
    goldens.finish();
}
