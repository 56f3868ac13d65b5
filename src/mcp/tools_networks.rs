//! Network and volume tools: list, create, remove (asking the human first about ones this server does not
//! own, see `approval::foreign`).

use std::collections::BTreeMap;

use planner::naming;
use rmcp::handler::server::tool::{schema_for_output, InputResponses as Answers, RequestState};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, RoleServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::approval::{Act, Foreign, Gate, Round};
use super::args::Parameters;
use super::compact::{short_id, Table};
use super::output::{Json, Reply, ToolError};
use super::server::DockerServer;
use crate::docker::networks::{self, ObjectFilter};
use crate::docker::volumes;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Only this project's.
    #[serde(default)]
    pub project: Option<String>,
    /// `key` or `key=value`.
    #[serde(default)]
    pub label: Vec<String>,
    /// Name substring.
    #[serde(default)]
    pub name: Option<String>,
    /// Most rows (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNetworkArgs {
    /// Network name.
    pub name: String,
    /// Driver (default `bridge`).
    #[serde(default)]
    pub driver: Option<String>,
    /// No route to the outside world.
    #[serde(default)]
    pub internal: bool,
    /// Network labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVolumeArgs {
    /// Volume name.
    pub name: String,
    /// Driver (default `local`).
    #[serde(default)]
    pub driver: Option<String>,
    /// Volume labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameRef {
    /// Name (or id for networks).
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveVolumeArgs {
    /// Volume name.
    pub name: String,
    /// Even if a stopped container uses it.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ObjectAction {
    pub name: String,
    /// Short id (networks) or name (volumes).
    pub id: String,
    /// `created` or `removed`.
    pub result: String,
}

/// The Docker-layer filter for a list call.
fn filter(args: &ListArgs) -> ObjectFilter {
    let mut labels = args.label.clone();
    if let Some(project) = &args.project {
        labels.push(format!("{}={project}", naming::LABEL_PROJECT));
    }
    ObjectFilter {
        labels,
        name: args.name.clone(),
    }
}

/// Refuses labels under the reserved prefixes (`planner::policy::project`, the rule specs follow): they
/// decide which project owns a resource, and a container inherits its image's.
pub(super) fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), ToolError> {
    match planner::policy::project::reserved_labels("", labels).first() {
        None => Ok(()),
        Some(refused) => Err(ToolError::invalid(
            refused.path.trim_start_matches('.'),
            &refused.message,
            &refused.fix,
        )),
    }
}

fn check_name(field: &str, name: &str) -> Result<(), ToolError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 128;
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(
            field,
            format!("{name:?} is not a valid name"),
            "use up to 128 letters, digits, `_`, `.` or `-`, starting with a letter or digit",
        ))
    }
}

