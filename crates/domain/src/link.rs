//! Links between cases: how two cases relate, read from either side.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// How two cases are linked, read from the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// About the same thing.
    Related,
    /// This case repeats the other.
    DuplicateOf,
    /// The other case repeats this one (the inverse of `duplicate_of`).
    HasDuplicate,
    /// This case contains the other.
    ParentOf,
    /// This case is part of the other.
    ChildOf,
}

impl LinkKind {
    /// Every kind.
    pub const ALL: [LinkKind; 5] = [
        Self::Related,
        Self::DuplicateOf,
        Self::HasDuplicate,
        Self::ParentOf,
        Self::ChildOf,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Related => "related",
            Self::DuplicateOf => "duplicate_of",
            Self::HasDuplicate => "has_duplicate",
            Self::ParentOf => "parent_of",
            Self::ChildOf => "child_of",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        [
            Self::Related,
            Self::DuplicateOf,
            Self::HasDuplicate,
            Self::ParentOf,
            Self::ChildOf,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            DomainError::invalid(
                "link kind",
                "expected related, duplicate_of, has_duplicate, parent_of or child_of",
            )
        })
    }

    /// The same link read from the other case.
    pub fn inverse(self) -> Self {
        match self {
            Self::Related => Self::Related,
            Self::DuplicateOf => Self::HasDuplicate,
            Self::HasDuplicate => Self::DuplicateOf,
            Self::ParentOf => Self::ChildOf,
            Self::ChildOf => Self::ParentOf,
        }
    }

    /// The words of an explanation: "#1042 {is a duplicate of} #998".
    pub fn phrase(self) -> &'static str {
        match self {
            Self::Related => "is related to",
            Self::DuplicateOf => "is a duplicate of",
            Self::HasDuplicate => "is duplicated by",
            Self::ParentOf => "is the parent of",
            Self::ChildOf => "is a child of",
        }
    }

    /// How strongly the link relates two cases, for ranking.
    pub fn weight(self) -> f64 {
        match self {
            Self::DuplicateOf | Self::HasDuplicate => 1.0,
            Self::ParentOf | Self::ChildOf => 0.9,
            Self::Related => 0.8,
        }
    }
}
