//! An rmcp client driving the real `mcp-docker-server` binary over stdio.
//!
//! Tool calls come back as [`Reply`]; a JSON-RPC error (which bad tool arguments must never produce) or a
//! dead transport comes back as `Err` with its text, so a test can report it as a finding. The `tool_*` calls
//! give rmcp's own `CallToolResult` for tests that check its fields; the client keeps every progress
//! notification it receives. [`McpSession`] is a server with a state directory of its own. A setup may make
//! the client speak the 2026-07-28 protocol (the multi-round approval form) and declare the tasks
//! extension; calls then drive multi-round answers themselves, and `start_task`/`await_task` drive tasks.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ClientCapabilities,
    ClientConfig, DetailedTask, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationCapability, GetPromptRequestParams, GetTaskParams, NumberOrString,
    ProgressNotificationParam, ProgressToken, ProtocolVersion, ReadResourceRequestParams,
    RequestParamsMeta,
};
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::Value;

/// Longest any single call may take; applies of small busybox projects finish well within it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(180);

/// What a tool call answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub is_error: bool,
    /// All text content blocks, joined by newlines.
    pub text: String,
    pub structured: Option<Value>,
}

impl Reply {
    /// A field of the structured content, falling back to the text parsed as JSON.
    pub fn field(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.structured.as_ref().and_then(|s| s.get(name)) {
            return Some(v.clone());
        }
        serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| v.get(name).cloned())
    }

    pub fn str_field(&self, name: &str) -> Option<String> {
        self.field(name)
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Everything the client saw, for searching and for failure messages.
    pub fn all_text(&self) -> String {
        match &self.structured {
            Some(s) => format!("{}\n{}", self.text, s),
            None => self.text.clone(),
        }
    }
}

/// The client's handler: keeps the message of every progress notification, to check that long tools report
/// progress; with `elicit` set it declares elicitation and answers every question with that action
/// (an accept approves), keeping each question's message.
#[derive(Clone, Default)]
pub struct ProgressLog {
    messages: Arc<Mutex<Vec<String>>>,
    elicit: Option<ElicitationAction>,
    questions: Arc<Mutex<Vec<String>>>,
    protocol: ClientProtocol,
    tasks: bool,
    before_answer: Option<BeforeAnswer>,
}

/// What the client does after a question arrives and before it answers (a change made while the human
/// reads the question).
pub type BeforeAnswer = Arc<dyn Fn() + Send + Sync>;

/// Which protocol the client speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientProtocol {
    /// `initialize` at 2025-11-25, where the server may send requests such as a classic elicitation.
    #[default]
    Session,
    /// `server/discover` at 2026-07-28: the server asks by returning the question (multi-round).
    MultiRound,
}

impl ClientHandler for ProgressLog {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.messages
            .lock()
            .unwrap()
            .push(params.message.unwrap_or_default());
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = request {
            self.questions.lock().unwrap().push(message);
        }
        if let Some(hook) = &self.before_answer {
            hook();
        }
        let action = self.elicit.clone().unwrap_or(ElicitationAction::Decline);
        let answer = ElicitResult::new(action.clone());
        Ok(match action {
            ElicitationAction::Accept => answer.with_content(serde_json::json!({"approve": true})),
            _ => answer,
        })
    }

    fn get_info(&self) -> ClientConfig {
        if self.elicit.is_none() && !self.tasks && self.protocol == ClientProtocol::Session {
            return ClientConfig::default();
        }
        let mut capabilities = if self.tasks {
            ClientCapabilities::builder().enable_tasks().build()
        } else {
            ClientCapabilities::default()
        };
        if self.elicit.is_some() {
            capabilities.elicitation = Some(ElicitationCapability::default());
        }
        let version = match self.protocol {
            ClientProtocol::Session => ProtocolVersion::V_2025_11_25,
            ClientProtocol::MultiRound => ProtocolVersion::V_2026_07_28,
        };
        ClientConfig::new(capabilities, rmcp::model::Implementation::from_build_env())
            .with_protocol_version(version)
    }
}

