//! Plans a synthetic 1000-service project from empty and against a fully matching observed state.
//! Goal: at most 50 ms each. Run with `cargo bench -p planner --bench plan`.

#[path = "../tests/diff_support/mod.rs"]
mod diff_support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use diff_support::{
    depends, empty_observed, env, join, observed_matching, port, project, service, volume_mount,
};
use planner::model::{DependsCondition, Project, ServiceSpec};
use planner::plan::{ExternalDigests, PlanOptions};

/// 1000 services across 10 networks; every tenth owns a volume and a published port, and each depends on
/// its predecessor within a group of ten (chains of ten, like tiers of an application).
fn synthetic(services: usize) -> Project {
    let specs: Vec<(String, ServiceSpec)> = (0..services)
        .map(|i| {
            let mut spec = service(&format!("registry.local/app{}:1.{}", i % 50, i % 7));
            env(&mut spec, "SERVICE_INDEX", &i.to_string());
            env(&mut spec, "LOG_LEVEL", "info");
            env(&mut spec, "DB_PASSWORD", "bench");
            join(&mut spec, &format!("net{}", i % 10));
            if i % 10 == 0 {
                volume_mount(&mut spec, &format!("data{i}"), "/data");
                port(&mut spec, 20_000 + i as u16, 80);
            } else {
                depends(
                    &mut spec,
                    &format!("svc{:04}", i - 1),
                    DependsCondition::ServiceStarted,
                );
            }
            (format!("svc{i:04}"), spec)
        })
        .collect();
    project(
        "bench",
        specs.iter().map(|(n, s)| (n.as_str(), s.clone())).collect(),
    )
}

fn bench_plan(c: &mut Criterion) {
    let desired = synthetic(1000);
    let digests = ExternalDigests::default();
    let empty = empty_observed("bench");
    let matching = observed_matching(&desired, &digests);
    let check = planner::diff::plan(
        &desired,
        &matching,
        Some(&desired),
        &digests,
        PlanOptions::default(),
    );
    assert!(
        !check.has_changes(),
        "the matching state must plan no changes"
    );

    c.bench_function("plan 1000 services from empty", |b| {
        b.iter(|| {
            planner::diff::plan(
                black_box(&desired),
                black_box(&empty),
                None,
                &digests,
                PlanOptions::default(),
            )
        })
    });
    c.bench_function("plan 1000 services, all matching", |b| {
        b.iter(|| {
            planner::diff::plan(
                black_box(&desired),
                black_box(&matching),
                Some(&desired),
                &digests,
                PlanOptions::default(),
            )
        })
    });
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
