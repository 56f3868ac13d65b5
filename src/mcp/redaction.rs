//! The one place MCP replies pass through redaction: tool results and tool errors, tasks (status line and
//! result), prompts, resources.
//!
//! Each reply is checked against the values the server knows now (`crate::redact::Redactor::current`), so a
//! secret resolved by an apply a moment ago is already covered. A reply that cannot be checked is refused.

use rmcp::model::{
    CallToolResponse, DetailedTask, ErrorData, GetPromptResponse, ReadResourceResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::ServerConfig;
use crate::redact::Redactor;

/// A tool's reply (result or protocol error) with every known secret value replaced.
pub fn tool_reply(
    config: &ServerConfig,
    reply: Result<CallToolResponse, ErrorData>,
) -> Result<CallToolResponse, ErrorData> {
    let redactor = Redactor::current(config);
    match reply {
        Ok(CallToolResponse::Complete(result)) => {
            Ok(CallToolResponse::Complete(scrub(&redactor, result)?))
        }
        Ok(other) => Ok(other),
        Err(error) => Err(scrub(&redactor, error)?),
    }
}

/// A task as `tasks/get` shows it (status line, result or error) with every known secret value replaced.
pub fn task_reply(config: &ServerConfig, task: DetailedTask) -> Result<DetailedTask, ErrorData> {
    scrub(&Redactor::current(config), task)
}

/// The prompt's messages with every known secret value replaced.
pub fn prompt_reply(
    config: &ServerConfig,
    reply: GetPromptResponse,
) -> Result<GetPromptResponse, ErrorData> {
    match reply {
        GetPromptResponse::Complete(result) => Ok(GetPromptResponse::Complete(scrub(
            &Redactor::current(config),
            result,
        )?)),
        other => Ok(other),
    }
}

/// A resource's contents (or the error) with every known secret value replaced.
pub fn resource_reply(
    config: &ServerConfig,
    reply: Result<ReadResourceResponse, ErrorData>,
) -> Result<ReadResourceResponse, ErrorData> {
    let redactor = Redactor::current(config);
    match reply {
        Ok(ReadResourceResponse::Complete(result)) => {
            Ok(ReadResourceResponse::Complete(scrub(&redactor, result)?))
        }
        Ok(other) => Ok(other),
        Err(error) => Err(scrub(&redactor, error)?),
    }
}

fn scrub<T: Serialize + DeserializeOwned>(redactor: &Redactor, reply: T) -> Result<T, ErrorData> {
    redactor.scrub(reply).map_err(|e| {
        ErrorData::internal_error(
            format!("the reply could not be checked for secret values, so it is withheld: {e}"),
            None,
        )
    })
}
