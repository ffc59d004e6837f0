//! The test suite's runner: builds every test binary once, runs the binaries that boot no VM
//! first (each as a whole, two test threads), then every VM test as its own process, longest
//! first (times of earlier runs), across binaries, as many at once as there are VM slots; so no
//! slot idles while one binary's last test runs. It ends with a table of wall time per binary and
//! per VM test, with the machines each test booted (time to ready, time running).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// Test binaries (target names) whose tests boot VMs. A binary not listed here that starts a
/// machine fails (the runner sets `VM_HARNESS_FORBID=1` for the others), so the list stays true.
pub const VM_BINARIES: &[&str] =
    &["guest_install", "guest_auto", "guest_storage", "guest_config", "guest_tui", "live_media", "vm"];

/// VM tests that run two machines at once: each runs alone, before the others (beside another
/// test it would hold one VM slot idle while it waits for a second).
pub const TWO_VM_TESTS: &[&str] = &["two_machines_at_once"];

/// Seconds assumed for a VM test with no recorded time: long, so unknown tests start early.
const UNKNOWN_SECS: f64 = 900.0;

#[derive(Debug, Clone)]
pub struct Binary {
    pub package: String,
    pub target: String,
    pub exe: PathBuf,
    pub cwd: PathBuf,
}

impl Binary {
    fn label(&self) -> String {
        format!("{}::{}", self.package, self.target)
    }
    fn boots_vms(&self) -> bool {
        VM_BINARIES.contains(&self.target.as_str())
    }
}

/// Builds every test target of the workspace and returns the binaries (`cargo test --no-run`).
pub fn build(cargo: &mut Command) -> Result<Vec<Binary>> {
    let out = cargo
        .args(["test", "--workspace", "--no-run", "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .context("cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the tests failed ({})", out.status);
    }
    let mut bins = vec![];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        if v["reason"] != "compiler-artifact" || v["profile"]["test"] != true {
            continue;
        }
        let Some(exe) = v["executable"].as_str() else { continue };
        let manifest = PathBuf::from(v["manifest_path"].as_str().unwrap_or_default());
        let package = v["package_id"].as_str().unwrap_or_default();
        // package_id: "path+file:///work/main/installer#0.1.0" or "name 0.1.0 (path+...)"
        let package = package
            .rsplit('/')
            .next()
            .and_then(|s| s.split('#').next())
            .filter(|s| !s.is_empty() && !s.contains(' '))
            .map(str::to_string)
            .unwrap_or_else(|| package.split(' ').next().unwrap_or_default().to_string());
        bins.push(Binary {
            package,
            target: v["target"]["name"].as_str().unwrap_or_default().to_string(),
            exe: exe.into(),
            cwd: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
        });
    }
    for name in VM_BINARIES {
        if !bins.iter().any(|b| b.target == *name) {
            bail!("the VM test binary {name} is gone: update xtask::suite::VM_BINARIES");
        }
    }
    Ok(bins)
}

/// The tests of a binary; `#[ignore]`d ones (the soak tier) only with `include_ignored` (a
/// plain `--list` names them too, and running one by name would report a pass for a skip).
fn list(b: &Binary, include_ignored: bool) -> Result<Vec<String>> {
    let names = |extra: Option<&str>| -> Result<Vec<String>> {
        let out = Command::new(&b.exe)
            .args(["--list", "--format", "terse"])
            .args(extra)
            .current_dir(&b.cwd)
            .output()
            .with_context(|| format!("listing the tests of {}", b.exe.display()))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_string)
            .collect())
    };
    let all = names(None)?;
    if include_ignored {
        return Ok(all);
    }
    let ignored = names(Some("--ignored"))?;
    Ok(all.into_iter().filter(|t| !ignored.contains(t)).collect())
}

/// One process to run: a whole binary, or one test of it.
#[derive(Debug, Clone)]
struct Job {
    bin: usize,
    test: Option<String>,
    key: String,
    expect: f64,
}

#[derive(Debug)]
struct Done {
    job: Job,
    ok: bool,
    secs: f64,
    passed: u64,
    failed: u64,
    log: PathBuf,
    machines: Vec<MachineTime>,
}

