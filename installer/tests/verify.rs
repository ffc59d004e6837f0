//! `installer verify` and `installer fetch-answer` as a fleet's operator and the live system run
//! them: a signature from a trusted key or a matching SHA-256 passes; anything else is refused
//! with exit status 3 and nothing written.

use std::path::Path;
use std::process::{Command, Output};

fn installer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_installer")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A key pair: the public key's file written into `dir` as `name`.pub.
fn keypair(dir: &Path, name: &str) -> minisign::KeyPair {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    std::fs::write(dir.join(format!("{name}.pub")), kp.pk.to_box().unwrap().to_string()).unwrap();
    kp
}

fn sign(kp: &minisign::KeyPair, file: &Path) {
    let data = std::fs::read(file).unwrap();
    let sig = minisign::sign(Some(&kp.pk), &kp.sk, std::io::Cursor::new(data), None, None).unwrap();
    std::fs::write(format!("{}.minisig", file.display()), sig.to_string()).unwrap();
}

fn sha256(file: &Path) -> String {
    let o = Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn verify_accepts_a_trusted_signature_or_a_matching_pin_and_refuses_the_rest() {
    let t = tempfile::tempdir().unwrap();
    let fleet = keypair(t.path(), "fleet");
    let other = keypair(t.path(), "other");
    let answer = t.path().join("answer.toml");
    std::fs::write(&answer, "version = 1\n[system]\nhostname = \"web1\"\n").unwrap();
    let a = answer.to_str().unwrap();
    let fleet_pub = t.path().join("fleet.pub");
    let fp = fleet_pub.to_str().unwrap();

    let o = installer(&["verify", a, "--pubkey", fp]);
    assert_eq!(o.status.code(), Some(3), "unsigned: {}", text(&o));
    assert!(text(&o).contains("is missing) and this image accepts signed answers only"), "{}", text(&o));

    sign(&other, &answer);
    let o = installer(&["verify", a, "--pubkey", fp]);
    assert_eq!(o.status.code(), Some(3), "another key: {}", text(&o));
    assert!(text(&o).contains("is not from a key this image trusts"), "{}", text(&o));

    sign(&fleet, &answer);
    let o = installer(&["verify", a, "--pubkey", fp]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("verified: it is signed by"), "{}", text(&o));
    // The key's base64 line alone does as well as its file.
    let line = std::fs::read_to_string(&fleet_pub).unwrap().lines().nth(1).unwrap().to_string();
    assert!(installer(&["verify", a, "--pubkey", &line]).status.success());

    // One changed byte after signing.
    std::fs::write(&answer, "version = 1\n[system]\nhostname = \"web2\"\n").unwrap();
    let o = installer(&["verify", a, "--pubkey", fp]);
    assert_eq!(o.status.code(), Some(3), "changed: {}", text(&o));

    let pin = sha256(&answer);
    let o = installer(&["verify", a, "--sha256", &pin]);
    assert!(o.status.success() && text(&o).contains("its SHA-256 matches"), "{}", text(&o));
    let o = installer(&["verify", a, "--sha256", &"0".repeat(64)]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains(&format!("its SHA-256 is {pin}")), "{}", text(&o));
    let o = installer(&["verify", a]);
    assert_eq!(o.status.code(), Some(3), "nothing to check against: {}", text(&o));
    let o = installer(&["verify", a, "--pubkey", t.path().join("missing.pub").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn fetch_answer_writes_only_a_checked_answer_and_says_what_the_boot_asked_for() {
    let t = tempfile::tempdir().unwrap();
    let trust = t.path().join("etc-installer");
    std::fs::create_dir_all(trust.join("answer-keys")).unwrap();
    let fleet = keypair(&trust.join("answer-keys"), "fleet");
    let answer = t.path().join("answer.toml");
    std::fs::write(&answer, "version = 1\n[system]\nhostname = \"web1\"\n").unwrap();
    let run = t.path().join("run");
    let source = format!("installer.answer=file:{}", answer.display());
    let fetch = |words: &[&str]| {
        let mut args =
            vec!["fetch-answer", "--run-dir", run.to_str().unwrap(), "--trust-dir", trust.to_str().unwrap()];
        args.extend_from_slice(words);
        installer(&args)
    };
    // Keys but no requirement: an unsigned answer is used.
    let o = fetch(&[&source, "installer.yes=1"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains(&format!("path={}/answer.toml\n", run.display())), "{out}");
    assert!(out.contains("yes=1\n") && out.contains("interactive=0\n"), "{out}");
    assert_eq!(std::fs::read(run.join("answer.toml")).unwrap(), std::fs::read(&answer).unwrap());
    std::fs::remove_dir_all(&run).unwrap();
    // Required: unsigned is refused, nothing is written; signed is used.
    std::fs::write(trust.join("require-signed-answers"), "").unwrap();
    let o = fetch(&[&source]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!run.exists(), "nothing is written for a refused answer");
    sign(&fleet, &answer);
    let o = fetch(&[&source]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("signed by fleet.pub") && text(&o).contains("yes=0"), "{}", text(&o));
    // A pin that does not match refuses even a signed answer.
    std::fs::remove_dir_all(&run).unwrap();
    let o = fetch(&[&source, &format!("installer.answer_sha256={}", "ab".repeat(32))]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!run.exists());
    // A command line this installer cannot act on.
    let o = fetch(&["installer.answer=ftp://example.com/a.toml"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}
