//! Stage-1's HTTPS download against a real TLS server (`openssl s_server -WWW`) with a CA made
//! here: trusted through the image's extra CA file it works, without it the certificate is
//! refused.

#[test]
fn https_downloads_trust_the_extra_ca_and_only_it() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    vm_harness::testca::make(d, "127.0.0.1", 2).unwrap();
    let www = d.join("www");
    std::fs::create_dir(&www).unwrap();
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(www.join("live.squashfs"), &payload).unwrap();
    let server = vm_harness::testca::serve(&www, d).unwrap();
    let port = server.port;
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
