//! Indicators: what an attacker left behind (an address, a domain, a hash, an account), parsed
//! into one canonical form so that "where else have we seen this?" finds every case however
//! the value was written — defanged (`hxxp://evil[.]example`), upper-case, internationalised.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// What kind of thing an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An IP network (`192.0.2.0/24`).
    Cidr,
    /// A domain name.
    Domain,
    /// A URL.
    Url,
    /// An email address.
    Email,
    /// An MD5 file hash.
    Md5,
    /// A SHA-1 file hash.
    Sha1,
    /// A SHA-256 file hash.
    Sha256,
    /// A phone number (E.164).
    Phone,
    /// An account on a platform (`platform:handle`).
    Account,
    /// A file name.
    FileName,
    /// Anything else, as words.
    Text,
}

impl IndicatorKind {
    /// Every kind.
    pub const ALL: [IndicatorKind; 13] = [
        Self::Ipv4,
        Self::Ipv6,
        Self::Cidr,
        Self::Domain,
        Self::Url,
        Self::Email,
        Self::Md5,
        Self::Sha1,
        Self::Sha256,
        Self::Phone,
        Self::Account,
        Self::FileName,
        Self::Text,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Cidr => "cidr",
            Self::Domain => "domain",
            Self::Url => "url",
            Self::Email => "email",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Phone => "phone",
            Self::Account => "account",
            Self::FileName => "file_name",
            Self::Text => "text",
        }
    }

    /// Parses a kind's name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "indicator kind",
                    format!(
                        "`{}` is not one of: {}",
                        crate::ids::truncate(s),
                        Self::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    /// What a parse error of this kind is called.
    fn what(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4 indicator",
            Self::Ipv6 => "ipv6 indicator",
            Self::Cidr => "cidr indicator",
            Self::Domain => "domain indicator",
            Self::Url => "url indicator",
            Self::Email => "email indicator",
            Self::Md5 => "md5 indicator",
            Self::Sha1 => "sha1 indicator",
            Self::Sha256 => "sha256 indicator",
            Self::Phone => "phone indicator",
            Self::Account => "account indicator",
            Self::FileName => "file_name indicator",
            Self::Text => "text indicator",
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An indicator in its canonical form: two spellings of the same thing are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Indicator {
    kind: IndicatorKind,
    value: String,
}

impl Indicator {
    /// Parses and normalises `raw` as a `kind`, refanging where the kind allows it.
    pub fn parse(kind: IndicatorKind, raw: &str) -> Result<Self, DomainError> {
        let bad = |reason: String| DomainError::invalid(kind.what(), reason);
        let shown = crate::ids::truncate(raw.trim());
        if raw.len() > 4096 {
            return Err(bad("longer than 4096 bytes".into()));
        }
        let t = raw.trim();
        if t.is_empty() {
            return Err(bad("empty".into()));
        }
        let value = match kind {
            IndicatorKind::Ipv4 => refang(t)
                .parse::<Ipv4Addr>()
                .map(|a| a.to_string())
                .map_err(|_| bad(format!("`{shown}` is not a dotted IPv4 address")))?,
            IndicatorKind::Ipv6 => {
                let r = refang(t);
                let r = r.trim_start_matches('[').trim_end_matches(']');
                r.parse::<Ipv6Addr>()
                    .map(|a| a.to_string())
                    .map_err(|_| bad(format!("`{shown}` is not an IPv6 address")))?
            }
            IndicatorKind::Cidr => Network::parse(&refang(t))
                .map(|n| n.to_string())
                .map_err(|why| bad(format!("`{shown}`: {why}")))?,
            IndicatorKind::Domain => {
                domain(&refang(t)).map_err(|why| bad(format!("`{shown}`: {why}")))?
            }
            IndicatorKind::Url => {
                url(&refang(t)).map_err(|why| bad(format!("`{shown}`: {why}")))?
            }
            IndicatorKind::Email => {
                email(&refang(t)).map_err(|why| bad(format!("`{shown}`: {why}")))?
            }
            IndicatorKind::Md5 => hash(t, 32).map_err(|why| bad(format!("`{shown}`: {why}")))?,
            IndicatorKind::Sha1 => hash(t, 40).map_err(|why| bad(format!("`{shown}`: {why}")))?,
            IndicatorKind::Sha256 => hash(t, 64).map_err(|why| bad(format!("`{shown}`: {why}")))?,
            IndicatorKind::Phone => phone(t).map_err(|why| bad(format!("`{shown}`: {why}")))?,
            IndicatorKind::Account => account(t).map_err(|why| bad(format!("`{shown}`: {why}")))?,
            IndicatorKind::FileName => {
                file_name(t).map_err(|why| bad(format!("`{shown}`: {why}")))?
            }
            IndicatorKind::Text => {
                let words = t.split_whitespace().collect::<Vec<_>>().join(" ");
                if words.chars().count() > 500 {
                    return Err(bad("longer than 500 characters".into()));
                }
                words
            }
        };
        Ok(Self { kind, value })
    }

    /// Rebuilds an indicator read back from storage (already canonical).
    pub fn from_stored(kind: IndicatorKind, value: String) -> Self {
        Self { kind, value }
    }

    /// Its kind.
    pub fn kind(&self) -> IndicatorKind {
        self.kind
    }

    /// Its canonical value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.value)
    }
}

/// Undoes the usual defanging: `hxxp`, `[.]`, `(.)`, `[dot]`, `[@]`, `[at]`, `[:]`.
pub fn refang(s: &str) -> String {
    const PAIRS: [(&str, &str); 17] = [
        ("hxxps", "https"),
        ("hxxp", "http"),
        ("fxp", "ftp"),
        ("[://]", "://"),
        ("[:]", ":"),
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("{dot}", "."),
        ("\\.", "."),
        ("[@]", "@"),
        ("(@)", "@"),
        ("{@}", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
    ];
    let mut out = s.to_owned();
    for (from, to) in PAIRS {
        out = replace_ascii_ci(&out, from, to);
    }
    out
}

/// Replaces every ASCII-case-insensitive occurrence of `from`.
fn replace_ascii_ci(s: &str, from: &str, to: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if !lower.contains(from) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(at) = lower[i..].find(from) {
        out.push_str(&s[i..i + at]);
        out.push_str(to);
        i += at + from.len();
    }
    out.push_str(&s[i..]);
    out
}

/// An IP network with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `addr/prefix` (host bits are cleared: `192.0.2.7/24` is `192.0.2.0/24`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = s
            .trim()
            .split_once('/')
            .ok_or("expected address/prefix, such as 192.0.2.0/24")?;
        let prefix: u8 = p
            .parse()
            .map_err(|_| format!("the prefix `{p}` is not a number"))?;
        let addr: IpAddr = a
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("`{a}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("the prefix /{prefix} is longer than /{max}"));
        }
        let addr = match addr {
            IpAddr::V4(v) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v) & mask))
            }
            IpAddr::V6(v) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v) & mask))
            }
        };
        Ok(Self { addr, prefix })
    }

    /// Whether the network holds `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(n)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(n)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A domain name: IDNA to its ASCII form, lower case, no trailing dot, at least two labels.
