//! A helper HTTP server on the host that guests reach at `http://10.0.2.2:<port>/` through QEMU's
//! user-mode network (which maps 10.0.2.2 to the host's loopback). It serves one directory with
//! `GET` and `HEAD`, one thread per connection, and stops when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{IoContext, Result};

#[derive(Debug)]
pub struct HttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Serves `root` on 127.0.0.1 at a free port.
    pub fn serve_dir(root: &Path) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").ctx(|| "binding the HTTP helper".into())?;
        let port = listener.local_addr().ctx(|| "HTTP helper address".into())?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let root = root.clone();
                    std::thread::spawn(move || {
                        if let Err(e) = handle(conn, &root) {
                            tracing::debug!("http helper: {e}");
                        }
                    });
                }
            }
        });
        Ok(Self { port, stop })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL guests use to reach this server.
    pub fn guest_url(&self) -> String {
        format!("http://10.0.2.2:{}", self.port)
    }

    /// The URL the host uses.
    pub fn host_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = url_path.split('?').next()?.trim_start_matches('/');
    let rel = Path::new(path);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = root.join(rel);
    full.is_file().then_some(full)
}

/// Reads a request's header lines up to the blank one: each as (lower-case name, trimmed value).
fn read_headers(r: &mut impl BufRead) -> std::io::Result<Vec<(String, String)>> {
    let mut headers = vec![];
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(headers);
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
}

fn handle(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    read_headers(&mut reader)?;
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let mut out = stream;
    match (method, resolve(root, target)) {
        ("GET" | "HEAD", Some(file)) => {
            let len = std::fs::metadata(&file)?.len();
            write!(
                out,
                "HTTP/1.0 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
            )?;
            if method == "GET" {
                std::io::copy(&mut std::fs::File::open(&file)?, &mut out)?;
            }
        }
        ("GET" | "HEAD", None) => {
            out.write_all(
                b"HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n",
            )?;
        }
        _ => {
            out.write_all(
                b"HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
    }
    out.flush()
}

/// What a [`recording_server`] got: each request's Authorization header and body.
pub type Recorded = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A plain HTTP endpoint on the host (guests reach it at `http://10.0.2.2:<port>/`) that records
/// each POST's Authorization header and body and answers 204: an install's `[report]` endpoint.
pub fn recording_server() -> (Recorded, u16) {
    let got: Recorded = Arc::default();
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a port on the loopback");
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let keep = got.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            use std::io::Read;
            let Ok(c) = c else { continue };
            let mut r = BufReader::new(c);
            let headers = read_headers(&mut r).unwrap_or_default();
            let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            let auth = header("authorization").unwrap_or_default().to_string();
            let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; length];
            if r.read_exact(&mut body).is_ok() {
                if let Ok(mut g) = keep.lock() {
                    g.push((auth, String::from_utf8_lossy(&body).into_owned()));
                }
            }
            let _ = r.get_mut().write_all(b"HTTP/1.0 204 No Content\r\n\r\n");
        }
    });
    (got, port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_recording_server_keeps_each_posts_authorization_and_body() {
        let (got, port) = recording_server();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "POST /report HTTP/1.0\r\nAuthorization: Bearer t:1\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.0 204"), "{reply}");
        assert_eq!(*got.lock().unwrap(), [("Bearer t:1".to_string(), "hello".to_string())]);
    }

    fn get(url_port: u16, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", url_port)).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp
    }

    #[test]
    fn serves_files_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.txt"), "hi there").unwrap();
        let srv = HttpServer::serve_dir(dir.path()).unwrap();
        let ok = get(srv.port(), "/hello.txt");
        assert!(ok.starts_with("HTTP/1.0 200 OK"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nhi there"), "{ok}");
        assert!(ok.contains("Content-Length: 8"));
        assert!(get(srv.port(), "/../etc/passwd").starts_with("HTTP/1.0 404"));
        assert!(get(srv.port(), "/missing").starts_with("HTTP/1.0 404"));
        assert_eq!(srv.guest_url(), format!("http://10.0.2.2:{}", srv.port()));
    }
}
