//! The question a destructive primitive tool asks before it acts on a resource this server does not own.
//!
//! Ownership is `planner::naming::managing_project`, the rule plan, apply and destroy follow: a resource
//! that carries our project label is ours and is acted on without a question; anything else was made
//! outside this server, so removing or stopping it is asked like a plan is.

use std::collections::HashMap;

use rmcp::service::RequestContext;
use rmcp::RoleServer;

use super::{Gate, Question, Round};
use crate::mcp::compact::short_id;
use crate::mcp::output::ToolError;
use crate::mcp::server::DockerServer;

/// Characters of one name, id or image shown in the question.
const FIELD_CHARS_SHOWN: usize = 200;
/// Characters of an exec's command shown in the question; a longer one is said to be cut.
const COMMAND_CHARS_SHOWN: usize = 1_000;

/// What a destructive primitive does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Remove,
    Stop,
    /// Replace a container with one from a new spec (the old one is removed).
    Recreate,
    /// Run a command inside a container (`exec_in_container`): whatever the command reads or changes there.
    Exec,
}

impl Act {
    fn verb(self) -> &'static str {
        match self {
            Act::Remove => "Remove",
            Act::Stop => "Stop",
            Act::Recreate => "Replace (remove and create anew)",
            Act::Exec => "Run a command in",
        }
    }

    fn gerund(self) -> &'static str {
        match self {
            Act::Remove => "removing",
            Act::Stop => "stopping",
            Act::Recreate => "replacing",
            Act::Exec => "running a command in",
        }
    }
}

/// The resource a destructive primitive is about to act on, as the engine reports it.
#[derive(Debug, Clone, Copy)]
pub struct Foreign<'a> {
    pub act: Act,
    /// `container`, `volume`, `network` or `image`.
    pub kind: &'static str,
    pub name: &'a str,
    /// The engine's full id (a volume's is its name); the approval is bound to it.
    pub id: &'a str,
    /// The image a container runs.
    pub image: Option<&'a str>,
    pub labels: &'a HashMap<String, String>,
    /// The command an exec runs, as argv; shown (escaped) in the question and bound into the approval.
    pub command: Option<&'a [String]>,
}

impl Foreign<'_> {
    /// Whether this server owns the resource (then nobody is asked).
    fn is_ours(&self) -> bool {
        planner::naming::managing_project(self.labels).is_some()
    }

    /// What the human reads, and what an accept approves.
    pub fn question(&self) -> Question {
        let shown = |text: &str| text.chars().take(FIELD_CHARS_SHOWN).collect::<String>();
        let image = self
            .image
            .map(|image| format!(", image {}", shown(image)))
            .unwrap_or_default();
        let message = format!(
            "{} {} {} (id {}{image})? This server does not manage it: it lacks the label {}, so it was made \
             outside this server (by hand, by compose or by another tool), and no plan shows this change.{}",
            self.act.verb(),
            self.kind,
            shown(self.name),
            short_id(self.id),
            planner::naming::LABEL_MANAGED_BY,
            self.command.map(command_shown).unwrap_or_default(),
        );
        Question {
            binding: match self.command {
                Some(argv) => format!("{:?} {} {} {argv:?}", self.act, self.kind, self.id),
                None => format!("{:?} {} {}", self.act, self.kind, self.id),
            },
            message,
            subject: format!(
                "{} {} {} ({}), which this server does not manage,",
                self.act.gerund(),
                self.kind,
                shown(self.name),
                short_id(self.id)
            ),
            unchanged: "",
        }
    }
}

/// The command as the question shows it: one line, control characters escaped, cut (and said so) past
/// `COMMAND_CHARS_SHOWN` characters.
fn command_shown(argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| format!("{w:?}")).collect();
    let whole = planner::render::one_line(&words.join(" "));
    let total = whole.chars().count();
    let mut shown: String = whole.chars().take(COMMAND_CHARS_SHOWN).collect();
    if total > COMMAND_CHARS_SHOWN {
        shown.push_str(&format!(
            " … ({} more characters not shown; decline unless you know the whole command)",
            total - COMMAND_CHARS_SHOWN
        ));
    }
    format!(" Command: {shown}")
}

impl DockerServer {
    /// Asks the human before `target` is acted on when this server does not own it; owned ones proceed.
    pub(crate) async fn approve_foreign(
        &self,
        context: &RequestContext<RoleServer>,
        target: Foreign<'_>,
        round: Round,
    ) -> Result<Gate, ToolError> {
        if target.is_ours() {
            return Ok(Gate::Proceed);
        }
        self.approve(context, &target.question(), round).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(labels: &'a HashMap<String, String>, name: &'a str) -> Foreign<'a> {
        Foreign {
            act: Act::Remove,
            kind: "container",
            name,
            id: "3f2a9c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a",
            image: Some("nginx:1.27"),
            labels,
            command: None,
        }
    }

    #[test]
    fn the_question_names_the_target_and_that_we_do_not_manage_it() {
        let labels = HashMap::new();
        let question = target(&labels, "web").question();
        for needle in [
            "Remove container web",
            "id 3f2a9c1b2d3e",
            "image nginx:1.27",
            "does not manage",
        ] {
            assert!(question.message.contains(needle), "{}", question.message);
        }
        assert!(question.binding.ends_with("8f9a"), "{}", question.binding);
        let long = "n".repeat(10_000);
        assert!(target(&labels, &long).question().message.len() < 1_000);
    }

    #[test]
    fn an_exec_question_shows_the_whole_command_escaped_and_binds_it() {
        let labels = HashMap::new();
        let argv = vec![
            "sh".to_string(),
            "-c".into(),
            "cat /etc/shadow\n\u{1b}[2Kls".into(),
        ];
        let exec = Foreign {
            act: Act::Exec,
            command: Some(&argv),
            ..target(&labels, "db")
        };
        let question = exec.question();
        assert!(
            question
                .message
                .starts_with("Run a command in container db"),
            "{}",
            question.message
        );
        assert!(
            question.message.contains("cat /etc/shadow"),
            "{}",
            question.message
        );
        assert!(!question.message.contains('\u{1b}') && !question.message.contains('\n'));
        let other = vec!["true".to_string()];
        let other_exec = Foreign {
            act: Act::Exec,
            command: Some(&other),
            ..target(&labels, "db")
        };
        assert_ne!(question.binding, other_exec.question().binding);
        let long = vec!["x".repeat(5_000)];
        let cut = Foreign {
            act: Act::Exec,
            command: Some(&long),
            ..target(&labels, "db")
        };
        assert!(cut.question().message.contains("more characters not shown"));
    }

    #[test]
    fn only_our_label_makes_a_target_ours() {
        let ours = HashMap::from([(
            planner::naming::LABEL_MANAGED_BY.to_string(),
            "demo".to_string(),
        )]);
        let compose_only = HashMap::from([(
            planner::naming::LABEL_PROJECT.to_string(),
            "demo".to_string(),
        )]);
        assert!(target(&ours, "web").is_ours());
        assert!(!target(&compose_only, "web").is_ours());
        assert!(!target(&HashMap::new(), "web").is_ours());
    }
}
