//! Image actions: pull or build an image before the containers that need it, as the pull policy says.

use std::collections::{BTreeMap, BTreeSet};

use super::Planner;
use crate::model::PullPolicy;
use crate::plan::{ImageTarget, Op, ResourceKind, ResourceRef, Target};

impl Planner<'_> {
    /// Pull and build actions; runs after `containers`, whose creates and replaces say which images are
    /// needed.
    pub(super) fn images(&mut self) {
        let project = self.desired;
        // Image reference -> index of its action in `self.actions`, so services sharing an image share one pull.
        let mut by_reference: BTreeMap<&str, usize> = BTreeMap::new();
        let mut served: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for (service, spec) in &project.services {
            let present = image_present(&self.observed.images_present, &spec.image);
            let needed = self.services_needing_image.contains(service.as_str());
            let (op, reason) = match (&spec.build, spec.pull_policy) {
                (Some(_), PullPolicy::Build) => (
                    Op::Build,
                    "pull_policy is build: it is rebuilt on every apply",
                ),
                (Some(_), _) if needed && !present => {
                    (Op::Build, "the image is not present locally")
                }
                (Some(_), _) if self.services_with_changed_hash.contains(service.as_str()) => (
                    Op::Build,
                    "the service's configuration or build input changed",
                ),
                (None, PullPolicy::Always) => (
                    Op::Pull,
                    "pull_policy is always: it is pulled on every apply",
                ),
                (None, PullPolicy::Never) if needed && !present => {
                    self.warnings.push(format!(
                        "image \"{}\" of service \"{service}\" is not present locally and pull_policy is never: \
                         creating its container will fail",
                        spec.image
                    ));
                    continue;
                }
                (None, PullPolicy::Missing | PullPolicy::Build) if needed && !present => {
                    (Op::Pull, "the image is not present locally")
                }
                _ => continue,
            };
            if let Some(&index) = by_reference.get(spec.image.as_str()) {
                served.entry(index).or_default().insert(service);
                continue;
            }
            let index = self.actions.len();
            by_reference.insert(&spec.image, index);
            served.entry(index).or_default().insert(service);
            let build = if op == Op::Build {
                spec.build.clone()
            } else {
                None
            };
            let action = self.push(
                ResourceRef {
                    kind: ResourceKind::Image,
                    name: spec.image.clone(),
                    key: service.clone(),
                    number: None,
                },
                op,
            );
            action.reason = Some(reason.into());
            action.target = Some(Target::Image(ImageTarget {
                reference: spec.image.clone(),
                build,
            }));
            if present {
                // Remembered in `existing_id` so the summary can tell a refresh from a first download.
                action.existing_id = Some(spec.image.clone());
            }
        }
        for (index, services) in served {
            self.image_services
                .insert(index, services.into_iter().map(String::from).collect());
        }
    }
}

/// Whether `reference` is among the local images, treating a missing tag as `:latest`.
fn image_present(present: &BTreeSet<String>, reference: &str) -> bool {
    if present.contains(reference) {
        return true;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || last.contains('@') {
        reference
            .strip_suffix(":latest")
            .is_some_and(|bare| present.contains(bare))
    } else {
        present.contains(&format!("{reference}:latest"))
    }
}
