//! The pure core of mcp-docker-server: compose-shaped desired state in, a Terraform-style plan out.
//!
//! No Docker, no I/O, no async. The engine crate observes Docker into `observed` types, calls `diff::plan`,
//! and executes the resulting `plan::Plan`. Keeping decisions here makes them unit-testable without an engine,
//! the way compose separates its reconcile step from its executor.
//!
//! Flow: `load` (YAML -> `compose` raw types -> interpolation -> `normalize` -> `validate` + `policy`)
//! gives a `model::Project`; `diff` compares it with `observed::ObservedState` into a `plan::Plan`, whose
//! order comes from `graph`; `render` prints it.

pub mod adopt;
pub mod compose;
pub mod diff;
pub mod drift;
pub mod error;
pub mod export;
pub mod graph;
pub mod hash;
pub mod image_ref;
pub mod interpolate;
pub mod load;
pub mod model;
pub mod naming;
pub mod normalize;
pub mod observed;
pub mod plan;
pub mod policy;
pub mod preflight;
pub mod render;
pub mod report;
pub mod sensitive;
pub mod swarm;
pub mod validate;

pub use error::{ErrorKind, SpecError, SpecErrors};
pub use model::Project;
pub use observed::ObservedState;
pub use plan::{Plan, PlanOptions};
pub use render::plan_schema;
