//! Whole builds: Debian root → live layer → squashfs → live initrd → ISO (and later netboot, OVA),
//! printing each phase's time and each artifact's size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::live::{self, LiveInputs};
use crate::rootfs::{self, RootfsSpec};
use crate::squashfs::{self, Compression};

#[derive(Debug, Clone)]
pub struct BuildInputs {
    pub live: LiveInputs,
    /// Cache directory (Debian root, packages).
    pub cache: PathBuf,
    pub out_dir: PathBuf,
    /// xz+BCJ squashfs instead of zstd-3.
    pub release: bool,
    /// The serial console on the default boot entry.
    pub serial_default: bool,
    pub kernel_params: Vec<String>,
    /// The kernel package installed into the Debian root (`linux-image-amd64`, or the concrete
    /// `linux-image-<abi>-amd64` the test VMs boot).
    pub kernel_package: String,
    /// Extra Debian packages (from the profile).
    pub packages: Vec<String>,
    /// CA certificates (PEM) stage-1 trusts for `root=live:https://`, concatenated into the initrd.
    pub ca_certificates: Vec<PathBuf>,
    /// An answer file embedded on the medium as /answer.toml.
    pub answer: Option<PathBuf>,
    pub volid: String,
}

#[derive(Debug, Clone)]
pub struct Artifacts {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub squashfs: PathBuf,
    pub iso: PathBuf,
    /// netboot payload directory (bzImage, initrd, initrd-http, filesystem.squashfs, netboot.ipxe).
    pub netboot: PathBuf,
    pub ova: PathBuf,
    pub phases: Vec<(String, f64)>,
}

fn timed<T>(phases: &mut Vec<(String, f64)>, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t = Instant::now();
    let r = f().with_context(|| format!("{name} failed"));
    let secs = t.elapsed().as_secs_f64();
    eprintln!("image-builder: {name}: {secs:.1}s");
    phases.push((name.to_string(), secs));
    r
}

/// What an output is made from: each input's path, size and modification time (an output that is
/// not made again keeps its time), the builder itself (its code shapes every output) and
/// `settings`.
fn inputs_key(inputs: &[&Path], settings: &str) -> Result<String> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let exe = std::env::current_exe().context("finding the builder's own executable")?;
    for p in std::iter::once(exe.as_path()).chain(inputs.iter().copied()) {
        let m = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        (p, m.len(), m.modified().ok()).hash(&mut h);
    }
    settings.hash(&mut h);
    Ok(format!("{:016x}\n", h.finish()))
}

/// Makes `out` with `make` unless it is there and its stamp says it was made from the same inputs
/// (see [`inputs_key`]): with nothing changed, a build writes nothing again, so the outputs keep
/// their times and what is keyed on them (the VM tests' saved boots) stays valid.
fn unless_unchanged(
    out: &Path,
    inputs: &[&Path],
    settings: &str,
    make: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let key = inputs_key(inputs, settings)?;
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let stamp = out.with_file_name(format!(".{name}.inputs"));
    if out.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str()) {
        eprintln!("image-builder: {} is up to date", out.display());
        return Ok(());
    }
    let _ = std::fs::remove_file(&stamp);
    make()?;
    std::fs::write(&stamp, key).with_context(|| format!("writing {}", stamp.display()))
}

/// The identity of a cached Debian root (its directory and its completion record).
fn root_identity(base: &Path) -> String {
    let complete =
        std::fs::read_to_string(base.parent().unwrap_or(base).join(".complete")).unwrap_or_default();
    format!("{}\n{complete}", base.display())
}

