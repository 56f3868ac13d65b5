//! Issue 12 end to end: a project applied from a spec holding a literal `$` (`$$GREETING`), exported with
//! `export_project` and planned again from the export, plans no change (the export once wrote `$GREETING`,
//! which the next load interpolated to `""` and planned an unrequested replace).

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

mod common;

use common::engine::ProjectGuard;
use common::mcp::{McpServer, ServerSetup};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_project_plans_no_change() {
    let state = tempfile::tempdir().unwrap();
    let project = common::unique("mcpexport");
    let _guard = ProjectGuard {
        host: None,
        project: project.clone(),
    };
    let server = McpServer::start(ServerSetup::new(state.path())).await;
    let compose = format!(
        "services:\n  app:\n    image: {}\n    init: true\n    \
         command: sh -c 'echo \"$$GREETING\"; exec sleep 3600'\n    \
         environment:\n      PRICE: \"$$5\"\n",
        common::TEST_IMAGE
    );
    server.converge(&project, &compose).await;
    let export = server
        .ok("export_project", json!({"project": project}))
        .await;
    let exported = export.str_field("compose_yaml").unwrap();
    assert!(exported.contains("$$GREETING"), "{exported}");
    let (_, again) = server.plan_yaml(&project, &exported).await;
    server.destroy(&project).await;
    server.stop().await;
    assert_eq!(
        again.field("has_changes"),
        Some(Value::Bool(false)),
        "the export planned changes:\n{exported}\n{}",
        again.all_text()
    );
}
