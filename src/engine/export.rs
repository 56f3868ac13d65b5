//! The compose export for `export` and for status: `planner::export` decides the file; this adapts its
//! error to the engine's.

use planner::model::Project;

use super::EngineError;

/// The project as compose YAML (see `planner::export`: secret references only, `$` escaped).
pub fn project_to_compose_yaml(project: &Project) -> Result<String, EngineError> {
    planner::export::project_to_compose_yaml(project)
        .map_err(|e| EngineError::Internal(e.to_string()))
}
