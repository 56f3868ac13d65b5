//! mcp-docker-server: the engine and its two surfaces (MCP and CLI) around the pure `planner` crate.
//!
//! `docker` talks to the engine (observe by label, execute plan actions); `state` remembers projects in sled;
//! `engine` ties planner, docker and state into plan/apply/status; `mcp` and `cli` are thin surfaces over
//! `engine` so people and LLMs drive exactly the same code.

pub mod cli;
pub mod config;
pub mod engine;
pub mod host;
pub mod mcp;
pub mod redact;
pub mod state;

/// The Docker layer lives in its own crate so nothing else can reach bollard; `crate::docker::…` keeps working.
pub use docker_layer as docker;
