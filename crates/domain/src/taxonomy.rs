//! Configurable taxonomies: the audience types of beneficiaries and the types of service.
//!
//! Each helpline words these its own way, so they come from configuration; the domain only
//! insists that a term is one the helpline has declared.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A term of a taxonomy: a slug (`account_security`), checked against the taxonomy at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxonomyTerm(String);

impl TaxonomyTerm {
    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Re-reads a term already checked when it was stored.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for TaxonomyTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One taxonomy: slug -> human label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxonomy {
    what: &'static str,
    terms: BTreeMap<String, String>,
}

impl Taxonomy {
    /// Builds a taxonomy, refusing slugs that are not lower-case `a-z0-9_`.
    pub fn new(
        what: &'static str,
        terms: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, DomainError> {
        let mut map = BTreeMap::new();
        for (slug, label) in terms {
            if slug.is_empty()
                || !slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(DomainError::invalid(
                    what,
                    format!("taxonomy slug `{slug}` must be lower-case a-z, 0-9 and _"),
                ));
            }
            map.insert(slug, label);
        }
        if map.is_empty() {
            return Err(DomainError::invalid(what, "taxonomy must not be empty"));
        }
        Ok(Self { what, terms: map })
    }

    /// Accepts a declared slug, or says which ones exist.
    pub fn term(&self, s: &str) -> Result<TaxonomyTerm, DomainError> {
        if self.terms.contains_key(s) {
            Ok(TaxonomyTerm(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                self.what,
                format!(
                    "`{}` is not one of {}",
                    crate::ids::truncate(s),
                    self.terms.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    }

    /// The slugs and labels.
    pub fn terms(&self) -> &BTreeMap<String, String> {
        &self.terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_terms() {
        let t = Taxonomy::new(
            "service type",
            [("phishing".to_string(), "Phishing".to_string())],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.term("phishing").is_ok());
        let err = t
            .term("ddos")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("phishing"), "{err}");
        assert!(Taxonomy::new("x", [("Bad Slug".to_string(), String::new())]).is_err());
    }
}
