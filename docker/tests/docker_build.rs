//! Build contexts against the real engine: the digest follows `.dockerignore`, escaping symlinks are refused,
//! and a Build action builds, tags and runs the image.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use docker_layer::build_context::{context_digest, context_tar};
use docker_layer::execute::{execute_plan, ExecOptions, StepEvent};
use docker_support::{cleanup_project, docker, unique, ProjectGuard};
use futures_util::StreamExt;
use planner::model::{BuildSpec, ServiceSpec};
use planner::naming;
use planner::plan::{
    Action, ContainerTarget, ImageTarget, Op, Plan, ResourceKind, ResourceRef, Summary, Target,
};
use tokio_util::sync::CancellationToken;

fn context() -> (tempfile::TempDir, BuildSpec) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM mcp-docker-test/busybox:latest\nARG GREETING=hi\nENV GREETING=$GREETING\nCOPY app/ /app/\nCMD [\"sh\", \"-c\", \"echo $GREETING; cat /app/hello.txt; ls /app\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("app/logs")).unwrap();
    std::fs::write(dir.path().join("app/hello.txt"), "hello from the context\n").unwrap();
    std::fs::write(dir.path().join("app/debug.log"), "ignored\n").unwrap();
    std::fs::write(dir.path().join("app/logs/today"), "ignored too\n").unwrap();
    std::fs::write(
        dir.path().join(".dockerignore"),
        "# build noise\n**/*.log\napp/logs\n",
    )
    .unwrap();
    let build = BuildSpec {
        context: dir.path().to_string_lossy().into_owned(),
        dockerfile: "Dockerfile".into(),
        target: None,
        args: BTreeMap::from([("GREETING".to_string(), "bonjour".to_string())]),
        labels: BTreeMap::new(),
        no_cache: false,
        pull: false,
    };
    (dir, build)
}

#[test]
fn the_digest_follows_sources_args_and_dockerignore() {
    let (dir, mut build) = context();
    let first = context_digest(&build).unwrap();
    assert_eq!(first, context_digest(&build).unwrap(), "stable");

    std::fs::write(dir.path().join("app/debug.log"), "changed, but ignored\n").unwrap();
    std::fs::write(dir.path().join("app/logs/today"), "changed, but ignored\n").unwrap();
    assert_eq!(
        first,
        context_digest(&build).unwrap(),
        "ignored files do not count"
    );

    std::fs::write(dir.path().join("app/hello.txt"), "edited\n").unwrap();
    let edited = context_digest(&build).unwrap();
    assert_ne!(first, edited, "a source edit counts");

    build.args.insert("GREETING".into(), "salut".into());
    assert_ne!(edited, context_digest(&build).unwrap(), "build args count");
    build.target = Some("final".into());
    assert_ne!(edited, context_digest(&build).unwrap(), "the target counts");

    let tar = context_tar(&build).unwrap();
    let mut archive = tar::Archive::new(tar);
    let paths: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(paths.contains(&"Dockerfile".to_string()));
    assert!(paths.contains(&"app/hello.txt".to_string()));
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with(".log") || p.starts_with("app/logs")),
        "{paths:?}"
    );
}

#[test]
fn symlinks_out_of_the_context_are_refused() {
    let (dir, build) = context();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("id_rsa"), "not for the build").unwrap();
    std::os::unix::fs::symlink(outside.path().join("id_rsa"), dir.path().join("app/key")).unwrap();
    let err = context_digest(&build).unwrap_err().to_string();
    assert!(err.contains("outside the build context"), "{err}");
    assert!(context_tar(&build).is_err());
    // A link that stays inside is fine.
    std::fs::remove_file(dir.path().join("app/key")).unwrap();
    std::os::unix::fs::symlink("hello.txt", dir.path().join("app/alias.txt")).unwrap();
    context_digest(&build).unwrap();
}

#[test]
fn remote_contexts_and_escaping_dockerfiles_are_refused() {
    let (_dir, mut build) = context();
    build.dockerfile = "../Dockerfile".into();
    assert!(context_digest(&build)
        .unwrap_err()
        .to_string()
        .contains("inside the context"));
    build.context = "https://github.com/example/repo.git".into();
    assert!(context_digest(&build)
        .unwrap_err()
        .to_string()
        .contains("not supported"));
}

