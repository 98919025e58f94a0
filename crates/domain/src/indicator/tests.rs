//! Table-driven tests of the indicator kinds, refanging, TLP, warning lists, extraction.

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
        let i = Indicator::parse(*kind, input).unwrap_or_else(|e| panic!("{kind} `{input}`: {e}"));
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
