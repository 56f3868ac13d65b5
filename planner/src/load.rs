//! Loading a compose spec: text or JSON in, a validated `model::Project` (or every problem found) out.
//!
//! Steps, in compose's order: size limit, YAML parse with anchors and merge keys, key check (unknown and
//! unsupported keys, `x-*` removal), interpolation, `extends`, typed parse, profile selection, normalization,
//! validation and policy. All errors of a step are collected so one round trip fixes a spec.
//! The filesystem and environment are reached only through `Host`, which keeps this crate pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::compose::{self, ComposeFile, Service};
use crate::error::{ErrorKind, SpecError, SpecErrors};
use crate::interpolate::interpolate_value;
use crate::model::{Project, ServiceSpec};
use crate::normalize::{self, dotenv, Context, Diagnostics};
use crate::policy::{self, Policy};
use crate::validate;

mod extends;
mod include;
mod merge;
mod node_budget;

/// What loading may read: the server's environment and files. `src/host.rs` implements it for real;
/// tests use an in-memory one.
pub trait Host {
    /// A variable of the server's environment.
    fn var(&self, name: &str) -> Option<String>;
    fn read_file(&self, path: &Path) -> Result<String, String>;
    /// Resolves symlinks; fails when the path does not exist.
    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String>;
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides the file's `name`.
    pub project_name: Option<String>,
    /// Relative paths (binds, build contexts, env files, secrets) resolve against it; its `.env` feeds
    /// interpolation.
    pub project_dir: PathBuf,
    /// Active profiles; `*` activates every profile.
    pub profiles: Vec<String>,
    pub policy: Policy,
}

/// Specs larger than this are refused before parsing (the default of `Limits::max_spec_bytes`).
pub const MAX_SPEC_BYTES: usize = policy::limits::DEFAULT_MAX_SPEC_BYTES;

/// Errors reported for one load; the rest are counted.
pub const MAX_ERRORS: usize = 100;

/// Loads a compose YAML (or JSON, which is YAML) document.
pub fn load_yaml(text: &str, opts: &LoadOptions, host: &dyn Host) -> Result<Project, SpecErrors> {
    load_yaml_resolved(text, opts, host).map(|r| r.project)
}

/// A loaded project with the document it was normalized from (after interpolation, `include` and `extends`),
/// for readers of keys the model does not carry (the swarm target's `deploy:` keys).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub project: Project,
    pub document: Value,
}

/// Like [`load_yaml`], keeping the resolved document.
pub fn load_yaml_resolved(
    text: &str,
    opts: &LoadOptions,
    host: &dyn Host,
) -> Result<Resolved, SpecErrors> {
    let limits = &opts.policy.limits;
    policy::limits::check_spec_bytes(text.len(), limits)?;
    match node_budget::count_nodes(text, limits.max_yaml_nodes) {
        node_budget::NodeCount::WithinBudget => {}
        node_budget::NodeCount::OverBudget => {
            return Err(policy::limits::too_many_nodes(limits).into())
        }
        node_budget::NodeCount::Unparsable(why) => return Err(not_yaml(&why).into()),
    }
    load_resolved(parse_yaml(text)?, opts, host)
}

/// Like [`load_json`], keeping the resolved document.
pub fn load_json_resolved(
    value: &Value,
    opts: &LoadOptions,
    host: &dyn Host,
) -> Result<Resolved, SpecErrors> {
    check_json_size(value, &opts.policy.limits)?;
    load_resolved(value.clone(), opts, host)
}

/// Loads a compose document already parsed as JSON (the MCP `spec` argument).
pub fn load_json(
    value: &Value,
    opts: &LoadOptions,
    host: &dyn Host,
) -> Result<Project, SpecErrors> {
    check_json_size(value, &opts.policy.limits)?;
    load_document(value.clone(), opts, host)
}

