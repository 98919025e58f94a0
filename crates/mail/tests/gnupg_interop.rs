//! Helpline's replies, read by real GnuPG: decrypted with the recipient's key, the signature
//! checked against the helpline's certificate. And read back by Helpline itself.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use chrono::Utc;
use helpline_mail::pgp::{self, generate_key};
use helpline_mail::{
    compose, Cert, KeyAlgorithm, Keyring, Limits, Mailbox, Opener, Protection, Reply,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Gpg(tempfile::TempDir);

impl Gpg {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hlp-gpg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        Self(dir)
    }

    fn run(&self, args: &[&str], input: &[u8]) -> (bool, String, Vec<u8>) {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.0.path())
            .args([
                "--batch",
                "--no-tty",
                "--status-fd",
                "2",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("gpg is required for this test (scripts/test installs it): {e}")
            });
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input).unwrap_or_else(|e| panic!("{e}"));
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.stdout,
        )
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.0.path())
            .args(["--kill", "all"])
            .status();
    }
}

fn between<'a>(s: &'a str, begin: &str, end: &str) -> &'a str {
    let a = s.find(begin).unwrap_or_else(|| panic!("no {begin} in {s}"));
    let b = s[a..].find(end).unwrap_or_else(|| panic!("no {end}")) + a + end.len();
    &s[a..b]
}

fn reply<'a>(from: &'a Mailbox, to: &'a [Mailbox], body: &'a str, refs: &'a [String]) -> Reply<'a> {
    Reply {
        from,
        to,
        subject: "[Helpline #1042] Votre téléphone",
        subject_tag: "[Helpline #1042]",
        body,
        message_id: "0190c0de-reply@helpline.example",
        in_reply_to: Some("abc@example.org"),
        references: refs,
        date: Utc::now(),
    }
}

#[test]
fn gpg_decrypts_and_verifies_helplines_replies() {
    let alice = pgp::read_cert(&fixture("alice.asc")).unwrap_or_else(|e| panic!("{e}"));
    let from = Mailbox {
        address: "help@helpline.example".into(),
        name: Some("Helpline".into()),
    };
    let to = [Mailbox {
        address: "alice@example.org".into(),
        name: Some("Alice Activist".into()),
    }];
    let refs = vec!["abc@example.org".to_owned()];
    let body = "Bonjour Alice,\nchangez le mot de passe tout de suite.\n— l'équipe";
    for algo in [KeyAlgorithm::Curve25519, KeyAlgorithm::Rsa3072] {
        let key = generate_key("Helpline <help@helpline.example>", algo)
            .unwrap_or_else(|e| panic!("{e}"));
        let fpr = key.fingerprint().to_hex();
        let keys = Keyring::new(vec![key.clone()]).unwrap_or_else(|e| panic!("{e}"));
        let r = reply(&from, &to, body, &refs);
        let mail = compose(&r, &keys, &Protection::Encrypt(vec![alice.clone()]))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&mail).into_owned();
        assert!(text.contains("Subject: [Helpline #1042] ...\r\n"), "{text}");
        assert!(text.contains("In-Reply-To: <abc@example.org>\r\n"));
        assert!(text.contains("Message-ID: <0190c0de-reply@helpline.example>\r\n"));
        assert!(
            !text.contains("changez"),
            "the body must not travel in the clear"
        );

        let gpg = Gpg::new();
        let (ok, log, _) = gpg.run(&["--import"], &fixture("alice-secret.asc"));
        assert!(ok, "{log}");
        let (ok, log, _) = gpg.run(
            &["--import"],
            &pgp::armored_public(&key).unwrap_or_default(),
        );
        assert!(ok, "{log}");
        let armored = between(
            &text,
            "-----BEGIN PGP MESSAGE-----",
            "-----END PGP MESSAGE-----",
        );
        let (ok, status, plain) = gpg.run(&["--decrypt"], armored.as_bytes());
        assert!(ok, "{algo:?}: {status}");
        assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
        assert!(status.contains("[GNUPG:] GOODSIG"), "{status}");
        let validsig = status
            .lines()
            .find(|l| l.contains("VALIDSIG"))
            .unwrap_or_default();
        assert!(validsig.ends_with(&fpr), "{validsig} is not by {fpr}");
        // The plaintext is a MIME entity carrying the protected subject and the body.
        let entity = mail_parser::MessageParser::default()
            .parse(&plain[..])
            .unwrap_or_else(|| panic!("entity"));
        assert_eq!(entity.subject(), Some("[Helpline #1042] Votre téléphone"));
        assert_eq!(
            entity
                .body_text(0)
                .map(|t| t.replace("\r\n", "\n"))
                .as_deref(),
            Some(body)
        );

        // Signed only: gpg verifies the detached signature over the first part.
        let mail = compose(&r, &keys, &Protection::SignOnly).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&mail).into_owned();
        let after = &text[text.find("boundary=\"").unwrap_or_default() + 10..];
        let boundary = after[..after.find('"').unwrap_or_default()].to_owned();
        assert!(boundary.starts_with("hlp-"), "{boundary}");
        let start =
            text.find(&format!("--{boundary}\r\n")).unwrap_or_default() + boundary.len() + 4;
        let end = text[start..]
            .find(&format!("\r\n--{boundary}"))
            .unwrap_or_default()
            + start;
        let signed = &text[start..end];
        let sig = between(
            &text,
            "-----BEGIN PGP SIGNATURE-----",
            "-----END PGP SIGNATURE-----",
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("part"), signed).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("part.asc"), sig).unwrap_or_else(|e| panic!("{e}"));
        let sigp = dir.path().join("part.asc");
        let partp = dir.path().join("part");
        let (ok, status, _) = gpg.run(
            &[
                "--verify",
                &sigp.to_string_lossy(),
                &partp.to_string_lossy(),
            ],
            b"",
        );
        assert!(ok && status.contains("GOODSIG"), "{algo:?}: {status}");
    }
}

