//! Waiting for a Swarm service to converge after create, update or scaling: every desired task running
//! (which on a swarm means healthy, where a healthcheck exists) at the service's current task spec, with the
//! update (if any) completed. A rolled-back or paused update ends the wait with the tasks' errors.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    Service, ServiceUpdateStatusStateEnum, Task, TaskSpecContainerSpec,
    TaskSpecContainerSpecDnsConfig, TaskState,
};
use bollard::query_parameters::{ListServicesOptionsBuilder, ListTasksOptionsBuilder};
use tokio_util::sync::CancellationToken;

use crate::{DockerClient, DockerError};

/// How often the manager is asked.
pub const POLL: Duration = Duration::from_millis(100);
/// Task errors kept in a report.
const MAX_TASK_ERRORS: usize = 10;

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convergence {
    Converged,
    /// The engine rolled the update back (`failure_action: rollback`); `message` is its update status.
    RolledBack {
        message: String,
        task_errors: Vec<String>,
    },
    /// The engine paused the update (`failure_action: pause`).
    Paused {
        message: String,
        task_errors: Vec<String>,
    },
    /// Cancelled between polls.
    Cancelled,
}

/// Polls until the service converges, the update ends badly, `cancel` fires or `timeout` passes.
pub async fn wait_converged(
    client: &DockerClient,
    name: &str,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Convergence, DockerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let names = [name.to_string()];
    loop {
        let mut ended = poll_services(client, &names).await?;
        if let Some(Some(ended)) = ended.remove(name) {
            return Ok(ended);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(timed_out(client, name, timeout).await);
        }
        tokio::select! {
            () = cancel.cancelled() => return Ok(Convergence::Cancelled),
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One look at several services at once: for each, how it ended, or `None` while it is still converging (or
/// not listed). One call lists the services with the manager's task counts; the tasks are listed (a second
/// call) only for the services whose counts are complete or whose update ended, so a wave that is still
/// starting costs the manager one small answer per poll.
pub async fn poll_services(
    client: &DockerClient,
    names: &[String],
) -> Result<HashMap<String, Option<Convergence>>, DockerError> {
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    let filters = HashMap::from([("name", wanted)]);
    let options = ListServicesOptionsBuilder::new()
        .filters(&filters)
        .status(true)
        .build();
    let services = client.api.list_services(Some(options)).await;
    let services = services.map_err(|e| DockerError::from_bollard(e, &client.host, "services"))?;
    let mut found: HashMap<String, Option<Convergence>> =
        names.iter().map(|n| (n.clone(), None)).collect();
    let ready: Vec<(&Service, String)> = services
        .iter()
        .filter_map(|s| Some((s, s.spec.as_ref()?.name.clone()?)))
        .filter(|(s, name)| found.contains_key(name) && worth_a_task_look(s))
        .collect();
    let ids: Vec<&str> = ready.iter().filter_map(|(s, _)| s.id.as_deref()).collect();
    if ids.is_empty() {
        return Ok(found);
    }
    let filters = HashMap::from([("service", ids)]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let tasks = client.api.list_tasks(Some(options)).await;
    let tasks = tasks.map_err(|e| DockerError::from_bollard(e, &client.host, "tasks"))?;
    for (service, name) in ready {
        let own: Vec<Task> = tasks
            .iter()
            .filter(|t| t.service_id.is_some() && t.service_id == service.id)
            .cloned()
            .collect();
        let ended = update_ended(service, &own)
            .or_else(|| converged(service, &own).then_some(Convergence::Converged));
        found.insert(name, ended);
    }
    Ok(found)
}

/// Whether the service's tasks can tell anything yet: its update ended (their errors go in the report), or
/// the manager counts as many running tasks as it wants (the tasks then say whether they run the current
/// spec). An answer without the counts gets the look.
fn worth_a_task_look(service: &Service) -> bool {
    if update_ended(service, &[]).is_some() {
        return true;
    }
    if update_in_progress(service) {
        return false;
    }
    let counts = service.service_status.as_ref();
    let running = counts.and_then(|c| c.running_tasks);
    let desired = counts.and_then(|c| c.desired_tasks);
    match (running, desired) {
        (Some(running), Some(desired)) => running >= desired,
        _ => true,
    }
}

/// The error for a service that did not converge in time, with its tasks' errors.
pub async fn timed_out(client: &DockerClient, name: &str, timeout: Duration) -> DockerError {
    let errors = match tasks(client, name).await {
        Ok(tasks) => task_errors(&tasks).join("; "),
        Err(e) => e.to_string(),
    };
    DockerError::Timeout(format!(
        "service {name} did not converge within {}s (task errors: {})",
        timeout.as_secs(),
        if errors.is_empty() { "none" } else { &errors }
    ))
}

async fn tasks(client: &DockerClient, name: &str) -> Result<Vec<Task>, DockerError> {
    let filters = HashMap::from([("service", vec![name])]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let tasks = client.api.list_tasks(Some(options)).await;
    tasks.map_err(|e| DockerError::from_bollard(e, &client.host, &format!("tasks of {name}")))
}

fn update_ended(service: &Service, tasks: &[Task]) -> Option<Convergence> {
    let status = service.update_status.as_ref()?;
    let message = status.message.clone().unwrap_or_default();
    match status.state? {
        ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED => Some(Convergence::RolledBack {
            message,
            task_errors: task_errors(tasks),
        }),
        ServiceUpdateStatusStateEnum::PAUSED | ServiceUpdateStatusStateEnum::ROLLBACK_PAUSED => {
            Some(Convergence::Paused {
                message,
                task_errors: task_errors(tasks),
            })
        }
        _ => None,
    }
}

fn update_in_progress(service: &Service) -> bool {
    let state = service.update_status.as_ref().and_then(|s| s.state);
    matches!(
        state,
        Some(
            ServiceUpdateStatusStateEnum::UPDATING | ServiceUpdateStatusStateEnum::ROLLBACK_STARTED
        )
    )
}

/// Every task the engine wants running is running at the service's current task spec, and there are as many
/// as the service asks for (global services: at least one).
fn converged(service: &Service, tasks: &[Task]) -> bool {
    if update_in_progress(service) {
        return false;
    }
    let template = service.spec.as_ref().and_then(|s| s.task_template.as_ref());
    let template = template
        .and_then(|t| t.container_spec.clone())
        .map(comparable);
    let wanted: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.desired_state == Some(TaskState::RUNNING))
        .collect();
    let all_current = wanted.iter().all(|t| {
        let running = t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING);
        let spec = t.spec.as_ref().and_then(|s| s.container_spec.clone());
        running && spec.map(comparable) == template
    });
    let replicas = service
        .spec
        .as_ref()
        .and_then(|s| s.mode.as_ref())
        .and_then(|m| m.replicated.as_ref())
        .and_then(|r| r.replicas);
    let count_ok = match replicas {
        Some(n) => i64::try_from(wanted.len()).ok() == Some(n),
        None => !wanted.is_empty(),
    };
    all_current && count_ok
}

/// A container spec as both the service and its tasks hold it: the manager drops an empty DNS config from
/// the task's copy. (Only the container spec is compared: an update of resources or placement alone counts as
/// converged once the task count and states are right.)
fn comparable(mut spec: TaskSpecContainerSpec) -> TaskSpecContainerSpec {
    spec.dns_config = spec
        .dns_config
        .filter(|d| d != &TaskSpecContainerSpecDnsConfig::default());
    spec
}

fn task_errors(tasks: &[Task]) -> Vec<String> {
    let failed = tasks.iter().filter_map(|t| {
        let status = t.status.as_ref()?;
        let err = status.err.as_deref().filter(|e| !e.is_empty())?;
        Some(format!(
            "task {} on node {}: {err}",
            t.slot.unwrap_or_default(),
            t.node_id.as_deref().unwrap_or("?")
        ))
    });
    failed.take(MAX_TASK_ERRORS).collect()
}