/// Loads one service body, with the same types, defaults and policy as a planner service, for the
/// primitive container tools. Networks and named volumes it names are taken as existing (external) ones;
/// with no `networks` it stays on the engine's default network.
///
/// The body is wrapped in a one-service document and loaded by the one pipeline (`load_document`), so a
/// container made by hand is checked exactly as a planned one; errors are then named from the
/// container's name (`web.ports[0]`, not `services.web.ports[0]`).
pub fn load_service(
    name: &str,
    value: &Value,
    opts: &LoadOptions,
    host: &dyn Host,
) -> Result<ServiceSpec, SpecErrors> {
    check_json_size(value, &opts.policy.limits)?;
    let Some(body) = value.as_object() else {
        return Err(syntax(
            name,
            "a container spec must be a mapping of compose service keys",
            "pass an object such as {\"image\": \"nginx\"}",
        )
        .into());
    };
    let (body, mut errors) = without_project_keys(name, body);
    let document = single_service_document(name, body);
    let opts = LoadOptions {
        project_name: Some(
            opts.project_name
                .clone()
                .unwrap_or_else(|| SINGLE_CONTAINER_PROJECT.into()),
        ),
        profiles: vec!["*".into()],
        ..opts.clone()
    };
    let loaded = load_document(document, &opts, host);
    let mut spec = match loaded {
        Ok(mut project) => project.services.remove(name),
        Err(e) => {
            errors.extend(e.0);
            None
        }
    };
    if !errors.is_empty() {
        return Err(SpecErrors(named_from_container(name, errors)));
    }
    if value.get("networks").is_none_or(Value::is_null) {
        if let Some(spec) = &mut spec {
            spec.networks.clear();
        }
    }
    spec.ok_or_else(|| syntax(name, "the container spec did not load", "check the spec").into())
}

/// The project name a single container is loaded under when the caller gives none (it names a built
/// image only).
const SINGLE_CONTAINER_PROJECT: &str = "container";

/// The body without the keys that need a project, and an error for each one present.
fn without_project_keys(
    name: &str,
    body: &Map<String, Value>,
) -> (Map<String, Value>, Vec<SpecError>) {
    let mut body = body.clone();
    let mut errors = Vec::new();
    for (key, reason) in [
        ("depends_on", "dependencies need a project"),
        ("links", "links need a project"),
        (
            "secrets",
            "secrets need a project; use `environment: {KEY: {secret: NAME}}`",
        ),
        ("configs", "configs need a project"),
    ] {
        if body.remove(key).is_some() {
            errors.push(SpecError::new(
                ErrorKind::Unsupported,
                format!("{name}.{key}"),
                format!("`{key}` is not available for a single container: {reason}"),
                format!("remove `{key}`, or use the `plan` tool with a project"),
            ));
        }
    }
    (body, errors)
}

/// `{services: {name: body}}`, with the networks and named volumes the body names declared external.
fn single_service_document(name: &str, body: Map<String, Value>) -> Value {
    let external = || serde_json::json!({"external": true});
    let networks: Map<String, Value> = match body.get("networks") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|n| (n.to_string(), external()))
            .collect(),
        Some(Value::Object(map)) => map.keys().map(|n| (n.clone(), external())).collect(),
        _ => Map::new(),
    };
    let volumes: Map<String, Value> =
        serde_json::from_value::<Service>(Value::Object(body.clone()))
            .map(|raw| normalize::named_volumes(&raw))
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v, external()))
            .collect();
    let mut services = Map::new();
    services.insert(name.to_string(), Value::Object(body));
    serde_json::json!({"services": services, "networks": networks, "volumes": volumes})
}

/// A single container has no `services.` level: names its errors' paths from the container's name.
fn named_from_container(name: &str, mut errors: Vec<SpecError>) -> Vec<SpecError> {
    let project_prefix = format!("services.{name}");
    for e in &mut errors {
        if let Some(rest) = e.path.strip_prefix(&project_prefix) {
            e.path = format!("{name}{rest}");
        }
    }
    errors
}

/// The size check for a document given as JSON: its length written out (unmeasurable counts as too large).
fn check_json_size(value: &Value, limits: &policy::limits::Limits) -> Result<(), SpecErrors> {
    let len = serde_json::to_string(value)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    Ok(policy::limits::check_spec_bytes(len, limits)?)
}

fn not_yaml(why: &str) -> SpecError {
    syntax(
        "",
        &format!("not valid YAML: {why}"),
        "fix the YAML syntax at the line and column shown",
    )
}