#[derive(Debug, Clone)]
pub struct MachineTime {
    pub name: String,
    pub ready: Option<f64>,
    pub total: f64,
    pub resumed: bool,
    /// Long guest commands: (seconds, command).
    pub long: Vec<(f64, String)>,
}

/// Sums libtest's "test result: ok. N passed; M failed;" lines.
fn counts(output: &str) -> (u64, u64) {
    let mut p = 0;
    let mut f = 0;
    for l in output.lines().filter(|l| l.starts_with("test result:")) {
        let num = |word: &str| {
            l.split([';', '.'])
                .find(|s| s.trim().ends_with(word))
                .and_then(|s| s.trim().split(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        p += num("passed");
        f += num("failed");
    }
    (p, f)
}

/// Machines a test process booted, from the harness's timing records.
fn machines(pid: u32) -> Vec<MachineTime> {
    let mut out: Vec<MachineTime> = vec![];
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for r in vm_harness::timing::read(pid) {
        let i = match open.get(&r.machine) {
            Some(&i) => i,
            None => {
                out.push(MachineTime {
                    name: r.machine.clone(),
                    ready: None,
                    total: 0.0,
                    resumed: false,
                    long: vec![],
                });
                open.insert(r.machine.clone(), out.len() - 1);
                out.len() - 1
            }
        };
        match r.event.as_str() {
            "resumed" => out[i].resumed = true,
            "exec" => out[i].long.push((r.secs, r.detail.unwrap_or_default())),
            "ready" => out[i].ready = Some(r.secs),
            "stop" => {
                out[i].total = r.secs;
                open.remove(&r.machine);
            }
            _ => {}
        }
    }
    out
}

fn run_job(bins: &[Binary], job: Job, o: &Options) -> Result<Done> {
    let (logs, env) = (&o.logs, &o.env);
    let b = &bins[job.bin];
    let log = logs.join(format!("{}.log", job.key.replace("::", "--")));
    let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new(&b.exe);
    cmd.current_dir(&b.cwd).envs(env.iter().cloned()).stdin(Stdio::null());
    match &job.test {
        Some(t) => cmd.args(["--exact", t, "--test-threads=1", "--nocapture"]),
        None => cmd.arg("--test-threads=2").env("VM_HARNESS_FORBID", "1"),
    };
    if o.include_ignored {
        cmd.arg("--include-ignored");
    }
    let t = Instant::now();
    let mut child = cmd
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("running {}", b.exe.display()))?;
    let pid = child.id();
    let st = child.wait()?;
    let secs = t.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let (passed, failed) = counts(&text);
    Ok(Done { ok: st.success(), secs, passed, failed, log, machines: machines(pid), job })
}

/// Times of earlier runs: `<cache>/test-times.json`, else the seed committed in `xtask/`.
fn load_times(cache: &Path, seed: &Path) -> BTreeMap<String, f64> {
    [cache.join("test-times.json"), seed.to_path_buf()]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().and_then(|s| serde_json::from_str(&s).ok()))
        .unwrap_or_default()
}

/// The live boot most install tests share (`calibrate` in main.rs), timed on a fast day
/// (2026-11-28, when `cargo xtask bench image` gave the figure the README quotes); today's time
/// divided by this says how fast TCG runs today.
///
/// Re-based on 2026-12-04 when the live boot itself got faster (the TUI no longer waits for the
/// network, which starts after it; units masked; the boot's files first in the squashfs): beside
/// a minimal Debian's boot in the same runs (`cargo xtask bench image`), the test image took 0.96x
/// Debian's time before and 0.82x after, so the same day's boot is now 0.86x what it was:
/// 20.0 s × 0.86. Again on 2026-12-05 (logins allowed without a program's start, journal-flush
/// masked): the test image went from 18.5 s to 17.0 s in two bench runs of the same afternoon
/// (0.92x): 17.1 s × 0.92.
pub const REFERENCE_LIVE_BOOT_SECS: f64 = 15.7;

/// The read of the live root that same boot makes before its state is saved
/// (`testimage::READ_THE_LIVE_ROOT`): an install's copy in small, measured beside the boot
/// because installs and boots do not slow down alike (installs once ran 1.3x slower than the boot
/// said; on 2026-12-02 the boot read 0.90x and the read 1.09x). Measured on 2026-12-02
/// at 18.9 s (alone) and 23.2 s (beside another VM) in runs whose boots took 0.91x and 1.08x.
pub const REFERENCE_LIVE_READ_SECS: f64 = 20.0;

/// How fast TCG runs today, from the calibration: the shared live boot and its read of the root.
#[derive(Clone, Copy, Debug)]
pub struct Speed {
    pub boot_secs: f64,
    pub read_secs: Option<f64>,
}

impl Speed {
    /// Today's time over the reference's: the boot's ratio (what tells the day, as issue 17
    /// asks), or the read's when that is smaller. The slow-day figure divides by this, so taking
    /// the faster of the two measures makes that figure err on the long side.
    pub fn factor(&self) -> f64 {
        let boot = self.boot_secs / REFERENCE_LIVE_BOOT_SECS;
        self.read_secs.map_or(boot, |r| boot.min(r / REFERENCE_LIVE_READ_SECS))
    }
}

pub struct Options<'a> {
    pub filters: &'a [String],
    pub env: Vec<(&'static str, std::ffi::OsString)>,
    pub logs: PathBuf,
    pub cache: PathBuf,
    pub seed: PathBuf,
    pub slots: usize,
    /// Also the `#[ignore]`d tests: the long matrices of `cargo xtask soak`.
    pub include_ignored: bool,
}

/// What a passing run measured.
pub struct Summary {
    /// Wall seconds of the VM tests.
    pub vm_secs: f64,
    /// The calibration, when it ran.
    pub speed: Option<Speed>,
}

/// A slow day: TCG takes this many times the reference's time (the day issue 17 describes, when
/// the suite took 76 minutes, ran at about twice the time of the days it took 33).
pub const SLOW_DAY_FACTOR: f64 = 2.0;

/// `vm_secs` measured on a day `speed` says is that many times the reference's, scaled to a slow day.
pub fn on_a_slow_day(vm_secs: f64, speed: &Speed) -> f64 {
    vm_secs * SLOW_DAY_FACTOR / speed.factor().max(0.05)
}

/// Runs the suite; prints a line per finished job, the failures' output, the timing table and a
/// closing "N passed, M failed" line. Errors when anything failed.
pub fn run(bins: &[Binary], o: Options, calibrate: impl FnOnce() -> Result<Speed> + Send) -> Result<Summary> {
    std::fs::create_dir_all(&o.logs)?;
    let (host_jobs, vm_jobs) = jobs(bins, &o)?;
    let t0 = Instant::now();
    let mut done: Vec<Done> = vec![];
    // Host binaries first, one at a time (each uses two test threads).
    for j in host_jobs {
        done.push(reported(run_job(bins, j, &o)?));
    }
    let host_secs = t0.elapsed().as_secs_f64();
    let vm_t0 = Instant::now();
    // Tests that need every slot, alone.
    let (alone, vm_jobs): (Vec<Job>, Vec<Job>) =
        vm_jobs.into_iter().partition(|j| j.test.as_deref().is_some_and(|t| TWO_VM_TESTS.contains(&t)));
    for j in alone {
        done.push(reported(run_job(bins, j, &o)?));
    }
    let speed = run_in_slots(bins, vm_jobs, &o, calibrate, &mut done);
    let vm_secs = vm_t0.elapsed().as_secs_f64();
    save_times(&o, &done)?;
    print_table(bins, &done, host_secs, vm_secs);
    match &speed {
        Some(speed) => {
            eprintln!("xtask: {}", speed_line(speed));
            eprintln!(
                "xtask: the VM tests took {:.1} min; on a slow day ({SLOW_DAY_FACTOR:.1}x the reference's time) about {:.1} min",
                vm_secs / 60.0,
                on_a_slow_day(vm_secs, speed) / 60.0
            );
        }
        None => eprintln!("xtask: no calibration boot (it failed)"),
    }
    verdict(&done, o.filters)?;
    Ok(Summary { vm_secs, speed })
}

/// The jobs: each host binary whole, each VM test alone (longest expected first: the schedule's
/// end is set by the last long test to start).
fn jobs(bins: &[Binary], o: &Options) -> Result<(Vec<Job>, Vec<Job>)> {
    let times = load_times(&o.cache, &o.seed);
    let matches = |name: &str| o.filters.is_empty() || o.filters.iter().any(|f| name.contains(f.as_str()));
    let mut host_jobs = vec![];
    let mut vm_jobs = vec![];
    for (i, b) in bins.iter().enumerate() {
        let tests: Vec<String> = list(b, o.include_ignored)?.into_iter().filter(|t| matches(t)).collect();
        if tests.is_empty() {
            continue;
        }
        if b.boots_vms() {
            for t in tests {
                let key = format!("{}::{t}", b.label());
                let expect = times.get(&key).copied().unwrap_or(UNKNOWN_SECS);
                vm_jobs.push(Job { bin: i, test: Some(t), key, expect });
            }
        } else {
            host_jobs.push(Job { bin: i, test: None, key: b.label(), expect: 0.0 });
        }
    }
    vm_jobs.sort_by(|a, b| b.expect.total_cmp(&a.expect));
    Ok((host_jobs, vm_jobs))
}

/// Prints a finished job's line.
fn reported(d: Done) -> Done {
    eprintln!(
        "xtask: {} {:>7.1}s  {}{}",
        if d.ok { "ok  " } else { "FAIL" },
        d.secs,
        d.job.key,
        if d.ok { String::new() } else { format!("  (output: {})", d.log.display()) }
    );
    d
}

/// `slots` workers take the next-longest job; the calibration boot runs beside the first tests
/// (it is their saved boot). Returns the calibration.
fn run_in_slots(
    bins: &[Binary],
    jobs: Vec<Job>,
    o: &Options,
    calibrate: impl FnOnce() -> Result<Speed> + Send,
    done: &mut Vec<Done>,
) -> Option<Speed> {
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let (tx, rx) = mpsc::channel::<Result<Done>>();
    std::thread::scope(|s| {
        let cal = s.spawn(move || {
            let r = calibrate();
            match &r {
                Ok(speed) => eprintln!("xtask: {}", speed_line(speed)),
                Err(e) => eprintln!("xtask: the calibration boot failed: {e:#}"),
            }
            r
        });
        for _ in 0..o.slots.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            s.spawn(move || loop {
                let Some(j) = queue.lock().expect("queue").next() else { break };
                if tx.send(run_job(bins, j, o)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for d in rx {
            match d {
                Ok(d) => done.push(reported(d)),
                Err(e) => eprintln!("xtask: FAIL {e:#}"),
            }
        }
        cal.join().ok().and_then(|r| r.ok())
    })
}

/// Remembers the passing tests' times for the next run's order.
fn save_times(o: &Options, done: &[Done]) -> Result<()> {
    let mut new_times = load_times(&o.cache, &o.seed);
    for d in done.iter().filter(|d| d.ok && d.job.test.is_some()) {
        new_times.insert(d.job.key.clone(), (d.secs * 10.0).round() / 10.0);
    }
    let _ = std::fs::write(o.cache.join("test-times.json"), serde_json::to_string_pretty(&new_times)?);
    Ok(())
}

/// The failures' output and the closing line; an error when anything failed or nothing ran.
fn verdict(done: &[Done], filters: &[String]) -> Result<()> {
    let failed: Vec<&Done> = done.iter().filter(|d| !d.ok).collect();
    for d in &failed {
        eprintln!("\nxtask: ---- output of {} ({}) ----", d.job.key, d.log.display());
        eprintln!("{}", std::fs::read_to_string(&d.log).unwrap_or_default());
    }
    let passed: u64 = done.iter().map(|d| d.passed).sum();
    let failed_n: u64 = done.iter().map(|d| d.failed.max(u64::from(!d.ok))).sum();
    println!("suite: {passed} passed, {failed_n} failed");
    if !failed.is_empty() {
        bail!(
            "{} job(s) failed: {}",
            failed.len(),
            failed.iter().map(|d| d.job.key.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    if passed == 0 {
        bail!("no test ran (filter {filters:?})");
    }
    Ok(())
}

/// How fast today is: the shared live boot and its read of the root against the reference day's.
pub fn speed_line(speed: &Speed) -> String {
    let f = speed.factor();
    let day = if f >= 1.6 {
        "a slow day"
    } else if f >= 1.25 {
        "a middling day"
    } else {
        "a fast day"
    };
    let read = match speed.read_secs {
        Some(r) => format!(
            ", read its root in {r:.1}s ({:.2}x the reference {REFERENCE_LIVE_READ_SECS:.1}s)",
            r / REFERENCE_LIVE_READ_SECS
        ),
        None => String::new(),
    };
    format!(
        "today's speed: the live test image booted to `installer ready` in {:.1}s ({:.2}x the reference {REFERENCE_LIVE_BOOT_SECS:.1}s){read}: {f:.2}x, {day}",
        speed.boot_secs,
        speed.boot_secs / REFERENCE_LIVE_BOOT_SECS
    )
}

fn print_table(bins: &[Binary], done: &[Done], host_secs: f64, vm_secs: f64) {
    eprintln!("\nxtask: == timings (wall seconds)");
    let mut per_bin: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for d in done {
        let e = per_bin.entry(bins[d.job.bin].label()).or_default();
        e.0 += if d.job.test.is_some() { 1 } else { d.passed as usize };
        e.1 += d.secs;
    }
    eprintln!("{:<44} {:>6} {:>9}", "binary", "tests", "seconds");
    for (k, (n, s)) in &per_bin {
        eprintln!("{k:<44} {n:>6} {s:>9.1}");
    }
    eprintln!("\n{:<70} {:>7}  machines (boot = start to ready, then running)", "VM test", "seconds");
    let mut vm: Vec<&Done> = done.iter().filter(|d| d.job.test.is_some()).collect();
    vm.sort_by(|a, b| b.secs.total_cmp(&a.secs));
    for d in vm {
        let ms: Vec<String> = d
            .machines
            .iter()
            .map(|m| match m.ready {
                Some(r) => format!(
                    "{} {} {:.0}+{:.0}",
                    m.name,
                    if m.resumed { "resumed" } else { "boot" },
                    r,
                    (m.total - r).max(0.0)
                ),
                None => format!("{} {:.0}", m.name, m.total),
            })
            .collect();
        let name = d.job.test.as_deref().unwrap_or_default();
        let label = format!("{}::{name}", bins[d.job.bin].target);
        eprintln!("{label:<70} {:>7.1}  {}", d.secs, ms.join(", "));
        for m in &d.machines {
            for (secs, cmd) in m.long.iter().filter(|(s, _)| *s >= 10.0) {
                eprintln!("    {:>6.1}s  {}: {cmd}", secs, m.name);
            }
        }
    }
    eprintln!("\nhost tests {host_secs:.0}s, VM tests {vm_secs:.0}s (wall)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_day_scales_the_vm_time_by_the_faster_calibration_measure() {
        let at = |boot: f64, read: Option<f64>| Speed { boot_secs: boot, read_secs: read };
        let r = REFERENCE_LIVE_BOOT_SECS;
        // A reference day doubles; a day already twice as slow stays as it is.
        assert!((on_a_slow_day(600.0, &at(r, None)) - 1200.0).abs() < 1e-9);
        assert!((on_a_slow_day(600.0, &at(2.0 * r, None)) - 600.0).abs() < 1e-9);
        assert!((on_a_slow_day(600.0, &at(0.5 * r, Some(REFERENCE_LIVE_READ_SECS))) - 2400.0).abs() < 1e-9);
        // The faster of the two measures is the day's: the slow-day figure errs long.
        let line = speed_line(&at(2.0 * r, Some(1.5 * REFERENCE_LIVE_READ_SECS)));
        assert!(line.contains("(1.50x the reference") && line.ends_with("1.50x, a middling day"), "{line}");
        assert!((at(r, Some(2.0 * REFERENCE_LIVE_READ_SECS)).factor() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn libtest_summaries_are_added_up() {
        let out = "running 3 tests\ntest result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                   test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.0s\n";
        assert_eq!(counts(out), (5, 1));
        assert_eq!(counts("no summary"), (0, 0));
    }
}
