//! Terraform-style text for a plan, and the plan's JSON Schema.
//!
//! Symbols: `+` create, `~` update in place / start / restart / refresh an image, `-` delete, `-/+` replace. Images,
//! networks and volumes take one line each (what and why); containers take a header comment, a symbol line
//! and indented field lines. No-ops are not shown. A create shows every field the apply sets, from the same
//! masked display fields the diff uses (see `diff::fields`: secret-looking values are `(sensitive)`, secret
//! references `(secret NAME)`), so no secret value can reach the text. Replicas of one service that share
//! one operation and config show as one block with their count and names. Every setting that widens host
//! access is shown and marked (see `widening`).

mod impact;
pub(crate) mod widening;

pub use impact::impact_lines;

use std::collections::HashSet;
use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use crate::diff::fields;
use crate::model::ServiceSpec;
use crate::plan::{Action, FieldChange, Op, Plan, ResourceKind, ResourceRef, Target};

/// Indentation of a container's field lines.
const FIELD_INDENT: &str = "      ";

/// The plan as text: changed resources, then the summary line, then what the steps cost (see `impact`), then
/// warnings and orphans left in place.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    push_blocks(&mut out, &action_blocks(plan));
    if !out.is_empty() {
        out.push('\n');
    }
    let kept = orphans_left(plan);
    summary_line(plan, kept.len(), &mut out);
    let impact = impact_lines(plan);
    if !impact.is_empty() {
        out.push_str("\nImpact:\n");
        for line in &impact {
            let _ = writeln!(out, "  ! {line}");
        }
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for warning in &plan.warnings {
            let _ = writeln!(out, "  - {}", one_line(warning));
        }
    }
    if !kept.is_empty() {
        out.push_str(ORPHANS_HEADING);
        for orphan in kept {
            let _ = writeln!(out, "  - {} \"{}\"", orphan.kind.as_str(), orphan.name);
        }
    }
    escape_controls(&out)
}

/// `text` with every control character, line breaks too, written as an escape: text that must stay on one
/// line of the plan (or of a question the human answers).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `text` with every control character but the line break written as an escape (`\u{1b}`): a value's
/// terminal escape or carriage return could otherwise move the cursor and rewrite lines of the plan the
/// human reads. The line breaks are the rendering's own (multi-line values are already split into lines).
pub(crate) fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Names only options that exist: `remove_orphans` on `plan`, the `remove_volume` tool, `volumes` on
/// `destroy`.
const ORPHANS_HEADING: &str = "\nOrphans (labelled for this project, never applied from its spec; plan with \
     remove_orphans: true to delete containers and networks; volumes keep their data unless removed with \
     the remove_volume tool):\n";

/// One block per resource, or per group of replicas that share one service, operation and config.
fn action_blocks(plan: &Plan) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<&Action>> = Vec::new();
    for action in plan.actions.iter().filter(|a| a.op != Op::NoOp) {
        match groups.last_mut() {
            Some(group) if same_replica_block(group[0], action) => group.push(action),
            _ => groups.push(vec![action]),
        }
    }
    groups
        .iter()
        .map(|group| match group[0].resource.kind {
            ResourceKind::Container => container_block(group),
            _ => vec![scoped_line(group[0])],
        })
        .collect()
}

/// Whether two container actions would render the same block but for the replica's name.
fn same_replica_block(first: &Action, next: &Action) -> bool {
    first.resource.kind == ResourceKind::Container
        && next.resource.kind == ResourceKind::Container
        && first.resource.key == next.resource.key
        && first.op == next.op
        && first.reason == next.reason
        && first.changes == next.changes
        && container_spec(first) == container_spec(next)
}

fn container_spec(action: &Action) -> Option<&ServiceSpec> {
    match &action.target {
        Some(Target::Container(target)) => Some(&target.spec),
        _ => None,
    }
}

/// One-line blocks stack together; a multi-line block is set apart by blank lines.
fn push_blocks(out: &mut String, blocks: &[Vec<String>]) {
    let mut previous_was_single = false;
    for block in blocks {
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
}

/// `Plan: …` or `No changes. …`; never "No changes" while orphans are left, since the project then does not
/// match its spec.
fn summary_line(plan: &Plan, orphans: usize, out: &mut String) {
    if plan.has_changes() {
        let s = plan.summary;
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        );
    } else if orphans > 0 {
        let _ = writeln!(
            out,
            "Plan: 0 to add, 0 to change, 0 to destroy. Project {} holds {orphans} orphan{} (listed below).",
            plan.project,
            if orphans == 1 { "" } else { "s" }
        );
    } else {
        let _ = writeln!(
            out,
            "No changes. Project {} matches the desired state.",
            plan.project
        );
    }
}

