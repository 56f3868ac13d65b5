//! Parses the time arguments of log tools: RFC 3339, unix seconds, or an age such as `10m`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds for `text`; the error says which forms are accepted.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Some(age) = parse_age(text) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        return Ok(now.saturating_sub(age));
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("{text:?} is not a time"))
}

/// `90s`, `10m`, `2h`, `1d` as seconds.
fn parse_age(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let number = &text[..text.len() - unit.len_utf8()];
    let value: i64 = number.parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return None,
    };
    value.checked_mul(scale)
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
}
