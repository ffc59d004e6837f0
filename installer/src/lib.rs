//! The installer: the disk engine (`storage`), the configuration (`config`), the install
//! (`install`, `finish`), the session both front ends drive (`session`), the TUI (`tui`) and the
//! unattended install (`auto`).

pub mod answer;
pub mod auto;
pub mod cli;
pub mod config;
pub mod failpoint;
pub mod finish;
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
