//! Two server processes on one state directory under load at the same time, through the MCP client.
//!
//! Each process holds the sled database only while its calls come and lets go when the other waits; this test
//! keeps both busy at once (plans, status and listings on one shared project from concurrent requests) and
//! checks that no call fails, that every plan agrees the project is converged, and that a plan made through
//! one server is readable through the other.

#![allow(clippy::unwrap_used)] // tests may unwrap; failures carry their context

mod common;

use serde_json::{json, Value};

use common::engine::ProjectGuard;
use common::mcp::{McpServer, ServerSetup};
use common::{unique, TEST_IMAGE};

/// Concurrent requests per server, and calls each makes.
const LANES: usize = 6;
const CALLS: usize = 15;

/// One lane of calls on `server`; returns the ids of the plans it made.
async fn lane(
    server: &McpServer,
    who: &str,
    project: &str,
    compose: &str,
    lane: usize,
) -> Vec<String> {
    let mut plan_ids = Vec::new();
    for n in 0..CALLS {
        let (tool, args) = match (n + lane) % 3 {
            0 => ("plan", json!({"project": project, "compose_yaml": compose})),
            1 => ("project_status", json!({"project": project})),
            _ => ("list_projects", json!({})),
        };
        let reply = server
            .call(tool, args)
            .await
            .unwrap_or_else(|e| panic!("{who} lane {lane}: {tool}: {e}"));
        assert!(!reply.is_error, "{who} lane {lane}: {tool}: {}", reply.text);
        if tool == "plan" {
            assert_eq!(
                reply.field("has_changes"),
                Some(Value::Bool(false)),
                "{who}: {}",
                reply.text
            );
            plan_ids.extend(reply.str_field("plan_id"));
        }
    }
    plan_ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_serve_one_state_dir_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let project = unique("stl");
    let _guard = ProjectGuard {
        host: None,
        project: project.clone(),
    };
    let compose = format!(
        "services:\n  web:\n    image: {TEST_IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n"
    );
    let a = McpServer::start(ServerSetup::new(&state)).await;
    let b = McpServer::start(ServerSetup::new(&state)).await;
    a.converge(&project, &compose).await;

    let lanes_a = (0..LANES).map(|n| lane(&a, "A", &project, &compose, n));
    let lanes_b = (0..LANES).map(|n| lane(&b, "B", &project, &compose, n));
    let (ids_a, ids_b) = tokio::join!(
        futures_util::future::join_all(lanes_a),
        futures_util::future::join_all(lanes_b)
    );
    let (ids_a, ids_b): (Vec<String>, Vec<String>) = (
        ids_a.into_iter().flatten().collect(),
        ids_b.into_iter().flatten().collect(),
    );
    assert!(!ids_a.is_empty() && !ids_b.is_empty());

    // Each server reads a plan the other stored during the load.
    for (reader, id) in [(&b, &ids_a[0]), (&a, &ids_b[0])] {
        let text = reader
            .read_resource(&format!("docker://projects/{project}/plans/{id}"))
            .await
            .unwrap();
        assert!(text.contains(id.as_str()), "{text}");
    }

    b.destroy(&project).await;
    a.stop().await;
    b.stop().await;
}
