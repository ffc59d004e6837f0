//! Answers over HTTP(S): `installer.answer=https://…` (or `inst.ks=`). `${mac}` and `${serial}`
//! in the URL become the machine's MAC address (its first network interface with one, by name)
//! and DMI serial, and every request carries `X-Installer-MAC` (all of them) and
//! `X-Installer-Serial`, so that one server can hand each host its own file. The live system's
//! HTTP(S) client is stage 1's (`stage1 fetch`: reqwest with rustls, Mozilla's roots and the
//! image's extra CAs); the installer itself has none. The answer and its signature
//! (`URL.minisig`; none when the server says 404) are fetched with retries and a growing pause
//! until `installer.answer_timeout=` (300 s) is up; nothing is written anywhere but the run
//! directory's temporary files before the whole, checked answer is there.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Places, MAX_BYTES};

/// A URL as the kernel command line may give it: http(s), printable ASCII without quotes or
/// spaces, at most 2048 bytes, and no templates but `${mac}` and `${serial}`.
pub fn url(v: &str) -> Result<String, String> {
    let ok_chars = v.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`'));
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
    if !ok_chars || !host_ok || v.len() > 2048 {
        return Err(
            "not an http:// or https:// URL (printable, no quotes or spaces, 2048 bytes at most)".into()
        );
    }
    let without = v.replace("${mac}", "").replace("${serial}", "");
    if without.contains("${") {
        return Err("the URL's templates are ${mac} and ${serial}".into());
    }
    Ok(v.to_string())
}

/// The machine as the server sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Every network interface's MAC address but the loopback's, by interface name.
    pub macs: Vec<String>,
    pub serial: String,
}

impl Identity {
    pub fn read(places: &Places) -> Identity {
        let mut names: Vec<String> = std::fs::read_dir(&places.sys_net)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        let macs = names
            .iter()
            .filter_map(|n| std::fs::read_to_string(places.sys_net.join(n).join("address")).ok())
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| a.len() == 17 && a != "00:00:00:00:00:00")
            .collect();
        let serial =
            std::fs::read_to_string(&places.dmi_serial).map(|s| s.trim().to_string()).unwrap_or_default();
        Identity { macs, serial }
    }

    /// The URL with `${mac}` and `${serial}` filled in (percent-encoded).
    pub fn fill(&self, url: &str) -> String {
        let mac = self.macs.first().map(String::as_str).unwrap_or("unknown");
        let serial = if self.serial.is_empty() { "unknown" } else { &self.serial };
        url.replace("${mac}", &encode(mac)).replace("${serial}", &encode(serial))
    }

    fn headers(&self) -> Vec<String> {
        let clean = |s: &str| s.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect::<String>();
        vec![
            format!("X-Installer-MAC: {}", self.macs.join(", ")),
            format!("X-Installer-Serial: {}", clean(&self.serial)),
        ]
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What a fetch got.
#[derive(Debug)]
pub struct Got {
    pub url: String,
    pub bytes: Vec<u8>,
    pub signature: Option<String>,
}

/// One try of `fetcher fetch URL OUT`: the bytes, `None` for a 404, or why it failed.
fn try_once(
    places: &Places,
    url: &str,
    id: &Identity,
    max: usize,
    out: &Path,
) -> Result<Option<Vec<u8>>, String> {
    let _ = std::fs::remove_file(out);
    let mut c = runner::Cmd::new("fetching the answer", &places.fetcher)
        .arg("fetch")
        .arg(url)
        .arg(out)
        .args(["--max-bytes", &max.to_string()])
        .ok_codes(&[3]);
    for h in id.headers() {
        c = c.args(["--header", &h]);
    }
    let r = c.run().map_err(|e| match e {
        runner::RunError::Failed { stderr, status, .. } => {
            let last = stderr.lines().last().unwrap_or_default().to_string();
            if last.is_empty() {
                status
            } else {
                last
            }
        }
        e => e.to_string(),
    })?;
    drop(r);
    match std::fs::read(out) {
        Ok(b) => {
            let _ = std::fs::remove_file(out);
            Ok(Some(b))
        }
        Err(_) => Ok(None),
    }
}

/// Fetches the answer at `url` (templates filled) and its signature, retrying until `timeout`.
pub fn fetch(url: &str, places: &Places, timeout: Duration, notify: &dyn Fn(&str)) -> Result<Got> {
    anyhow::ensure!(
        places.fetcher.is_file(),
        "{url}: the live system's HTTP client {} is missing",
        places.fetcher.display()
    );
    let id = Identity::read(places);
    let url = id.fill(url);
    let tmp = crate::private_dir::PrivateDir::new("fetch")?;
    let out = tmp.path().join("download");
    let start = Instant::now();
    let mut pause = Duration::from_secs(1);
    let mut tries = 0;
    loop {
        tries += 1;
        let r = try_once(places, &url, &id, MAX_BYTES, &out).and_then(|answer| {
            let answer = answer.ok_or_else(|| "HTTP 404: not there".to_string())?;
            let sig = try_once(places, &format!("{url}.minisig"), &id, 64 << 10, &out)?;
            Ok((answer, sig))
        });
        let why = match r {
            Ok((bytes, sig)) => {
                let signature = sig.map(|s| String::from_utf8_lossy(&s).into_owned());
                return Ok(Got { url, bytes, signature });
            }
            Err(why) => why,
        };
        let spent = start.elapsed();
        if spent + pause > timeout {
            anyhow::bail!(
                "{url}: not fetched in {} tries over {} s (installer.answer_timeout={}): {why}",
                tries,
                spent.as_secs(),
                timeout.as_secs()
            );
        }
        notify(&format!("{url}: {why}; trying again in {} s", pause.as_secs()));
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_templates_filled_with_the_machines_identity() {
        assert!(url("https://deploy.example.com/answers/${mac}.toml").is_ok());
        assert!(url("http://10.0.0.1:8080/a?serial=${serial}").is_ok());
        for bad in
            ["https://", "https:///x", "https://h/a b", "https://h/\"x", "https://h/${host}", "ftp://h/a"]
        {
            assert!(url(bad).is_err(), "{bad}");
        }
        let id = Identity {
            macs: vec!["52:54:00:12:34:56".into(), "52:54:00:ab:cd:ef".into()],
            serial: "SN 1/2".into(),
        };
        assert_eq!(id.fill("https://h/${mac}/${serial}.toml"), "https://h/52:54:00:12:34:56/SN%201%2F2.toml");
        assert_eq!(
            id.headers(),
            ["X-Installer-MAC: 52:54:00:12:34:56, 52:54:00:ab:cd:ef", "X-Installer-Serial: SN 1/2"]
        );
        assert_eq!(Identity::default().fill("https://h/${mac}"), "https://h/unknown");
    }

    fn places(t: &Path, fetcher: &str) -> Places {
        let p = Places {
            root: t.join("root"),
            medium: t.join("medium"),
            mount_dir: t.join("mnt"),
            label_wait: Duration::ZERO,
            fetcher: t.join("fetcher"),
            sys_net: t.join("net"),
            dmi_serial: t.join("serial"),
        };
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&p.fetcher, fetcher).unwrap();
        std::fs::set_permissions(&p.fetcher, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (n, a) in [("lo", "00:00:00:00:00:00"), ("eth0", "52:54:00:12:34:56")] {
            std::fs::create_dir_all(p.sys_net.join(n)).unwrap();
            std::fs::write(p.sys_net.join(n).join("address"), format!("{a}\n")).unwrap();
        }
        std::fs::write(&p.dmi_serial, "VM-7\n").unwrap();
        p
    }

    /// A stand-in for `stage1 fetch` serving files from `t/srv` by the URL's last part, failing
    /// the first `t/fail` tries, and logging its arguments.
    fn fake_fetcher(t: &Path) -> String {
        format!(
            "#!/bin/sh\necho \"$@\" >> {t}/calls\nif [ -s {t}/fail ]; then sed -i 1d {t}/fail; echo 'connection refused' >&2; exit 1; fi\n\
             f={t}/srv/${{2##*/}}\n[ -f \"$f\" ] || exit 3\ncp \"$f\" \"$3\"\n",
            t = t.display()
        )
    }

    #[test]
    fn a_fetch_retries_until_it_gets_the_answer_and_its_signature() {
        let t = tempfile::tempdir().unwrap();
        let p = places(t.path(), &fake_fetcher(t.path()));
        std::fs::create_dir_all(t.path().join("srv")).unwrap();
        std::fs::write(t.path().join("srv/52:54:00:12:34:56.toml"), "version = 1\n").unwrap();
        std::fs::write(t.path().join("fail"), "1\n2\n").unwrap();
        let said = std::sync::Mutex::new(vec![]);
        let got = fetch("https://h/${mac}.toml", &p, Duration::from_secs(30), &|m| {
            said.lock().unwrap().push(m.to_string())
        })
        .unwrap();
        assert_eq!((got.bytes.as_slice(), got.signature), (&b"version = 1\n"[..], None));
        assert_eq!(got.url, "https://h/52:54:00:12:34:56.toml");
        let said = said.lock().unwrap();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].contains("connection refused; trying again in 1 s"), "{said:?}");
        let calls = std::fs::read_to_string(t.path().join("calls")).unwrap();
        assert!(
            calls.contains("--header X-Installer-MAC: 52:54:00:12:34:56 --header X-Installer-Serial: VM-7"),
            "{calls}"
        );
        assert!(calls.contains("https://h/52:54:00:12:34:56.toml.minisig"), "{calls}");
        // With a signature on the server, it comes along.
        std::fs::write(t.path().join("srv/52:54:00:12:34:56.toml.minisig"), "sig").unwrap();
        let got = fetch("https://h/${mac}.toml", &p, Duration::from_secs(30), &|_| {}).unwrap();
        assert_eq!(got.signature.as_deref(), Some("sig"));
    }

    #[test]
    fn a_server_that_stays_down_ends_the_fetch_with_the_url_and_the_reason() {
        let t = tempfile::tempdir().unwrap();
        let p = places(t.path(), &fake_fetcher(t.path()));
        std::fs::write(t.path().join("fail"), "1\n".repeat(100)).unwrap();
        let start = Instant::now();
        let e = fetch("https://h/a.toml", &p, Duration::from_secs(4), &|_| {}).unwrap_err().to_string();
        assert!(start.elapsed() < Duration::from_secs(8));
        assert!(
            e.starts_with("https://h/a.toml: not fetched in 3 tries") && e.ends_with("connection refused"),
            "{e}"
        );
        // A file that is not there is retried too (the server may not have it yet), then named.
        std::fs::write(t.path().join("fail"), "").unwrap();
        let e = fetch("https://h/a.toml", &p, Duration::from_secs(2), &|_| {}).unwrap_err().to_string();
        assert!(e.ends_with("HTTP 404: not there"), "{e}");
    }

    #[test]
    fn an_answer_over_the_network_is_checked_like_any_and_names_no_secrets_file() {
        use crate::source::{fetch as fetch_answer, parse_cmdline, Trust};
        let t = tempfile::tempdir().unwrap();
        let p = places(t.path(), &fake_fetcher(t.path()));
        std::fs::create_dir_all(t.path().join("srv")).unwrap();
        std::fs::write(t.path().join("srv/VM-7.toml"), "version = 1\n[system]\nhostname = \"n7\"\n").unwrap();
        std::fs::write(t.path().join("srv/s.toml"), "version = 1\nsecrets_file = \"s.secrets\"\n").unwrap();
        let run = t.path().join("run");
        let req = parse_cmdline("installer.answer=https://h/${serial}.toml installer.yes=1").unwrap();
        let f = fetch_answer(&req, &Trust::default(), &p, &run, &|_| {}).unwrap();
        assert_eq!(f.origin, "https://h/VM-7.toml");
        assert!(std::fs::read_to_string(f.path).unwrap().contains("n7"));
        let req = parse_cmdline("installer.answer=https://h/s.toml").unwrap();
        let e = fetch_answer(&req, &Trust::default(), &p, &run, &|_| {}).unwrap_err();
        assert!(format!("{e:#}").contains("cannot name a secrets_file"), "{e:#}");
        assert_eq!(crate::cli::exit_status(&e), crate::cli::exit::REFUSED);
    }

    #[test]
    fn without_the_http_client_the_fetch_stops_at_once() {
        let t = tempfile::tempdir().unwrap();
        let mut p = places(t.path(), "");
        p.fetcher = t.path().join("no-such-client");
        let e = fetch("https://h/a.toml", &p, Duration::from_secs(300), &|_| panic!("no retry")).unwrap_err();
        assert!(e.to_string().contains("HTTP client"), "{e}");
    }
}
