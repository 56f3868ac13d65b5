//! Builders shared by the diff, ordering and rendering tests: projects made directly from model types, and
//! observed states that match them (what the engine would report right after an apply).
#![allow(dead_code)]

use std::collections::BTreeMap;

use planner::hash;
use planner::model::{
    DependsCondition, DependsOn, EnvValue, Healthcheck, Mount, MountKind, NetworkAttachment,
    PortBinding, Project, Protocol, RestartPolicy, ServiceSpec,
};
use planner::naming;
use planner::observed::{
    ContainerState, ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume,
};
use planner::plan::{Action, ExternalDigests, Op, Plan, PlanOptions, ResourceKind};

pub fn service(image: &str) -> ServiceSpec {
    ServiceSpec {
        image: image.into(),
        replicas: 1,
        ..ServiceSpec::default()
    }
}

pub fn env(spec: &mut ServiceSpec, key: &str, value: &str) {
    spec.environment
        .insert(key.into(), EnvValue::Literal(value.into()));
}

pub fn depends(spec: &mut ServiceSpec, on: &str, condition: DependsCondition) {
    spec.depends_on.insert(
        on.into(),
        DependsOn {
            condition,
            required: true,
            restart: false,
        },
    );
}

/// `depends_on: {on: {condition, restart: true}}`: restarted when `on` is replaced or restarted.
pub fn depends_restarting(spec: &mut ServiceSpec, on: &str, condition: DependsCondition) {
    spec.depends_on.insert(
        on.into(),
        DependsOn {
            condition,
            required: true,
            restart: true,
        },
    );
}

pub fn volume_mount(spec: &mut ServiceSpec, key: &str, target: &str) {
    spec.mounts.push(Mount {
        kind: MountKind::Volume,
        source: Some(key.into()),
        target: target.into(),
        read_only: false,
    });
}

pub fn port(spec: &mut ServiceSpec, published: u16, target: u16) {
    spec.ports.push(PortBinding {
        target,
        published: Some(published),
        host_ip: None,
        protocol: Protocol::Tcp,
    });
}

pub fn join(spec: &mut ServiceSpec, network: &str) {
    spec.networks
        .insert(network.into(), NetworkAttachment::default());
}

/// A project; services that name no network get `default`, as the loader does.
pub fn project(name: &str, services: Vec<(&str, ServiceSpec)>) -> Project {
    let mut project = Project {
        name: name.into(),
        ..Project::default()
    };
    for (service, mut spec) in services {
        if spec.networks.is_empty() {
            spec.networks
                .insert("default".into(), NetworkAttachment::default());
        }
        for key in spec.networks.keys() {
            project.networks.entry(key.clone()).or_default();
        }
        for mount in &spec.mounts {
            if let (MountKind::Volume, Some(key)) = (mount.kind, &mount.source) {
                project.volumes.entry(key.clone()).or_default();
            }
        }
        project.services.insert(service.into(), spec);
    }
    project
}

/// `demo`: web (nginx, port 9000, depends on db) + db (postgres with a volume).
pub fn demo() -> Project {
    let mut web = service("nginx:1.27");
    port(&mut web, 9000, 80);
    env(&mut web, "DB_HOST", "db");
    depends(&mut web, "db", DependsCondition::ServiceStarted);
    let mut db = service("postgres:16");
    env(&mut db, "POSTGRES_PASSWORD", "hunter2");
    volume_mount(&mut db, "data", "/var/lib/postgresql/data");
    project("demo", vec![("web", web), ("db", db)])
}

