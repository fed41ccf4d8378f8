//! Validated text newtypes: a value of one of these types has passed its `parse`.

use std::fmt;

/// Why a piece of input was refused, naming the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A reader's public name, unique per site (case-insensitively, enforced by storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = name.chars().count();
        if len < 2 {
            return Err(ValidationError::new(
                "display_name",
                "a display name needs at least 2 characters",
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "display_name",
                format!("a display name has at most {} characters", Self::MAX_CHARS),
            ));
        }
        if name.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err(ValidationError::new(
                "display_name",
                "a display name cannot contain control or invisible characters",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// An email address, trimmed and lower-cased. Deliberately permissive: one `@`, a dot in
/// the domain, no spaces; the real check is a confirmation mail (a later issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let bad = || ValidationError::new("email", "this is not an email address");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed; it is never stored, only its hash. `Debug` does not print it.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("a password needs at least {} characters", Self::MIN_CHARS),
            ));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(ValidationError::new(
                "password",
                "this password is too long",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The Markdown source of a comment: not blank, at most `max_chars` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, ValidationError> {
        let body = raw.trim();
        if body.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
            return Err(ValidationError::new("body", "a comment cannot be empty"));
        }
        let len = body.chars().count();
        if len > max_chars {
            return Err(ValidationError::new(
                "body",
                format!("a comment has at most {max_chars} characters; this one has {len}"),
            ));
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL-safe slug from a headline: lower-case ASCII letters and digits joined by
/// hyphens, at most 80 characters; accented Latin letters lose their accents.
pub fn slugify(headline: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for c in headline.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            gap = false;
            slug.push(c);
            if slug.len() >= 80 {
                break;
            }
        } else {
            gap = true;
        }
    }
    if slug.is_empty() {
        "story".into()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_plain_ascii() {
        assert_eq!(
            slugify("Élection: the  Mayor's race, 2026!"),
            "election-the-mayor-s-race-2026"
        );
        assert_eq!(slugify("!!!"), "story");
    }

    use super::*;

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada   Lovelace ").map(|n| n.0),
            Ok("Ada Lovelace".into())
        );
        assert!(DisplayName::parse("A").is_err());
        assert!(DisplayName::parse(&"x".repeat(41)).is_err());
        assert!(DisplayName::parse("ad\u{200B}min").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_shaped() {
        assert_eq!(
            Email::parse(" Ada@Example.ORG ").map(|e| e.0),
            Ok("ada@example.org".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.org",
            "a@b",
            "a b@c.org",
            "a@b@c.org",
            "a@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blank_and_overlong_comments_are_refused() {
        assert!(CommentBody::parse("   \n\t ", 10).is_err());
        assert!(CommentBody::parse("\u{200B}\u{200B}", 10).is_err());
        assert!(CommentBody::parse("ééééé", 5).is_ok());
        assert!(CommentBody::parse("éééééé", 5).is_err());
    }

    #[test]
    fn passwords_do_not_print() {
        let p = Password::parse("correct horse").map(|p| format!("{p:?}"));
        assert_eq!(p, Ok("Password(***)".into()));
        assert!(Password::parse("short").is_err());
    }
}
