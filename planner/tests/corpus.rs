//! The compose corpus: every file of `tests/corpus/` loads, plans from nothing and renders as its leading
//! `# expect:` comment says, or is refused with the errors it names.
//!
//! The test lists the directory, so a new file without an expectation fails rather than going unchecked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a panic is a failed assertion

#[path = "corpus/support.rs"]
mod support;

use std::path::Path;

use planner::model::Project;
use planner::plan::{ExternalDigests, Op, Plan, PlanOptions, ResourceKind};
use planner::ObservedState;
use support::{corpus_env, corpus_files, expectation, options_for, Expectation, FsHost};

fn load(file: &Path, profiles: &[&str]) -> Result<Project, planner::SpecErrors> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut opts = options_for(file);
    opts.profiles = profiles.iter().map(|p| p.to_string()).collect();
    planner::load::load_yaml(&text, &opts, &FsHost { vars: corpus_env() })
}

fn plan_from_nothing(project: &Project) -> Plan {
    let observed = ObservedState {
        project: project.name.clone(),
        ..ObservedState::default()
    };
    planner::diff::plan(
        project,
        &observed,
        None,
        &ExternalDigests::default(),
        PlanOptions::default(),
    )
}

fn count(plan: &Plan, kind: ResourceKind, op: Op) -> usize {
    plan.actions
        .iter()
        .filter(|a| a.resource.kind == kind && a.op == op)
        .count()
}

/// Checks one accepted file; returns what is wrong with it.
fn check_accepted(
    file: &Path,
    containers: usize,
    builds: Option<usize>,
    warning: Option<&str>,
) -> Vec<String> {
    let project = match load(file, &[]) {
        Ok(project) => project,
        Err(errors) => return vec![format!("expected to load, but: {errors}")],
    };
    let mut problems = Vec::new();
    if project.name != support::PROJECT {
        problems.push(format!(
            "project name `{}`, expected the given `{}`",
            project.name,
            support::PROJECT
        ));
    }
    let replicas: usize = project.services.values().map(|s| s.replicas as usize).sum();
    if replicas != containers {
        problems.push(format!(
            "services sum to {replicas} replicas, expected {containers}"
        ));
    }
    let plan = plan_from_nothing(&project);
    let created = count(&plan, ResourceKind::Container, Op::Create);
    if created != containers {
        problems.push(format!(
            "plan creates {created} containers, expected {containers}"
        ));
    }
    if plan
        .actions
        .iter()
        .any(|a| !matches!(a.op, Op::Create | Op::Pull | Op::Build))
    {
        problems.push("a plan from nothing holds an op other than create, pull or build".into());
    }
    if let Some(builds) = builds {
        let planned = count(&plan, ResourceKind::Image, Op::Build);
        if planned != builds {
            problems.push(format!("plan builds {planned} images, expected {builds}"));
        }
    }
    let scheduled: usize = plan.waves.iter().map(Vec::len).sum();
    if scheduled != plan.actions.len() {
        problems.push(format!(
            "waves schedule {scheduled} of {} actions",
            plan.actions.len()
        ));
    }
    let rendering = planner::render::render(&plan);
    if !rendering.contains(&format!("Plan: {}", plan.summary.add)) {
        problems.push(format!(
            "rendering lacks the summary line `Plan: {} to add`:\n{rendering}",
            plan.summary.add
        ));
    }
    for (service, spec) in &project.services {
        let shown = spec.container_name.as_deref().unwrap_or(service);
        if !rendering.contains(shown) {
            problems.push(format!(
                "rendering never names service `{service}` (as `{shown}`)"
            ));
        }
    }
    if let Some(warning) = warning {
        if !project
            .warnings
            .iter()
            .chain(&plan.warnings)
            .any(|w| w.contains(warning))
        {
            problems.push(format!(
                "no warning mentions `{warning}`; warnings: {:?}",
                project.warnings
            ));
        }
    }
    problems
}

fn check_refused(file: &Path, expected: &[support::ExpectedError]) -> Vec<String> {
    let errors = match load(file, &[]) {
        Ok(_) => return vec!["expected to be refused, but it loaded".into()],
        Err(errors) => errors,
    };
    let mut problems = Vec::new();
    for want in expected {
        if !errors.0.iter().any(|e| want.matches(e)) {
            problems.push(format!("no error matches {want:?}; got:\n{errors:#?}"));
        }
    }
    for e in &errors.0 {
        if e.message.is_empty() || e.path.is_empty() && e.kind != planner::ErrorKind::Syntax {
            problems.push(format!("error without a path or message: {e:?}"));
        }
    }
    problems
}

