//! Fuzzes the parse-and-decrypt entry point: any bytes, opened with a real helpline key and a
//! known correspondent's certificate, must give a result or a typed error, never a panic, a
//! hang or unbounded memory.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use helpline_mail::{Cert, Keyring, Limits, Opener};
use libfuzzer_sys::fuzz_target;

fn setup() -> &'static (Keyring, Vec<Cert>) {
    static S: OnceLock<(Keyring, Vec<Cert>)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/mail/tests/fixtures/");
        let key = std::fs::read(format!("{dir}helpline-secret.asc")).unwrap_or_default();
        let keys = Keyring::parse_keys(&key)
            .ok()
            .and_then(|k| Keyring::new(k).ok())
            .unwrap_or_default();
        let alice = std::fs::read(format!("{dir}alice.asc")).unwrap_or_default();
        let certs = helpline_mail::pgp::read_cert(&alice).into_iter().collect();
        (keys, certs)
    })
}

fuzz_target!(|data: &[u8]| {
    let (keys, certs) = setup();
    let limits = Limits {
        max_message_bytes: 1 << 20,
        max_decoded_bytes: 4 << 20,
        ..Limits::default()
    };
    let _ = Opener { keys, certs, limits, now: SystemTime::now() }.open(data);
});