#[tool_router(router = network_tools, vis = "pub(crate)")]
impl DockerServer {
    /// List networks.
    #[tool(annotations(
        title = "List networks",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_networks(
        &self,
        Parameters(args): Parameters<ListArgs>,
    ) -> Result<Json<Table>, ToolError> {
        let docker = self.docker().await?;
        let networks = networks::list(&docker, &filter(&args))
            .await
            .map_err(|e| self.docker_failure(e, "check the filters"))?;
        let total = networks.len();
        let rows = networks
            .iter()
            .take(args.limit.unwrap_or(100).max(1))
            .map(|n| {
                vec![
                    short_id(&n.id),
                    n.name.clone(),
                    n.driver.clone(),
                    n.scope.clone(),
                    if n.internal {
                        "yes".into()
                    } else {
                        String::new()
                    },
                    n.labels
                        .get(naming::LABEL_PROJECT)
                        .cloned()
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let table = Table::new(
            &["id", "name", "driver", "scope", "internal", "project"],
            rows,
            total,
        );
        let text = table.render("networks");
        Ok(Json::new(table, text))
    }

    /// Create a network.
    #[tool(annotations(
        title = "Create network",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn create_network(
        &self,
        Parameters(args): Parameters<CreateNetworkArgs>,
    ) -> Result<Json<ObjectAction>, ToolError> {
        check_name("name", &args.name)?;
        check_labels(&args.labels)?;
        let docker = self.docker().await?;
        let network = networks::NewNetwork {
            name: args.name.clone(),
            driver: args.driver.clone(),
            internal: args.internal,
            labels: args.labels.clone(),
        };
        let id = networks::create(&docker, &network)
            .await
            .map_err(|e| self.docker_failure(e, "pick another name or driver"))?;
        let action = ObjectAction {
            name: args.name.clone(),
            id: short_id(&id),
            result: "created".into(),
        };
        let text = format!("Created network {} ({}).", action.name, action.id);
        Ok(Json::new(action, text))
    }

    /// Remove a network with no containers attached.
    #[tool(output_schema = schema_for_output::<ObjectAction>(), annotations(
        title = "Remove network",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn remove_network(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<NameRef>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ObjectAction>, ToolError> {
        let docker = self.docker().await?;
        let network = networks::inspect(&docker, &args.name)
            .await
            .map_err(|e| self.docker_failure(e, "list_networks shows the existing networks"))?;
        let target = Foreign {
            act: Act::Remove,
            kind: "network",
            name: &network.name,
            id: &network.id,
            image: None,
            labels: &network.labels,
            command: None,
        };
        let round = Round { state, responses };
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        // By id: the approval was for this network, whatever holds the name by now.
        // Retries briefly while the engine still counts endpoints of containers removed just before.
        if let Err(err) = networks::remove(&docker, &network.id).await {
            let err = self.engine.docker().note_error(err).await;
            let fix = "check list_networks; disconnect or remove its containers first";
            return Err(if networks::has_active_endpoints(&err) {
                ToolError(format!("{err} (fix: {fix})"))
            } else {
                ToolError::docker(err, fix)
            });
        }
        let action = ObjectAction {
            name: args.name.clone(),
            id: args.name.clone(),
            result: "removed".into(),
        };
        let text = format!("Removed network {}.", action.name);
        Ok(Json::new(action, text).into())
    }

    /// List volumes.
    #[tool(annotations(
        title = "List volumes",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_volumes(
        &self,
        Parameters(args): Parameters<ListArgs>,
    ) -> Result<Json<Table>, ToolError> {
        let docker = self.docker().await?;
        let volumes = volumes::list(&docker, &filter(&args))
            .await
            .map_err(|e| self.docker_failure(e, "check the filters"))?;
        let total = volumes.len();
        let rows = volumes
            .iter()
            .take(args.limit.unwrap_or(100).max(1))
            .map(|v| {
                vec![
                    v.name.clone(),
                    v.driver.clone(),
                    v.labels
                        .get(naming::LABEL_PROJECT)
                        .cloned()
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let table = Table::new(&["name", "driver", "project"], rows, total);
        let text = table.render("volumes");
        Ok(Json::new(table, text))
    }

    /// Create a named volume.
    #[tool(annotations(
        title = "Create volume",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn create_volume(
        &self,
        Parameters(args): Parameters<CreateVolumeArgs>,
    ) -> Result<Json<ObjectAction>, ToolError> {
        check_name("name", &args.name)?;
        check_labels(&args.labels)?;
        let docker = self.docker().await?;
        let volume = volumes::NewVolume {
            name: args.name.clone(),
            driver: args.driver.clone(),
            labels: args.labels.clone(),
        };
        let name = volumes::create(&docker, &volume)
            .await
            .map_err(|e| self.docker_failure(e, "pick another name or driver"))?;
        let action = ObjectAction {
            name: name.clone(),
            id: name,
            result: "created".into(),
        };
        let text = format!("Created volume {}.", action.name);
        Ok(Json::new(action, text))
    }

    /// Remove a volume and the data in it.
    #[tool(output_schema = schema_for_output::<ObjectAction>(), annotations(
        title = "Remove volume",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    pub async fn remove_volume(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<RemoveVolumeArgs>,
        RequestState(state): RequestState,
        Answers(responses): Answers,
    ) -> Result<Reply<ObjectAction>, ToolError> {
        let docker = self.docker().await?;
        let volume = volumes::inspect(&docker, &args.name)
            .await
            .map_err(|e| self.docker_failure(e, "list_volumes shows the existing volumes"))?;
        let target = Foreign {
            act: Act::Remove,
            kind: "volume",
            name: &volume.name,
            id: &volume.name,
            image: None,
            labels: &volume.labels,
            command: None,
        };
        let round = Round { state, responses };
        if let Gate::AskFirst(question) = self.approve_foreign(&context, target, round).await? {
            return Ok(Reply::InputRequired(question));
        }
        volumes::remove(&docker, &args.name, args.force)
            .await
            .map_err(|e| {
                self.docker_failure(
                    e,
                    "check list_volumes; remove the containers using it first",
                )
            })?;
        let action = ObjectAction {
            name: args.name.clone(),
            id: args.name.clone(),
            result: "removed".into(),
        };
        let text = format!("Removed volume {}.", action.name);
        Ok(Json::new(action, text).into())
    }
}