#[test]
fn every_corpus_file_plans_or_is_refused_as_expected() {
    let files = corpus_files();
    let mut accepted = 0;
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let problems = match expectation(&text) {
            Err(why) => vec![why],
            Ok(Expectation::Accepted {
                containers,
                builds,
                warning,
            }) => {
                accepted += 1;
                if name.starts_with("refused-") {
                    vec!["a `refused-` file must expect an error".into()]
                } else {
                    check_accepted(file, containers, builds, warning.as_deref())
                }
            }
            Ok(Expectation::Refused(expected)) => {
                if name.starts_with("refused-") {
                    check_refused(file, &expected)
                } else {
                    vec!["a file expecting an error must be named `refused-*.yaml`".into()]
                }
            }
        };
        failures.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(
        accepted >= 25,
        "the corpus needs at least 25 accepted files, has {accepted}"
    );
    assert!(
        failures.is_empty(),
        "{} corpus problems:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn selecting_profiles_adds_their_services() {
    let file = support::corpus_dir().join("profiles.yaml");
    let names = |profiles: &[&str]| -> Vec<String> {
        load(&file, profiles)
            .unwrap()
            .services
            .into_keys()
            .collect()
    };
    assert_eq!(names(&[]), ["app", "db"]);
    assert_eq!(names(&["debug"]), ["app", "db", "pgadmin"]);
    assert_eq!(
        names(&["debug", "tools"]),
        ["app", "db", "migrate", "pgadmin"]
    );
}

#[test]
fn interpolation_forms_resolve_like_compose() {
    let project = load(&support::corpus_dir().join("interpolation.yaml"), &[]).unwrap();
    let app = &project.services["app"];
    // The environment's IMAGE_TAG wins over the one in `.env`.
    assert_eq!(app.image, "registry.example.com/team/app:3.2.1");
    let env = |key: &str| match app.environment.get(key) {
        Some(planner::model::EnvValue::Literal(v)) => v.clone(),
        other => panic!("{key}: {other:?}"),
    };
    for (key, value) in [
        ("TOKEN", "tok-123"),
        ("TOKEN_AGAIN", "tok-123"),
        ("PLAIN", "3.2.1"),
        ("UNSET_DASH", "fallback"),
        ("EMPTY_COLON_DASH", "used-because-empty"),
        ("EMPTY_DASH", ""),
        ("ALT_SET", "token-is-set"),
        ("ALT_UNSET", ""),
        ("NESTED", "3.2.1-nested"),
        ("DOLLAR", "price is $5"),
        ("SHELL_EXPR", "${HOME}/cache"),
        ("FROM_DOT_ENV", "registry.example.com/team/app"),
    ] {
        assert_eq!(env(key), value, "environment.{key}");
    }
    let published: Vec<Option<u16>> = app.ports.iter().map(|p| p.published).collect();
    assert_eq!(published, [Some(8089), Some(9102)]);
    assert_eq!(
        app.command.as_deref().unwrap(),
        ["sh", "-c", "echo $HOSTNAME started with tag 3.2.1"].map(String::from)
    );
}

#[test]
fn dot_env_of_the_project_dir_is_read() {
    let project = load(&support::corpus_dir().join("wordpress-mysql.yaml"), &[]).unwrap();
    assert_eq!(project.services["wordpress"].image, "wordpress:6.5-apache");
    let project = load(&support::corpus_dir().join("anchors-merge.yaml"), &[]).unwrap();
    assert_eq!(
        project.services["jobs"].image,
        "ghcr.io/acme/monolith:2024.07"
    );
}

#[test]
fn secret_values_never_reach_the_plan() {
    let project = load(&support::corpus_dir().join("secrets-file.yaml"), &[]).unwrap();
    let app = &project.services["app"];
    let targets: Vec<&str> = app.secrets.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/run/secrets/db_password",
            "/run/secrets/stripe",
            "/etc/billing/webhook-token"
        ]
    );
    let plan = plan_from_nothing(&project);
    let everything = format!(
        "{}\n{}",
        serde_json::to_string(&plan).unwrap(),
        planner::render::render(&plan)
    );
    // The third is API_TOKEN's value, the source of the `environment:` secret.
    for secret in [
        "correct-horse-battery-staple",
        "sk_test_corpus_api_key",
        "tok-123",
    ] {
        assert!(
            !everything.contains(secret),
            "secret value `{secret}` leaked into the plan"
        );
    }
}
