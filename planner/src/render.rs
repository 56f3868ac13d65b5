//! Terraform-style text for a plan, and the plan's JSON Schema.
//!
//! Symbols: `+` create, `~` update in place / start / refresh an image, `-` delete, `-/+` replace. Images,
//! networks and volumes take one line each (what and why); containers take a header comment, a symbol line
//! and indented field lines. No-ops are not shown. Values come from the plan, which is already masked (see
//! `diff::fields`), and a create shows environment keys only, so no secret value can reach the text.
//! Every setting that widens host access is shown and marked (see `widening`).

mod widening;

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use crate::diff::fields;
use crate::model::RestartPolicy;
use crate::plan::{Action, FieldChange, Op, Plan, ResourceKind, Target};

/// Indentation of a container's field lines.
const FIELD_INDENT: &str = "      ";

/// The plan as text: changed resources, then the summary line, then warnings and orphans left in place.
pub fn render(plan: &Plan) -> String {
    let mut blocks: Vec<Vec<String>> = Vec::new();
    for action in plan.actions.iter().filter(|a| a.op != Op::NoOp) {
        blocks.push(match action.resource.kind {
            ResourceKind::Container => container_block(action),
            _ => vec![scoped_line(action)],
        });
    }
    let mut out = String::new();
    let mut previous_was_single = false;
    for block in &blocks {
        // One-line blocks stack together; a multi-line block is set apart by blank lines.
        let single = block.len() == 1;
        if !(out.is_empty() || single && previous_was_single) {
            out.push('\n');
        }
        for line in block {
            out.push_str(line);
            out.push('\n');
        }
        previous_was_single = single;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    if plan.has_changes() {
        let s = plan.summary;
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        );
    } else {
        let _ = writeln!(
            out,
            "No changes. Project {} matches the desired state.",
            plan.project
        );
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for warning in &plan.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }
    let deleted: std::collections::HashSet<(ResourceKind, &str)> = plan
        .actions
        .iter()
        .filter(|a| a.op == Op::Delete)
        .map(|a| (a.resource.kind, a.resource.name.as_str()))
        .collect();
    let kept: Vec<_> = plan
        .orphans
        .iter()
        .filter(|o| !deleted.contains(&(o.kind, o.name.as_str())))
        .collect();
    if !kept.is_empty() {
        out.push_str(
            "\nOrphans left in place (no longer in the spec; plan with remove_orphans to delete containers and \
             networks, remove_volumes to delete volumes):\n",
        );
        for orphan in kept {
            let _ = writeln!(out, "  - {} \"{}\"", orphan.kind.as_str(), orphan.name);
        }
    }
    out
}

/// The JSON Schema of `Plan`, for clients that read plans as data.
pub fn plan_schema() -> serde_json::Value {
    schemars::schema_for!(Plan).to_value()
}

fn symbol(action: &Action) -> &'static str {
    match action.op {
        Op::Create => "  +",
        Op::Pull | Op::Build if action.existing_id.is_none() => "  +",
        Op::UpdateInPlace | Op::Start | Op::Pull | Op::Build => "  ~",
        Op::Delete => "  -",
        Op::Replace => "-/+",
        Op::NoOp => "   ",
    }
}

fn verb(op: Op) -> &'static str {
    match op {
        Op::Create => "will be created",
        Op::UpdateInPlace => "will be updated in-place",
        Op::Replace => "must be replaced",
        Op::Start => "will be started",
        Op::Delete => "will be destroyed",
        Op::NoOp => "is unchanged",
        Op::Pull => "will be pulled",
        Op::Build => "will be built",
    }
}

/// `  + image "mysql:8.0" (pull: the image is not present locally)`.
fn scoped_line(action: &Action) -> String {
    let mut line = format!(
        "{} {} \"{}\"",
        symbol(action),
        action.resource.kind.as_str(),
        action.resource.name
    );
    let build_from = match (&action.op, &action.target) {
        (Op::Build, Some(Target::Image(image))) => image
            .build
            .as_ref()
            .map(|b| format!("build from {}", b.context)),
        _ => None,
    };
    let what = match action.op {
        Op::Pull => Some("pull"),
        Op::Build => Some(build_from.as_deref().unwrap_or("build")),
        _ => None,
    };
    match (what, &action.reason) {
        (Some(what), Some(reason)) => {
            let _ = write!(line, " ({what}: {reason})");
        }
        (Some(what), None) => {
            let _ = write!(line, " ({what})");
        }
        (None, Some(reason)) => {
            let _ = write!(line, " ({reason})");
        }
        (None, None) => {}
    }
    line
}

