//! Image references, parsed once: `[host[:port]/]path[:tag][@algo:hex]`.
//!
//! Validation, the pull executor and the image tools all split references here, so `name@sha256:…` means
//! the same thing everywhere (a pull by digest, never a tag called `sha256`).

use std::fmt;

/// Longest reference accepted, a bound on what a client can make us parse and send on.
pub const MAX_REFERENCE_LEN: usize = 512;

/// Longest tag Docker accepts.
const MAX_TAG_LEN: usize = 128;

/// The tag Docker assumes when a reference names none.
pub const DEFAULT_TAG: &str = "latest";

/// Why a string is not an image reference; the display form names the reference and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{reference}` is not a valid image reference: {problem}")]
pub struct ImageRefError {
    /// The reference as given.
    pub reference: String,
    /// Which rule it broke.
    pub problem: ImageRefProblem,
}

/// The rule a reference broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefProblem {
    #[error("it is empty")]
    Empty,
    #[error("it contains whitespace")]
    Whitespace,
    #[error("it is too long (at most {MAX_REFERENCE_LEN} characters)")]
    TooLong,
    #[error("the repository name is missing before the tag or digest")]
    MissingName,
    #[error("the digest must look like `sha256:<64 hex digits>`")]
    BadDigest,
    #[error("the tag may hold letters, digits, `_`, `.` and `-` (at most 128)")]
    BadTag,
    #[error("the registry host is malformed")]
    BadRegistry,
    #[error(
        "repository names use lowercase letters, digits and single `.`, `_` or `-` separators"
    )]
    BadRepository,
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `host[:port]` when the first path component names a registry.
    pub registry: Option<String>,
    /// The repository path below the registry (`library/nginx`, `team/app`).
    pub path: String,
    /// The tag, when one is written.
    pub tag: Option<String>,
    /// `algo:hex`, when the reference pins a digest.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses and checks `reference`.
    pub fn parse(reference: &str) -> Result<Self, ImageRefError> {
        parse_parts(reference).map_err(|problem| ImageRefError {
            reference: reference.to_string(),
            problem,
        })
    }

    /// The repository as Docker's API names it: `[host[:port]/]path`, without tag or digest.
    pub fn repository(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The tag, or `latest` when none is written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// The `tag` parameter of a pull: the digest when pinned (Docker pulls by digest then), else the tag or
    /// `latest` (an empty tag would pull every tag of the repository).
    pub fn pull_tag(&self) -> &str {
        self.digest
            .as_deref()
            .unwrap_or_else(|| self.tag_or_latest())
    }

    /// The one reference a pull leaves locally: `repo@digest` when pinned, else `repo:tag`.
    pub fn pulled_reference(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}@{digest}", self.repository()),
            None => format!("{}:{}", self.repository(), self.tag_or_latest()),
        }
    }
}

impl fmt::Display for ImageRef {
    /// The reference as written (normalized only by the parse: nothing is added).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn parse_parts(reference: &str) -> Result<ImageRef, ImageRefProblem> {
    check_outline(reference)?;
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(check_digest(digest)?)),
        None => (reference, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (
            &rest[..last_slash + i],
            Some(check_tag(&rest[last_slash + i + 1..])?),
        ),
        None => (rest, None),
    };
    let (registry, path) = split_registry(name)?;
    if !path.split('/').all(is_repository_component) {
        return Err(ImageRefProblem::BadRepository);
    }
    Ok(ImageRef {
        registry,
        path: path.to_string(),
        tag,
        digest,
    })
}

/// Checks that concern the whole string before it is split.
fn check_outline(reference: &str) -> Result<(), ImageRefProblem> {
    if reference.trim().is_empty() {
        return Err(ImageRefProblem::Empty);
    }
    if reference.chars().any(char::is_whitespace) {
        return Err(ImageRefProblem::Whitespace);
    }
    if reference.starts_with(':') || reference.starts_with('@') {
        return Err(ImageRefProblem::MissingName);
    }
    if reference.len() > MAX_REFERENCE_LEN {
        return Err(ImageRefProblem::TooLong);
    }
    Ok(())
}

fn check_digest(digest: &str) -> Result<String, ImageRefProblem> {
    let valid = digest.split_once(':').is_some_and(|(algo, hex)| {
        !algo.is_empty()
            && algo
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    if valid {
        Ok(digest.to_string())
    } else {
        Err(ImageRefProblem::BadDigest)
    }
}

fn check_tag(tag: &str) -> Result<String, ImageRefProblem> {
    let valid = !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(tag.to_string())
    } else {
        Err(ImageRefProblem::BadTag)
    }
}

/// Splits off the registry the way Docker does: a first component (of several) that holds `.` or `:`, is
/// `localhost`, or has upper case names a registry.
fn split_registry(name: &str) -> Result<(Option<String>, &str), ImageRefProblem> {
    let Some((first, path)) = name.split_once('/') else {
        return Ok((None, name));
    };
    let names_registry = first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase());
    if !names_registry {
        return Ok((None, name));
    }
    let (host, port) = first.split_once(':').unwrap_or((first, ""));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if !host_ok || (!port.is_empty() && port.parse::<u16>().is_err()) {
        return Err(ImageRefProblem::BadRegistry);
    }
    Ok((Some(first.to_string()), path))
}

