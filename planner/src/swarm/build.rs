//! Building on a swarm: a service with `build:` is built on the manager, pushed to the registry the operator
//! named (every node pulls from it) and pinned by the pushed digest, so every node runs the same image.
//!
//! The tag is the build input's content digest (`{registry}/{project}-{service}:{digest}`), so the service
//! spec, and with it the spec hash, changes exactly when the build input does: the same context plans as no
//! change, as on the engine target. The digest pin is added at apply, once the push has said it; it is not
//! part of the spec hash.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, SpecError};
use crate::image_ref::ImageRef;
use crate::model::BuildSpec;

/// One service's build, push and pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmBuild {
    /// The Swarm service the image is for (`{project}_{service}`).
    pub service: String,
    /// The compose key.
    pub key: String,
    /// `{registry}/{project}-{service}`.
    pub repository: String,
    /// The build input's content digest (hex).
    pub tag: String,
    pub build: BuildSpec,
}

impl SwarmBuild {
    /// `repository:tag`, what the service spec names until apply pins it.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// The operator's registry and the build inputs' content digests by compose key.
pub struct BuildInputs<'a> {
    pub registry: &'a str,
    pub digests: &'a std::collections::BTreeMap<String, String>,
}

/// The build of the service `key` (which has `build`), or the error naming what is missing.
pub fn plan_build(
    inputs: &BuildInputs<'_>,
    project: &str,
    key: &str,
    build: &BuildSpec,
) -> Result<SwarmBuild, SpecError> {
    let path = format!("services.{key}.build");
    let Some(digest) = inputs.digests.get(key) else {
        return Err(SpecError::new(
            ErrorKind::Invalid,
            path,
            "no content digest for the build context",
            "give a build context the server can read",
        ));
    };
    let repository = format!("{}/{}-{}", inputs.registry, project, key).to_lowercase();
    let planned = SwarmBuild {
        service: super::map::service_name(project, key),
        key: key.to_string(),
        repository,
        tag: digest.clone(),
        build: build.clone(),
    };
    match ImageRef::parse(&planned.reference()) {
        Ok(_) => Ok(planned),
        Err(e) => Err(SpecError::new(
            ErrorKind::Invalid,
            path,
            format!("`{}` is not an image reference: {e}", planned.reference()),
            "use a service key of lowercase letters, digits and inner `-`, or check the operator's \
             --swarm-registry (HOST:PORT)",
        )),
    }
}

/// `repository:tag@sha256:…`, the reference a service runs once the push has named the digest.
pub fn pinned(reference: &str, digest: &str) -> String {
    format!("{reference}@{digest}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn build() -> BuildSpec {
        BuildSpec {
            context: "/work/app".into(),
            dockerfile: "Dockerfile".into(),
            target: None,
            args: BTreeMap::new(),
            labels: BTreeMap::new(),
            no_cache: false,
            pull: false,
        }
    }

    #[test]
    fn the_tag_is_the_content_digest_under_the_operators_registry() {
        let digests = BTreeMap::from([("Web".to_string(), "ab12".repeat(16))]);
        let inputs = BuildInputs {
            registry: "10.0.0.1:5000",
            digests: &digests,
        };
        let planned = plan_build(&inputs, "shop", "Web", &build()).unwrap();
        assert_eq!(planned.service, "shop_Web");
        assert_eq!(
            planned.reference(),
            format!("10.0.0.1:5000/shop-web:{}", "ab12".repeat(16))
        );
        assert_eq!(
            pinned("r:t", "sha256:00"),
            "r:t@sha256:00",
            "the pin keeps the tag for people reading `docker service ls`"
        );
    }

    #[test]
    fn a_missing_digest_or_an_impossible_name_is_an_error_naming_the_build() {
        let none = BTreeMap::new();
        let inputs = BuildInputs {
            registry: "reg:5000",
            digests: &none,
        };
        let missing = plan_build(&inputs, "shop", "web", &build()).unwrap_err();
        assert_eq!(missing.path, "services.web.build");
        let digests = BTreeMap::from([("web-".to_string(), "0".repeat(64))]);
        let inputs = BuildInputs {
            registry: "reg:5000",
            digests: &digests,
        };
        let bad = plan_build(&inputs, "shop", "web-", &build()).unwrap_err();
        assert!(bad.message.contains("not an image reference"), "{bad:?}");
    }
}
