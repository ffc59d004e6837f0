//! Stage-1's download of `root=live:http(s)://…` with reqwest (rustls with Mozilla's roots plus
//! any CA certificates the image carries in [`EXTRA_CA`], DNS from the DHCP lease via
//! hickory): follows redirects, checks Content-Length, streams to a file.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// CA certificates (PEM) added by the image builder (profile `ca_certificates`), trusted besides
/// the built-in Mozilla roots.
pub use initrd::config::EXTRA_CA;

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: only http:// and https:// URLs are supported")]
    Scheme(String),
    /// The extra CA certificates or the client could not be set up.
    #[error("{0}")]
    Setup(String),
    /// The request or the body failed (with reqwest's causes).
    #[error("{0}")]
    Transfer(String),
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("short download: {got} of {expected} bytes")]
    Short { got: u64, expected: u64 },
    #[error("larger than {0} bytes")]
    TooLarge(u64),
}

fn client(extra_ca: Option<&Path>) -> Result<reqwest::blocking::Client, Error> {
    let mut b = reqwest::blocking::Client::builder()
        .user_agent("installer-stage1")
        .connect_timeout(Duration::from_secs(20))
        .timeout(None::<Duration>)
        .redirect(reqwest::redirect::Policy::limited(5));
    if let Some(p) = extra_ca.filter(|p| p.exists()) {
        let pem = std::fs::read(p)
            .map_err(|source| Error::Io { what: format!("reading {}", p.display()), source })?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| Error::Setup(format!("{}: {e}", p.display())))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| Error::Setup(format!("setting up the HTTP client: {e}")))
}

/// Downloads `url` (http or https) into `dest`; returns the number of bytes.
pub fn download(url: &str, dest: &Path) -> Result<u64, Error> {
    download_with(url, dest, Some(Path::new(EXTRA_CA)))
}

/// [`download`] trusting the CA certificates in `extra_ca` (PEM) too.
pub fn download_with(url: &str, dest: &Path, extra_ca: Option<&Path>) -> Result<u64, Error> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Scheme(url.into()));
    }
    let mut resp = client(extra_ca)?.get(url).send().map_err(|e| Error::Transfer(error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::Status(status));
    }
    let length = resp.content_length();
    let io = |what: String| move |source| Error::Io { what, source };
    let mut f = std::fs::File::create(dest).map_err(io(format!("creating {}", dest.display())))?;
    let n = resp
        .copy_to(&mut f)
        .map_err(|e| Error::Transfer(format!("reading the body: {}", error_chain(&e))))?;
    f.flush().map_err(io(format!("writing {}", dest.display())))?;
    match length {
        Some(expected) if expected != n => Err(Error::Short { got: n, expected }),
        _ => Ok(n),
    }
}

/// A small download with request headers and a size cap (an answer file, its signature).
#[derive(Debug, Clone, Default)]
pub struct Fetch {
    pub url: String,
    pub extra_ca: Option<std::path::PathBuf>,
    pub headers: Vec<(String, String)>,
    pub max_bytes: u64,
}

impl Fetch {
    /// Downloads into `dest`; returns the number of bytes.
    pub fn run(&self, dest: &Path) -> Result<u64, Error> {
        use std::io::Read;
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Error::Scheme(self.url.clone()));
        }
        let mut req = client(self.extra_ca.as_deref())?.get(&self.url).timeout(Duration::from_secs(60));
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().map_err(|e| Error::Transfer(error_chain(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::Status(status));
        }
        let length = resp.content_length();
        if length.is_some_and(|l| l > self.max_bytes) {
            return Err(Error::TooLarge(self.max_bytes));
        }
        let mut body = vec![];
        resp.take(self.max_bytes + 1)
            .read_to_end(&mut body)
            .map_err(|e| Error::Transfer(format!("reading the body: {}", error_chain(&e))))?;
        let n = body.len() as u64;
        if n > self.max_bytes {
            return Err(Error::TooLarge(self.max_bytes));
        }
        if let Some(expected) = length.filter(|&e| e != n) {
            return Err(Error::Short { got: n, expected });
        }
        std::fs::write(dest, &body)
            .map_err(|source| Error::Io { what: format!("writing {}", dest.display()), source })?;
        Ok(n)
    }
}

