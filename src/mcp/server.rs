//! The MCP server: tool routing (with read-only mode), the prompt, completion, resources, and transports.

use std::collections::BTreeSet;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetTaskParams, GetTaskResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Reference,
    ServerCapabilities, ServerConfig as McpServerConfig, Tool, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use super::approval::PendingApprovals;
use super::output::ToolError;
use super::tasks::Tasks;
use super::{prompt, redaction, resources, tool_schema};
use crate::docker::{DockerClient, DockerError};
use crate::engine::Engine;

const INSTRUCTIONS: &str = "Manage Docker with Terraform-style plan/apply. For multi-container work use the \
docker_compose prompt or: plan (returns a plan id and rendering) -> show the rendering to the user -> apply with \
the plan id after they approve. Primitive tools (run_container, exec_in_container, list_*, ...) act directly.";

/// One MCP session's handler; cheap to clone (the engine is shared).
#[derive(Clone)]
pub struct DockerServer {
    pub(crate) engine: Arc<Engine>,
    tools: ToolRouter<DockerServer>,
    /// Tools withheld because the server runs read-only.
    withheld: Arc<BTreeSet<String>>,
    shared: Arc<Shared>,
}

/// What every session of this process shares: a multi-round retry or a `tasks/get` may arrive on another
/// HTTP session than the call it follows.
#[derive(Default)]
pub struct Shared {
    pub(crate) approvals: PendingApprovals,
    pub(crate) tasks: Tasks,
}

impl DockerServer {
    /// A server for one session that shares nothing with other sessions (stdio has only one).
    pub fn new(engine: Arc<Engine>) -> Self {
        Self::with_shared(engine, Arc::default())
    }

    /// A server for one session, sharing pending approvals and tasks with the process's other sessions.
    pub fn with_shared(engine: Arc<Engine>, shared: Arc<Shared>) -> Self {
        let mut tools = Self::container_tools()
            + Self::image_tools()
            + Self::network_tools()
            + Self::system_tools()
            + Self::planner_tools()
            + Self::history_tools();
        for route in tools.map.values_mut() {
            tool_schema::compact_tool(&mut route.attr);
        }
        for tool in tools.list_all() {
            if !engine.config().toolsets.serves(&tool.name) {
                tools.remove_route(&tool.name);
            }
        }
        let withheld = Arc::new(withhold_writers(&mut tools, engine.config().read_only));
        DockerServer {
            engine,
            tools,
            withheld,
            shared,
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Every tool this server lists (after read-only filtering).
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.list_all()
    }

    /// The engine client, or a tool error saying how to reach the engine.
    pub(crate) async fn docker(&self) -> Result<DockerClient, ToolError> {
        self.engine.docker().client().await.map_err(ToolError::from)
    }

    /// A Docker-layer failure as a tool error with `fix` for not-found cases; drops a dead cached connection.
    pub(crate) fn docker_failure(&self, err: DockerError, fix: &str) -> ToolError {
        if err.is_unreachable() {
            let connector = self.engine.docker().clone();
            tokio::spawn(async move { connector.invalidate().await });
        }
        ToolError::docker(err, fix)
    }

    /// The path/option policy from the server's own configuration (never from tool arguments).
    pub(crate) fn policy(&self) -> planner::policy::Policy {
        self.engine.config().policy()
    }
}

/// In read-only mode, removes every tool that may change something and returns their names.
fn withhold_writers(tools: &mut ToolRouter<DockerServer>, read_only: bool) -> BTreeSet<String> {
    let mut withheld = BTreeSet::new();
    if read_only {
        for tool in tools.list_all() {
            if !is_read_only(&tool) {
                withheld.insert(tool.name.to_string());
                tools.remove_route(&tool.name);
            }
        }
    }
    withheld
}

/// True when the tool's annotations promise it changes nothing.
fn is_read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

impl ServerHandler for DockerServer {
    fn get_info(&self) -> McpServerConfig {
        McpServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .enable_completions()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new(
            "mcp-docker-server",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        if self.withheld.contains(&name) {
            let message = format!(
                "tool `{name}` changes Docker and this server runs in read-only mode (fix: use a read-only tool, \
                 or restart the server without --read-only)"
            );
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        if !self.tools.has_route(&name) {
            let message =
                format!("unknown tool `{name}` (fix: call one of the tools from tools/list)");
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        tracing::debug!(tool = %name, "tool call");
        let reply = self
            .tools
            .call(ToolCallContext::new(self, request, context))
            .await;
        redaction::tool_reply(self.engine.config(), reply)
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let task = self.shared.tasks.get(&request.task_id)?;
        let task = redaction::task_reply(self.engine.config(), task)?;
        Ok(GetTaskResult::new(task))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared
            .tasks
            .update(&request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared.tasks.cancel(&request.task_id)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![prompt::prompt()]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name != prompt::PROMPT_NAME {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown prompt `{}` (fix: use `{}`)",
                    request.name,
                    prompt::PROMPT_NAME
                ),
                None,
            ));
        }
        let arguments = request.arguments.unwrap_or_default();
        let text_arg = |key: &str| {
            arguments
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .unwrap_or("")
                .to_string()
        };
        let name = text_arg("name");
        if name.is_empty() {
            return Err(ErrorData::invalid_params(
                "argument `name` is required (fix: pass the project name, e.g. \"myapp\")",
                None,
            ));
        }
        let containers = text_arg("containers");
        let reply = prompt::get(&self.engine, &name, &containers).await.into();
        redaction::prompt_reply(self.engine.config(), reply)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let wants_project = match &request.r#ref {
            Reference::Prompt(p) => {
                p.name == prompt::PROMPT_NAME && request.argument.name == "name"
            }
            Reference::Resource(r) => {
                r.uri.starts_with("docker://projects/") && request.argument.name == "name"
            }
            _ => false,
        };
        let mut values = Vec::new();
        if wants_project {
            let prefix = request.argument.value.as_str();
            if let Ok(projects) = self.engine.list_projects().await {
                values = projects
                    .into_iter()
                    .map(|p| p.name)
                    .filter(|n| n.starts_with(prefix))
                    .collect();
            }
        }
        values.truncate(CompletionInfo::MAX_VALUES);
        let info = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let items = self
            .project_resources()
            .await
            .map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let reply = match self.read_uri(&request.uri).await {
            Ok(contents) => Ok(ReadResourceResult::new(vec![contents]).into()),
            Err(err) => Err(ErrorData::resource_not_found(err.0, None)),
        };
        redaction::resource_reply(self.engine.config(), reply)
    }
}

/// Serves MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(engine: Arc<Engine>) -> anyhow::Result<()> {
    let service = DockerServer::new(engine)
        .serve(super::stdio::stdio())
        .await?;
    service.waiting().await?;
    Ok(())
}

/// Serves MCP over streamable HTTP (path `/mcp`); see `http` for the binding, token and origin rules.
pub async fn serve_http(
    engine: Arc<Engine>,
    options: super::http::HttpOptions,
) -> anyhow::Result<()> {
    Ok(super::http::serve(engine, options).await?)
}
