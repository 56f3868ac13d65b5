//! Bounds on the numbers a client sends: timeouts and counts are refused above a documented maximum.
//!
//! A client is not trusted, so `timeout_secs: 4294967295` must neither wrap into a negative engine value nor
//! hold a tool call (and an engine connection) open for years. Each bound is far above any real use.

use super::output::ToolError;

/// Longest `stop_container` grace period: ten minutes.
pub const MAX_STOP_TIMEOUT_SECS: u32 = 600;
/// Longest `exec_in_container` run: one hour.
pub const MAX_EXEC_TIMEOUT_SECS: u64 = 3600;
/// Most log lines one `fetch_container_logs` call may ask for (the byte cap applies as well).
pub const MAX_LOG_TAIL_LINES: u32 = 100_000;

/// `value` when it is at most `max`; otherwise an error naming `field`, the bound and the fix.
pub fn at_most<T>(field: &str, value: T, max: T) -> Result<T, ToolError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value <= max {
        return Ok(value);
    }
    Err(ToolError::invalid(
        field,
        format!("{value} is above the bound of {max}"),
        format!("pass at most {max}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_above_the_bound_are_refused_by_name() {
        assert_eq!(
            at_most("timeout_secs", 10, MAX_STOP_TIMEOUT_SECS).ok(),
            Some(10)
        );
        let Err(err) = at_most("timeout_secs", u32::MAX, MAX_STOP_TIMEOUT_SECS) else {
            panic!("u32::MAX seconds was accepted");
        };
        assert!(
            err.0.contains("`timeout_secs`") && err.0.contains("600"),
            "{}",
            err.0
        );
    }
}
