//! Golden tests of the planner: every `tests/plans/*.toml` is a storage spec whose first line names
//! a probe fixture (`# probe: NAME` → `tests/fixtures/probe-NAME.json`); the plan (or the error) must
//! equal `tests/plans/NAME.plan`. `UPDATE_GOLDEN=1 cargo test -p installer --test plans` rewrites them.

use std::path::Path;

use installer::storage::{plan, Probe, StorageSpec};

#[test]
fn golden_plans() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(dir.join("plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "only {} planner cases", cases.len());
    let (mut failures, mut errors) = (vec![], 0);
    let mut kinds = std::collections::BTreeSet::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let probe_name =
            text.lines().next().and_then(|l| l.strip_prefix("# probe: ")).expect("first line: # probe: NAME");
        let probe: Probe = serde_json::from_str(
            &std::fs::read_to_string(dir.join("fixtures").join(format!("probe-{probe_name}.json"))).unwrap(),
        )
        .unwrap();
        let spec = StorageSpec::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let got = match plan(&spec, &probe, Path::new("/mnt")) {
            Ok(p) => {
                kinds.extend(p.actions.iter().map(|a| a.kind()));
                p.to_string()
            }
            Err(e) => {
                errors += 1;
                format!("error: {e}\n")
            }
        };
        let name = case.file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(name.starts_with("err-"), got.starts_with("error: "), "{name}: {got}");
        let golden = case.with_extension("plan");
        if update {
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != got {
            failures.push(format!("--- {name}: expected\n{want}--- got\n{got}"));
        }
    }
    assert!(errors >= 15, "too few error cases: {errors}");
    // Every storage failpoint names a kind of action the golden plans hold (a misspelt point
    // would never be reached).
    for point in installer::failpoint::STORAGE_POINTS {
        let kind = point.strip_prefix("after:").expect("after:<kind>");
        assert!(kinds.contains(kind), "failpoint {point}: no golden plan has a {kind:?} action ({kinds:?})");
    }
    assert!(failures.is_empty(), "{} golden plan(s) differ:\n{}", failures.len(), failures.join("\n"));
}