/// `stage1 fetch URL OUT [--ca PEM] [--header 'Name: value']... [--max-bytes N]`: the live
/// system's HTTP(S) client (the installer has none of its own). Exit status: 0 done, 1 failed,
/// 2 wrong arguments, 3 the server says the file is not there (404).
pub fn fetch_command(args: &[String]) -> i32 {
    let mut f = Fetch { extra_ca: Some(EXTRA_CA.into()), max_bytes: 1 << 20, ..Default::default() };
    let mut positional = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        let r = match a.as_str() {
            "--ca" => value("--ca").map(|v| f.extra_ca = Some(v.into())),
            "--max-bytes" => value("--max-bytes")
                .and_then(|v| v.parse().map_err(|_| format!("--max-bytes {v}: a number")))
                .map(|n| f.max_bytes = n),
            "--header" => value("--header").and_then(|h| match h.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => {
                    f.headers.push((k.trim().to_string(), v.trim().to_string()));
                    Ok(())
                }
                _ => Err(format!("--header {h}: expected 'Name: value'")),
            }),
            _ => {
                positional.push(a.clone());
                Ok(())
            }
        };
        if let Err(e) = r {
            eprintln!("stage1 fetch: {e}");
            return 2;
        }
    }
    let [url, out] = positional.as_slice() else {
        eprintln!("usage: stage1 fetch URL OUT [--ca PEM] [--header 'Name: value']... [--max-bytes N]");
        return 2;
    };
    f.url = url.clone();
    match f.run(Path::new(out)) {
        Ok(_) => 0,
        Err(Error::Status(s)) if s == reqwest::StatusCode::NOT_FOUND => {
            eprintln!("{url}: HTTP 404: not there");
            3
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            1
        }
    }
}

/// `stage1 post URL FILE [--ca PEM] [--bearer-stdin]`: POSTs FILE as JSON (a progress report);
/// with `--bearer-stdin` the first line of stdin is the bearer token (never on the command line).
/// Exit status: 0 the server took it (2xx), 1 failed, 2 wrong arguments.
pub fn post_command(args: &[String]) -> i32 {
    let mut extra_ca = Some(std::path::PathBuf::from(EXTRA_CA));
    let mut bearer = false;
    let mut positional = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ca" => extra_ca = it.next().map(Into::into),
            "--bearer-stdin" => bearer = true,
            _ => positional.push(a.clone()),
        }
    }
    let [url, file] = positional.as_slice() else {
        eprintln!("usage: stage1 post URL FILE [--ca PEM] [--bearer-stdin]");
        return 2;
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        eprintln!("{}", Error::Scheme(url.clone()));
        return 2;
    }
    let body = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("reading {file}: {e}");
            return 2;
        }
    };
    let token = if bearer {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        Some(line.trim().to_string())
    } else {
        None
    };
    let result = client(extra_ca.as_deref()).and_then(|c| {
        let mut req = c
            .post(url)
            .timeout(Duration::from_secs(20))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().map_err(|e| Error::Transfer(error_chain(&e)))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(Error::Status(resp.status()))
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{url}: {e}");
            1
        }
    }
}

