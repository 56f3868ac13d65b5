//! Ordering and waves (what apply may run in parallel), and the observed-state fingerprint.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod diff_support;

use diff_support::*;
use planner::graph::{find_service_cycle, format_cycle};
use planner::hash::fingerprint;
use planner::model::DependsCondition;
use planner::naming;
use planner::observed::ContainerState;
use planner::plan::{ExternalDigests, Op, PlanOptions};

/// a -> b -> c (a depends on b, b on c), all on the default network, c with a volume.
fn chain() -> planner::Project {
    let mut a = service("busybox:a");
    depends(&mut a, "b", DependsCondition::ServiceHealthy);
    let mut b = service("busybox:b");
    depends(&mut b, "c", DependsCondition::ServiceStarted);
    let mut c = service("busybox:c");
    volume_mount(&mut c, "data", "/data");
    project("chain", vec![("a", a), ("b", b), ("c", c)])
}

#[test]
fn networks_volumes_and_pulls_come_before_containers() {
    let plan = plan_simple(&demo(), &empty_observed("demo"), None);
    for early in ["demo_default", "demo_data", "nginx:1.27", "postgres:16"] {
        assert_eq!(wave_of(&plan, early), 0, "{early}");
    }
    assert_eq!(wave_of(&plan, "demo-db-1"), 1);
    assert_eq!(wave_of(&plan, "demo-web-1"), 2);
    // Every action is in exactly one wave, and waves only point backwards.
    let mut all: Vec<usize> = plan.waves.concat();
    all.sort_unstable();
    assert_eq!(all, (0..plan.actions.len()).collect::<Vec<_>>());
    for (index, wave) in plan.waves.iter().enumerate() {
        for id in wave {
            for dep in &plan.actions[*id].depends_on {
                assert!(
                    plan.waves[..index].iter().any(|w| w.contains(dep)),
                    "{id} needs {dep} in an earlier wave"
                );
            }
        }
    }
}

#[test]
fn depends_on_chains_give_one_wave_per_link() {
    let plan = plan_simple(&chain(), &empty_observed("chain"), None);
    assert_eq!(wave_of(&plan, "chain-c-1"), 1);
    assert_eq!(wave_of(&plan, "chain-b-1"), 2);
    assert_eq!(wave_of(&plan, "chain-a-1"), 3);
    assert_eq!(plan.waves.len(), 4);
}

#[test]
fn deletes_run_in_reverse() {
    let desired = chain();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    // What the engine reports carries compose's depends_on label, the only record of links once the spec
    // is gone.
    for container in &mut observed.containers {
        let label = match container.service.as_str() {
            "a" => "b:service_healthy:false",
            "b" => "c:service_started:false",
            _ => continue,
        };
        container
            .labels
            .insert(naming::LABEL_DEPENDS_ON.into(), label.into());
    }
    let empty = project("chain", vec![]);
    let destroy = planner::diff::plan(
        &empty,
        &observed,
        None,
        &ExternalDigests::default(),
        PlanOptions {
            remove_orphans: true,
            remove_volumes: true,
        },
    );
    assert!(destroy.actions.iter().all(|a| a.op == Op::Delete));
    assert_eq!(destroy.summary.destroy, 5);
    assert_eq!(wave_of(&destroy, "chain-a-1"), 0);
    assert_eq!(wave_of(&destroy, "chain-b-1"), 1);
    assert_eq!(wave_of(&destroy, "chain-c-1"), 2);
    assert_eq!(wave_of(&destroy, "chain_default"), 3);
    assert_eq!(wave_of(&destroy, "chain_data"), 3);
}

#[test]
fn replaces_follow_their_dependencies() {
    let before = chain();
    let observed = observed_matching(&before, &ExternalDigests::default());
    let mut after = before.clone();
    for spec in after.services.values_mut() {
        env(spec, "VERSION", "2");
    }
    let plan = plan_simple(&after, &observed, Some(&before));
    let (a, b, c) = (
        action(&plan, "chain-a-1"),
        action(&plan, "chain-b-1"),
        action(&plan, "chain-c-1"),
    );
    assert!([a.op, b.op, c.op].iter().all(|op| *op == Op::Replace));
    assert_eq!(a.depends_on, vec![b.id]);
    assert_eq!(b.depends_on, vec![c.id]);
    assert!(c.depends_on.is_empty());
    assert_eq!(plan.waves, vec![vec![c.id], vec![b.id], vec![a.id]]);
}

#[test]
fn no_ops_are_in_no_wave() {
    let desired = chain();
    let mut observed = observed_matching(&desired, &ExternalDigests::default());
    observed
        .containers
        .iter_mut()
        .find(|c| c.service == "a")
        .unwrap()
        .state = ContainerState::Exited;
    let plan = plan_simple(&desired, &observed, Some(&desired));
    let a = action(&plan, "chain-a-1");
    assert_eq!(a.op, Op::Start);
    assert!(
        a.depends_on.is_empty(),
        "no-op dependencies are not waited on"
    );
    assert_eq!(plan.waves, vec![vec![a.id]]);
}

#[test]
fn actions_are_sorted_deterministically() {
    let first = plan_simple(&chain(), &empty_observed("chain"), None);
    let second = plan_simple(&chain(), &empty_observed("chain"), None);
    assert_eq!(first, second);
    assert!(first.actions.iter().enumerate().all(|(i, a)| a.id == i));
}

#[test]
fn fingerprint_ignores_listing_order_but_not_facts() {
    let desired = chain();
    let observed = observed_matching(&desired, &ExternalDigests::default());
    let mut shuffled = observed.clone();
    shuffled.containers.reverse();
    shuffled.networks.reverse();
    shuffled.volumes.reverse();
    assert_eq!(fingerprint(&observed), fingerprint(&shuffled));
    assert_eq!(fingerprint(&observed).len(), 64);

    let mut stopped = observed.clone();
    stopped.containers[0].state = ContainerState::Exited;
    assert_ne!(fingerprint(&observed), fingerprint(&stopped));
    let mut rehashed = observed.clone();
    rehashed.containers[1].config_hash = Some("other".into());
    assert_ne!(fingerprint(&observed), fingerprint(&rehashed));
    let mut recreated = observed.clone();
    recreated.containers[2].id = "new-id".into();
    assert_ne!(fingerprint(&observed), fingerprint(&recreated));
    let mut pulled = observed.clone();
    pulled.images_present.insert("busybox:new".into());
    assert_ne!(fingerprint(&observed), fingerprint(&pulled));
    // Health moves on its own and says nothing about what the plan would do.
    let mut healthy = observed.clone();
    healthy.containers[0].health = Some("healthy".into());
    assert_eq!(fingerprint(&observed), fingerprint(&healthy));

    let plan = plan_simple(&desired, &observed, Some(&desired));
    assert_eq!(plan.fingerprint, fingerprint(&observed));
}

#[test]
fn cycles_are_named() {
    let mut web = service("a");
    depends(&mut web, "api", DependsCondition::ServiceStarted);
    let mut api = service("b");
    depends(&mut api, "web", DependsCondition::ServiceStarted);
    let p = project("cyc", vec![("web", web), ("api", api)]);
    assert_eq!(
        format_cycle(&find_service_cycle(&p.services).unwrap()),
        "api -> web -> api"
    );
    assert_eq!(find_service_cycle(&chain().services), None);
}
