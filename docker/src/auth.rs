//! Registry credentials from the user's Docker CLI configuration, so pulls and pushes work like `docker pull`.
//!
//! Reads `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`): a credential helper named for the
//! registry (`credHelpers`) or for all (`credsStore`) wins, else the `auths` entry (`auth` is base64
//! `user:password`, or an `identitytoken`). No configuration means anonymous access.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde_json::Value;

/// The registry Docker Hub images live on, as the CLI keys it in `auths`.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Credentials for the registry of `image_ref`, or `None` for anonymous access.
pub fn registry_credentials(image_ref: &str) -> Option<DockerCredentials> {
    let text = std::fs::read_to_string(config_path()?).ok()?;
    let config: Value = serde_json::from_str(&text).ok()?;
    let registry = registry_of(image_ref);
    if let Some(helper) = helper_for(&config, &registry) {
        if let Some(creds) = from_helper(&helper, &registry) {
            return Some(creds);
        }
    }
    from_auths(&config, &registry)
}

/// Credentials for every registry the config names (`auths` and `credHelpers`), keyed by registry, for
/// builds whose `FROM` lines pull from private registries.
pub fn all_registry_credentials() -> HashMap<String, DockerCredentials> {
    let Some(config) = config_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return HashMap::new();
    };
    let mut registries: Vec<String> = Vec::new();
    for section in ["auths", "credHelpers"] {
        if let Some(map) = config.get(section).and_then(Value::as_object) {
            registries.extend(map.keys().cloned());
        }
    }
    registries
        .into_iter()
        .filter_map(|registry| {
            let creds = helper_for(&config, &registry)
                .and_then(|helper| from_helper(&helper, &registry))
                .or_else(|| from_auths(&config, &registry))?;
            Some((registry, creds))
        })
        .collect()
}

/// The registry host of an image reference (`127.0.0.1:5000/app:1` -> `127.0.0.1:5000`), Docker Hub otherwise.
pub fn registry_of(image_ref: &str) -> String {
    match image_ref.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => DOCKER_HUB.to_string(),
    }
}

fn config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => Some(dirs::home_dir()?.join(".docker").join("config.json")),
    }
}

/// `https://index.docker.io/v1/` and `index.docker.io` name the same registry; compare hosts only.
fn host_key(registry: &str) -> String {
    let without_scheme = registry
        .split_once("://")
        .map_or(registry, |(_, rest)| rest);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "index.docker.io".to_string()
        }
        _ => host,
    }
}

fn helper_for(config: &Value, registry: &str) -> Option<String> {
    let wanted = host_key(registry);
    let specific = config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|helpers| {
            helpers
                .iter()
                .find(|(k, _)| host_key(k) == wanted)
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        });
    specific.or_else(|| {
        config
            .get("credsStore")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Runs `docker-credential-HELPER get`, as the CLI does.
fn from_helper(helper: &str, registry: &str) -> Option<DockerCredentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(registry.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    let answer: Value = serde_json::from_slice(&output.stdout).ok()?;
    let username = answer.get("Username").and_then(Value::as_str)?.to_string();
    let secret = answer.get("Secret").and_then(Value::as_str)?.to_string();
    let mut creds = DockerCredentials {
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    };
    if username == "<token>" {
        creds.identitytoken = Some(secret);
    } else {
        creds.username = Some(username);
        creds.password = Some(secret);
    }
    Some(creds)
}

/// The `auths` entry for `registry` in a parsed config.json.
pub fn from_auths(config: &Value, registry: &str) -> Option<DockerCredentials> {
    let wanted = host_key(registry);
    let (_, entry) = config
        .get("auths")?
        .as_object()?
        .iter()
        .find(|(k, _)| host_key(k) == wanted)?;
    let text = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut creds = DockerCredentials {
        serveraddress: Some(registry.to_string()),
        username: text("username"),
        password: text("password"),
        identitytoken: text("identitytoken"),
        ..Default::default()
    };
    if let Some(encoded) = text("auth") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, pass) = decoded.split_once(':')?;
        creds.username = Some(user.to_string());
        creds.password = Some(pass.to_string());
    }
    let usable =
        creds.identitytoken.is_some() || (creds.username.is_some() && creds.password.is_some());
    usable.then_some(creds)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_registry_of_a_reference() {
        assert_eq!(registry_of("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("ghcr.io/org/app"), "ghcr.io");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("library/busybox"), DOCKER_HUB);
        assert_eq!(registry_of("busybox"), DOCKER_HUB);
    }

    #[test]
    fn decodes_auths_entries() {
        let config: Value = serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
                "reg.example:5000": {"identitytoken": "tok"}
            }
        });
        let hub = from_auths(&config, &registry_of("busybox")).unwrap();
        assert_eq!(hub.username.as_deref(), Some("user"));
        assert_eq!(hub.password.as_deref(), Some("pa:ss"));
        let other = from_auths(&config, "reg.example:5000").unwrap();
        assert_eq!(other.identitytoken.as_deref(), Some("tok"));
        assert!(from_auths(&config, "ghcr.io").is_none());
    }
}
