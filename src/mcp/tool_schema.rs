//! Compact tool schemas: the `tools/list` answer is paid for by every chat before the user types.
//!
//! schemars writes schemas for validators and documentation generators: `$schema`, `format`, `default: null`,
//! `oneOf` lists with a description per variant, and `$defs` for every named type. An LLM needs less. This
//! module rewrites each tool's schemas after the `#[tool]` macro made them, so the Rust types stay the single
//! source of truth:
//! - both schemas lose `$schema`, `format`, `title`, `minimum: 0` and defaults that say "nothing" (`null`,
//!   `false`, empty);
//! - an optional input property (not in `required`) loses `null` from its type, since leaving it out says it,
//!   and the top-level `additionalProperties: false` goes (an unknown argument is refused by name anyway);
//! - output schemas keep every property and type but lose descriptions (the tool's description and field names
//!   carry the meaning), `minimum` and `required` (leaving it out only weakens the promise); a definition
//!   used once is inlined, one used more stays in `$defs`; a `oneOf` of plain strings becomes one `enum`;
//!   an array of strings is just an array and a map of strings just an object (the text form shows them).

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::{Map, Value};

/// How deep `$ref` inlining may nest; output types here are shallow, this only stops a recursive type.
const MAX_INLINE_DEPTH: usize = 8;

/// Rewrites a tool's input and output schemas into their compact form.
pub fn compact_tool(tool: &mut Tool) {
    tool.input_schema = Arc::new(compact_input(&tool.input_schema));
    if let Some(output) = &tool.output_schema {
        tool.output_schema = Some(Arc::new(compact_output(output)));
    }
}

/// The input schema without noise; descriptions stay (they tell the LLM what to pass).
pub fn compact_input(schema: &JsonObject) -> JsonObject {
    let mut value = inline_single_use_defs(schema);
    strip_noise(&mut value);
    if let Value::Object(object) = &mut value {
        drop_null_from_optional(object);
        // Unknown arguments are refused by name at call time (`deny_unknown_fields`), so the list need not say it.
        object.remove("additionalProperties");
    }
    into_object(value)
}

/// The output schema as structure and types only.
pub fn compact_output(schema: &JsonObject) -> JsonObject {
    let mut value = inline_single_use_defs(schema);
    strip_noise(&mut value);
    strip_output_only(&mut value);
    into_object(value)
}

fn into_object(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

/// The schema with each definition used once inlined; one used more often stays in `$defs`, written once.
fn inline_single_use_defs(schema: &JsonObject) -> Value {
    let mut value = Value::Object(schema.clone());
    let defs = match &mut value {
        Value::Object(object) => match object.remove("$defs") {
            Some(Value::Object(defs)) => defs,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let mut uses = std::collections::BTreeMap::new();
    count_refs(&value, &mut uses);
    defs.values().for_each(|d| count_refs(d, &mut uses));
    let (single, shared): (Map<String, Value>, Map<String, Value>) = defs
        .into_iter()
        .partition(|(name, _)| uses.get(name).copied().unwrap_or(0) <= 1);
    let mut shared = Value::Object(shared);
    inline_refs(&mut shared, &single, 0);
    inline_refs(&mut value, &single, 0);
    if let (Value::Object(object), Value::Object(shared)) = (&mut value, shared) {
        if !shared.is_empty() {
            object.insert("$defs".into(), Value::Object(shared));
        }
    }
    value
}

/// Counts how often each `#/$defs/Name` is referenced.
fn count_refs(value: &Value, uses: &mut std::collections::BTreeMap<String, usize>) {
    match value {
        Value::Object(object) => {
            if let Some(name) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            {
                *uses.entry(name.to_string()).or_default() += 1;
            }
            object.values().for_each(|v| count_refs(v, uses));
        }
        Value::Array(items) => items.iter().for_each(|v| count_refs(v, uses)),
        _ => {}
    }
}

/// Removes keys no client reads, at every level.
fn strip_noise(value: &mut Value) {
    walk_schemas(value, &mut |object| {
        for key in ["$schema", "format", "title"] {
            object.remove(key);
        }
        // Unsigned integers: a negative number fails to parse with a message naming the field.
        if object.get("minimum") == Some(&Value::from(0)) {
            object.remove("minimum");
        }
        if matches!(object.get("default"), Some(d) if is_empty_default(d)) {
            object.remove("default");
        }
    });
}

/// Calls `edit` on every schema object inside `value`, after its children; the maps of property names
/// (`properties`, `$defs`) are walked through but not edited, so a property called `format` stays.
fn walk_schemas(value: &mut Value, edit: &mut dyn FnMut(&mut Map<String, Value>)) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                let is_name_map =
                    matches!(key.as_str(), "properties" | "$defs" | "patternProperties");
                match child {
                    Value::Object(names) if is_name_map => {
                        names.values_mut().for_each(|v| walk_schemas(v, edit))
                    }
                    _ => walk_schemas(child, edit),
                }
            }
            edit(object);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk_schemas(v, edit)),
        _ => {}
    }
}