/// Reads another compose file (an `include` or an `extends.file`) that already passed the path policy: the
/// same size and node bounds as a spec, parsed, key-checked. A missing file is an error at `field`; errors
/// inside the file are prefixed with `prefix` (`base.yaml:`).
fn read_compose_file(
    host: &dyn Host,
    policy: &Policy,
    path: &Path,
    (field, prefix): (&str, &str),
    errors: &mut Vec<SpecError>,
) -> Option<Value> {
    let limits = &policy.limits;
    let text = match host.read_file(path) {
        Ok(text) => text,
        Err(e) => {
            errors.push(SpecError::new(
                ErrorKind::Invalid,
                field,
                format!("cannot read the file: {e}"),
                "name a compose file that exists",
            ));
            return None;
        }
    };
    let checked = policy::limits::check_spec_bytes(text.len(), limits).map_err(SpecErrors::from);
    let doc = checked.and_then(
        |()| match node_budget::count_nodes(&text, limits.max_yaml_nodes) {
            node_budget::NodeCount::OverBudget => {
                Err(policy::limits::too_many_nodes(limits).into())
            }
            node_budget::NodeCount::Unparsable(why) => Err(not_yaml(&why).into()),
            node_budget::NodeCount::WithinBudget => parse_yaml(&text),
        },
    );
    let mut doc = match doc {
        Ok(doc) => doc,
        Err(e) => {
            errors.extend(e.0.into_iter().map(|e| in_file(prefix, e)));
            return None;
        }
    };
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    compose::check_keys(&mut doc, &mut found, &mut warnings);
    let failed = !found.is_empty();
    errors.extend(found.into_iter().map(|e| in_file(prefix, e)));
    (!failed && doc.is_object()).then_some(doc)
}

/// An error found inside another file, its path prefixed with the file (`base.yaml:services.web`).
fn in_file(prefix: &str, mut error: SpecError) -> SpecError {
    error.path = format!("{prefix}{}", error.path);
    error
}

fn syntax(path: &str, message: &str, fix: &str) -> SpecError {
    SpecError::new(ErrorKind::Syntax, path, message, fix)
}

/// YAML text to a JSON value, with aliases expanded and `<<` merge keys applied.
fn parse_yaml(text: &str) -> Result<Value, SpecErrors> {
    let mut yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| not_yaml(&e.to_string()))?;
    yaml.apply_merge().map_err(|e| {
        syntax(
            "",
            &format!("a `<<` merge key is invalid: {e}"),
            "merge only mappings (`<<: *anchor` or `<<: [*a, *b]`)",
        )
    })?;
    let mut errors = Vec::new();
    let value = yaml_to_json(yaml, "", &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(SpecErrors(errors))
    }
}

fn yaml_to_json(yaml: serde_yaml::Value, path: &str, errors: &mut Vec<SpecError>) -> Value {
    use serde_yaml::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                match n.as_f64().and_then(serde_json::Number::from_f64) {
                    Some(f) => Value::Number(f),
                    None => {
                        errors.push(syntax(
                            path,
                            &format!("`{n}` is not a finite number"),
                            "write a finite number",
                        ));
                        Value::Null
                    }
                }
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(
            seq.into_iter()
                .enumerate()
                .map(|(i, v)| yaml_to_json(v, &format!("{path}[{i}]"), errors))
                .collect(),
        ),
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (k, v) in mapping {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        errors.push(syntax(
                            path,
                            &format!("a mapping key must be a string, not {other:?}"),
                            "quote the key",
                        ));
                        continue;
                    }
                };
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let value = yaml_to_json(v, &child, errors);
                map.insert(key, value);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => {
            errors.push(syntax(
                path,
                &format!("YAML tag `{}` is not supported", tagged.tag),
                "remove the `!tag`",
            ));
            Value::Null
        }
    }
}