#[tokio::test]
async fn a_build_action_builds_tags_and_runs_the_image() {
    let project = unique("mdtb");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (_dir, build) = context();
    let reference = naming::built_image_name(&project, "app");
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let opts = ExecOptions {
        engine_host: docker_support::host(),
        concurrency: 2,
        dependency_timeout: Duration::from_secs(10),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
        cancel: CancellationToken::new(),
        events: Arc::new(move |e| sink.lock().unwrap().push(e)),
        health_gate: docker_layer::execute::HealthGate::Started,
    };
    let name = naming::container_name(&project, "app", 1);
    let spec = ServiceSpec {
        image: reference.clone(),
        build: Some(build.clone()),
        network_mode: Some("none".into()),
        replicas: 1,
        ..Default::default()
    };
    let actions = vec![
        Action {
            id: 0,
            resource: ResourceRef {
                kind: ResourceKind::Image,
                name: reference.clone(),
                key: "app".into(),
                number: None,
            },
            op: Op::Build,
            changes: vec![],
            reason: None,
            depends_on: vec![],
            target: Some(Target::Image(ImageTarget {
                reference: reference.clone(),
                build: Some(build),
            })),
            existing_id: None,
            existing_running: false,
        },
        Action {
            id: 1,
            resource: ResourceRef {
                kind: ResourceKind::Container,
                name: name.clone(),
                key: "app".into(),
                number: Some(1),
            },
            op: Op::Create,
            changes: vec![],
            reason: None,
            depends_on: vec![0],
            target: Some(Target::Container(ContainerTarget {
                service: "app".into(),
                number: 1,
                name: name.clone(),
                labels: naming::container_labels(&project, "app", 1, "h", &BTreeMap::new()),
                spec,
                config_hash: "h".into(),
                network_names: BTreeMap::new(),
                volume_names: BTreeMap::new(),
                wait_for: vec![],
            })),
            existing_id: None,
            existing_running: false,
        },
    ];
    let plan = Plan {
        project: project.clone(),
        actions,
        waves: vec![vec![0], vec![1]],
        fingerprint: String::new(),
        summary: Summary::default(),
        warnings: vec![],
        orphans: vec![],
        kept_volumes: vec![],
    };
    let report = execute_plan(&docker_support::client().await, &plan, &opts).await;
    let cleanup_image = || async {
        let _ = docker
            .remove_image(
                &reference,
                Some(
                    bollard::query_parameters::RemoveImageOptionsBuilder::new()
                        .force(true)
                        .build(),
                ),
                None,
            )
            .await;
    };
    if !report.succeeded() {
        cleanup_project(&docker, &project).await;
        cleanup_image().await;
        panic!("build apply failed: {report:#?}");
    }
    let built_id = report.done[0].engine_id.clone();
    let streamed = events.lock().unwrap().iter().any(
        |e| matches!(e, StepEvent::Progress { action_id: 0, message } if message.contains("Step")),
    );
    // Wait for the one-shot container to finish, then read what it printed.
    let mut wait = docker.wait_container(
        &name,
        None::<bollard::query_parameters::WaitContainerOptions>,
    );
    while wait.next().await.is_some() {}
    let mut logs = docker.logs(
        &name,
        Some(
            bollard::query_parameters::LogsOptionsBuilder::new()
                .stdout(true)
                .build(),
        ),
    );
    let mut output = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        output.push_str(&chunk.to_string());
    }
    cleanup_project(&docker, &project).await;
    cleanup_image().await;
    assert!(built_id.is_some(), "the build reports the image id");
    assert!(streamed, "build output is streamed as progress events");
    assert!(
        output.contains("bonjour"),
        "build args reach the build: {output}"
    );
    assert!(output.contains("hello from the context"), "{output}");
    assert!(
        !output.contains("debug.log") && !output.contains("logs"),
        "ignored files stay out: {output}"
    );
}
