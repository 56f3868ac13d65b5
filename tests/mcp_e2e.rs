//! End-to-end tests of the MCP surface: rmcp's client talks over stdio to the real binary, which drives the
//! real Docker engine. Every name carries a random suffix and every test cleans up after itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
    RemoveImageOptions,
};
use bollard::Docker;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, NumberOrString,
    ProgressNotificationParam, ProgressToken, ReadResourceRequestParams, RequestParamsMeta,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{json, Value};

const IMAGE: &str = "mcp-docker-test/busybox:latest";
const REGISTRY: &str = "127.0.0.1:5000";

/// Counts progress notifications and keeps their messages, to check that long tools report progress.
#[derive(Clone, Default)]
struct ProgressCounter(Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>);

impl ClientHandler for ProgressCounter {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.fetch_add(1, Ordering::SeqCst);
        self.1
            .lock()
            .unwrap()
            .push(params.message.unwrap_or_default());
    }
}

struct Session {
    client: RunningService<RoleClient, ProgressCounter>,
    progress: Arc<AtomicUsize>,
    progress_messages: Arc<std::sync::Mutex<Vec<String>>>,
    _state: tempfile::TempDir,
}

impl Session {
    async fn start() -> Session {
        Self::start_with(&[]).await
    }

    async fn start_with(env: &[(&str, &str)]) -> Session {
        let state = tempfile::tempdir().unwrap();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-docker-server"));
        command
            .env("MCP_DOCKER_STATE_DIR", state.path())
            .env("MCP_DOCKER_WORKSPACE_ROOTS", std::env::temp_dir())
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        let (transport, _stderr) = TokioChildProcess::builder(command)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let counter = ProgressCounter::default();
        let progress = counter.0.clone();
        let progress_messages = counter.1.clone();
        let client = counter.serve(transport).await.unwrap();
        Session {
            client,
            progress,
            progress_messages,
            _state: state,
        }
    }

    async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        self.call_with_progress(tool, args, false).await
    }

    async fn call_with_progress(&self, tool: &str, args: Value, progress: bool) -> CallToolResult {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        if progress {
            params.set_progress_token(ProgressToken(NumberOrString::String(
                format!("p-{tool}").into(),
            )));
        }
        self.client
            .call_tool(params)
            .await
            .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
    }

    /// Calls a tool that must succeed; returns its structured content.
    async fn ok(&self, tool: &str, args: Value) -> Value {
        let result = self.call(tool, args.clone()).await;
        assert_ne!(
            result.is_error,
            Some(true),
            "{tool} {args} failed: {}",
            text(&result)
        );
        assert!(!text(&result).is_empty(), "{tool} has no text form");
        result
            .structured_content
            .unwrap_or_else(|| panic!("{tool} returned no structuredContent"))
    }

    /// Calls a tool that must fail as a tool error; returns the message.
    async fn err(&self, tool: &str, args: Value) -> String {
        let result = self.call(tool, args.clone()).await;
        assert_eq!(
            result.is_error,
            Some(true),
            "{tool} {args} should fail but gave {}",
            text(&result)
        );
        text(&result)
    }
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

async fn docker() -> Docker {
    let docker = Docker::connect_with_local_defaults().unwrap();
    docker.negotiate_version().await.unwrap()
}

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

