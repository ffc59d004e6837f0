//! A small HTTP/1.x client for stage-1's `root=live:http://…` (plain HTTP, as PXE setups serve it):
//! follows redirects, checks Content-Length, streams to a file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported in stage-1")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().map_err(|_| format!("bad port in {url}"))?),
        None => (hostport.to_string(), 80),
    };
    Ok((host, port, path.to_string()))
}

/// Downloads `url` into `dest`; returns the number of bytes.
pub fn download(url: &str, dest: &Path) -> Result<u64, String> {
    let mut url = url.to_string();
    for _ in 0..5 {
        let (host, port, path) = split_url(&url)?;
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {host}: {e}"))?
            .next()
            .ok_or("no address")?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(20))
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
        let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: installer-stage1\r\n\r\n");
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).map_err(|e| e.to_string())?;
        let code: u16 = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or(format!("bad status line {status:?}"))?;
        let mut length = None;
        let mut location = None;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).map_err(|e| e.to_string())?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse::<u64>().ok(),
                    "location" => location = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        if (300..400).contains(&code) {
            url = location.ok_or("redirect without Location")?;
            continue;
        }
        if code != 200 {
            return Err(format!("HTTP {code}"));
        }
        let mut f = std::fs::File::create(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = r.read(&mut buf).map_err(|e| format!("after {n} bytes: {e}"))?;
            if k == 0 {
                break;
            }
            f.write_all(&buf[..k]).map_err(|e| e.to_string())?;
            n += k as u64;
        }
        if let Some(l) = length {
            if l != n {
                return Err(format!("short download: {n} of {l} bytes"));
            }
        }
        return Ok(n);
    }
    Err("too many redirects".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://10.0.2.2:8080/a/b.squashfs").unwrap(),
            ("10.0.2.2".into(), 8080, "/a/b.squashfs".into())
        );
        assert_eq!(split_url("http://host").unwrap(), ("host".into(), 80, "/".into()));
        assert!(split_url("ftp://x/y").is_err());
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
                    let _ = write!(c, "HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:{port}/real\r\n\r\n");
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
