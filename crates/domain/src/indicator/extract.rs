//! Finding candidate indicators in a message's text, with where each was.

use serde::Serialize;

use super::{refang, Indicator, IndicatorKind};

/// An indicator found in a text, with where it was (character offsets, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The indicator, refanged and canonical.
    pub indicator: Indicator,
    /// As written.
    pub raw: String,
    /// First character.
    pub start: usize,
    /// After the last character.
    pub end: usize,
}

/// File extensions that make a `name.ext` a file name rather than a domain.
const FILE_EXTENSIONS: [&str; 28] = [
    "txt", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "exe", "dll", "apk", "ipa", "zip",
    "rar", "7z", "png", "jpg", "jpeg", "gif", "html", "htm", "js", "json", "xml", "csv", "log",
    "sh", "bat",
];

/// Every indicator found in `text`, defanged forms included, each value once (the first place
/// it appears), in order of appearance.
///
/// Long because it is one scan over the text trying each kind's pattern in a fixed order of
/// precedence (URL before domain, email before domain, ...); the order is the rule.
pub fn extract(text: &str) -> Vec<Found> {
    use regex_lite::Regex;
    use std::sync::OnceLock;
    static PATTERNS: OnceLock<Vec<(IndicatorKind, Regex)>> = OnceLock::new();
    let dot = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\])";
    let patterns = PATTERNS.get_or_init(|| {
        let p = |k, re: String| Regex::new(&re).ok().map(|r| (k, r));
        [
            p(
                IndicatorKind::Url,
                r#"(?i)\b(?:hxxps?|https?|fxp|ftp)(?:\[:\]|:)//[^\s<>"'`]+"#.into(),
            ),
            p(
                IndicatorKind::Email,
                format!(
                    r"(?i)[a-z0-9._%+-]+(?:@|\[@\]|\(@\)|\[at\])[a-z0-9-]+(?:{dot}[a-z0-9-]+)+"
                ),
            ),
            p(IndicatorKind::Sha256, r"\b[a-fA-F0-9]{64}\b".into()),
            p(IndicatorKind::Sha1, r"\b[a-fA-F0-9]{40}\b".into()),
            p(IndicatorKind::Md5, r"\b[a-fA-F0-9]{32}\b".into()),
            p(
                IndicatorKind::Cidr,
                format!(r"\b\d{{1,3}}(?:{dot}\d{{1,3}}){{3}}/\d{{1,2}}\b"),
            ),
            p(
                IndicatorKind::Ipv4,
                format!(r"\b\d{{1,3}}(?:{dot}\d{{1,3}}){{3}}\b"),
            ),
            p(
                IndicatorKind::Ipv6,
                r"(?i)\b(?:[0-9a-f]{1,4}:){1,7}:?(?:[0-9a-f]{1,4})?(?::[0-9a-f]{1,4}){0,6}\b".into(),
            ),
            p(IndicatorKind::Phone, r"\+\d[\d \-().]{5,20}\d".into()),
            p(
                IndicatorKind::Domain,
                format!(
                    r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?{dot})+[a-z][a-z0-9-]{{1,62}}\b"
                ),
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    });
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut found: Vec<(usize, usize, Indicator)> = Vec::new();
    for (kind, re) in patterns {
        for m in re.find_iter(text) {
            let (start, mut end) = (m.start(), m.end());
            // Sentence punctuation after a URL is not part of it.
            while end > start
                && text[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', ']', '}'])
                && !text[..end].ends_with("[.]")
                && !text[..end].ends_with("(.)")
            {
                end -= 1;
            }
            if taken.iter().any(|&(s, e)| start < e && s < end) {
                continue;
            }
            let raw = &text[start..end];
            let mut kind = *kind;
            if kind == IndicatorKind::Domain {
                let r = refang(raw);
                if r.rsplit('.')
                    .next()
                    .is_some_and(|ext| FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
                {
                    kind = IndicatorKind::FileName;
                }
            }
            let parsed = if kind == IndicatorKind::FileName {
                Indicator::parse(kind, &refang(raw))
            } else {
                Indicator::parse(kind, raw)
            };
            if let Ok(i) = parsed {
                taken.push((start, end));
                found.push((start, end, i));
            }
        }
    }
    found.sort_by_key(|(s, _, _)| *s);
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|(_, _, i)| seen.insert(i.clone()))
        .map(|(s, e, indicator)| Found {
            raw: text[s..e].to_owned(),
            start: text[..s].chars().count(),
            end: text[..e].chars().count(),
            indicator,
        })
        .collect()
}
