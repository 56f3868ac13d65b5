//! `depends_on.<dependency>.restart: true`: a dependent is restarted (same container, same id) after its
//! dependency is replaced or restarted, and only then; the load side reads the key without a warning.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod diff_support;
mod load_support;

use diff_support::*;
use planner::model::{DependsCondition, Project};
use planner::observed::{ContainerState, ObservedState};
use planner::plan::{ExternalDigests, Op, Plan};

/// db <- cache <- web, with the links given; every container running and matching `before`.
fn chain(cache_restarts: bool, web_restarts: bool) -> Project {
    let db = service("postgres:16");
    let mut cache = service("redis:7");
    let mut web = service("nginx:1.27");
    let link = |restarts: bool| {
        if restarts {
            depends_restarting
        } else {
            depends
        }
    };
    link(cache_restarts)(&mut cache, "db", DependsCondition::ServiceStarted);
    link(web_restarts)(&mut web, "cache", DependsCondition::ServiceHealthy);
    project("demo", vec![("db", db), ("cache", cache), ("web", web)])
}

/// What each container's action is after `change` is applied to `before`, against an observed state that
/// matches `before` (with `stopped` containers exited).
fn plan_after(before: &Project, change: impl Fn(&mut Project), stopped: &[&str]) -> Plan {
    let mut observed: ObservedState = observed_matching(before, &ExternalDigests::default());
    for container in observed
        .containers
        .iter_mut()
        .filter(|c| stopped.contains(&c.name.as_str()))
    {
        container.state = ContainerState::Exited;
    }
    let mut after = before.clone();
    change(&mut after);
    plan_simple(&after, &observed, Some(before))
}

fn new_image(service: &'static str) -> impl Fn(&mut Project) {
    move |p: &mut Project| p.services.get_mut(service).unwrap().image = "busybox:2".into()
}

fn no_change(_: &mut Project) {}

struct Case {
    name: &'static str,
    links: (bool, bool),
    change: Box<dyn Fn(&mut Project)>,
    stopped: &'static [&'static str],
    /// (container, op, reason when it is a restart)
    expect: [(&'static str, Op, Option<&'static str>); 3],
}

#[test]
fn dependents_restart_as_compose_does() {
    let cases = [
        Case {
            name: "a replaced dependency restarts the dependent that asks for it",
            links: (false, true),
            change: Box::new(new_image("cache")),
            stopped: &[],
            expect: [
                ("demo-db-1", Op::NoOp, None),
                ("demo-cache-1", Op::Replace, None),
                (
                    "demo-web-1",
                    Op::Restart,
                    Some("restart: its dependency cache is replaced"),
                ),
            ],
        },
        Case {
            name: "without restart: true the dependent is left alone",
            links: (false, false),
            change: Box::new(new_image("cache")),
            stopped: &[],
            expect: [
                ("demo-db-1", Op::NoOp, None),
                ("demo-cache-1", Op::Replace, None),
                ("demo-web-1", Op::NoOp, None),
            ],
        },
        Case {
            name: "restarts cascade down the chain",
            links: (true, true),
            change: Box::new(new_image("db")),
            stopped: &[],
            expect: [
                ("demo-db-1", Op::Replace, None),
                (
                    "demo-cache-1",
                    Op::Restart,
                    Some("restart: its dependency db is replaced"),
                ),
                (
                    "demo-web-1",
                    Op::Restart,
                    Some("restart: its dependency cache is restarted"),
                ),
            ],
        },
        Case {
            name: "a dependent that is replaced itself is not restarted too",
            links: (false, true),
            change: Box::new(|p: &mut Project| {
                new_image("cache")(p);
                new_image("web")(p);
            }),
            stopped: &[],
            expect: [
                ("demo-db-1", Op::NoOp, None),
                ("demo-cache-1", Op::Replace, None),
                ("demo-web-1", Op::Replace, None),
            ],
        },
        Case {
            name: "a stopped dependent is started, not restarted",
            links: (false, true),
            change: Box::new(new_image("cache")),
            stopped: &["demo-web-1"],
            expect: [
                ("demo-db-1", Op::NoOp, None),
                ("demo-cache-1", Op::Replace, None),
                ("demo-web-1", Op::Start, None),
            ],
        },
        Case {
            name: "a dependency that is only started does not restart its dependents",
            links: (true, true),
            change: Box::new(no_change),
            stopped: &["demo-db-1"],
            expect: [
                ("demo-db-1", Op::Start, None),
                ("demo-cache-1", Op::NoOp, None),
                ("demo-web-1", Op::NoOp, None),
            ],
        },
        Case {
            name: "nothing changed, nothing restarts",
            links: (true, true),
            change: Box::new(no_change),
            stopped: &[],
            expect: [
                ("demo-db-1", Op::NoOp, None),
                ("demo-cache-1", Op::NoOp, None),
                ("demo-web-1", Op::NoOp, None),
            ],
        },
    ];
    for case in cases {
        let before = chain(case.links.0, case.links.1);
        let plan = plan_after(&before, &case.change, case.stopped);
        for (name, op, reason) in case.expect {
            let found = action(&plan, name);
            assert_eq!(found.op, op, "{}: {name}", case.name);
            if op == Op::Restart {
                assert_eq!(found.reason.as_deref(), reason, "{}: {name}", case.name);
                assert_eq!(
                    found.existing_id.as_deref(),
                    Some(format!("id-{name}").as_str()),
                    "{}: a restart keeps the container",
                    case.name
                );
                assert!(found.target.is_some(), "{}: {name} has a target", case.name);
            }
        }
    }
}

#[test]
fn a_restart_runs_after_its_cause_and_counts_as_a_change() {
    let before = chain(true, true);
    let plan = plan_after(&before, new_image("db"), &[]);
    let db = action(&plan, "demo-db-1");
    let cache = action(&plan, "demo-cache-1");
    let web = action(&plan, "demo-web-1");
    assert!(cache.depends_on.contains(&db.id), "{:?}", cache.depends_on);
    assert!(web.depends_on.contains(&cache.id), "{:?}", web.depends_on);
    assert!(wave_of(&plan, "demo-db-1") < wave_of(&plan, "demo-cache-1"));
    assert!(wave_of(&plan, "demo-cache-1") < wave_of(&plan, "demo-web-1"));
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (1, 3, 0),
        "the pull of busybox:2, the replace and two restarts"
    );
    let text = planner::render::render(&plan);
    assert!(
        text.contains(
            "container demo-web-1 will be restarted: restart: its dependency cache is restarted"
        ),
        "{text}"
    );
}

#[test]
fn compose_restart_key_is_read_without_a_warning() {
    let yaml = "name: t\nservices:\n  cache: {image: redis}\n  web:\n    image: x\n    depends_on: {cache: {condition: service_started, restart: true}}\n";
    let project = load_support::ok(yaml);
    assert!(project.warnings.is_empty(), "{:?}", project.warnings);
    assert!(project.services["web"].depends_on["cache"].restart);
    let plain = load_support::ok(
        "name: t\nservices:\n  cache: {image: redis}\n  web: {image: x, depends_on: [cache]}\n",
    );
    assert!(!plain.services["web"].depends_on["cache"].restart);
    let wrong = load_support::errors(
        "name: t\nservices:\n  cache: {image: redis}\n  web:\n    image: x\n    depends_on: {cache: {restart: maybe}}\n",
    );
    assert!(
        wrong
            .iter()
            .any(|e| e.path == "services.web.depends_on.cache.restart"),
        "{wrong:?}"
    );
}
