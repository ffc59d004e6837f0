//! Property tests (proptest, stable Rust): the answer parser and validator never panic on any
//! text; the storage planner, for random specs on random machines, never panics, never plans a
//! busy disk or the boot medium, and every planned partition lies inside its disk without
//! overlapping another; the Kickstart importer never panics, and what it imports is an answer
//! that validates (the stage-1 command-line parser's are in the `stage1` crate).
//!
//! `cargo test` runs a few hundred cases of each. `cargo xtask fuzz --minutes N` runs them with
//! fresh seeds until the time is up (`FUZZ_SECONDS`); a failure prints the smallest input proptest
//! shrank it to, which belongs in `tests/answers/` or in a case here.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use installer::storage::plan::{plan, Plan};
use installer::storage::probe::{Probe, ProbedDisk};
use installer::storage::spec::StorageSpec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Runs `test` over `strategy`: a few hundred cases normally, or fresh batches until
/// `FUZZ_SECONDS` have passed. Returns how many cases ran.
fn run<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64
where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok());
    let deadline = budget.map(|s| Instant::now() + Duration::from_secs(s));
    let mut cases = 0;
    loop {
        let config = Config { cases: 256, failure_persistence: None, ..Config::default() };
        // `cargo test` runs the same cases every time (a test that cannot flake); fuzzing seeds
        // each batch afresh.
        let mut runner = match deadline {
            Some(_) => TestRunner::new(config),
            None => TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
        };
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: {e}");
        }
        cases += 256;
        match deadline {
            Some(d) if Instant::now() < d => continue,
            _ => break,
        }
    }
    if budget.is_some() {
        eprintln!("{name}: {cases} cases, no failure");
    }
    cases
}

const GOOD: &str = include_str!("answers/good.toml");
const KICKSTART: &str = include_str!("kickstart/rhel-lvm-on-luks.ks");

/// Text near a real answer: the good answer with a few bytes replaced, inserted or removed,
/// which reaches much deeper into the validator than random text.
fn mutated_answer() -> impl Strategy<Value = String> {
    mutated(GOOD)
}

