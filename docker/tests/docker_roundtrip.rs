//! The planner and the Docker layer together: a compose file loaded, observed, planned, executed and observed
//! again. This checks that what `observe` reports matches what `execute_plan` created closely enough for the
//! diff to see "no changes", and that a one-service edit replaces only that service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use docker_layer::execute::{execute_plan, ExecOptions};
use docker_layer::observe::observe;
use docker_support::SystemHost;
use docker_support::{cleanup_project, docker, free_port, unique, ProjectGuard};
use planner::load::{load_yaml, LoadOptions};
use planner::plan::{ExternalDigests, Op, PlanOptions};
use tokio_util::sync::CancellationToken;

fn compose(port: u16, greeting: &str) -> String {
    format!(
        r#"
services:
  db:
    image: mcp-docker-test/busybox:latest
    command: ["sh", "-c", "trap exit TERM; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD-SHELL", "true"]
      interval: 1s
      retries: 3
    volumes: ["data:/data"]
  web:
    image: mcp-docker-test/busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo $$GREETING > /www/index.html && exec httpd -f -p 80 -h /www"]
    init: true
    environment:
      GREETING: "{greeting}"
    ports: ["127.0.0.1:{port}:80"]
    depends_on:
      db:
        condition: service_healthy
    restart: unless-stopped
volumes:
  data: {{}}
"#
    )
}

fn load(project: &str, text: &str) -> planner::Project {
    let opts = LoadOptions {
        project_name: Some(project.to_string()),
        project_dir: std::env::temp_dir(),
        profiles: vec![],
        policy: Default::default(),
    };
    load_yaml(text, &opts, &SystemHost)
        .unwrap_or_else(|e| panic!("the test compose file must load: {e}"))
}

fn exec_options() -> ExecOptions {
    ExecOptions {
        engine_host: docker_support::host(),
        concurrency: 4,
        dependency_timeout: Duration::from_secs(30),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
        cancel: CancellationToken::new(),
        events: Arc::new(|_| {}),
        health_gate: docker_layer::execute::HealthGate::Started,
    }
}

async fn http_get(port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..50 {
        if let Ok(resp) = reqwest::get(&url).await {
            if resp.status().is_success() {
                return resp.text().await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered");
}

#[tokio::test]
async fn apply_converges_and_an_edit_replaces_only_that_service() {
    let project = unique("mdtr");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let port = free_port();
    let digests = ExternalDigests::default();

    let desired = load(&project, &compose(port, "hello"));
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        Some(&desired),
    )
    .await
    .unwrap();
    let plan = planner::diff::plan(&desired, &observed, None, &digests, PlanOptions::default());
    assert!(plan.has_changes());
    let report = execute_plan(&docker_support::client().await, &plan, &exec_options()).await;
    assert!(report.succeeded(), "first apply: {report:#?}");
    assert_eq!(http_get(port).await.trim(), "hello");

    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        Some(&desired),
    )
    .await
    .unwrap();
    let again = planner::diff::plan(
        &desired,
        &observed,
        Some(&desired),
        &digests,
        PlanOptions::default(),
    );
    assert!(
        !again.has_changes(),
        "a second plan must be a no-op: {:#?}",
        again.actions
    );

    let db_before = observed
        .containers
        .iter()
        .find(|c| c.service == "db")
        .unwrap()
        .id
        .clone();
    let web_before = observed
        .containers
        .iter()
        .find(|c| c.service == "web")
        .unwrap()
        .id
        .clone();
    let edited = load(&project, &compose(port, "bonjour"));
    let plan = planner::diff::plan(
        &edited,
        &observed,
        Some(&desired),
        &digests,
        PlanOptions::default(),
    );
    let changed: Vec<(String, Op)> = plan
        .actions
        .iter()
        .filter(|a| a.op != Op::NoOp)
        .map(|a| (a.resource.name.clone(), a.op))
        .collect();
    assert_eq!(changed, vec![(format!("{project}-web-1"), Op::Replace)]);
    let report = execute_plan(&docker_support::client().await, &plan, &exec_options()).await;
    assert!(report.succeeded(), "replace: {report:#?}");
    assert_eq!(http_get(port).await.trim(), "bonjour");
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        Some(&edited),
    )
    .await
    .unwrap();
    assert_eq!(
        observed
            .containers
            .iter()
            .find(|c| c.service == "db")
            .unwrap()
            .id,
        db_before
    );
    assert_ne!(
        observed
            .containers
            .iter()
            .find(|c| c.service == "web")
            .unwrap()
            .id,
        web_before
    );
    let again = planner::diff::plan(
        &edited,
        &observed,
        Some(&edited),
        &digests,
        PlanOptions::default(),
    );
    assert!(
        !again.has_changes(),
        "converged after the replace: {:#?}",
        again.actions
    );

    // Destroy: an empty spec with orphan removal deletes everything but the volume.
    let empty = planner::Project {
        name: project.clone(),
        ..Default::default()
    };
    let destroy = planner::diff::plan(
        &empty,
        &observed,
        Some(&edited),
        &digests,
        PlanOptions {
            remove_orphans: true,
            remove_volumes: false,
        },
    );
    let report = execute_plan(&docker_support::client().await, &destroy, &exec_options()).await;
    assert!(report.succeeded(), "destroy: {report:#?}");
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        None,
    )
    .await
    .unwrap();
    assert!(
        observed.containers.is_empty() && observed.networks.is_empty(),
        "{observed:#?}"
    );
    assert_eq!(observed.volumes.len(), 1, "volumes stay unless asked");
    cleanup_project(&docker, &project).await;
}

