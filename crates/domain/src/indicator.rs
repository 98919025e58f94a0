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

/// Values that must never correlate cases (a public mail provider's domain, the helpline's
/// own domains, documentation address ranges), each list with its name.
#[derive(Debug, Clone, Default)]
pub struct WarningList {
    lists: Vec<(String, Vec<String>, Vec<Network>)>,
}

impl WarningList {
    /// Builds the lists; each entry is a domain or a network.
    pub fn new<'a>(
        lists: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Self, DomainError> {
        let mut out = Vec::new();
        for (name, entries) in lists {
            let mut domains = Vec::new();
            let mut nets = Vec::new();
            for e in entries {
                if e.contains('/') {
                    nets.push(
                        Network::parse(e)
                            .map_err(|why| DomainError::invalid("warning list", why))?,
                    );
                } else if let Ok(ip) = e.parse::<IpAddr>() {
                    nets.push(Network {
                        addr: ip,
                        prefix: if ip.is_ipv4() { 32 } else { 128 },
                    });
                } else {
                    domains.push(domain(e).map_err(|why| {
                        DomainError::invalid("warning list", format!("`{e}`: {why}"))
                    })?);
                }
            }
            out.push((name.to_owned(), domains, nets));
        }
        Ok(Self { lists: out })
    }

    /// The name of the list that names this indicator, if one does.
    pub fn warns(&self, i: &Indicator) -> Option<&str> {
        let host: Option<String> = match i.kind {
            IndicatorKind::Domain => Some(i.value.clone()),
            IndicatorKind::Url => url::Url::parse(&i.value)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
            _ => None,
        };
        let ip: Option<IpAddr> = match i.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => i.value.parse().ok(),
            IndicatorKind::Cidr => Network::parse(&i.value).ok().map(|n| n.addr),
            IndicatorKind::Url => url::Url::parse(&i.value).ok().and_then(|u| match u.host() {
                Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
                Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
                _ => None,
            }),
            _ => None,
        };
        self.lists
            .iter()
            .find(|(_, domains, nets)| {
                host.as_deref().is_some_and(|h| {
                    domains
                        .iter()
                        .any(|d| h == d || h.ends_with(&format!(".{d}")))
                }) || ip.is_some_and(|ip| nets.iter().any(|n| n.contains(ip)))
            })
            .map(|(name, _, _)| name.as_str())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use IndicatorKind::*;

