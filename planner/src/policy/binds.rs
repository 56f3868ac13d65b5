//! Binds that another bind can redirect: the symlink swap.
//!
//! The engine resolves a bind's source path when the container starts, not when it is created. A container
//! that binds a folder read-write can replace anything below it with a symlink (to `/`, say), so a bind whose
//! source lies strictly inside that folder would mount whatever the symlink points at on its next start. The
//! rule: no bind's source may lie strictly inside a source that a container (another one, or another mount of
//! the same one) binds read-write. Equal sources are fine: a container cannot replace its own mount point.
//! The planner applies it at plan time to the project's own binds and to the engine's writable binds that the
//! engine passes in; the Docker layer applies it again right before each start.

use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, SpecError};
use crate::model::{MountKind, Project};

/// One bind mount as the rule sees it: who holds it, its host source, and whether it is writable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindFact {
    /// The holder as a person reads it (`container web-1`, `service db`).
    pub holder: String,
    pub source: PathBuf,
    pub writable: bool,
}

/// Why a bind is refused: the writable bind that can redirect it, or the bind it can redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindConflict {
    /// The holder and source of the bind that lies inside.
    pub inner: BindFact,
    /// The holder and source of the writable bind around it.
    pub outer: BindFact,
}

impl std::fmt::Display for BindConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bind source `{}` ({}) lies inside `{}`, which {} binds read-write: a writable bind can plant a \
             symlink that redirects the inner bind to any host path when it starts (refused by policy: \
             writable_bind_overlap)",
            self.inner.source.display(),
            self.inner.holder,
            self.outer.source.display(),
            self.outer.holder,
        )
    }
}

/// The fix every refusal names.
pub const BIND_CONFLICT_FIX: &str =
    "bind a folder that no container writes to, bind the same folder as the writer, or use a named volume";

/// The first conflict between `candidate` and `others`, in either direction: the candidate lies strictly
/// inside a writable source, or the candidate is writable and another source lies strictly inside it.
pub fn conflict(candidate: &BindFact, others: &[BindFact]) -> Option<BindConflict> {
    others.iter().find_map(|other| {
        if other.writable && strictly_inside(&candidate.source, &other.source) {
            return Some(BindConflict {
                inner: candidate.clone(),
                outer: other.clone(),
            });
        }
        (candidate.writable && strictly_inside(&other.source, &candidate.source)).then(|| {
            BindConflict {
                inner: other.clone(),
                outer: candidate.clone(),
            }
        })
    })
}

fn strictly_inside(inner: &Path, outer: &Path) -> bool {
    inner != outer && inner.starts_with(outer)
}

/// The project's binds against each other and against `engine` (the writable binds of containers outside
/// this project), each refusal at the field that declared the bind.
pub fn check_project_binds(project: &Project, engine: &[BindFact]) -> Vec<SpecError> {
    let declared: Vec<(String, BindFact)> = project
        .services
        .iter()
        .flat_map(|(name, spec)| {
            spec.mounts
                .iter()
                .enumerate()
                .filter(|(_, m)| m.kind == MountKind::Bind)
                .filter_map(move |(i, m)| {
                    let source = m.source.as_ref()?;
                    let fact = BindFact {
                        holder: format!("service {name}"),
                        source: PathBuf::from(source),
                        writable: !m.read_only,
                    };
                    Some((format!("services.{name}.volumes[{i}]"), fact))
                })
        })
        .collect();
    let mut errors = Vec::new();
    for (index, (field, fact)) in declared.iter().enumerate() {
        let others: Vec<BindFact> = declared
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != index)
            .map(|(_, (_, f))| f.clone())
            .chain(engine.iter().cloned())
            .collect();
        if let Some(found) = conflict(fact, &others) {
            errors.push(SpecError::new(
                ErrorKind::Policy,
                field.clone(),
                found.to_string(),
                BIND_CONFLICT_FIX,
            ));
        }
    }
    errors
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is the test's report
mod tests {
    use super::*;

    fn fact(holder: &str, source: &str, writable: bool) -> BindFact {
        BindFact {
            holder: holder.into(),
            source: source.into(),
            writable,
        }
    }

    #[test]
    fn a_bind_inside_a_writable_bind_is_refused_from_either_side() {
        let writer = fact("container a", "/tmp/x", true);
        let reader = fact("container b", "/tmp/x/d", false);
        let found = conflict(&reader, std::slice::from_ref(&writer)).unwrap();
        assert_eq!(found.outer, writer);
        let found = conflict(&writer, std::slice::from_ref(&reader)).unwrap();
        assert_eq!(found.inner, reader);
        assert!(found.to_string().contains("container a binds read-write"));
    }

    #[test]
    fn equal_read_only_and_unrelated_sources_pass() {
        let writer = fact("a", "/tmp/x", true);
        assert!(conflict(&fact("b", "/tmp/x", true), std::slice::from_ref(&writer)).is_none());
        assert!(conflict(&fact("b", "/tmp/xy", false), std::slice::from_ref(&writer)).is_none());
        let reader = fact("a", "/tmp/x", false);
        assert!(conflict(&fact("b", "/tmp/x/d", false), &[reader]).is_none());
    }
}
