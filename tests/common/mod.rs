//! Test support shared by the safety and fault tests: an MCP client over stdio to the real server binary,
//! a private `dockerd` that a test may stop without disturbing anyone, and engine inventories.
//!
//! Every wait here is bounded, so a misbehaving server fails a test instead of hanging it.

#![allow(dead_code)] // each test binary uses a different part of this module
#![allow(clippy::unwrap_used)]

pub mod engine;
pub mod mcp;

/// The local test image every test container runs; it is never pulled.
pub const TEST_IMAGE: &str = "mcp-docker-test/busybox:latest";

/// A short random suffix for project and container names, so parallel runs never collide.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..10])
}
