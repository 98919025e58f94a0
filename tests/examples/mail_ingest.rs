//! Mail ingestion benchmark: 10 KB PGP/MIME encrypted+signed messages, Curve25519 or RSA-3072.
//!
//!     cargo run --release -p helpline-tests --example mail_ingest -- [cv25519|rsa3072] [N] [CONNS]
//!
//! Reports, in one run on the same messages: the raw sequoia decrypt+verify rate (one core), the
//! mail crate's `Opener::open` rate (one core), and end to end over HTTP against the release
//! `helpline` binary on SQLite (started here, with the sender's certificate known so that every
//! signature is really checked); then the server's peak RSS while a 25 MB message and a
//! compression bomb are ingested.

use std::time::{Duration, Instant, SystemTime};

use helpline_mail::pgp::{self, generate_key};
use helpline_mail::{Cert, KeyAlgorithm, Keyring, Limits, Opener};
use helpline_tests::release::Release;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
};
use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let algo = match args.get(1).map(String::as_str) {
        Some("rsa3072") => KeyAlgorithm::Rsa3072,
        _ => KeyAlgorithm::Curve25519,
    };
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let conns: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(8);
    let label = if algo == KeyAlgorithm::Rsa3072 {
        "RSA-3072"
    } else {
        "Curve25519"
    };

    let helpline =
        generate_key("Helpline <help@helpline.example>", algo).unwrap_or_else(|e| panic!("{e}"));
    let sender =
        generate_key("Sender <sender@example.org>", algo).unwrap_or_else(|e| panic!("{e}"));
    let sender_keys = Keyring::new(vec![sender.clone()]).unwrap_or_else(|e| panic!("{e}"));
    let helpline_public = helpline.clone().strip_secret_key_material();
    let sender_public = sender.clone().strip_secret_key_material();

    // N distinct 10 KB messages.
    let text: String = (0..10_240)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let messages: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            let inner = format!("Content-Type: text/plain; charset=utf-8\r\n\r\nmessage {i}\r\n{text}\r\n");
            let armored = pgp::sign_and_encrypt(inner.as_bytes(), &sender_keys, std::slice::from_ref(&helpline_public))
                .unwrap_or_else(|e| panic!("{e}"));
            let raw = format!(
                "From: Sender <sender@example.org>\r\nTo: help@helpline.example\r\nSubject: ...\r\nMessage-ID: <bench-{i}-{}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--e--\r\n",
                uuid::Uuid::now_v7().simple(),
                String::from_utf8_lossy(&armored)
            );
            (raw.into_bytes(), armored)
        })
        .collect();
    println!(
        "{label}: {n} messages of {} bytes each",
        messages[0].0.len()
    );

    // Raw sequoia: decrypt and verify the OpenPGP part only.
    let certs = vec![sender_public.clone()];
    let start = Instant::now();
    for (_, armored) in &messages {
        raw_decrypt_verify(armored, &helpline, &certs);
    }
    let raw_rate = n as f64 / start.elapsed().as_secs_f64();
    println!("  raw sequoia decrypt+verify (1 core): {raw_rate:.0} msg/s");

    // The mail crate: MIME, decryption, verification, outcome.
    let keys = Keyring::new(vec![helpline.clone()]).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    for (raw, _) in &messages {
        let m = Opener {
            keys: &keys,
            certs: &certs,
            limits: Limits::default(),
            now: SystemTime::now(),
        }
        .open(raw)
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.crypto.signature.as_str(), "good");
    }
    let crate_rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "  helpline-mail Opener::open (1 core): {crate_rate:.0} msg/s ({:.0}% of raw)",
        100.0 * crate_rate / raw_rate
    );

    // End to end over HTTP on SQLite.
    let server = Server::start(&helpline);
    let admin = server.login();
    let b = server.post_json(
        "/api/v1/beneficiaries",
        &admin,
        r#"{"name":"Sender","emails":["sender@example.org"]}"#,
    );
    let bid = b["id"].as_str().unwrap_or_default().to_owned();
    let armored = String::from_utf8_lossy(&pgp::armored_public(&sender_public).unwrap_or_default())
        .into_owned();
    server.post_json(
        &format!("/api/v1/beneficiaries/{bid}/certificates"),
        &admin,
        &serde_json::json!({"armored": armored, "confirmed": true}).to_string(),
    );
    let token = server.ingest_token(&admin);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(
        messages.into_iter().map(|m| m.0).collect::<Vec<_>>(),
    ));
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|_| {
            let q = queue.clone();
            let base = server.base.clone();
            let token = token.clone();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(60))
                    .build();
                let mut good = 0usize;
                while let Some(raw) = q.lock().ok().and_then(|mut q| q.pop()) {
                    let r = agent
                        .post(&format!("{base}/api/v1/mail/inbound"))
                        .set("content-type", "message/rfc822")
                        .set("authorization", &format!("Bearer {token}"))
                        .send_bytes(&raw);
                    match r {
                        Ok(resp) if resp.status() == 201 => {
                            let v: serde_json::Value = resp.into_json().unwrap_or_default();
                            assert_eq!(v["crypto"]["signature"], "good", "{v}");
                            good += 1;
                        }
                        Ok(resp) => panic!("status {}", resp.status()),
                        Err(e) => panic!("{e}"),
                    }
                }
                good
            })
        })
        .collect();
    let done: usize = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    let e2e_rate = done as f64 / start.elapsed().as_secs_f64();
    println!(
        "  end to end over HTTP, SQLite, {conns} connections (2 cores, client included): {e2e_rate:.0} msg/s ({:.0}% of the raw 1-core rate)",
        100.0 * e2e_rate / raw_rate
    );
    println!(
        "  server peak RSS after the run: {} MB",
        server.peak_rss_mb()
    );

    // Memory under hostile load: a 25 MB attachment and a compression bomb.
    let big = helpline_tests::with_attachment(25_000_000);
    let r = server.post_raw(&token, &big);
    println!(
        "  25 MB attachment: HTTP {r}; server peak RSS {} MB",
        server.peak_rss_mb()
    );
    let bomb = helpline_tests::compression_bomb(&helpline_public, 1024);
    let r = server.post_raw(&token, &bomb);
    println!(
        "  compression bomb ({} bytes, inflates to 1 GB): HTTP {r}",
        bomb.len()
    );
    println!("  server peak RSS after both: {} MB", server.peak_rss_mb());
}