fn build_digests(project: &planner::Project) -> ExternalDigests {
    let mut digests = ExternalDigests::default();
    for (name, service) in &project.services {
        if let Some(build) = &service.build {
            let digest = docker_layer::build_context::context_digest(build).unwrap();
            digests.builds.insert(name.clone(), digest);
        }
    }
    digests
}

#[tokio::test]
async fn a_source_edit_rebuilds_and_replaces_only_its_service() {
    let project = unique("mdtrb");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        "FROM mcp-docker-test/busybox:latest\nCOPY site/ /www/\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(app.join("site")).unwrap();
    std::fs::write(app.join("site/index.html"), "version one\n").unwrap();
    std::fs::write(app.join("notes.log"), "ignored\n").unwrap();
    std::fs::write(app.join(".dockerignore"), "*.log\n").unwrap();
    let text = format!(
        r#"
services:
  app:
    build: ./app
    init: true
    ports: ["127.0.0.1:{port}:80"]
  other:
    image: mcp-docker-test/busybox:latest
    command: ["sh", "-c", "trap exit TERM; while true; do sleep 1; done"]
"#
    );
    let opts = LoadOptions {
        project_name: Some(project.clone()),
        project_dir: dir.path().to_path_buf(),
        profiles: vec![],
        policy: Default::default(),
    };
    let desired = load_yaml(&text, &opts, &SystemHost).unwrap_or_else(|e| panic!("{e}"));
    let image = desired.services["app"].image.clone();
    let remove_image = || async {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::new()
            .force(true)
            .build();
        let _ = docker.remove_image(&image, Some(options), None).await;
    };

    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        Some(&desired),
    )
    .await
    .unwrap();
    let plan = planner::diff::plan(
        &desired,
        &observed,
        None,
        &build_digests(&desired),
        PlanOptions::default(),
    );
    assert!(
        plan.actions.iter().any(|a| a.op == Op::Build),
        "{:#?}",
        plan.actions
    );
    let report = execute_plan(&docker_support::client().await, &plan, &exec_options()).await;
    if !report.succeeded() {
        cleanup_project(&docker, &project).await;
        remove_image().await;
        panic!("first apply: {report:#?}");
    }
    assert_eq!(http_get(port).await.trim(), "version one");

    // An ignored file changes nothing.
    std::fs::write(app.join("notes.log"), "still ignored\n").unwrap();
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        Some(&desired),
    )
    .await
    .unwrap();
    let again = planner::diff::plan(
        &desired,
        &observed,
        Some(&desired),
        &build_digests(&desired),
        PlanOptions::default(),
    );
    assert!(!again.has_changes(), "{:#?}", again.actions);

    // A source edit rebuilds and replaces app, and leaves other alone.
    std::fs::write(app.join("site/index.html"), "version two\n").unwrap();
    let plan = planner::diff::plan(
        &desired,
        &observed,
        Some(&desired),
        &build_digests(&desired),
        PlanOptions::default(),
    );
    let mut changed: Vec<(String, Op)> = plan
        .actions
        .iter()
        .filter(|a| a.op != Op::NoOp)
        .map(|a| (a.resource.key.clone(), a.op))
        .collect();
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    let report = execute_plan(&docker_support::client().await, &plan, &exec_options()).await;
    let served = http_get(port).await;
    cleanup_project(&docker, &project).await;
    remove_image().await;
    assert_eq!(
        changed,
        vec![
            ("app".to_string(), Op::Build),
            ("app".to_string(), Op::Replace)
        ]
    );
    assert!(report.succeeded(), "rebuild: {report:#?}");
    assert_eq!(served.trim(), "version two");
}
