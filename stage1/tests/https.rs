//! Stage-1's HTTPS download against a real TLS server (`openssl s_server -WWW`) with a CA made
//! here: trusted through the image's extra CA file it works, without it the certificate is
//! refused.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_downloads_trust_the_extra_ca_and_only_it() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    vm_harness::testca::make(d, "127.0.0.1", 2).unwrap();
    let www = d.join("www");
    std::fs::create_dir(&www).unwrap();
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(www.join("live.squashfs"), &payload).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Server(
        Command::new("openssl")
            .current_dir(&www)
            .args(["s_server", "-quiet", "-WWW", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(d.join("server.pem"))
            .arg("-key")
            .arg(d.join("server.key"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("https://127.0.0.1:{port}/live.squashfs");
    let dest = d.join("got");
    let err = stage1::http::download_with(&url, &dest, None).unwrap_err();
    assert!(matches!(err, stage1::http::Error::Transfer(_)), "{err:?}");
    let err = err.to_string();
    assert!(err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"), "{err}");
    let n = stage1::http::download_with(&url, &dest, Some(&d.join("ca.pem"))).unwrap();
    assert_eq!(n, payload.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), payload);
}
