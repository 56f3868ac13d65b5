//! End-to-end tests of the MCP surface: rmcp's client talks over stdio to the real binary, which drives the
//! real Docker engine. Every name carries a random suffix and every test cleans up after itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::cli::docker;
use common::engine::{
    containers_labelled, docker_cli, inspect_object, object_exists, ProjectGuard,
};
use common::mcp::{result_text, McpServer, McpSession};
use common::unique;
use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::{json, Value};

const IMAGE: &str = common::TEST_IMAGE;
const REGISTRY: &str = "127.0.0.1:5000";

/// Column `name` of every row of a `Table` result.
fn column(table: &Value, name: &str) -> Vec<String> {
    let columns: Vec<String> = serde_json::from_value(table["columns"].clone()).unwrap();
    let index = columns.iter().position(|c| c == name).unwrap();
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[index].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lists_tools_prompts_and_resource_templates() {
    let session = McpSession::start().await;
    let tools = session.client().list_all_tools().await.unwrap();
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    for expected in [
        "list_containers",
        "create_container",
        "run_container",
        "recreate_container",
        "start_container",
        "fetch_container_logs",
        "stop_container",
        "remove_container",
        "list_images",
        "pull_image",
        "push_image",
        "build_image",
        "remove_image",
        "list_networks",
        "create_network",
        "remove_network",
        "list_volumes",
        "create_volume",
        "remove_volume",
        "exec_in_container",
        "inspect_container",
        "get_container_stats",
        "get_docker_disk_usage",
        "get_connection_health",
        "plan",
        "apply",
        "destroy",
        "project_status",
        "list_projects",
        "export_project",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "missing tool {expected}: {names:?}"
        );
    }
    for tool in &tools {
        let raw = serde_json::to_value(tool).unwrap();
        let annotations = &raw["annotations"];
        for key in [
            "title",
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(
                annotations.get(key).is_some(),
                "{} lacks annotation {key}: {annotations}",
                tool.name
            );
        }
        assert_eq!(
            raw["outputSchema"]["type"], "object",
            "{} lacks an object outputSchema",
            tool.name
        );
    }

    let prompts = session.client().list_all_prompts().await.unwrap();
    let prompt = prompts
        .iter()
        .find(|p| p.name == "docker_compose")
        .expect("docker_compose prompt");
    let args: Vec<&str> = prompt
        .arguments
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(args, ["name", "containers"]);

    let templates = session
        .client()
        .list_all_resource_templates()
        .await
        .unwrap();
    let uris: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    for expected in [
        "docker://containers/{id}/logs",
        "docker://containers/{id}/stats",
        "docker://projects/{name}",
        "docker://projects/{name}/plans/{plan_id}",
    ] {
        assert!(
            uris.contains(&expected),
            "missing template {expected}: {uris:?}"
        );
    }

    let health = session
        .structured_ok("get_connection_health", json!({}))
        .await;
    assert!(
        health["api_version"].as_str().unwrap().starts_with("1."),
        "{health}"
    );
    let usage = session
        .structured_ok("get_docker_disk_usage", json!({}))
        .await;
    assert!(usage["images"]["total"].as_i64().unwrap() >= 1, "{usage}");
}

#[tokio::test]
async fn read_only_mode_serves_only_tools_that_change_nothing() {
    let session = McpSession::start_with_env(&[("MCP_DOCKER_READ_ONLY", "true")]).await;
    let tools = session.client().list_all_tools().await.unwrap();
    assert!(!tools.is_empty());
    for tool in &tools {
        assert_eq!(
            tool.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true),
            "{} listed",
            tool.name
        );
    }
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    assert!(names.contains(&"list_containers".to_string()));
    assert!(!names.contains(&"run_container".to_string()));
    let message = session
        .tool_error("run_container", json!({"spec": {"image": IMAGE}}))
        .await;
    assert!(message.contains("read-only"), "{message}");
    session
        .structured_ok("list_containers", json!({"limit": 1}))
        .await;
}

#[tokio::test]
async fn project_plan_apply_resume_and_destroy() {
    let project = unique("mcpe2e");
    let guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let outcome = run_project_flow(&session, &project).await;
    drop(guard);
    outcome.unwrap();
}

