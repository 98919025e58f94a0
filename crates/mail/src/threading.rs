//! Threading keys: how an inbound message finds its case.
//!
//! In order of trust: the subject tag (`[Helpline #1042]`, or `Helpline #1042` typed by hand),
//! the plus-address reply token (`help+1042@helpline.example`), then the Message-IDs named in
//! `In-Reply-To` and `References`.

use helpline_domain::case::CaseRef;

/// A configuration value for threading that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThreadingError {
    /// The subject tag is empty or holds characters that would make it ambiguous.
    #[error("subject tag `{0}` must be 1 to 40 letters, digits, spaces, '-' or '_'")]
    BadTag(String),
    /// The plus-address local part or domain is unusable.
    #[error("reply address `{0}` must be a plain local part and a domain")]
    BadAddress(String),
}

/// The helpline's subject tag (`Helpline` in `[Helpline #1042]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTag(String);

impl SubjectTag {
    /// Accepts 1 to 40 letters, digits, spaces, `-` and `_`.
    pub fn new(tag: &str) -> Result<Self, ThreadingError> {
        let t = tag.trim();
        let ok = !t.is_empty()
            && t.chars().count() <= 40
            && t.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(ThreadingError::BadTag(tag.to_owned()))
        }
    }

    /// The subject of an outbound message about case `r`: the tag is added once.
    pub fn tagged(&self, subject: &str, r: CaseRef) -> String {
        if self.find_ref(subject) == Some(r) {
            subject.to_owned()
        } else {
            format!("[{} #{}] {}", self.0, r.get(), subject.trim())
        }
    }

    /// The case reference named after the tag, with or without brackets, in any case:
    /// `Re: [Helpline #1042] ...`, `helpline #1042`, `HELPLINE#1042`. The first one wins.
    pub fn find_ref(&self, subject: &str) -> Option<CaseRef> {
        let hay: Vec<char> = subject.chars().collect();
        let tag: Vec<char> = self.0.chars().collect();
        let eq = |a: char, b: char| a.to_lowercase().eq(b.to_lowercase());
        let mut i = 0;
        while i + tag.len() <= hay.len() {
            let matches = tag.iter().zip(&hay[i..]).all(|(t, h)| eq(*t, *h));
            // The tag must start a word: "MyHelpline #3" is not ours.
            let starts_word = i == 0 || !hay[i - 1].is_alphanumeric();
            if matches && starts_word {
                let mut j = i + tag.len();
                while j < hay.len() && hay[j] == ' ' {
                    j += 1;
                }
                if j < hay.len() && hay[j] == '#' {
                    let digits: String = hay[j + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    let next = hay.get(j + 1 + digits.len());
                    if !digits.is_empty() && !next.is_some_and(|c| c.is_alphanumeric()) {
                        if let Ok(r) = CaseRef::parse(&digits) {
                            return Some(r);
                        }
                    }
                }
            }
            i += 1;
        }
        None
    }
}

/// The plus-address reply token: replies to `help+1042@helpline.example` belong to case 1042.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlusAddress {
    local: String,
    domain: String,
}

impl PlusAddress {
    /// From the helpline's address (`help@helpline.example`).
    pub fn new(address: &str) -> Result<Self, ThreadingError> {
        let bad = || ThreadingError::BadAddress(address.to_owned());
        let (local, domain) = address.trim().rsplit_once('@').ok_or_else(bad)?;
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        if !plain(local) || !plain(domain) {
            return Err(bad());
        }
        Ok(Self {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// The reply address for case `r`.
    pub fn for_case(&self, r: CaseRef) -> String {
        format!("{}+{}@{}", self.local, r.get(), self.domain)
    }

    /// The case a recipient address names, if it is one of ours.
    pub fn find_ref(&self, recipient: &str) -> Option<CaseRef> {
        let (local, domain) = recipient.trim().rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let (base, token) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(&self.local) {
            return None;
        }
        CaseRef::parse(token).ok()
    }
}

/// The Message-IDs of an `In-Reply-To` or `References` value, without angle brackets, in order,
/// without duplicates. Text outside angle brackets (comments, phrases) is ignored.
pub fn message_ids(header_value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = header_value;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start + 1..].find('>') else {
            break;
        };
        let id = rest[start + 1..start + 1 + len].trim();
        if !id.is_empty()
            && id.len() <= 998
            && !id.contains(char::is_whitespace)
            && !out.iter().any(|x| x == id)
        {
            out.push(id.to_owned());
        }
        rest = &rest[start + 1 + len + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i64) -> Option<CaseRef> {
        CaseRef::new(n).ok()
    }

    #[test]
    fn subject_tags_are_found_however_typed() {
        let tag = SubjectTag::new("Helpline").unwrap_or_else(|e| panic!("{e}"));
        for (subject, expected) in [
            ("[Helpline #1042] my phone", r(1042)),
            ("Re: RE: Fwd: [Helpline #1042] my phone", r(1042)),
            ("re: [helpline #7]", r(7)),
            ("HELPLINE#1042 follow-up", r(1042)),
            ("About Helpline #1042, again", r(1042)),
            ("Helpline #12 and Helpline #13", r(12)),
            ("MyHelpline #1042", None),
            ("Helpline #1042abc", None),
            ("Helpline # 1042", None),
            ("Helpline #0", None),
            ("#1042 without the tag", None),
            ("Helpline", None),
            ("", None),
        ] {
            assert_eq!(tag.find_ref(subject), expected, "{subject:?}");
        }
        let c = CaseRef::new(1042).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tag.tagged("Your request", c),
            "[Helpline #1042] Your request"
        );
        assert_eq!(
            tag.tagged("Re: [Helpline #1042] x", c),
            "Re: [Helpline #1042] x"
        );
        let multi = SubjectTag::new("Digital Help Desk").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(multi.find_ref("[digital help desk #55] hi"), r(55));
        assert!(SubjectTag::new("").is_err());
        assert!(SubjectTag::new("a]b").is_err());
    }

    #[test]
    fn plus_addresses_name_their_case() {
        let p = PlusAddress::new("Help@Helpline.example").unwrap_or_else(|e| panic!("{e}"));
        let c = CaseRef::new(1042).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.for_case(c), "help+1042@helpline.example");
        assert_eq!(p.find_ref("help+1042@helpline.example"), r(1042));
        assert_eq!(p.find_ref("HELP+1042@HELPLINE.EXAMPLE"), r(1042));
        assert_eq!(p.find_ref("help@helpline.example"), None);
        assert_eq!(p.find_ref("help+x@helpline.example"), None);
        assert_eq!(p.find_ref("help+1042@elsewhere.example"), None);
        assert_eq!(p.find_ref("other+1042@helpline.example"), None);
        assert!(PlusAddress::new("no-at-sign").is_err());
        assert!(PlusAddress::new("a b@c").is_err());
    }

    #[test]
    fn message_ids_are_listed_in_order() {
        assert_eq!(
            message_ids("<a@x> (comment) <b@y>\r\n <a@x> <c@z>"),
            vec!["a@x".to_owned(), "b@y".into(), "c@z".into()]
        );
        assert_eq!(message_ids("no brackets"), Vec::<String>::new());
        assert_eq!(message_ids("<unterminated@x"), Vec::<String>::new());
        assert_eq!(message_ids("<>"), Vec::<String>::new());
        assert_eq!(message_ids("<has space@x>"), Vec::<String>::new());
    }
}
