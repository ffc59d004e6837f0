//! Where an unattended install's answer comes from and whether it may be used: the kernel
//! command line's `installer.answer=` (`file:`, `label:`, `cdrom:`) or Anaconda's `inst.ks=`
//! (`hd:LABEL=…:`, `cdrom:`, `file:`), else a filesystem labelled `OEMDRV` holding `answer.toml`
//! or `ks.cfg` (as Anaconda finds one). The file is read once; `installer.answer_sha256=HEX` pins
//! its exact bytes; a minisign signature beside it (`FILE.minisig`) is checked against the public
//! keys the image was built with (`/etc/installer/answer-keys/*.pub`), and is required when the
//! image says so (`/etc/installer/require-signed-answers`). Only a file that passed is written
//! (a Kickstart file imported first) for the install to use: nothing reads the source again.
//!
//! The checks ([`parse_cmdline`], [`check`]) are pure; [`fetch`] finds, mounts and reads.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use minisign_verify::{PublicKey, Signature};
use sha2::{Digest, Sha256};

pub mod http;

/// The largest answer or Kickstart file read from a source.
pub const MAX_BYTES: usize = crate::answer::MAX_ANSWER_BYTES as usize;

/// Where the answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path in the live system, or on the boot medium (tried first).
    File(PathBuf),
    /// A path on the filesystem with this label (a USB stick, a second CD).
    Label { label: String, path: PathBuf },
    /// A path on the boot medium.
    Cdrom(PathBuf),
    /// No source named: a filesystem labelled `OEMDRV` with `answer.toml` or `ks.cfg`.
    Oemdrv,
    /// An http:// or https:// URL, `${mac}` and `${serial}` filled in (see [`http`]).
    Http(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "file:{}", p.display()),
            Source::Label { label, path } => write!(f, "label:{label}:{}", path.display()),
            Source::Cdrom(p) => write!(f, "cdrom:{}", p.display()),
            Source::Oemdrv => f.write_str("a filesystem labelled OEMDRV"),
            Source::Http(url) => f.write_str(url),
        }
    }
}

/// What the kernel command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub source: Source,
    /// `installer.answer_sha256=`: the file's SHA-256.
    pub sha256: Option<[u8; 32]>,
    /// `installer.yes=1`: no confirmation.
    pub yes: bool,
    /// `installer.answer_timeout=SECONDS`: how long a URL is tried (300 s by default).
    pub timeout: std::time::Duration,
}

/// A kernel command line this installer cannot act on (nothing was read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// Reads the words of a kernel command line (later words win, as the kernel's own do).
pub fn parse_cmdline(cmdline: &str) -> Result<Request, BadRequest> {
    let mut source = None;
    let mut sha256 = None;
    let mut yes = false;
    let mut timeout = std::time::Duration::from_secs(300);
    for word in cmdline.split_whitespace() {
        if let Some(v) = word.strip_prefix("installer.answer=") {
            source = Some(answer_source(v)?);
        } else if let Some(v) = word.strip_prefix("inst.ks=") {
            source = Some(kickstart_source(v)?);
        } else if let Some(v) = word.strip_prefix("installer.answer_sha256=") {
            sha256 = Some(parse_sha256(v)?);
        } else if let Some(v) = word.strip_prefix("installer.answer_timeout=") {
            let secs: u64 = v
                .parse()
                .ok()
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(|| BadRequest(format!("{word}: seconds, 1 to 86400")))?;
            timeout = std::time::Duration::from_secs(secs);
        } else if word == "installer.yes=1" {
            yes = true;
        }
    }
    Ok(Request { source: source.unwrap_or(Source::Oemdrv), sha256, yes, timeout })
}

fn absolute(p: &str, word: &str) -> Result<PathBuf, BadRequest> {
    let path = Path::new(p);
    let ok = path.is_absolute()
        && !path.components().any(|c| matches!(c, std::path::Component::ParentDir))
        && !p.ends_with('/');
    if ok {
        Ok(path.to_path_buf())
    } else {
        Err(BadRequest(format!("{word}: the path must be absolute, without `..`, and name a file")))
    }
}

fn label(l: &str, word: &str) -> Result<String, BadRequest> {
    let ok = l.starts_with(|c: char| c.is_ascii_alphanumeric())
        && l.len() <= 32
        && l.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(l.to_string())
    } else {
        Err(BadRequest(format!(
            "{word}: a label is 1-32 of A-Z a-z 0-9 - _ ., beginning with a letter or digit"
        )))
    }
}