async fn run_project_flow(session: &McpServer, project: &str) -> Result<(), String> {
    // A new project: the prompt says so and carries no spec.
    let prompt = session
        .client()
        .get_prompt(
            GetPromptRequestParams::new("docker_compose").with_arguments(
                json!({"name": project, "containers": "a busybox web server and a db"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    let first = prompt.messages[0].content.as_text().unwrap().text.clone();
    assert!(first.contains("new project"), "{first}");
    assert!(!first.contains("Last-applied spec"), "{first}");
    assert!(
        first.contains("`plan`")
            && first.contains("`apply`")
            && first.contains("`down`")
            && first.contains("`ps`")
    );

    let spec = json!({
        "services": {
            "web": {
                "image": IMAGE,
                "command": ["httpd", "-f", "-p", "8080"],
                "init": true,
                "depends_on": ["db"]
            },
            "db": {
                "image": IMAGE,
                "command": ["sh", "-c", "trap exit TERM; while true; do sleep 1; done"],
                "environment": {"DB_PASSWORD": "not-for-llm-eyes", "MODE": "test"}
            }
        }
    });
    let plan = session
        .structured_ok("plan", json!({"project": project, "spec": spec}))
        .await;
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    assert!(plan["summary"]["add"].as_u64().unwrap() >= 2, "{plan}");
    assert!(
        plan["rendering"].as_str().unwrap().contains("web"),
        "{plan}"
    );

    // The stored plan is a resource.
    let plan_uri = format!("docker://projects/{project}/plans/{plan_id}");
    session
        .client()
        .read_resource(ReadResourceRequestParams::new(plan_uri))
        .await
        .map_err(|e| e.to_string())?;

    let before = session.progress_count();
    let applied = session
        .tool_result_with_progress("apply", json!({"project": project, "plan_id": plan_id}))
        .await;
    assert_ne!(
        applied.is_error,
        Some(true),
        "apply failed: {}",
        result_text(&applied)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(session.progress_count() > before, "apply sent no progress");
    let messages = session.progress_messages();
    let done = format!("create container {project}-web-1: done");
    assert!(messages.contains(&done), "no {done:?} among {messages:?}");

    for service in ["web", "db"] {
        let name = format!("{project}-{service}-1");
        let info = inspect_object("container", &name)?;
        assert_eq!(
            info["State"]["Running"].as_bool(),
            Some(true),
            "{name} not running"
        );
        assert_eq!(
            info["Config"]["Labels"]["com.docker.compose.project"].as_str(),
            Some(project)
        );
    }

    // Compact list by project, masked inspect.
    let list = session
        .structured_ok("list_containers", json!({"project": project}))
        .await;
    let mut names = column(&list, "name");
    names.sort();
    assert_eq!(
        names,
        [format!("{project}-db-1"), format!("{project}-web-1")]
    );
    let inspect = session
        .structured_ok(
            "inspect_container",
            json!({"container": format!("{project}-db-1")}),
        )
        .await;
    assert_eq!(inspect["env"]["DB_PASSWORD"], "********", "{inspect}");
    assert_eq!(inspect["env"]["MODE"], "test");
    assert!(!inspect.to_string().contains("not-for-llm-eyes"));

    // Resuming: the prompt now carries live status and the last-applied spec.
    let prompt = session
        .client()
        .get_prompt(
            GetPromptRequestParams::new("docker_compose").with_arguments(
                json!({"name": project, "containers": "add a cache"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    let resumed = prompt.messages[0].content.as_text().unwrap().text.clone();
    assert!(resumed.contains("already exists"), "{resumed}");
    assert!(resumed.contains("Last-applied spec"), "{resumed}");
    assert!(resumed.contains("httpd"), "{resumed}");

    // Completion offers the project; list_resources lists projects; resources read.
    let values = session
        .client()
        .complete_prompt_simple("docker_compose", "name", &project[..6])
        .await
        .unwrap();
    assert!(values.contains(&project.to_string()), "{values:?}");
    let resources = session.client().list_all_resources().await.unwrap();
    let uri = format!("docker://projects/{project}");
    assert!(
        resources.iter().any(|r| r.uri == uri),
        "no project resource"
    );
    assert!(resources
        .iter()
        .all(|r| r.uri.starts_with("docker://projects/")));
    let project_resource = session
        .client()
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap();
    assert!(serde_json::to_string(&project_resource)
        .unwrap()
        .contains("web"));
    let logs_uri = format!("docker://containers/{project}-web-1/logs");
    session
        .client()
        .read_resource(ReadResourceRequestParams::new(logs_uri))
        .await
        .unwrap();
    let stats_uri = format!("docker://containers/{project}-db-1/stats");
    let stats = session
        .client()
        .read_resource(ReadResourceRequestParams::new(stats_uri))
        .await
        .unwrap();
    assert!(serde_json::to_string(&stats)
        .unwrap()
        .contains("memory_bytes"));

    let status = session
        .structured_ok("project_status", json!({"project": project}))
        .await;
    assert_eq!(status["known"], true, "{status}");
    let projects = session.structured_ok("list_projects", json!({})).await;
    assert!(projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == project));
    let exported = session
        .structured_ok("export_project", json!({"project": project}))
        .await;
    assert!(
        exported["compose_yaml"].as_str().unwrap().contains("httpd"),
        "{exported}"
    );

    // Destroy is a plan, then an apply.
    let destroy = session
        .structured_ok("destroy", json!({"project": project}))
        .await;
    let destroy_id = destroy["plan_id"].as_str().unwrap();
    session
        .structured_ok("apply", json!({"project": project, "plan_id": destroy_id}))
        .await;
    let left = containers_labelled("com.docker.compose.project", project);
    assert!(left.is_empty(), "containers left after destroy: {left:?}");
    Ok(())
}

#[tokio::test]
async fn container_primitives_have_real_effects() {
    let prefix = unique("mcpprim");
    let session = McpSession::start().await;
    // Containers join a network of their own: the default bridge is not usable on every engine.
    let network = format!("{prefix}-net");
    let guard = ProjectGuard::new(&prefix);
    docker(&["network", "create", &network]);
    let result = container_flow(&session, &prefix, &network).await;
    drop(guard);
    result.unwrap();
}

async fn container_flow(session: &McpServer, prefix: &str, network: &str) -> Result<(), String> {
    let name = format!("{prefix}-app");
    let spec = json!({
        "image": IMAGE,
        "command": ["sh", "-c", "trap exit TERM; echo hello-1; echo oops >&2; echo hello-2; while true; do sleep 1; done"],
        "environment": {"API_TOKEN": "tok-secret", "COLOR": "blue"},
        "labels": {"test.suite": prefix},
        "networks": [network]
    });
    let run = session
        .structured_ok("run_container", json!({"name": name, "spec": spec}))
        .await;
    assert_eq!(run["state"], "running", "{run}");
    let first_id = inspect_object("container", &name)?["Id"].clone();

    let list = session
        .structured_ok(
            "list_containers",
            json!({"label": [format!("test.suite={prefix}")]}),
        )
        .await;
    assert_eq!(column(&list, "name"), std::slice::from_ref(&name));

    let exec = session
        .structured_ok(
            "exec_in_container",
            json!({"container": name, "command": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
        )
        .await;
    assert_eq!(exec["exit_code"], 3, "{exec}");
    assert_eq!(exec["stdout"], "out\n");
    assert_eq!(exec["stderr"], "err\n");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = session
        .structured_ok("fetch_container_logs", json!({"container": name}))
        .await;
    let lines = logs["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["text"] == "hello-1" && l["stream"] == "stdout"),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["text"] == "oops" && l["stream"] == "stderr"),
        "{logs}"
    );
    let grepped = session
        .structured_ok(
            "fetch_container_logs",
            json!({"container": name, "grep": "hello"}),
        )
        .await;
    assert_eq!(grepped["lines"].as_array().unwrap().len(), 2, "{grepped}");
    let tailed = session
        .structured_ok(
            "fetch_container_logs",
            json!({"container": name, "tail": 1, "since": "1h"}),
        )
        .await;
    assert_eq!(tailed["lines"].as_array().unwrap().len(), 1, "{tailed}");

    let stats = session
        .structured_ok("get_container_stats", json!({"container": name}))
        .await;
    assert!(stats["pids"].as_u64().unwrap() >= 1, "{stats}");
    let inspect = session
        .structured_ok("inspect_container", json!({"container": name}))
        .await;
    assert_eq!(inspect["env"]["API_TOKEN"], "********");
    assert_eq!(inspect["env"]["COLOR"], "blue");

    session
        .structured_ok(
            "stop_container",
            json!({"container": name, "timeout_secs": 5}),
        )
        .await;
    let state = inspect_object("container", &name)?["State"].clone();
    assert_eq!(state["Running"].as_bool(), Some(false));
    session
        .structured_ok("start_container", json!({"container": name}))
        .await;

    // A recreate whose create fails keeps the old container untouched.
    let bad = json!({"image": "mcp-docker-test/does-not-exist:latest", "networks": [network]});
    session
        .tool_error(
            "recreate_container",
            json!({"container": name, "spec": bad}),
        )
        .await;
    let still = inspect_object("container", &name)?;
    assert_eq!(still["Id"], first_id);
    assert_eq!(still["State"]["Running"].as_bool(), Some(true));

    // A recreate refused by policy names the argument the caller gave, not the temporary container.
    let refused = session
        .tool_error(
            "recreate_container",
            json!({"container": name, "spec": {"image": IMAGE, "privileged": true}}),
        )
        .await;
    assert!(refused.contains("spec.privileged"), "{refused}");
    assert!(!refused.contains("-new-"), "{refused}");

    let mut new_spec = spec.clone();
    new_spec["environment"]["COLOR"] = json!("green");
    let recreated = session
        .structured_ok(
            "recreate_container",
            json!({"container": name, "spec": new_spec}),
        )
        .await;
    assert_eq!(recreated["name"], name.as_str());
    let now = inspect_object("container", &name)?;
    assert_ne!(now["Id"], first_id);
    assert!(now["Config"]["Env"]
        .as_array()
        .is_some_and(|env| env.contains(&json!("COLOR=green"))));
    assert!(!object_exists("container", first_id.as_str().unwrap()));

    let created_name = format!("{prefix}-created");
    let created = session.structured_ok("create_container", json!({"name": created_name, "spec": {"image": IMAGE, "command": ["true"], "networks": [network]}})).await;
    assert_eq!(created["state"], "created");
    session
        .structured_ok("remove_container", json!({"container": created_name}))
        .await;
    assert!(!object_exists("container", &created_name));
    session
        .structured_ok(
            "remove_container",
            json!({"container": name, "force": true}),
        )
        .await;
    assert!(!object_exists("container", &name));
    Ok(())
}

#[tokio::test]
async fn network_and_volume_primitives_have_real_effects() {
    let session = McpSession::start().await;
    let network = unique("mcpnet");
    let volume = unique("mcpvol");

    session
        .structured_ok(
            "create_network",
            json!({"name": network, "labels": {"test": "mcp"}}),
        )
        .await;
    inspect_object("network", &network).unwrap();
    let networks = session
        .structured_ok("list_networks", json!({"name": network}))
        .await;
    assert_eq!(column(&networks, "name"), std::slice::from_ref(&network));
    session
        .structured_ok("remove_network", json!({"name": network}))
        .await;
    assert!(!object_exists("network", &network));

    session
        .structured_ok("create_volume", json!({"name": volume}))
        .await;
    inspect_object("volume", &volume).unwrap();
    let volumes = session
        .structured_ok("list_volumes", json!({"name": volume}))
        .await;
    assert_eq!(column(&volumes, "name"), std::slice::from_ref(&volume));
    session
        .structured_ok("remove_volume", json!({"name": volume}))
        .await;
    assert!(!object_exists("volume", &volume));
}

/// Makes sure a registry answers on 127.0.0.1:5000; starts `docker-registry` when none does.
async fn ensure_registry() -> Option<tokio::process::Child> {
    let answers = || async { tokio::net::TcpStream::connect(REGISTRY).await.is_ok() };
    if answers().await {
        return None;
    }
    let dir = tempfile::tempdir().unwrap().keep();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {REGISTRY}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let child = tokio::process::Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("docker-registry must be installed to test push and pull");
    for _ in 0..50 {
        if answers().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(child)
}

#[tokio::test]
async fn image_build_push_pull_remove() {
    let _registry = ensure_registry().await;
    let session = McpSession::start().await;
    let context = tempfile::tempdir().unwrap();
    let marker = unique("");
    std::fs::write(
        context.path().join("hello.txt"),
        format!("hello {marker}\n"),
    )
    .unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {IMAGE}\nCOPY hello.txt /hello.txt\n"),
    )
    .unwrap();
    let tag = format!("{REGISTRY}/mcp-test/build{marker}:1");

    let result = image_flow(&session, context.path(), &tag).await;
    let _ = docker_cli(None, &["rmi", "-f", &tag]);
    result.unwrap();
}

async fn image_flow(session: &McpServer, context: &Path, tag: &str) -> Result<(), String> {
    let before = session.progress_count();
    let built = session
        .tool_result_with_progress(
            "build_image",
            json!({"context": context.to_str().unwrap(), "tag": tag}),
        )
        .await;
    assert_ne!(
        built.is_error,
        Some(true),
        "build failed: {}",
        result_text(&built)
    );
    inspect_object("image", tag)?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(session.progress_count() > before, "build sent no progress");

    let listed = session
        .structured_ok("list_images", json!({"name": tag}))
        .await;
    assert_eq!(listed["rows"].as_array().unwrap().len(), 1, "{listed}");

    let pushed = session
        .tool_result_with_progress("push_image", json!({"image": tag}))
        .await;
    assert_ne!(
        pushed.is_error,
        Some(true),
        "push failed: {}",
        result_text(&pushed)
    );

    session
        .structured_ok("remove_image", json!({"image": tag}))
        .await;
    assert!(
        !object_exists("image", tag),
        "image still present after remove_image"
    );

    let pulled = session
        .tool_result_with_progress("pull_image", json!({"image": tag}))
        .await;
    assert_ne!(
        pulled.is_error,
        Some(true),
        "pull failed: {}",
        result_text(&pulled)
    );
    inspect_object("image", tag)?;
    session
        .structured_ok("remove_image", json!({"image": tag}))
        .await;
    Ok(())
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_and_the_server_keeps_answering() {
    let session = McpSession::start().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("list_containers", json!({"limit": "ten"}), "limit"),
        ("list_containers", json!({"status": "sleeping"}), "status"),
        ("list_containers", json!({"colour": "red"}), "colour"),
        ("create_container", json!({"spec": {"image": 5}}), "image"),
        (
            "create_container",
            json!({"name": "bad name!", "spec": {"image": IMAGE}}),
            "name",
        ),
        (
            "run_container",
            json!({"spec": {"image": IMAGE, "privileged": true}}),
            "privileged",
        ),
        (
            "run_container",
            json!({"spec": {"image": IMAGE, "volumes": ["/var/run/docker.sock:/s"]}}),
            "docker.sock",
        ),
        (
            "start_container",
            json!({"container": "mcp-no-such-container-xyz"}),
            "No such container",
        ),
        (
            "fetch_container_logs",
            json!({"container": "x", "since": "whenever"}),
            "since",
        ),
        (
            "exec_in_container",
            json!({"container": "x", "command": []}),
            "command",
        ),
        ("pull_image", json!({"image": "Not A Reference"}), "image"),
        (
            "build_image",
            json!({"context": "/etc", "tag": "x:1"}),
            "context",
        ),
        (
            "build_image",
            json!({"context": "relative/dir", "tag": "x:1"}),
            "context",
        ),
        ("plan", json!({"project": "p"}), "spec"),
        (
            "plan",
            json!({"project": "p", "compose_yaml": "services: [oops"}),
            "",
        ),
        (
            "apply",
            json!({"project": "p", "plan_id": "no-such-plan"}),
            "no-such-plan",
        ),
        ("no_such_tool", json!({}), "no_such_tool"),
    ];
    for (tool, args, needle) in cases {
        let message = session.tool_error(tool, args.clone()).await;
        assert!(
            message.contains(needle),
            "{tool} {args}: message {message:?} does not mention {needle:?}"
        );
    }
    session
        .structured_ok("list_containers", json!({"limit": 1}))
        .await;
}

#[tokio::test]
async fn cancelling_an_apply_stops_it_between_steps_and_records_it() {
    let project = unique("mcpcancel");
    let guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let outcome = cancel_flow(&session, &project).await;
    drop(guard);
    outcome.unwrap();
}

async fn cancel_flow(session: &McpServer, project: &str) -> Result<(), String> {
    // `web` waits for `db` to be healthy, which never happens: the apply sits between steps until cancelled.
    let spec = json!({
        "services": {
            "db": {
                "image": IMAGE,
                "command": ["sh", "-c", "trap exit TERM; while true; do sleep 1; done"],
                "healthcheck": {"test": ["CMD-SHELL", "false"], "interval": "1s", "retries": 100000}
            },
            "web": {
                "image": IMAGE,
                "command": ["sh", "-c", "trap exit TERM; while true; do sleep 1; done"],
                "depends_on": {"db": {"condition": "service_healthy"}}
            }
        }
    });
    let plan = session
        .structured_ok("plan", json!({"project": project, "spec": spec}))
        .await;
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let peer = session.client().peer().clone();
    let params = CallToolRequestParams::new("apply").with_arguments(
        json!({"project": project, "plan_id": plan_id})
            .as_object()
            .unwrap()
            .clone(),
    );
    let call = tokio::spawn(async move { peer.call_tool(params).await });
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Dropping the pending request makes rmcp's client send notifications/cancelled for it.
    call.abort();
    let uri = format!("docker://projects/{project}/plans/{plan_id}");
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stored = session
            .client()
            .read_resource(ReadResourceRequestParams::new(uri.clone()))
            .await
            .unwrap();
        let text = serde_json::to_value(&stored).unwrap()["contents"][0]["text"]
            .as_str()
            .unwrap()
            .to_string();
        status = serde_json::from_str::<Value>(&text).unwrap()["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "pending" {
            break;
        }
    }
    assert_eq!(
        status, "cancelled",
        "the plan should be recorded as cancelled"
    );
    let web = inspect_object("container", &format!("{project}-web-1"));
    assert!(
        web.is_err(),
        "web was created although the apply was cancelled before it"
    );
    // The server still answers.
    session
        .structured_ok("project_status", json!({"project": project}))
        .await;
    Ok(())
}
