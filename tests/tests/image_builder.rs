//! The image builder with the installer the images carry (no VM): an answer file is embedded only
//! when that installer accepts it, and the man pages and completion it writes come from the
//! installer's own command line.

use std::path::{Path, PathBuf};

use vm_harness::TestAssets;

fn installer() -> PathBuf {
    TestAssets::load().expect("test assets").installer.expect("the images' installer (cargo xtask assets)")
}

fn answers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../installer/tests/answers")
}

#[test]
fn a_bad_answer_is_refused_before_anything_is_built_and_a_good_one_passes() {
    let e = image_builder::build::check_answer(&installer(), &answers().join("bad-size.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad-size.toml is not a valid answer file, not embedded"), "{e}");
    assert!(e.contains("bad-size.toml:") && e.contains("size"), "{e}");
    image_builder::build::check_answer(&installer(), &answers().join("good.toml")).unwrap();

    // The build stops at that check, its first step: nothing is built.
    let out = tempfile::tempdir().unwrap();
    let none = PathBuf::from("/nonexistent");
    let b = image_builder::build::BuildInputs {
        live: image_builder::live::LiveInputs {
            installer: installer(),
            nix_dir: none.clone(),
            stage1: none.clone(),
            busybox: none.clone(),
            agent: None,
            ssh_authorized_keys: vec![],
            files: vec![],
            answer_keys: vec![],
            require_signed_answers: false,
        },
        cache: none.clone(),
        out_dir: out.path().to_path_buf(),
        release: false,
        serial_default: true,
        kernel_params: vec![],
        kernel_package: "linux-image-amd64".into(),
        ca_certificates: vec![],
        packages: vec![],
        answer: Some(answers().join("bad-size.toml")),
        volid: "INSTALLER".into(),
    };
    let e = format!("{:#}", image_builder::build::iso(&b).unwrap_err());
    assert!(e.contains("not a valid answer file"), "{e}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing was built");
}

#[test]
fn man_pages_and_bash_completion_come_from_the_installer() {
    let dir = tempfile::tempdir().unwrap();
    let docs = image_builder::build::write_docs(&installer(), dir.path()).unwrap();
    assert!(docs.man_pages.len() > 10, "{docs:?}");
    // Written again unchanged, no file is touched (the squashfs's key holds their times).
    let times = |d: &image_builder::build::Docs| -> Vec<_> {
        d.man_pages
            .iter()
            .chain([&d.bash_completion])
            .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .collect()
    };
    let before = times(&docs);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = image_builder::build::write_docs(&installer(), dir.path()).unwrap();
    assert_eq!(times(&again), before);
    let man = std::fs::read_to_string(dir.path().join("man1/installer.1")).unwrap();
    assert!(man.contains(".TH installer 1"), "{man}");
    assert!(man.contains("refused before anything was written"), "exit statuses in the page");
    for sub in ["auto", "validate", "plan", "tui", "install", "generate-config"] {
        assert!(dir.path().join(format!("man1/installer-{sub}.1")).is_file(), "installer-{sub}.1");
    }
    let bash = std::fs::read_to_string(dir.path().join("installer.bash")).unwrap();
    assert!(bash.contains("complete -F _installer") && bash.contains("generate-config"), "{bash}");
}
