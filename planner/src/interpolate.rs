//! Compose variable interpolation: `$VAR`, `${VAR}`, the `:-` `-` `:?` `?` `:+` `+` modifiers and the `$$` escape.
//!
//! Like compose, only string values are interpolated (never keys), before any typing, so `"${PORT:-8080}:80"`
//! and `replicas: ${N}` both work. Defaults may nest (`${A:-${B:-x}}`) and are only expanded when used.

use serde_json::Value;

use crate::error::{ErrorKind, SpecError};

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    /// `${VAR:?message}` or `${VAR?message}` with `VAR` missing.
    #[error("required variable `{variable}` is missing a value{}", if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    Required { variable: String, message: String },
    /// A `$` that starts no variable, or an unclosed `${`.
    #[error("invalid interpolation in {template:?}: {reason}")]
    Invalid { template: String, reason: String },
}

/// Deepest nesting of `${A:-${B:-...}}` expanded: each level recurses, and a spec nested a hundred thousand
/// levels deep would otherwise overflow the stack and abort the server.
pub const MAX_NESTING: usize = 32;

/// Expands one string. `lookup` answers a variable's value (`None` when unset).
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    interpolate_nested(input, lookup, 0)
}

fn interpolate_nested(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    if depth > MAX_NESTING {
        return Err(InterpolationError::Invalid {
            template: shortened(input),
            reason: format!("`${{...}}` is nested more than {MAX_NESTING} levels deep"),
        });
    }
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let invalid = |reason: &str| InterpolationError::Invalid {
            template: input.to_string(),
            reason: reason.to_string(),
        };
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let close = matching_brace(&chars, i + 2)
                    .ok_or_else(|| invalid("`${` is never closed with `}`"))?;
                let body: String = chars[i + 2..close].iter().collect();
                out.push_str(&expand_braced(&body, input, lookup, depth)?);
                i = close + 1;
            }
            Some(c) if is_name_start(*c) => {
                let end = (i + 1..chars.len())
                    .find(|&j| !is_name_char(chars[j]))
                    .unwrap_or(chars.len());
                let name: String = chars[i + 1..end].iter().collect();
                out.push_str(&lookup(&name).unwrap_or_default());
                i = end;
            }
            _ => {
                return Err(invalid(
                    "`$` must start a variable (`$VAR`, `${VAR}`); write `$$` for a literal `$`",
                ))
            }
        }
    }
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Index of the `}` closing a `${` whose body starts at `start`, skipping nested `${...}` and `$$`.
fn matching_brace(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = start;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('$', Some('$')) => i += 2,
            ('$', Some('{')) => {
                depth += 1;
                i += 2;
            }
            ('}', _) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn expand_braced(
    body: &str,
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    let name_len = body
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(body.len(), |(i, _)| i);
    let (name, rest) = body.split_at(name_len);
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(InterpolationError::Invalid {
            template: template.to_string(),
            reason: format!("`${{{body}}}` does not start with a variable name"),
        });
    }
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let (op, arg) = split_operator(rest);
    let expand_arg = || interpolate_nested(arg, lookup, depth + 1);
    match op {
        "" => Ok(value.unwrap_or_default()),
        ":-" => {
            if non_empty {
                Ok(value.unwrap_or_default())
            } else {
                expand_arg()
            }
        }
        "-" => {
            if set {
                Ok(value.unwrap_or_default())
            } else {
                expand_arg()
            }
        }
        ":+" => {
            if non_empty {
                expand_arg()
            } else {
                Ok(String::new())
            }
        }
        "+" => {
            if set {
                expand_arg()
            } else {
                Ok(String::new())
            }
        }
        ":?" | "?" => {
            let ok = if op == ":?" { non_empty } else { set };
            if ok {
                Ok(value.unwrap_or_default())
            } else {
                // The message is shown as written, never expanded: `${NOPE:?${TOKEN}}` would otherwise
                // put TOKEN's value into an error that the client reads.
                Err(InterpolationError::Required {
                    variable: name.to_string(),
                    message: arg.to_string(),
                })
            }
        }
        _ => Err(InterpolationError::Invalid {
            template: template.to_string(),
            reason: format!("unknown modifier in `${{{body}}}`; use one of :- - :? ? :+ +"),
        }),
    }
}

/// The first 80 characters of a template, for an error that must stay readable.
fn shortened(template: &str) -> String {
    let mut short: String = template.chars().take(80).collect();
    if short.len() < template.len() {
        short.push('…');
    }
    short
}

fn split_operator(rest: &str) -> (&str, &str) {
    for op in [":-", ":?", ":+", "-", "?", "+"] {
        if let Some(arg) = rest.strip_prefix(op) {
            return (op, arg);
        }
    }
    if rest.is_empty() {
        ("", "")
    } else {
        (rest, "")
    }
}

/// Interpolates every string in `value` in place; each failure becomes an error naming its path.
pub fn interpolate_value(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<SpecError>,
) {
    match value {
        Value::String(s) => match interpolate(s, lookup) {
            Ok(expanded) => *s = expanded,
            Err(e) => errors.push(to_spec_error(e, path)),
        },
        Value::Array(list) => {
            for (i, item) in list.iter_mut().enumerate() {
                interpolate_value(item, &format!("{path}[{i}]"), lookup, errors);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                interpolate_value(item, &child, lookup, errors);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn to_spec_error(e: InterpolationError, path: &str) -> SpecError {
    let fix = match &e {
        InterpolationError::Required { variable, .. } => {
            format!("set `{variable}` in the server's environment or in the project's `.env` file")
        }
        InterpolationError::Invalid { .. } => {
            "write `$$` for a literal `$`, and close every `${`".to_string()
        }
    };
    SpecError::new(ErrorKind::Invalid, path, e.to_string(), fix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn nested_defaults_expand_lazily() {
        assert_eq!(interpolate("${UNSET:-${SET}}", &env).unwrap(), "value");
        assert_eq!(
            interpolate("${SET:-${NOPE:?never}}", &env).unwrap(),
            "value"
        );
        assert_eq!(
            interpolate("${UNSET:-a${UNSET2:-b}c}", &env).unwrap(),
            "abc"
        );
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        let depth = 100_000;
        let text = format!("{}x{}", "${A:-".repeat(depth), "}".repeat(depth));
        let started = std::time::Instant::now();
        let outcome = interpolate(&text, &env);
        // The bound for any input under 1 MiB; a debug build on a loaded CI machine needs the room.
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}",
            started.elapsed()
        );
        assert!(outcome.is_err());
        let shallow = format!("{}x{}", "${A:-".repeat(8), "}".repeat(8));
        assert_eq!(interpolate(&shallow, &env).unwrap(), "x");
    }

    #[test]
    fn required_message_never_echoes_a_value() {
        let e = interpolate("${NOPE:?${SET}}", &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "required variable `NOPE` is missing a value: ${SET}"
        );
        let e = interpolate("${NOPE?plain words}", &env).unwrap_err();
        assert!(e.to_string().contains("plain words"), "{e}");
    }
}