fn answer_source(v: &str) -> Result<Source, BadRequest> {
    let word = format!("installer.answer={v}");
    match v.strip_prefix("label:") {
        Some(rest) => labelled(rest, &word),
        None => file_cdrom_or_url(
            v,
            &word,
            "expected file:/PATH, cdrom:/PATH, label:LABEL:/PATH or an http(s):// URL",
        ),
    }
}

fn kickstart_source(v: &str) -> Result<Source, BadRequest> {
    let word = format!("inst.ks={v}");
    match v.strip_prefix("hd:LABEL=") {
        Some(rest) => labelled(rest, &word),
        None => file_cdrom_or_url(
            v,
            &word,
            "this installer reads inst.ks=hd:LABEL=…:/PATH, cdrom:/PATH, file:/PATH and http(s)://…",
        ),
    }
}

/// `LABEL:/PATH`.
fn labelled(rest: &str, word: &str) -> Result<Source, BadRequest> {
    let (l, p) = rest.split_once(':').unwrap_or((rest, ""));
    Ok(Source::Label { label: label(l, word)?, path: absolute(p, word)? })
}

/// The forms both parameters share: `file:/PATH`, `cdrom:/PATH`, an http(s) URL.
fn file_cdrom_or_url(v: &str, word: &str, expected: &str) -> Result<Source, BadRequest> {
    if let Some(p) = v.strip_prefix("file:") {
        Ok(Source::File(absolute(p, word)?))
    } else if let Some(p) = v.strip_prefix("cdrom:") {
        Ok(Source::Cdrom(absolute(p, word)?))
    } else if v.starts_with("http://") || v.starts_with("https://") {
        Ok(Source::Http(http::url(v).map_err(|e| BadRequest(format!("{word}: {e}")))?))
    } else {
        Err(BadRequest(format!("{word}: {expected}")))
    }
}

/// A SHA-256 written as 64 hex digits.
pub fn parse_sha256(v: &str) -> Result<[u8; 32], BadRequest> {
    let bad = || BadRequest(format!("installer.answer_sha256={v}: expected 64 hex digits"));
    if v.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(v.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The public keys an answer's signature is checked against, and whether one is required.
#[derive(Default)]
pub struct Trust {
    /// Each key with the name of its file.
    pub keys: Vec<(String, PublicKey)>,
    pub require_signed: bool,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Trust").field("keys", &names).field("require_signed", &self.require_signed).finish()
    }
}

/// A minisign public key: its `.pub` file (two lines) or the key's base64 line alone.
pub fn public_key(text: &str) -> Result<PublicKey, String> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let r = match lines.as_slice() {
        [one] => PublicKey::from_base64(one),
        _ => PublicKey::decode(text.trim()),
    };
    r.map_err(|e| format!("not a minisign public key ({e})"))
}

impl Trust {
    /// The image's trust: `DIR/answer-keys/*.pub` and `DIR/require-signed-answers`.
    pub fn load(dir: &Path) -> Result<Trust> {
        let mut t = Trust { keys: vec![], require_signed: dir.join("require-signed-answers").exists() };
        let kd = dir.join("answer-keys");
        let Ok(entries) = std::fs::read_dir(&kd) else { return Ok(t) };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "pub")) {
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let key = public_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            t.keys.push((p.file_name().unwrap_or_default().to_string_lossy().into_owned(), key));
        }
        Ok(t)
    }
}

/// How a file that may be used was vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// It matched `installer.answer_sha256=`.
    pub pinned: bool,
    /// The key (its file's name) whose signature it carries.
    pub signed_by: Option<String>,
    /// A signature that could not be checked (the image has no keys): said, not fatal.
    pub unchecked_signature: bool,
}

/// Why a file is refused (nothing is written then).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("its SHA-256 is {found}, not the {expected} installer.answer_sha256= pins")]
    Sha256 { expected: String, found: String },
    #[error("it is not signed ({signature} is missing) and this image accepts signed answers only")]
    Unsigned { signature: String },
    #[error("its signature {signature} is not a minisign signature ({reason})")]
    BadSignatureFile { signature: String, reason: String },
    #[error("its signature {signature} is not from a key this image trusts ({keys})")]
    UnknownKey { signature: String, keys: String },
    #[error("it is larger than {} KiB", MAX_BYTES >> 10)]
    TooLarge,
}

