//! `cargo xtask bench`: measurements side by side in one run, printed as ratios against a
//! comparison measured in the same run (TCG speed drifts by 2× between days).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::{assets, cache_dir, export_harness_env, image_inputs, kernel, phase};

/// The size goal for the release ISO (issue 15), in bytes.
const ISO_GOAL: u64 = 160_000_000;

/// The release image as it is shipped: xz squashfs with plain kernel modules, xz initrd, built
/// into `target/images/dist/` (the suite's images use zstd, which installs faster under TCG).
fn dist_image() -> Result<PathBuf> {
    let kernel = kernel::ensure(&cache_dir())?;
    let mut inputs = image_inputs("dist", &kernel, None, None)?;
    inputs.release = true;
    Ok(image_builder::build::iso(&inputs)?.iso)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB ({:.1} MB)", bytes as f64 / 1048576.0, bytes as f64 / 1e6)
}

fn size(p: &Path) -> Result<u64> {
    Ok(std::fs::metadata(p).with_context(|| format!("sizing {}", p.display()))?.len())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Boots `iso` from CD (BIOS, 1 GiB) and returns the seconds to `installer ready`.
fn boot_to_ready(name: &str, iso: &Path) -> Result<f64> {
    let t = Instant::now();
    let mut m = vm_harness::machine(name).memory_mib(1024).cdrom(iso).cdrom_bootindex(0).start()?;
    m.wait_for_console_text("installer ready", Duration::from_secs(600))?;
    let secs = t.elapsed().as_secs_f64();
    m.crash()?;
    Ok(secs)
}

/// The release ISO's size against the goal and the suite's zstd image, and boot to `installer
/// ready` of both, interleaved (BIOS, CD, 1 GiB).
pub fn image() -> Result<()> {
    let a = assets()?;
    export_harness_env(&a)?;
    let test_iso = a.live_iso.clone().context("no live ISO was built")?;
    let dist_iso = phase("release image (xz)", dist_image)?;
    let dir = dist_iso.parent().context("the ISO has a directory")?;
    let (mut dist_t, mut test_t) = (vec![], vec![]);
    for i in 0..3 {
        dist_t.push(boot_to_ready(&format!("bench-dist-{i}"), &dist_iso)?);
        test_t.push(boot_to_ready(&format!("bench-test-{i}"), &test_iso)?);
    }
    let (dist_size, test_size) = (size(&dist_iso)?, size(&test_iso)?);
    let accel = std::env::var("VM_HARNESS_ACCEL").unwrap_or_default();
    println!("release ISO (xz): {} {}", mib(dist_size), dist_iso.display());
    println!(
        "  squashfs {}, initrd {}, kernel {}",
        mib(size(&dir.join("filesystem.squashfs"))?),
        mib(size(&dir.join("initrd"))?),
        mib(size(&dir.join("bzImage"))?)
    );
    println!(
        "  goal ≤ {}: {} ({:.2} of the goal)",
        mib(ISO_GOAL),
        if dist_size <= ISO_GOAL { "met" } else { "NOT met" },
        dist_size as f64 / ISO_GOAL as f64
    );
    println!(
        "test ISO (zstd, with the agent): {} ({:.2}x the release ISO)",
        mib(test_size),
        test_size as f64 / dist_size as f64
    );
    let fmt = |v: &[f64]| v.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(", ");
    let (d, t) = (median(&mut dist_t.clone()), median(&mut test_t.clone()));
    println!("boot to `installer ready` (BIOS, CD, 1 GiB, {accel}), median of 3, interleaved:");
    println!(
        "  release ISO {d:.1} s [{}]; test ISO {t:.1} s [{}]; ratio {:.2}",
        fmt(&dist_t),
        fmt(&test_t),
        d / t
    );
    Ok(())
}

/// The TUI inside the live test VM (serial console, TCG): from `installer tui` starting to its
/// first frame, and from a key to the frame it causes, as the TUI logs them.
pub fn tui() -> Result<()> {
    let a = assets()?;
    export_harness_env(&a)?;
    let mut m = vm_harness::testimage::live_machine("bench-tui", &a, "")?.start()?;
    m.wait_for_agent()?;
    m.wait_for_screen("1/8 Keyboard and language", Duration::from_secs(300))?;
    let mut first = vec![];
    let mut keys = vec![];
    for _ in 0..3 {
        // Quit (Ctrl-C, y) and start it again from the shell, as a person would.
        m.send_console("\x03")?;
        m.wait_for_screen(r"Quit the installer\?", Duration::from_secs(60))?;
        m.send_console("y")?;
        m.wait_for_screen("Run 'installer tui'", Duration::from_secs(60))?;
        m.succeed("truncate -s 0 /var/log/installer/tui.log")?;
        m.send_console("installer tui\r")?;
        m.wait_for_screen("1/8 Keyboard and language", Duration::from_secs(60))?;
        for _ in 0..10 {
            m.send_console("\t")?;
            std::thread::sleep(Duration::from_millis(400));
        }
        let log = m.succeed("sleep 1; grep -h 'tui::timing' /var/log/installer/tui.log || true")?;
        let ms = |l: &str, what: &str| -> Option<f64> {
            l.split(what).nth(1)?.split_whitespace().next()?.parse().ok()
        };
        first.extend(log.lines().filter_map(|l| ms(l, "first frame after ")).next_back());
        keys.extend(log.lines().filter_map(|l| ms(l, "key to frame ")));
    }
    m.crash()?;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let n = keys.len();
    let max = keys.iter().cloned().fold(0.0, f64::max);
    println!(
        "TUI first frame after start: median {:.0} ms of {:?}",
        median(&mut first),
        first.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>()
    );
    println!("TUI key to frame: median {:.1} ms, max {max:.1} ms over {n} keys", median(&mut keys));
    Ok(())
}