fn container_block(action: &Action) -> Vec<String> {
    let name = &action.resource.name;
    let mut header = format!("  # container {name} {}", verb(action.op));
    if let Some(reason) = &action.reason {
        let _ = write!(header, ": {reason}");
    }
    let mut lines = vec![header, format!("{} container \"{name}\"", symbol(action))];
    match (action.op, &action.target) {
        (Op::Create, Some(Target::Container(target))) => {
            let spec = &target.spec;
            let mut marked = |path: &str, value: String, widens: bool| {
                let mark = if widens { widening::MARK } else { "" };
                lines.push(format!("{FIELD_INDENT}+ {path}: {value}{mark}"));
            };
            marked("image", quote(&spec.image), false);
            if let Some(command) = &spec.command {
                marked("command", fields::list_display(command), false);
            }
            for (path, value, widens) in widening::create_fields(spec) {
                marked(path, value, widens);
            }
            if !spec.ports.is_empty() {
                marked(
                    "ports",
                    fields::list_display(spec.ports.iter().map(fields::port_display)),
                    widening::publishes_on_all_interfaces(spec),
                );
            }
            if !spec.environment.is_empty() {
                let keys = fields::list_display(spec.environment.keys());
                marked("environment", keys, false);
            }
            if !target.network_names.is_empty() {
                let names = fields::list_display(target.network_names.keys());
                marked("networks", names, false);
            }
            if !spec.mounts.is_empty() {
                marked(
                    "volumes",
                    fields::list_display(spec.mounts.iter().map(fields::mount_display)),
                    widening::binds_host_paths(spec),
                );
            }
            let mut field = |path: &str, value: String| marked(path, value, false);
            if !spec.depends_on.is_empty() {
                field(
                    "depends_on",
                    fields::list_display(fields::depends_display(spec)),
                );
            }
            if let Some(check) = &spec.healthcheck {
                field("healthcheck", fields::healthcheck_display(check));
            }
            if spec.restart != RestartPolicy::No {
                field("restart", quote(&spec.restart.to_compose()));
            }
        }
        _ => {
            for change in &action.changes {
                change_lines(change, &mut lines);
            }
        }
    }
    lines
}

/// `~ image: "a" -> "b"  # forces replacement`, or a line-by-line diff for multi-line values.
fn change_lines(change: &FieldChange, lines: &mut Vec<String>) {
    let note = match (change.forces_replacement, widening::change_widens(change)) {
        (true, true) => "  # forces replacement, widens host access",
        (false, true) => widening::MARK,
        (true, false) => "  # forces replacement",
        (false, false) => "",
    };
    let path = &change.path;
    let multi_line = |v: &Option<String>| v.as_deref().is_some_and(|s| s.contains('\n'));
    if multi_line(&change.before) || multi_line(&change.after) {
        let sign = match (&change.before, &change.after) {
            (None, _) => '+',
            (_, None) => '-',
            _ => '~',
        };
        lines.push(format!("{FIELD_INDENT}{sign} {path}: <<-EOT{note}"));
        let before = change.before.as_deref().unwrap_or("");
        let after = change.after.as_deref().unwrap_or("");
        for line in TextDiff::from_lines(before, after).iter_all_changes() {
            let mark = match line.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            };
            lines.push(format!(
                "{FIELD_INDENT}    {mark} {}",
                line.value().trim_end_matches('\n')
            ));
        }
        lines.push(format!("{FIELD_INDENT}  EOT"));
        return;
    }
    let line = match (&change.before, &change.after) {
        (Some(before), Some(after)) => format!("~ {path}: {} -> {}", quote(before), quote(after)),
        (None, Some(after)) => format!("+ {path}: {}", quote(after)),
        (Some(before), None) => format!("- {path}: {}", quote(before)),
        (None, None) => format!("~ {path}"),
    };
    lines.push(format!("{FIELD_INDENT}{line}{note}"));
}

/// Quotes a display value unless it already reads as a list, a structure, a number, a boolean or a mask.
fn quote(value: &str) -> String {
    let structured = value.starts_with('[') || value.starts_with('{') || value == fields::SENSITIVE;
    let literal =
        value == "true" || value == "false" || (!value.is_empty() && value.parse::<f64>().is_ok());
    if structured || literal {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}
