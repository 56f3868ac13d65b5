//! The one rule for which keys look like they hold a secret.
//!
//! Plans, renderings and the inspect/list outputs of the MCP tools all mask a value by this rule, so a key
//! masked in one output is masked in every other (a key shown in clear anywhere is a leak everywhere).

/// Key fragments that mark a value as secret, matched case-insensitively as substrings.
pub const SENSITIVE_FRAGMENTS: [&str; 7] = [
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "SECRET",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
];

/// Whether an environment variable, build arg or label key looks like it holds a secret
/// (`DB_PASSWORD`, `DB_PASSWD`, `api_token`, `SSH_KEY`, `AWS_CREDENTIALS`, `PRIVATE_PEM`).
pub fn is_sensitive_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SENSITIVE_FRAGMENTS
        .iter()
        .any(|fragment| upper.contains(fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fragment_marks_a_key_in_any_case_and_position() {
        for fragment in SENSITIVE_FRAGMENTS {
            assert!(is_sensitive_key(fragment), "{fragment}");
            assert!(is_sensitive_key(&format!(
                "db_{}_x",
                fragment.to_ascii_lowercase()
            )));
        }
        assert!(is_sensitive_key("DB_PASSWD"));
    }

    #[test]
    fn ordinary_keys_are_not_sensitive() {
        for key in ["PATH", "DB_HOST", "PORT", "LANG", "MODE"] {
            assert!(!is_sensitive_key(key), "{key}");
        }
    }
}
