//! The installer: the disk engine (`storage`), and later configuration, install, and the TUI and
//! unattended front ends.

pub mod answer;
pub mod auto;
pub mod cli;
pub mod config;
pub mod failpoint;
pub mod hooks;
pub mod install;
pub mod kickstart;
pub mod livedata;
pub mod private_dir;
pub mod progress;
pub mod report;
pub mod session;
pub mod source;
pub mod storage;
pub mod tui;
