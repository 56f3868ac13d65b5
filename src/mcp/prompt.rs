//! The `docker_compose` prompt: leads the LLM through describe -> plan -> review -> apply, and resumes an
//! existing project from its live status and last-applied spec instead of starting over.

use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};

use super::tools_planner::status_text;
use crate::engine::Engine;

pub const PROMPT_NAME: &str = "docker_compose";

/// The prompt's listing entry.
pub fn prompt() -> Prompt {
    Prompt::new(
        PROMPT_NAME,
        Some("Manage a Docker Compose project in plain language: describe the containers, review the plan, apply it."),
        Some(vec![
            PromptArgument::new("name")
                .with_description("Project name (an existing project is resumed)")
                .with_required(true),
            PromptArgument::new("containers")
                .with_description("Plain-language description of the containers you want")
                .with_required(true),
        ]),
    )
}

/// What the project looks like now, when it exists: status text and last-applied YAML.
struct Existing {
    status: String,
    last_applied_yaml: Option<String>,
    target: planner::swarm::Target,
}

async fn existing_project(engine: &Engine, name: &str) -> Option<Existing> {
    let status = engine.status(name).await.ok()?;
    if !status.known && status.resources.is_empty() {
        return None;
    }
    let last_applied_yaml = match status.last_applied_yaml.clone() {
        Some(yaml) => Some(yaml),
        None => engine.export(name).await.ok(),
    };
    Some(Existing {
        status: status_text(&status),
        last_applied_yaml,
        target: status.target,
    })
}

/// The prompt text for project `name` and the user's description.
pub async fn get(engine: &Engine, name: &str, containers: &str) -> GetPromptResult {
    let existing = existing_project(engine, name).await;
    let mut text = format!(
        "You manage the Docker Compose project \"{name}\" through this MCP server's plan/apply tools. \
The user describes the containers they want; you keep a compose spec for it and change Docker only through \
reviewed plans.\n\nThe user's description:\n<containers>\n{containers}\n</containers>\n"
    );
    match &existing {
        Some(existing) => {
            text.push_str(&format!(
                "\nThis project already exists. Resume it: edit its last-applied spec to match the description \
rather than writing a new one from scratch. It runs on target \"{}\": pass `target: \"{}\"` to every \
`plan`.\n\nLive status:\n{}\n",
                existing.target.as_str(),
                existing.target.as_str(),
                existing.status
            ));
            if let Some(yaml) = &existing.last_applied_yaml {
                text.push_str(&format!(
                    "\nLast-applied spec:\n```yaml\n{}\n```\n",
                    yaml.trim_end()
                ));
            }
        }
        None => text
            .push_str("\nThis is a new project: nothing has been applied under this name yet.\n"),
    }
    text.push_str(&format!(
        "\nWork in this loop:\n\
1. Turn the description into a compose spec: `services` with `image`, `command`, `environment`, `ports`, `volumes`, \
`depends_on`, `healthcheck`, `restart` as needed, plus top-level `volumes` and `networks`. Write passwords as \
`{{secret: NAME}}` references, never literal values. Privileged mode, host namespaces and binds of sensitive host \
paths are refused by the server; do not try to work around that.\n\
2. Call `plan` with project \"{name}\" and the spec (`spec` as a JSON object, or `compose_yaml` as text). If it \
returns an error, fix the field it names and plan again. The target is `engine` (containers, the default); \
`target: \"swarm\"` runs services on the operator's swarm (`deploy:` keys apply) when the user asks for one.\n\
3. Show the user the plan's rendering exactly as returned, with its warnings, and explain it briefly. Do not apply yet.\n\
4. Wait for the user's command:\n\
   - `help`: list these commands and what they do.\n\
   - `apply`: call `apply` with project \"{name}\" and the `plan_id` of the plan the user just saw; then report the \
outcome and call `project_status`. If apply says the plan is stale, call `plan` again and show the new rendering.\n\
   - `down`: call `destroy` with project \"{name}\" and `volumes: false` (stops and removes the containers and \
networks, keeps data), show that plan, and `apply` it only after the user approves.\n\
   - `ps`: call `project_status` for \"{name}\" and show each container's state and health.\n\
   - `destroy`: call `destroy` with `volumes: true`, warn clearly that volume data will be deleted, show the plan, \
and `apply` it only after an explicit yes.\n\
   - anything else: treat it as a change to the description; edit the spec, call `plan` again and show the new \
rendering.\n\
Never call `apply` without showing the plan and receiving the user's approval. Use `fetch_container_logs` and \
`inspect_container` to investigate failures.\n\n\
Start now: {}",
        if existing.is_some() {
            "compare the description with the last-applied spec, edit the spec, and call `plan`."
        } else {
            "write the spec for the description and call `plan`."
        }
    ));
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
        .with_description(format!("Plan/apply loop for project {name}"))
}