async fn remove_containers_named(docker: &Docker, prefix: &str) {
    let filters = HashMap::from([("name".to_string(), vec![prefix.to_string()])]);
    let list = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .unwrap_or_default();
    for c in list {
        let _ = docker
            .remove_container(
                c.id.as_deref().unwrap_or_default(),
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
    }
}

async fn remove_project(docker: &Docker, project: &str) {
    remove_containers_named(docker, project).await;
    let filters = HashMap::from([("name".to_string(), vec![project.to_string()])]);
    for n in docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .unwrap_or_default()
    {
        let _ = docker
            .remove_network(n.name.as_deref().unwrap_or_default())
            .await;
    }
}

#[tokio::test]
async fn lists_tools_prompts_and_resource_templates() {
    let session = Session::start().await;
    let tools = session.client.list_all_tools().await.unwrap();
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

    let prompts = session.client.list_all_prompts().await.unwrap();
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

    let templates = session.client.list_all_resource_templates().await.unwrap();
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

    let health = session.ok("get_connection_health", json!({})).await;
    assert!(
        health["api_version"].as_str().unwrap().starts_with("1."),
        "{health}"
    );
    let usage = session.ok("get_docker_disk_usage", json!({})).await;
    assert!(usage["images"]["total"].as_i64().unwrap() >= 1, "{usage}");
}

#[tokio::test]
async fn read_only_mode_serves_only_tools_that_change_nothing() {
    let session = Session::start_with(&[("MCP_DOCKER_READ_ONLY", "true")]).await;
    let tools = session.client.list_all_tools().await.unwrap();
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
        .err("run_container", json!({"spec": {"image": IMAGE}}))
        .await;
    assert!(message.contains("read-only"), "{message}");
    session.ok("list_containers", json!({"limit": 1})).await;
}

#[tokio::test]
async fn project_plan_apply_resume_and_destroy() {
    let docker = docker().await;
    let project = format!("mcpe2e{}", suffix());
    let session = Session::start().await;
    let outcome = run_project_flow(&session, &docker, &project).await;
    remove_project(&docker, &project).await;
    outcome.unwrap();
}

async fn run_project_flow(session: &Session, docker: &Docker, project: &str) -> Result<(), String> {
    // A new project: the prompt says so and carries no spec.
    let prompt = session
        .client
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
        .ok("plan", json!({"project": project, "spec": spec}))
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
        .client
        .read_resource(ReadResourceRequestParams::new(plan_uri))
        .await
        .map_err(|e| e.to_string())?;

    let before = session.progress.load(Ordering::SeqCst);
    let applied = session
        .call_with_progress(
            "apply",
            json!({"project": project, "plan_id": plan_id}),
            true,
        )
        .await;
    assert_ne!(
        applied.is_error,
        Some(true),
        "apply failed: {}",
        text(&applied)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        session.progress.load(Ordering::SeqCst) > before,
        "apply sent no progress"
    );
    let messages = session.progress_messages.lock().unwrap().clone();
    let done = format!("create container {project}-web-1: done");
    assert!(messages.contains(&done), "no {done:?} among {messages:?}");

    for service in ["web", "db"] {
        let name = format!("{project}-{service}-1");
        let info = docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(
            info.state.and_then(|s| s.running),
            Some(true),
            "{name} not running"
        );
        let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
        assert_eq!(
            labels.get("com.docker.compose.project").map(String::as_str),
            Some(project)
        );
    }

    // Compact list by project, masked inspect.
    let list = session
        .ok("list_containers", json!({"project": project}))
        .await;
    let mut names = column(&list, "name");
    names.sort();
    assert_eq!(
        names,
        [format!("{project}-db-1"), format!("{project}-web-1")]
    );
    let inspect = session
        .ok(
            "inspect_container",
            json!({"container": format!("{project}-db-1")}),
        )
        .await;
    assert_eq!(inspect["env"]["DB_PASSWORD"], "********", "{inspect}");
    assert_eq!(inspect["env"]["MODE"], "test");
    assert!(!inspect.to_string().contains("not-for-llm-eyes"));

    // Resuming: the prompt now carries live status and the last-applied spec.
    let prompt = session
        .client
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
        .client
        .complete_prompt_simple("docker_compose", "name", &project[..6])
        .await
        .unwrap();
    assert!(values.contains(&project.to_string()), "{values:?}");
    let resources = session.client.list_all_resources().await.unwrap();
    let uri = format!("docker://projects/{project}");
    assert!(
        resources.iter().any(|r| r.uri == uri),
        "no project resource"
    );
    assert!(resources
        .iter()
        .all(|r| r.uri.starts_with("docker://projects/")));
    let project_resource = session
        .client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap();
    assert!(serde_json::to_string(&project_resource)
        .unwrap()
        .contains("web"));
    let logs_uri = format!("docker://containers/{project}-web-1/logs");
    session
        .client
        .read_resource(ReadResourceRequestParams::new(logs_uri))
        .await
        .unwrap();
    let stats_uri = format!("docker://containers/{project}-db-1/stats");
    let stats = session
        .client
        .read_resource(ReadResourceRequestParams::new(stats_uri))
        .await
        .unwrap();
    assert!(serde_json::to_string(&stats)
        .unwrap()
        .contains("memory_bytes"));

    let status = session
        .ok("project_status", json!({"project": project}))
        .await;
    assert_eq!(status["known"], true, "{status}");
    let projects = session.ok("list_projects", json!({})).await;
    assert!(projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == project));
    let exported = session
        .ok("export_project", json!({"project": project}))
        .await;
    assert!(
        exported["compose_yaml"].as_str().unwrap().contains("httpd"),
        "{exported}"
    );

    // Destroy is a plan, then an apply.
    let destroy = session.ok("destroy", json!({"project": project})).await;
    let destroy_id = destroy["plan_id"].as_str().unwrap();
    session
        .ok("apply", json!({"project": project, "plan_id": destroy_id}))
        .await;
    let left = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".into(),
                vec![format!("com.docker.compose.project={project}")],
            )])),
            ..Default::default()
        }))
        .await
        .map_err(|e| e.to_string())?;
    assert!(left.is_empty(), "containers left after destroy: {left:?}");
    Ok(())
}

