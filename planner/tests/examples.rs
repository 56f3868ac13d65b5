//! The repository's `examples/` all load and plan, and the wordpress plan reads well in at most 40 lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a panic is a failed assertion

#[path = "corpus/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use planner::plan::{ExternalDigests, Op, Plan, PlanOptions, ResourceKind};
use planner::ObservedState;
use support::FsHost;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
}

/// Loads an example as the CLI would (`-f examples/NAME`): its own `name:`, no extra environment.
fn plan_example(file: &Path) -> (planner::Project, Plan) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut opts = support::options_for(file);
    opts.project_name = None;
    let host = FsHost {
        vars: Default::default(),
    };
    let project = planner::load::load_yaml(&text, &opts, &host)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", file.display()));
    let observed = ObservedState {
        project: project.name.clone(),
        ..ObservedState::default()
    };
    let plan = planner::diff::plan(
        &project,
        &observed,
        None,
        &ExternalDigests::default(),
        PlanOptions::default(),
    );
    (project, plan)
}

#[test]
fn every_example_plans() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in ["busybox.yaml", "nginx.yaml", "wordpress.yaml"] {
        assert!(
            names.iter().any(|n| n == required),
            "examples/{required} is missing"
        );
    }
    for file in &files {
        let (project, plan) = plan_example(file);
        assert!(
            !project.services.is_empty(),
            "{}: no services",
            file.display()
        );
        let containers = plan
            .actions
            .iter()
            .filter(|a| a.resource.kind == ResourceKind::Container && a.op == Op::Create)
            .count();
        let replicas: usize = project.services.values().map(|s| s.replicas as usize).sum();
        assert_eq!(
            containers,
            replicas,
            "{}: containers planned",
            file.display()
        );
        assert!(plan.has_changes());
        let rendering = planner::render::render(&plan);
        assert!(
            rendering.contains("Plan: "),
            "{}: no summary line:\n{rendering}",
            file.display()
        );
    }
}

#[test]
fn busybox_example_uses_only_the_local_test_image() {
    let (project, _) = plan_example(&examples_dir().join("busybox.yaml"));
    for (name, service) in &project.services {
        assert_eq!(
            service.image, "mcp-docker-test/busybox:latest",
            "service {name}"
        );
    }
}

#[test]
fn wordpress_rendering_is_short_and_readable() {
    let (project, plan) = plan_example(&examples_dir().join("wordpress.yaml"));
    assert_eq!(project.name, "wordpress");
    let rendering = planner::render::render(&plan);
    let lines = rendering.lines().count();
    assert!(
        lines <= 40,
        "wordpress renders in {lines} lines (at most 40):\n{rendering}"
    );
    assert!(
        rendering.contains("Plan: "),
        "no summary line:\n{rendering}"
    );
    for name in ["wordpress-db-1", "wordpress-wordpress-1"] {
        assert!(
            rendering.contains(name),
            "`{name}` is not named:\n{rendering}"
        );
    }
    assert!(
        rendering.lines().all(|l| l.chars().count() <= 120),
        "a line is wider than 120 columns:\n{rendering}"
    );
    insta::assert_snapshot!("wordpress_plan", rendering);
}
