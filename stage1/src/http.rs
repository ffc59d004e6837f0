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

    #[test]
    fn downloads_from_a_local_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (i, c) in l.incoming().take(2).enumerate() {
                let mut c = c.unwrap();
                let mut req = Vec::new();
                let mut b = [0u8; 256];
                while !req.ends_with(b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => req.extend_from_slice(&b[..k]),
                    }
                }
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
}