/// `text` with a few bytes replaced, inserted or removed.
fn mutated(text: &'static str) -> impl Strategy<Value = String> {
    let edit =
        (0..text.len(), 0u8..3, prop::sample::select(b"\"'[]{}=,.\n#\\$-/0129aZ \t\x00\xff%".to_vec()));
    prop::collection::vec(edit, 1..8).prop_map(|edits| {
        let mut b = text.as_bytes().to_vec();
        for (at, op, byte) in edits {
            let at = at.min(b.len().saturating_sub(1));
            match op {
                0 => b[at] = byte,
                1 => b.insert(at, byte),
                _ => {
                    b.remove(at);
                }
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    })
}

#[test]
fn the_answer_parser_never_panics() {
    run("arbitrary text", ".{0,400}", |text| {
        let _ = installer::answer::parse(&text, "fuzz.toml");
        Ok(())
    });
    run("mutated answers", mutated_answer(), |text| {
        if let Ok(a) = installer::answer::parse(&text, "fuzz.toml") {
            // What validates renders, and no secret reaches the generated Nix or the redacted copy.
            let boot = common::uefi_systemd_boot(&a);
            let nix = installer::answer::configuration_nix(&a, &boot);
            let redacted = installer::answer::redacted(&a);
            for value in a.secrets.values().filter(|v| v.len() >= 6) {
                prop_assert!(!nix.contains(value.as_str()), "a secret in configuration.nix:\n{text}");
                prop_assert!(!redacted.contains(value.as_str()), "a secret in the redacted answer:\n{text}");
            }
        }
        Ok(())
    });
}

#[test]
fn the_kickstart_importer_never_panics_and_imports_only_valid_answers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kickstart");
    run("mutated kickstart files", mutated(KICKSTART), |text| {
        if let Ok(i) = installer::kickstart::import(&text, "fuzz.ks", &dir) {
            let toml = installer::kickstart::to_toml(&i, "fuzz.ks");
            let parsed = installer::answer::parse(&toml, "imported.toml");
            prop_assert!(
                parsed.is_ok(),
                "an imported answer that does not validate:\n{text}\n{:?}",
                parsed.err()
            );
        }
        Ok(())
    });
}

/// Kernel command lines around the answer's parameters: what `installer fetch-answer` reads at
/// boot never panics it, and a source it accepts names only what it may read (an absolute path
/// without `..`, a label of safe characters, a URL without quotes or spaces).
#[test]
fn the_answer_source_parser_never_panics_and_accepts_only_safe_sources() {
    use installer::source::{parse_cmdline, Source};
    let word = prop::sample::select(vec![
        "installer.answer=",
        "inst.ks=",
        "installer.answer_sha256=",
        "installer.answer_timeout=",
        "installer.yes=1",
        "file:",
        "cdrom:",
        "label:",
        "hd:LABEL=",
        "https://",
        "http://",
        "/",
        "..",
        ":",
        "${mac}",
        "${serial}",
        "${x}",
        "a",
        "Z9",
        "-",
        "\"",
        "'",
        "%",
        "0",
        "ab",
        " ",
    ]);
    let cmdline = prop::collection::vec(word, 0..24).prop_map(|w| w.concat());
    run("answer-source command lines", cmdline, |text| {
        if let Ok(r) = parse_cmdline(&text) {
            match &r.source {
                Source::File(p) | Source::Cdrom(p) | Source::Label { path: p, .. } => {
                    let s = p.to_string_lossy();
                    prop_assert!(s.starts_with('/') && !s.split('/').any(|c| c == ".."), "{text:?} -> {s}");
                }
                Source::Http(u) => {
                    prop_assert!(
                        !u.contains(['"', '\'', ' '])
                            && !u.replace("${mac}", "").replace("${serial}", "").contains("${"),
                        "{text:?} -> {u}"
                    );
                }
                Source::Oemdrv => {}
            }
            if let Source::Label { label, .. } = &r.source {
                prop_assert!(
                    label.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                    "{label}"
                );
                prop_assert!(!label.starts_with('-'), "{label}");
            }
        }
        Ok(())
    });
}

/// A machine: 1 to 4 disks of random sizes, some busy, one perhaps the boot medium, some members
/// of an earlier install's RAID array the live system assembled by itself (a stale holder).
fn machine() -> impl Strategy<Value = Probe> {
    let disk = (
        1u64..=4096 * 1024,
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
    );
    (prop::collection::vec(disk, 1..=4), prop::bool::weighted(0.4)).prop_map(|(disks, uefi)| {
        let path = |i: usize| format!("/dev/vd{}", (b'a' + i as u8) as char);
        let members: Vec<String> =
            disks.iter().enumerate().filter(|(_, d)| d.4).map(|(i, _)| path(i)).collect();
        let holder = installer::storage::probe::StaleHolder {
            path: "/dev/md127".into(),
            kind: "raid1".into(),
            disks: members.clone(),
            tops: vec!["/dev/md127".into()],
        };
        Probe {
            uefi,
            system_bytes: None,
            disks: disks
                .into_iter()
                .enumerate()
                .map(|(i, (mib, rotational, busy, boot_medium, _))| ProbedDisk {
                    path: format!("/dev/vd{}", (b'a' + i as u8) as char),
                    model: if rotational { "HDD".into() } else { "SSD".into() },
                    serial: format!("S{i}"),
                    size: mib << 20,
                    logical_sector: 512,
                    physical_sector: 512,
                    rotational,
                    removable: false,
                    transport: "virtio".into(),
                    table: None,
                    partitions: vec![],
                    fstype: None,
                    busy: if busy {
                        vec![format!("/dev/vd{}1 is mounted", (b'a' + i as u8) as char)]
                    } else {
                        vec![]
                    },
                    boot_medium,
                    stale_holders: if members.contains(&path(i)) { vec![holder.clone()] } else { vec![] },
                    aliases: vec![format!("/dev/disk/by-id/virtio-S{i}")],
                })
                .collect(),
        }
    })
}

/// A storage spec of 1 or 2 disks, each of 1 to 4 partitions, as the answer file writes it. The
/// first disk often starts with what a bootable layout needs (an ESP, a BIOS boot partition) so
/// that many specs plan and the checks on plans have something to check.
fn spec() -> impl Strategy<Value = String> {
    let selector = prop::sample::select(vec![
        "{ serial = \"S0\" }",
        "{ serial = \"S0\" }",
        "{ serial = \"S1\" }",
        "{ serial = \"S1\" }",
        "{ largest = true }",
        "{ smallest = true }",
        "{ model = \"ssd\" }",
        "{ path = \"/dev/vdb\" }",
        "{ size = { min = \"2GiB\" } }",
        "[{ serial = \"S2\" }, { largest = true }]",
    ]);
    let size = prop::sample::select(vec!["1MiB", "256MiB", "1GiB", "40GiB", "10%", "25%", "rest"]);
    let part = (size, 0usize..6, prop::option::of(1u32..=10));
    let kinds = [
        ("linux", "content = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/srv\" }"),
        ("esp", "content = { type = \"filesystem\", format = \"vfat\", mountpoint = \"/efi\" }"),
        ("linux", "content = { type = \"filesystem\", format = \"btrfs\", mountpoint = \"/home\" }"),
        ("swap", "content = { type = \"swap\" }"),
        ("linux", "content = { type = \"filesystem\", format = \"xfs\" }"),
        ("linux", "preserve = true"),
    ];
    let root_size = prop::sample::select(vec!["4GiB", "50%", "rest", "100%", "2TiB"]);
    let disk = (selector, prop::bool::weighted(0.2), prop::collection::vec(part, 0..=3));
    (any::<bool>(), any::<bool>(), root_size, prop::collection::vec(disk, 1..=2)).prop_map(
        move |(esp, bios_boot, root_size, disks)| {
            let mut t = String::new();
            for (d, (sel, mbr, parts)) in disks.into_iter().enumerate() {
                t += &format!("[[disk]]\nmatch = {sel}\ntable = \"{}\"\n", if mbr { "mbr" } else { "gpt" });
                if d == 0 {
                    if esp {
                        t += "[[disk.partition]]\nsize = \"256MiB\"\ntype = \"esp\"\n";
                        t += "content = { type = \"filesystem\", format = \"vfat\", mountpoint = \"/boot\" }\n";
                    }
                    if bios_boot && !mbr {
                        t += "[[disk.partition]]\nsize = \"1MiB\"\ntype = \"bios-boot\"\n";
                    }
                    t += &format!("[[disk.partition]]\nsize = \"{root_size}\"\ntype = \"linux\"\n");
                    t += "content = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\n";
                }
                for (size, kind, number) in parts {
                    let (ty, content) = kinds[kind];
                    t += &format!("[[disk.partition]]\nsize = \"{size}\"\ntype = \"{ty}\"\n");
                    if let Some(n) = number {
                        t += &format!("number = {n}\n");
                    }
                    if !content.is_empty() {
                        t += content;
                        t += "\n";
                    }
                }
            }
            t
        },
    )
}

fn check_plan(p: &Plan, machine: &Probe) -> Result<(), TestCaseError> {
    for d in &p.disks {
        let probed = machine.disk(&d.identity.path).expect("a planned disk is a probed one");
        prop_assert!(!probed.boot_medium, "planned the boot medium {}", probed.path);
        prop_assert!(probed.busy.is_empty(), "planned the busy disk {}", probed.path);
        // A stale holder is stopped before the first write: it must lie on planned disks only.
        for h in &probed.stale_holders {
            for other in &h.disks {
                prop_assert!(
                    p.disks.iter().any(|d| &d.identity.path == other),
                    "planned {} whose array {} also lies on {other}, outside the plan",
                    probed.path,
                    h.path
                );
            }
        }
        let mut spans: Vec<(u64, u64)> = vec![];
        for part in &d.partitions {
            prop_assert!(part.start < part.end, "empty or reversed partition {part:?}");
            prop_assert!(part.end <= probed.size, "{} ends past the end of {}", part.device, probed.path);
            for (s, e) in &spans {
                prop_assert!(
                    part.end <= *s || part.start >= *e,
                    "{} overlaps another partition",
                    part.device
                );
            }
            spans.push((part.start, part.end));
        }
    }
    Ok(())
}

#[test]
fn the_planner_never_plans_a_busy_disk_or_the_boot_medium_and_partitions_fit() {
    let planned = std::cell::Cell::new(0u64);
    let cases = run("storage plans", (spec(), machine()), |(text, machine)| {
        let spec: StorageSpec = match toml::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                return Err(TestCaseError::fail(format!("the generator wrote a bad spec: {e}\n{text}")))
            }
        };
        match plan(&spec, &machine, Path::new("/mnt")) {
            Ok(p) => {
                planned.set(planned.get() + 1);
                check_plan(&p, &machine)?;
            }
            Err(e) if std::env::var_os("PROPERTIES_DEBUG").is_some() => eprintln!("{e}"),
            Err(_) => {}
        }
        Ok(())
    });
    // The generator must reach the planner's success path often enough to mean something.
    eprintln!("{} of {cases} random specs planned", planned.get());
    assert!(planned.get() * 20 >= cases, "only {} of {cases} random specs planned", planned.get());
}
