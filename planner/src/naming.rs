//! Engine names and labels, chosen to match `docker compose` v2 so `docker compose ls/ps` sees our projects.

use std::collections::BTreeMap;

/// Our own ownership label: present on everything plan/apply/destroy may touch.
pub const LABEL_MANAGED_BY: &str = "io.mcp-docker-server.project";
/// sha256 of the service's hashed config (see `hash`).
pub const LABEL_CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";
pub const LABEL_VERSION: &str = "com.docker.compose.version";
pub const LABEL_DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const LABEL_IMAGE: &str = "com.docker.compose.image";
/// Comma-separated env keys whose values come from `{secret: NAME}` references. Their names may not look
/// secret (`DATABASE_URL`), so inspect output masks them by this label rather than by key pattern.
pub const LABEL_SECRET_ENV: &str = "io.mcp-docker-server.secret-env";

/// The compose version we claim in labels, so compose treats our resources as its own.
pub const COMPOSE_VERSION: &str = "2.40.3";

/// The project of ours that manages a resource with these labels, or `None` when this server does not own
/// it. This is the one ownership rule: plan, apply and destroy act only on such resources, and the primitive
/// tools ask the human before they remove or stop anything else.
pub fn managing_project<S: std::hash::BuildHasher>(
    labels: &std::collections::HashMap<String, String, S>,
) -> Option<&str> {
    labels
        .get(LABEL_MANAGED_BY)
        .map(String::as_str)
        .filter(|project| !project.is_empty())
}

/// `{project}-{service}-{n}`, as compose names containers.
pub fn container_name(project: &str, service: &str, number: u32) -> String {
    format!("{project}-{service}-{number}")
}

/// `{project}_{key}`, as compose names networks and volumes.
pub fn scoped_name(project: &str, key: &str) -> String {
    format!("{project}_{key}")
}

/// The tag compose gives an image built for a service without `image:`.
pub fn built_image_name(project: &str, service: &str) -> String {
    format!("{project}-{service}")
}

/// Labels shared by every resource of a project.
pub fn project_labels(project: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), project.to_string()),
        (LABEL_PROJECT.to_string(), project.to_string()),
        (LABEL_VERSION.to_string(), COMPOSE_VERSION.to_string()),
    ])
}

/// Labels for one container of a service: user labels first, ours override them.
pub fn container_labels(
    project: &str,
    service: &str,
    number: u32,
    config_hash: &str,
    user_labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = user_labels.clone();
    labels.extend(project_labels(project));
    labels.insert(LABEL_SERVICE.into(), service.into());
    labels.insert(LABEL_NUMBER.into(), number.to_string());
    labels.insert(LABEL_ONEOFF.into(), "False".into());
    labels.insert(LABEL_CONFIG_HASH.into(), config_hash.into());
    labels
}

/// Labels for a network or volume; `kind_label` is `LABEL_NETWORK` or `LABEL_VOLUME`.
pub fn scoped_labels(
    project: &str,
    kind_label: &str,
    key: &str,
    config_hash: &str,
    user_labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = user_labels.clone();
    labels.extend(project_labels(project));
    labels.insert(kind_label.into(), key.into());
    labels.insert(LABEL_CONFIG_HASH.into(), config_hash.into());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn only_our_label_with_a_project_means_ours() {
        type Labels<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Labels, Option<&str>); 5] = [
            (&[], None),
            (&[(LABEL_PROJECT, "demo")], None),
            (&[(LABEL_MANAGED_BY, "")], None),
            (&[(LABEL_MANAGED_BY, "demo")], Some("demo")),
            (
                &[(LABEL_MANAGED_BY, "demo"), (LABEL_PROJECT, "other")],
                Some("demo"),
            ),
        ];
        for (labels, expected) in cases {
            let labels: HashMap<String, String> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(managing_project(&labels), expected, "{labels:?}");
        }
    }
}