/// wordpress + mysql: a network, two volumes, a healthcheck and `depends_on: service_healthy`.
pub fn wordpress() -> Project {
    let mut db = service("mysql:8.0");
    env(&mut db, "MYSQL_DATABASE", "wordpress");
    env(&mut db, "MYSQL_USER", "wordpress");
    env(&mut db, "MYSQL_PASSWORD", "wordpress");
    env(&mut db, "MYSQL_ROOT_PASSWORD", "somewordpress");
    volume_mount(&mut db, "db_data", "/var/lib/mysql");
    join(&mut db, "backend");
    db.restart = RestartPolicy::Always;
    db.healthcheck = Some(Healthcheck {
        test: vec![
            "CMD".into(),
            "mysqladmin".into(),
            "ping".into(),
            "-h".into(),
            "localhost".into(),
        ],
        interval_ns: Some(10_000_000_000),
        timeout_ns: Some(5_000_000_000),
        retries: Some(5),
        start_period_ns: None,
    });
    let mut wp = service("wordpress:6.5");
    port(&mut wp, 8080, 80);
    env(&mut wp, "WORDPRESS_DB_HOST", "db:3306");
    env(&mut wp, "WORDPRESS_DB_USER", "wordpress");
    env(&mut wp, "WORDPRESS_DB_PASSWORD", "wordpress");
    env(&mut wp, "WORDPRESS_DB_NAME", "wordpress");
    volume_mount(&mut wp, "wp_data", "/var/www/html");
    join(&mut wp, "backend");
    wp.restart = RestartPolicy::Always;
    depends(&mut wp, "db", DependsCondition::ServiceHealthy);
    project("wp", vec![("db", db), ("wordpress", wp)])
}

/// What the engine reports after applying `project` with `digests`: every container running with the
/// desired hash, networks and volumes with theirs, every image present.
pub fn observed_matching(project: &Project, digests: &ExternalDigests) -> ObservedState {
    let mut observed = ObservedState {
        project: project.name.clone(),
        ..ObservedState::default()
    };
    for (name, spec) in &project.services {
        let config_hash = hash::service_config_hash(project, name, digests);
        for number in 1..=spec.replicas {
            let container_name = match (&spec.container_name, spec.replicas) {
                (Some(n), 1) => n.clone(),
                _ => naming::container_name(&project.name, name, number),
            };
            observed.containers.push(ObservedContainer {
                id: format!("id-{container_name}"),
                labels: naming::container_labels(
                    &project.name,
                    name,
                    number,
                    &config_hash,
                    &spec.labels,
                ),
                name: container_name,
                service: name.clone(),
                number,
                config_hash: Some(config_hash.clone()),
                state: ContainerState::Running,
                health: None,
                image: spec.image.clone(),
                restart: spec.restart.clone(),
                resources: spec.resources.clone(),
            });
        }
        observed.images_present.insert(spec.image.clone());
    }
    for (key, spec) in project.networks.iter().filter(|(_, n)| !n.external) {
        let name = hash::network_engine_name(project, key);
        observed.networks.push(ObservedNetwork {
            id: format!("net-{name}"),
            name,
            key: key.clone(),
            config_hash: Some(hash::network_config_hash(project, key)),
            labels: naming::scoped_labels(
                &project.name,
                naming::LABEL_NETWORK,
                key,
                "",
                &spec.labels,
            ),
        });
    }
    for (key, spec) in project.volumes.iter().filter(|(_, v)| !v.external) {
        let name = hash::volume_engine_name(project, key);
        observed.volumes.push(ObservedVolume {
            name,
            key: key.clone(),
            config_hash: Some(hash::volume_config_hash(project, key)),
            labels: naming::scoped_labels(
                &project.name,
                naming::LABEL_VOLUME,
                key,
                "",
                &spec.labels,
            ),
        });
    }
    observed
}

pub fn empty_observed(project: &str) -> ObservedState {
    ObservedState {
        project: project.into(),
        ..ObservedState::default()
    }
}

pub fn plan_simple(desired: &Project, observed: &ObservedState, last: Option<&Project>) -> Plan {
    planner::diff::plan(
        desired,
        observed,
        last,
        &ExternalDigests::default(),
        PlanOptions::default(),
    )
}

/// The action on the resource with this engine name (the non-delete one when both exist).
pub fn action<'p>(plan: &'p Plan, name: &str) -> &'p Action {
    plan.actions
        .iter()
        .filter(|a| a.resource.name == name)
        .min_by_key(|a| a.op == Op::Delete)
        .unwrap_or_else(|| panic!("no action for {name} in {:#?}", plan.actions))
}

pub fn ops(plan: &Plan) -> Vec<(ResourceKind, String, Op)> {
    plan.actions
        .iter()
        .map(|a| (a.resource.kind, a.resource.name.clone(), a.op))
        .collect()
}

/// Wave index of the action with this name.
pub fn wave_of(plan: &Plan, name: &str) -> usize {
    let id = action(plan, name).id;
    plan.waves
        .iter()
        .position(|w| w.contains(&id))
        .unwrap_or_else(|| panic!("{name} is in no wave"))
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