struct RawHelper<'a> {
    key: &'a Cert,
    certs: &'a [Cert],
    good: bool,
}

impl VerificationHelper for RawHelper<'_> {
    fn get_certs(&mut self, _: &[openpgp::KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.to_vec())
    }
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            if let openpgp::parse::stream::MessageLayer::SignatureGroup { results } = layer {
                self.good |= results.iter().any(|r| r.is_ok());
            }
        }
        Ok(())
    }
}

impl DecryptionHelper for RawHelper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[openpgp::packet::PKESK],
        _: &[openpgp::packet::SKESK],
        sym: Option<openpgp::types::SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(
            Option<openpgp::types::SymmetricAlgorithm>,
            &openpgp::crypto::SessionKey,
        ) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        for ka in self.key.keys().unencrypted_secret() {
            let mut pair = ka.key().clone().into_keypair()?;
            for p in pkesks {
                if p.recipient()
                    .is_some_and(|r| r.aliases(ka.key().key_handle()))
                {
                    if let Some((a, sk)) = p.decrypt(&mut pair, sym) {
                        if decrypt(a, &sk) {
                            return Ok(Some(self.key.clone()));
                        }
                    }
                }
            }
        }
        Err(openpgp::anyhow::anyhow!("no key"))
    }
}

fn raw_decrypt_verify(armored: &[u8], key: &Cert, certs: &[Cert]) {
    let policy = openpgp::policy::StandardPolicy::new();
    let helper = RawHelper {
        key,
        certs,
        good: false,
    };
    let mut d = DecryptorBuilder::from_bytes(armored)
        .and_then(|b| b.with_policy(&policy, None, helper))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    std::io::copy(&mut d, &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert!(d.helper_ref().good);
}

/// The release `helpline` binary on a fresh SQLite database, with the helpline's key.
struct Server {
    base: String,
    release: Release,
}

impl Server {
    fn start(key: &Cert) -> Server {
        let mut release = Release::new("sqlite", "");
        std::fs::write(
            release.dir.join("keys/helpline.asc"),
            pgp::armored_secret(key).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        release.create_user("admin");
        release.serve();
        Server {
            base: release.base.clone(),
            release,
        }
    }

    fn login(&self) -> String {
        self.release.login()
    }

    fn post_json(&self, path: &str, token: &str, body: &str) -> serde_json::Value {
        ureq::post(&format!("{}{path}", self.base))
            .set("authorization", &format!("Bearer {token}"))
            .set("content-type", "application/json")
            .send_string(body)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                r.into_json::<serde_json::Value>()
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn ingest_token(&self, admin: &str) -> String {
        let v = self.post_json(
            "/api/v1/tokens",
            admin,
            r#"{"name":"bench","scopes":["mail:ingest"]}"#,
        );
        v["secret"].as_str().unwrap_or_default().to_owned()
    }

    fn post_raw(&self, token: &str, raw: &[u8]) -> u16 {
        match ureq::post(&format!("{}/api/v1/mail/inbound", self.base))
            .set("content-type", "message/rfc822")
            .set("authorization", &format!("Bearer {token}"))
            .send_bytes(raw)
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn peak_rss_mb(&self) -> u64 {
        self.release.peak_rss_mb()
    }
}
