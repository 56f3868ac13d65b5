//! The MCP surface (rmcp).

pub mod server;
