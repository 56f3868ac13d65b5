//! Checks one planner `ServiceSpec` for the primitive container tools before the Docker layer creates it.
//!
//! `create_container`, `run_container` and `recreate_container` accept exactly what a compose service accepts
//! (loaded and policy-checked by `Engine::load_service`), so a container made by hand and one made by a plan
//! are described the same way. Outside a project there is no project prefix: a named volume or network in the
//! spec is the engine's object of that name, and `default` means Docker's default bridge.

use planner::model::{EnvValue, ServiceSpec};

use super::output::ToolError;

/// Refuses the parts of a spec only a project can provide (secrets, configs, builds), naming the field.
///
/// What remains is mapped to the engine's create body by the Docker layer
/// (`docker::container_config::primitive_create_spec`), with the code a plan's containers use.
pub fn check_primitive(spec: &ServiceSpec) -> Result<(), ToolError> {
    if spec.build.is_some() {
        return Err(ToolError::invalid(
            "spec.build",
            "the container tools run an existing image",
            "build it first with build_image and put its tag in `image`, or use plan/apply with `build`",
        ));
    }
    if !spec.secrets.is_empty() || !spec.configs.is_empty() {
        return Err(ToolError::invalid(
            "spec.secrets",
            "compose secrets and configs need a project",
            "use plan/apply for services with `secrets` or `configs`",
        ));
    }
    if let Some((key, _)) = spec
        .environment
        .iter()
        .find(|(_, value)| matches!(value, EnvValue::Secret { .. }))
    {
        return Err(ToolError::invalid(
            &format!("spec.environment.{key}"),
            "`{secret: NAME}` references are resolved only by plan/apply",
            "use plan/apply for this service, or pass a literal value",
        ));
    }
    Ok(())
}
