//! Test support shared by the end-to-end tests: the binary as a CLI (`cli`), an MCP client over stdio to the
//! real server binary (`mcp`), engine inventories, project clean-up and a private `dockerd` that a test may stop
//! without disturbing anyone (`engine`).
//!
//! Every wait here is bounded, so a misbehaving server fails a test instead of hanging it.

#![allow(dead_code)] // each test binary uses a different part of this module
#![allow(clippy::unwrap_used)]

pub mod cli;
pub mod engine;
pub mod http;
pub mod mcp;
pub mod raw;
pub mod swarm;

/// The local test image every test container runs; it is never pulled.
pub const TEST_IMAGE: &str = "mcp-docker-test/busybox:latest";

/// A short random suffix for project and container names, so parallel runs never collide.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..10])
}

/// Every file under `dir` whose raw bytes hold `needle`.
pub fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(path);
                }
            }
        }
    }
    hits
}
