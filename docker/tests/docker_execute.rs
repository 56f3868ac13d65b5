//! `execute_plan` and `observe` against the real engine, with hand-built plans (the planner's diff is tested
//! on its own): create, wait for health, replace, update, delete, failures that skip dependents, cancellation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docker_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use docker_layer::execute::{execute_plan, ApplyReport, ExecOptions, StepEvent};
use docker_layer::observe::observe;
use docker_layer::DockerClient;
use docker_support::{
    cleanup_project, docker, free_port, unique, ContainerGuard, ProjectGuard, TEST_IMAGE,
};
use futures_util::StreamExt;
use planner::model::{
    DependsCondition, EnvValue, FileMount, Healthcheck, Mount, MountKind, NetworkAttachment,
    NetworkSpec, PortBinding, Project, Protocol, Resources, RestartPolicy, ServiceSpec, VolumeSpec,
};
use planner::naming;
use planner::observed::ContainerState;
use planner::plan::{
    Action, ContainerTarget, ImageTarget, NetworkTarget, Op, Plan, ResourceKind, ResourceRef,
    Summary, Target, VolumeTarget, WaitFor,
};
use tokio_util::sync::CancellationToken;

const SECOND_NS: i64 = 1_000_000_000;

fn options(secrets: &[(&str, &str)]) -> (ExecOptions, Arc<Mutex<Vec<StepEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let opts = ExecOptions {
        engine_host: docker_support::host(),
        concurrency: 4,
        dependency_timeout: Duration::from_secs(30),
        secrets: secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect(),
        configs: BTreeMap::from([("site".to_string(), b"listen=80\n".to_vec())]),
        cancel: CancellationToken::new(),
        events: Arc::new(move |e| sink.lock().unwrap().push(e)),
        health_gate: docker_layer::execute::HealthGate::Started,
    };
    (opts, events)
}

fn plan(project: &str, actions: Vec<Action>, waves: Vec<Vec<usize>>) -> Plan {
    Plan {
        project: project.into(),
        actions,
        waves,
        fingerprint: String::new(),
        summary: Summary::default(),
        warnings: vec![],
        orphans: vec![],
        kept_volumes: vec![],
    }
}

fn action(
    id: usize,
    kind: ResourceKind,
    name: &str,
    key: &str,
    op: Op,
    depends_on: Vec<usize>,
    target: Option<Target>,
) -> Action {
    Action {
        id,
        resource: ResourceRef {
            kind,
            name: name.into(),
            key: key.into(),
            number: None,
        },
        op,
        changes: vec![],
        reason: None,
        depends_on,
        target,
        existing_id: None,
        existing_running: false,
    }
}

fn network(id: usize, project: &str) -> Action {
    let name = naming::scoped_name(project, "default");
    let labels = naming::scoped_labels(
        project,
        naming::LABEL_NETWORK,
        "default",
        "nethash",
        &BTreeMap::new(),
    );
    let target = Target::Network(NetworkTarget {
        name: name.clone(),
        driver: None,
        internal: false,
        labels,
        enable_ipv6: false,
        ipam: None,
    });
    action(
        id,
        ResourceKind::Network,
        &name,
        "default",
        Op::Create,
        vec![],
        Some(target),
    )
}

fn volume(id: usize, project: &str) -> Action {
    let name = naming::scoped_name(project, "data");
    let labels = naming::scoped_labels(
        project,
        naming::LABEL_VOLUME,
        "data",
        "volhash",
        &BTreeMap::new(),
    );
    let target = Target::Volume(VolumeTarget {
        name: name.clone(),
        driver: None,
        labels,
    });
    action(
        id,
        ResourceKind::Volume,
        &name,
        "data",
        Op::Create,
        vec![],
        Some(target),
    )
}