/// Variable lookup for interpolation: the server's environment first, then `.env` in the project dir.
fn env_lookup<'a>(
    opts: &LoadOptions,
    host: &'a dyn Host,
    errors: &mut Vec<SpecError>,
) -> impl Fn(&str) -> Option<String> + 'a {
    let mut dotenv_vars = BTreeMap::new();
    if let Ok(text) = host.read_file(&opts.project_dir.join(".env")) {
        match dotenv::parse(&text, &|name| host.var(name)) {
            Ok(entries) => {
                for (key, value) in entries {
                    if let Some(value) = value.or_else(|| host.var(&key)) {
                        dotenv_vars.insert(key, value);
                    }
                }
            }
            Err(e) => errors.push(SpecError::new(
                ErrorKind::Syntax,
                ".env",
                format!("the project's .env file is invalid: {e}"),
                "write `KEY=value` lines",
            )),
        }
    }
    move |name: &str| host.var(name).or_else(|| dotenv_vars.get(name).cloned())
}

/// The project directory, symlinks resolved; relative paths in the spec resolve against it, so it must be
/// absolute.
fn canonical_dir(dir: &Path, host: &dyn Host) -> Result<PathBuf, SpecError> {
    let resolved = host
        .canonicalize(dir)
        .unwrap_or_else(|_| policy::lexical_normalize(dir));
    if resolved.is_absolute() {
        Ok(resolved)
    } else {
        Err(SpecError::new(
            ErrorKind::Invalid,
            "",
            format!(
                "the project directory `{}` is not an absolute path",
                dir.display()
            ),
            "pass an absolute project directory (`project_dir`)",
        ))
    }
}

/// Typed deserialization naming the path of a wrong type; `None` (with an error pushed) on failure.
fn typed<T: DeserializeOwned>(value: &Value, path: &str, errors: &mut Vec<SpecError>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let full = match (path.is_empty(), inner.as_str()) {
                (_, ".") => path.to_string(),
                (true, _) => inner,
                (false, _) => format!("{path}.{inner}"),
            };
            let (message, fix) = describe_type_error(&e.into_inner().to_string());
            errors.push(SpecError::new(ErrorKind::Syntax, full, message, fix));
            None
        }
    }
}

/// What each compose type expects, in compose terms, for wrong-type messages. Serde names Rust types
/// (`struct TopVolume`, `untagged enum Port`); people need the shape to write instead.
const EXPECTED_FORMS: &[(&str, &str)] = &[
    ("Port", "a port such as 80, \"9000:80\", \"127.0.0.1:9000:80/udp\" or {target: 80, published: 9000}"),
    ("VolumeMount", "\"name:/path[:ro]\", \"./dir:/path\", \"/path\" or {type: bind|volume|tmpfs, source, target}"),
    ("Environment", "a mapping {KEY: value} or a list [\"KEY=value\"]"),
    ("EnvValueRaw", "a string, number, boolean, null or {secret: NAME}"),
    ("KeyValues", "a mapping {key: value} or a list [\"key=value\"]"),
    ("StringOrList", "a string or a list of strings"),
    ("Scalar", "a string, number or boolean"),
    ("Build", "a context path or {context, dockerfile, target, args}"),
    ("ServiceNetworks", "a list of network names or a mapping {network: {aliases: [...]}}"),
    ("DependsOnList", "a list of services or a mapping {service: {condition: service_healthy}}"),
    ("EnvFiles", "a path, a list of paths, or [{path, required}]"),
    ("EnvFileItem", "a path or {path, required}"),
    ("ExtraHosts", "a list [\"host:ip\"] or a mapping {host: ip}"),
    ("HostAddresses", "an IP address or a list of them"),
    ("UlimitRaw", "a number or {soft, hard}"),
    ("FileRef", "a name or {source, target, uid, gid, mode}"),
    ("External", "true/false"),
    ("Device", "\"/dev/x:/dev/y\" or {source, target, permissions}"),
    ("ComposeFile", "a mapping with `services` (and optionally name, networks, volumes, secrets, configs)"),
    ("Service", "a mapping of service keys (image, build, command, ports, ...)"),
    ("BuildLong", "a mapping (context, dockerfile, target, args, labels, no_cache, pull)"),
    ("SecretRef", "{secret: NAME}"),
    ("PortLong", "a mapping (target, published, host_ip, protocol, mode)"),
    ("VolumeLong", "a mapping (type, source, target, read_only, bind, volume, tmpfs)"),
    ("BindOptions", "a mapping (create_host_path)"),
    ("VolumeOptions", "an empty mapping"),
    ("TmpfsOptions", "a mapping (size, mode)"),
    ("ServiceNetwork", "a mapping (aliases) or nothing"),
    ("DependsOnLong", "a mapping (condition, required) or nothing"),
    ("HealthcheckRaw", "a mapping (test, interval, timeout, retries, start_period, disable)"),
    ("Deploy", "a mapping (replicas, resources, restart_policy)"),
    ("DeployResources", "a mapping (limits, reservations)"),
    ("ResourceLimits", "a mapping (cpus, memory, pids)"),
    ("DeployRestartPolicy", "a mapping (condition, max_attempts)"),
    ("LoggingRaw", "a mapping (driver, options)"),
    ("FileRefLong", "a mapping (source, target, uid, gid, mode)"),
    ("TopNetwork", "a mapping (driver, labels, internal, external, name) or nothing"),
    ("TopVolume", "a mapping (driver, labels, external, name) or nothing"),
    ("TopFile", "a mapping with one of file, environment or content"),
];

