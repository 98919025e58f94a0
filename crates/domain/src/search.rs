//! Finding past cases by their words: how text is folded into search terms, and how the
//! highlighted snippet is cut.
//!
//! Both databases index the same folded words, made here, so that "securite" finds "sécurité"
//! on SQLite and on Postgres alike: letters are decomposed (NFKD), their marks dropped, and
//! lower-cased. Scripts without case or accents (Arabic, Chinese) are found by the exact word.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::DomainError;

/// Most words a query may hold.
pub const MAX_TERMS: usize = 16;
/// Longest word of a query.
const MAX_TERM_CHARS: usize = 64;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The folded form of one word: accents dropped, lower case (`Sécurité` → `securite`).
pub fn fold(word: &str) -> String {
    // Most words are plain ASCII: nothing to decompose.
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    word.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The folded search words of a text, in order.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let f = fold(w);
            if w.is_ascii() {
                // An ASCII word is letters and digits only: it folds to one word.
                return vec![f];
            }
            f.split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
}

/// The document a case is indexed as: its folded words, space-separated. Words longer than a
/// query may ask for (armour, encoded blobs) are left out: nobody can search for them.
pub fn document<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for t in texts {
        for w in words(t).filter(|w| w.chars().count() <= MAX_TERM_CHARS) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w);
        }
    }
    out
}

/// A parsed query: the distinct folded words every result must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query(Vec<String>);

impl Query {
    /// Refuses a query without words, with too many, or with an absurdly long one.
    pub fn parse(q: &str) -> Result<Query, DomainError> {
        let mut terms: Vec<String> = Vec::new();
        for w in words(q) {
            if w.chars().count() > MAX_TERM_CHARS {
                return Err(DomainError::invalid(
                    "q",
                    format!("words are at most {MAX_TERM_CHARS} characters"),
                ));
            }
            if !terms.contains(&w) {
                terms.push(w);
            }
        }
        if terms.is_empty() {
            return Err(DomainError::invalid("q", "the query has no words"));
        }
        if terms.len() > MAX_TERMS {
            return Err(DomainError::invalid(
                "q",
                format!("at most {MAX_TERMS} words"),
            ));
        }
        Ok(Query(terms))
    }

    /// The folded words.
    pub fn terms(&self) -> &[String] {
        &self.0
    }

    /// The SQLite FTS5 expression: every word as a quoted string, all required.
    pub fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The `to_tsquery('simple', …)` text for any one of the words (words are letters and
    /// digits only, so nothing in them is query syntax).
    pub fn any(&self) -> String {
        self.0.join(" | ")
    }

    /// The text Postgres's `plainto_tsquery('simple', …)` reads: the words, all required.
    pub fn plain(&self) -> String {
        self.0.join(" ")
    }
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// Words of context on each side of the first match in a snippet.
const CONTEXT_WORDS: usize = 8;

/// The passage of the first text that holds the most query words, about twenty words around
/// the first match, matched words in `<mark>`; the rest is HTML-escaped, so a client may show
/// it as HTML. `None` when no text holds a query word.
pub fn snippet<'a>(texts: impl IntoIterator<Item = &'a str>, q: &Query) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for t in texts {
        let found = q
            .terms()
            .iter()
            .filter(|term| words(t).any(|w| &w == *term))
            .count();
        if found > best.map_or(0, |b| b.0) {
            best = Some((found, t));
            if found == q.terms().len() {
                break;
            }
        }
    }
    let (_, text) = best?;
    // Word spans (byte ranges) of the text, and which of them match.
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (is_word_char(c) && i < text.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let hit = |&(s, e): &(usize, usize)| words(&text[s..e]).any(|w| q.terms().contains(&w));
    let first = spans.iter().position(hit)?;
    let from = first.saturating_sub(CONTEXT_WORDS);
    let to = (first + CONTEXT_WORDS * 2).min(spans.len() - 1);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = spans[from].0;
    for span in &spans[from..=to] {
        // The gap between words, whitespace collapsed to one space.
        let mut space = false;
        for c in text[pos..span.0].chars() {
            if c.is_whitespace() {
                space = true;
            } else {
                if space {
                    out.push(' ');
                    space = false;
                }
                escape_html(c.encode_utf8(&mut [0; 4]), &mut out);
            }
        }
        if space {
            out.push(' ');
        }
        let word = &text[span.0..span.1];
        if hit(span) {
            out.push_str("<mark>");
            escape_html(word, &mut out);
            out.push_str("</mark>");
        } else {
            escape_html(word, &mut out);
        }
        pos = span.1;
    }
    if to + 1 < spans.len() {
        out.push('…');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(fold("Sécurité"), "securite");
        assert_eq!(fold("AÇÃO"), "acao");
        assert_eq!(fold("ﬁchier"), "fichier");
        let w: Vec<String> = words("Mot de passe: «piraté»! e\u{301}te\u{301}").collect();
        assert_eq!(w, ["mot", "de", "passe", "pirate", "ete"]);
        // Arabic keeps its letters (harakat are marks, dropped); found by the exact word.
        let ar: Vec<String> = words("اختراق الحساب").collect();
        assert_eq!(ar, ["اختراق", "الحساب"]);
        let long = "x".repeat(MAX_TERM_CHARS + 1);
        assert_eq!(document(["Two", long.as_str(), "words"]), "two words");
    }

    #[test]
    fn queries_parse_and_refuse() {
        let q = Query::parse("  Sécurité, compte  sécurité ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.terms(), ["securite", "compte"]);
        assert_eq!(q.fts5(), "\"securite\" AND \"compte\"");
        assert_eq!(q.plain(), "securite compte");
        assert!(Query::parse("  ,;! ").is_err());
        assert!(Query::parse("").is_err());
        assert!(Query::parse(&"x".repeat(65)).is_err());
        let many: String = (0..17).map(|i| format!("w{i} ")).collect();
        assert!(Query::parse(&many).is_err());
    }

    #[test]
    fn snippets_mark_matches_and_escape_the_rest() {
        let q = Query::parse("securite").unwrap_or_else(|e| panic!("{e}"));
        let s = snippet(["nothing here", "La <b>sécurité</b> du compte"], &q);
        assert_eq!(
            s.as_deref(),
            Some("La &lt;b&gt;<mark>sécurité</mark>&lt;/b&gt; du compte")
        );
        assert_eq!(snippet(["nothing here"], &q), None);
        let long = format!("{} sécurité {}", "mot ".repeat(30), "fin ".repeat(30));
        let s = snippet([long.as_str()], &q).unwrap_or_default();
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(s.matches("<mark>").count(), 1);
    }
}
