use std::path::PathBuf;

/// Errors of the harness that tests may want to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A wait ran out of time. `tail` holds the last lines of the machine's serial log.
    #[error("{machine}: timed out after {secs}s waiting for {what}\n--- last lines of {log} ---\n{tail}")]
    Timeout { machine: String, what: String, secs: u64, log: PathBuf, tail: String },
    /// A command given to `succeed` exited non-zero (or one given to `fail` exited zero).
    #[error("{machine}: command `{cmd}` exited with status {status}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")]
    Command { machine: String, cmd: String, status: i32, stdout: String, stderr: String },
    /// QEMU exited while we were waiting for something.
    #[error("{machine}: QEMU is not running ({status})\n--- qemu stderr ---\n{stderr}\n--- last lines of {log} ---\n{tail}")]
    NotRunning { machine: String, status: String, stderr: String, log: PathBuf, tail: String },
    /// QMP answered with an error.
    #[error("{machine}: QMP command {command} failed: {message}")]
    Qmp { machine: String, command: String, message: String },
    /// The agent channel broke or answered something unexpected.
    #[error("{machine}: agent channel: {message}")]
    Agent { machine: String, message: String },
    /// Anything else, with context.
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{0}")]
    Setup(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io { context: context(), source })
    }
}
