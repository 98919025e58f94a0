//! How far an indicator may be shared (TLP 2.0), and where it stands on a case.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// How far an indicator may be shared (FIRST's Traffic Light Protocol 2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tlp {
    /// No limit.
    #[serde(rename = "clear")]
    Clear,
    /// The community.
    #[serde(rename = "green")]
    Green,
    /// The recipients' organisations and their clients.
    #[serde(rename = "amber")]
    Amber,
    /// The recipients' organisations only.
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// The recipients only.
    #[serde(rename = "red")]
    Red,
}

impl Tlp {
    /// Every level, from the widest sharing to the narrowest.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "clear",
            Self::Green => "green",
            Self::Amber => "amber",
            Self::AmberStrict => "amber+strict",
            Self::Red => "red",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        [
            Self::Clear,
            Self::Green,
            Self::Amber,
            Self::AmberStrict,
            Self::Red,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| {
            DomainError::invalid(
                "tlp",
                format!(
                    "`{}` is not one of clear, green, amber, amber+strict, red",
                    crate::ids::truncate(s)
                ),
            )
        })
    }
}

/// Where an indicator stands on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorState {
    /// Found automatically; an analyst has not looked yet.
    Candidate,
    /// An analyst confirmed it.
    Confirmed,
    /// An analyst found it harmless: it never correlates.
    FalsePositive,
}

impl IndicatorState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Confirmed => "confirmed",
            Self::FalsePositive => "false_positive",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "candidate" => Ok(Self::Candidate),
            "confirmed" => Ok(Self::Confirmed),
            "false_positive" => Ok(Self::FalsePositive),
            _ => Err(DomainError::invalid(
                "indicator state",
                "expected candidate, confirmed or false_positive",
            )),
        }
    }
}