fn service(command: &str) -> ServiceSpec {
    ServiceSpec {
        image: TEST_IMAGE.into(),
        command: Some(vec!["sh".into(), "-c".into(), command.into()]),
        init: Some(true),
        stop_grace_period_secs: Some(2),
        networks: BTreeMap::from([("default".to_string(), NetworkAttachment::default())]),
        replicas: 1,
        ..Default::default()
    }
}

fn container(
    id: usize,
    project: &str,
    name_of_service: &str,
    spec: ServiceSpec,
    hash: &str,
    depends_on: Vec<usize>,
    wait_for: Vec<WaitFor>,
) -> Action {
    let name = naming::container_name(project, name_of_service, 1);
    let labels = naming::container_labels(project, name_of_service, 1, hash, &spec.labels);
    let target = Target::Container(ContainerTarget {
        service: name_of_service.into(),
        number: 1,
        name: name.clone(),
        spec,
        labels,
        config_hash: hash.into(),
        network_names: BTreeMap::from([(
            "default".to_string(),
            naming::scoped_name(project, "default"),
        )]),
        volume_names: BTreeMap::from([("data".to_string(), naming::scoped_name(project, "data"))]),
        wait_for,
    });
    let mut a = action(
        id,
        ResourceKind::Container,
        &name,
        name_of_service,
        Op::Create,
        depends_on,
        Some(target),
    );
    a.resource.number = Some(1);
    a
}

fn db_spec() -> ServiceSpec {
    let mut db = service("echo db-started; trap exit TERM; while true; do sleep 1; done");
    db.healthcheck = Some(Healthcheck {
        test: vec![
            "CMD-SHELL".into(),
            "test -f /data/ready || touch /data/ready".into(),
        ],
        interval_ns: Some(SECOND_NS),
        timeout_ns: Some(SECOND_NS),
        retries: Some(3),
        start_period_ns: None,
    });
    db.mounts = vec![Mount {
        kind: MountKind::Volume,
        source: Some("data".into()),
        target: "/data".into(),
        read_only: false,
    }];
    db
}

fn web_spec(port: u16, greeting: &str) -> ServiceSpec {
    let mut web = service("mkdir -p /www && cp /run/secrets/token /www/token && cp /etc/site.conf /www/site && ls -ln /run/secrets/token > /www/perm && echo \"$GREETING $DB_PASSWORD\" > /www/index.html && exec httpd -f -p 80 -h /www");
    web.ports = vec![PortBinding {
        target: 80,
        published: Some(port),
        host_ip: Some("127.0.0.1".into()),
        protocol: Protocol::Tcp,
    }];
    web.environment = BTreeMap::from([
        ("GREETING".to_string(), EnvValue::Literal(greeting.into())),
        (
            "DB_PASSWORD".to_string(),
            EnvValue::Secret {
                secret: "db_password".into(),
            },
        ),
    ]);
    web.secrets = vec![FileMount {
        source: "token".into(),
        target: "/run/secrets/token".into(),
        uid: None,
        gid: None,
        mode: None,
    }];
    web.configs = vec![FileMount {
        source: "site".into(),
        target: "/etc/site.conf".into(),
        uid: None,
        gid: None,
        mode: None,
    }];
    web
}

fn wait_db_healthy(project: &str) -> Vec<WaitFor> {
    vec![WaitFor {
        service: "db".into(),
        container: naming::container_name(project, "db", 1),
        condition: DependsCondition::ServiceHealthy,
    }]
}