/// Turns serde's messages into compose terms: what was expected at the path and what was found, with no
/// Rust type names (`struct TopVolume`, `untagged enum Port`, `i64`).
fn describe_type_error(message: &str) -> (String, String) {
    let (expected, found) = if let Some(rest) =
        message.strip_prefix("data did not match any variant of untagged enum ")
    {
        (expected_form(&format!("enum {}", rest.trim())), None)
    } else if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        (expected_form(expected), Some(found_form(found)))
    } else if let Some(expected) = message
        .strip_prefix("invalid length ")
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(_, expected)| expected)
    {
        // Serde reads a list given for a mapping as a struct's fields in order.
        (expected_form(expected), Some("a list".to_string()))
    } else {
        return (
            message.to_string(),
            "use the form shown in the project schema".to_string(),
        );
    };
    let message = match found {
        Some(found) => format!("invalid value: expected {expected}, found {found}"),
        None => format!("invalid value; expected {expected}"),
    };
    (message, format!("write {expected}"))
}

/// Serde's "expected" text (`struct TopVolume with 4 elements`, `a sequence`, `i64`) in compose terms.
fn expected_form(expected: &str) -> String {
    let expected = expected.trim();
    let type_name = ["struct ", "enum ", "untagged enum "]
        .iter()
        .find_map(|prefix| expected.strip_prefix(prefix))
        .map(|rest| rest.split_whitespace().next().unwrap_or(rest));
    if let Some(name) = type_name {
        return EXPECTED_FORMS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("a mapping".to_string(), |(_, form)| form.to_string());
    }
    match expected {
        "a sequence" => "a sequence (a list)".to_string(),
        "a map" => "a mapping".to_string(),
        "a boolean" => "true or false".to_string(),
        "i64" | "u64" | "i32" | "u32" | "u16" | "u8" | "usize" => "a whole number".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a string" | "a borrowed string" => "a string".to_string(),
        other => other.to_string(),
    }
}

/// Serde's "invalid type" text (`sequence`, `map`, `integer `5``, `string "x"`) in compose terms.
fn found_form(found: &str) -> String {
    match found {
        "sequence" => "a list".to_string(),
        "map" => "a mapping".to_string(),
        "unit value" | "null" => "nothing (null)".to_string(),
        other => {
            let value = other
                .split_once(' ')
                .map(|(_, v)| v.trim_matches('`'))
                .unwrap_or(other);
            if other.starts_with("string ") {
                format!("the string {value}")
            } else if other.starts_with("integer ") || other.starts_with("floating point ") {
                format!("the number {value}")
            } else if other.starts_with("boolean ") {
                format!("the boolean {value}")
            } else {
                other.to_string()
            }
        }
    }
}

fn load_document(doc: Value, opts: &LoadOptions, host: &dyn Host) -> Result<Project, SpecErrors> {
    load_resolved(doc, opts, host).map(|r| r.project)
}

