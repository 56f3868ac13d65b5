//! The Docker layer: connecting, observing a project by label, executing plans, and the primitive
//! operations the MCP tools call. bollard stays inside this crate; its public API is plain structs and
//! `DockerError`.

pub mod auth;
pub mod build_context;
pub mod connect;
pub mod container_config;
pub mod error;
pub mod execute;
pub mod images;
pub mod observe;
pub mod ssh_transport;
pub mod steps;
pub mod wait;

pub use connect::{ConnectionHealth, DockerConnector};
pub use error::DockerError;
