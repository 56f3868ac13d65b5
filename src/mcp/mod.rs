//! The MCP surface (rmcp): tools, the `docker_compose` prompt, resources, and the stdio/HTTP transports.
//!
//! Tools are grouped by what they act on (`tools_*`); each returns `output::Json<T>` (structured content with an
//! output schema plus a short text) or `output::ToolError` (an `isError` result naming the field and the fix).

pub mod approval;
pub mod args;
pub mod bounds;
pub mod compact;
pub mod container_spec;
pub mod http;
pub mod output;
pub mod progress;
pub mod prompt;
pub mod redaction;
pub mod resources;
pub mod server;
pub mod spec_hints;
pub mod stale_plan;
pub mod stdio;
pub mod tasks;
pub mod time_args;
pub mod tool_schema;
pub mod tools_containers;
pub mod tools_history;
pub mod tools_images;
pub mod tools_networks;
pub mod tools_planner;
pub mod tools_system;
pub mod toolsets;
