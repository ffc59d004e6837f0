//! A throw-away certificate authority and a server certificate it signed, made with openssl, for
//! the HTTPS tests (stage 1's download, the live image booting from `root=live:https://`).

use std::path::Path;
use std::process::{Command, Stdio};

/// Makes `ca.pem`/`ca.key` and `server.pem`/`server.key` (P-256, valid `days`) for `server_ip` in
/// `dir`.
pub fn make(dir: &Path, server_ip: &str, days: u32) -> std::io::Result<()> {
    let openssl = |args: &[&str]| -> std::io::Result<()> {
        let st = Command::new("openssl").current_dir(dir).args(args).stderr(Stdio::null()).status()?;
        if st.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("openssl {args:?}: {st}")))
        }
    };
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName=IP:{server_ip}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"),
    )?;
    let days = days.to_string();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca = [&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.pem", "-days", &days]].concat();
    openssl(&[&ca[..], &["-subj", "/CN=installer test CA"]].concat())?;
    let subj = format!("/CN={server_ip}");
    openssl(&[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", &subj]].concat())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        &days,
        "-extfile",
        "server.ext",
    ])
}

/// `openssl s_server -WWW` serving `dir` over HTTPS on 127.0.0.1 with the server certificate
/// that [`make`] left in `ca_dir`; stopped when dropped. (It serves no path with a `:` or `..`
/// and answers those with an error page and status 200: a pin or a signature catches that.)
#[derive(Debug)]
pub struct HttpsServer {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an [`HttpsServer`] for `dir` and waits (up to 10 s) until it accepts connections.
pub fn serve(dir: &Path, ca_dir: &Path) -> std::io::Result<HttpsServer> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("openssl")
        .current_dir(dir)
        .args(["s_server", "-quiet", "-WWW", "-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(ca_dir.join("server.pem"))
        .arg("-key")
        .arg(ca_dir.join("server.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let server = HttpsServer { child, port };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err(std::io::Error::other("openssl s_server did not start"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(server)
}
