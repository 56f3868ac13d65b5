//! The engine's seam to Docker: observing a project and executing a plan.
//!
//! Plan, apply, staleness, locking and records are the engine's own logic; only these two calls touch Docker.
//! Keeping them behind [`Runtime`] lets that logic be tested in milliseconds against a scripted runtime, beside
//! the end-to-end tests that run it against a real engine through [`DockerRuntime`].

use std::time::Duration;

use futures_util::future::BoxFuture;
use planner::adopt::{Adopted, Found};
use planner::model::{Project, Protocol};
use planner::naming::LABEL_PROJECT;
use planner::observed::ObservedState;
use planner::preflight::{ports_to_check, registries_to_probe, HostFacts, PublishedPort};
use planner::report::{ApplyReport, EventSink};
use planner::Plan;
use tokio_util::sync::CancellationToken;

use super::EngineError;
use crate::docker::containers::{ContainerFilter, ContainerSummary};
use crate::docker::execute::{ExecOptions, HealthGate, SecretValues};
use crate::docker::host_listeners::listeners_on;
use crate::docker::registry_probe::unreachable_registries;
use crate::docker::DockerConnector;

/// How long the registry probe of one plan may take: every registry is probed at once within it.
const REGISTRY_PROBE_BUDGET: Duration = Duration::from_secs(1);

/// What an apply hands the runtime besides the plan: resolved values, cancellation and the event sink.
pub struct ExecRequest {
    pub secrets: SecretValues,
    pub configs: SecretValues,
    pub cancel: CancellationToken,
    pub events: EventSink,
    /// Whether a replaced container must pass its healthcheck before its step counts as done.
    pub health_gate: HealthGate,
}

/// What the engine needs from a container engine.
pub trait Runtime: Send + Sync {
    /// The project's resources as the engine holds them; `desired` lets observation resolve its images.
    fn observe<'a>(
        &'a self,
        project: &'a str,
        desired: Option<&'a Project>,
    ) -> BoxFuture<'a, Result<ObservedState, EngineError>>;

    /// The resources an import recorded, reported as the project's own while they still qualify
    /// (`planner::adopt::may_adopt`). A runtime without compose projects has none live.
    fn observe_adopted<'a>(
        &'a self,
        project: &'a str,
        _adopted: &'a [Adopted],
    ) -> BoxFuture<'a, Result<ObservedState, EngineError>> {
        Box::pin(async move {
            Ok(ObservedState {
                project: project.to_string(),
                ..ObservedState::default()
            })
        })
    }

    /// The resources compose labelled with `project`, each compared with what `plan` creates (for import).
    /// A runtime without compose projects finds none.
    fn compose_resources<'a>(
        &'a self,
        _project: &'a str,
        _plan: &'a Plan,
        _secrets: &'a SecretValues,
    ) -> BoxFuture<'a, Result<Vec<Found>, EngineError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Facts about the host that `plan`'s certain and likely failures are predicted from: the host ports
    /// containers publish, every container's name, and the registries of images it must pull that do not answer.
    fn host_facts<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<HostFacts, EngineError>>;

    /// Runs `plan`; fails only when the engine cannot be reached at all (step failures are in the report).
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        request: ExecRequest,
    ) -> BoxFuture<'a, Result<ApplyReport, EngineError>>;
}

/// The real runtime: bollard through the shared connector.
pub struct DockerRuntime {
    pub connector: DockerConnector,
    /// Most actions running at once inside one wave.
    pub concurrency: usize,
    /// How long to wait for a `depends_on` condition.
    pub dependency_timeout: Duration,
}

