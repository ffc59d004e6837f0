//! Host side of the command channel to the guest agent (`vm-harness-agent`).
//!
//! The channel is a virtio-serial port named [`PORT_NAME`], backed on the host by a unix socket.
//! Requests are one ASCII header line followed by raw payload bytes:
//!
//! | request                               | payload              | reply                        |
//! |---------------------------------------|----------------------|------------------------------|
//! | `PING <token>`                        | –                    | `PONG <token>`               |
//! | `EXEC <n>`                            | n bytes: `sh -c` cmd | `DONE <status> <o> <e>` + o bytes stdout + e bytes stderr |
//! | `PUT <mode-octal> <pathlen> <len>`    | path, then data      | `DONE <0/1> 0 <e>` + error   |
//! | `GET <pathlen>`                       | path                 | `DONE <0/1> <n> <e>` + data + error |
//! | `POWEROFF`                            | –                    | `DONE 0 0 0`, then power off |
//!
//! The guest runs one request at a time. Until the agent opens its end, QEMU keeps what we send in
//! the socket, so a `PING` sent early is answered as soon as the agent starts.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

pub const PORT_NAME: &str = "org.vmharness.agent";

/// The result of one command run in the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug)]
pub struct AgentConn {
    machine: String,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl AgentConn {
    /// Pings the agent until it answers or `deadline` passes. `alive` is polled to stop early
    /// when QEMU has exited.
    pub fn connect(
        machine: &str,
        stream: UnixStream,
        deadline: Instant,
        mut alive: impl FnMut() -> Result<()>,
    ) -> Result<Option<Self>> {
        let writer = stream.try_clone().ctx(|| "cloning agent socket".into())?;
        let mut conn = AgentConn { machine: machine.to_string(), reader: BufReader::new(stream), writer };
        let token = format!("{}-{}", std::process::id(), Instant::now().elapsed().as_nanos());
        conn.writer
            .write_all(format!("PING {token}\n").as_bytes())
            .ctx(|| format!("{machine}: writing to agent socket"))?;
        let expected = format!("PONG {token}");
        loop {
            alive()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let slice = (deadline - now).min(Duration::from_millis(500));
            conn.reader.get_ref().set_read_timeout(Some(slice)).ctx(|| "agent timeout".into())?;
            let mut line = String::new();
            match conn.reader.read_line(&mut line) {
                Ok(0) => return Err(conn.err("socket closed while waiting for the agent")),
                Ok(_) if line.trim_end() == expected => {
                    conn.reader.get_ref().set_read_timeout(None).ctx(|| "agent timeout".into())?;
                    return Ok(Some(conn));
                }
                Ok(_) => {} // a stale line from an earlier boot
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    // `read_line` may have consumed part of a line; the token check handles that.
                }
                Err(e) => {
                    return Err(Error::Io { context: format!("{machine}: reading agent socket"), source: e })
                }
            }
        }
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::Agent { machine: self.machine.clone(), message: message.into() }
    }

    /// Sends one request and reads its `DONE` reply: (status, first payload, second payload).
    fn request(
        &mut self,
        header: String,
        payloads: &[&[u8]],
        timeout: Duration,
    ) -> Result<(i32, Vec<u8>, Vec<u8>)> {
        let mut msg = header.into_bytes();
        msg.push(b'\n');
        for p in payloads {
            msg.extend_from_slice(p);
        }
        self.writer.write_all(&msg).map_err(|e| self.err(format!("writing request: {e}")))?;
        self.reader.get_ref().set_read_timeout(Some(timeout)).ctx(|| "agent timeout".into())?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => return Err(self.err("channel closed (did the guest power off or crash?)")),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(self.err(format!("no reply within {}s", timeout.as_secs())))
            }
            Err(e) => return Err(self.err(format!("reading reply: {e}"))),
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let parse = |i: usize| words.get(i).and_then(|w| w.parse::<i64>().ok());
        let (Some("DONE"), Some(status), Some(o), Some(e)) =
            (words.first().copied(), parse(1), parse(2), parse(3))
        else {
            return Err(self.err(format!("unexpected reply {line:?}")));
        };
        let mut first = vec![0u8; o as usize];
        let mut second = vec![0u8; e as usize];
        self.reader.read_exact(&mut first).map_err(|e| self.err(format!("reading reply payload: {e}")))?;
        self.reader.read_exact(&mut second).map_err(|e| self.err(format!("reading reply payload: {e}")))?;
        self.reader.get_ref().set_read_timeout(None).ctx(|| "agent timeout".into())?;
        Ok((status as i32, first, second))
    }

    pub fn exec(&mut self, cmd: &str, timeout: Duration) -> Result<Output> {
        let (status, out, err) = self.request(format!("EXEC {}", cmd.len()), &[cmd.as_bytes()], timeout)?;
        Ok(Output {
            status,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
        })
    }

    /// Writes a guest file; returns the guest's error text on failure.
    pub fn put(
        &mut self,
        path: &str,
        mode: u32,
        data: &[u8],
        timeout: Duration,
    ) -> Result<Result<(), String>> {
        let header = format!("PUT {mode:o} {} {}", path.len(), data.len());
        let (status, _, err) = self.request(header, &[path.as_bytes(), data], timeout)?;
        Ok(if status == 0 { Ok(()) } else { Err(String::from_utf8_lossy(&err).into_owned()) })
    }

    /// Reads a guest file; returns the guest's error text on failure.
    pub fn get(&mut self, path: &str, timeout: Duration) -> Result<Result<Vec<u8>, String>> {
        let (status, data, err) = self.request(format!("GET {}", path.len()), &[path.as_bytes()], timeout)?;
        Ok(if status == 0 { Ok(data) } else { Err(String::from_utf8_lossy(&err).into_owned()) })
    }

    pub fn poweroff(&mut self) -> Result<()> {
        self.request("POWEROFF".into(), &[], Duration::from_secs(30)).map(|_| ())
    }
}
