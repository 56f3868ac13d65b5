//! What a plan predicts before apply, through the MCP client against the real engine: what its steps cost (a
//! running container's downtime, a volume's data lost or kept, a newly published port and on which
//! interfaces) in the rendering and the structured output; an absent image whose registry does not answer is a
//! warning; a host port a host process listens on refuses the plan, naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::engine::{docker_cli, ProjectGuard};
use common::mcp::McpSession;
use common::unique;
use serde_json::Value;

const IMAGE: &str = common::TEST_IMAGE;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn impact_of(reply: &common::mcp::Reply) -> Vec<String> {
    match reply.field("impact") {
        Some(Value::Array(lines)) => lines
            .iter()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect(),
        other => panic!("no impact list: {other:?}: {}", reply.all_text()),
    }
}

fn sleeper(command: &str, ports: &str) -> String {
    format!(
        "services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"{command}\"]\n    ports: [{ports}]\n"
    )
}

#[tokio::test]
async fn a_plan_names_the_downtime_of_a_running_container_and_the_interfaces_of_a_new_port() {
    let project = unique("impact");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let (kept, added) = (free_port(), free_port());
    let kept_port = format!("\"127.0.0.1:{kept}:80\"");
    session
        .converge(&project, &sleeper("600", &kept_port))
        .await;

    let both = format!("{kept_port}, \"127.0.0.1:{added}:81\"");
    let (_, replan) = session.plan_yaml(&project, &sleeper("601", &both)).await;
    let impact = impact_of(&replan);
    let container = format!("{project}-web-1");
    assert!(
        impact.contains(&format!(
            "downtime: container \"{container}\" (running) is replaced"
        )),
        "{impact:?}"
    );
    assert!(
        impact.contains(&format!(
            "exposure: service web publishes host port {added}/tcp on loopback only (127.0.0.1)"
        )),
        "{impact:?}"
    );
    assert!(
        !impact.iter().any(|l| l.contains(&kept.to_string())),
        "a port published already is no new exposure: {impact:?}"
    );
    let rendering = replan.str_field("rendering").unwrap();
    assert!(rendering.contains("Impact:\n  ! downtime"), "{rendering}");

    // A stopped container costs no downtime when it is replaced.
    let stop = docker_cli(None, &["stop", &container]);
    assert!(stop.status.success(), "{stop:?}");
    let (_, stopped) = session.plan_yaml(&project, &sleeper("601", &both)).await;
    let impact = impact_of(&stopped);
    assert!(!impact.iter().any(|l| l.contains("downtime")), "{impact:?}");

    session.destroy(&project).await;
}

#[tokio::test]
async fn an_absent_image_whose_registry_does_not_answer_plans_with_a_warning_naming_both() {
    let project = unique("impactreg");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    // Nothing listens on a port just freed; the local registry answers on 5000; the test image is local.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let absent = format!("{nowhere}/nope/x:1");
    let spec = format!(
        "services:\n  gone:\n    image: {absent}\n  served:\n    image: 127.0.0.1:5000/mcp-impact/absent:1\n  \
         local:\n    image: {IMAGE}\n"
    );
    let (_, reply) = session.plan_yaml(&project, &spec).await;
    let warnings: Vec<String> = match reply.field("warnings") {
        Some(Value::Array(w)) => w
            .iter()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect(),
        other => panic!("no warnings: {other:?}"),
    };
    let unreachable: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("does not answer"))
        .collect();
    assert_eq!(unreachable.len(), 1, "{warnings:?}");
    assert!(
        unreachable[0].contains(&format!("image \"{absent}\""))
            && unreachable[0].contains(&format!("registry {nowhere}")),
        "{warnings:?}"
    );
    let rendering = reply.str_field("rendering").unwrap();
    assert_eq!(
        rendering.matches("does not answer").count(),
        1,
        "{rendering}"
    );
}

/// Removes a container the test ran outside any project.
struct Foreign(String);

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = docker_cli(None, &["rm", "-f", &self.0]);
    }
}

#[tokio::test]
async fn a_host_port_a_host_process_listens_on_is_refused_at_plan_time_naming_it() {
    let project = unique("impactlisten");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    for published in [format!("\"127.0.0.1:{port}:80\""), format!("\"{port}:80\"")] {
        let spec = sleeper("600", &published);
        let error = session
            .tool_error(
                "plan",
                serde_json::json!({"project": project, "compose_yaml": spec}),
            )
            .await;
        assert!(error.contains("services.web.ports[0]"), "{error}");
        assert!(
            error.contains(&format!("host port {port}/tcp"))
                && error.contains("a process on the host"),
            "{error}"
        );
        assert!(
            common::engine::project_containers(None, &project).is_empty(),
            "nothing was created"
        );
    }
    drop(listener);

    // A container's published port is held by its docker-proxy too: the container is named, not a process.
    let holder = unique("impactholder");
    let _holder = Foreign(holder.clone());
    let taken = format!("127.0.0.1:{port}:80");
    let run = docker_cli(
        None,
        &[
            "run", "-d", "--init", "--name", &holder, "-p", &taken, IMAGE, "sleep", "600",
        ],
    );
    assert!(run.status.success(), "{run:?}");
    let error = session
        .tool_error(
            "plan",
            serde_json::json!({"project": project, "compose_yaml": sleeper("600", &format!("\"{taken}\""))}),
        )
        .await;
    assert!(error.contains(&format!("`{holder}`")), "{error}");
    assert!(!error.contains("a process on the host"), "{error}");
}

#[tokio::test]
async fn a_destroy_says_whether_volume_data_is_kept_or_lost() {
    let project = unique("impactvol");
    let _guard = ProjectGuard::new(&project);
    let session = McpSession::start().await;
    let spec = format!(
        "services:\n  db:\n    image: {IMAGE}\n    init: true\n    command: [\"sleep\", \"600\"]\n    \
         volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"
    );
    session.converge(&project, &spec).await;
    let volume = format!("{project}_data");

    let kept = session
        .ok("destroy", serde_json::json!({"project": project}))
        .await;
    let impact = impact_of(&kept);
    assert!(
        impact.iter().any(|l| l.starts_with(&format!(
            "data kept: volume \"{volume}\" is kept with its data"
        ))),
        "{impact:?}"
    );
    assert!(
        impact.contains(&format!(
            "downtime: container \"{project}-db-1\" (running) is stopped and removed"
        )),
        "{impact:?}"
    );
    let lost = session
        .ok(
            "destroy",
            serde_json::json!({"project": project, "volumes": true}),
        )
        .await;
    let impact = impact_of(&lost);
    assert!(
        impact.contains(&format!(
            "data loss: volume \"{volume}\" is deleted with all its data"
        )),
        "{impact:?}"
    );
    assert!(
        !impact.iter().any(|l| l.starts_with("data kept")),
        "{impact:?}"
    );
    session.destroy(&project).await;
}