/// One running server process and the client session talking to it.
pub struct McpServer {
    client: RunningService<RoleClient, ProgressLog>,
    progress: ProgressLog,
    pub pid: u32,
    pub stderr_log: PathBuf,
}

/// How to start a server: its state dir, the engine it talks to, extra environment.
pub struct ServerSetup<'a> {
    pub state_dir: &'a Path,
    /// `DOCKER_HOST` for the server; `None` keeps the test's own environment.
    pub docker_host: Option<&'a str>,
    pub env: Vec<(&'a str, String)>,
    /// How the client answers elicitation; `None`: it does not declare elicitation at all.
    pub elicit: Option<ElicitationAction>,
    pub protocol: ClientProtocol,
    /// Whether the client declares the tasks extension.
    pub tasks: bool,
    pub before_answer: Option<BeforeAnswer>,
}

impl<'a> ServerSetup<'a> {
    pub fn new(state_dir: &'a Path) -> Self {
        ServerSetup {
            state_dir,
            docker_host: None,
            env: Vec::new(),
            elicit: None,
            protocol: ClientProtocol::Session,
            tasks: false,
            before_answer: None,
        }
    }

    /// A client on the 2026-07-28 protocol, asked by multi-round answers.
    pub fn multi_round(mut self) -> Self {
        self.protocol = ClientProtocol::MultiRound;
        self
    }

    /// A client that declares the tasks extension.
    pub fn tasks(mut self) -> Self {
        self.tasks = true;
        self
    }

    /// A client that declares elicitation and answers every question with `action`.
    pub fn elicit(mut self, action: ElicitationAction) -> Self {
        self.elicit = Some(action);
        self
    }

    /// Runs `hook` after each question arrives and before the client answers it.
    pub fn before_answer(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.before_answer = Some(Arc::new(hook));
        self
    }

    pub fn docker_host(mut self, host: &'a str) -> Self {
        self.docker_host = Some(host);
        self
    }

    pub fn env(mut self, key: &'a str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }
}

pub fn server_binary() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-docker-server")
}

impl McpServer {
    /// Spawns the binary with no arguments (stdio MCP) and completes `initialize`.
    pub async fn start(setup: ServerSetup<'_>) -> McpServer {
        let log_name = format!("server-{}.stderr.log", crate::common::unique(""));
        let stderr_log = setup
            .state_dir
            .parent()
            .unwrap_or(setup.state_dir)
            .join(log_name);
        let log_file = std::fs::File::create(&stderr_log).unwrap();
        let mut cmd = tokio::process::Command::new(server_binary());
        cmd.env("MCP_DOCKER_STATE_DIR", setup.state_dir);
        // Test projects live in temporary directories: make them the workspace (a setup's env may override).
        cmd.env("MCP_DOCKER_WORKSPACE_ROOTS", std::env::temp_dir());
        if let Some(host) = setup.docker_host {
            cmd.env("DOCKER_HOST", host);
        }
        for (k, v) in &setup.env {
            cmd.env(k, v);
        }
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        let pid = transport.id().unwrap();
        let progress = ProgressLog {
            elicit: setup.elicit.clone(),
            protocol: setup.protocol,
            tasks: setup.tasks,
            before_answer: setup.before_answer.clone(),
            ..ProgressLog::default()
        };
        let lifecycle = match setup.protocol {
            ClientProtocol::Session => ClientLifecycleMode::Initialize,
            ClientProtocol::MultiRound => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        };
        let serving = progress.clone().serve_with_lifecycle(transport, lifecycle);
        let Ok(initialized) = tokio::time::timeout(Duration::from_secs(60), serving).await else {
            panic!(
                "server did not answer initialize within 60s (stderr: {})",
                stderr_log.display()
            )
        };
        let client = match initialized {
            Ok(client) => client,
            Err(e) => panic!("initialize failed: {e} (stderr: {})", stderr_log.display()),
        };
        McpServer {
            client,
            progress,
            pid,
            stderr_log,
        }
    }