async fn http_get(port: u16, path: &str) -> String {
    let url = format!("http://127.0.0.1:{port}{path}");
    for _ in 0..50 {
        if let Ok(resp) = reqwest::get(&url).await {
            if resp.status().is_success() {
                return resp.text().await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered");
}

async fn container_id(docker: &Docker, name: &str) -> String {
    docker
        .inspect_container(name, None)
        .await
        .unwrap()
        .id
        .unwrap()
}

fn names(steps: &[docker_layer::execute::StepOutcome]) -> Vec<String> {
    steps.iter().map(|s| s.resource.name.clone()).collect()
}

fn assert_succeeded(report: &ApplyReport) {
    assert!(report.succeeded(), "apply failed: {report:#?}");
}

#[tokio::test]
async fn creates_replaces_updates_observes_and_deletes_a_project() {
    let project = unique("mdtx");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let port = free_port();
    let (opts, events) = options(&[("db_password", "s3cret-pw"), ("token", "tok-123")]);

    let create = plan(
        &project,
        vec![
            network(0, &project),
            volume(1, &project),
            container(2, &project, "db", db_spec(), "dbhash", vec![0, 1], vec![]),
            container(
                3,
                &project,
                "web",
                web_spec(port, "hello"),
                "webhash1",
                vec![0, 2],
                wait_db_healthy(&project),
            ),
        ],
        vec![vec![0, 1], vec![2], vec![3]],
    );
    let report = execute_plan(&docker_support::client().await, &create, &opts).await;
    assert_succeeded(&report);
    assert_eq!(report.done.len(), 4);

    // Labels, DNS alias, secret file and env secret, published port.
    let web_name = naming::container_name(&project, "web", 1);
    let inspect = docker.inspect_container(&web_name, None).await.unwrap();
    let labels = inspect.config.as_ref().unwrap().labels.clone().unwrap();
    assert_eq!(labels.get(naming::LABEL_MANAGED_BY), Some(&project));
    assert_eq!(
        labels.get(naming::LABEL_SERVICE).map(String::as_str),
        Some("web")
    );
    assert_eq!(
        labels.get(naming::LABEL_CONFIG_HASH).map(String::as_str),
        Some("webhash1")
    );
    let endpoints = inspect.network_settings.unwrap().networks.unwrap();
    let endpoint = endpoints
        .get(&naming::scoped_name(&project, "default"))
        .expect("joined the project network");
    assert!(endpoint
        .aliases
        .clone()
        .unwrap_or_default()
        .contains(&"web".to_string()));
    let env = inspect.config.unwrap().env.unwrap();
    assert!(env.contains(&"DB_PASSWORD=s3cret-pw".to_string()));
    assert_eq!(http_get(port, "/").await.trim(), "hello s3cret-pw");
    assert_eq!(http_get(port, "/token").await, "tok-123");
    assert_eq!(http_get(port, "/site").await, "listen=80\n");
    let perm = http_get(port, "/perm").await;
    assert!(
        perm.starts_with("-r--r--r--"),
        "secret files are read-only: {perm}"
    );
    // The web step waited for db's health, and said so.
    let waited = events.lock().unwrap().iter().any(|e| matches!(e, StepEvent::Progress { action_id: 3, message } if message.contains("service_healthy")));
    assert!(waited, "no progress event for the health wait");

    // observe() sees what we created, stopped containers included.
    let db_name = naming::container_name(&project, "db", 1);
    docker
        .stop_container(
            &db_name,
            None::<bollard::query_parameters::StopContainerOptions>,
        )
        .await
        .unwrap();
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        None,
    )
    .await
    .unwrap();
    assert_eq!(observed.containers.len(), 2);
    let db = observed
        .containers
        .iter()
        .find(|c| c.service == "db")
        .unwrap();
    assert_eq!(db.state, ContainerState::Exited);
    assert_eq!(db.config_hash.as_deref(), Some("dbhash"));
    let web = observed
        .containers
        .iter()
        .find(|c| c.service == "web")
        .unwrap();
    assert_eq!(web.state, ContainerState::Running);
    assert_eq!(web.number, 1);
    assert_eq!(observed.networks.len(), 1);
    assert_eq!(observed.networks[0].key, "default");
    assert_eq!(observed.volumes.len(), 1);
    assert_eq!(observed.volumes[0].key, "data");

    // Start brings the stopped db back.
    let mut start = action(
        0,
        ResourceKind::Container,
        &db_name,
        "db",
        Op::Start,
        vec![],
        None,
    );
    start.existing_id = Some(db.id.clone());
    assert_succeeded(
        &execute_plan(
            &docker_support::client().await,
            &plan(&project, vec![start], vec![vec![0]]),
            &opts,
        )
        .await,
    );
    assert!(docker
        .inspect_container(&db_name, None)
        .await
        .unwrap()
        .state
        .unwrap()
        .running
        .unwrap());

    // Replace keeps the name, changes the id, and serves the new config.
    let old_id = container_id(&docker, &web_name).await;
    let mut replace = container(
        0,
        &project,
        "web",
        web_spec(port, "bonjour"),
        "webhash2",
        vec![],
        wait_db_healthy(&project),
    );
    replace.op = Op::Replace;
    replace.existing_id = Some(old_id.clone());
    let report = execute_plan(
        &docker_support::client().await,
        &plan(&project, vec![replace], vec![vec![0]]),
        &opts,
    )
    .await;
    assert_succeeded(&report);
    let new_id = container_id(&docker, &web_name).await;
    assert_ne!(old_id, new_id);
    assert_eq!(report.done[0].engine_id.as_deref(), Some(new_id.as_str()));
    assert_eq!(http_get(port, "/").await.trim(), "bonjour s3cret-pw");
    assert_eq!(
        observe(
            &docker_support::client().await,
            &docker_support::host(),
            &project,
            None
        )
        .await
        .unwrap()
        .containers
        .len(),
        2,
        "no leftover replacement"
    );

    // Update in place: restart policy and limits change, the id does not.
    let mut spec = web_spec(port, "bonjour");
    spec.restart = RestartPolicy::UnlessStopped;
    spec.resources = Resources {
        memory_bytes: Some(64 * 1024 * 1024),
        cpu_shares: Some(512),
        ..Default::default()
    };
    let mut update = container(0, &project, "web", spec, "webhash2", vec![], vec![]);
    update.op = Op::UpdateInPlace;
    update.existing_id = Some(new_id.clone());
    assert_succeeded(
        &execute_plan(
            &docker_support::client().await,
            &plan(&project, vec![update], vec![vec![0]]),
            &opts,
        )
        .await,
    );
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        None,
    )
    .await
    .unwrap();
    let web = observed
        .containers
        .iter()
        .find(|c| c.service == "web")
        .unwrap();
    assert_eq!(web.id, new_id);
    assert_eq!(web.restart, RestartPolicy::UnlessStopped);
    assert_eq!(web.resources.memory_bytes, Some(64 * 1024 * 1024));
    assert_eq!(web.resources.cpu_shares, Some(512));

    // Delete everything, volume included.
    let delete =
        |id: usize, kind, name: &str, deps| action(id, kind, name, "", Op::Delete, deps, None);
    let destroy = plan(
        &project,
        vec![
            delete(0, ResourceKind::Container, &web_name, vec![]),
            delete(1, ResourceKind::Container, &db_name, vec![]),
            delete(
                2,
                ResourceKind::Network,
                &naming::scoped_name(&project, "default"),
                vec![0, 1],
            ),
            delete(
                3,
                ResourceKind::Volume,
                &naming::scoped_name(&project, "data"),
                vec![0, 1],
            ),
        ],
        vec![vec![0, 1], vec![2, 3]],
    );
    assert_succeeded(&execute_plan(&docker_support::client().await, &destroy, &opts).await);
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        None,
    )
    .await
    .unwrap();
    assert!(
        observed.containers.is_empty()
            && observed.networks.is_empty()
            && observed.volumes.is_empty(),
        "{observed:#?}"
    );
    cleanup_project(&docker, &project).await;
}