fn load_resolved(
    mut doc: Value,
    opts: &LoadOptions,
    host: &dyn Host,
) -> Result<Resolved, SpecErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if !doc.is_object() {
        return Err(syntax(
            "",
            "a compose file must be a mapping with a `services` key",
            "start the file with `services:`",
        )
        .into());
    }
    compose::check_keys(&mut doc, &mut errors, &mut warnings);
    let lookup = env_lookup(opts, host, &mut errors);
    let before = errors.len();
    interpolate_value(&mut doc, "", &lookup, &mut errors);
    let failed: Vec<SpecError> = errors[before..].to_vec();
    if let Ok(project_dir) = canonical_dir(&opts.project_dir, host) {
        let environment = |name: &str| host.var(name);
        let included = include::Sources {
            host,
            policy: &opts.policy,
            environment: &environment,
        };
        include::resolve(&mut doc, &project_dir, &included, &mut errors);
        let sources = extends::Sources {
            host,
            policy: &opts.policy,
            lookup: &lookup,
            project_dir: &project_dir,
        };
        extends::resolve(&mut doc, &sources, &mut errors);
    }

    let file_name = doc.get("name").cloned();
    let name = match (&opts.project_name, file_name) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(Value::String(name))) => Some(name),
        (None, Some(_)) => {
            errors.push(syntax(
                "name",
                "the project name must be a string",
                "write `name: my-app`",
            ));
            None
        }
        (None, None) => {
            errors.push(SpecError::new(
                ErrorKind::Invalid,
                "name",
                "no project name: the spec has no `name` and none was given",
                "add `name: my-app` at the top of the spec, or pass a project name",
            ));
            None
        }
    };
    if let Some(name) = &name {
        if let Err(e) = validate::check_project_name(name) {
            errors.push(e);
        }
    }
    let name = name.unwrap_or_default();

    if let Some(Value::Object(services)) = doc.get("services") {
        let limits = &opts.policy.limits;
        if let Err(e) = policy::limits::check_service_count(services.len(), limits)
            .and_then(|()| policy::limits::check_port_count(services.values(), limits))
        {
            errors.push(e);
            return Err(SpecErrors(errors));
        }
    }
    let raw = typed_sections(&doc, &mut errors);
    let project_dir = match canonical_dir(&opts.project_dir, host) {
        Ok(dir) => dir,
        Err(e) => {
            errors.push(e);
            return Err(SpecErrors(errors));
        }
    };
    let declared = normalize::Declared::of(&raw);
    let cx = Context {
        project: &name,
        project_dir: &project_dir,
        host,
        policy: &opts.policy,
        lookup: &lookup,
        declared: &declared,
    };
    let mut diag = Diagnostics { errors, warnings };
    let (active, disabled) = select_profiles(raw.services, &opts.profiles);
    let mut project = normalize::project(
        &cx,
        name.clone(),
        active,
        raw.networks,
        raw.volumes,
        raw.secrets,
        raw.configs,
        &mut diag,
    );
    let over_limits = policy::limits::check_replicas(&project, &opts.policy.limits);
    if !over_limits.is_empty() {
        diag.errors.extend(over_limits);
        return Err(capped(diag.errors));
    }
    diag.errors.extend(validate::validate(&project, &disabled));
    diag.errors
        .extend(policy::project::check_project(&project, &opts.policy));
    if diag.errors.is_empty() {
        project.warnings = diag.warnings;
        Ok(Resolved {
            project,
            document: doc,
        })
    } else {
        Err(capped(without_follow_ons(without_echoes(
            diag.errors,
            &failed,
        ))))
    }
}

/// Message of the error for a service with neither `image` nor `build` (see `normalize::service`).
const NO_IMAGE_NOR_BUILD: &str = "neither `image` nor `build`";

