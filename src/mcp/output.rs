//! What a tool returns: structured content for programs, a short text form for people, or a tool error.
//!
//! rmcp's `#[tool]` macro derives a tool's `outputSchema` from a return type spelled `Json<T>`; this `Json`
//! keeps that spelling but also carries a short human text, because rmcp's own `Json` puts the whole JSON
//! document into the text content. Errors become `CallToolResult { isError: true }` so the LLM can read
//! the message and retry; they are never JSON-RPC errors.

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, CreateTaskResult, InputRequiredResult,
};
use serde::Serialize;

use crate::docker::error::DockerError;
use crate::engine::EngineError;

/// A successful tool result: `value` becomes `structuredContent`, `text` the text content.
pub struct Json<T> {
    pub value: T,
    pub text: String,
    outcome: ResultKind,
}

/// Whether the client sees the result as a success or as a tool error (`isError`) with its structure kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultKind {
    Success,
    Failure,
}

impl<T> Json<T> {
    pub fn new(value: T, text: impl Into<String>) -> Self {
        Json {
            value,
            text: text.into(),
            outcome: ResultKind::Success,
        }
    }

    /// False for a failed operation (`failure`).
    pub fn succeeded(&self) -> bool {
        self.outcome == ResultKind::Success
    }

    /// A failed operation whose structured report the client still needs (a failed apply's steps).
    pub fn failure(value: T, text: impl Into<String>) -> Self {
        Json {
            value,
            text: text.into(),
            outcome: ResultKind::Failure,
        }
    }
}

impl<T: Serialize + schemars::JsonSchema + 'static> IntoCallToolResult for Json<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let value = serde_json::to_value(&self.value).map_err(|e| {
            rmcp::ErrorData::internal_error(format!("cannot serialize the tool result: {e}"), None)
        })?;
        let content = vec![ContentBlock::text(self.text)];
        let mut result = match self.outcome {
            ResultKind::Success => CallToolResult::success(content),
            ResultKind::Failure => CallToolResult::error(content),
        };
        result.structured_content = Some(value);
        Ok(result.into())
    }
}

/// What a tool that may ask the human first (multi-round) or run as a task answers. Its `#[tool]` names
/// the output schema itself (`output_schema = ...`), as the macro derives it only from `Json<T>`.
pub enum Reply<T> {
    Done(Json<T>),
    /// The question for the human; the client's retry carries the answer.
    InputRequired(InputRequiredResult),
    /// The work runs as an MCP task; the client polls `tasks/get` for its status and result.
    Task(CreateTaskResult),
}

impl<T> From<Json<T>> for Reply<T> {
    fn from(done: Json<T>) -> Self {
        Reply::Done(done)
    }
}

impl<T: Serialize + schemars::JsonSchema + 'static> IntoCallToolResult for Reply<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        match self {
            Reply::Done(done) => done.into_call_tool_result(),
            Reply::InputRequired(question) => Ok(question.into()),
            Reply::Task(task) => Ok(task.into()),
        }
    }
}

/// A tool failure the caller can act on: what went wrong, naming the field, and how to fix it.
#[derive(Debug, Clone)]
pub struct ToolError(pub String);

impl ToolError {
    /// An argument problem: `field` is the argument's name as the caller wrote it.
    pub fn invalid(
        field: &str,
        problem: impl std::fmt::Display,
        fix: impl std::fmt::Display,
    ) -> Self {
        ToolError(format!(
            "invalid argument `{field}`: {problem} (fix: {fix})"
        ))
    }

    /// A Docker failure while acting on `what`, with a hint tailored to the tool.
    pub fn docker(err: DockerError, fix: &str) -> Self {
        if err.is_not_found() {
            ToolError(format!("{err} (fix: {fix})"))
        } else {
            ToolError(err.to_string())
        }
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<EngineError> for ToolError {
    fn from(err: EngineError) -> Self {
        ToolError(err.to_string())
    }
}

impl From<DockerError> for ToolError {
    fn from(err: DockerError) -> Self {
        ToolError(err.to_string())
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(CallToolResult::error(vec![ContentBlock::text(self.0)]).into())
    }
}

/// Every tool returns this.
pub type ToolResult<T> = Result<Json<T>, ToolError>;
