//! The disk engine: a declarative [`spec`], a read-only [`probe`], a pure [`plan`]ner, and
//! [`apply`], which executes a plan and nothing else.

pub mod apply;
pub mod plan;
pub mod probe;
pub mod size;
pub mod spec;

pub use plan::{plan, Action, Plan, PlanError};
pub use probe::{Probe, ProbedDisk};
pub use spec::StorageSpec;
