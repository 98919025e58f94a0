//! What the test servers log, and what they must never log.
//!
//! Every in-process server of a test run logs (debug level for Helpline's crates) to
//! `target/tmp/e2e-logs/server-<pid>.log`. Every request a test sends notes the sensitive values
//! it carries (beneficiaries' names and addresses, message bodies, passwords, codes) and every
//! answer the secrets it hands out (access tokens, API tokens, TOTP secrets, recovery codes) in
//! `sensitive-<pid>.txt` beside it. `tests/check_logs.py`, run by `scripts/test` after the
//! suite, fails if any of them appears in any log line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Where the logs of this test run go.
pub fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/tmp/e2e-logs"
    ))
}

fn open(name: &str) -> File {
    let d = dir();
    let _ = std::fs::create_dir_all(&d);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(d.join(format!(
            "{name}-{}.{}",
            std::process::id(),
            if name == "server" { "log" } else { "txt" }
        )))
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
}

/// Sends this process's server logs to their file (once; later calls do nothing).
pub fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::new(
            "warn,helpline_api=debug,helpline_store=debug,helpline_mail=debug,helpline_domain=debug",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(Mutex::new(open("server")))
            .try_init();
    });
}

fn sensitive_file() -> &'static Mutex<File> {
    static FILE: OnceLock<Mutex<File>> = OnceLock::new();
    FILE.get_or_init(|| Mutex::new(open("sensitive")))
}

/// Notes a value that must never be logged (short ones are left out: they would match
/// anything).
pub fn note(kind: &str, value: &str) {
    let value = value.trim();
    if value.chars().count() < 8 || value.contains('\n') {
        return;
    }
    let mut f = sensitive_file().lock().unwrap_or_else(|p| p.into_inner());
    let _ = writeln!(f, "{kind}\t{value}");
}

/// Fields of request bodies that carry a person's data, a message or a credential.
const SENT: &[&str] = &[
    "name",
    "display_name",
    "email",
    "emails",
    "address",
    "body",
    "note",
    "password",
    "current_password",
    "new_password",
    "code",
    "armored",
];

/// Fields of answers that hand out a secret.
const ANSWERED: &[&str] = &["access_token", "secret", "otpauth_uri", "recovery_codes"];

fn walk(v: &Value, keys: &[&str], kind: &str, inside: bool) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                walk(x, keys, kind, keys.contains(&k.as_str()));
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, keys, kind, inside)),
        Value::String(s) if inside => note(kind, s),
        _ => {}
    }
}

/// Notes the sensitive values of a JSON request body.
pub fn sent(body: &Value) {
    walk(body, SENT, "sent", false);
}

/// Notes the secrets of a JSON answer.
pub fn answered(body: &Value) {
    walk(body, ANSWERED, "answered", false);
}

/// Notes the addresses, subject and text lines of a raw message sent to the gateway.
pub fn sent_mail(raw: &[u8]) {
    let text = String::from_utf8_lossy(raw);
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        if let Some(v) = ["from:", "to:", "subject:", "reply-to:"]
            .iter()
            .find_map(|h| lower.starts_with(h).then(|| &line[h.len()..]))
        {
            note("mail header", v);
        } else if line.len() >= 16 && line.contains(' ') && !line.contains(':') {
            note("mail text", line);
        }
    }
}