/// The error with its causes (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read;

    #[test]
    fn refuses_other_schemes() {
        let e = download("ftp://x/y", Path::new("/nonexistent")).unwrap_err();
        assert!(matches!(e, Error::Scheme(_)), "{e:?}");
        assert!(e.to_string().contains("only http"));
    }

    /// A request's head (up to the blank line).
    fn request_head(c: &mut std::net::TcpStream) -> Vec<u8> {
        let mut req = Vec::new();
        let mut b = [0u8; 256];
        while !req.ends_with(b"\r\n\r\n") {
            match c.read(&mut b) {
                Ok(0) | Err(_) => break,
                Ok(k) => req.extend_from_slice(&b[..k]),
            }
        }
        req
    }

    #[test]
    fn downloads_from_a_local_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (i, c) in l.incoming().take(2).enumerate() {
                let mut c = c.unwrap();
                request_head(&mut c);
                if i == 0 {
                    let _ = write!(c, "HTTP/1.0 302 Found\r\nContent-Length: 0\r\nLocation: http://127.0.0.1:{port}/real\r\n\r\n");
                } else {
                    let _ = write!(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                }
            }
        });
        let dir = std::env::temp_dir().join(format!("stage1-http-{}", std::process::id()));
        let n = download(&format!("http://127.0.0.1:{port}/moved"), &dir).unwrap();
        assert_eq!(n, 5);
        assert_eq!(std::fs::read_to_string(&dir).unwrap(), "hello");
        let _ = std::fs::remove_file(dir);
    }

    /// Serves `n` requests: `/answer` (with the request's headers echoed into the body), `/big`
    /// (2 KiB), anything else 404.
    fn serve(n: usize) -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for c in l.incoming().take(n) {
                let mut c = c.unwrap();
                let req = request_head(&mut c);
                let req = String::from_utf8_lossy(&req).to_lowercase();
                let body = if req.starts_with("get /answer ") {
                    req.lines().filter(|l| l.starts_with("x-installer-")).collect::<Vec<_>>().join("\n")
                } else if req.starts_with("get /big ") {
                    "x".repeat(2048)
                } else {
                    let _ = write!(c, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    continue;
                };
                let _ = write!(c, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            }
        });
        port
    }

    #[test]
    fn fetch_sends_the_headers_caps_the_size_and_tells_a_missing_file_apart() {
        let port = serve(3);
        let t = std::env::temp_dir().join(format!("stage1-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&t).unwrap();
        let out = t.join("a").display().to_string();
        let args = |path: &str, more: &[&str]| -> Vec<String> {
            let mut v = vec![
                format!("http://127.0.0.1:{port}/{path}"),
                out.clone(),
                "--ca".into(),
                "/nonexistent".into(),
            ];
            v.extend(more.iter().map(|s| s.to_string()));
            v
        };
        let code = fetch_command(&args(
            "answer",
            &["--header", "X-Installer-MAC: 52:54:00:12:34:56", "--header", "X-Installer-Serial: S1"],
        ));
        assert_eq!(code, 0);
        let got = std::fs::read_to_string(&out).unwrap();
        assert!(
            got.contains("x-installer-mac: 52:54:00:12:34:56") && got.contains("x-installer-serial: s1"),
            "{got}"
        );
        assert_eq!(fetch_command(&args("big", &["--max-bytes", "1024"])), 1, "over the cap");
        assert_eq!(fetch_command(&args("answer.minisig", &[])), 3, "404");
        assert_eq!(fetch_command(&args("answer", &["--header", "no colon"])), 2);
        assert_eq!(fetch_command(&["http://x".to_string()]), 2);
        let _ = std::fs::remove_dir_all(t);
    }

    #[test]
    fn post_sends_the_file_as_json_with_the_bearer_token_from_stdin() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !String::from_utf8_lossy(&req).contains("{\"event\":1}") {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&b[..k]),
                }
            }
            let _ = write!(c, "HTTP/1.0 204 No Content\r\n\r\n");
            String::from_utf8_lossy(&req).to_lowercase()
        });
        let t = std::env::temp_dir().join(format!("stage1-post-{}", std::process::id()));
        std::fs::write(&t, "{\"event\":1}").unwrap();
        let args = [
            format!("http://127.0.0.1:{port}/report"),
            t.display().to_string(),
            "--ca".into(),
            "/nonexistent".into(),
        ];
        assert_eq!(post_command(&args), 0);
        let req = got.join().unwrap();
        assert!(req.starts_with("post /report ") && req.contains("content-type: application/json"), "{req}");
        let _ = std::fs::remove_file(t);
        assert_eq!(post_command(&["ftp://x".into(), "/f".into()]), 2);
        assert_eq!(post_command(&["http://127.0.0.1:1/r".into(), "/nonexistent".into()]), 2);
    }
}
