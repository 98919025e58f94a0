//! Threading keys: how an inbound message finds its case.
//!
//! In order of trust: the subject tag (`[Helpline #1042]`, or `Helpline #1042` typed by hand),
//! the plus-address reply token (`help+1042@helpline.example`), then the Message-IDs named in
//! `In-Reply-To` and `References`.

use helpline_domain::case::CaseRef;
use hmac::{Hmac, Mac};
use sha2::Sha256;

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

/// The plus-address reply token: replies to `help+1042-5f0c2a9e41b7@helpline.example` belong
/// to case 1042. The keyed tag after the reference (an HMAC of it under a server secret) makes
/// the address unguessable: case references are sequential.
#[derive(Clone, PartialEq, Eq)]
pub struct PlusAddress {
    local: String,
    domain: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for PlusAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key: it would let anyone make reply addresses.
        write!(f, "PlusAddress({}+…@{})", self.local, self.domain)
    }
}

/// A case reference read from a plus-address, and whether it carried the right keyed tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlusToken {
    /// The case it names.
    pub case: CaseRef,
    /// The tag was the one this server makes: the address came from a reply of ours.
    pub signed: bool,
}

/// Bytes of HMAC-SHA256 kept in the tag (48 bits, twelve hex digits).
const TAG_BYTES: usize = 6;

impl PlusAddress {
    /// From the helpline's address (`help@helpline.example`) and the server secret that keys
    /// the tags (at least 16 bytes).
    pub fn new(address: &str, key: &[u8]) -> Result<Self, ThreadingError> {
        let bad = || ThreadingError::BadAddress(address.to_owned());
        let (local, domain) = address.trim().rsplit_once('@').ok_or_else(bad)?;
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        if !plain(local) || !plain(domain) || key.len() < 16 {
            return Err(bad());
        }
        Ok(Self {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
            key: key.to_vec(),
        })
    }

    /// The MAC of a reference, domain-separated from every other use of the secret.
    fn mac(&self, r: CaseRef) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"helpline plus-address\0");
        mac.update(r.get().to_string().as_bytes());
        mac
    }

    /// The reply address for case `r`.
    pub fn for_case(&self, r: CaseRef) -> String {
        let tag = self.mac(r).finalize().into_bytes();
        format!(
            "{}+{}-{}@{}",
            self.local,
            r.get(),
            hex::encode(&tag[..TAG_BYTES]),
            self.domain
        )
    }

    /// The case a recipient address names, if it is one of ours, and whether its tag is right
    /// (compared in constant time). A reference without a tag, or with a wrong one, is unsigned.
    pub fn find_ref(&self, recipient: &str) -> Option<PlusToken> {
        let (local, domain) = recipient.trim().rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let (base, token) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(&self.local) {
            return None;
        }
        let (number, tag) = match token.split_once('-') {
            Some((n, t)) => (n, Some(t)),
            None => (token, None),
        };
        let case = CaseRef::parse(number).ok()?;
        let signed = tag
            .and_then(|t| hex::decode(t.to_ascii_lowercase()).ok())
            .filter(|t| t.len() == TAG_BYTES)
            .is_some_and(|t| self.mac(case).verify_truncated_left(&t).is_ok());
        Some(PlusToken { case, signed })
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
    fn plus_addresses_name_their_case_with_a_keyed_tag() {
        let key = b"a server secret of some length";
        let p = PlusAddress::new("Help@Helpline.example", key).unwrap_or_else(|e| panic!("{e}"));
        let c = CaseRef::new(1042).unwrap_or_else(|e| panic!("{e}"));
        let ours = p.for_case(c);
        let (local, domain) = ours.split_once('@').unwrap_or_default();
        assert_eq!(domain, "helpline.example");
        let tag = local.strip_prefix("help+1042-").unwrap_or_default();
        assert_eq!(tag.len(), 12, "{ours}");
        let signed = |case| Some(PlusToken { case, signed: true });
        let unsigned = |case| {
            Some(PlusToken {
                case,
                signed: false,
            })
        };
        let c1042 = CaseRef::new(1042).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.find_ref(&ours), signed(c1042));
        assert_eq!(p.find_ref(&ours.to_ascii_uppercase()), signed(c1042));
        // A guessed reference: found, but not signed; a tag of another case does not fit.
        assert_eq!(p.find_ref("help+1042@helpline.example"), unsigned(c1042));
        assert_eq!(
            p.find_ref("help+1042-000000000000@helpline.example"),
            unsigned(c1042)
        );
        let other = p.for_case(CaseRef::new(1043).unwrap_or_else(|e| panic!("{e}")));
        let moved = other.replace("+1043-", "+1042-");
        assert_eq!(p.find_ref(&moved), unsigned(c1042));
        // Another secret makes other tags.
        let q = PlusAddress::new("help@helpline.example", b"another secret, as long")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.find_ref(&ours), unsigned(c1042));
        assert!(!format!("{p:?}").contains("secret"));
        assert_eq!(p.find_ref("help@helpline.example"), None);
        assert_eq!(p.find_ref("help+x@helpline.example"), None);
        assert_eq!(p.find_ref("help+1042@elsewhere.example"), None);
        assert_eq!(p.find_ref("other+1042@helpline.example"), None);
        assert!(PlusAddress::new("no-at-sign", key).is_err());
        assert!(PlusAddress::new("a b@c", key).is_err());
        assert!(PlusAddress::new("help@helpline.example", b"short").is_err());
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
