//! Table-driven tests of the indicator kinds, refanging, TLP, warning lists, extraction.

use super::*;
use IndicatorKind::*;

/// Test vectors in JSON beside this file: `[kind, input, canonical form]` that must parse, and
/// `[kind, input, a word the error must contain]` that must be refused.
fn table(json: &str) -> Vec<(IndicatorKind, String, String)> {
    let rows: Vec<(String, String, String)> =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("a test table: {e}"));
    rows.into_iter()
        .map(|(k, a, b)| {
            let kind = IndicatorKind::parse(&k).unwrap_or_else(|e| panic!("{k}: {e}"));
            (kind, a, b)
        })
        .collect()
}

fn good() -> Vec<(IndicatorKind, String, String)> {
    table(include_str!("normalise_good.json"))
}

fn bad() -> Vec<(IndicatorKind, String, String)> {
    table(include_str!("normalise_bad.json"))
}

#[test]
fn every_kind_normalises() {
    let (good, bad) = (good(), bad());
    for kind in IndicatorKind::ALL {
        assert!(
            good.iter().any(|(k, _, _)| *k == kind) && bad.iter().any(|(k, _, _)| *k == kind)
                || kind == Text,
            "{kind} has no table rows"
        );
    }
    for (kind, input, canonical) in good {
        let i = Indicator::parse(kind, &input).unwrap_or_else(|e| panic!("{kind} `{input}`: {e}"));
        assert_eq!(i.value(), canonical, "{kind} `{input}`");
        // Canonical forms are fixed points.
        let again = Indicator::parse(kind, &canonical)
            .unwrap_or_else(|e| panic!("{kind} `{canonical}`: {e}"));
        assert_eq!(again, i);
    }
}

#[test]
fn garbage_is_refused_naming_the_kind() {
    for (kind, input, word) in bad() {
        match Indicator::parse(kind, &input) {
            Ok(i) => panic!("{kind} `{input}` was accepted as {i}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(&format!("{kind} indicator")), "{msg}");
                assert!(msg.contains(&word), "{kind} `{input}`: {msg}");
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