/// Whether `bytes` may be used: the pin matches, and the signature (`signature`: the text of
/// `sig_name`, when there is one) verifies against a trusted key; a signature is required when
/// the trust says so. A signature that is present is checked even when none is required.
pub fn check(
    bytes: &[u8],
    signature: Option<&str>,
    sig_name: &str,
    pin: Option<&[u8; 32]>,
    trust: &Trust,
) -> Result<Verdict, Refusal> {
    if bytes.len() > MAX_BYTES {
        return Err(Refusal::TooLarge);
    }
    let mut v = Verdict { pinned: false, signed_by: None, unchecked_signature: false };
    if let Some(pin) = pin {
        let found: [u8; 32] = Sha256::digest(bytes).into();
        if &found != pin {
            return Err(Refusal::Sha256 { expected: hex(pin), found: hex(&found) });
        }
        v.pinned = true;
    }
    let Some(sig_text) = signature else {
        if trust.require_signed {
            return Err(Refusal::Unsigned { signature: sig_name.into() });
        }
        return Ok(v);
    };
    if trust.keys.is_empty() && !trust.require_signed {
        v.unchecked_signature = true;
        return Ok(v);
    }
    let sig = Signature::decode(sig_text)
        .map_err(|e| Refusal::BadSignatureFile { signature: sig_name.into(), reason: e.to_string() })?;
    for (name, key) in &trust.keys {
        if key.verify(bytes, &sig, false).is_ok() {
            v.signed_by = Some(name.clone());
            return Ok(v);
        }
    }
    let keys = trust.keys.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    Err(Refusal::UnknownKey {
        signature: sig_name.into(),
        keys: if keys.is_empty() { "none".into() } else { keys },
    })
}

/// The answer the install is to use: a checked file in the run directory.
#[derive(Debug)]
pub struct Fetched {
    /// The answer file written (mode 0600), a Kickstart file already imported.
    pub path: PathBuf,
    /// Where it came from, in the command line's words.
    pub origin: String,
    pub verdict: Verdict,
    /// It was a Kickstart file; its import's warnings.
    pub kickstart_warnings: Option<Vec<String>>,
    /// It asks for sections in the TUI (`[interactive]`).
    pub interactive: bool,
}

/// Where a source's files are read: `root` is the live system's `/` (a test's directory),
/// `medium` the boot medium's mount point.
#[derive(Debug, Clone)]
pub struct Places {
    pub root: PathBuf,
    pub medium: PathBuf,
    /// Where labelled filesystems are mounted (read-only) while the file is read.
    pub mount_dir: PathBuf,
    /// How long a named label may take to appear.
    pub label_wait: std::time::Duration,
    /// The live system's HTTP(S) client (`stage1 fetch`, see [`http`]).
    pub fetcher: PathBuf,
    /// Where the machine's network interfaces (`/sys/class/net`) and DMI serial are read.
    pub sys_net: PathBuf,
    pub dmi_serial: PathBuf,
}

impl Places {
    pub fn live() -> Places {
        Places {
            root: "/".into(),
            medium: "/run/installer/medium".into(),
            mount_dir: "/run/installer/answer-media".into(),
            label_wait: std::time::Duration::from_secs(60),
            fetcher: "/usr/lib/installer/stage1".into(),
            sys_net: "/sys/class/net".into(),
            dmi_serial: "/sys/class/dmi/id/product_serial".into(),
        }
    }
}

/// A file read from a source, with its signature when there is one.
struct Read {
    bytes: Vec<u8>,
    signature: Option<String>,
    shown: String,
    /// The directory it was read from (a secrets file and Kickstart includes are relative to it).
    dir: PathBuf,
}

