//! Messages made by real GnuPG (`scripts/make-mail-fixtures`): each must yield the body, the
//! attachments (by SHA-256) and the exact crypto outcome the script built it to have.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use helpline_mail::{Cert, Keyring, Limits, Opener};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn manifest() -> Value {
    serde_json::from_slice(&read("manifest.json")).unwrap_or_else(|e| panic!("manifest: {e}"))
}

fn keyring() -> Keyring {
    let mut keys =
        Keyring::parse_keys(&read("helpline-secret.asc")).unwrap_or_else(|e| panic!("{e}"));
    keys.extend(
        Keyring::parse_keys(&read("helpline-old-secret.asc")).unwrap_or_else(|e| panic!("{e}")),
    );
    Keyring::new(keys).unwrap_or_else(|e| panic!("{e}"))
}

fn known(m: &Value) -> Vec<Cert> {
    m["known_certs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            helpline_mail::pgp::read_cert(&read(f.as_str().unwrap_or_default()))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// An opener with the helpline's keys and `certs`, at the default limits, now.
fn opener<'a>(keys: &'a Keyring, certs: &'a Vec<Cert>) -> Opener<'a> {
    Opener {
        keys,
        certs,
        limits: Limits::default(),
        now: SystemTime::now(),
    }
}

#[test]
fn every_fixture_reads_as_built() {
    let m = manifest();
    let keys = keyring();
    let certs = known(&m);
    let opener = opener(&keys, &certs);
    let messages = m["messages"].as_object().cloned().unwrap_or_default();
    assert!(messages.len() >= 15, "fixtures missing: {}", messages.len());
    for (name, want) in messages {
        let raw = read(want["file"].as_str().unwrap_or_default());
        let got = opener.open(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        let c = &want["crypto"];
        let crypto = serde_json::to_value(&got.crypto).unwrap_or_default();
        for field in ["format", "decryption", "signature"] {
            assert_eq!(crypto[field], c[field], "{name}: {field} in {crypto}");
        }
        assert_eq!(
            got.crypto.protected_headers,
            c["protected_headers"].as_bool().unwrap_or(false),
            "{name}: protected headers"
        );
        match want["body"].as_str() {
            Some(body) => assert_eq!(
                got.text.as_deref().map(str::trim),
                Some(body),
                "{name}: body"
            ),
            None => assert_eq!(got.text, None, "{name}: unreadable body must not be shown"),
        }
        assert_eq!(
            got.subject.as_deref(),
            want["subject"].as_str(),
            "{name}: subject"
        );
        let atts: Vec<(Option<String>, String)> = got
            .attachments
            .iter()
            .map(|a| (a.filename.clone(), a.sha256.clone()))
            .collect();
        let want_atts: Vec<(Option<String>, String)> = want["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["filename"].as_str().map(str::to_owned),
                    a["sha256"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(atts, want_atts, "{name}: attachments");
        // The manifest names the key that signed (by fingerprint) or only its issuer id.
        type Of = fn(&helpline_domain::mail::SignatureCheck) -> Option<&str>;
        let by_fingerprint: Of = |s| s.fingerprint.as_deref();
        let by_issuer: Of = |s| s.issuer.as_deref();
        for (field, of) in [("signer", by_fingerprint), ("issuer", by_issuer)] {
            if let Some(key) = want[field].as_str() {
                let fpr = m["keys"][key].as_str().unwrap_or_default();
                assert!(
                    got.crypto.signatures.iter().any(|s| of(s) == Some(fpr)),
                    "{name}: {field} {key} {fpr} not in {crypto}"
                );
            }
        }
        if got.crypto.decryption == helpline_domain::mail::DecryptionStatus::Decrypted {
            let with = got.crypto.decrypted_with.clone().unwrap_or_default();
            let expected = if name == "old-key" {
                "helpline_old"
            } else {
                "helpline"
            };
            assert_eq!(
                with,
                m["keys"][expected].as_str().unwrap_or_default(),
                "{name}"
            );
        }
    }
}

#[test]
fn autocrypt_offers_the_senders_certificate() {
    let m = manifest();
    let keys = keyring();
    let certs: Vec<Cert> = Vec::new();
    let opener = opener(&keys, &certs);
    let got = opener
        .open(&read("autocrypt.eml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.candidate_certs.len(), 1);
    let c = &got.candidate_certs[0];
    assert_eq!(
        c.cert.fingerprint().to_hex(),
        m["keys"]["bob"].as_str().unwrap_or_default()
    );
    assert_eq!(
        c.source,
        helpline_domain::mail::CertificateSource::Autocrypt
    );
    assert_eq!(c.address.as_deref(), Some("bob@example.net"));
}

#[test]
fn a_certificate_added_later_turns_unknown_into_good() {
    let m = manifest();
    let keys = keyring();
    let mut certs: Vec<Cert> = Vec::new();
    let raw = read("signed-unknown-key.eml");
    let open = |certs: &Vec<Cert>| {
        opener(&keys, certs)
            .open(&raw)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let before = open(&certs);
    assert_eq!(before.crypto.signature.as_str(), "unknown_key");
    certs.push(helpline_mail::pgp::read_cert(&read("bob.asc")).unwrap_or_else(|e| panic!("{e}")));
    let after = open(&certs);
    assert_eq!(after.crypto.signature.as_str(), "good");
    assert_eq!(
        after.crypto.good_signers().next(),
        m["keys"]["bob"].as_str()
    );
}

/// A signed message inside `multipart/mixed` (a list's footer after it, or a note before it):
/// the signature is checked on its part, the signed text comes first, and what lies outside
/// comes after the marker, never as signed; `signed_part` says which part is covered.
#[test]
fn a_signed_part_inside_mixed_is_verified_and_kept_apart() {
    let m = manifest();
    let keys = keyring();
    let certs = known(&m);
    let opener = opener(&keys, &certs);
    let signed = String::from_utf8(read("pgpmime-signed.eml")).unwrap_or_default();
    let signed = signed.replace("\r\n", "\n");
    let (head, body) = signed.split_once("\n\n").unwrap_or_default();
    let content_type = head
        .lines()
        .find(|l| l.starts_with("Content-Type: multipart/signed"))
        .unwrap_or_default();
    let want = m["messages"]["pgpmime-signed"]["body"]
        .as_str()
        .unwrap_or_default();
    let footer = "Defenders mailing list -- unsubscribe at lists.example.org";
    let note = "URGENT: this is Alice, send the passwords to this address";
    for (name, before, after) in [("footer", "", footer), ("note", note, "")] {
        let mut raw = String::from(
            "From: Alice Activist <alice@example.org>\nTo: help@helpline.example\nSubject: Fwd\n\
             MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n",
        );
        if !before.is_empty() {
            raw += &format!("--outer\nContent-Type: text/plain\n\n{before}\n");
        }
        raw += &format!("--outer\n{content_type}\n\n{body}\n");
        if !after.is_empty() {
            raw += &format!("--outer\nContent-Type: text/plain\n\n{after}\n");
        }
        raw += "--outer--\n";
        let got = opener
            .open(raw.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got.crypto.signature,
            helpline_domain::mail::SignatureStatus::Good,
            "{name}: {:?}",
            got.crypto
        );
        let part = got
            .crypto
            .signed_part
            .clone()
            .unwrap_or_else(|| panic!("{name}: no signed_part"));
        let path = if before.is_empty() { "1" } else { "2" };
        assert_eq!(part.path, path, "{name}");
        assert_eq!(part.media_type, "text/plain", "{name}");
        assert_eq!(part.unsigned_parts, 1, "{name}");
        let text = got.text.unwrap_or_default();
        let (signed_text, outside) = text
            .split_once(helpline_domain::mail::UNSIGNED_MARKER)
            .unwrap_or_else(|| panic!("{name}: no marker in {text}"));
        assert_eq!(signed_text.trim(), want, "{name}");
        assert_eq!(outside.trim(), format!("{before}{after}"), "{name}");
    }

    // A message signed as a whole has no `signed_part`: everything shown is covered.
    let whole = opener
        .open(&read("pgpmime-signed.eml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole.crypto.signed_part, None);
}