    /// Calls a tool. `Err` is a protocol error, a dead transport or a timeout, with its text.
    pub async fn call(&self, tool: &str, args: Value) -> Result<Reply, String> {
        self.call_with_timeout(tool, args, CALL_TIMEOUT).await
    }

    pub async fn call_with_timeout(
        &self,
        tool: &str,
        args: Value,
        limit: Duration,
    ) -> Result<Reply, String> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        match args {
            Value::Object(map) => params = params.with_arguments(map),
            Value::Null => {}
            other => panic!("tool arguments must be an object, got {other}"),
        }
        // The session's `call_tool` answers multi-round questions through the handler and retries.
        match tokio::time::timeout(limit, self.client.call_tool(params)).await {
            Err(_) => Err(format!("no answer to {tool} within {}s", limit.as_secs())),
            Ok(Err(e)) => Err(format!("{e}")),
            Ok(Ok(result)) => {
                let text = result
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(Reply {
                    is_error: result.is_error.unwrap_or(false),
                    text,
                    structured: result.structured_content,
                })
            }
        }
    }

    /// Calls a tool that must succeed; panics with what came back otherwise.
    pub async fn ok(&self, tool: &str, args: Value) -> Reply {
        match self.call(tool, args.clone()).await {
            Ok(r) if !r.is_error => r,
            Ok(r) => panic!("{tool} {args} gave isError: {}", r.all_text()),
            Err(e) => panic!("{tool} {args} failed at the protocol level: {e}"),
        }
    }

    /// Plans `compose_yaml` for `project` and returns the plan id.
    pub async fn plan_yaml(&self, project: &str, compose_yaml: &str) -> (String, Reply) {
        let r = self
            .ok(
                "plan",
                serde_json::json!({"project": project, "compose_yaml": compose_yaml}),
            )
            .await;
        let id = r
            .str_field("plan_id")
            .unwrap_or_else(|| panic!("plan gave no plan_id: {}", r.all_text()));
        (id, r)
    }

    /// Applies a plan; returns the reply whatever it says.
    pub async fn apply(&self, project: &str, plan_id: &str) -> Result<Reply, String> {
        self.call(
            "apply",
            serde_json::json!({"project": project, "plan_id": plan_id}),
        )
        .await
    }

    /// Plans and applies `compose_yaml`, asserting the apply succeeded.
    pub async fn converge(&self, project: &str, compose_yaml: &str) -> Reply {
        let (id, _) = self.plan_yaml(project, compose_yaml).await;
        let r = self
            .apply(project, &id)
            .await
            .unwrap_or_else(|e| panic!("apply of {project} failed: {e}"));
        assert!(
            !r.is_error && r.field("succeeded") != Some(Value::Bool(false)),
            "apply of {project} failed: {}",
            r.all_text()
        );
        r
    }

    /// Imports the compose project `project` with `compose_yaml`, asserting that nothing differs and that the
    /// next plan reads "No changes"; returns the import's structured result.
    pub async fn import_unchanged(&self, project: &str, compose_yaml: &str) -> Value {
        let args = serde_json::json!({"project": project, "compose_yaml": compose_yaml});
        let result = self.tool_result("import_project", args).await;
        assert_ne!(
            result.is_error,
            Some(true),
            "import_project failed: {}",
            result_text(&result)
        );
        let imported = result.structured_content.clone().unwrap_or_default();
        assert_eq!(imported["differing"], serde_json::json!([]), "{imported}");
        let (_, planned) = self.plan_yaml(project, compose_yaml).await;
        assert_eq!(
            planned.field("has_changes"),
            Some(Value::Bool(false)),
            "the plan after import: {}",
            planned.all_text()
        );
        imported
    }

    /// Plans and applies the project's destroy (with volumes); best effort, for cleanup.
    pub async fn destroy(&self, project: &str) {
        let Ok(r) = self
            .call(
                "destroy",
                serde_json::json!({"project": project, "volumes": true}),
            )
            .await
        else {
            return;
        };
        if let Some(id) = r.str_field("plan_id") {
            let _ = self.apply(project, &id).await;
        }
    }

    pub async fn list_tool_names(&self) -> Result<Vec<String>, String> {
        let peer = self.client.peer().clone();
        match tokio::time::timeout(Duration::from_secs(30), peer.list_all_tools()).await {
            Err(_) => Err("no answer to tools/list within 30s".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(tools)) => Ok(tools.into_iter().map(|t| t.name.to_string()).collect()),
        }
    }

    /// The text of a prompt's messages.
    pub async fn prompt_text(&self, name: &str, args: Value) -> Result<String, String> {
        let mut params = GetPromptRequestParams::new(name);
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        let peer = self.client.peer().clone();
        match tokio::time::timeout(Duration::from_secs(60), peer.get_prompt(params)).await {
            Err(_) => Err("no answer to prompts/get within 60s".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(result)) => Ok(serde_json::to_string(&result.messages).unwrap_or_default()),
        }
    }

    /// The text of a resource.
    pub async fn read_resource(&self, uri: &str) -> Result<String, String> {
        let peer = self.client.peer().clone();
        match tokio::time::timeout(
            Duration::from_secs(60),
            peer.read_resource(ReadResourceRequestParams::new(uri)),
        )
        .await
        {
            Err(_) => Err("no answer to resources/read within 60s".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(result)) => Ok(serde_json::to_string(&result.contents).unwrap_or_default()),
        }
    }

    /// A clone of the session's peer, to send a call from another task.
    pub fn peer(&self) -> rmcp::Peer<RoleClient> {
        self.client.peer().clone()
    }

    /// The rmcp client session, for requests the helpers here do not wrap.
    pub fn client(&self) -> &RunningService<RoleClient, ProgressLog> {
        &self.client
    }

    /// How many progress notifications arrived so far.
    pub fn progress_count(&self) -> usize {
        self.progress.messages.lock().unwrap().len()
    }

    /// The messages of the progress notifications so far.
    pub fn progress_messages(&self) -> Vec<String> {
        self.progress.messages.lock().unwrap().clone()
    }

    /// Every elicitation message the server sent this client, in order.
    pub fn elicitation_questions(&self) -> Vec<String> {
        self.progress.questions.lock().unwrap().clone()
    }

    /// Calls a tool and returns rmcp's result; panics on a protocol error.
    pub async fn tool_result(&self, tool: &str, args: Value) -> CallToolResult {
        self.send_tool_call(tool, tool_params(tool, args)).await
    }

    /// Like [`McpServer::tool_result`], asking for progress notifications with a token.
    pub async fn tool_result_with_progress(&self, tool: &str, args: Value) -> CallToolResult {
        let mut params = tool_params(tool, args);
        params.set_progress_token(ProgressToken(NumberOrString::String(
            format!("p-{tool}").into(),
        )));
        self.send_tool_call(tool, params).await
    }

    async fn send_tool_call(&self, tool: &str, params: CallToolRequestParams) -> CallToolResult {
        match tokio::time::timeout(CALL_TIMEOUT, self.client.call_tool(params)).await {
            Err(_) => panic!("no answer to {tool} within {}s", CALL_TIMEOUT.as_secs()),
            Ok(Err(e)) => panic!("{tool}: protocol error {e}"),
            Ok(Ok(result)) => result,
        }
    }

    /// Calls a tool that must succeed with a text form; returns its structured content.
    pub async fn structured_ok(&self, tool: &str, args: Value) -> Value {
        let result = self.tool_result(tool, args.clone()).await;
        assert_ne!(
            result.is_error,
            Some(true),
            "{tool} {args} failed: {}",
            result_text(&result)
        );
        assert!(!result_text(&result).is_empty(), "{tool} has no text form");
        result
            .structured_content
            .unwrap_or_else(|| panic!("{tool} returned no structuredContent"))
    }

    /// Calls a tool that must fail as a tool error; returns the message.
    pub async fn tool_error(&self, tool: &str, args: Value) -> String {
        let result = self.tool_result(tool, args.clone()).await;
        assert_eq!(
            result.is_error,
            Some(true),
            "{tool} {args} should fail but gave {}",
            result_text(&result)
        );
        result_text(&result)
    }

    /// Calls a tool that must answer with a task (the client declared the extension); returns its id.
    pub async fn start_task(&self, tool: &str, args: Value) -> String {
        let call = self.client.peer().call_tool_once(tool_params(tool, args));
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(CallToolResponse::Task(created))) => created.task.task_id,
            other => panic!("{tool} did not start a task: {other:?}"),
        }
    }

    /// The task's current state.
    pub async fn task(&self, task_id: &str) -> DetailedTask {
        let get = self.client.peer().get_task(GetTaskParams::new(task_id));
        match tokio::time::timeout(Duration::from_secs(30), get).await {
            Ok(Ok(result)) => result.task,
            other => panic!("tasks/get {task_id}: {other:?}"),
        }
    }

    /// Asks the server to cancel the task.
    pub async fn cancel_task(&self, task_id: &str) {
        let cancel = self
            .client
            .peer()
            .cancel_task(CancelTaskParams::new(task_id));
        match tokio::time::timeout(Duration::from_secs(30), cancel).await {
            Ok(Ok(())) => {}
            other => panic!("tasks/cancel {task_id}: {other:?}"),
        }
    }

    /// Polls the task until it is terminal (within `CALL_TIMEOUT`); returns its last state.
    pub async fn await_task(&self, task_id: &str) -> DetailedTask {
        let deadline = std::time::Instant::now() + CALL_TIMEOUT;
        loop {
            let task = self.task(task_id).await;
            if task.status().is_terminal() {
                return task;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "task {task_id} still {:?} after {}s",
                task.status(),
                CALL_TIMEOUT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, as a crash or an OOM kill would end it.
    pub fn kill9(&self) {
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .arg(self.pid.to_string())
            .status();
    }

    /// Whether the server process is still alive.
    pub fn is_alive(&self) -> bool {
        std::process::Command::new("kill")
            .arg("-0")
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    pub async fn stop(self) {
        let _ = tokio::time::timeout(Duration::from_secs(15), self.client.cancel()).await;
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

/// The `tools/call` parameters for `tool` with `args` (an object, or null for none).
pub fn tool_params(tool: &str, args: Value) -> CallToolRequestParams {
    let params = CallToolRequestParams::new(tool.to_string());
    match args {
        Value::Object(map) => params.with_arguments(map),
        _ => params,
    }
}

/// All text content blocks of a tool result, joined by newlines.
pub fn result_text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A server with a fresh state directory of its own, removed with it.
pub struct McpSession {
    server: McpServer,
    _dir: tempfile::TempDir,
}

impl McpSession {
    pub async fn start() -> McpSession {
        McpSession::start_with_env(&[]).await
    }

    /// Starts the server with extra environment variables.
    pub async fn start_with_env(env: &[(&str, &str)]) -> McpSession {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        let mut setup = ServerSetup::new(&state).env("RUST_LOG", "warn");
        for (k, v) in env {
            setup = setup.env(k, *v);
        }
        let server = McpServer::start(setup).await;
        McpSession { server, _dir: dir }
    }
}

impl std::ops::Deref for McpSession {
    type Target = McpServer;
    fn deref(&self) -> &McpServer {
        &self.server
    }
}
