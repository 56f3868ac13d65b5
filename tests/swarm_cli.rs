//! The swarm target through the CLI: `plan --target swarm`, apply by plan id, status per service and task,
//! the refusal to plan a project onto its other target (both ways), the refusal of a swarm plan on an engine
//! that is no swarm manager, and destroy. The swarm tests skip with a printed reason when
//! `MCP_DOCKER_SWARM_HOST` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::cli::{plan_id, text, CliRunner};
use common::engine::ProjectGuard;
use common::swarm::{StackGuard, Swarm};
use common::unique;

const SPEC: &str = r#"services:
  web:
    image: mcp-docker-test/busybox:latest
    command: ["sh", "-c", "exec httpd -f -p 8080"]
    init: true
    stop_grace_period: 1s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
"#;

fn spec_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, SPEC).unwrap();
    let file = file.display().to_string();
    (dir, file)
}

#[test]
fn a_swarm_project_is_planned_applied_shown_kept_on_its_target_and_destroyed() {
    let Some(swarm) = Swarm::from_env() else {
        return;
    };
    let project = unique("swc");
    let _guard = StackGuard {
        swarm: &swarm,
        project: project.clone(),
    };
    let (_dir, file) = spec_file();
    let cli = CliRunner::new().flag("--swarm-host", swarm.manager.as_str());

    let planned = cli.ok(&["plan", "-p", &project, "-f", &file, "--target", "swarm"]);
    assert!(
        planned.contains(&format!("+ service \"{project}_web\"  create")),
        "{planned}"
    );
    let id = plan_id(&planned);
    cli.ok(&["apply", "-p", &project, "--plan", &id]);
    assert_eq!(swarm.running(&format!("{project}_web")).len(), 2);
    let services = swarm.docker(&["stack", "services", &project, "--format", "{{.Name}}"]);
    assert!(services.contains(&format!("{project}_web")), "{services}");

    let status = cli.ok(&["status", "-p", &project]);
    assert!(status.contains("2/2 running"), "{status}");
    assert!(status.contains("running on mcpsw-n"), "{status}");
    assert!(
        status.contains("mcpsw-n3") && status.contains("ready, active"),
        "nodes: {status}"
    );

    let on_engine = cli.run(&["plan", "-p", &project, "-f", &file]);
    let said = text(&on_engine.stderr);
    assert!(!on_engine.status.success());
    assert!(
        said.contains("runs on target \"swarm\", not \"engine\"") && said.contains("destroy it"),
        "{said}"
    );

    let destroyed = cli.ok(&["destroy", "-p", &project, "--auto-approve"]);
    assert!(destroyed.contains("Destroy complete!"), "{destroyed}");
    let left = swarm.docker(&["stack", "services", "-q", &project]);
    assert!(left.trim().is_empty(), "{left}");
}

#[test]
fn an_engine_project_is_not_planned_onto_a_swarm_and_a_plain_engine_is_no_swarm() {
    let project = unique("swe");
    let _guard = ProjectGuard::new(&project);
    let (_dir, file) = spec_file();
    let cli = CliRunner::new().env_remove("MCP_DOCKER_SWARM_HOST");

    let refused = cli.run(&["plan", "-p", &project, "-f", &file, "--target", "swarm"]);
    let said = text(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("not a swarm manager") && said.contains("--swarm-host"),
        "{said}"
    );

    let engine_spec = format!("{SPEC}    # engine\n");
    std::fs::write(&file, engine_spec.replace("replicas: 2", "replicas: 1")).unwrap();
    cli.ok(&["apply", "-p", &project, "-f", &file, "--auto-approve"]);
    let moved = cli.run(&["plan", "-p", &project, "-f", &file, "--target", "swarm"]);
    let said = text(&moved.stderr);
    assert!(!moved.status.success());
    assert!(
        said.contains("runs on target \"engine\", not \"swarm\"") && said.contains("destroy it"),
        "{said}"
    );
    cli.destroy(&project);
}

/// A bind mount on a swarm would mount a path of whichever node runs the task: it is refused by name before
/// the manager is reached, so no swarm is needed here.
#[test]
fn host_access_keys_are_refused_on_a_swarm_by_name() {
    let project = unique("swb");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    // A bind the engine target would allow (inside the compose file's folder) still means nothing on a swarm.
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let spec = "services:\n  web:\n    image: mcp-docker-test/busybox:latest\n    volumes: [\"./data:/data\"]\n";
    std::fs::write(&file, spec).unwrap();
    let cli = CliRunner::new().env_remove("MCP_DOCKER_SWARM_HOST");
    let file = file.display().to_string();
    let refused = cli.run(&["plan", "-p", &project, "-f", &file, "--target", "swarm"]);
    let said = text(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("services.web.volumes[0]") && said.contains("on a swarm"),
        "{said}"
    );
}
