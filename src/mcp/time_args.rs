//! Parses the time arguments of log tools: RFC 3339, unix seconds, or an age as a Go duration (`10m`,
//! `1m30s`, `2h`) or in whole days (`1d`).
//!
//! Ages use the planner's Go-duration parser, the one compose durations go through, so `since: 1m30s` means
//! what `healthcheck.interval: 1m30s` means.

use std::time::{SystemTime, UNIX_EPOCH};

use planner::normalize::parse_duration_ns;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Unix seconds for `text`; the error says which forms are accepted.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Some(age) = age_seconds(text) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        return Ok(now.saturating_sub(age));
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("{text:?} is not a time"))
}

/// Seconds of an age: a Go duration, or whole days (`1d`), which Go durations lack but people write.
fn age_seconds(text: &str) -> Option<i64> {
    if let Some(days) = text.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
        return days.checked_mul(SECONDS_PER_DAY);
    }
    parse_duration_ns(text)
        .ok()
        .map(|nanos| nanos / NANOS_PER_SECOND)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_forms() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert!(parse_time("10m").is_ok_and(|t| t > 1_700_000_000));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("10µ").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn ages_are_go_durations_or_days() {
        let now = parse_time("0s").unwrap();
        let compound = parse_time("1m30s").unwrap();
        assert!((89..=91).contains(&(now - compound)), "{}", now - compound);
        let day = parse_time("1d").unwrap();
        assert!((86_399..=86_401).contains(&(now - day)));
        assert!(parse_time("1x").is_err());
    }
}
