//! Inputs the fuzzers (`scripts/fuzz`) once stopped on, kept so that they stay harmless: each is
//! parsed and opened with a real helpline key, and must give a result or a typed error.

use std::path::Path;
use std::time::SystemTime;

use helpline_mail::{Keyring, Limits, Opener};

#[test]
fn every_input_the_fuzzers_found_opens_without_a_panic() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let key = std::fs::read(fixtures.join("helpline-secret.asc")).unwrap_or_default();
    let keys = Keyring::new(Keyring::parse_keys(&key).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let alice = std::fs::read(fixtures.join("alice.asc")).unwrap_or_default();
    let certs: Vec<_> = helpline_mail::pgp::read_cert(&alice).into_iter().collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let _ = helpline_mail::parse(&raw, &Limits::default());
        let opened = Opener {
            keys: &keys,
            certs: &certs,
            limits: Limits::default(),
            now: SystemTime::now(),
        }
        .open(&raw);
        // sequoia panicked inside this one's decryption: the message is still read, its
        // encrypted part marked damaged.
        if path.ends_with("sequoia-seip-header.eml") {
            let m = opened.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                m.crypto.decryption,
                helpline_domain::mail::DecryptionStatus::Corrupt
            );
        }
        seen += 1;
    }
    assert!(seen >= 2, "no regression inputs in {}", dir.display());
}
