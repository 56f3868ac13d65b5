//! Compose's merge rules for one service laid over another (`extends`), on the raw document.
//!
//! They follow the compose specification's merge section and compose-go's `override/merge.go`: mappings
//! merge key by key, a scalar of the overriding service wins, `command`, `entrypoint` and `healthcheck.test`
//! are replaced whole, `environment`, `labels`, `sysctls` and build `args`/`labels` merge by variable (either
//! spelling, list or map), `volumes` merge by container path, `secrets`/`configs` by source, `networks` and
//! `depends_on` by name (either spelling), a `logging` with another driver replaces the base's, and the
//! other sequences are appended without repeating an entry.

use serde_json::{Map, Value};

/// `over` laid on top of `base`.
pub fn merge_service(base: &Map<String, Value>, over: &Map<String, Value>) -> Map<String, Value> {
    let mut out = base.clone();
    for (key, value) in over {
        let merged = match out.remove(key) {
            None => value.clone(),
            Some(old) => merge_service_key(key, old, value),
        };
        out.insert(key.clone(), merged);
    }
    out
}

fn merge_service_key(key: &str, old: Value, new: &Value) -> Value {
    match key {
        "command" | "entrypoint" => new.clone(),
        "environment" | "labels" | "sysctls" | "annotations" => merge_key_values(old, new),
        "build" => merge_build(old, new),
        "healthcheck" => merge_mapping_replacing(old, new, &["test"]),
        "logging" => merge_logging(old, new),
        "networks" | "depends_on" => {
            merge_default(named_mapping(key, old), &named_mapping(key, new.clone()))
        }
        "ulimits" => merge_ulimits(old, new),
        "volumes" => merge_indexed(old, new, volume_target),
        "secrets" | "configs" => merge_indexed(old, new, file_ref_source),
        "dns" | "dns_search" | "dns_opt" | "env_file" | "tmpfs" => {
            append_unique(as_sequence(old), &as_sequence(new.clone()))
        }
        _ => merge_default(old, new),
    }
}

/// Mappings merge key by key, sequences append without repeats, anything else is replaced; a `null`
/// override keeps the base (`networks: {back: }` over `back: {aliases: [a]}` keeps the alias).
fn merge_default(old: Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(mut base), Value::Object(over)) => {
            for (key, value) in over {
                let merged = match base.remove(key) {
                    None => value.clone(),
                    Some(prev) => merge_default(prev, value),
                };
                base.insert(key.clone(), merged);
            }
            Value::Object(base)
        }
        (Value::Array(base), Value::Array(_)) => append_unique(Value::Array(base), new),
        (old, Value::Null) => old,
        (_, new) => new.clone(),
    }
}

/// A mapping merged by `merge_default`, except that `replaced` keys are taken whole from the override.
fn merge_mapping_replacing(old: Value, new: &Value, replaced: &[&str]) -> Value {
    let (Value::Object(mut base), Value::Object(over)) = (old, new) else {
        return new.clone();
    };
    for (key, value) in over {
        let merged = match base.remove(key) {
            Some(prev) if !replaced.contains(&key.as_str()) => merge_default(prev, value),
            _ => value.clone(),
        };
        base.insert(key.clone(), merged);
    }
    Value::Object(base)
}

/// `build: ./dir` is `build: {context: ./dir}`; `args` and `labels` merge by name.
fn merge_build(old: Value, new: &Value) -> Value {
    let as_long = |v: Value| match v {
        Value::String(context) => {
            let mut m = Map::new();
            m.insert("context".into(), Value::String(context));
            Value::Object(m)
        }
        other => other,
    };
    let (Value::Object(mut base), Value::Object(over)) = (as_long(old), as_long(new.clone()))
    else {
        return new.clone();
    };
    for (key, value) in over {
        let merged = match (key.as_str(), base.remove(&key)) {
            ("args" | "labels", Some(prev)) => merge_key_values(prev, &value),
            (_, Some(prev)) => merge_default(prev, &value),
            (_, None) => value,
        };
        base.insert(key, merged);
    }
    Value::Object(base)
}

/// `KEY=value` lists and `{KEY: value}` maps merge by key into a map; `KEY` alone is `KEY: null`.
fn merge_key_values(old: Value, new: &Value) -> Value {
    let mut merged = key_value_map(old);
    merged.extend(key_value_map(new.clone()));
    Value::Object(merged)
}

fn key_value_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), Value::String(v.to_string())),
                    None => (s, Value::Null),
                }),
                _ => None,
            })
            .collect(),
        _ => Map::new(),
    }
}