    /// (kind, input, canonical form)
    const GOOD: &[(IndicatorKind, &str, &str)] = &[
        (Ipv4, "192.0.2.1", "192.0.2.1"),
        (Ipv4, " 198[.]51[.]100[.]7 ", "198.51.100.7"),
        (Ipv4, "203(.)0(.)113(.)9", "203.0.113.9"),
        (Ipv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        (Ipv6, "[2001:db8::0:1]", "2001:db8::1"),
        (
            Ipv6,
            "2001:0db8:0000:0000:0001:0000:0000:0001",
            "2001:db8::1:0:0:1",
        ),
        (Cidr, "192.0.2.77/24", "192.0.2.0/24"),
        (Cidr, "2001:DB8::1/32", "2001:db8::/32"),
        (Cidr, "10.0.0.1/32", "10.0.0.1/32"),
        (Domain, "Evil.Example", "evil.example"),
        (Domain, "evil[.]example.", "evil.example"),
        (Domain, "login(.)bank{.}example", "login.bank.example"),
        (Domain, "bücher.example", "xn--bcher-kva.example"),
        (Domain, "XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        (Domain, "_dmarc.evil.example", "_dmarc.evil.example"),
        (
            Url,
            "hxxp://evil[.]example/login",
            "http://evil.example/login",
        ),
        (
            Url,
            "HXXPS://EVIL.example:443/a/../b?x=1#frag",
            "https://evil.example/b?x=1",
        ),
        (Url, "evil.example/path", "http://evil.example/path"),
        (
            Url,
            "https://bücher.example/",
            "https://xn--bcher-kva.example/",
        ),
        (Url, "http[:]//192.0.2.1:8080/x", "http://192.0.2.1:8080/x"),
        (Email, "Attacker[@]Evil[.]Example", "attacker@evil.example"),
        (Email, "mailto:x(at)evil.example", "x@evil.example"),
        (
            Email,
            "<someone@bücher.example>",
            "someone@xn--bcher-kva.example",
        ),
        (
            Md5,
            "D41D8CD98F00B204E9800998ECF8427E",
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        (
            Sha1,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        (
            Sha256,
            " E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 ",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (Phone, "+33 1 23 45 67 89", "+33123456789"),
        (Phone, "0044 (20) 7946-0958", "+442079460958"),
        (Phone, "+1.555.010.0199", "+15550100199"),
        (Account, "Telegram:@Evil_Actor", "telegram:evil_actor"),
        (Account, "x: someone", "x:someone"),
        (FileName, "  invoice.pdf.exe ", "invoice.pdf.exe"),
        (
            Text,
            "  the  same\tvoice   on two calls ",
            "the same voice on two calls",
        ),
    ];

    /// (kind, input, a word the error must contain)
    const BAD: &[(IndicatorKind, &str, &str)] = &[
        (Ipv4, "256.1.1.1", "IPv4"),
        (Ipv4, "1.2.3", "IPv4"),
        (Ipv4, "01.2.3.4", "IPv4"),
        (Ipv6, "2001:db8::g", "IPv6"),
        (Ipv6, "1:2:3:4:5:6:7:8:9", "IPv6"),
        (Cidr, "192.0.2.0", "prefix"),
        (Cidr, "192.0.2.0/33", "longer than /32"),
        (Cidr, "2001:db8::/129", "longer than /128"),
        (Cidr, "evil.example/24", "not an IP"),
        (Domain, "localhost", "two labels"),
        (Domain, "http://evil.example/", "kind url"),
        (Domain, "a@evil.example", "kind email"),
        (Domain, "-bad.example", "hyphen"),
        (Domain, "ev il.example", "characters"),
        (Domain, "192.0.2.1", "kind ipv4"),
        (Url, "javascript:alert(1)", "not a web address"),
        (Url, "http://", "not a URL"),
        (Url, "mailto:x@evil.example", "not a web address"),
        (Email, "no-at-sign.example", "@"),
        (Email, "a@localhost", "two labels"),
        (Md5, "d41d8cd98f00b204e9800998ecf8427", "32 hexadecimal"),
        (
            Sha1,
            "zz39a3ee5e6b4b0d3255bfef95601890afd80709",
            "40 hexadecimal",
        ),
        (Sha256, "e3b0c442", "64 hexadecimal"),
        (Phone, "01 23 45 67 89", "international"),
        (Phone, "+33 1 23 AB", "only digits"),
        (Phone, "+123", "7 to 15"),
        (Phone, "+0123456789", "country code"),
        (Account, "evil_actor", "platform:handle"),
        (Account, "telegram:@", "1 to 100"),
        (Account, "tele gram:x", "platform"),
        (FileName, "C:\\Users\\x\\evil.exe", "path"),
        (FileName, "a\u{0007}b", "control"),
        (Text, "   ", "empty"),
    ];

    #[test]
    fn every_kind_normalises() {
        for kind in IndicatorKind::ALL {
            assert!(
                GOOD.iter().any(|(k, _, _)| *k == kind) && BAD.iter().any(|(k, _, _)| *k == kind)
                    || kind == Text,
                "{kind} has no table rows"
            );
        }
        for (kind, input, canonical) in GOOD {
            let i =
                Indicator::parse(*kind, input).unwrap_or_else(|e| panic!("{kind} `{input}`: {e}"));
            assert_eq!(i.value(), *canonical, "{kind} `{input}`");
            // Canonical forms are fixed points.
            let again = Indicator::parse(*kind, canonical)
                .unwrap_or_else(|e| panic!("{kind} `{canonical}`: {e}"));
            assert_eq!(again, i);
        }
    }

    #[test]
    fn garbage_is_refused_naming_the_kind() {
        for (kind, input, word) in BAD {
            match Indicator::parse(*kind, input) {
                Ok(i) => panic!("{kind} `{input}` was accepted as {i}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("{kind} indicator")), "{msg}");
                    assert!(msg.contains(word), "{kind} `{input}`: {msg}");
                }
            }
        }
        assert!(IndicatorKind::parse("ip").is_err());
        assert!(Tlp::parse("white").is_err());
    }

    #[test]
    fn refanging() {
        assert_eq!(
            refang("hXXps://evil[.]example[:]8443/x [at] y(.)z {dot} w"),
            "https://evil.example:8443/x @ y.z . w"
        );
        assert_eq!(refang("nothing to do"), "nothing to do");
    }

    #[test]
    fn extraction_finds_defanged_values_with_positions() {
        let text = "Hello, the link was hxxps://evil[.]example/login?id=7. \
                    It came from attacker[@]evil[.]example, server 198.51.100.7 \
                    (also 198[.]51[.]100[.]7), file invoice.pdf.exe with sha256 \
                    E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855; \
                    call +33 1 23 45 67 89. Wé also saw cdn.evil.example.";
        let found = extract(text);
        let got: Vec<(IndicatorKind, &str)> = found
            .iter()
            .map(|f| (f.indicator.kind(), f.indicator.value()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Url, "https://evil.example/login?id=7"),
                (Email, "attacker@evil.example"),
                (Ipv4, "198.51.100.7"),
                (FileName, "invoice.pdf.exe"),
                (
                    Sha256,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                ),
                (Phone, "+33123456789"),
                (Domain, "cdn.evil.example"),
            ]
        );
        for f in &found {
            let chars: String = text.chars().skip(f.start).take(f.end - f.start).collect();
            assert_eq!(chars, f.raw);
        }
        assert!(extract("nothing here at all").is_empty());
    }

    #[test]
    fn warning_lists_name_what_must_not_correlate() {
        let providers = vec!["gmail.com".to_owned()];
        let docs = vec!["192.0.2.0/24".to_owned(), "2001:db8::/32".to_owned()];
        let w = WarningList::new([
            ("public_mail_providers", providers.as_slice()),
            ("documentation_ranges", docs.as_slice()),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let check = |k, v| {
            w.warns(&Indicator::parse(k, v).unwrap_or_else(|e| panic!("{e}")))
                .map(str::to_owned)
        };
        assert_eq!(
            check(Domain, "mail.gmail.com").as_deref(),
            Some("public_mail_providers")
        );
        assert_eq!(
            check(Url, "https://gmail.com/x").as_deref(),
            Some("public_mail_providers")
        );
        assert_eq!(check(Domain, "notgmail.com"), None);
        assert_eq!(
            check(Ipv4, "192.0.2.55").as_deref(),
            Some("documentation_ranges")
        );
        assert_eq!(
            check(Ipv6, "2001:db8::5").as_deref(),
            Some("documentation_ranges")
        );
        assert_eq!(check(Ipv4, "198.51.100.1"), None);
        assert_eq!(check(Email, "someone@gmail.com"), None);
    }

    #[test]
    fn links_read_both_ways() {
        for k in [
            "related",
            "duplicate_of",
            "has_duplicate",
            "parent_of",
            "child_of",
        ] {
            let kind = LinkKind::parse(k).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(kind.inverse().inverse(), kind);
            assert_eq!(kind.as_str(), k);
        }
        assert_eq!(LinkKind::DuplicateOf.inverse(), LinkKind::HasDuplicate);
        assert!(LinkKind::parse("blocks").is_err());
    }
}
