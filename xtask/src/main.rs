//! `cargo xtask <command>`: the project's own automation. Every command installs what it needs
//! (Debian packages, the Debian kernel, our static binaries) when it is missing.

mod bench;
mod capture;
mod deps;
mod kernel;
mod suite;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use image_builder::squashfs::{self, Layer};
use vm_harness::{accel, testimage, TestAssets};

#[derive(Parser)]
#[command(about = "Project automation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install host packages, fetch the kernel, build the agent and the test initrd.
    Assets,
    /// Print the paths of the cached kernel, the test initrd and the agent (after `assets`).
    Paths,
    /// The whole test suite: set-up, rustfmt, clippy, unit and VM tests.
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// The long tier: the whole suite plus the `#[ignore]`d long matrices, then the benchmarks.
    Soak {
        /// Extra arguments: test name filters.
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// The main job: the live ISO boots in a VM and installs unattended from an embedded answer,
    /// then the installed disk boots alone.
    Demo,
    /// Property tests with fresh random inputs until the time is up: the answer parser and
    /// validator, the storage planner, the stage-1 command-line parser (zero failures expected).
    Fuzz {
        #[arg(long, default_value_t = 1)]
        minutes: u64,
    },
    /// Boot machines of several kinds and save their hardware snapshots as generate-config fixtures.
    CaptureHw {
        /// Only these kinds (default: all).
        kinds: Vec<String>,
    },
    /// Boot the live test image, wait for its TUI, and write the root's files it read
    /// (`image-builder/src/boot-files.txt`, which mksquashfs lays out first).
    BootFiles,
    /// Benchmarks, each against a comparison measured in the same run: `image` the release ISO's
    /// size and its boot to `installer ready` beside the test image; `stage1` our stage 1 beside
    /// Debian's initramfs-tools and dracut (same kernel, same root); `tui` the TUI's time to its
    /// first frame and from a key to its frame, inside the VM; `install` `installer install`
    /// beside the copy floor (unsquashfs of the same squashfs to the same disk in the same VM),
    /// and the hardware scan and the evaluation before it; `rebuild` the images after a change to
    /// the installer alone.
    Bench {
        #[arg(default_value = "image")]
        what: String,
    },
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"))
}

/// `INSTALLER_CACHE`, else `$XDG_CACHE_HOME/installer-image`, else `~/.cache/installer-image`.
fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("INSTALLER_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"));
    base.join("installer-image")
}

fn phase<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t = Instant::now();
    eprintln!("xtask: == {name}");
    let r = f().with_context(|| format!("{name} failed"));
    eprintln!("xtask: == {name}: {:.1}s", t.elapsed().as_secs_f64());
    r
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<()> {
    let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed ({st})");
    }
    Ok(())
}