fn size(p: &Path) -> String {
    let b = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// The profile's CA certificates as one PEM bundle in `out_dir`, when it names any.
fn ca_bundle(b: &BuildInputs) -> Result<Option<PathBuf>> {
    if b.ca_certificates.is_empty() {
        return Ok(None);
    }
    let mut pem = Vec::new();
    for c in &b.ca_certificates {
        pem.extend(std::fs::read(c).with_context(|| format!("reading {}", c.display()))?);
        pem.push(b'\n');
    }
    let bundle = b.out_dir.join("installer-ca.pem");
    // Written only when it changes: the initrd is made again when its inputs' times change.
    if std::fs::read(&bundle).ok().as_deref() != Some(pem.as_slice()) {
        std::fs::write(&bundle, pem).with_context(|| format!("writing {}", bundle.display()))?;
    }
    Ok(Some(bundle))
}

/// Writes `cpio` zstd-compressed (level 19) to `out` as the kernel unpacks an initrd
/// (CONFIG_RD_ZSTD; an 8 MiB window, which the kernel's streaming decompressor takes). xz made it
/// 36 kB smaller (4.81 against 4.84 MB) and took 6 times as long to unpack, at every boot.
fn zstd_initrd(cpio: &[u8], out: &Path) -> Result<()> {
    let plain = out.with_extension("cpio");
    std::fs::write(&plain, cpio).with_context(|| format!("writing {}", plain.display()))?;
    runner::Cmd::new("compressing the initrd", "zstd")
        .args(["-q", "-f", "-19", "--rm", "-o"])
        .arg(out)
        .arg(&plain)
        .run()?;
    Ok(())
}

/// Builds the live ISO (and its parts) into `out_dir`.
pub fn iso(b: &BuildInputs) -> Result<Artifacts> {
    let mut phases = vec![];
    std::fs::create_dir_all(&b.out_dir).with_context(|| format!("creating {}", b.out_dir.display()))?;
    if let Some(a) = &b.answer {
        timed(&mut phases, "checking the answer file", || check_answer(&b.live.installer, a))?;
    }
    let docs = timed(&mut phases, "man pages and completions", || {
        write_docs(&b.live.installer, &b.out_dir.join("docs"))
    })?;
    let base = timed(&mut phases, "Debian root (mmdebstrap, cached)", || {
        Ok(rootfs::ensure(&RootfsSpec::live(&b.kernel_package, &b.packages), &b.cache)?)
    })?;
    let kernel_in_root = rootfs::kernel(&base)?;
    // The profile's CA certificates: stage 1 trusts them for root=live:https://, and so does the
    // live system's HTTP client (the same program, `stage1 fetch`) for installer.answer=https://.
    let ca_bundle = ca_bundle(b)?;
    let squash = b.out_dir.join("filesystem.squashfs");
    timed(&mut phases, "squashfs", || {
        let mut layer = live::layer(&b.live);
        if let Some(bundle) = &ca_bundle {
            layer.host_file(initrd::config::EXTRA_CA.trim_start_matches('/'), bundle, Some(0o644));
        }
        for page in &docs.man_pages {
            let name = page.file_name().unwrap_or_default().to_string_lossy();
            layer.host_file(&format!("usr/share/man/man1/{name}"), page, Some(0o644));
        }
        layer.host_file(
            "usr/share/bash-completion/completions/installer",
            &docs.bash_completion,
            Some(0o644),
        );
        // The kernel is on the medium and in the netboot initrds; stage 1 hands it over (8 MiB less).
        layer.symlink(&format!("boot/vmlinuz-{}", kernel_in_root.version), initrd::config::LIVE_KERNEL);
        let comp = if b.release { Compression::XzBcj } else { Compression::Zstd3 };
        Ok(squashfs::build(&base, &layer, comp, &squash)?)
    })?;
    let initrd = b.out_dir.join("initrd");
    timed(&mut phases, "initrd", || {
        let mut inputs = vec![b.live.stage1.as_path(), b.live.busybox.as_path()];
        inputs.extend(ca_bundle.as_deref());
        let settings = format!("{}\nrelease={}", root_identity(&base), b.release);
        unless_unchanged(&initrd, &inputs, &settings, || {
            let mut files = vec![];
            if let Some(bundle) = &ca_bundle {
                files.push((initrd::config::EXTRA_CA.to_string(), bundle.clone()));
            }
            let (modules, stage1, busybox) = (&kernel_in_root.modules_dir, &b.live.stage1, &b.live.busybox);
            let archive = initrd::live::build(modules, stage1, busybox, &[], &files)?;
            if b.release {
                zstd_initrd(&archive.to_bytes()?, &initrd)
            } else {
                std::fs::write(&initrd, archive.to_gzip()?)
                    .with_context(|| format!("writing {}", initrd.display()))
            }
        })
    })?;
    let kernel = b.out_dir.join("bzImage");
    unless_unchanged(&kernel, &[&kernel_in_root.vmlinuz], "", || {
        std::fs::copy(&kernel_in_root.vmlinuz, &kernel).context("copying the kernel").map(drop)
    })?;
    let iso = b.out_dir.join("installer.iso");
    if let Some(a) = &b.answer {
        let text = std::fs::read_to_string(a).with_context(|| format!("reading {}", a.display()))?;
        let names = embedded_secrets(&text);
        if !names.is_empty() {
            tracing::warn!(
                "{} holds secrets ({}) that anyone with the image can read: keep the answer on a separate USB stick (installer.answer=label:LABEL:/answer.toml), or only password hashes in it",
                a.display(),
                names.join(", ")
            );
        }
    }
    timed(&mut phases, "ISO", || {
        let extra: Vec<(String, PathBuf)> =
            b.answer.iter().map(|a| ("answer.toml".to_string(), a.clone())).collect();
        let mut inputs = vec![kernel.as_path(), initrd.as_path(), squash.as_path()];
        inputs.extend(b.answer.as_deref());
        let settings = format!("{}\n{:?}\n{}", b.volid, b.kernel_params, b.serial_default);
        unless_unchanged(&iso, &inputs, &settings, || {
            let inp = crate::iso::IsoInputs {
                volid: &b.volid,
                kernel: &kernel,
                initrd: &initrd,
                squashfs: &squash,
                kernel_params: &b.kernel_params,
                serial_default: b.serial_default,
                extra_files: &extra,
            };
            Ok(crate::iso::build(&inp, &iso, &b.out_dir.join("work"))?)
        })
    })?;
    let netboot = b.out_dir.join("netboot");
    timed(&mut phases, "netboot", || {
        let params = b.kernel_params.join(" ")
            + if b.serial_default { " console=tty0 console=ttyS0,115200" } else { "" };
        unless_unchanged(&netboot, &[&kernel, &initrd, &squash], params.trim(), || {
            Ok(crate::netboot::build(&netboot, &kernel, &initrd, &squash, params.trim())?)
        })
    })?;
    let ova = b.out_dir.join("installer.ova");
    timed(&mut phases, "OVA", || {
        unless_unchanged(&ova, &[&iso], "", || Ok(crate::ova::build(&iso, &ova, &b.out_dir.join("ova"))?))
    })?;
    for (name, p) in [
        ("kernel", &kernel),
        ("initrd", &initrd),
        ("squashfs", &squash),
        ("ISO", &iso),
        ("netboot initrd", &netboot.join("initrd")),
        ("OVA", &ova),
    ] {
        eprintln!("image-builder: {name} {} ({})", p.display(), size(p));
    }
    Ok(Artifacts { kernel, initrd, squashfs: squash, iso, netboot, ova, phases })
}

/// An answer file is embedded only when the installer it goes with accepts it: `installer
/// validate` (the same checks as `installer auto` before it touches a disk) runs first, and its
/// problems, each with file:line:col and the field, stop the build.
pub fn check_answer(installer: &Path, answer: &Path) -> Result<()> {
    match runner::Cmd::new("checking the answer file", installer).arg("validate").arg(answer).run() {
        Ok(_) => Ok(()),
        Err(runner::RunError::Failed { stderr, .. }) => {
            anyhow::bail!(
                "{} is not a valid answer file, not embedded:\n{}",
                answer.display(),
                stderr.trim_end()
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// The installer's man pages (`man1/*.1`) and bash completion (`installer.bash`), generated by the
/// installer binary that goes into the image from its own command-line definitions. A file is
/// rewritten only when its text changed, so that an unchanged image is not squashed again.
pub fn write_docs(installer: &Path, dir: &Path) -> Result<Docs> {
    let fresh = dir.join("fresh");
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).with_context(|| format!("removing {}", fresh.display()))?;
    }
    runner::Cmd::new("writing the man pages", installer).arg("man").arg(&fresh).run()?;
    let bash =
        runner::Cmd::new("writing the bash completion", installer).args(["completions", "bash"]).run()?;
    let man = dir.join("man1");
    std::fs::create_dir_all(&man).with_context(|| format!("creating {}", man.display()))?;
    let mut pages = vec![];
    for e in std::fs::read_dir(&fresh).with_context(|| format!("reading {}", fresh.display()))? {
        let e = e?;
        let text = std::fs::read(e.path())?;
        let dest = man.join(e.file_name());
        write_if_changed(&dest, &text)?;
        pages.push(dest);
    }
    pages.sort();
    for e in std::fs::read_dir(&man)? {
        let p = e?.path();
        if !pages.contains(&p) {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    std::fs::remove_dir_all(&fresh).with_context(|| format!("removing {}", fresh.display()))?;
    let bash_completion = dir.join("installer.bash");
    write_if_changed(&bash_completion, bash.stdout.as_bytes())?;
    Ok(Docs { man_pages: pages, bash_completion })
}

/// What [`write_docs`] wrote.
#[derive(Debug, Clone)]
pub struct Docs {
    pub man_pages: Vec<PathBuf>,
    pub bash_completion: PathBuf,
}

fn write_if_changed(path: &Path, data: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(data) {
        std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The names of the secrets an answer file holds in its `[secrets]` table (they go onto the
/// medium in clear text when the answer is embedded).
pub fn embedded_secrets(answer: &str) -> Vec<String> {
    let v: toml::Value = toml::from_str(answer).unwrap_or(toml::Value::Table(Default::default()));
    v.get("secrets").and_then(|s| s.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default()
}

#[cfg(test)]
mod embedded_tests {
    #[test]
    fn secrets_of_an_embedded_answer_are_named() {
        let a = "version = 1\n[secrets]\ndisk = \"x\"\nalice = \"$6$a$b\"\n";
        assert_eq!(super::embedded_secrets(a), vec!["alice", "disk"]);
        assert!(super::embedded_secrets("version = 1\n").is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_is_made_again_only_when_an_input_or_a_setting_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (input, out) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::write(&input, "one").unwrap();
        let made = std::cell::Cell::new(0);
        let make = || {
            made.set(made.get() + 1);
            std::fs::write(&out, "made").map_err(Into::into)
        };
        unless_unchanged(&out, &[&input], "a", make).unwrap();
        unless_unchanged(&out, &[&input], "a", make).unwrap();
        assert_eq!(made.get(), 1, "nothing changed, nothing made");
        unless_unchanged(&out, &[&input], "b", make).unwrap();
        assert_eq!(made.get(), 2, "a setting changed");
        std::fs::write(&input, "two, longer").unwrap();
        unless_unchanged(&out, &[&input], "b", make).unwrap();
        assert_eq!(made.get(), 3, "an input changed");
        std::fs::remove_file(&out).unwrap();
        unless_unchanged(&out, &[&input], "b", make).unwrap();
        assert_eq!(made.get(), 4, "the output is gone");
        // A build that fails leaves no stamp: the next one makes it again.
        std::fs::write(&input, "three, longer still").unwrap();
        assert!(unless_unchanged(&out, &[&input], "b", || anyhow::bail!("no")).is_err());
        unless_unchanged(&out, &[&input], "b", make).unwrap();
        assert_eq!(made.get(), 5);
    }
}