fn domain(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('.');
    if s.contains("://") || s.contains('/') {
        return Err("a URL, not a domain (use the kind url)".into());
    }
    if s.contains('@') {
        return Err("an email address, not a domain (use the kind email)".into());
    }
    let ascii = idna::domain_to_ascii(s).map_err(|_| "not a valid internationalised name")?;
    if ascii.is_empty() || ascii.len() > 253 {
        return Err("a domain has 1 to 253 characters".into());
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err("a domain needs at least two labels, such as example.org".into());
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err("each label has 1 to 63 characters".into());
        }
        if !l
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "the label `{l}` has characters a domain cannot have"
            ));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err(format!("the label `{l}` starts or ends with a hyphen"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("an IP address, not a domain (use the kind ipv4)".into());
    }
    Ok(ascii)
}

/// A URL: scheme and host lower-cased, the host in ASCII, default port and fragment dropped,
/// dot segments resolved. A bare `host/path` is taken as `http://`.
fn url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let with_scheme = if s.contains("://") {
        s.to_owned()
    } else if let Some(scheme) = url::Url::parse(s)
        .ok()
        .map(|u| u.scheme().to_owned())
        .filter(|sc| {
            matches!(
                sc.as_str(),
                "javascript" | "mailto" | "data" | "file" | "tel" | "sms" | "about" | "blob"
            )
        })
    {
        return Err(format!("the scheme `{scheme}` is not a web address"));
    } else {
        format!("http://{s}")
    };
    let mut u = url::Url::parse(&with_scheme).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https" | "ftp" | "ftps" | "ws" | "wss") {
        return Err(format!("the scheme `{}` is not a web address", u.scheme()));
    }
    match u.host() {
        Some(url::Host::Domain(d)) => {
            domain(d)?;
        }
        Some(_) => {}
        None => return Err("a URL needs a host".into()),
    }
    u.set_fragment(None);
    if u.query() == Some("") {
        u.set_query(None);
    }
    Ok(u.to_string())
}

