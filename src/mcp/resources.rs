//! MCP resources: one per project (status + last-applied spec), its stored plans, and container logs/stats.
//!
//! URIs: `docker://projects/{name}`, `docker://projects/{name}/plans/{plan_id}`,
//! `docker://containers/{id}/logs`, `docker://containers/{id}/stats`. Listing returns projects only: a
//! resource per container would flood the client's picker and go stale at once.

use rmcp::model::{Resource, ResourceContents, ResourceTemplate};
use serde_json::json;

use super::server::DockerServer;

const PROJECTS: &str = "docker://projects/";
const CONTAINERS: &str = "docker://containers/";

/// The URI templates this server answers.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("docker://containers/{id}/logs", "container-logs")
            .with_title("Container logs")
            .with_description("The last 100 log lines of a container (stderr lines prefixed)")
            .with_mime_type("text/plain"),
        ResourceTemplate::new("docker://containers/{id}/stats", "container-stats")
            .with_title("Container stats")
            .with_description("One sample of a container's CPU, memory, network and block I/O")
            .with_mime_type("application/json"),
        ResourceTemplate::new("docker://projects/{name}", "project")
            .with_title("Project")
            .with_description("A project's live status and last-applied compose spec")
            .with_mime_type("application/json"),
        ResourceTemplate::new("docker://projects/{name}/plans/{plan_id}", "project-plan")
            .with_title("Project plan")
            .with_description("A stored plan of a project, with its rendering")
            .with_mime_type("application/json"),
    ]
}

/// A resource read failure: the message names what was wrong with the URI or the object.
pub struct ReadError(pub String);

impl DockerServer {
    /// One resource per known project.
    pub(crate) async fn project_resources(&self) -> Result<Vec<Resource>, String> {
        let projects = self
            .engine
            .list_projects()
            .await
            .map_err(|e| e.to_string())?;
        Ok(projects
            .into_iter()
            .map(|p| {
                Resource::new(format!("{PROJECTS}{}", p.name), p.name.clone())
                    .with_title(format!("Project {}", p.name))
                    .with_description(format!(
                        "{}/{} containers running{}",
                        p.containers_running,
                        p.containers_total,
                        p.last_applied_at
                            .map(|t| format!(", last applied {t}"))
                            .unwrap_or_default()
                    ))
                    .with_mime_type("application/json")
            })
            .collect())
    }

    /// The contents behind `uri`.
    pub(crate) async fn read_uri(&self, uri: &str) -> Result<ResourceContents, ReadError> {
        if let Some(rest) = uri.strip_prefix(PROJECTS) {
            let parts: Vec<&str> = rest.split('/').collect();
            return match parts.as_slice() {
                [name] if !name.is_empty() => self.read_project(uri, name).await,
                [name, "plans", plan_id] if !name.is_empty() && !plan_id.is_empty() => {
                    let plan = self.engine.fetch_plan(name, plan_id).await.map_err(|e| ReadError(e.to_string()))?;
                    let value = serde_json::to_string_pretty(&plan).map_err(|e| ReadError(e.to_string()))?;
                    Ok(ResourceContents::text(value, uri).with_mime_type("application/json"))
                }
                _ => Err(ReadError(format!("{uri}: expected docker://projects/{{name}} or docker://projects/{{name}}/plans/{{plan_id}}"))),
            };
        }
        if let Some(rest) = uri.strip_prefix(CONTAINERS) {
            return match rest.split('/').collect::<Vec<_>>().as_slice() {
                [id, "logs"] if !id.is_empty() => {
                    let (full_id, _) = self.container_identity(id).await.map_err(|e| ReadError(e.0))?;
                    let (lines, _) = self.read_logs(&full_id, 100, None, None, None).await.map_err(|e| ReadError(e.0))?;
                    let text: String = lines
                        .iter()
                        .map(|l| if l.stream == "stderr" { format!("[stderr] {}\n", l.text) } else { format!("{}\n", l.text) })
                        .collect();
                    Ok(ResourceContents::text(text, uri).with_mime_type("text/plain"))
                }
                [id, "stats"] if !id.is_empty() => {
                    let stats = self.container_stats(id).await.map_err(|e| ReadError(e.0))?;
                    let value = serde_json::to_string_pretty(&stats).map_err(|e| ReadError(e.to_string()))?;
                    Ok(ResourceContents::text(value, uri).with_mime_type("application/json"))
                }
                _ => Err(ReadError(format!("{uri}: expected docker://containers/{{id}}/logs or docker://containers/{{id}}/stats"))),
            };
        }
        Err(ReadError(format!(
            "{uri}: unknown resource; list_resources and the resource templates show what exists"
        )))
    }

    async fn read_project(&self, uri: &str, name: &str) -> Result<ResourceContents, ReadError> {
        let status = self
            .engine
            .status(name)
            .await
            .map_err(|e| ReadError(e.to_string()))?;
        if !status.known && status.resources.is_empty() {
            return Err(ReadError(format!(
                "project {name:?} not found (fix: list_projects shows the known projects)"
            )));
        }
        let value = json!({
            "project": name,
            "status": status,
            "last_applied_yaml": status.last_applied_yaml,
        });
        let text = serde_json::to_string_pretty(&value).map_err(|e| ReadError(e.to_string()))?;
        Ok(ResourceContents::text(text, uri).with_mime_type("application/json"))
    }
}