#[tokio::test]
async fn container_primitives_have_real_effects() {
    let docker = docker().await;
    let prefix = format!("mcpprim{}", suffix());
    let session = Session::start().await;
    // Containers join a network of their own: the default bridge is not usable on every engine.
    let network = format!("{prefix}-net");
    docker
        .create_network(bollard::models::NetworkCreateRequest {
            name: network.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let result = container_flow(&session, &docker, &prefix, &network).await;
    remove_containers_named(&docker, &prefix).await;
    let _ = docker.remove_network(&network).await;
    result.unwrap();
}

async fn container_flow(
    session: &Session,
    docker: &Docker,
    prefix: &str,
    network: &str,
) -> Result<(), String> {
    let name = format!("{prefix}-app");
    let spec = json!({
        "image": IMAGE,
        "command": ["sh", "-c", "trap exit TERM; echo hello-1; echo oops >&2; echo hello-2; while true; do sleep 1; done"],
        "environment": {"API_TOKEN": "tok-secret", "COLOR": "blue"},
        "labels": {"test.suite": prefix},
        "networks": [network]
    });
    let run = session
        .ok("run_container", json!({"name": name, "spec": spec}))
        .await;
    assert_eq!(run["state"], "running", "{run}");
    let first_id = docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .map_err(|e| e.to_string())?
        .id;

    let list = session
        .ok(
            "list_containers",
            json!({"label": [format!("test.suite={prefix}")]}),
        )
        .await;
    assert_eq!(column(&list, "name"), std::slice::from_ref(&name));

    let exec = session
        .ok(
            "exec_in_container",
            json!({"container": name, "command": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
        )
        .await;
    assert_eq!(exec["exit_code"], 3, "{exec}");
    assert_eq!(exec["stdout"], "out\n");
    assert_eq!(exec["stderr"], "err\n");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = session
        .ok("fetch_container_logs", json!({"container": name}))
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
        .ok(
            "fetch_container_logs",
            json!({"container": name, "grep": "hello"}),
        )
        .await;
    assert_eq!(grepped["lines"].as_array().unwrap().len(), 2, "{grepped}");
    let tailed = session
        .ok(
            "fetch_container_logs",
            json!({"container": name, "tail": 1, "since": "1h"}),
        )
        .await;
    assert_eq!(tailed["lines"].as_array().unwrap().len(), 1, "{tailed}");

    let stats = session
        .ok("get_container_stats", json!({"container": name}))
        .await;
    assert!(stats["pids"].as_u64().unwrap() >= 1, "{stats}");
    let inspect = session
        .ok("inspect_container", json!({"container": name}))
        .await;
    assert_eq!(inspect["env"]["API_TOKEN"], "********");
    assert_eq!(inspect["env"]["COLOR"], "blue");

    session
        .ok(
            "stop_container",
            json!({"container": name, "timeout_secs": 5}),
        )
        .await;
    let state = docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .map_err(|e| e.to_string())?
        .state;
    assert_eq!(state.and_then(|s| s.running), Some(false));
    session
        .ok("start_container", json!({"container": name}))
        .await;

    // A recreate whose create fails keeps the old container untouched.
    let bad = json!({"image": "mcp-docker-test/does-not-exist:latest", "networks": [network]});
    session
        .err(
            "recreate_container",
            json!({"container": name, "spec": bad}),
        )
        .await;
    let still = docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(still.id, first_id);
    assert_eq!(still.state.and_then(|s| s.running), Some(true));

    // A recreate refused by policy names the argument the caller gave, not the temporary container.
    let refused = session
        .err(
            "recreate_container",
            json!({"container": name, "spec": {"image": IMAGE, "privileged": true}}),
        )
        .await;
    assert!(refused.contains("spec.privileged"), "{refused}");
    assert!(!refused.contains("-new-"), "{refused}");

    let mut new_spec = spec.clone();
    new_spec["environment"]["COLOR"] = json!("green");
    let recreated = session
        .ok(
            "recreate_container",
            json!({"container": name, "spec": new_spec}),
        )
        .await;
    assert_eq!(recreated["name"], name.as_str());
    let now = docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .map_err(|e| e.to_string())?;
    assert_ne!(now.id, first_id);
    assert!(now
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
        .contains(&"COLOR=green".to_string()));
    assert!(docker
        .inspect_container(
            first_id.as_deref().unwrap(),
            None::<InspectContainerOptions>
        )
        .await
        .is_err());

    let created_name = format!("{prefix}-created");
    let created = session.ok("create_container", json!({"name": created_name, "spec": {"image": IMAGE, "command": ["true"], "networks": [network]}})).await;
    assert_eq!(created["state"], "created");
    session
        .ok("remove_container", json!({"container": created_name}))
        .await;
    assert!(docker
        .inspect_container(&created_name, None::<InspectContainerOptions>)
        .await
        .is_err());
    session
        .ok(
            "remove_container",
            json!({"container": name, "force": true}),
        )
        .await;
    assert!(docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .is_err());
    Ok(())
}

#[tokio::test]
async fn network_and_volume_primitives_have_real_effects() {
    let docker = docker().await;
    let session = Session::start().await;
    let network = format!("mcpnet{}", suffix());
    let volume = format!("mcpvol{}", suffix());

    session
        .ok(
            "create_network",
            json!({"name": network, "labels": {"test": "mcp"}}),
        )
        .await;
    docker.inspect_network(&network, None).await.unwrap();
    let networks = session.ok("list_networks", json!({"name": network})).await;
    assert_eq!(column(&networks, "name"), std::slice::from_ref(&network));
    session.ok("remove_network", json!({"name": network})).await;
    assert!(docker.inspect_network(&network, None).await.is_err());

    session.ok("create_volume", json!({"name": volume})).await;
    docker.inspect_volume(&volume).await.unwrap();
    let volumes = session.ok("list_volumes", json!({"name": volume})).await;
    assert_eq!(column(&volumes, "name"), std::slice::from_ref(&volume));
    session.ok("remove_volume", json!({"name": volume})).await;
    assert!(docker.inspect_volume(&volume).await.is_err());
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
    let docker = docker().await;
    let _registry = ensure_registry().await;
    let session = Session::start().await;
    let context = tempfile::tempdir().unwrap();
    let marker = suffix();
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

    let result = image_flow(&session, &docker, context.path(), &tag).await;
    let _ = docker
        .remove_image(
            &tag,
            Some(RemoveImageOptions {
                force: true,
                ..Default::default()
            }),
            None,
        )
        .await;
    result.unwrap();
}

async fn image_flow(
    session: &Session,
    docker: &Docker,
    context: &Path,
    tag: &str,
) -> Result<(), String> {
    let before = session.progress.load(Ordering::SeqCst);
    let built = session
        .call_with_progress(
            "build_image",
            json!({"context": context.to_str().unwrap(), "tag": tag}),
            true,
        )
        .await;
    assert_ne!(built.is_error, Some(true), "build failed: {}", text(&built));
    docker.inspect_image(tag).await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        session.progress.load(Ordering::SeqCst) > before,
        "build sent no progress"
    );

    let listed = session.ok("list_images", json!({"name": tag})).await;
    assert_eq!(listed["rows"].as_array().unwrap().len(), 1, "{listed}");

    let pushed = session
        .call_with_progress("push_image", json!({"image": tag}), true)
        .await;
    assert_ne!(
        pushed.is_error,
        Some(true),
        "push failed: {}",
        text(&pushed)
    );

    session.ok("remove_image", json!({"image": tag})).await;
    assert!(
        docker.inspect_image(tag).await.is_err(),
        "image still present after remove_image"
    );

    let pulled = session
        .call_with_progress("pull_image", json!({"image": tag}), true)
        .await;
    assert_ne!(
        pulled.is_error,
        Some(true),
        "pull failed: {}",
        text(&pulled)
    );
    docker.inspect_image(tag).await.map_err(|e| e.to_string())?;
    session.ok("remove_image", json!({"image": tag})).await;
    Ok(())
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_and_the_server_keeps_answering() {
    let session = Session::start().await;
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
        let message = session.err(tool, args.clone()).await;
        assert!(
            message.contains(needle),
            "{tool} {args}: message {message:?} does not mention {needle:?}"
        );
    }
    session.ok("list_containers", json!({"limit": 1})).await;
}

#[tokio::test]
async fn cancelling_an_apply_stops_it_between_steps_and_records_it() {
    let docker = docker().await;
    let project = format!("mcpcancel{}", suffix());
    let session = Session::start().await;
    let outcome = cancel_flow(&session, &docker, &project).await;
    remove_project(&docker, &project).await;
    outcome.unwrap();
}

async fn cancel_flow(session: &Session, docker: &Docker, project: &str) -> Result<(), String> {
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
        .ok("plan", json!({"project": project, "spec": spec}))
        .await;
    let plan_id = plan["plan_id"].as_str().unwrap().to_string();
    let peer = session.client.peer().clone();
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
            .client
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
    let web = docker
        .inspect_container(&format!("{project}-web-1"), None::<InspectContainerOptions>)
        .await;
    assert!(
        web.is_err(),
        "web was created although the apply was cancelled before it"
    );
    // The server still answers.
    session
        .ok("project_status", json!({"project": project}))
        .await;
    Ok(())
}