impl Runtime for DockerRuntime {
    fn observe<'a>(
        &'a self,
        project: &'a str,
        desired: Option<&'a Project>,
    ) -> BoxFuture<'a, Result<ObservedState, EngineError>> {
        Box::pin(async move {
            let docker = self.connector.client().await?;
            let host = self.connector.host_description();
            match crate::docker::observe::observe(&docker, &host, project, desired).await {
                Ok(observed) => Ok(observed),
                Err(e) => Err(self.connector.note_error(e).await.into()),
            }
        })
    }

    fn observe_adopted<'a>(
        &'a self,
        project: &'a str,
        adopted: &'a [Adopted],
    ) -> BoxFuture<'a, Result<ObservedState, EngineError>> {
        Box::pin(async move {
            let docker = self.connector.client().await?;
            let host = self.connector.host_description();
            match crate::docker::observe::observe_adopted(&docker, &host, project, adopted).await {
                Ok(found) => Ok(found),
                Err(e) => Err(self.connector.note_error(e).await.into()),
            }
        })
    }

    fn compose_resources<'a>(
        &'a self,
        project: &'a str,
        plan: &'a Plan,
        secrets: &'a SecretValues,
    ) -> BoxFuture<'a, Result<Vec<Found>, EngineError>> {
        Box::pin(async move {
            let docker = self.connector.client().await?;
            let host = self.connector.host_description();
            match crate::docker::adopt::compose_resources(&docker, &host, project, plan, secrets)
                .await
            {
                Ok(found) => Ok(found),
                Err(e) => Err(self.connector.note_error(e).await.into()),
            }
        })
    }

    fn host_facts<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<HostFacts, EngineError>> {
        Box::pin(async move {
            let docker = self.connector.client().await?;
            // Every container, stopped ones too: a stopped container still holds its name.
            let every = ContainerFilter {
                all: true,
                ..ContainerFilter::default()
            };
            let mut facts = match crate::docker::containers::list(&docker, &every).await {
                Ok(containers) => host_facts_of(&containers),
                Err(e) => return Err(self.connector.note_error(e).await.into()),
            };
            if engine_shares_this_host(&self.connector.host_description()) {
                let registries = registries_to_probe(plan);
                facts.unreachable_registries =
                    unreachable_registries(&registries, REGISTRY_PROBE_BUDGET).await;
                facts.listeners = listeners_on(&ports_to_check(plan)).await;
            }
            Ok(facts)
        })
    }

    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        request: ExecRequest,
    ) -> BoxFuture<'a, Result<ApplyReport, EngineError>> {
        Box::pin(async move {
            let docker = self.connector.client().await?;
            let options = ExecOptions {
                engine_host: self.connector.host_description(),
                concurrency: self.concurrency.max(1),
                dependency_timeout: self.dependency_timeout,
                secrets: request.secrets,
                configs: request.configs,
                cancel: request.cancel,
                events: request.events,
                health_gate: request.health_gate,
            };
            Ok(crate::docker::execute::execute_plan(&docker, plan, &options).await)
        })
    }
}

/// Whether the engine runs on this host, reached through its unix socket. Only then does this process see
/// the network the engine pulls over and publishes ports on: a remote engine (tcp, ssh) reaches registries
/// from its own network and publishes on its own host's interfaces, so neither a registry this host cannot
/// reach nor a port a process here listens on says anything about its apply, and neither is checked. (A
/// server in a container of its own with the socket mounted reads its own namespace's sockets: it can miss
/// a holder, never invent one.)
fn engine_shares_this_host(host: &str) -> bool {
    host.starts_with("unix://")
}

/// The host ports running containers publish, every container's name and its MAC addresses, as the planner's
/// preflight takes them.
fn host_facts_of(containers: &[ContainerSummary]) -> HostFacts {
    let published = containers
        .iter()
        .filter(|c| c.state == "running")
        .flat_map(|c| {
            c.ports.iter().filter_map(move |p| {
                Some(PublishedPort {
                    container: c.name.clone(),
                    project: c.labels.get(LABEL_PROJECT).cloned(),
                    host_ip: p.ip.clone(),
                    port: p.public_port?,
                    protocol: protocol_of(&p.protocol),
                })
            })
        })
        .collect();
    HostFacts {
        published,
        containers: crate::docker::containers::named_containers(containers),
        ..HostFacts::default()
    }
}

fn protocol_of(name: &str) -> Protocol {
    match name {
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}