/// Finds the answer, reads it once, checks it, imports a Kickstart file, and writes what may be
/// used into `run_dir` (the answer 0600, and its secrets file when it names one).
/// `notify` hears of retries.
pub fn fetch(
    req: &Request,
    trust: &Trust,
    places: &Places,
    run_dir: &Path,
    notify: &dyn Fn(&str),
) -> Result<Fetched> {
    let mounted = Mounted::default();
    let read = match &req.source {
        Source::Http(url) => {
            let got = http::fetch(url, places, req.timeout, notify)?;
            Read { bytes: got.bytes, signature: got.signature, shown: got.url, dir: run_dir.to_path_buf() }
        }
        _ => locate_and_read(&req.source, places, &mounted)?,
    };
    let verdict = check(
        &read.bytes,
        read.signature.as_deref(),
        &format!("{}.minisig", read.shown),
        req.sha256.as_ref(),
        trust,
    )
    .map_err(|r| crate::cli::Refused(anyhow::anyhow!("{}: refused: {r}", read.shown)))?;
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let text = String::from_utf8(read.bytes.clone())
        .map_err(|_| crate::cli::Refused(anyhow::anyhow!("{}: not UTF-8 text", read.shown)))?;
    let out = run_dir.join("answer.toml");
    let mut kickstart_warnings = None;
    let answer_text = if is_answer_file(&text) {
        text
    } else {
        let i = crate::kickstart::import(&text, &read.shown, &read.dir)
            .map_err(|r| crate::cli::Refused(anyhow::anyhow!("the Kickstart file was refused:\n{r}")))?;
        kickstart_warnings = Some(i.warnings.iter().map(|w| w.to_string()).collect());
        crate::kickstart::to_toml(&i, &read.shown)
    };
    if matches!(req.source, Source::Http(_)) && names_secrets_file(&answer_text) {
        return Err(crate::cli::Refused(anyhow::anyhow!(
            "{}: refused: an answer fetched over the network cannot name a secrets_file (nothing sits beside it); \
             put its secrets in [secrets]",
            read.shown
        ))
        .into());
    }
    copy_secrets_file(&answer_text, &read, run_dir)?;
    crate::install::write_file(&out, &answer_text, 0o600)
        .with_context(|| format!("writing {}", out.display()))?;
    let interactive = answer_text.lines().any(|l| l.trim_start().starts_with("[interactive]"));
    drop(mounted);
    // A URL is named as fetched (its templates filled in).
    let origin =
        if matches!(req.source, Source::Http(_)) { read.shown.clone() } else { req.source.to_string() };
    Ok(Fetched { path: out, origin, verdict, kickstart_warnings, interactive })
}

/// An answer file (not Kickstart): it says `version = 1` at the start of a line.
pub fn is_answer_file(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        l.strip_prefix("version")
            .is_some_and(|r| r.trim_start().strip_prefix('=').is_some_and(|r| r.trim() == "1"))
    })
}

fn names_secrets_file(answer_text: &str) -> bool {
    answer_text.parse::<toml::Table>().is_ok_and(|d| d.contains_key("secrets_file"))
}

fn copy_secrets_file(answer_text: &str, read: &Read, run_dir: &Path) -> Result<()> {
    let Ok(doc) = answer_text.parse::<toml::Table>() else { return Ok(()) };
    let Some(name) = doc.get("secrets_file").and_then(|v| v.as_str()) else { return Ok(()) };
    let rel = Path::new(name);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        // The answer's own checks refuse it with its line; nothing to copy.
        return Ok(());
    }
    let from = read.dir.join(rel);
    let bytes = read_capped(&from)?;
    let to = run_dir.join(rel);
    if let Some(d) = to.parent() {
        std::fs::create_dir_all(d)?;
    }
    let text = String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8", from.display()))?;
    crate::install::write_file(&to, &text, 0o600).with_context(|| format!("writing {}", to.display()))
}

fn read_capped(p: &Path) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let f = std::fs::File::open(p).with_context(|| format!("reading {}", p.display()))?;
    let mut bytes = vec![];
    f.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", p.display()))?;
    if bytes.len() > MAX_BYTES {
        return Err(
            crate::cli::Refused(anyhow::anyhow!("{}: refused: {}", p.display(), Refusal::TooLarge)).into()
        );
    }
    Ok(bytes)
}

fn read_at(file: &Path, shown: String) -> Result<Read> {
    let bytes = read_capped(file)?;
    let sig_path = PathBuf::from(format!("{}.minisig", file.display()));
    let signature = match std::fs::read(&sig_path) {
        Ok(b) if b.len() <= 64 << 10 => Some(String::from_utf8_lossy(&b).into_owned()),
        Ok(_) => Some(String::new()),
        Err(_) => None,
    };
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    Ok(Read { bytes, signature, shown, dir })
}