/// Same driver (or one unset): options merge. Another driver: the override's logging replaces the base's.
fn merge_logging(old: Value, new: &Value) -> Value {
    let driver = |v: &Value| v.get("driver").and_then(Value::as_str).map(str::to_string);
    match (driver(&old), driver(new)) {
        (Some(a), Some(b)) if a != b => new.clone(),
        _ => merge_default(old, new),
    }
}

/// `networks: [a, b]` is `{a: null, b: null}`; `depends_on: [db]` is `{db: {condition: service_started}}`.
fn named_mapping(key: &str, value: Value) -> Value {
    let Value::Array(items) = value else {
        return value;
    };
    let body = |_: &str| match key {
        "depends_on" => serde_json::json!({"condition": "service_started", "required": true}),
        _ => Value::Null,
    };
    Value::Object(
        items
            .into_iter()
            .filter_map(|item| item.as_str().map(|name| (name.to_string(), body(name))))
            .collect(),
    )
}

/// A ulimit given as one number replaces; two pairs merge.
fn merge_ulimits(old: Value, new: &Value) -> Value {
    let (Value::Object(mut base), Value::Object(over)) = (old, new) else {
        return new.clone();
    };
    for (name, limit) in over {
        let merged = match base.remove(name) {
            Some(prev @ Value::Object(_)) if limit.is_object() => merge_default(prev, limit),
            _ => limit.clone(),
        };
        base.insert(name.clone(), merged);
    }
    Value::Object(base)
}

/// Sequences whose entries have an identity: an override entry replaces the base entry with the same one,
/// the others are appended in order.
fn merge_indexed(old: Value, new: &Value, identity: fn(&Value) -> Option<String>) -> Value {
    let (Value::Array(mut base), Value::Array(over)) = (old, new) else {
        return new.clone();
    };
    for entry in over {
        let id = identity(entry);
        match base.iter().position(|b| id.is_some() && identity(b) == id) {
            Some(at) => base[at] = entry.clone(),
            None if !base.contains(entry) => base.push(entry.clone()),
            None => {}
        }
    }
    Value::Array(base)
}

/// The container path of a volume in either form (`src:/path:ro`, `/path`, `{target: /path}`).
fn volume_target(volume: &Value) -> Option<String> {
    match volume {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            let target = if parts.len() >= 2 { parts[1] } else { parts[0] };
            Some(target.trim_end_matches('/').to_string())
        }
        Value::Object(m) => m
            .get("target")
            .and_then(Value::as_str)
            .map(|t| t.trim_end_matches('/').to_string()),
        _ => None,
    }
}

/// The name of a secret or config in either form.
fn file_ref_source(reference: &Value) -> Option<String> {
    match reference {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("source").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// One string is a list of one.
fn as_sequence(value: Value) -> Value {
    match value {
        Value::Array(_) | Value::Null => value,
        other => Value::Array(vec![other]),
    }
}

/// `base` followed by the entries of `over` it does not already hold.
fn append_unique(base: Value, over: &Value) -> Value {
    let (Value::Array(mut base), Value::Array(over)) = (base, over) else {
        return over.clone();
    };
    for entry in over {
        if !base.contains(entry) {
            base.push(entry.clone());
        }
    }
    Value::Array(base)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(base: Value, over: Value) -> Value {
        Value::Object(merge_service(
            base.as_object().unwrap(),
            over.as_object().unwrap(),
        ))
    }

    #[test]
    fn follows_composes_rules() {
        let base = json!({
            "image": "a", "command": ["x", "y"], "environment": ["A=1", "B=2"],
            "ports": ["80"], "volumes": ["data:/data", "./c:/conf:ro"], "dns": "1.1.1.1",
            "networks": ["front"], "healthcheck": {"test": ["CMD", "a"], "interval": "5s"},
            "logging": {"driver": "json-file", "options": {"max-size": "1m"}},
        });
        let over = json!({
            "image": "b", "command": ["z"], "environment": {"B": "3", "C": null},
            "ports": ["80", "443"], "volumes": ["other:/data"], "dns": ["8.8.8.8"],
            "networks": {"back": {"aliases": ["x"]}}, "healthcheck": {"test": ["CMD", "b"]},
            "logging": {"driver": "local"},
        });
        assert_eq!(
            merged(base, over),
            json!({
                "image": "b", "command": ["z"], "environment": {"A": "1", "B": "3", "C": null},
                "ports": ["80", "443"], "volumes": ["other:/data", "./c:/conf:ro"],
                "dns": ["1.1.1.1", "8.8.8.8"], "networks": {"front": null, "back": {"aliases": ["x"]}},
                "healthcheck": {"test": ["CMD", "b"], "interval": "5s"}, "logging": {"driver": "local"},
            })
        );
    }
}
