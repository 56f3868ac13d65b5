//! The Docker layer: connecting, observing a project by label, executing plans, and the primitive
//! operations the MCP tools call. bollard stays inside this crate; its public API is plain structs and
//! `DockerError`.

pub mod adopt;
pub(crate) mod auth;
pub mod bind_guard;
pub mod build_context;
pub mod client;
pub mod connect;
pub(crate) mod container_config;
pub mod containers;
pub mod error;
pub mod events;
pub mod execute;
pub mod host_listeners;
pub mod images;
pub(crate) mod inherited_labels;
pub(crate) mod network_config;
pub mod networks;
pub mod observe;
pub(crate) mod raw_api;
pub mod registry_probe;
pub(crate) mod ssh_transport;
pub(crate) mod steps;
pub mod swarm;
pub mod swarm_execute;
pub mod swarm_project;
pub mod swarm_spec;
pub mod swarm_wait;
pub mod system;
pub mod volumes;
pub(crate) mod wait;

pub use client::DockerClient;
pub use connect::{ConnectionHealth, DockerConnector};
pub use error::DockerError;