fn under(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

fn locate_and_read(source: &Source, places: &Places, mounted: &Mounted) -> Result<Read> {
    match source {
        Source::File(p) => {
            let on_medium = under(&places.medium, p);
            let f = if on_medium.is_file() { on_medium } else { under(&places.root, p) };
            anyhow::ensure!(f.is_file(), "no answer file at {source}");
            read_at(&f, source.to_string())
        }
        Source::Cdrom(p) => {
            let f = under(&places.medium, p);
            anyhow::ensure!(
                f.is_file(),
                "no answer file at {source} (the boot medium is {})",
                places.medium.display()
            );
            read_at(&f, source.to_string())
        }
        Source::Label { label, path } => {
            let dev = wait_for_label(places, label, places.label_wait)
                .with_context(|| format!("no filesystem labelled {label} appeared for {source}"))?;
            let dir = mounted.mount(&dev, &places.mount_dir)?;
            let f = under(&dir, path);
            anyhow::ensure!(f.is_file(), "no answer file at {source}");
            read_at(&f, source.to_string())
        }
        Source::Oemdrv => {
            let dev = wait_for_label(places, "OEMDRV", std::time::Duration::ZERO).context(
                "no answer source: the kernel command line has no installer.answer= or inst.ks=, and no filesystem is labelled OEMDRV",
            )?;
            let dir = mounted.mount(&dev, &places.mount_dir)?;
            for name in ["answer.toml", "ks.cfg"] {
                let f = dir.join(name);
                if f.is_file() {
                    return read_at(&f, format!("OEMDRV:/{name}"));
                }
            }
            anyhow::bail!("the filesystem labelled OEMDRV has neither answer.toml nor ks.cfg")
        }
        Source::Http(_) => unreachable!("fetched over the network"),
    }
}

/// The device of the filesystem labelled `label`, waiting up to `wait` for it to appear.
fn wait_for_label(places: &Places, label: &str, wait: std::time::Duration) -> Result<PathBuf> {
    let link = under(&places.root, Path::new("/dev/disk/by-label")).join(label);
    if places.root == Path::new("/") {
        let _ = runner::Cmd::new("waiting for udev", "udevadm").arg("settle").run();
    }
    let start = std::time::Instant::now();
    loop {
        if link.exists() {
            return Ok(link);
        }
        anyhow::ensure!(start.elapsed() < wait, "{} does not exist", link.display());
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Filesystems mounted read-only to read the answer; unmounted when dropped. A test's
/// directory-as-device is used as it is.
#[derive(Default)]
struct Mounted(std::cell::RefCell<Vec<PathBuf>>);

impl Mounted {
    fn mount(&self, dev: &Path, at: &Path) -> Result<PathBuf> {
        if dev.is_dir() {
            return Ok(dev.to_path_buf());
        }
        std::fs::create_dir_all(at).with_context(|| format!("creating {}", at.display()))?;
        runner::Cmd::new("mounting the answer's filesystem", "mount")
            .args(["-o", "ro"])
            .arg(dev)
            .arg(at)
            .run()
            .with_context(|| format!("mounting {} read-only", dev.display()))?;
        self.0.borrow_mut().push(at.to_path_buf());
        Ok(at.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        for p in self.0.borrow().iter().rev() {
            let _ = runner::Cmd::new("unmounting the answer's filesystem", "umount").arg(p).run();
        }
    }
}

/// `installer fetch-answer`: what the live system runs at boot before an unattended install.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Where the checked answer is written (answer.toml, 0600).
    #[arg(long, default_value = "/run/installer/answer")]
    pub run_dir: PathBuf,
    /// The image's trust: answer-keys/*.pub and require-signed-answers.
    #[arg(long, default_value = "/etc/installer")]
    pub trust_dir: PathBuf,
    /// Kernel command-line words to read instead of /proc/cmdline.
    pub words: Vec<String>,
}

/// `installer verify`: the check an image makes at boot, by hand.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The answer or Kickstart file.
    pub file: PathBuf,
    /// A trusted minisign public key: a .pub file or its base64 line (repeatable).
    #[arg(long = "pubkey")]
    pub pubkeys: Vec<String>,
    /// The signature (default: FILE.minisig).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// The SHA-256 the file must have (64 hex digits).
    #[arg(long)]
    pub sha256: Option<String>,
}

impl VerifyArgs {
    /// Checks the file as a boot with these keys would; a signature is required when a key is given.
    pub fn check(&self) -> Result<Verdict> {
        let mut trust = Trust { keys: vec![], require_signed: !self.pubkeys.is_empty() };
        for k in &self.pubkeys {
            let text = match std::fs::read_to_string(k) {
                Ok(t) => t,
                Err(_) if k.len() == 56 && k.starts_with("RW") => k.clone(),
                Err(e) => return Err(crate::cli::Refused(anyhow::anyhow!("--pubkey {k}: {e}")).into()),
            };
            let key =
                public_key(&text).map_err(|e| crate::cli::Refused(anyhow::anyhow!("--pubkey {k}: {e}")))?;
            trust.keys.push((k.clone(), key));
        }
        let pin = match &self.sha256 {
            Some(h) => {
                Some(parse_sha256(h).map_err(|e| crate::cli::Refused(anyhow::anyhow!("--sha256: {e}")))?)
            }
            None => None,
        };
        let bytes = read_capped(&self.file)?;
        let sig_path = self
            .signature
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.minisig", self.file.display())));
        let signature = std::fs::read_to_string(&sig_path).ok();
        let verdict =
            check(&bytes, signature.as_deref(), &sig_path.display().to_string(), pin.as_ref(), &trust)
                .map_err(|r| crate::cli::Refused(anyhow::anyhow!("{}: refused: {r}", self.file.display())))?;
        anyhow::ensure!(
            verdict.pinned || verdict.signed_by.is_some(),
            crate::cli::Refused(anyhow::anyhow!("nothing to check: give --pubkey or --sha256"))
        );
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_the_source_the_pin_and_the_confirmation() {
        let r = parse_cmdline("quiet installer.answer=label:ANSWERS:/a.toml installer.yes=1").unwrap();
        assert_eq!(r.source, Source::Label { label: "ANSWERS".into(), path: "/a.toml".into() });
        assert!(r.yes && r.sha256.is_none());
        let r = parse_cmdline("inst.ks=hd:LABEL=KS:/ks.cfg").unwrap();
        assert_eq!(r.source, Source::Label { label: "KS".into(), path: "/ks.cfg".into() });
        assert!(!r.yes);
        assert_eq!(parse_cmdline("inst.ks=cdrom:/ks.cfg").unwrap().source, Source::Cdrom("/ks.cfg".into()));
        assert_eq!(
            parse_cmdline("installer.answer=file:/answer.toml").unwrap().source,
            Source::File("/answer.toml".into())
        );
        assert_eq!(parse_cmdline("console=ttyS0").unwrap().source, Source::Oemdrv);
        let pin = "ab".repeat(32);
        assert_eq!(
            parse_cmdline(&format!("installer.answer_sha256={pin}")).unwrap().sha256,
            Some([0xab; 32])
        );
        for bad in [
            "installer.answer_sha256=abc",
            "installer.answer_sha256=zz",
            &format!("installer.answer_sha256={}", "g".repeat(64)),
            "installer.answer=label:A B:/x",
            "installer.answer=label:-o:/x.toml",
            "installer.answer=file:relative.toml",
            "installer.answer=file:/../etc/shadow",
            "installer.answer=label:X",
            "installer.answer=ftp://host/a",
            "installer.answer=https://host/a\"b.toml",
            "installer.answer_timeout=0",
            "inst.ks=nfs:host:/ks.cfg",
        ] {
            assert!(parse_cmdline(bad).is_err(), "{bad}");
        }
    }

    fn keypair() -> (minisign::KeyPair, String) {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let pub_text = kp.pk.to_box().unwrap().to_string();
        (kp, pub_text)
    }

    fn sign(kp: &minisign::KeyPair, data: &[u8]) -> String {
        minisign::sign(Some(&kp.pk), &kp.sk, std::io::Cursor::new(data), Some("answer"), None)
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_pin_and_a_signature_are_checked_and_a_required_one_must_be_there() {
        let data = b"version = 1\n";
        let (kp, pub_text) = keypair();
        let (other, _) = keypair();
        let trust =
            Trust { keys: vec![("fleet.pub".into(), public_key(&pub_text).unwrap())], require_signed: false };
        // No signature, none required.
        assert_eq!(check(data, None, "a.minisig", None, &trust).unwrap().signed_by, None);
        // The right pin; a wrong one.
        let pin: [u8; 32] = Sha256::digest(data).into();
        assert!(check(data, None, "a.minisig", Some(&pin), &trust).unwrap().pinned);
        let e = check(data, None, "a.minisig", Some(&[0; 32]), &trust).unwrap_err();
        assert!(matches!(e, Refusal::Sha256 { .. }), "{e}");
        assert!(e.to_string().contains(&hex(&pin)), "{e}");
        // Signed by the key; by another key; a damaged signature; a changed file.
        let good = sign(&kp, data);
        assert_eq!(
            check(data, Some(&good), "a.minisig", None, &trust).unwrap().signed_by.as_deref(),
            Some("fleet.pub")
        );
        let e = check(data, Some(&sign(&other, data)), "a.minisig", None, &trust).unwrap_err();
        assert!(matches!(e, Refusal::UnknownKey { .. }), "{e}");
        assert!(e.to_string().contains("fleet.pub"), "{e}");
        assert!(matches!(
            check(data, Some("garbage"), "a.minisig", None, &trust),
            Err(Refusal::BadSignatureFile { .. })
        ));
        assert!(check(b"version = 1\n# changed\n", Some(&good), "a.minisig", None, &trust).is_err());
        // Required: unsigned is refused.
        let strict = Trust { require_signed: true, ..trust };
        let e = check(data, None, "OEMDRV:/answer.toml.minisig", None, &strict).unwrap_err();
        assert!(e.to_string().contains("signed answers only"), "{e}");
        assert!(check(data, Some(&good), "a.minisig", None, &strict).is_ok());
        // Required with no keys at all: nothing verifies.
        let none = Trust { keys: vec![], require_signed: true };
        assert!(check(data, Some(&good), "a.minisig", None, &none).is_err());
        // Not required and no keys: the signature cannot be checked, which is said.
        assert!(check(data, Some(&good), "a.minisig", None, &Trust::default()).unwrap().unchecked_signature);
        assert!(matches!(
            check(&vec![b'#'; MAX_BYTES + 1], None, "a", None, &Trust::default()),
            Err(Refusal::TooLarge)
        ));
    }

    #[test]
    fn public_keys_load_from_their_files_and_a_bad_one_is_named() {
        let (_, pub_text) = keypair();
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("answer-keys")).unwrap();
        std::fs::write(t.path().join("answer-keys/fleet.pub"), &pub_text).unwrap();
        std::fs::write(t.path().join("answer-keys/README"), "not a key").unwrap();
        let base64_line = pub_text.lines().nth(1).unwrap();
        std::fs::write(t.path().join("answer-keys/line.pub"), base64_line).unwrap();
        let trust = Trust::load(t.path()).unwrap();
        assert_eq!(trust.keys.len(), 2);
        assert!(!trust.require_signed);
        std::fs::write(t.path().join("require-signed-answers"), "").unwrap();
        assert!(Trust::load(t.path()).unwrap().require_signed);
        std::fs::write(t.path().join("answer-keys/bad.pub"), "hello").unwrap();
        let e = Trust::load(t.path()).unwrap_err().to_string();
        assert!(e.contains("bad.pub") && e.contains("not a minisign public key"), "{e}");
    }

    fn places(t: &Path) -> Places {
        Places {
            root: t.join("root"),
            medium: t.join("medium"),
            mount_dir: t.join("mnt"),
            label_wait: std::time::Duration::ZERO,
            fetcher: t.join("fetcher"),
            sys_net: t.join("sys-net"),
            dmi_serial: t.join("serial"),
        }
    }

    #[test]
    fn fetch_reads_checks_imports_and_writes_only_what_passed() {
        let t = tempfile::tempdir().unwrap();
        let p = places(t.path());
        // An OEMDRV "filesystem" (a directory where the by-label link would be) with ks.cfg.
        let oem = t.path().join("root/dev/disk/by-label/OEMDRV");
        std::fs::create_dir_all(&oem).unwrap();
        let ks = "rootpw --lock\nzerombr\nclearpart --all --initlabel\nautopart --type=lvm\nreboot\n";
        std::fs::write(oem.join("ks.cfg"), ks).unwrap();
        let run = t.path().join("run");
        let req = parse_cmdline("quiet").unwrap();
        let f = fetch(&req, &Trust::default(), &p, &run, &|_| {}).unwrap();
        assert_eq!(f.origin, "a filesystem labelled OEMDRV");
        assert!(f.kickstart_warnings.is_some());
        let text = std::fs::read_to_string(&f.path).unwrap();
        assert!(
            text.contains("Imported from the Kickstart file OEMDRV:/ks.cfg") && is_answer_file(&text),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777, 0o600);
        // answer.toml wins over ks.cfg; its secrets file comes along.
        std::fs::write(oem.join("answer.toml"), "version = 1\nsecrets_file = \"s.toml\"\n[interactive]\n")
            .unwrap();
        std::fs::write(oem.join("s.toml"), "root = \"x\"\n").unwrap();
        let f = fetch(&req, &Trust::default(), &p, &run, &|_| {}).unwrap();
        assert!(f.kickstart_warnings.is_none() && f.interactive);
        assert_eq!(std::fs::read_to_string(run.join("s.toml")).unwrap(), "root = \"x\"\n");
        // A pin that does not match: refused (exit status 3), and nothing new is written.
        std::fs::remove_dir_all(&run).unwrap();
        let req = parse_cmdline(&format!("installer.answer_sha256={}", "00".repeat(32))).unwrap();
        let e = fetch(&req, &Trust::default(), &p, &run, &|_| {}).unwrap_err();
        assert_eq!(crate::cli::exit_status(&e), crate::cli::exit::REFUSED, "{e:#}");
        assert!(format!("{e:#}").contains("OEMDRV:/answer.toml: refused: its SHA-256 is"), "{e:#}");
        assert!(!run.exists());
        // A file on the medium; one that is not there; a label that never appears.
        std::fs::create_dir_all(t.path().join("medium")).unwrap();
        std::fs::write(t.path().join("medium/a.toml"), "version = 1\n").unwrap();
        let f = fetch(
            &parse_cmdline("installer.answer=cdrom:/a.toml").unwrap(),
            &Trust::default(),
            &p,
            &run,
            &|_| {},
        )
        .unwrap();
        assert_eq!(f.origin, "cdrom:/a.toml");
        let e = fetch(
            &parse_cmdline("installer.answer=file:/b.toml").unwrap(),
            &Trust::default(),
            &p,
            &run,
            &|_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("no answer file at file:/b.toml"), "{e}");
        let e = fetch(
            &parse_cmdline("installer.answer=label:NOPE:/a.toml").unwrap(),
            &Trust::default(),
            &p,
            &run,
            &|_| {},
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("no filesystem labelled NOPE"), "{e:#}");
        // A refused Kickstart file.
        std::fs::write(t.path().join("medium/ks.cfg"), "part / --size=banana\n").unwrap();
        let e = fetch(&parse_cmdline("inst.ks=cdrom:/ks.cfg").unwrap(), &Trust::default(), &p, &run, &|_| {})
            .unwrap_err();
        assert!(format!("{e:#}").contains("the Kickstart file was refused"), "{e:#}");
    }

    #[test]
    fn a_signed_answer_on_the_medium_is_used_and_an_unsigned_one_is_refused_when_required() {
        let t = tempfile::tempdir().unwrap();
        let p = places(t.path());
        let (kp, pub_text) = keypair();
        std::fs::create_dir_all(t.path().join("medium")).unwrap();
        let data = b"version = 1\n";
        std::fs::write(t.path().join("medium/a.toml"), data).unwrap();
        let strict =
            Trust { keys: vec![("fleet.pub".into(), public_key(&pub_text).unwrap())], require_signed: true };
        let req = parse_cmdline("installer.answer=file:/a.toml").unwrap();
        let e = fetch(&req, &strict, &p, &t.path().join("run"), &|_| {}).unwrap_err();
        assert!(
            format!("{e:#}")
                .contains("file:/a.toml: refused: it is not signed (file:/a.toml.minisig is missing)"),
            "{e:#}"
        );
        std::fs::write(t.path().join("medium/a.toml.minisig"), sign(&kp, data)).unwrap();
        let f = fetch(&req, &strict, &p, &t.path().join("run"), &|_| {}).unwrap();
        assert_eq!(f.verdict.signed_by.as_deref(), Some("fleet.pub"));
    }
}
