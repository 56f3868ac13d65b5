//! Property tests over random projects and random drift: plans are well-formed (every change in exactly one
//! wave, dependencies in earlier waves, one live action per container name), deterministic, and a state
//! that matches the spec plans no changes.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion

mod diff_support;

use std::collections::{BTreeMap, HashSet};

use diff_support::*;
use planner::model::DependsCondition;
use planner::observed::{
    ContainerState, ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume,
};
use planner::plan::{ExternalDigests, Op, Plan, PlanOptions, ResourceKind, Target};
use proptest::prelude::*;

/// Services `s0..sN`; each may depend on lower-numbered ones (so no cycles), join one of three networks,
/// mount a volume, and run 0..=3 replicas.
#[derive(Debug, Clone)]
struct Shape {
    services: Vec<(u8, u8, bool, Vec<u8>)>, // (network, replicas, volume, depends_on offsets)
    /// Bit k set: network `n{k}` is internal (flipping it between plans recreates the network).
    internal: u8,
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        prop::collection::vec(
            (
                0u8..3,
                0u8..4,
                any::<bool>(),
                prop::collection::vec(1u8..4, 0..3),
            ),
            1..10,
        ),
        0u8..8,
    )
        .prop_map(|(services, internal)| Shape { services, internal })
}

fn build(shape: &Shape, image_tag: &str) -> planner::Project {
    let specs: Vec<(String, planner::model::ServiceSpec)> = shape
        .services
        .iter()
        .enumerate()
        .map(|(i, (network, replicas, volume, deps))| {
            let mut spec = service(&format!("img{i}:{image_tag}"));
            spec.replicas = u32::from(*replicas);
            join(&mut spec, &format!("n{network}"));
            if *volume {
                volume_mount(&mut spec, &format!("v{i}"), "/data");
            }
            for offset in deps {
                if let Some(dep) = i.checked_sub(usize::from(*offset)) {
                    depends(
                        &mut spec,
                        &format!("s{dep}"),
                        DependsCondition::ServiceStarted,
                    );
                }
            }
            (format!("s{i}"), spec)
        })
        .collect();
    let mut project = project(
        "prop",
        specs.iter().map(|(n, s)| (n.as_str(), s.clone())).collect(),
    );
    for (key, network) in project.networks.iter_mut() {
        let bit = key.trim_start_matches('n').parse::<u8>().unwrap();
        network.internal = shape.internal & (1 << bit) != 0;
    }
    project
}

fn check_well_formed(plan: &Plan) {
    let mut wave_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (w, wave) in plan.waves.iter().enumerate() {
        for id in wave {
            assert!(
                wave_of.insert(*id, w).is_none(),
                "action {id} is in two waves"
            );
        }
    }
    for action in &plan.actions {
        match action.op {
            Op::NoOp => assert!(!wave_of.contains_key(&action.id)),
            _ => {
                let w = wave_of[&action.id];
                for dep in &action.depends_on {
                    assert!(
                        wave_of[dep] < w,
                        "{} waits for {dep} in a later wave",
                        action.id
                    );
                }
            }
        }
    }
    let mut live: HashSet<(ResourceKind, &str)> = HashSet::new();
    for action in plan
        .actions
        .iter()
        .filter(|a| a.op != Op::Delete && a.op != Op::NoOp)
    {
        assert!(
            live.insert((action.resource.kind, &action.resource.name)),
            "two actions create {}",
            action.resource.name
        );
    }
    assert_eq!(
        plan.summary.add + plan.summary.change + plan.summary.destroy,
        wave_of.len()
    );
}

