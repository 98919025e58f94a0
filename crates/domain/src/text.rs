//! Free-text values with bounds: a summary is one line, a name is not empty, nothing is unbounded.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

macro_rules! bounded_text {
    ($(#[$doc:meta] $name:ident, $what:literal, min = $min:expr, max = $max:expr, single_line = $single:expr;)+) => {$(
        #[$doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The most characters this value may hold.
            pub const MAX_CHARS: usize = $max;

            /// Checks the bounds as written (the spec's `maxLength` and `pattern` say the same),
            /// then trims surrounding white space.
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            pub fn parse(s: impl Into<String>) -> Result<Self, DomainError> {
                let s: String = s.into();
                let n = s.chars().count();
                if n > $max {
                    return Err(DomainError::invalid(
                        $what,
                        format!("is {n} characters long; at most {} are allowed", $max),
                    ));
                }
                if $single && s.contains(['\n', '\r']) {
                    return Err(DomainError::invalid($what, "must be a single line"));
                }
                // A single line takes no control character at all, not even a tab; a text
                // takes line breaks and tabs. Checked before trimming: a form feed at the end
                // is refused as one in the middle.
                let allowed = |c: char| !$single && matches!(c, '\n' | '\r' | '\t');
                if s.chars().any(|c| c.is_control() && !allowed(c)) {
                    return Err(DomainError::invalid($what, "must not contain control characters"));
                }
                let trimmed = s.trim();
                if trimmed.chars().count() < $min {
                    return Err(DomainError::invalid($what, "must not be empty"));
                }
                Ok(Self(trimmed.to_owned()))
            }
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )+};
}

bounded_text! {
    /// One line saying what happened ("Instagram account hijacked, 2FA changed").
    Summary, "summary", min = 1, max = 300, single_line = true;
    /// The longer account of the incident; may be empty.
    Description, "description", min = 0, max = 50_000, single_line = false;
    /// A person's or an organisation's name as they gave it.
    Name, "name", min = 1, max = 200, single_line = true;
    /// The body of a message, comment or action: never empty.
    Body, "body", min = 1, max = 1_000_000, single_line = false;
    /// A short title (next steps, labels).
    Title, "title", min = 1, max = 300, single_line = true;
    /// An optional free note; may be empty.
    Note, "note", min = 0, max = 10_000, single_line = false;
}

impl Description {
    /// No description yet.
    pub fn empty() -> Self {
        Self(String::new())
    }
}

impl Note {
    /// No note.
    pub fn empty() -> Self {
        Self(String::new())
    }
}
