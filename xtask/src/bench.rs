//! `cargo xtask bench`: measurements side by side in one run, printed as ratios against a
//! comparison measured in the same run (TCG speed drifts by 2× between days).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::{assets, cache_dir, export_harness_env, image_inputs, kernel, phase};

/// The size goal for the release ISO (issue 15), in bytes.
const ISO_GOAL: u64 = 160_000_000;

/// The release image as it is shipped: xz squashfs with plain kernel modules, zstd-19 initrd, built
/// into `target/images/dist/` (the suite's images use zstd, which installs faster under TCG).
fn dist_image() -> Result<PathBuf> {
    let kernel = kernel::ensure(&cache_dir())?;
    let mut inputs = image_inputs("dist", &kernel, None, None)?;
    inputs.release = true;
    Ok(image_builder::build::iso(&inputs)?.iso)
}

/// Builds the release image and names it in the test manifest (`TestAssets::dist_iso`).
pub fn add_dist(a: &mut vm_harness::TestAssets) -> Result<PathBuf> {
    let iso = phase("release image (xz)", dist_image)?;
    a.dist_iso = Some(iso.clone());
    a.write(&crate::manifest_path())?;
    Ok(iso)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB ({:.1} MB)", bytes as f64 / 1048576.0, bytes as f64 / 1e6)
}

fn size(p: &Path) -> Result<u64> {
    Ok(std::fs::metadata(p).with_context(|| format!("sizing {}", p.display()))?.len())
}

