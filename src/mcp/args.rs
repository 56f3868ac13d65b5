//! Tool arguments that fail as tool errors naming the field, not as protocol errors.
//!
//! rmcp's own `Parameters<T>` reports serde's message, which for a wrong type ("invalid type: integer,
//! expected a string") does not say which field. This extractor deserializes through `serde_path_to_error`
//! so the message starts with the field's path. It keeps the `Parameters` name because rmcp's `#[tool]`
//! macro finds the input schema by that name. The error keeps rmcp's "failed to deserialize parameters:"
//! prefix, which rmcp turns into a `CallToolResult` with `isError: true` instead of a JSON-RPC error.

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// The tool's arguments, parsed into `T`.
pub struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        parse_arguments(serde_json::Value::Object(arguments))
            .map(Parameters)
            .map_err(|message| rmcp::ErrorData::invalid_params(message, None))
    }
}

/// Deserializes tool arguments; the error names the offending field and how to fix it.
pub fn parse_arguments<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let field = if path == "." || path.is_empty() { "arguments".to_string() } else { format!("`{path}`") };
        format!(
            "failed to deserialize parameters: {field}: {inner} (fix: correct {field} to match the tool's inputSchema)"
        )
    })
}
