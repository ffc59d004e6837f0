//! Kickstart import goldens: every `tests/kickstart/NAME.ks` imports to `NAME.toml` (the answer
//! file `installer import-kickstart` writes) or, for `err-*`, is refused with `NAME.err` (every
//! error with its line). Imported answers validate and plan on the probe fixture their first
//! line names; no secret reaches a warning or an error. `UPDATE_GOLDEN=1` rewrites the goldens.

mod golden;

use std::path::Path;

use installer::storage::{plan, Probe};

const PLAIN_PASSWORDS: &[&str] = &["hunter2-root", "hunter2-bob"];

/// The answer text with the hashes of plain-text passwords (random salts) made stable, after
/// checking that each hashes its password.
fn stable(text: &str, answer: &installer::answer::Answer) -> String {
    let mut out = text.to_string();
    for v in answer.secrets.values() {
        if let Some(p) = PLAIN_PASSWORDS.iter().find(|p| sha_crypt::sha512_check(p, v).is_ok()) {
            out = out.replace(v.as_str(), &format!("<sha-512 crypt of {p}>"));
        }
    }
    out
}

fn probe(text: &str) -> Probe {
    let name =
        text.lines().next().and_then(|l| l.strip_prefix("# probe: ")).expect("first line: # probe: NAME");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/probe-{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn kickstart_files_import_as_golden_answers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kickstart");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ks"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "only {} Kickstart cases", cases.len());
    let mut golden = golden::Golden::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(case).unwrap();
        match installer::kickstart::import(&text, &name, &dir) {
            Ok(i) => {
                assert!(!name.starts_with("err-"), "{name} was imported");
                let toml = installer::kickstart::to_toml(&i, &name);
                for w in &i.warnings {
                    assert!(!w.to_string().contains("hunter2"), "{name}: a secret in a warning: {w}");
                }
                let answer =
                    installer::answer::parse(&toml, &name).unwrap_or_else(|e| panic!("{name}:\n{e}"));
                let spec = installer::answer::storage_spec(&answer);
                plan(&spec, &probe(&text), Path::new("/mnt")).unwrap_or_else(|e| panic!("{name}: {e}"));
                golden.check(&case.with_extension("toml"), &stable(&toml, &answer));
            }
            Err(e) => {
                assert!(name.starts_with("err-"), "{name}:\n{e}");
                let e = e.to_string();
                assert!(!e.contains("hunter2"), "{name}: a secret in an error:\n{e}");
                golden.check(&case.with_extension("err"), &(e + "\n"));
            }
        }
    }
    golden.finish();
}

/// `installer import-kickstart` writes the answer with mode 0600 and says what it warned about;
/// a refused file writes nothing and exits 3.
#[test]
fn the_command_writes_a_private_answer_or_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kickstart");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("answer.toml");
    let bin = env!("CARGO_BIN_EXE_installer");
    let run = |ks: &str| {
        std::process::Command::new(bin)
            .args(["import-kickstart", dir.join(ks).to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let r = run("rhel-lvm-on-luks.ks");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("rhel-lvm-on-luks.ks:3: text: has no meaning here"));
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    std::fs::remove_file(&out).unwrap();
    let r = run("err-mistakes.ks");
    assert_eq!(r.status.code(), Some(3));
    assert!(!out.exists());
}

/// What the import writes evaluates with the real evaluator as the Kickstart file meant it: the
/// fully qualified host name split into host name and domain, the user, the firewall.
#[test]
fn an_imported_configuration_evaluates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kickstart");
    let name = "rhel-lvm-on-luks.ks";
    let i =
        installer::kickstart::import(&std::fs::read_to_string(dir.join(name)).unwrap(), name, &dir).unwrap();
    let boot = installer::answer::BootTarget {
        loader: installer::storage::plan::Bootloader::Grub,
        uefi: false,
        esp: None,
        grub_devices: vec!["/dev/vda".into()],
        initrd_keys: vec![],
    };
    let nix = installer::answer::configuration_nix(&i.answer, &boot);
    assert!(!nix.contains("hunter2") && !nix.contains("$6$"), "a secret in configuration.nix:\n{nix}");
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("configuration.nix"), &nix).unwrap();
    std::fs::write(
        t.path().join("hardware-configuration.nix"),
        "{ ... }: { fileSystems.\"/\" = { device = \"/dev/mapper/rhel-root\"; fsType = \"xfs\"; }; }\n",
    )
    .unwrap();
    let v = installer::config::evaluate(&t.path().join("configuration.nix"), None).unwrap();
    let c: installer::config::SystemConfig = serde_json::from_value(v).unwrap();
    assert_eq!(c.networking.host_name, "web1");
    assert_eq!(c.networking.domain.as_deref(), Some("example.com"));
    assert!(c.users.users["alice"].extra_groups.contains(&"wheel".to_string()));
    assert!(c.networking.firewall.allowed_tcp_ports.contains(&8080));
    assert!(c.services.openssh.enable);
}
