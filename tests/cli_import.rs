//! The CLI's `import` against the real engine: a project `docker-compose up -d` started is taken over with its
//! container ids unchanged, the next plan is "No changes", and destroy removes it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::cli::CliRunner;
use common::engine::{compose_up, container_id, project_containers, ProjectGuard};
use common::unique;

#[test]
fn import_takes_over_a_compose_project_without_recreating_it() {
    let project = unique("cliimp");
    let _guard = ProjectGuard::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  web:\n    image: {}\n    init: true\n    command: [\"sleep\", \"3600\"]\n",
            common::TEST_IMAGE
        ),
    )
    .unwrap();
    compose_up(&project, &file);
    let web = format!("{project}-web-1");
    let before = container_id(&web);

    let cli = CliRunner::new();
    let file_arg = file.to_str().unwrap();
    let imported = cli.ok(&["import", "-p", &project, "-f", file_arg]);
    assert!(
        imported.contains(&format!("adopted as it is: container {web}")),
        "{imported}"
    );
    assert!(imported.contains("No changes."), "{imported}");
    let planned = cli.ok(&["plan", "-p", &project, "-f", file_arg]);
    assert!(planned.starts_with("No changes."), "{planned}");
    assert_eq!(container_id(&web), before);
    let history = cli.ok(&["history", "-p", &project]);
    assert!(history.contains(" import "), "{history}");

    cli.destroy(&project);
    assert!(project_containers(None, &project).is_empty());
}