fn is_empty_default(default: &Value) -> bool {
    match default {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// `"type": ["string", "null"]` becomes `"string"` for properties the caller may leave out.
fn drop_null_from_optional(object: &mut Map<String, Value>) {
    let required: Vec<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let Some(Value::Object(properties)) = object.get_mut("properties") else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if required.contains(name) {
            continue;
        }
        if let Some(Value::Array(types)) = property.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types.remove(0);
                property["type"] = only;
            }
        }
    }
}

/// Replaces every `{"$ref": "#/$defs/Name", ...}` with the definition (keeping the sibling keys).
fn inline_refs(value: &mut Value, defs: &Map<String, Value>, depth: usize) {
    match value {
        Value::Object(object) => {
            let target = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| defs.get(name));
            if let (Some(Value::Object(definition)), true) = (target, depth < MAX_INLINE_DEPTH) {
                object.remove("$ref");
                for (key, field) in definition {
                    object.entry(key.clone()).or_insert_with(|| field.clone());
                }
                inline_refs(value, defs, depth + 1);
                return;
            }
            object
                .values_mut()
                .for_each(|v| inline_refs(v, defs, depth));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| inline_refs(v, defs, depth)),
        _ => {}
    }
}

/// Drops descriptions, bounds and `required` (leaving it out only weakens the promise) from an output
/// schema, and merges string-only `oneOf`s into one `enum`.
fn strip_output_only(value: &mut Value) {
    walk_schemas(value, &mut |object| {
        for key in ["description", "minimum", "maximum", "required"] {
            object.remove(key);
        }
        for key in ["items", "additionalProperties"] {
            if object.get(key).is_some_and(is_plain_scalar) {
                object.remove(key);
            }
        }
        merge_string_variants(object);
    });
}

/// `{"type": "string"}` and the like: an array's items or a map's values a client can take as they come.
fn is_plain_scalar(schema: &Value) -> bool {
    schema.as_object().is_some_and(|object| {
        object.len() == 1
            && matches!(
                object.get("type").and_then(Value::as_str),
                Some("string" | "integer" | "number" | "boolean")
            )
    })
}

/// `{"oneOf": [{"enum": [a, b]}, {"const": c}]}` (all strings) becomes `{"type": "string", "enum": [a, b, c]}`.
fn merge_string_variants(object: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = object.get("oneOf") else {
        return;
    };
    let mut names = Vec::new();
    for variant in variants {
        match (variant.get("enum"), variant.get("const")) {
            (Some(Value::Array(values)), None) if values.iter().all(Value::is_string) => {
                names.extend(values.iter().cloned())
            }
            (None, Some(value @ Value::String(_))) => names.push(value.clone()),
            _ => return,
        }
    }
    object.remove("oneOf");
    object.insert("type".into(), Value::String("string".into()));
    object.insert("enum".into(), Value::Array(names));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn output_refs_are_inlined_and_string_variants_merged() {
        let schema = object(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": {
                "Op": {"oneOf": [{"enum": ["create"], "type": "string"},
                                 {"const": "start", "description": "Start it.", "type": "string"}]},
                "Step": {"description": "One step.", "properties": {"op": {"$ref": "#/$defs/Op"},
                         "n": {"format": "uint", "minimum": 0, "type": "integer"}}, "required": ["op", "n"],
                         "type": "object"}
            },
            "properties": {"steps": {"items": {"$ref": "#/$defs/Step"}, "type": "array"}},
            "required": ["steps"],
            "type": "object"
        }));
        let compact = Value::Object(compact_output(&schema));
        assert_eq!(
            compact,
            json!({
                "properties": {"steps": {"items": {"properties": {
                    "op": {"type": "string", "enum": ["create", "start"]},
                    "n": {"type": "integer"}}, "type": "object"}, "type": "array"}},
                "type": "object"
            })
        );
    }

    #[test]
    fn optional_inputs_lose_null_and_keep_descriptions() {
        let schema = object(json!({
            "$schema": "x",
            "properties": {
                "name": {"description": "The name.", "type": "string"},
                "limit": {"default": null, "description": "Most rows.", "format": "uint", "minimum": 0,
                          "type": ["integer", "null"]},
                "format": {"description": "A property called format.", "type": "string"}
            },
            "required": ["name"],
            "type": "object"
        }));
        let compact = Value::Object(compact_input(&schema));
        assert_eq!(
            compact,
            json!({
                "properties": {
                    "name": {"description": "The name.", "type": "string"},
                    "limit": {"description": "Most rows.", "type": "integer"},
                    "format": {"description": "A property called format.", "type": "string"}
                },
                "required": ["name"],
                "type": "object"
            })
        );
    }
}