/// Drops "the service has neither `image` nor `build`" when the service's `build` or `extends` key has an
/// error of its own: a refused build (a `..` escape, a git URL) or an unsupported `extends` is the one
/// problem to fix, and the follow-on error would only add noise.
fn without_follow_ons(errors: Vec<SpecError>) -> Vec<SpecError> {
    let explained = |service: &str| {
        errors.iter().any(|e| {
            ["build", "extends"].iter().any(|key| {
                e.path
                    .strip_prefix(service)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|rest| rest.strip_prefix(key))
                    .is_some_and(|tail| tail.is_empty() || tail.starts_with(['.', '[']))
            })
        })
    };
    let keep: Vec<bool> = errors
        .iter()
        .map(|e| !(e.message.contains(NO_IMAGE_NOR_BUILD) && explained(&e.path)))
        .collect();
    errors
        .into_iter()
        .zip(keep)
        .filter_map(|(e, keep)| keep.then_some(e))
        .collect()
}

/// Drops errors about values whose interpolation already failed: the raw `${...}` text left in place would
/// otherwise be reported again as, say, a bad port.
fn without_echoes(errors: Vec<SpecError>, failed: &[SpecError]) -> Vec<SpecError> {
    let echoes = |e: &SpecError| {
        !failed.contains(e)
            && failed.iter().any(|f| {
                e.path == f.path
                    || e.path.starts_with(&format!("{}.", f.path))
                    || e.path.starts_with(&format!("{}[", f.path))
            })
    };
    errors.into_iter().filter(|e| !echoes(e)).collect()
}

/// At most `MAX_ERRORS` errors, then one that counts the rest, so a pathological spec gives a readable answer.
fn capped(mut errors: Vec<SpecError>) -> SpecErrors {
    if errors.len() > MAX_ERRORS {
        let rest = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        errors.push(SpecError::new(
            ErrorKind::Invalid,
            "",
            format!("{rest} more problems not shown"),
            "fix the problems above and load again",
        ));
    }
    SpecErrors(errors)
}

/// Each top-level entry is deserialized on its own so that one bad service does not hide the next.
fn typed_sections(doc: &Value, errors: &mut Vec<SpecError>) -> ComposeFile {
    let mut file = ComposeFile::default();
    for (name, body) in section(doc, "services", errors) {
        let path = format!("services.{name}");
        if !body.is_object() {
            errors.push(syntax(
                &path,
                "a service must be a mapping",
                "give the service at least `image: ...`",
            ));
            continue;
        }
        if let Some(service) = typed::<Service>(&body, &path, errors) {
            file.services.insert(name, service);
        }
    }
    file.networks.extend(typed_entries(doc, "networks", errors));
    file.volumes.extend(typed_entries(doc, "volumes", errors));
    file.secrets.extend(typed_entries(doc, "secrets", errors));
    file.configs.extend(typed_entries(doc, "configs", errors));
    file
}

/// The entries of top-level mapping `key` (none when absent or null; an error when it is not a mapping).
fn section(doc: &Value, key: &str, errors: &mut Vec<SpecError>) -> Vec<(String, Value)> {
    match doc.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(_) => {
            errors.push(syntax(
                key,
                &format!("`{key}` must be a mapping of names to definitions"),
                &format!("write `{key}:` followed by indented `name:` entries"),
            ));
            Vec::new()
        }
    }
}

/// The entries of top-level mapping `key` that deserialize as `T`; each one that does not adds its error.
fn typed_entries<T: DeserializeOwned>(
    doc: &Value,
    key: &str,
    errors: &mut Vec<SpecError>,
) -> Vec<(String, T)> {
    section(doc, key, errors)
        .into_iter()
        .filter_map(|(name, body)| {
            typed(&body, &format!("{key}.{name}"), errors).map(|entry| (name, entry))
        })
        .collect()
}

/// Splits services into those that run under the active profiles and those disabled by them.
/// A service without profiles always runs; one with profiles runs when any of them is active.
fn select_profiles(
    services: BTreeMap<String, Service>,
    active: &[String],
) -> (BTreeMap<String, Service>, BTreeSet<String>) {
    let all = active.iter().any(|p| p == "*");
    let mut disabled = BTreeSet::new();
    let mut enabled = BTreeMap::new();
    for (name, service) in services {
        let profiles = service.profiles.clone().unwrap_or_default();
        if profiles.is_empty() || all || profiles.iter().any(|p| active.contains(p)) {
            enabled.insert(name, service);
        } else {
            disabled.insert(name);
        }
    }
    (enabled, disabled)
}
