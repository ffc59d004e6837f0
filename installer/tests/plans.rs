//! Golden tests of the planner: every `tests/plans/*.toml` is a storage spec whose first line names
//! a probe fixture (`# probe: NAME` → `tests/fixtures/probe-NAME.json`); the plan (or the error) must
//! equal `tests/plans/NAME.plan`. `UPDATE_GOLDEN=1 cargo test -p installer --test plans` rewrites them.

mod golden;

use std::path::Path;

use installer::storage::{plan, Probe, StorageSpec};

#[test]
fn golden_plans() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut cases: Vec<_> = std::fs::read_dir(dir.join("plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "only {} planner cases", cases.len());
    let (mut golden, mut errors) = (golden::Golden::new(), 0);
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
        golden.check(&case.with_extension("plan"), &got);
    }
    assert!(errors >= 15, "too few error cases: {errors}");
    // Every storage failpoint names a kind of action the golden plans hold (a misspelt point
    // would never be reached).
    for point in installer::failpoint::STORAGE_POINTS {
        let kind = point.strip_prefix("after:").expect("after:<kind>");
        assert!(kinds.contains(kind), "failpoint {point}: no golden plan has a {kind:?} action ({kinds:?})");
    }
    golden.finish();
}
