//! A small QMP client: JSON lines over a unix socket, not bound to one QEMU schema version.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{Error, IoContext, Result};

#[derive(Debug)]
pub struct Qmp {
    machine: String,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Asynchronous events received while waiting for command replies.
    pub events: Vec<Value>,
}

impl Qmp {
    /// Reads the greeting and negotiates capabilities.
    ///
    /// QEMU 7.2 can send an event such as `RESUME` on a connection it has not yet greeted (the
    /// guest starts while the socket is being accepted): events before the greeting are kept
    /// with the others, anything else is an error.
    pub fn connect(machine: &str, stream: UnixStream) -> Result<Self> {
        stream.set_read_timeout(Some(Duration::from_secs(60))).ctx(|| "setting QMP timeout".into())?;
        let writer = stream.try_clone().ctx(|| "cloning QMP socket".into())?;
        let mut qmp =
            Qmp { machine: machine.to_string(), reader: BufReader::new(stream), writer, events: vec![] };
        loop {
            let message = qmp.read_message()?;
            if message.get("QMP").is_some() {
                break;
            }
            if message.get("event").is_none() {
                return Err(qmp.err("greeting", format!("unexpected greeting {message}")));
            }
            qmp.events.push(message);
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    fn err(&self, command: &str, message: String) -> Error {
        Error::Qmp { machine: self.machine.clone(), command: command.to_string(), message }
    }

    fn read_message(&mut self) -> Result<Value> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).ctx(|| format!("{}: reading QMP", self.machine))?;
        if n == 0 {
            return Err(self.err("read", "QMP socket closed".into()));
        }
        serde_json::from_str(&line).map_err(|e| self.err("read", format!("bad JSON {line:?}: {e}")))
    }

    /// Runs one command and returns its `return` value.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value> {
        let mut msg = json!({ "execute": command });
        if arguments.as_object().is_some_and(|o| !o.is_empty()) {
            msg["arguments"] = arguments;
        }
        let mut text = msg.to_string();
        text.push('\n');
        tracing::debug!(machine = %self.machine, "qmp -> {}", text.trim());
        self.writer
            .write_all(text.as_bytes())
            .ctx(|| format!("{}: writing QMP command {command}", self.machine))?;
        loop {
            let reply = self.read_message()?;
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(e) = reply.get("error") {
                let desc = e.get("desc").and_then(Value::as_str).unwrap_or("unknown error");
                return Err(self.err(command, desc.to_string()));
            }
            self.events.push(reply);
        }
    }
}

/// QEMU key codes (`QKeyCode`) for a character, with whether shift is needed.
pub fn qcodes_for_char(c: char) -> Option<(bool, &'static str)> {
    const LOWER: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
        "u", "v", "w", "x", "y", "z",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    Some(match c {
        'a'..='z' => (false, LOWER[c as usize - 'a' as usize]),
        'A'..='Z' => (true, LOWER[c as usize - 'A' as usize]),
        '0'..='9' => (false, DIGITS[c as usize - '0' as usize]),
        ' ' => (false, "spc"),
        '\n' => (false, "ret"),
        '\t' => (false, "tab"),
        '-' => (false, "minus"),
        '_' => (true, "minus"),
        '=' => (false, "equal"),
        '+' => (true, "equal"),
        '.' => (false, "dot"),
        '>' => (true, "dot"),
        ',' => (false, "comma"),
        '<' => (true, "comma"),
        '/' => (false, "slash"),
        '?' => (true, "slash"),
        ';' => (false, "semicolon"),
        ':' => (true, "semicolon"),
        '\'' => (false, "apostrophe"),
        '"' => (true, "apostrophe"),
        '[' => (false, "bracket_left"),
        '{' => (true, "bracket_left"),
        ']' => (false, "bracket_right"),
        '}' => (true, "bracket_right"),
        '\\' => (false, "backslash"),
        '|' => (true, "backslash"),
        '`' => (false, "grave_accent"),
        '~' => (true, "grave_accent"),
        '!' => (true, "1"),
        '@' => (true, "2"),
        '#' => (true, "3"),
        '$' => (true, "4"),
        '%' => (true, "5"),
        '^' => (true, "6"),
        '&' => (true, "7"),
        '*' => (true, "8"),
        '(' => (true, "9"),
        ')' => (true, "0"),
        _ => return None,
    })
}

/// Turns a key combination such as `ctrl-alt-delete` into `send-key` arguments.
pub fn key_combo(combo: &str) -> Value {
    let keys: Vec<Value> =
        combo.split('-').filter(|k| !k.is_empty()).map(|k| json!({ "type": "qcode", "data": k })).collect();
    json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_map_to_qcodes() {
        assert_eq!(qcodes_for_char('A'), Some((true, "a")));
        assert_eq!(qcodes_for_char('7'), Some((false, "7")));
        assert_eq!(qcodes_for_char('\n'), Some((false, "ret")));
        assert_eq!(qcodes_for_char('é'), None);
    }

    /// Plays `lines` as QEMU's side of a QMP socket and answers the capabilities command.
    fn fake_qemu(lines: &'static [&'static str]) -> UnixStream {
        let (ours, theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let mut w = theirs.try_clone().unwrap();
            for l in lines {
                writeln!(w, "{l}").unwrap();
            }
            let mut r = BufReader::new(theirs);
            let mut cmd = String::new();
            if r.read_line(&mut cmd).unwrap() > 0 && cmd.contains("qmp_capabilities") {
                writeln!(w, r#"{{"return": {{}}}}"#).unwrap();
            }
        });
        ours
    }

    #[test]
    fn an_event_before_the_greeting_is_kept_and_the_connection_negotiates() {
        let qmp = Qmp::connect(
            "m",
            fake_qemu(&[
                r#"{"event":"RESUME","timestamp":{"microseconds":87675,"seconds":1796419917}}"#,
                r#"{"QMP":{"version":{},"capabilities":[]}}"#,
            ]),
        )
        .unwrap();
        assert_eq!(qmp.events.len(), 1);
        assert_eq!(qmp.events[0]["event"], "RESUME");
    }

    #[test]
    fn a_reply_that_is_neither_greeting_nor_event_is_an_error() {
        let e = Qmp::connect("m", fake_qemu(&[r#"{"return":{}}"#])).unwrap_err();
        assert!(e.to_string().contains("unexpected greeting"), "{e}");
    }

    #[test]
    fn combo() {
        assert_eq!(
            key_combo("ctrl-alt-delete"),
            json!({"keys":[{"type":"qcode","data":"ctrl"},{"type":"qcode","data":"alt"},{"type":"qcode","data":"delete"}]})
        );
    }
}