/// Builds a workspace binary as a static executable (glibc `crt-static`) for use inside guests.
fn build_static(package: &str, bin: &str) -> Result<PathBuf> {
    let triple = "x86_64-unknown-linux-gnu";
    let dir = target_dir().join("static");
    run(cargo()
        .current_dir(workspace())
        .args(["build", "--quiet", "--release", "--package", package, "--bin", bin, "--target", triple])
        .arg("--target-dir")
        .arg(&dir)
        .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-C target-feature=+crt-static"))?;
    Ok(dir.join(triple).join("release").join(bin))
}

/// The inputs of one of our images: `agent` for test images (which also trust `test_ca`).
fn image_inputs(
    name: &str,
    kernel: &kernel::Kernel,
    agent: Option<&Path>,
    test_ca: Option<&Path>,
) -> Result<image_builder::build::BuildInputs> {
    Ok(image_builder::build::BuildInputs {
        live: image_builder::live::LiveInputs {
            installer: build_static("installer", "installer")?,
            nix_dir: workspace().join("installer/nix"),
            stage1: build_static("stage1", "stage1")?,
            busybox: PathBuf::from("/bin/busybox"),
            agent: agent.map(Path::to_path_buf),
            ssh_authorized_keys: vec![],
            files: vec![],
            answer_keys: vec![],
            require_signed_answers: false,
        },
        cache: cache_dir(),
        out_dir: target_dir().join("images").join(name),
        release: false,
        serial_default: true,
        kernel_params: vec![],
        kernel_package: kernel.package.clone(),
        ca_certificates: test_ca.map(|c| vec![c.join("ca.pem")]).unwrap_or_default(),
        packages: vec![],
        answer: None,
        volid: format!("INSTALLER_{}", env!("CARGO_PKG_VERSION").replace('.', "_")),
    })
}

/// A CA and a server certificate for the guest's view of the host (IP 10.0.2.2), made once with
/// openssl into `target/test-ca/`.
fn test_ca() -> Result<PathBuf> {
    let dir = target_dir().join("test-ca");
    if dir.join("server.pem").exists() {
        return Ok(dir);
    }
    vm_harness::testca::make(&dir, "10.0.2.2", 3650).context("making the test CA")?;
    Ok(dir)
}

fn manifest_path() -> PathBuf {
    target_dir().join(vm_harness::assets::MANIFEST_NAME)
}

fn assets() -> Result<TestAssets> {
    phase("host packages", || deps::ensure(deps::HOST_PACKAGES))?;
    deps::nix_first_run()?;
    let kernel = phase("kernel", || kernel::ensure(&cache_dir()))?;
    let agent = phase("guest agent (static)", || build_static("vm-harness-agent", "vm-harness-agent"))?;
    let initrd = phase("test initrd", || {
        let data = testimage::build(&kernel.modules_dir(), Path::new("/bin/busybox"), &agent)?;
        let path = target_dir().join("test-initrd").join(format!("initrd-{}.gz", kernel.version));
        std::fs::create_dir_all(path.parent().expect("has parent"))?;
        std::fs::write(&path, &data)?;
        eprintln!("xtask: test initrd {} ({} KiB)", path.display(), data.len() / 1024);
        Ok(path)
    })?;
    let debian_root = phase("Debian test root", || {
        let base = image_builder::rootfs::ensure(
            &image_builder::rootfs::RootfsSpec::live(&kernel.package, &[]),
            &cache_dir(),
        )?;
        let in_root = image_builder::rootfs::kernel(&base)?;
        anyhow::ensure!(
            in_root.version == kernel.version,
            "the Debian root has kernel {} but the VMs boot {}",
            in_root.version,
            kernel.version
        );
        let mut layer = Layer::new();
        layer.file("etc/hostname", 0o644, "testvm\n");
        image_builder::live::add_agent(&mut layer, &agent);
        let out = target_dir().join("test-root").join("debian-root.squashfs");
        if squashfs::build(&base, &layer, squashfs::Compression::Zstd3, &out)? {
            let size = std::fs::metadata(&out)?.len();
            eprintln!("xtask: Debian test root {} ({} MiB)", out.display(), size >> 20);
        }
        Ok(out)
    })?;
    let test_ca = phase("test CA", test_ca)?;
    let (live_iso, release_iso, installer) = phase("live test and release ISOs", || {
        let test = image_inputs("test", &kernel, Some(&agent), Some(&test_ca))?;
        let release = image_inputs("release", &kernel, None, None)?;
        Ok((
            image_builder::build::iso(&test)?.iso,
            image_builder::build::iso(&release)?.iso,
            test.live.installer,
        ))
    })?;
    let a = TestAssets {
        live_iso: Some(live_iso),
        release_iso: Some(release_iso),
        dist_iso: None,
        test_ca: Some(test_ca.clone()),
        installer: Some(installer),
        debian_root,
        kernel: kernel.vmlinuz(),
        kernel_version: kernel.version.clone(),
        kernel_root: kernel.root.clone(),
        initrd,
        agent,
    };
    a.write(&manifest_path())?;
    Ok(a)
}

/// KVM only when a probe boots the test initrd with it; cached per host kernel and QEMU version.
fn choose_accel(a: &TestAssets) -> Result<&'static str> {
    if let Ok(v) = std::env::var("VM_HARNESS_ACCEL") {
        return Ok(if v == "kvm" { "kvm" } else { "tcg" });
    }
    let host = String::from_utf8_lossy(&Command::new("uname").arg("-r").output()?.stdout).trim().to_string();
    let qemu = String::from_utf8_lossy(&Command::new("qemu-system-x86_64").arg("--version").output()?.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .replace(' ', "_");
    let key = cache_dir().join(format!("accel-{host}-{}", qemu.replace('/', "_")));
    if let Ok(v) = std::fs::read_to_string(&key) {
        return Ok(if v.trim() == "kvm" { "kvm" } else { "tcg" });
    }
    let ok = phase("KVM probe", || Ok(accel::probe_kvm(&a.kernel, &a.initrd, Duration::from_secs(30))))?;
    let v = if ok { "kvm" } else { "tcg" };
    std::fs::write(&key, v)?;
    Ok(v)
}

/// The environment VM tests and VM-booting commands need.
fn harness_vars(a: &TestAssets) -> Result<Vec<(&'static str, std::ffi::OsString)>> {
    let accel = choose_accel(a)?;
    eprintln!("xtask: VMs use {accel}");
    Ok(vec![
        ("VM_HARNESS_ACCEL", accel.into()),
        ("VM_HARNESS_ASSETS", manifest_path().into()),
        ("VM_HARNESS_DIR", target_dir().join("vm-harness").into()),
        ("INSTALLER_CACHE", cache_dir().into()),
    ])
}

/// The same environment for VMs this process starts itself; returns it for child processes.
fn export_harness_env(a: &TestAssets) -> Result<Vec<(&'static str, std::ffi::OsString)>> {
    let vars = harness_vars(a)?;
    for (k, v) in &vars {
        std::env::set_var(k, v);
    }
    Ok(vars)
}

fn test(args: Vec<String>) -> Result<()> {
    suite_run(args, false)
}

fn soak(args: Vec<String>) -> Result<()> {
    suite_run(args, true)?;
    phase("benchmarks", || bench::image().and_then(|()| bench::stage1()).and_then(|()| bench::install()))?;
    phase("fuzzing", || fuzz(10))
}

/// `installer/tests/properties.rs` with `FUZZ_SECONDS`: each property runs fresh batches until
/// its share of the time is up. The test runner runs two tests at a time (2 cores): the parser's
/// two properties one after the other, beside them the planner's and then stage 1's, so each
/// property gets half of the minutes and the whole takes about `minutes`.
fn fuzz(minutes: u64) -> Result<()> {
    let secs = (minutes * 60 / 2).max(5);
    let start = Instant::now();
    run(cargo().current_dir(workspace()).env("FUZZ_SECONDS", secs.to_string()).args([
        "test",
        "--release",
        "--quiet",
        "-p",
        "installer",
        "-p",
        "stage1",
        "--test",
        "properties",
        "--",
        "--nocapture",
    ]))?;
    println!("fuzz: {:.1} min, no failure", start.elapsed().as_secs_f64() / 60.0);
    Ok(())
}

fn suite_run(args: Vec<String>, include_ignored: bool) -> Result<()> {
    let total = Instant::now();
    let mut a = assets()?;
    if include_ignored {
        // The soak tier's release-payload tests boot the image as shipped.
        bench::add_dist(&mut a)?;
    }
    phase("rustfmt", || run(cargo().current_dir(workspace()).args(["fmt", "--all", "--", "--check"])))?;
    phase("clippy", || {
        run(cargo().current_dir(workspace()).args([
            "clippy",
            "--quiet",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // Logs, timing records and saved states of this run only.
    let env = export_harness_env(&a)?;
    let harness_dir = target_dir().join("vm-harness");
    for d in ["logs", "timings", "saved"] {
        let _ = std::fs::remove_dir_all(harness_dir.join(d));
    }
    phase("doc tests", || {
        run(cargo().current_dir(workspace()).args(["test", "--quiet", "--workspace", "--doc"]))
    })?;
    let bins = phase("build tests", || suite::build(cargo().current_dir(workspace())))?;
    let summary = phase("tests", || {
        suite::run(
            &bins,
            suite::Options {
                filters: &args,
                env,
                logs: target_dir().join("test-logs"),
                cache: cache_dir(),
                seed: workspace().join("xtask/test-times.json"),
                slots: vm_harness::slots::max_vms(),
                include_ignored,
            },
            || calibrate(&a),
        )
        .map_err(|e| {
            e.context(format!("serial logs of the VMs are in {}", harness_dir.join("logs").display()))
        })
    })?;
    let secs = total.elapsed().as_secs_f64();
    match summary.speed {
        Some(cal) => eprintln!(
            "xtask: all tests passed in {:.1} min; on a slow day about {:.1} min (the VM tests scaled by the calibration, the rest as today)",
            secs / 60.0,
            (secs - summary.vm_secs + suite::on_a_slow_day(summary.vm_secs, &cal)) / 60.0
        ),
        None => eprintln!("xtask: all tests passed in {:.1} min", secs / 60.0),
    }
    Ok(())
}

/// Starts the live test image as the install tests do and returns how long the boot they resume
/// from took to `installer ready`: this machine's own boot, or the first test's when that test
/// took the saved state first (once the calibration then timed its resume, 0.4 s).
fn calibrate(a: &TestAssets) -> Result<suite::Speed> {
    let mut m = testimage::live_machine("calibration", a, "")?.start()?;
    m.crash()?;
    Ok(suite::Speed {
        boot_secs: m.saved_boot_secs().context("the saved live boot has no recorded time")?,
        read_secs: m.saved_before_save_secs(),
    })
}

fn demo() -> Result<()> {
    // The main job: build the image with the default answer file embedded, boot it from CD (BIOS)
    // with a blank disk, install with no hands, then boot the installed disk alone and show it.
    // The demo image is the test image (it carries the vm-harness agent, which the installed
    // system keeps, so the harness can ask it questions) plus the answer and its trigger.
    let a = assets()?;
    export_harness_env(&a)?;
    let kernel = kernel::ensure(&cache_dir())?;
    let mut inputs = image_inputs("demo", &kernel, Some(&a.agent), None)?;
    inputs.answer = Some(workspace().join("xtask/demo-answer.toml"));
    inputs.kernel_params = vec!["installer.answer=file:/answer.toml".into(), "installer.yes=1".into()];
    let iso = phase("demo image (default answer embedded)", || Ok(image_builder::build::iso(&inputs)?.iso))?;
    let t0 = Instant::now();
    let disk = phase("unattended install", || {
        let mut m = vm_harness::machine("demo-install")
            .memory_mib(1536)
            .cdrom(&iso)
            .cdrom_bootindex(0)
            .disk(vm_harness::Disk::new_qcow2(8 << 30).serial("DEMO-DISK"))
            .start()?;
        println!("serial log: {}", m.serial_log().display());
        m.wait_for_console_text("installer ready", Duration::from_secs(600))?;
        println!("live system ready after {:.1}s; installing", t0.elapsed().as_secs_f64());
        m.wait_for_console_text("installer: installed generation", Duration::from_secs(1800))?;
        m.wait_for_shutdown(Duration::from_secs(300))?;
        let log = m.serial_text()?;
        for l in log.lines().filter(|l| l.starts_with("installer: ")) {
            println!("  {}", l.trim_end());
        }
        let src = m.disk_path(0).context("the demo disk")?.to_path_buf();
        let dest = target_dir().join("demo-disk.qcow2");
        std::fs::rename(&src, &dest).or_else(|_| std::fs::copy(&src, &dest).map(|_| ()))?;
        Ok(dest)
    })?;
    phase("first boot of the installed disk", || {
        let t = Instant::now();
        let mut m = vm_harness::machine("demo-installed")
            .memory_mib(1024)
            .disk(vm_harness::Disk::file(&disk, "qcow2").bootindex(0))
            .agent_timeout(Duration::from_secs(600))
            .start()?;
        m.wait_for_agent()?;
        m.wait_until_succeeds("systemctl is-active multi-user.target", Duration::from_secs(300))?;
        println!("installed system up after {:.1}s; from inside it:", t.elapsed().as_secs_f64());
        print!(
            "{}",
            m.succeed(
                "echo \"hostname: $(hostname)\"; echo \"kernel: $(uname -r)\"; lsblk -o NAME,SIZE,TYPE,FSTYPE,MOUNTPOINTS; echo 'install phases:'; cat /var/log/installer/phases"
            )?
        );
        m.shutdown()?;
        Ok(())
    })?;
    println!("demo finished in {:.0}s; the installed disk is {}", t0.elapsed().as_secs_f64(), disk.display());
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Assets => assets().map(|_| ()),
        Cmd::Paths => {
            let a = TestAssets::read(&manifest_path()).or_else(|_| assets())?;
            println!("kernel={}", a.kernel.display());
            println!("kernel_version={}", a.kernel_version);
            println!("modules={}", a.modules_dir().display());
            println!("initrd={}", a.initrd.display());
            println!("agent={}", a.agent.display());
            println!("cache={}", cache_dir().display());
            Ok(())
        }
        Cmd::Test { args } => test(args),
        Cmd::Soak { args } => soak(args),
        Cmd::Demo => demo(),
        Cmd::Fuzz { minutes } => fuzz(minutes),
        Cmd::Bench { what } => match what.as_str() {
            "image" => bench::image(),
            "tui" => bench::tui(),
            "stage1" => bench::stage1(),
            "install" => bench::install(),
            "rebuild" => bench::rebuild(),
            _ => bail!("unknown benchmark {what:?} (known: image, stage1, install, rebuild, tui)"),
        },
        Cmd::BootFiles => bench::boot_files(),
        Cmd::CaptureHw { kinds } => {
            let a = assets()?;
            run(cargo().current_dir(workspace()).args(["build", "--quiet", "-p", "installer"]))?;
            export_harness_env(&a)?;
            capture::capture(&workspace(), &a, &target_dir().join("debug/installer"), &kinds)
        }
    }
}
