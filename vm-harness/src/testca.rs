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
