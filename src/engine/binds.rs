//! Plan-time facts for the bind rule: the writable binds of the engine's other containers.
//!
//! The planner refuses a bind that lies inside another bind's writable source (a symlink planted there
//! would redirect it on start); the project's own binds it checks alone, the rest of the engine's it needs
//! from here. The engine is asked only when the project declares a bind, so a project without binds plans
//! as before. The Docker layer checks again right before each start.

use planner::model::{MountKind, Project};
use planner::SpecErrors;

use super::{Engine, EngineError};
use crate::docker::bind_guard;

impl Engine {
    /// Refuses `desired` when one of its binds conflicts with a writable bind of a container outside it.
    pub(super) async fn check_engine_binds(&self, desired: &Project) -> Result<(), EngineError> {
        let has_binds = desired
            .services
            .values()
            .flat_map(|s| &s.mounts)
            .any(|m| m.kind == MountKind::Bind);
        if !has_binds {
            return Ok(());
        }
        let docker = self.docker.client().await?;
        let engine = match bind_guard::writable_binds_outside(&docker, &desired.name).await {
            Ok(binds) => binds,
            Err(e) => return Err(self.docker.note_error(e).await.into()),
        };
        let conflicts = planner::policy::binds::check_project_binds(desired, &engine);
        if conflicts.is_empty() {
            Ok(())
        } else {
            Err(SpecErrors(conflicts).into())
        }
    }
}
