//! Attacks on session 14's code (approval for foreign resources, import, preflight, impact), through the
//! MCP client against the real engine. The client is the attacker: it may send any tool call, and may act
//! (through the docker CLI here, standing for a second tool call) while the human reads a question.
//! Each test names the attack and what must hold.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::engine::{containers_labelled, docker_cli, object_exists, ProjectGuard};
use common::mcp::{McpServer, McpSession, ServerSetup};
use common::unique;
use rmcp::model::ElicitationAction;
use serde_json::json;

const IMAGE: &str = common::TEST_IMAGE;

/// Removes the named images, containers, volumes and networks when the test ends, however it ends.
#[derive(Default)]
struct Cleanup(Vec<(&'static str, String)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (kind, name) in self.0.iter().rev() {
            let _ = match *kind {
                "container" => docker_cli(None, &["rm", "-f", name]),
                "image" => docker_cli(None, &["rmi", "-f", name]),
                other => docker_cli(None, &[other, "rm", name]),
            };
        }
    }
}

/// Builds `tag` from the test image with `labels`, as anyone could publish an image to pull.
fn labelled_image(tag: &str, labels: &[(&str, &str)]) {
    let mut args = vec!["build".to_string(), "-q".into(), "-t".into(), tag.into()];
    for (key, value) in labels {
        args.push("--label".into());
        args.push(format!("{key}={value}"));
    }
    args.push("-".into());
    let mut child = Command::new("docker")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("FROM {IMAGE}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn image_id(reference: &str) -> Option<String> {
    let out = docker_cli(None, &["image", "inspect", "-f", "{{.Id}}", reference]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn asking_server(
    state: &std::path::Path,
    multi_round: bool,
    hook: impl Fn() + Send + Sync + 'static,
) -> McpServer {
    let mut setup = ServerSetup::new(state)
        .env("RUST_LOG", "warn")
        .env("MCP_DOCKER_APPROVAL", "elicit")
        .elicit(ElicitationAction::Accept)
        .before_answer(hook);
    if multi_round {
        setup = setup.multi_round();
    }
    McpServer::start(setup).await
}

/// The attack: publish an image labelled with a project's ownership and compose labels, then run it with
/// run_container. A container inherits its image's labels, so it would pass for that project's `web`: plans
/// would count it as the project's own (a copied config hash makes it a no-op) and import would adopt it.
/// The server masks the reserved labels an image carries, so the container belongs to no project.
#[tokio::test]
async fn an_image_cannot_give_a_primitive_container_a_projects_labels() {
    let victim = unique("victim");
    let _guard = ProjectGuard::new(&victim);
    let tag = format!("{}:1", unique("uatk-owned-"));
    let mut cleanup = Cleanup::default();
    cleanup.0.push(("image", tag.clone()));
    labelled_image(
        &tag,
        &[
            ("io.mcp-docker-server.project", &victim),
            ("com.docker.compose.project", &victim),
            ("com.docker.compose.service", "web"),
            ("com.docker.compose.container-number", "1"),
            ("org.opencontainers.image.title", "kept"),
        ],
    );
    let session = McpSession::start().await;
    let name = unique("uatk-run-");
    cleanup.0.push(("container", name.clone()));
    session
        .ok(
            "run_container",
            json!({"name": name, "spec": {"image": tag, "command": ["sleep", "3600"], "init": true}}),
        )
        .await;
    assert!(
        containers_labelled("io.mcp-docker-server.project", &victim).is_empty(),
        "the container passes for a container of {victim}"
    );
    assert!(
        containers_labelled("com.docker.compose.project", &victim).is_empty(),
        "the container passes for a compose container of {victim}"
    );
    let labels = common::engine::inspect_object("container", &name).unwrap();
    assert_eq!(
        labels["Config"]["Labels"]["org.opencontainers.image.title"], "kept",
        "labels outside the reserved prefixes are the image's own"
    );
    let err = session
        .tool_error(
            "import_project",
            json!({"project": victim, "compose_yaml": format!("services:\n  web:\n    image: {tag}\n")}),
        )
        .await;
    assert!(err.contains("nothing carries the label"), "{err}");
    let projects = session.ok("list_projects", json!({})).await;
    assert!(
        !projects.all_text().contains("\"name\":\"\""),
        "a masked label lists as a project: {}",
        projects.all_text()
    );
    let (_, plan) = session
        .plan_yaml(
            &victim,
            &format!("services:\n  web:\n    image: {IMAGE}\n    command: [sleep, '3600']\n"),
        )
        .await;
    assert!(
        plan.text.contains("2 to add, 0 to change, 0 to destroy") && !plan.text.contains(&name),
        "{}",
        plan.text
    );
}

/// The attack: create a volume or network (or build an image) carrying ownership or compose labels, so
/// plans or import take it for a project's. The spec rule (reserved prefixes) holds for these tools too.
#[tokio::test]
async fn tools_refuse_reserved_labels_as_specs_do() {
    let session = McpSession::start().await;
    let name = unique("uatk-lbl-");
    let mut cleanup = Cleanup::default();
    cleanup.0.push(("volume", name.clone()));
    cleanup.0.push(("network", name.clone()));
    for (tool, kind) in [("create_volume", "volume"), ("create_network", "network")] {
        for label in ["io.mcp-docker-server.project", "com.docker.compose.project"] {
            let err = session
                .tool_error(tool, json!({"name": name, "labels": {label: "victim"}}))
                .await;
            assert!(err.contains(&format!("`labels.{label}`")), "{tool}: {err}");
            assert!(!object_exists(kind, &name), "{tool} created {name}");
        }
    }
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), format!("FROM {IMAGE}\n")).unwrap();
    let err = session
        .tool_error(
            "build_image",
            json!({"context": context.path(), "tag": format!("{name}:1"),
                   "labels": {"com.docker.compose.config-hash": "x"}}),
        )
        .await;
    assert!(
        err.contains("`labels.com.docker.compose.config-hash`"),
        "{err}"
    );
    let err = session
        .tool_error(
            "run_container",
            json!({"spec": {"image": IMAGE, "labels": {"io.mcp-docker-server.project": "victim"}}}),
        )
        .await;
    assert!(err.contains("io.mcp-docker-server.project"), "{err}");
}

/// The attack: ask to remove an unwanted image by tag, and while the human reads the question (which names
/// that image's id), retag the tag onto an image the human keeps. The removal is for the image asked about:
/// a retag makes it refuse, and the kept image keeps every tag.
#[tokio::test]
async fn a_retag_while_the_human_is_asked_does_not_redirect_remove_image() {
    for multi_round in [false, true] {
        let junk = format!("{}:1", unique("uatk-junk-"));
        let kept = format!("{}:1", unique("uatk-kept-"));
        let _cleanup = Cleanup(vec![("image", junk.clone()), ("image", kept.clone())]);
        labelled_image(&junk, &[("uatk.role", "junk")]);
        labelled_image(&kept, &[("uatk.role", "kept")]);
        let junk_id = image_id(&junk).unwrap();
        let kept_id = image_id(&kept).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (kept.clone(), junk.clone());
        let server = asking_server(dir.path(), multi_round, move || {
            assert!(docker_cli(None, &["tag", &from, &to]).status.success());
        })
        .await;
        let err = server
            .tool_error("remove_image", json!({"image": junk}))
            .await;
        assert!(
            err.contains("nothing was"),
            "multi_round {multi_round}: {err}"
        );
        assert_eq!(
            image_id(&junk).as_deref(),
            Some(kept_id.as_str()),
            "multi_round {multi_round}: the kept image lost the tag"
        );
        assert!(
            docker_cli(None, &["image", "inspect", &junk_id])
                .status
                .success(),
            "multi_round {multi_round}: nothing was approved for removal any more"
        );
        let _ = docker_cli(None, &["rmi", &junk_id]);
        server.stop().await;
    }
}

/// The attack: ask to remove a foreign container, and while the human reads the question, rename it away
/// and start another under its name. The removal acts on the id asked about, never on the name.
#[tokio::test]
async fn a_name_swap_while_the_human_is_asked_removes_only_the_container_asked_about() {
    let name = unique("uatk-swap-");
    let parked = format!("{name}-parked");
    let _cleanup = Cleanup(vec![
        ("container", name.clone()),
        ("container", parked.clone()),
    ]);
    let run = |n: &str| {
        let out = docker_cli(
            None,
            &["run", "-d", "--init", "--name", n, IMAGE, "sleep", "3600"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&name);
    let asked_id = common::engine::container_id(&name);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (name.clone(), parked.clone());
    let server = asking_server(dir.path(), false, move || {
        assert!(docker_cli(None, &["rename", &from, &to]).status.success());
        let out = docker_cli(
            None,
            &[
                "run", "-d", "--init", "--name", &from, IMAGE, "sleep", "3600",
            ],
        );
        assert!(out.status.success());
    })
    .await;
    server
        .ok(
            "remove_container",
            json!({"container": name, "force": true}),
        )
        .await;
    assert!(
        !docker_cli(None, &["inspect", &asked_id]).status.success(),
        "the container asked about was not removed"
    );
    assert!(
        object_exists("container", &name),
        "the newcomer under the name was removed"
    );
    server.stop().await;
}

/// The attack: import a compose project whose container shares the host's uts namespace (it may set the
/// host's hostname) and may create devices, with a spec that says neither. (Host pid and ipc already
/// differ: the engine adds `label=disable` to their security options.) The import must not call it "adopted as it is"
/// (the next plan would read "No changes" and the human would never see that host access): it differs,
/// and the next plan replaces it.
#[tokio::test]
async fn import_does_not_call_a_container_with_host_namespaces_a_match() {
    let project = unique("uatkimp");
    let _guard = ProjectGuard::new(&project);
    let spec = format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"3600\"]\n"
    );
    let started = format!("{spec}    uts: host\n    device_cgroup_rules: ['c 1:3 mr']\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, &started).unwrap();
    common::engine::compose_up(&project, &file);
    let session = McpSession::start().await;
    let imported = session
        .structured_ok(
            "import_project",
            json!({"project": project, "compose_yaml": spec}),
        )
        .await;
    let differing = imported["differing"].to_string();
    for field in ["uts", "device_cgroup_rules"] {
        assert!(differing.contains(field), "{field}: {imported}");
    }
    assert_eq!(imported["has_changes"], true, "{imported}");
}

/// The attack: a spec whose names or values carry line breaks and terminal escapes, to forge lines of the
/// plan the human approves (a second "Plan: 0 to add" line, or a cursor-up and erase over a line that
/// says a container is replaced). An engine name with a line break is refused, naming the field; a value's
/// escapes reach neither the plan's text nor the approval question raw.
#[tokio::test]
async fn names_and_values_cannot_forge_lines_of_the_plan() {
    let project = unique("uatkforge");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let forged_name = format!(
        "services:\n  web:\n    image: {IMAGE}\n    volumes: [data:/data]\nvolumes:\n  data:\n    \
         name: \"evil\\nPlan: 0 to add, 0 to change, 0 to destroy.\"\n"
    );
    let err = session
        .tool_error(
            "plan",
            json!({"project": project, "compose_yaml": forged_name}),
        )
        .await;
    assert!(err.contains("volumes.data.name"), "{err}");
    let forged_key = format!(
        "services:\n  web:\n    image: {IMAGE}\n    environment:\n      \
         \"PASSWORD\\nPlan: 0 to add, 0 to change\": x\n"
    );
    let err = session
        .tool_error(
            "plan",
            json!({"project": project, "compose_yaml": forged_key}),
        )
        .await;
    assert!(err.contains("services.web.environment"), "{err}");
    let escaped = format!(
        "services:\n  web:\n    image: {IMAGE}\n    command: [sleep, '3600']\n    labels:\n      \
         note: \"ok\\u001b[1A\\u001b[2K\\rPlan: 0 to add\"\n"
    );
    let forged = |text: &str| {
        text.lines()
            .any(|line| line.trim_start().starts_with("Plan: 0 to add"))
    };
    let dir = tempfile::tempdir().unwrap();
    let server = McpServer::start(
        ServerSetup::new(dir.path())
            .env("MCP_DOCKER_APPROVAL", "elicit")
            .elicit(ElicitationAction::Decline),
    )
    .await;
    let (plan_id, plan) = server.plan_yaml(&project, &escaped).await;
    for text in [plan.text.clone(), plan.all_text()] {
        assert!(
            !text.contains(['\u{1b}', '\r']) && !forged(&text),
            "{text:?}"
        );
    }
    assert!(plan.text.contains("\\u{1b}[1A"), "{}", plan.text);
    let declined = server.apply(&project, &plan_id).await.unwrap();
    assert!(declined.is_error, "{}", declined.text);
    let questions = server.elicitation_questions();
    assert_eq!(questions.len(), 1, "{questions:?}");
    assert!(
        !questions[0].contains(['\u{1b}', '\r']) && !forged(&questions[0]),
        "{:?}",
        questions[0]
    );
    server.stop().await;
}

/// The attack: fill the server's task store (64 kept for up to two hours, shared by every session) with
/// quick failing pulls, so that every later apply, pull or build from a task-declaring client is refused.
/// A full store makes the call run within its request instead: the server keeps serving.
#[tokio::test]
async fn a_full_task_store_does_not_stop_the_long_tools() {
    let dir = tempfile::tempdir().unwrap();
    let server = McpServer::start(ServerSetup::new(dir.path()).tasks()).await;
    let missing = |n: usize| json!({"image": format!("127.0.0.1:5000/uatk-missing-{n}:1")});
    for n in 0..64 {
        server.start_task("pull_image", missing(n)).await;
    }
    let call = server
        .client()
        .peer()
        .call_tool_once(common::mcp::tool_params("pull_image", missing(64)));
    let answer = tokio::time::timeout(common::mcp::CALL_TIMEOUT, call)
        .await
        .unwrap()
        .unwrap();
    let rmcp::model::CallToolResponse::Complete(result) = answer else {
        panic!("a full store still started a task: {answer:?}");
    };
    let text = common::mcp::result_text(&result);
    assert!(!text.contains("tasks are already kept"), "{text}");
    assert!(
        text.contains("uatk-missing-64"),
        "the pull did not run: {text}"
    );
    server.stop().await;
}

/// The attack: a bind list long enough that the approval question cuts its line, with the bind that
/// matters last, so the human reads neither it nor the "widens host access" mark. A cut line says it was
/// cut and keeps its mark.
#[tokio::test]
async fn a_long_line_in_the_approval_question_keeps_its_host_access_mark() {
    let project = unique("uatklong");
    let _guard = ProjectGuard::new(&project);
    let binds = tempfile::tempdir().unwrap();
    let source = binds
        .path()
        .join("a-rather-long-directory-name-so-that-the-bind-list-runs-past-the-cut");
    std::fs::create_dir(&source).unwrap();
    let mut spec = format!(
        "services:\n  web:\n    image: {IMAGE}\n    command: [sleep, '3600']\n    volumes:\n"
    );
    for n in 0..4 {
        spec.push_str(&format!("      - {}:/mnt/{n}\n", source.display()));
    }
    let dir = tempfile::tempdir().unwrap();
    let server = McpServer::start(
        ServerSetup::new(dir.path())
            .env("MCP_DOCKER_APPROVAL", "elicit")
            .elicit(ElicitationAction::Decline),
    )
    .await;
    let (plan_id, _) = server.plan_yaml(&project, &spec).await;
    let declined = server.apply(&project, &plan_id).await.unwrap();
    assert!(declined.is_error, "{}", declined.text);
    let question = server.elicitation_questions().remove(0);
    let line = question
        .lines()
        .find(|l| l.contains("+ volumes:"))
        .unwrap_or_else(|| panic!("{question}"));
    assert!(line.contains("more characters"), "{line}");
    assert!(line.ends_with("# widens host access"), "{line}");
    server.stop().await;
}
