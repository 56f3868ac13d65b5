//! Errors that point at the spec: a path, what is wrong, and how to fix it.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not YAML/JSON, or a value of the wrong type.
    Syntax,
    /// A key compose does not know (likely a typo).
    UnknownKey,
    /// A compose key this server does not support yet.
    Unsupported,
    /// Refused by the server's safety policy.
    Policy,
    /// Well-formed but wrong: a dangling reference, a cycle, a bad port.
    Invalid,
}

/// One problem in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}{}", fix_suffix(.fix))]
pub struct SpecError {
    pub kind: ErrorKind,
    /// Where, as `services.web.ports[0]`; empty for the whole document.
    pub path: String,
    pub message: String,
    /// How to fix it; may be empty.
    pub fix: String,
}

fn fix_suffix(fix: &str) -> String {
    if fix.is_empty() {
        String::new()
    } else {
        format!(" (fix: {fix})")
    }
}

impl SpecError {
    pub fn new(
        kind: ErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        SpecError {
            kind,
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// Every problem found in one spec; loading reports them all at once rather than one per attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "invalid spec: {one}"),
            many => {
                write!(f, "invalid spec: {} problems", many.len())?;
                for e in many {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}
