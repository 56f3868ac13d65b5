//! The `.env` / `env_file` format: `KEY=value` lines, `#` comments, optional `export`, quotes.

/// One entry: a key and its value, or `None` for a bare `KEY` (to be taken from the server's environment).
pub type Entry = (String, Option<String>);

/// Parses dotenv text. Double-quoted values understand `\n`, `\t`, `\"` and `\\`; single-quoted ones are literal;
/// unquoted ones end at ` #`. `lookup` expands `${VAR}` in unquoted and double-quoted values, as compose does.
pub fn parse(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            check_key(line, n)?;
            entries.push((line.to_string(), None));
            continue;
        };
        let key = key.trim();
        check_key(key, n)?;
        let rest = rest.trim_start();
        let known = |name: &str| {
            entries
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.clone())
                .or_else(|| lookup(name))
        };
        let value = if let Some(body) = rest.strip_prefix('\'') {
            let mut body = body.to_string();
            while !body.trim_end().ends_with('\'') {
                let Some((_, next)) = lines.next() else {
                    return Err(format!("line {}: unclosed `'`", n + 1));
                };
                body.push('\n');
                body.push_str(next);
            }
            let end = body.rfind('\'').unwrap_or(body.len());
            body[..end].to_string()
        } else if let Some(body) = rest.strip_prefix('"') {
            let mut body = body.to_string();
            while !closes_double(&body) {
                let Some((_, next)) = lines.next() else {
                    return Err(format!("line {}: unclosed `\"`", n + 1));
                };
                body.push('\n');
                body.push_str(next);
            }
            let end = body.rfind('"').unwrap_or(body.len());
            let unescaped = unescape(&body[..end]);
            crate::interpolate::interpolate(&unescaped, &known)
                .map_err(|e| format!("line {}: {e}", n + 1))?
        } else {
            let value = rest.split(" #").next().unwrap_or("").trim_end();
            crate::interpolate::interpolate(value, &known)
                .map_err(|e| format!("line {}: {e}", n + 1))?
        };
        entries.push((key.to_string(), Some(value)));
    }
    Ok(entries)
}

fn check_key(key: &str, line: usize) -> Result<(), String> {
    if key.is_empty() || key.chars().any(|c| c.is_whitespace()) {
        return Err(format!("line {}: `{key}` is not a variable name", line + 1));
    }
    Ok(())
}

/// Whether a double-quoted body (after the opening quote) contains its unescaped closing quote.
fn closes_double(body: &str) -> bool {
    let mut escaped = false;
    for c in body.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(c @ ('"' | '\\' | '$')) => out.push(c),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let text = "# comment\nA=1\nexport B = two \nC='lit $A'\nD=\"x\\ny ${A}\"\nE=v # trailing\nBARE\n\nF=\n";
        let got = parse(text, &|_| None).unwrap();
        assert_eq!(
            got,
            vec![
                ("A".into(), Some("1".into())),
                ("B".into(), Some("two".into())),
                ("C".into(), Some("lit $A".into())),
                ("D".into(), Some("x\ny 1".into())),
                ("E".into(), Some("v".into())),
                ("BARE".into(), None),
                ("F".into(), Some(String::new())),
            ]
        );
    }
}
