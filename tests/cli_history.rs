//! The CLI's `history`, `rollback` and `apply --revert-on-failure` against the real engine: rollback prints a
//! plan, and only `apply --plan` executes it; a reverting apply restores the previous spec.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::cli::{apply_file_args, CliRunner};
use common::engine::{project_containers, ProjectGuard};
use common::unique;

fn write_spec(path: &std::path::Path, with_worker: bool) {
    let service = |name: &str| {
        format!(
            "  {name}:\n    image: {}\n    init: true\n    command: [\"sleep\", \"3600\"]\n",
            common::TEST_IMAGE
        )
    };
    let mut yaml = format!("services:\n{}", service("web"));
    if with_worker {
        yaml.push_str(&service("worker"));
    }
    std::fs::write(path, yaml).unwrap();
}

#[test]
fn rollback_prints_a_plan_that_apply_executes() {
    let project = unique("clihist");
    let _guard = ProjectGuard::new(&project);
    let cli = CliRunner::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    let file_arg = file.to_str().unwrap();

    write_spec(&file, false);
    cli.ok(&apply_file_args(&project, file_arg));
    write_spec(&file, true);
    cli.ok(&apply_file_args(&project, file_arg));
    assert_eq!(project_containers(None, &project).len(), 2);

    let history = cli.ok(&["history", "-p", &project]);
    let first_apply = history
        .lines()
        .find(|l| l.contains(" apply "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no apply in:\n{history}"))
        .to_string();

    let planned = cli.ok(&["rollback", "-p", &project, "--to", &first_apply]);
    assert!(planned.contains("1 to destroy"), "{planned}");
    assert_eq!(project_containers(None, &project).len(), 2, "rollback ran");
    let rollback_id = planned
        .lines()
        .find_map(|l| l.strip_prefix("To roll back: "))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no apply hint in:\n{planned}"))
        .to_string();
    cli.ok(&["apply", "-p", &project, "--plan", &rollback_id]);
    assert_eq!(project_containers(None, &project).len(), 1);
    cli.destroy(&project);
}

/// `web` with a healthcheck running `probe` (`true` passes, `false` fails) every second.
fn write_health_spec(path: &std::path::Path, probe: &str) {
    let yaml = format!(
        "services:\n  web:\n    image: {}\n    init: true\n    command: [\"sleep\", \"3600\"]\n    \
         healthcheck:\n      test: [\"CMD\", \"{probe}\"]\n      interval: 1s\n      timeout: 1s\n      \
         retries: 2\n      start_period: 1s\n",
        common::TEST_IMAGE
    );
    std::fs::write(path, yaml).unwrap();
}

#[test]
fn apply_with_revert_on_failure_restores_the_previous_spec_when_the_replacement_is_unhealthy() {
    let project = unique("clihist");
    let _guard = ProjectGuard::new(&project);
    let cli = CliRunner::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    let file_arg = file.to_str().unwrap();
    write_health_spec(&file, "true");
    cli.ok(&apply_file_args(&project, file_arg));

    write_health_spec(&file, "false");
    let planned = cli.ok(&["plan", "-p", &project, "-f", file_arg]);
    let plan_id = common::cli::plan_id(&planned);
    let out = cli.run(&[
        "apply",
        "--revert-on-failure",
        "-p",
        &project,
        "--plan",
        &plan_id,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Reverting to the previous spec"),
        "{stdout}"
    );
    assert!(stdout.contains("Apply complete!"), "{stdout}");
    let test =
        common::cli::inspect(&format!("{project}-web-1"))["Config"]["Healthcheck"]["Test"].clone();
    assert_eq!(test, serde_json::json!(["CMD", "true"]));

    // The same through `apply -f --auto-approve`.
    let out = cli.run(&[
        "apply",
        "--revert-on-failure",
        "-p",
        &project,
        "-f",
        file_arg,
        "--auto-approve",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Reverting to the previous spec"),
        "{stdout}"
    );
    let test =
        common::cli::inspect(&format!("{project}-web-1"))["Config"]["Healthcheck"]["Test"].clone();
    assert_eq!(test, serde_json::json!(["CMD", "true"]));
    cli.destroy(&project);
}
