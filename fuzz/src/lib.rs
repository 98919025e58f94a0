//! The mail entry points under fuzzing, shared by the libFuzzer and the AFL++ targets: any
//! bytes must give a result or a typed error — never a panic, a hang or unbounded memory.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use helpline_mail::{Cert, Keyring, Limits, Opener};

/// The limits a fuzzed message is read under: smaller than a server's, so that a run explores
/// more inputs, the same in kind.
pub fn limits() -> Limits {
    Limits {
        max_message_bytes: 1 << 20,
        max_decoded_bytes: 4 << 20,
        ..Limits::default()
    }
}

/// A real helpline key and a known correspondent's certificate (the mail crate's fixtures).
fn keys() -> &'static (Keyring, Vec<Cert>) {
    static S: OnceLock<(Keyring, Vec<Cert>)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/mail/tests/fixtures/"
        );
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

/// Where a panic may happen and be caught by the mail crate: inside the parsers it relies on.
const UPSTREAM: [&str; 3] = ["/sequoia-openpgp-", "/mail-parser-", "/buffered-reader-"];

/// Installs the panic hook once: a panic inside sequoia or mail-parser is caught by the mail
/// crate (a parser failure is an outcome, not a crash) and only logged, once per place, to be
/// reported upstream; a panic anywhere else — Helpline's own code — aborts the run, which is
/// what libFuzzer and AFL++ count as a crash.
fn guard() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let seen: Mutex<HashSet<String>> = Mutex::default();
        std::panic::set_hook(Box::new(move |info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            if !UPSTREAM.iter().any(|u| place.contains(u)) {
                eprintln!("{info}");
                std::process::abort();
            }
            if seen
                .lock()
                .map(|mut s| s.insert(place.clone()))
                .unwrap_or(false)
            {
                eprintln!("caught upstream panic (reported, not a crash): {info}");
            }
        }));
    });
}

/// MIME parsing alone.
pub fn parse_mail(data: &[u8]) {
    guard();
    let _ = helpline_mail::parse(data, &limits());
}

/// The whole open: parse, decrypt with the helpline key, verify against a known certificate.
pub fn open_mail(data: &[u8]) {
    guard();
    let (keys, certs) = keys();
    let _ = Opener {
        keys,
        certs,
        limits: limits(),
        now: SystemTime::now(),
    }
    .open(data);
}
