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

#[test]
fn every_fixture_reads_as_built() {
    let m = manifest();
    let keys = keyring();
    let certs = known(&m);
    let opener = Opener {
        keys: &keys,
        certs: &certs,
        limits: Limits::default(),
        now: SystemTime::now(),
    };
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
    let opener = Opener {
        keys: &keys,
        certs: &certs,
        limits: Limits::default(),
        now: SystemTime::now(),
    };
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
        Opener {
            keys: &keys,
            certs,
            limits: Limits::default(),
            now: SystemTime::now(),
        }
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
