//! Compose's unit syntaxes: Go durations (`1m30s`), byte sizes (`512m`) and CPU counts (`0.5`).

/// Nanoseconds of a Go-style duration: `10s`, `1m30s`, `500ms`, `1.5s`, `1h`, `250us`, `0`.
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("an empty duration".into());
    }
    if s.starts_with('-') {
        return Err(format!("`{text}` is negative"));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number: f64 = s[start..i]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration"))?;
        let unit_start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let scale = match &s[unit_start..i] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("`{text}` has no unit")),
            other => return Err(format!("`{text}` has unknown unit `{other}`")),
        };
        total += number * scale;
    }
    if !total.is_finite() || total > i64::MAX as f64 {
        return Err(format!("`{text}` is too long"));
    }
    Ok(total.round() as i64)
}

/// Bytes of a size such as `512m`, `1g`, `1.5g`, `1024k`, `100`, `2GiB` or `64MB` (powers of 1024, as Docker).
pub fn parse_bytes(text: &str) -> Result<i64, String> {
    let s = text.trim().to_ascii_lowercase();
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(digits_end);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size"))?;
    let unit = unit.trim_start();
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let scale: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; use b, k, m, g, t or p"
            ))
        }
    };
    let bytes = number * scale;
    if !bytes.is_finite() || bytes > i64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes.round() as i64)
}

/// Billionths of a CPU for `cpus: 0.5`.
pub fn parse_nano_cpus(cpus: f64) -> Result<i64, String> {
    if !(0.0..=1_000_000.0).contains(&cpus) {
        return Err(format!("`{cpus}` is not a CPU count"));
    }
    Ok((cpus * 1e9).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
        assert!(parse_duration_ns("10").is_err());
        assert!(parse_duration_ns("10x").is_err());
        assert!(parse_duration_ns("-1s").is_err());
        assert!(parse_duration_ns("s").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512m"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5g"), Ok(1536 * 1024 * 1024));
        assert_eq!(parse_bytes("1024k"), Ok(1024 * 1024));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert_eq!(parse_bytes("64MB"), Ok(64 * 1024 * 1024));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5x").is_err());
    }
}
