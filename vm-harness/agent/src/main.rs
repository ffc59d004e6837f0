//! The guest side of the vm-harness command channel.
//!
//! It opens the virtio-serial port named `org.vmharness.agent` and serves framed requests from the
//! host, one at a time (the protocol is described in `vm-harness/src/agent.rs`). It is built as a
//! static binary and put into test images only: a release image must never contain it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

const PORT_NAME: &str = "org.vmharness.agent";

fn find_port() -> Option<String> {
    let entries = std::fs::read_dir("/sys/class/virtio-ports").ok()?;
    for e in entries.flatten() {
        let name = std::fs::read_to_string(e.path().join("name")).unwrap_or_default();
        if name.trim() == PORT_NAME {
            return Some(format!("/dev/{}", e.file_name().to_string_lossy()));
        }
    }
    None
}

fn open_port() -> File {
    let mut warned = false;
    loop {
        if let Some(dev) = find_port() {
            match OpenOptions::new().read(true).write(true).open(&dev) {
                Ok(f) => return f,
                Err(e) if !warned => {
                    eprintln!("vm-harness-agent: opening {dev}: {e}");
                    warned = true;
                }
                Err(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads exactly `n` bytes; a read of 0 (host not connected) is retried after a short sleep.
fn read_exact_retry(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match r.read(&mut buf[got..]) {
            Ok(0) => std::thread::sleep(Duration::from_millis(50)),
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

fn read_line_retry(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    loop {
        let mut chunk = Vec::new();
        match r.read_until(b'\n', &mut chunk) {
            Ok(0) => std::thread::sleep(Duration::from_millis(50)),
            Ok(_) => {
                line.extend_from_slice(&chunk);
                if line.ends_with(b"\n") {
                    line.pop();
                    return Ok(String::from_utf8_lossy(&line).into_owned());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn reply(w: &mut impl Write, status: i32, out: &[u8], err: &[u8]) -> io::Result<()> {
    let mut msg = format!("DONE {status} {} {}\n", out.len(), err.len()).into_bytes();
    msg.extend_from_slice(out);
    msg.extend_from_slice(err);
    w.write_all(&msg)?;
    w.flush()
}

fn exec(cmd: &[u8]) -> (i32, Vec<u8>, Vec<u8>) {
    let cmd = String::from_utf8_lossy(cmd).into_owned();
    let result = Command::new("/bin/sh")
        .arg("-c")
        .arg(&cmd)
        .stdin(Stdio::null())
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .output();
    match result {
        Ok(out) => {
            use std::os::unix::process::ExitStatusExt;
            let status = out.status.code().unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
            (status, out.stdout, out.stderr)
        }
        Err(e) => (127, Vec::new(), format!("vm-harness-agent: spawning /bin/sh: {e}\n").into_bytes()),
    }
}

fn put(mode: u32, path: &[u8], data: &[u8]) -> io::Result<()> {
    let path = String::from_utf8_lossy(path).into_owned();
    std::fs::write(&path, data)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
}

fn power_off() {
    nix::unistd::sync();
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF);
}

fn serve(port: &File) -> io::Result<()> {
    let mut reader = BufReader::new(port.try_clone()?);
    let mut writer = port.try_clone()?;
    loop {
        let line = read_line_retry(&mut reader)?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> usize { words.get(i).and_then(|w| w.parse().ok()).unwrap_or(0) };
        match words.first().copied() {
            Some("PING") => {
                writer.write_all(format!("PONG {}\n", words.get(1).unwrap_or(&"")).as_bytes())?;
                writer.flush()?;
            }
            Some("EXEC") => {
                let cmd = read_exact_retry(&mut reader, num(1))?;
                let (status, out, err) = exec(&cmd);
                reply(&mut writer, status, &out, &err)?;
            }
            Some("PUT") => {
                let mode = u32::from_str_radix(words.get(1).unwrap_or(&"644"), 8).unwrap_or(0o644);
                let path = read_exact_retry(&mut reader, num(2))?;
                let data = read_exact_retry(&mut reader, num(3))?;
                match put(mode, &path, &data) {
                    Ok(()) => reply(&mut writer, 0, b"", b"")?,
                    Err(e) => reply(&mut writer, 1, b"", e.to_string().as_bytes())?,
                }
            }
            Some("GET") => {
                let path = read_exact_retry(&mut reader, num(1))?;
                match std::fs::read(String::from_utf8_lossy(&path).as_ref()) {
                    Ok(data) => reply(&mut writer, 0, &data, b"")?,
                    Err(e) => reply(&mut writer, 1, b"", e.to_string().as_bytes())?,
                }
            }
            Some("POWEROFF") => {
                reply(&mut writer, 0, b"", b"")?;
                if std::path::Path::new("/run/systemd/system").exists() {
                    let _ = Command::new("systemctl").args(["poweroff", "--no-block"]).status();
                } else {
                    power_off();
                }
            }
            Some(other) => {
                reply(&mut writer, 2, b"", format!("unknown request {other:?}").as_bytes())?;
            }
            None => {}
        }
    }
}

fn main() {
    loop {
        let port = open_port();
        eprintln!("vm-harness-agent: serving");
        if let Err(e) = serve(&port) {
            eprintln!("vm-harness-agent: {e}; reopening the port");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
