//! Which settings widen a container's access to the host, so the rendering can flag them. A create is
//! judged as a change from nothing, so creates, updates and replaces are flagged by the one rule.
//!
//! The human's review is the last control: an operator-allowed `privileged`, host namespace, capability,
//! device, security option, bind mount, port on every interface or remote logging driver must be visible in
//! the plan, marked, never folded into an image and a command.

use crate::plan::FieldChange;
use crate::policy::LOCAL_LOG_DRIVERS;

/// The mark appended to a line that widens host access.
pub const MARK: &str = "  # widens host access";

fn shares_namespace(value: &str) -> bool {
    value == "host" || value.starts_with("container:") || value.starts_with("service:")
}

/// Whether a changed field's new value widens host access (the change lines of update and replace).
pub fn change_widens(change: &FieldChange) -> bool {
    let Some(after) = change.after.as_deref() else {
        return false;
    };
    let head = change.path.split(['.', '[']).next().unwrap_or("");
    match head {
        "privileged" => after == "true",
        "cap_add" | "devices" | "security_opt" => after != "[]",
        "network_mode" | "pid" | "ipc" => shares_namespace(after),
        "logging" if change.path == "logging.driver" => !LOCAL_LOG_DRIVERS.contains(&after),
        "logging" => logging_is_remote(after),
        "volumes" => list_items(after)
            .iter()
            .any(|item| item.starts_with('/') && item.contains(':')),
        "ports" => list_items(after).iter().any(|item| port_text_is_open(item)),
        _ => false,
    }
}

/// A logging value as the diff shows it (`{"driver":"syslog","options":{...}}`).
fn logging_is_remote(shown: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(shown)
        .ok()
        .and_then(|v| v.get("driver").and_then(|d| d.as_str()).map(str::to_string))
        .is_some_and(|driver| !LOCAL_LOG_DRIVERS.contains(&driver.as_str()))
}

/// The items of a list as the diff shows it (`["a", "b"]`).
pub(super) fn list_items(shown: &str) -> Vec<String> {
    serde_json::from_str(shown).unwrap_or_default()
}

/// A port as `fields::port_display` writes it: `target`, `pub:target` or `ip:pub:target` (`/proto` after).
fn port_text_is_open(item: &str) -> bool {
    let port = item.split('/').next().unwrap_or(item);
    let parts: Vec<&str> = port.split(':').collect();
    match parts.as_slice() {
        [_] | [_, _] => true,
        [ip, _, _] => ip.is_empty() || *ip == "0.0.0.0",
        // An IPv6 address holds colons of its own: open when it is `::`.
        _ => port.starts_with(":::") || port.starts_with("[::]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, after: &str) -> FieldChange {
        FieldChange {
            path: path.into(),
            before: None,
            after: Some(after.into()),
            forces_replacement: true,
        }
    }

    #[test]
    fn changes_that_widen() {
        for (path, after, widens) in [
            ("privileged", "true", true),
            ("privileged", "false", false),
            ("cap_add", "[\"NET_ADMIN\"]", true),
            ("network_mode", "host", true),
            ("network_mode", "container:db", true),
            ("network_mode", "bridge", false),
            ("pid", "host", true),
            ("security_opt", "[\"seccomp=unconfined\"]", true),
            ("logging", "{\"driver\":\"syslog\",\"options\":{}}", true),
            ("logging.driver", "syslog", true),
            ("logging.driver", "local", false),
            (
                "logging",
                "{\"driver\":\"json-file\",\"options\":{}}",
                false,
            ),
            ("volumes", "[\"/srv/data:/data\"]", true),
            ("volumes", "[\"data:/data\", \"/anon\"]", false),
            ("ports", "[\"8080:80\"]", true),
            ("ports", "[\"127.0.0.1:8080:80\"]", false),
            ("ports", "[\"0.0.0.0:8080:80/udp\"]", true),
            ("image", "\"x\"", false),
        ] {
            assert_eq!(
                change_widens(&change(path, after)),
                widens,
                "{path}: {after}"
            );
        }
    }
}