/// Orphans the plan does not delete.
fn orphans_left(plan: &Plan) -> Vec<&ResourceRef> {
    let deleted: HashSet<(ResourceKind, &str)> = plan
        .actions
        .iter()
        .filter(|a| a.op == Op::Delete)
        .map(|a| (a.resource.kind, a.resource.name.as_str()))
        .collect();
    plan.orphans
        .iter()
        .filter(|o| !deleted.contains(&(o.kind, o.name.as_str())))
        .collect()
}

/// The JSON Schema of `Plan`, for clients that read plans as data.
pub fn plan_schema() -> serde_json::Value {
    schemars::schema_for!(Plan).to_value()
}

fn symbol(action: &Action) -> &'static str {
    match action.op {
        Op::Create => "  +",
        Op::Pull | Op::Build if action.existing_id.is_none() => "  +",
        Op::UpdateInPlace | Op::Start | Op::Restart | Op::Pull | Op::Build => "  ~",
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
        Op::Restart => "will be restarted",
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

/// A container's block: header comment, symbol line, field lines. A group of replicas shows once, with its
/// count and names.
fn container_block(group: &[&Action]) -> Vec<String> {
    let action = group[0];
    let (subject, what) = match group {
        [single] => (
            format!("container {}", single.resource.name),
            format!("container \"{}\"", single.resource.name),
        ),
        _ => (
            format!(
                "{} containers of service {}",
                group.len(),
                action.resource.key
            ),
            format!("container × {}: {}", group.len(), replica_names(group)),
        ),
    };
    let mut header = format!("  # {subject} {}", verb(action.op));
    if let Some(reason) = &action.reason {
        let _ = write!(header, ": {reason}");
    }
    let mut lines = vec![header, format!("{} {what}", symbol(action))];
    match (action.op, &action.target) {
        (Op::Create, Some(Target::Container(target))) => {
            for (path, field) in fields::create_fields(&target.spec) {
                let set = FieldChange {
                    path,
                    before: None,
                    after: Some(field.value),
                    forces_replacement: false,
                };
                change_lines(&set, &mut lines);
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

/// `"a-web-1", "a-web-2"`, or `"a-web-1" … "a-web-30"` for more than three; quoted like a single container.
fn replica_names(group: &[&Action]) -> String {
    let names: Vec<String> = group
        .iter()
        .map(|a| format!("\"{}\"", a.resource.name))
        .collect();
    match names.as_slice() {
        [first, .., last] if names.len() > 3 => format!("{first} … {last}"),
        _ => names.join(", "),
    }
}

/// `~ image: "a" -> "b"  # forces replacement`, or a line-by-line diff for multi-line values.
fn change_lines(change: &FieldChange, lines: &mut Vec<String>) {
    let note = match (change.forces_replacement, widening::change_widens(change)) {
        (true, true) => "  # forces replacement, widens host access",
        (false, true) => widening::MARK,
        (true, false) => "  # forces replacement",
        (false, false) => "",
    };
    // A path holds a map key (`environment.KEY`), which the spec chose: it stays on its line.
    let path = &one_line(&change.path);
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
    let secret_name = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let marker = value == fields::SENSITIVE
        || value == fields::UNSET
        || value
            .strip_prefix("(secret ")
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(secret_name);
    let structured = value.starts_with('[') || value.starts_with('{') || marker;
    let literal =
        value == "true" || value == "false" || (!value.is_empty() && value.parse::<f64>().is_ok());
    if structured || literal {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::{escape_controls, one_line};

    #[test]
    fn control_characters_but_line_breaks_are_escaped() {
        assert_eq!(
            escape_controls("a\u{1b}[1A\r\n\tb"),
            "a\\u{1b}[1A\\u{d}\n\\u{9}b"
        );
        assert_eq!(escape_controls("plain ümlaut"), "plain ümlaut");
        assert_eq!(one_line("a\nb"), "a\\u{a}b");
    }

    #[test]
    fn a_map_key_with_a_line_break_stays_on_its_line() {
        let change = crate::plan::FieldChange {
            path: "environment.PASSWORD\nPlan: 0 to add".into(),
            before: None,
            after: Some("x".into()),
            forces_replacement: false,
        };
        let mut lines = Vec::new();
        super::change_lines(&change, &mut lines);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("PASSWORD\\u{a}Plan"), "{lines:?}");
    }
}