/// Applies a plan to an observed state the way the executor does, as plain data.
fn simulate_apply(plan: &Plan, observed: &mut ObservedState) {
    for wave in &plan.waves {
        for id in wave {
            let action = &plan.actions[*id];
            let existing = action.existing_id.as_deref();
            match (action.op, action.resource.kind, &action.target) {
                (Op::Delete, ResourceKind::Container, _) => observed
                    .containers
                    .retain(|c| Some(c.id.as_str()) != existing),
                (Op::Delete, ResourceKind::Network, _) => observed
                    .networks
                    .retain(|n| Some(n.id.as_str()) != existing),
                (Op::Delete, ResourceKind::Volume, _) => observed
                    .volumes
                    .retain(|v| Some(v.name.as_str()) != existing),
                (Op::Pull | Op::Build, _, _) => {
                    observed.images_present.insert(action.resource.name.clone());
                }
                (Op::Create | Op::Replace, _, Some(Target::Container(t))) => {
                    observed
                        .containers
                        .retain(|c| Some(c.id.as_str()) != existing);
                    assert!(
                        observed.containers.iter().all(|c| c.name != t.name),
                        "name {} still taken",
                        t.name
                    );
                    observed.containers.push(ObservedContainer {
                        id: format!("new-{}", t.name),
                        name: t.name.clone(),
                        service: t.service.clone(),
                        number: t.number,
                        config_hash: Some(t.config_hash.clone()),
                        state: ContainerState::Running,
                        health: None,
                        image: t.spec.image.clone(),
                        restart: t.spec.restart.clone(),
                        resources: t.spec.resources.clone(),
                        labels: t.labels.clone(),
                    });
                }
                (Op::Start, _, _) => {
                    for c in observed
                        .containers
                        .iter_mut()
                        .filter(|c| Some(c.id.as_str()) == existing)
                    {
                        c.state = ContainerState::Running;
                    }
                }
                // A restart keeps the container and its config: nothing observable changes.
                (Op::Restart, _, _) => {}
                (Op::UpdateInPlace, _, Some(Target::Container(t))) => {
                    for c in observed
                        .containers
                        .iter_mut()
                        .filter(|c| Some(c.id.as_str()) == existing)
                    {
                        c.restart = t.spec.restart.clone();
                        c.resources = t.spec.resources.clone();
                    }
                }
                (Op::Create, _, Some(Target::Network(t))) => {
                    observed.networks.push(ObservedNetwork {
                        id: format!("new-{}", t.name),
                        name: t.name.clone(),
                        key: action.resource.key.clone(),
                        config_hash: t.labels.get(planner::naming::LABEL_CONFIG_HASH).cloned(),
                        labels: t.labels.clone(),
                    })
                }
                (Op::Create, _, Some(Target::Volume(t))) => observed.volumes.push(ObservedVolume {
                    name: t.name.clone(),
                    key: action.resource.key.clone(),
                    config_hash: t.labels.get(planner::naming::LABEL_CONFIG_HASH).cloned(),
                    labels: t.labels.clone(),
                }),
                other => panic!("unexpected action {other:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matching_state_has_no_changes(shape in shapes()) {
        let desired = build(&shape, "1");
        let observed = observed_matching(&desired, &ExternalDigests::default());
        let plan = plan_simple(&desired, &observed, Some(&desired));
        prop_assert!(!plan.has_changes(), "{:#?}", plan.actions);
    }

    #[test]
    fn plans_are_well_formed_under_drift(
        before in shapes(),
        after in shapes(),
        drift in prop::collection::vec((0usize..40, 0u8..4), 0..8),
        remove_orphans in any::<bool>(),
        remove_volumes in any::<bool>(),
    ) {
        let old = build(&before, "1");
        let new = build(&after, "2");
        let mut observed = observed_matching(&old, &ExternalDigests::default());
        for (index, kind) in drift {
            if observed.containers.is_empty() {
                break;
            }
            let i = index % observed.containers.len();
            match kind {
                0 => { observed.containers.remove(i); }
                1 => observed.containers[i].state = ContainerState::Exited,
                2 => observed.containers[i].config_hash = None,
                _ => {
                    let mut twin = observed.containers[i].clone();
                    twin.id.push_str("-twin");
                    twin.name.push_str("-twin");
                    observed.containers.push(twin);
                }
            }
        }
        let options = PlanOptions { remove_orphans, remove_volumes };
        let plan = planner::diff::plan(&new, &observed, Some(&old), &ExternalDigests::default(), options);
        check_well_formed(&plan);
        let again = planner::diff::plan(&new, &observed, Some(&old), &ExternalDigests::default(), options);
        prop_assert_eq!(&plan, &again);
        // Every desired replica ends with exactly one live container action or no-op.
        for (name, spec) in &new.services {
            for n in 1..=spec.replicas {
                let container = planner::naming::container_name("prop", name, n);
                prop_assert!(plan.actions.iter().any(|a| a.resource.name == container && a.op != Op::Delete));
            }
        }
        // Applying the plan converges: the next plan has nothing left to do.
        simulate_apply(&plan, &mut observed);
        let next = planner::diff::plan(&new, &observed, Some(&new), &ExternalDigests::default(), options);
        prop_assert!(!next.has_changes(), "{:#?}", next.actions);
    }
}