/// An email address: lower case, the domain in ASCII.
fn email(s: &str) -> Result<String, String> {
    let s = s.trim();
    let s = s
        .strip_prefix("mailto:")
        .or_else(|| s.strip_prefix("MAILTO:"))
        .unwrap_or(s);
    let s = s.trim_start_matches('<').trim_end_matches('>');
    let (local, host) = s.rsplit_once('@').ok_or("an email address has an @")?;
    let host = domain(host)?;
    let addr = format!("{}@{host}", local.to_lowercase());
    crate::beneficiary::EmailAddress::parse(&addr).map_err(|e| e.to_string())?;
    Ok(addr)
}

/// A hexadecimal hash of `digits` digits, lower case.
fn hash(s: &str, digits: usize) -> Result<String, String> {
    let s = s.trim();
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected {digits} hexadecimal digits, got {} characters",
            s.chars().count()
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// A phone number in E.164: `+` and 7 to 15 digits; spaces, dots, dashes, brackets and a
/// leading `00` are accepted on the way in.
fn phone(s: &str) -> Result<String, String> {
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}'))
        .collect();
    let digits = if let Some(d) = compact.strip_prefix('+') {
        d
    } else if let Some(d) = compact.strip_prefix("00") {
        d
    } else {
        return Err("expected an international number such as +33 1 23 45 67 89".into());
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a phone number has only digits after the +".into());
    }
    if !(7..=15).contains(&digits.len()) {
        return Err(format!(
            "E.164 numbers have 7 to 15 digits, this has {}",
            digits.len()
        ));
    }
    if digits.starts_with('0') {
        return Err("a country code never starts with 0".into());
    }
    Ok(format!("+{digits}"))
}

/// An account: `platform:handle`, both lower case, the handle without its leading `@`.
fn account(s: &str) -> Result<String, String> {
    let (platform, handle) = s
        .split_once(':')
        .ok_or("expected platform:handle, such as telegram:@someone")?;
    let platform = platform.trim().to_lowercase();
    if platform.is_empty()
        || platform.len() > 32
        || !platform
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err("the platform is a short name such as telegram, x or facebook".into());
    }
    let handle = handle.trim().trim_start_matches('@').to_lowercase();
    if handle.is_empty() || handle.chars().count() > 100 {
        return Err("the handle has 1 to 100 characters".into());
    }
    if handle.chars().any(char::is_whitespace) {
        return Err("a handle has no spaces".into());
    }
    Ok(format!("{platform}:{handle}"))
}

/// A file name (not a path).
fn file_name(s: &str) -> Result<String, String> {
    if s.contains('/') || s.contains('\\') {
        return Err("a path; give the file name alone".into());
    }
    if s.chars().any(char::is_control) {
        return Err("a file name has no control characters".into());
    }
    if s.chars().count() > 255 {
        return Err("longer than 255 characters".into());
    }
    Ok(s.to_owned())
}

mod extract;
#[cfg(test)]
mod tests;
mod tlp;
mod warnings;

pub use crate::link::LinkKind;
pub use extract::{extract, Found};
pub use tlp::{IndicatorState, Tlp};
pub use warnings::WarningList;