#[tokio::test]
async fn a_failed_step_skips_its_dependents_and_independent_steps_still_run() {
    let project = unique("mdtf");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (opts, events) = options(&[]);
    let missing = format!("127.0.0.1:5000/{}:1", unique("mdt-missing-"));
    let mut needs_missing = service("sleep 1000");
    needs_missing.image = missing.clone();
    let pull = action(
        1,
        ResourceKind::Image,
        &missing,
        "broken",
        Op::Pull,
        vec![],
        Some(Target::Image(ImageTarget {
            reference: missing.clone(),
            build: None,
        })),
    );
    let report = execute_plan(
        &docker_support::client().await,
        &plan(
            &project,
            vec![
                network(0, &project),
                pull,
                container(
                    2,
                    &project,
                    "broken",
                    needs_missing,
                    "h",
                    vec![0, 1],
                    vec![],
                ),
                container(
                    3,
                    &project,
                    "after",
                    service("sleep 1000"),
                    "h",
                    vec![2],
                    vec![],
                ),
                container(
                    4,
                    &project,
                    "independent",
                    service("trap exit TERM; while true; do sleep 1; done"),
                    "h",
                    vec![0],
                    vec![],
                ),
            ],
            vec![vec![0, 1], vec![2, 4], vec![3]],
        ),
        &opts,
    )
    .await;
    assert!(!report.succeeded());
    assert_eq!(names(&report.failed), vec![missing.clone()]);
    assert!(!report.failed[0].message.is_empty());
    assert_eq!(
        names(&report.skipped),
        vec![
            naming::container_name(&project, "broken", 1),
            naming::container_name(&project, "after", 1)
        ]
    );
    // Transitive skips name the step that actually failed.
    for skipped in &report.skipped {
        assert!(skipped.message.contains("step #1"), "{}", skipped.message);
    }
    assert_eq!(
        names(&report.done),
        vec![
            naming::scoped_name(&project, "default"),
            naming::container_name(&project, "independent", 1)
        ]
    );
    let events = events.lock().unwrap().clone();
    assert!(events
        .iter()
        .any(|e| matches!(e, StepEvent::Failed { action_id: 1, .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, StepEvent::Skipped { action_id: 3, .. })));
    cleanup_project(&docker, &project).await;
}

#[tokio::test]
async fn an_unhealthy_dependency_fails_with_its_state_and_logs() {
    let project = unique("mdth");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (opts, _) = options(&[]);
    let mut db = service("echo db-is-broken-today; trap exit TERM; while true; do sleep 1; done");
    db.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), "exit 1".into()],
        interval_ns: Some(SECOND_NS),
        timeout_ns: Some(SECOND_NS),
        retries: Some(1),
        start_period_ns: None,
    });
    let report = execute_plan(
        &docker_support::client().await,
        &plan(
            &project,
            vec![
                network(0, &project),
                container(1, &project, "db", db, "h", vec![0], vec![]),
                container(
                    2,
                    &project,
                    "web",
                    service("sleep 1000"),
                    "h",
                    vec![1],
                    wait_db_healthy(&project),
                ),
            ],
            vec![vec![0], vec![1], vec![2]],
        ),
        &opts,
    )
    .await;
    assert_eq!(
        names(&report.failed),
        vec![naming::container_name(&project, "web", 1)]
    );
    let message = &report.failed[0].message;
    assert!(
        message.contains("unhealthy") && message.contains("db-is-broken-today"),
        "{message}"
    );
    // The waiting container was never created.
    assert!(docker
        .inspect_container(&naming::container_name(&project, "web", 1), None)
        .await
        .is_err());
    cleanup_project(&docker, &project).await;
}

