//! The last check before a container starts: its binds cannot have been redirected by a symlink.
//!
//! The engine resolves a bind's source when the container starts, so the checks made at plan or create time
//! do not hold by themselves: a container that binds a folder read-write may since have replaced a path below
//! it with a symlink. Before every start this server performs, each bind of the container is checked against
//! the writable binds of every container on the engine (`planner::policy::binds`), and, on a local engine,
//! its source must still be its own canonical path (a symlink planted in it would change that).

use std::path::PathBuf;

use bollard::models::{ContainerSummary, MountPoint};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use planner::naming;
use planner::policy::binds::{conflict, BindFact};

use super::error::{api, DockerError};

/// Refuses to start `container` when one of its binds lies inside another writable bind (or holds one inside
/// its own writable source), or when a local bind source now resolves through a symlink.
pub(crate) async fn check_before_start(
    docker: &Docker,
    host: &str,
    container: &str,
) -> Result<(), DockerError> {
    let info = docker
        .inspect_container(container, None)
        .await
        .map_err(api(host, format!("inspecting container {container}")))?;
    let id = info.id.clone().unwrap_or_default();
    let holder = format!("container {}", display_name(info.name.as_deref(), &id));
    let own = binds_of(&holder, info.mounts.as_deref().unwrap_or_default());
    if own.is_empty() {
        return Ok(());
    }
    let engine = engine_binds(docker, host, &id).await?;
    for (index, bind) in own.iter().enumerate() {
        let others: Vec<BindFact> = own
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != index)
            .map(|(_, b)| b.clone())
            .chain(engine.iter().cloned())
            .collect();
        if let Some(found) = conflict(bind, &others) {
            return Err(refused(&holder, found.to_string()));
        }
    }
    // Only a local engine's paths are this machine's paths.
    if host.starts_with("unix://") {
        for bind in &own {
            check_not_redirected(bind)?;
        }
    }
    Ok(())
}

/// The writable binds of every container on the engine that is not part of `project` (whose own binds the
/// planner checks from the desired state): the facts the planner's bind rule needs at plan time.
pub async fn writable_binds_outside(
    client: &crate::DockerClient,
    project: &str,
) -> Result<Vec<BindFact>, DockerError> {
    let summaries = client
        .api
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
        .await
        .map_err(api(&client.host, "listing containers to check binds"))?;
    Ok(summaries
        .iter()
        .filter(|s| {
            s.labels
                .as_ref()
                .and_then(|l| l.get(naming::LABEL_PROJECT))
                .map(String::as_str)
                != Some(project)
        })
        .flat_map(summary_binds)
        .filter(|b| b.writable)
        .collect())
}

/// The bind mounts of every container on the engine but `except`.
async fn engine_binds(
    docker: &Docker,
    host: &str,
    except: &str,
) -> Result<Vec<BindFact>, DockerError> {
    let summaries = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
        .await
        .map_err(api(
            host,
            "listing containers to check binds before a start",
        ))?;
    Ok(summaries
        .iter()
        .filter(|s| s.id.as_deref() != Some(except))
        .flat_map(summary_binds)
        .collect())
}

/// One listed container's binds, held by its name and project.
fn summary_binds(summary: &ContainerSummary) -> Vec<BindFact> {
    let name = summary
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string());
    let id = summary.id.as_deref().unwrap_or_default();
    let project = summary
        .labels
        .as_ref()
        .and_then(|l| l.get(naming::LABEL_PROJECT))
        .map(|p| format!(" of project {p}"))
        .unwrap_or_default();
    let holder = format!("container {}{project}", display_name(name.as_deref(), id));
    binds_of(&holder, summary.mounts.as_deref().unwrap_or_default())
}

fn binds_of(holder: &str, mounts: &[MountPoint]) -> Vec<BindFact> {
    mounts
        .iter()
        .filter(|m| m.typ.as_deref() == Some("bind"))
        .filter_map(|m| {
            Some(BindFact {
                holder: holder.to_string(),
                source: PathBuf::from(m.source.as_ref()?),
                writable: m.rw.unwrap_or(true),
            })
        })
        .collect()
}

/// A source that exists must be its own canonical path; one that does not exist cannot redirect anything.
fn check_not_redirected(bind: &BindFact) -> Result<(), DockerError> {
    let Ok(resolved) = std::fs::canonicalize(&bind.source) else {
        return Ok(());
    };
    if resolved == bind.source {
        return Ok(());
    }
    Err(refused(
        &bind.holder,
        format!(
            "bind source `{}` now resolves to `{}`: a symlink was planted in its path since the container \
             was created (refused by policy: writable_bind_overlap)",
            bind.source.display(),
            resolved.display()
        ),
    ))
}

fn display_name(name: Option<&str>, id: &str) -> String {
    match name {
        Some(name) if !name.is_empty() => name.trim_start_matches('/').to_string(),
        _ => id.chars().take(12).collect(),
    }
}

fn refused(container: &str, why: String) -> DockerError {
    DockerError::BindRedirect {
        container: container.to_string(),
        why,
        fix: planner::policy::binds::BIND_CONFLICT_FIX.to_string(),
    }
}
