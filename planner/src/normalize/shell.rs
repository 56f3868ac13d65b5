//! Splits a `command: "..."` string into words the way a POSIX shell would, without expanding anything.

/// Words of `text`: whitespace separates, single quotes are literal, double quotes allow `\"` `\\` `\$` `` \` ``,
/// and a backslash outside quotes escapes the next character.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is never closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is never closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is never closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("the command ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words("echo hi"),
            Ok(vec!["echo".to_string(), "hi".into()])
        );
        assert_eq!(
            split_words(r#"sh -c 'echo "a b"; exit 1'"#),
            Ok(vec![
                "sh".into(),
                "-c".into(),
                r#"echo "a b"; exit 1"#.into()
            ])
        );
        assert_eq!(
            split_words(r#"a "b \"c\"" d\ e ''"#),
            Ok(vec![
                "a".into(),
                r#"b "c""#.into(),
                "d e".into(),
                String::new()
            ])
        );
        assert!(split_words("echo 'oops").is_err());
        assert_eq!(split_words("  "), Ok(vec![]));
    }
}
