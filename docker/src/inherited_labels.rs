//! A container inherits its image's labels, and anyone can build or pull an image carrying ours
//! (`io.mcp-docker-server.project`, `com.docker.compose.project`, a config hash). A primitive container
//! must not come out looking like a project's, or a plan would count it as that project's service (a
//! matching hash hides it behind a no-op) and import would adopt it. So the reserved labels its image
//! carries are set to `""` at create (a container's own label overrides its image's, and an empty
//! ownership label owns nothing), and the created container is checked for any the image gained since.

use std::collections::HashMap;

use planner::policy::project::reserved_prefix;

/// `image`'s labels under a reserved prefix, each set to `""`, so the container does not inherit them.
pub fn masks(image: &HashMap<String, String>) -> HashMap<String, String> {
    image
        .keys()
        .filter(|label| reserved_prefix(label).is_some())
        .map(|label| (label.clone(), String::new()))
        .collect()
}

/// A reserved label the created container carries with another value than the create body gave it (its
/// image was retagged between the image inspect and the create), if any.
pub fn unexpected<'a>(
    intended: &HashMap<String, String>,
    actual: &'a HashMap<String, String>,
) -> Option<&'a str> {
    let mut unexpected: Vec<&str> = actual
        .iter()
        .filter(|(label, value)| {
            reserved_prefix(label).is_some() && intended.get(*label) != Some(*value)
        })
        .map(|(label, _)| label.as_str())
        .collect();
    unexpected.sort_unstable();
    unexpected.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_reserved_image_labels_are_masked() {
        let image = labels(&[
            ("io.mcp-docker-server.project", "victim"),
            ("com.docker.compose.config-hash", "abc"),
            ("com.docker.stack.namespace", "s"),
            ("org.opencontainers.image.title", "app"),
        ]);
        let masks = masks(&image);
        assert_eq!(masks.len(), 3, "{masks:?}");
        assert!(masks.values().all(String::is_empty));
        assert!(!masks.contains_key("org.opencontainers.image.title"));
    }

    #[test]
    fn a_reserved_label_the_body_did_not_give_is_unexpected() {
        let intended = labels(&[
            ("io.mcp-docker-server.primitive", "true"),
            ("com.docker.compose.project", ""),
        ]);
        let as_intended = labels(&[
            ("io.mcp-docker-server.primitive", "true"),
            ("com.docker.compose.project", ""),
            ("maintainer", "x"),
        ]);
        assert_eq!(unexpected(&intended, &as_intended), None);
        let gained = labels(&[
            ("io.mcp-docker-server.primitive", "true"),
            ("io.mcp-docker-server.project", "victim"),
        ]);
        assert_eq!(
            unexpected(&intended, &gained),
            Some("io.mcp-docker-server.project")
        );
    }
}
