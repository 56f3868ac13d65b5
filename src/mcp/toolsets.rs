//! Toolsets: named groups of tools the operator can serve alone (`--toolsets plan,containers`).
//!
//! Every tool costs list bytes in every chat, so an operator who only wants plan/apply can serve just that,
//! as `--toolsets` does in kubernetes-mcp-server. The choice comes from the operator (flag or environment),
//! never from a client; `--read-only` applies on top of it.

use std::collections::BTreeSet;

/// A group of tools, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Toolset {
    /// plan, apply, destroy, project_status, list_projects, export_project and the project tools beside them.
    Plan,
    /// Container lifecycle, logs, exec, inspect and stats.
    Containers,
    /// List, pull, push, build and remove images.
    Images,
    /// Networks and volumes.
    Networks,
    /// Disk usage and connection health.
    System,
}

/// Which tools the server lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolsetChoice {
    /// Every tool (no `--toolsets`).
    #[default]
    All,
    /// Only the tools of these toolsets.
    Only(BTreeSet<Toolset>),
}

impl ToolsetChoice {
    /// The choice the flag's values make: none given means every tool.
    pub fn from_flag(toolsets: Vec<Toolset>) -> Self {
        if toolsets.is_empty() {
            ToolsetChoice::All
        } else {
            ToolsetChoice::Only(toolsets.into_iter().collect())
        }
    }

    /// Whether the tool called `name` is served.
    pub fn serves(&self, name: &str) -> bool {
        match self {
            ToolsetChoice::All => true,
            ToolsetChoice::Only(sets) => sets.contains(&toolset_of(name)),
        }
    }
}

/// The toolset a tool belongs to. Tools are grouped by their name's noun; a tool this table does not name
/// (one added later) belongs to `plan`, the project workflow, so it is never silently unreachable.
pub fn toolset_of(name: &str) -> Toolset {
    const CONTAINERS: &[&str] = &[
        "exec_in_container",
        "inspect_container",
        "get_container_stats",
        "fetch_container_logs",
    ];
    if CONTAINERS.contains(&name) || name.ends_with("_container") || name.ends_with("_containers") {
        Toolset::Containers
    } else if name.ends_with("_image") || name.ends_with("_images") {
        Toolset::Images
    } else if ["_network", "_networks", "_volume", "_volumes"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
    {
        Toolset::Networks
    } else if name == "get_docker_disk_usage" || name == "get_connection_health" {
        Toolset::System
    } else {
        Toolset::Plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_fall_into_their_nouns_toolset() {
        assert_eq!(toolset_of("run_container"), Toolset::Containers);
        assert_eq!(toolset_of("fetch_container_logs"), Toolset::Containers);
        assert_eq!(toolset_of("list_images"), Toolset::Images);
        assert_eq!(toolset_of("remove_volume"), Toolset::Networks);
        assert_eq!(toolset_of("get_connection_health"), Toolset::System);
        assert_eq!(toolset_of("apply"), Toolset::Plan);
        assert_eq!(toolset_of("a_tool_added_later"), Toolset::Plan);
    }

    #[test]
    fn no_flag_serves_everything_and_a_flag_serves_its_sets() {
        assert!(ToolsetChoice::from_flag(vec![]).serves("build_image"));
        let only = ToolsetChoice::from_flag(vec![Toolset::Plan, Toolset::Containers]);
        assert!(only.serves("plan") && only.serves("stop_container"));
        assert!(!only.serves("build_image") && !only.serves("get_docker_disk_usage"));
    }
}
