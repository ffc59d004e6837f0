//! Running `nix-instantiate --eval --strict --json` on `installer/nix/installer.nix`.

use std::path::{Path, PathBuf};

use super::nix_syntax::string as nix_string;
use runner::Cmd;

/// Evaluation failures: the evaluator's own message (with file and line) is kept as it is.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(
        "nix-instantiate is not installed (Debian package nix-bin); it is needed to evaluate configurations"
    )]
    NoEvaluator,
    #[error("{0}")]
    Nix(String),
    #[error("the evaluator printed something that is not JSON: {0}")]
    BadOutput(String),
    #[error("cannot find our Nix modules (installer/nix); set INSTALLER_NIX_DIR")]
    NoModules,
}

/// Where our module library lives: `INSTALLER_NIX_DIR`, the copy installed with the binary
/// (`/usr/share/installer/nix`), or the source tree.
pub fn nix_dir() -> Result<PathBuf, EvalError> {
    let candidates = [
        std::env::var_os("INSTALLER_NIX_DIR").map(PathBuf::from),
        Some(PathBuf::from("/usr/share/installer/nix")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("nix")),
    ];
    candidates.into_iter().flatten().find(|d| d.join("installer.nix").is_file()).ok_or(EvalError::NoModules)
}

/// Evaluates `installer.nix` with the given arguments (Nix expressions) and parses the JSON.
fn instantiate(args: &[(&str, String)]) -> Result<serde_json::Value, EvalError> {
    instantiate_with("nix-instantiate", args)
}

fn instantiate_with(program: &str, args: &[(&str, String)]) -> Result<serde_json::Value, EvalError> {
    let dir = nix_dir()?;
    let mut cmd = Cmd::new("evaluating the configuration", program)
        .args(["--readonly-mode", "--eval", "--strict", "--json", "--option", "build-users-group", ""])
        .arg("-I")
        .arg(format!("nixpkgs={}", dir.display()))
        .arg(dir.join("installer.nix"));
    for (name, expr) in args {
        cmd = cmd.args(["--arg", name, expr]);
    }
    match cmd.run() {
        Ok(out) => serde_json::from_str(&out.stdout)
            .map_err(|e| EvalError::BadOutput(format!("{e}: {}", out.stdout))),
        Err(runner::RunError::Spawn { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(EvalError::NoEvaluator)
        }
        Err(runner::RunError::Failed { stderr, .. }) => Err(EvalError::Nix(clean_error(&stderr))),
        Err(e) => Err(EvalError::Nix(e.to_string())),
    }
}

/// Drops Nix's warnings and the `--show-trace` hint, keeps the error and its position.
fn clean_error(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("warning:") && !l.contains("use '--show-trace'"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn path_expr(p: &Path) -> Result<String, EvalError> {
    let abs = std::fs::canonicalize(p).map_err(|e| EvalError::Nix(format!("{}: {e}", p.display())))?;
    Ok(format!("/. + {}", nix_string(&abs.to_string_lossy())))
}

/// Evaluates a configuration file; returns the whole evaluated `config` as JSON.
pub fn evaluate(configuration: &Path, catalog: Option<&Path>) -> Result<serde_json::Value, EvalError> {
    let mut args = vec![("configuration", path_expr(configuration)?)];
    if let Some(c) = catalog {
        args.push(("catalog", path_expr(c)?));
    }
    instantiate(&args)
}

/// What `installer option NAME` shows: value, type, default, description, declaring and defining files.
pub fn option_info(configuration: &Path, name: &str) -> Result<serde_json::Value, EvalError> {
    instantiate(&[("configuration", path_expr(configuration)?), ("option", nix_string(name))])
}

/// Every declared option with its type, default, description (the reference page).
pub fn reference() -> Result<serde_json::Value, EvalError> {
    instantiate(&[("reference", "true".into())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_evaluator_is_a_clear_error() {
        let err =
            instantiate_with("/nonexistent/nix-instantiate", &[("reference", "true".into())]).unwrap_err();
        assert!(matches!(err, EvalError::NoEvaluator));
        assert!(err.to_string().contains("nix-bin"));
    }

    #[test]
    fn nix_errors_keep_the_message_without_noise() {
        let e = clean_error("warning: the group 'nixbld' does not exist\nerror: boom\n       at /x.nix:3:5\n(use '--show-trace' to show detailed location information)\n");
        assert_eq!(e, "error: boom\n       at /x.nix:3:5");
    }
}
