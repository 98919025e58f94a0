//! Mail in the tests: the mail crate's fixtures (keys and messages made by GnuPG), a key
//! folder for a server, a gateway's token and its post.

use std::path::Path;

use serde_json::json;

use crate::{Resp, TempDir, TestApp};

/// A fixture of `crates/mail/tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/mail/tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A key folder holding the given fixture keys.
pub fn key_dir(keys: &[&str]) -> TempDir {
    let dir = std::env::temp_dir().join(format!("hl_keys_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for k in keys {
        std::fs::write(dir.join(k), fixture(k)).unwrap_or_else(|e| panic!("{e}"));
    }
    TempDir(dir)
}

/// A mail gateway's token (`mail:ingest`), made by an admin.
pub fn ingest_token(app: &TestApp, admin: &str) -> String {
    app.post(
        "/api/v1/tokens",
        admin,
        json!({"name": "postfix", "scopes": ["mail:ingest"]}),
    )
    .expect(201)
    .json["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A raw message posted as the gateway does.
pub fn post_mail(app: &TestApp, token: &str, raw: &[u8]) -> Resp {
    app.raw(
        "POST",
        "/api/v1/mail/inbound",
        Some(token),
        "message/rfc822",
        raw,
        &[],
    )
}
