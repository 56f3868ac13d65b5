//! Hints for the LLM about a spec that is valid but unwise: a literal value under a key that looks secret.
//!
//! `DB_PASSWORD: hunter2` works, but the value then sits in the chat, the spec, the plan and the state. The
//! hint suggests `{secret: NAME}`, which the server resolves at apply time from what the operator allowed.
//! It reads the raw document the client sent, after the engine accepted it (so its size is already bounded),
//! and uses the planner's one rule for secret-looking keys.

use serde_json::Value;

/// Most hints one plan carries; a spec full of literals needs one message, not hundreds.
const MAX_HINTS: usize = 10;

/// One warning per literal value under a secret-looking environment key, in service order.
pub fn literal_secret_warnings(spec: &Value) -> Vec<String> {
    let mut warnings = Vec::new();
    let services = spec.get("services").and_then(Value::as_object);
    for (service, definition) in services.into_iter().flatten() {
        for key in literal_secret_keys(definition.get("environment")) {
            warnings.push(format!(
                "service `{service}`: environment `{key}` holds a literal secret-looking value; write \
                 `{key}: {{secret: {key}}}` so the value stays out of the chat, plans and state (the operator \
                 provides it with --secret-env or --secrets-file)"
            ));
        }
    }
    warnings.truncate(MAX_HINTS);
    warnings
}

/// The parsed YAML text of a `compose_yaml` argument, for the hints; `None` if it does not parse.
pub fn parse_yaml(text: &str) -> Option<Value> {
    serde_yaml::from_str(text).ok()
}

/// Keys of an `environment` (map or `KEY=VALUE` list) that look secret and carry a literal value.
fn literal_secret_keys(environment: Option<&Value>) -> Vec<String> {
    let entries: Vec<(&str, bool)> = match environment {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.as_str(), is_literal(v)))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|item| item.split_once('='))
            .map(|(key, value)| (key, is_literal_text(value)))
            .collect(),
        _ => Vec::new(),
    };
    entries
        .into_iter()
        .filter(|(key, literal)| *literal && planner::sensitive::is_sensitive_key(key))
        .map(|(key, _)| key.to_string())
        .collect()
}

/// A scalar written out in the spec (not `{secret: NAME}`, not empty, not `${VAR}` interpolation).
fn is_literal(value: &Value) -> bool {
    match value {
        Value::String(text) => is_literal_text(text),
        Value::Number(_) | Value::Bool(_) => true,
        _ => false,
    }
}

fn is_literal_text(text: &str) -> bool {
    !text.is_empty() && !text.contains('$')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_literal_password_gets_a_secret_hint_and_references_do_not() {
        let spec = json!({"services": {
            "db": {"environment": {
                "DB_PASSWORD": "hunter2",
                "API_TOKEN": {"secret": "API_TOKEN"},
                "SESSION_KEY": "${SESSION_KEY}",
                "PRIVATE_PIN": 1234,
                "EMPTY_SECRET": "",
                "USER": "app"
            }},
            "web": {"environment": ["AWS_SECRET=abc", "MODE=prod", "GITHUB_TOKEN=$TOKEN"]}
        }});
        let warnings = literal_secret_warnings(&spec);
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(
            warnings[0].contains("`db`")
                && warnings[0].contains("`DB_PASSWORD: {secret: DB_PASSWORD}`")
        );
        assert!(warnings[1].contains("PRIVATE_PIN"));
        assert!(warnings[2].contains("`web`") && warnings[2].contains("AWS_SECRET"));
        assert!(!warnings
            .iter()
            .any(|w| w.contains("hunter2") || w.contains("abc")));
    }

    #[test]
    fn hints_are_bounded() {
        let environment: serde_json::Map<String, Value> = (0..50)
            .map(|i| (format!("K{i}_PASSWORD"), json!("x")))
            .collect();
        let spec = json!({"services": {"db": {"environment": environment}}});
        assert_eq!(literal_secret_warnings(&spec).len(), MAX_HINTS);
    }
}
