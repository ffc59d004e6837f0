//! Shared helpers of the end-to-end scenarios in `tests/tests/`.

pub use vm_harness;
