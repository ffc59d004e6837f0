use clap::Parser;
use installer::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter =
        || tracing_subscriber::EnvFilter::try_from_env("INSTALLER_LOG").unwrap_or_else(|_| "warn".into());
    // The TUI owns the terminal: its log goes to a file, never over the screen.
    let tui_log = matches!(cli.cmd, Command::Tui { .. }).then(installer::tui::log_file).flatten();
    match tui_log {
        Some(file) => tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("INSTALLER_LOG")
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init(),
        None => tracing_subscriber::fmt().with_env_filter(filter()).with_writer(std::io::stderr).init(),
    }
    match installer::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("installer: {e:#}");
            std::process::ExitCode::from(installer::cli::exit_status(&e))
        }
    }
}