#[test]
fn helpline_reads_its_own_replies() {
    let alice_secret =
        Keyring::parse_keys(&fixture("alice-secret.asc")).unwrap_or_else(|e| panic!("{e}"));
    let alice_keys = Keyring::new(alice_secret.clone()).unwrap_or_else(|e| panic!("{e}"));
    let alice: Vec<Cert> = alice_secret
        .iter()
        .map(|c| c.clone().strip_secret_key_material())
        .collect();
    let key = generate_key("Helpline <help@helpline.example>", KeyAlgorithm::Curve25519)
        .unwrap_or_else(|e| panic!("{e}"));
    let keys = Keyring::new(vec![key.clone()]).unwrap_or_else(|e| panic!("{e}"));
    let from = Mailbox {
        address: "help@helpline.example".into(),
        name: None,
    };
    let to = [Mailbox {
        address: "alice@example.org".into(),
        name: None,
    }];
    // A body far beyond sequoia's release window: the signature is still checked over all of it.
    let long: String = (0..40_000)
        .map(|i| format!("line {i} of a long answer\n"))
        .collect();
    let refs = Vec::new();
    let helpline_cert = vec![key.strip_secret_key_material()];
    for body in ["Short answer.", long.trim()] {
        let r = reply(&from, &to, body, &refs);
        for protection in [Protection::Encrypt(alice.clone()), Protection::SignOnly] {
            let mail = compose(&r, &keys, &protection).unwrap_or_else(|e| panic!("{e}"));
            let opened = Opener {
                keys: &alice_keys,
                certs: &helpline_cert,
                limits: Limits::default(),
                now: SystemTime::now(),
            }
            .open(&mail)
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                opened.crypto.signature.as_str(),
                "good",
                "{:?}",
                opened.crypto
            );
            assert_eq!(
                opened
                    .text
                    .as_deref()
                    .map(|t| t.trim().replace("\r\n", "\n")),
                Some(body.to_owned())
            );
            assert_eq!(
                opened.subject.as_deref(),
                Some("[Helpline #1042] Votre téléphone")
            );
        }
    }
}
