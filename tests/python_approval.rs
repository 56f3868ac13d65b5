//! The approval question through the official Python MCP client (`pip install mcp`; scripts/test.sh installs
//! it): an accept applies, a decline changes nothing, and in `elicit` mode a client without elicitation is
//! refused with a reason. The client is tests/python/approval_client.py.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::process::Command;

use common::engine::{project_containers, ProjectGuard};
use common::unique;
use serde_json::Value;

/// Runs the Python client: plan, then apply while answering the approval with `action`.
fn python_apply(state: &std::path::Path, mode: &str, project: &str, action: &str) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/approval_client.py"
    );
    let spec = format!(
        "services:\n  web:\n    image: {}\n    init: true\n    command: [\"sleep\", \"3600\"]\n",
        common::TEST_IMAGE
    );
    let out = Command::new("python3")
        .args([script, common::mcp::server_binary(), project, action, &spec])
        .env("MCP_DOCKER_STATE_DIR", state)
        .env("MCP_DOCKER_APPROVAL", mode)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python client failed (is `pip install mcp` done?):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

#[test]
fn the_python_client_approves_declines_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();

    let project = unique("pyappr");
    let _guard = ProjectGuard::new(&project);
    let accepted = python_apply(dir.path(), "elicit", &project, "accept");
    assert_eq!(accepted["is_error"], false, "{accepted}");
    let question = accepted["questions"][0].as_str().unwrap();
    assert!(question.contains("Plan fingerprint: "), "{question}");
    assert_eq!(project_containers(None, &project).len(), 1);

    let declined_project = unique("pyappr");
    let _guard2 = ProjectGuard::new(&declined_project);
    let declined = python_apply(dir.path(), "auto", &declined_project, "decline");
    assert_eq!(declined["is_error"], true, "{declined}");
    assert!(
        declined["text"].as_str().unwrap().contains("declined"),
        "{declined}"
    );
    assert!(project_containers(None, &declined_project).is_empty());

    let refused = python_apply(dir.path(), "elicit", &declined_project, "none");
    assert_eq!(refused["is_error"], true, "{refused}");
    let text = refused["text"].as_str().unwrap();
    assert!(text.contains("does not support elicitation"), "{text}");
    assert!(project_containers(None, &declined_project).is_empty());
}