#[tokio::test]
async fn cancellation_skips_the_remaining_steps() {
    let project = unique("mdtc");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (mut opts, _) = options(&[]);
    let cancel = opts.cancel.clone();
    // Cancel as soon as the first step is done: the next waves must not run.
    opts.events = Arc::new(move |e| {
        if matches!(e, StepEvent::Done { action_id: 0, .. }) {
            cancel.cancel();
        }
    });
    let report = execute_plan(
        &docker_support::client().await,
        &plan(
            &project,
            vec![
                network(0, &project),
                volume(1, &project),
                container(2, &project, "db", db_spec(), "h", vec![0, 1], vec![]),
            ],
            vec![vec![0], vec![1], vec![2]],
        ),
        &opts,
    )
    .await;
    assert!(report.cancelled);
    assert_eq!(
        names(&report.done),
        vec![naming::scoped_name(&project, "default")]
    );
    assert_eq!(report.skipped.len(), 2);
    assert!(report.skipped.iter().all(|s| s.message == "cancelled"));
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        None,
    )
    .await
    .unwrap();
    assert!(observed.volumes.is_empty() && observed.containers.is_empty());
    cleanup_project(&docker, &project).await;
}

#[tokio::test]
async fn observe_reports_images_and_unmanaged_lookalikes() {
    let project = unique("mdto");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    // A container with the name we would use, made by someone else (no labels).
    let squatter = naming::container_name(&project, "web", 1);
    let _squatter_guard = ContainerGuard {
        name: squatter.clone(),
    };
    let body = bollard::models::ContainerCreateBody {
        image: Some(TEST_IMAGE.into()),
        ..Default::default()
    };
    docker
        .create_container(
            Some(
                bollard::query_parameters::CreateContainerOptionsBuilder::new()
                    .name(&squatter)
                    .build(),
            ),
            body,
        )
        .await
        .unwrap();
    let desired = Project {
        name: project.clone(),
        services: BTreeMap::from([
            (
                "web".to_string(),
                ServiceSpec {
                    image: TEST_IMAGE.into(),
                    replicas: 1,
                    ..Default::default()
                },
            ),
            (
                "other".to_string(),
                ServiceSpec {
                    image: "mcp-docker-test/not-here:1".into(),
                    replicas: 1,
                    ..Default::default()
                },
            ),
        ]),
        networks: BTreeMap::from([("default".to_string(), NetworkSpec::default())]),
        volumes: BTreeMap::from([("data".to_string(), VolumeSpec::default())]),
        ..Default::default()
    };
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        Some(&desired),
    )
    .await;
    let _ = docker
        .remove_container(
            &squatter,
            Some(
                bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .build(),
            ),
        )
        .await;
    let observed = observed.unwrap();
    assert_eq!(observed.unmanaged_lookalikes, vec![squatter.clone()]);
    assert!(observed.images_present.contains(TEST_IMAGE));
    assert!(!observed
        .images_present
        .contains("mcp-docker-test/not-here:1"));
    assert!(
        observed.containers.is_empty(),
        "an unlabelled container is not ours"
    );
}