fn is_repository_component(component: &str) -> bool {
    !component.is_empty()
        && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && component
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed assertion
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// One row of the parse table: a reference and what it must split into.
    struct Case {
        text: String,
        registry: Option<&'static str>,
        path: &'static str,
        tag: Option<&'static str>,
        pinned: bool,
        pull_tag: String,
        pulled: String,
    }

    fn case(
        text: &str,
        (registry, path, tag, pinned): (
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
            bool,
        ),
        pull_tag: &str,
        pulled: &str,
    ) -> Case {
        Case {
            text: text.into(),
            registry,
            path,
            tag,
            pinned,
            pull_tag: pull_tag.into(),
            pulled: pulled.into(),
        }
    }

    fn table() -> Vec<Case> {
        let host = Some("host:5000");
        vec![
            case(
                "nginx",
                (None, "nginx", None, false),
                "latest",
                "nginx:latest",
            ),
            case(
                "nginx:1.27",
                (None, "nginx", Some("1.27"), false),
                "1.27",
                "nginx:1.27",
            ),
            case(
                "library/nginx:latest",
                (None, "library/nginx", Some("latest"), false),
                "latest",
                "library/nginx:latest",
            ),
            case(
                "host:5000/ns/name:tag",
                (host, "ns/name", Some("tag"), false),
                "tag",
                "host:5000/ns/name:tag",
            ),
            case(
                "127.0.0.1:5000/app",
                (Some("127.0.0.1:5000"), "app", None, false),
                "latest",
                "127.0.0.1:5000/app:latest",
            ),
            case(
                "localhost/app:v1",
                (Some("localhost"), "app", Some("v1"), false),
                "v1",
                "localhost/app:v1",
            ),
            case(
                &format!("name@{DIGEST}"),
                (None, "name", None, true),
                DIGEST,
                &format!("name@{DIGEST}"),
            ),
            case(
                &format!("name:tag@{DIGEST}"),
                (None, "name", Some("tag"), true),
                DIGEST,
                &format!("name@{DIGEST}"),
            ),
            case(
                &format!("host:5000/ns/name:tag@{DIGEST}"),
                (host, "ns/name", Some("tag"), true),
                DIGEST,
                &format!("host:5000/ns/name@{DIGEST}"),
            ),
        ]
    }

    #[test]
    fn parses_every_form() {
        for c in table() {
            let text = &c.text;
            let image = ImageRef::parse(text).unwrap();
            assert_eq!(image.registry.as_deref(), c.registry, "{text}");
            assert_eq!(image.path, c.path, "{text}");
            assert_eq!(image.tag.as_deref(), c.tag, "{text}");
            assert_eq!(
                image.digest.as_deref(),
                c.pinned.then_some(DIGEST),
                "{text}"
            );
            assert_eq!(image.pull_tag(), c.pull_tag, "{text}");
            assert_eq!(image.pulled_reference(), c.pulled, "{text}");
            assert_eq!(&image.to_string(), text, "display gives back the reference");
        }
    }

    #[test]
    fn refuses_with_the_rule_broken() {
        use ImageRefProblem::*;
        for (bad, problem) in [
            ("", Empty),
            (" ", Empty),
            ("\t", Empty),
            ("a b", Whitespace),
            ("nginx latest", Whitespace),
            (" nginx", Whitespace),
            (":latest", MissingName),
            ("@sha256:0123456789abcdef0123456789abcdef", MissingName),
            ("x@sha256:zz", BadDigest),
            ("x@", BadDigest),
            ("nginx:", BadTag),
            ("nginx::1", BadRepository),
            ("nginx:-x", BadTag),
            ("Nginx", BadRepository),
            ("NGINX:1.27", BadRepository),
            ("team/App", BadRepository),
            ("repo//x", BadRepository),
            ("ünïcode", BadRepository),
            ("host:x/app", BadRegistry),
        ] {
            assert_eq!(
                ImageRef::parse(bad).unwrap_err().problem,
                problem,
                "{bad:?}"
            );
        }
        assert_eq!(
            ImageRef::parse(&"a".repeat(MAX_REFERENCE_LEN + 1))
                .unwrap_err()
                .problem,
            TooLong
        );
    }

    #[test]
    fn error_names_the_reference() {
        let message = ImageRef::parse("Nginx").unwrap_err().to_string();
        assert!(
            message.starts_with("`Nginx` is not a valid image reference"),
            "{message}"
        );
    }
}