/// Each run's seconds, with `decimals`, for a `[…]` after a median.
fn seconds(v: &[f64], decimals: usize) -> String {
    v.iter().map(|t| format!("{t:.decimals$}")).collect::<Vec<_>>().join(", ")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `iso` booted from CD (BIOS, 1 GiB), once it has said `installer ready`.
fn ready_from_cd(name: &str, iso: &Path) -> Result<vm_harness::Machine> {
    let mut m = vm_harness::machine(name).memory_mib(1024).cdrom(iso).cdrom_bootindex(0).start()?;
    m.wait_for_console_text("installer ready", Duration::from_secs(600))?;
    Ok(m)
}

/// Boots `iso` from CD (BIOS, 1 GiB) and returns the seconds to `installer ready`.
fn boot_to_ready(name: &str, iso: &Path) -> Result<f64> {
    let t = Instant::now();
    let mut m = ready_from_cd(name, iso)?;
    let secs = t.elapsed().as_secs_f64();
    m.crash()?;
    Ok(secs)
}

/// Boots the benchmark's minimal Debian (minbase + systemd, its initramfs-tools initrd, direct
/// kernel boot, 1 GiB) and returns the seconds to `multi-user.target`.
fn debian_to_multi_user(name: &str, kernel: &kernel::Kernel, root: &Path, disk: &Path) -> Result<f64> {
    let t = Instant::now();
    let mut m = vm_harness::machine(name)
        .memory_mib(1024)
        .kernel(kernel.vmlinuz(), Some(debian_initrd(root, kernel)?), "root=/dev/vda rw console=ttyS0,115200")
        .disk(vm_harness::Disk::overlay(disk))
        .start()?;
    m.wait_for_console_text("Reached target .*Multi-User System", Duration::from_secs(600))?;
    let secs = t.elapsed().as_secs_f64();
    m.crash()?;
    Ok(secs)
}

/// The release ISO's size against the goal and the suite's zstd image, and boot to `installer
/// ready` of both beside a minimal Debian's boot to multi-user, interleaved (1 GiB; the ISOs by
/// BIOS from CD, Debian by direct kernel boot as in issue 15's table).
pub fn image() -> Result<()> {
    let mut a = assets()?;
    export_harness_env(&a)?;
    let test_iso = a.live_iso.clone().context("no live ISO was built")?;
    let dist_iso = add_dist(&mut a)?;
    let dir = dist_iso.parent().context("the ISO has a directory")?;
    let kernel = kernel::ensure(&cache_dir())?;
    let debian = phase("Debian root with initramfs-tools", || debian_root(&kernel, "initramfs-tools"))?;
    let disk = phase("root disk", || root_image(&debian))?;
    let (mut dist_t, mut test_t, mut debian_t) = (vec![], vec![], vec![]);
    for i in 0..3 {
        dist_t.push(boot_to_ready(&format!("bench-dist-{i}"), &dist_iso)?);
        test_t.push(boot_to_ready(&format!("bench-test-{i}"), &test_iso)?);
        debian_t.push(debian_to_multi_user(&format!("bench-debian-{i}"), &kernel, &debian, &disk)?);
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
    let fmt = |v: &[f64]| seconds(v, 1);
    let (d, t) = (median(&mut dist_t.clone()), median(&mut test_t.clone()));
    println!("boot to `installer ready` (BIOS, CD, 1 GiB, {accel}), median of 3, interleaved:");
    println!(
        "  release ISO {d:.1} s [{}]; test ISO {t:.1} s [{}]; ratio {:.2}",
        fmt(&dist_t),
        fmt(&test_t),
        d / t
    );
    let deb = median(&mut debian_t.clone());
    println!(
        "  minimal Debian (minbase + systemd, initramfs-tools, direct kernel boot) to multi-user: {deb:.1} s [{}]",
        fmt(&debian_t)
    );
    println!(
        "  release ISO / minimal Debian: {:.2}, test ISO / minimal Debian: {:.2} (goal ≤ 1.0: {})",
        d / deb,
        t / deb,
        if d <= deb { "met" } else { "NOT met" }
    );
    Ok(())
}

/// Files of the live root that only the recording itself or the test agent read.
const NOT_BOOT_FILES: &[&str] =
    &["usr/local/sbin/vm-harness-agent", "usr/bin/fincore", "usr/bin/find", "usr/bin/xargs", "usr/bin/mawk"];

/// The live root's files (paths relative to it, modules by their uncompressed name) listed by
/// `fincore` output lines (`RES ./PATH`) with resident pages, less [`NOT_BOOT_FILES`].
fn boot_files_from(fincore: &str) -> Vec<String> {
    let mut files: Vec<String> = fincore
        .lines()
        .filter_map(|l| l.trim().split_once(' '))
        .filter(|(res, _)| res.parse::<u64>().is_ok_and(|r| r > 0))
        .map(|(_, path)| path.trim().trim_start_matches("./").to_string())
        .map(|p| p.strip_suffix(".zst").map(str::to_string).unwrap_or(p))
        .filter(|p| !p.is_empty() && !NOT_BOOT_FILES.contains(&p.as_str()))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// `cargo xtask boot-files`: boots the live test image from CD (BIOS, 1 GiB, as the image
/// benchmark does), waits for the TUI's first screen, and lists the files of the squashfs with
/// pages in the page cache: what the boot read. The list lays those files out first in every
/// squashfs the image builder makes.
pub fn boot_files() -> Result<()> {
    let a = assets()?;
    export_harness_env(&a)?;
    let iso = a.live_iso.clone().context("no live ISO was built")?;
    let mut m = ready_from_cd("boot-files", &iso)?;
    m.wait_for_screen("1/8 Keyboard and language", Duration::from_secs(300))?;
    m.wait_for_agent()?;
    let out = m.succeed(
        "cd /run/installer/squashfs && find . -xdev -type f -print0 | xargs -0 fincore --noheadings --bytes --output RES,FILE",
    )?;
    m.crash()?;
    let files = boot_files_from(&out);
    anyhow::ensure!(files.len() > 50, "only {} files were read at boot: not a boot", files.len());
    let path = crate::workspace().join("image-builder/src/boot-files.txt");
    let text = format!(
        "# The live root's files read while it boots to the TUI, written by `cargo xtask boot-files`.\n{}\n",
        files.join("\n")
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    println!("{} files -> {}", files.len(), path.display());
    Ok(())
}

/// The live test image (current assets) resumed from the saved boot most tests share, its agent
/// answering.
fn live_vm(name: &str) -> Result<vm_harness::Machine> {
    let a = assets()?;
    export_harness_env(&a)?;
    let mut m = vm_harness::testimage::live_machine(name, &a, "")?.start()?;
    m.wait_for_agent()?;
    Ok(m)
}

/// The TUI inside the live test VM (serial console, TCG): from `installer tui` starting to its
/// first frame, and from a key to the frame it causes, as the TUI logs them.
pub fn tui() -> Result<()> {
    let mut m = live_vm("bench-tui")?;
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

/// The script the stage-1 benchmark boots as `init=`: it reports the uptime at which the real
/// root's init starts and powers off.
const BENCH_INIT: &str = "#!/bin/sh\n[ -r /proc/uptime ] || mount -t proc proc /proc\nread up idle < /proc/uptime\necho \"BENCH-INIT $up\" > /dev/console\necho o > /proc/sysrq-trigger\nsleep 60\n";

/// A Debian bookworm minbase root with the test kernel and `initrd_tool` (`initramfs-tools` or
/// `dracut`, which builds Debian's initrd for the kernel as it installs), cached under
/// `cache/bench/`.
fn debian_root(kernel: &kernel::Kernel, initrd_tool: &str) -> Result<PathBuf> {
    let entry = cache_dir().join("bench").join(format!("{initrd_tool}-{}", kernel.package));
    let root = entry.join("root");
    if entry.join(".complete").exists() {
        return Ok(root);
    }
    if entry.exists() {
        std::fs::remove_dir_all(&entry)?;
    }
    std::fs::create_dir_all(&entry)?;
    let archives = cache_dir().join("apt-archives");
    std::fs::create_dir_all(archives.join("partial"))?;
    let script = entry.join("bench-init");
    std::fs::write(&script, BENCH_INIT)?;
    runner::Cmd::new(format!("bootstrapping a Debian root with {initrd_tool}"), "mmdebstrap")
        .arg("--variant=minbase")
        .arg("--aptopt=APT::Install-Recommends \"false\"")
        .arg(format!("--include={},{initrd_tool},systemd-sysv,udev,e2fsprogs", kernel.package))
        .arg(format!("--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/ && cp -a {}/. \"$1\"/var/cache/apt/archives/", archives.display()))
        .arg(format!("--customize-hook=sync-out /var/cache/apt/archives {}", archives.display()))
        .arg("--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb")
        .arg(format!("--customize-hook=copy-in {} /sbin", script.display()))
        .arg("--customize-hook=chmod 755 \"$1\"/sbin/bench-init")
        .arg("bookworm")
        .arg(&root)
        .run()?;
    std::fs::write(entry.join(".complete"), "")?;
    Ok(root)
}

/// The Debian initrd a root's kernel package made (`/boot/initrd.img-<version>`).
fn debian_initrd(root: &Path, kernel: &kernel::Kernel) -> Result<PathBuf> {
    let p = root.join("boot").join(format!("initrd.img-{}", kernel.version));
    anyhow::ensure!(p.is_file(), "{} was not made", p.display());
    Ok(p)
}

/// An ext4 image of `root` (made once), the disk every initrd of the benchmark boots.
fn root_image(root: &Path) -> Result<PathBuf> {
    let img = root.parent().context("the root has a parent")?.join("root.ext4");
    if img.exists() {
        return Ok(img);
    }
    let tmp = img.with_extension("tmp");
    std::fs::File::create(&tmp)?.set_len(2 << 30)?;
    runner::Cmd::new("making the benchmark's root disk", "mkfs.ext4")
        .args(["-q", "-F", "-L", "benchroot", "-d"])
        .arg(root)
        .arg(&tmp)
        .run()?;
    std::fs::rename(&tmp, &img)?;
    Ok(img)
}

/// One boot of `kernel` + `initrd` with `disk` as the root: (the uptime at which the kernel runs
/// the initrd's /init, the uptime at which the root's init starts).
fn boot_to_init(name: &str, kernel: &Path, initrd: &Path, disk: &Path, append: &str) -> Result<(f64, f64)> {
    let cmdline = format!("root=/dev/vda rw console=ttyS0,115200 init=/sbin/bench-init {append}");
    let mut m = vm_harness::machine(name)
        .memory_mib(1024)
        .kernel(kernel, Some(initrd.to_path_buf()), &cmdline)
        .disk(vm_harness::Disk::overlay(disk))
        .start()?;
    let num = |s: &str, re: &str| -> Result<f64> {
        let c = regex::Regex::new(re)?.captures(s).context("no number")?;
        Ok(c[1].parse()?)
    };
    let run_init =
        m.wait_for_console_text(r"\[\s*[0-9.]+\] Run /init as init process", Duration::from_secs(300))?;
    let at_init = m.wait_for_console_text(r"BENCH-INIT [0-9.]+", Duration::from_secs(300))?;
    m.crash()?;
    Ok((num(&run_init, r"\[\s*([0-9.]+)\]")?, num(&at_init, r"BENCH-INIT ([0-9.]+)")?))
}

/// Stage 1 side by side: our installed-system initrd, Debian's initramfs-tools and dracut initrds,
/// the same kernel and the same ext4 root (a Debian minbase), three interleaved boots each.
pub fn stage1() -> Result<()> {
    // Only the harness's settings are needed from the assets: the images need not be current.
    let a = vm_harness::TestAssets::read(&crate::manifest_path()).or_else(|_| assets())?;
    export_harness_env(&a)?;
    let kernel = kernel::ensure(&cache_dir())?;
    let tools_root = phase("Debian root with initramfs-tools", || debian_root(&kernel, "initramfs-tools"))?;
    let dracut_root = phase("Debian root with dracut", || debian_root(&kernel, "dracut"))?;
    let disk = phase("root disk", || root_image(&tools_root))?;
    let ours = cache_dir().join("bench").join("stage1-initrd.gz");
    let stage1 = crate::build_static("stage1", "stage1")?;
    let data = initrd::installed::build(&initrd::installed::InstalledInitrd {
        modules_dir: &kernel.modules_dir(),
        stage1: &stage1,
        busybox: Path::new("/bin/busybox"),
        root: initrd::config::RootSpec {
            device: "/dev/vda".into(),
            fs_type: "ext4".into(),
            options: vec![],
            check: false,
        },
        available_modules: vec![],
        kernel_modules: vec![],
        files: vec![],
        luks: vec![],
        mdadm: false,
        lvm: false,
        lvm_volumes: vec![],
        // What `installer install` records for a root on a virtio disk.
        root_drivers: vec!["virtio_blk".into(), "virtio_pci".into()],
        keymap: None,
    })?;
    std::fs::write(&ours, data)?;
    let initrds = [
        ("ours", ours, ""),
        ("initramfs-tools", debian_initrd(&tools_root, &kernel)?, "fastboot fsck.mode=skip"),
        ("dracut", debian_initrd(&dracut_root, &kernel)?, "fsck.mode=skip rd.neednet=0"),
    ];
    let mut results: Vec<Vec<(f64, f64)>> = vec![vec![]; initrds.len()];
    for round in 0..3 {
        for (i, (name, initrd, append)) in initrds.iter().enumerate() {
            let r = boot_to_init(
                &format!("bench-stage1-{name}-{round}"),
                &kernel.vmlinuz(),
                initrd,
                &disk,
                append,
            )?;
            results[i].push(r);
        }
    }
    let accel = std::env::var("VM_HARNESS_ACCEL").unwrap_or_default();
    println!(
        "stage 1 ({accel}, 1 GiB, virtio ext4 root, kernel {}), median of 3, interleaved:",
        kernel.version
    );
    let mut medians = vec![];
    for ((name, initrd, _), r) in initrds.iter().zip(&results) {
        let mut at: Vec<f64> = r.iter().map(|x| x.1).collect();
        let mut own: Vec<f64> = r.iter().map(|x| x.1 - x.0).collect();
        let (m_at, m_own) = (median(&mut at), median(&mut own));
        medians.push((m_at, m_own));
        let fmt = |v: &[f64]| seconds(v, 2);
        println!(
            "  {name:16} real init at {m_at:.2} s [{}]; the initrd's own time {m_own:.2} s [{}]; initrd {}",
            fmt(&at),
            fmt(&own),
            mib(size(initrd)?)
        );
    }
    let (ours, tools, dracut) = (medians[0], medians[1], medians[2]);
    println!(
        "  ours / initramfs-tools: {:.2} (goal ≤ 0.33: {}); ours / dracut: {:.2}",
        ours.0 / tools.0,
        if ours.0 / tools.0 <= 1.0 / 3.0 { "met" } else { "NOT met" },
        ours.0 / dracut.0
    );
    println!(
        "  our stage 1's own time {:.2} s (goal ≤ 1.0 s under TCG: {})",
        ours.1,
        if ours.1 <= 1.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// The storage spec of the install benchmark: BIOS, GPT, one ext4 root on the TARGET disk.
const BENCH_STORAGE: &str = "[[disk]]\nmatch = { serial = \"TARGET\" }\ntable = \"gpt\"\n[[disk.partition]]\nsize = \"1MiB\"\ntype = \"bios-boot\"\n[[disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\ncontent = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\n";

/// What the benchmark appends to generate-config's configuration.nix before it is evaluated.
const BENCH_SETTINGS: &str = "  boot.loader.grub.device = \"/dev/vda\";\n  networking.hostName = \"bench\";\n  services.openssh.hostKeys = [ { type = \"ed25519\"; path = \"/etc/ssh/ssh_host_ed25519_key\"; } ];\n";

/// Empties the page cache, so that each measurement reads the live root from the emulated CD.
const COLD: &str = "sync && echo 3 > /proc/sys/vm/drop_caches";

/// Runs `cmd` in the guest and returns its wall seconds (measured in the guest).
fn timed(m: &mut vm_harness::Machine, cmd: &str) -> Result<f64> {
    let out = m.execute_with_timeout(
        &format!("s=$(date +%s%N); {{ {cmd}; }} >/tmp/bench.log 2>&1 || {{ tail -20 /tmp/bench.log; exit 1; }}; echo $(( ($(date +%s%N) - s) / 1000000 ))"),
        Duration::from_secs(1800),
    )?;
    anyhow::ensure!(out.status == 0, "{cmd}: {}", out.stdout);
    let ms: f64 = out.stdout.trim().parse().with_context(|| format!("{cmd}: timing {:?}", out.stdout))?;
    Ok(ms / 1000.0)
}

/// The steps of an install (`INSTALLER_LOG=info`: each step's line has its time), with the
/// seconds from each to the next; the last runs to the last line.
fn install_steps(log: &str) -> Vec<(String, f64)> {
    let re = regex::Regex::new(r"T(\d\d):(\d\d):(\d\d\.\d+)Z.* INFO\S* \S*installer::install\S*: (.*)")
        .expect("valid");
    let strip = regex::Regex::new(r"\x1b\[[0-9;]*m").expect("valid");
    let lines: Vec<(f64, String)> = log
        .lines()
        .filter_map(|l| {
            let l = strip.replace_all(l, "");
            let c = re.captures(&l)?;
            let secs = c[1].parse::<f64>().ok()? * 3600.0
                + c[2].parse::<f64>().ok()? * 60.0
                + c[3].parse::<f64>().ok()?;
            Some((secs, c[4].to_string()))
        })
        .collect();
    lines
        .windows(2)
        .map(|w| {
            let what =
                w[0].1.split(" from ").next().unwrap_or_default().split(" (").next().unwrap_or_default();
            (what.to_string(), w[1].0 - w[0].0)
        })
        .collect()
}

/// A fresh target: the disk engine partitions and mounts it at /mnt again.
fn fresh_target(m: &mut vm_harness::Machine) -> Result<()> {
    m.succeed("umount -R /mnt 2>/dev/null; installer partition --storage /root/bench-storage.toml --yes >/dev/null && udevadm settle")?;
    Ok(())
}

/// The install against its floor, in one live test machine (the live image's saved boot, BIOS):
/// three interleaved rounds of the copy floor (`unsquashfs` of the medium's squashfs onto the
/// freshly made target, then `sync`) and of `installer install` onto the same fresh target (then
/// `sync`), each from a cold page cache; and the steps before an install: the hardware scan
/// (`installer generate-config`) and the evaluation of the configuration (`installer eval`).
pub fn install() -> Result<()> {
    let mut m = live_vm("bench-install")?;
    m.succeed(&format!("cat > /root/bench-storage.toml <<'EOF'\n{BENCH_STORAGE}EOF"))?;
    let squashfs = m.succeed("find /run/installer/medium -name '*.squashfs' | head -1")?.trim().to_string();
    anyhow::ensure!(!squashfs.is_empty(), "no squashfs on the live medium");
    let (mut floor, mut install, mut scan, mut eval, mut steps) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        fresh_target(&mut m)?;
        m.succeed(COLD)?;
        floor.push(timed(&mut m, &format!("unsquashfs -f -q -no-progress -d /mnt {squashfs} && sync"))?);
        fresh_target(&mut m)?;
        scan.push(timed(&mut m, "installer generate-config --root /mnt")?);
        m.succeed(&format!(
            "sed -i 's|^}}$|{}}}|' /mnt/etc/nixos/configuration.nix",
            BENCH_SETTINGS.replace('\n', "\\n").replace('|', "\\|")
        ))?;
        eval.push(timed(&mut m, "installer eval --root /mnt >/dev/null")?);
        m.succeed(COLD)?;
        install.push(timed(
            &mut m,
            "INSTALLER_LOG=info installer install --root /mnt --no-root-passwd && sync",
        )?);
        steps.push(install_steps(&m.succeed("cat /tmp/bench.log")?));
    }
    m.crash()?;
    let accel = std::env::var("VM_HARNESS_ACCEL").unwrap_or_default();
    let fmt = |v: &[f64]| seconds(v, 1);
    let (f, i) = (median(&mut floor.clone()), median(&mut install.clone()));
    println!("install (live test image, BIOS, 2 vCPUs, {accel}, cold page cache), median of 3, interleaved:");
    println!(
        "  copy floor (unsquashfs of the medium's squashfs to the target, sync): {f:.1} s [{}]",
        fmt(&floor)
    );
    println!("  installer install (copy, activation, initrd, GRUB, sync): {i:.1} s [{}]", fmt(&install));
    let goal = 1.25 * f + 10.0;
    // The steps of the median install, from its log's times.
    let at = install.iter().position(|t| *t == i).unwrap_or(0);
    let list: Vec<String> = steps[at].iter().map(|(what, secs)| format!("{what} {secs:.1} s")).collect();
    let rest = i - steps[at].iter().map(|(_, secs)| secs).sum::<f64>();
    println!("    its steps: {}; the bootloader's menu, the end and sync {rest:.1} s", list.join(", "));
    println!(
        "  install / floor {:.2}; goal ≤ 1.25 × floor + 10 s = {goal:.1} s: {}",
        i / f,
        if i <= goal { "met" } else { "NOT met" }
    );
    println!(
        "  hardware scan (installer generate-config): {:.2} s [{}]; evaluation (installer eval): {:.2} s [{}]",
        median(&mut scan.clone()),
        fmt(&scan),
        median(&mut eval.clone()),
        fmt(&eval)
    );
    Ok(())
}

/// The images rebuilt after a change to the installer alone (its `main.rs` touched, as an edit
/// would): `cargo xtask assets` once with nothing changed (the comparison: what every rebuild pays
/// to find out) and once after the touch.
pub fn rebuild() -> Result<()> {
    assets()?;
    let t = Instant::now();
    assets()?;
    let idle = t.elapsed().as_secs_f64();
    let main = crate::workspace().join("installer/src/main.rs");
    std::fs::File::options()
        .append(true)
        .open(&main)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .with_context(|| format!("touching {}", main.display()))?;
    let t = Instant::now();
    assets()?;
    let after = t.elapsed().as_secs_f64();
    println!("images after a change to the installer only (installer/src/main.rs touched): {after:.1} s");
    println!("  with nothing changed: {idle:.1} s; the change costs {:.1} s", after - idle);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn boot_files_are_the_resident_ones_by_their_plain_names() {
        let out = "   4096 ./etc/fstab\n      0 ./etc/unread\n 8192 ./usr/lib/modules/6.1/kernel/a.ko.zst\n\
                   12 ./usr/local/sbin/vm-harness-agent\n4096 ./etc/fstab\n";
        assert_eq!(super::boot_files_from(out), ["etc/fstab", "usr/lib/modules/6.1/kernel/a.ko"]);
    }

    #[test]
    fn install_steps_are_timed_from_the_log() {
        let log = "\x1b[2m2026-12-04T15:10:01.069719Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2minstaller::install\x1b[0m\x1b[2m:\x1b[0m evaluating the configuration\n\
                   installer: evaluating the configuration\n\
                   \x1b[2m2026-12-04T15:10:01.075445Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2mrunner\x1b[0m\x1b[2m:\x1b[0m run: nix-instantiate\n\
                   \x1b[2m2026-12-04T15:10:02.368684Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2minstaller::install\x1b[0m\x1b[2m:\x1b[0m copying the system from /run/installer/squashfs to /mnt\n\
                   \x1b[2m2026-12-04T15:10:16.998410Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2minstaller::install\x1b[0m\x1b[2m:\x1b[0m copied 11719 files (365 MiB), 0 already in place\n";
        let steps = super::install_steps(log);
        let names: Vec<&str> = steps.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(names, ["evaluating the configuration", "copying the system"]);
        assert!((steps[0].1 - 1.298965).abs() < 1e-3, "{steps:?}");
        assert!((steps[1].1 - 14.629726).abs() < 1e-3, "{steps:?}");
    }
}
