//! The configuration side: our NixOS-style module system (Nix code in `installer/nix/`), evaluated
//! with the real Nix evaluator (`nix-instantiate`), and the typed system spec the install step uses.

pub mod eval;
pub mod hardware;
pub mod nix_syntax;
pub mod system;

pub use eval::{evaluate, nix_dir, option_info, reference, EvalError};
pub use system::SystemConfig;
