//! Stage-1's download of `root=live:http(s)://…` with reqwest (rustls with Mozilla's roots plus
//! any CA certificates the image carries in [`EXTRA_CA`], DNS from the DHCP lease via
//! hickory): follows redirects, checks Content-Length, streams to a file.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// CA certificates (PEM) added by the image builder (profile `ca_certificates`), trusted besides
/// the built-in Mozilla roots.
pub use initrd::config::EXTRA_CA;

fn client(extra_ca: Option<&Path>) -> Result<reqwest::blocking::Client, String> {
    let mut b = reqwest::blocking::Client::builder()
        .user_agent("installer-stage1")
        .connect_timeout(Duration::from_secs(20))
        .timeout(None::<Duration>)
        .redirect(reqwest::redirect::Policy::limited(5));
    if let Some(p) = extra_ca.filter(|p| p.exists()) {
        let pem = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        for cert in
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("{}: {e}", p.display()))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| format!("setting up the HTTP client: {e}"))
}

/// Downloads `url` (http or https) into `dest`; returns the number of bytes.
pub fn download(url: &str, dest: &Path) -> Result<u64, String> {
    download_with(url, dest, Some(Path::new(EXTRA_CA)))
}

/// [`download`] trusting the CA certificates in `extra_ca` (PEM) too.
pub fn download_with(url: &str, dest: &Path, extra_ca: Option<&Path>) -> Result<u64, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url}: only http:// and https:// URLs are supported"));
    }
    let mut resp = client(extra_ca)?.get(url).send().map_err(|e| error_chain(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let length = resp.content_length();
    let mut f = std::fs::File::create(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let n = resp.copy_to(&mut f).map_err(|e| format!("reading the body: {}", error_chain(&e)))?;
    f.flush().map_err(|e| e.to_string())?;
    if let Some(l) = length {
        if l != n {
            return Err(format!("short download: {n} of {l} bytes"));
        }
    }
    Ok(n)
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
        assert!(download("ftp://x/y", Path::new("/nonexistent")).unwrap_err().contains("only http"));
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