#[tokio::test]
async fn creates_are_idempotent_for_ours_and_refuse_what_is_not_ours() {
    let project = unique("mdti");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (opts, _) = options(&[]);

    // Creating our network twice (an interrupted apply re-run) adopts it instead of making a duplicate.
    let first = execute_plan(
        &docker_support::client().await,
        &plan(&project, vec![network(0, &project)], vec![vec![0]]),
        &opts,
    )
    .await;
    let second = execute_plan(
        &docker_support::client().await,
        &plan(&project, vec![network(0, &project)], vec![vec![0]]),
        &opts,
    )
    .await;
    assert_succeeded(&first);
    assert_succeeded(&second);
    assert_eq!(first.done[0].engine_id, second.done[0].engine_id);
    assert_eq!(
        observe(
            &docker_support::client().await,
            &docker_support::host(),
            &project,
            None
        )
        .await
        .unwrap()
        .networks
        .len(),
        1
    );

    // A volume with our name but without our labels is someone else's: refused, and left as it was.
    let name = naming::scoped_name(&project, "data");
    docker
        .create_volume(bollard::models::VolumeCreateRequest {
            name: Some(name.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let report = execute_plan(
        &docker_support::client().await,
        &plan(&project, vec![volume(0, &project)], vec![vec![0]]),
        &opts,
    )
    .await;
    let labels = docker.inspect_volume(&name).await.unwrap().labels;
    let _ = docker
        .remove_volume(
            &name,
            None::<bollard::query_parameters::RemoveVolumeOptions>,
        )
        .await;
    assert_eq!(names(&report.failed), vec![name.clone()]);
    assert!(
        report.failed[0]
            .message
            .contains("not managed by this project"),
        "{}",
        report.failed[0].message
    );
    assert!(labels.is_empty(), "the foreign volume was not relabelled");
    cleanup_project(&docker, &project).await;
}

#[tokio::test]
async fn a_published_port_in_use_fails_clearly_and_a_start_converges_once_it_is_free() {
    let project = unique("mdtp");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (opts, _) = options(&[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut web =
        service("mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www");
    web.ports = vec![PortBinding {
        target: 80,
        published: Some(port),
        host_ip: Some("127.0.0.1".into()),
        protocol: Protocol::Tcp,
    }];
    let report = execute_plan(
        &docker_support::client().await,
        &plan(
            &project,
            vec![
                network(0, &project),
                container(1, &project, "web", web, "h", vec![0], vec![]),
                container(
                    2,
                    &project,
                    "after",
                    service("sleep 1000"),
                    "h",
                    vec![1],
                    vec![],
                ),
            ],
            vec![vec![0], vec![1], vec![2]],
        ),
        &opts,
    )
    .await;
    let web_name = naming::container_name(&project, "web", 1);
    assert_eq!(
        names(&report.done),
        vec![naming::scoped_name(&project, "default")]
    );
    assert_eq!(names(&report.failed), vec![web_name.clone()]);
    assert!(
        report.failed[0].message.contains("already in use")
            || report.failed[0].message.contains("already allocated"),
        "{}",
        report.failed[0].message
    );
    assert_eq!(
        names(&report.skipped),
        vec![naming::container_name(&project, "after", 1)]
    );

    // The container stays created with its config, so once the port is free a start converges.
    drop(listener);
    let observed = observe(
        &docker_support::client().await,
        &docker_support::host(),
        &project,
        None,
    )
    .await
    .unwrap();
    let created = observed
        .containers
        .iter()
        .find(|c| c.name == web_name)
        .expect("web was created");
    assert_eq!(created.state, ContainerState::Created);
    let mut start = action(
        0,
        ResourceKind::Container,
        &web_name,
        "web",
        Op::Start,
        vec![],
        None,
    );
    start.existing_id = Some(created.id.clone());
    assert_succeeded(
        &execute_plan(
            &docker_support::client().await,
            &plan(&project, vec![start], vec![vec![0]]),
            &opts,
        )
        .await,
    );
    http_get(port, "/").await;
    cleanup_project(&docker, &project).await;
}

#[tokio::test]
async fn a_read_only_container_still_gets_its_secret_files() {
    let project = unique("mdts");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let docker = docker().await;
    let (opts, _) = options(&[("token", "ro-secret-42")]);
    let mut spec =
        service("cat /run/secrets/token; echo; touch /x 2>/dev/null || echo rootfs-read-only");
    spec.networks = BTreeMap::new();
    spec.network_mode = Some("none".into());
    spec.read_only = true;
    spec.secrets = vec![FileMount {
        source: "token".into(),
        target: "/run/secrets/token".into(),
        uid: None,
        gid: None,
        mode: None,
    }];
    let report = execute_plan(
        &docker_support::client().await,
        &plan(
            &project,
            vec![container(0, &project, "job", spec, "h", vec![], vec![])],
            vec![vec![0]],
        ),
        &opts,
    )
    .await;
    assert_succeeded(&report);
    let name = naming::container_name(&project, "job", 1);
    let mut wait = docker.wait_container(
        &name,
        None::<bollard::query_parameters::WaitContainerOptions>,
    );
    while wait.next().await.is_some() {}
    let query = docker_layer::system::LogQuery {
        tail: 50,
        ..Default::default()
    };
    let output: String = docker_layer::system::logs(&docker_support::client().await, &name, &query)
        .await
        .unwrap()
        .lines
        .iter()
        .map(|l| format!("{}\n", l.text))
        .collect();
    cleanup_project(&docker, &project).await;
    assert!(output.contains("ro-secret-42"), "{output}");
    assert!(output.contains("rootfs-read-only"), "{output}");
}

/// Compile-time proof that an apply can run as a server task (tool futures must be `Send`).
#[allow(dead_code)]
fn execute_plan_is_send<'a>(
    client: &'a DockerClient,
    plan: &'a Plan,
    opts: &'a ExecOptions,
) -> impl std::future::Future<Output = ApplyReport> + Send + 'a {
    execute_plan(client, plan, opts)
}

#[tokio::test]
async fn a_step_against_a_dead_engine_names_the_configured_host() {
    let dir = tempfile::tempdir().unwrap();
    // A socket file nobody listens on: the path exists, every connection is refused.
    let socket = dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let host = format!("unix://{}", socket.display());
    let dead = DockerClient::unix_unverified(&host).unwrap();
    let project = unique("exdead");
    let (mut opts, _) = options(&[]);
    opts.engine_host = host.clone();
    let report = execute_plan(
        &dead,
        &plan(&project, vec![network(0, &project)], vec![vec![0]]),
        &opts,
    )
    .await;
    assert_eq!(report.failed.len(), 1, "{report:#?}");
    let message = &report.failed[0].message;
    assert!(
        message.contains(&format!("cannot reach the Docker engine at {host}")),
        "the failure does not name the host: {message}"
    );
    assert!(
        !message.contains("at the Docker engine"),
        "the failure names a placeholder host: {message}"
    );
}

#[tokio::test]
async fn network_removal_waits_for_endpoints_to_go_but_not_forever() {
    use docker_layer::networks::{has_active_endpoints, remove};
    let docker = docker().await;
    let project = unique("exnet");
    let _guard = ProjectGuard {
        project: project.clone(),
    };
    let (opts, _) = options(&[]);
    let net = naming::scoped_name(&project, "default");
    assert_succeeded(
        &execute_plan(
            &docker_support::client().await,
            &plan(&project, vec![network(0, &project)], vec![vec![0]]),
            &opts,
        )
        .await,
    );
    let name = format!("{project}-holder");
    let _holder_guard = ContainerGuard { name: name.clone() };
    let body = bollard::models::ContainerCreateBody {
        image: Some(TEST_IMAGE.into()),
        cmd: Some(vec!["sleep".into(), "600".into()]),
        labels: Some([(naming::LABEL_MANAGED_BY.to_string(), project.clone())].into()),
        host_config: Some(bollard::models::HostConfig {
            init: Some(true),
            network_mode: Some(net.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = bollard::query_parameters::CreateContainerOptionsBuilder::new()
        .name(&name)
        .build();
    docker.create_container(Some(options), body).await.unwrap();
    docker
        .start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();

    // A container that stays attached: the retries end after a few seconds with Docker's refusal.
    let started = std::time::Instant::now();
    let client = docker_support::client().await;
    let err = remove(&client, &net).await.unwrap_err();
    let waited = started.elapsed();
    assert!(has_active_endpoints(&err), "{err}");
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(10),
        "retried for {waited:?}"
    );

    // The container goes while the removal retries: the removal then succeeds.
    let remover = {
        let docker = docker.clone();
        let name = name.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                .force(true)
                .build();
            docker.remove_container(&name, Some(options)).await.unwrap();
        })
    };
    remove(&client, &net).await.unwrap();
    remover.await.unwrap();
    let left = docker.inspect_network(&net, None).await;
    assert!(left.is_err(), "the network is still there: {left:?}");
}
