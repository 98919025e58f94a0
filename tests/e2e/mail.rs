//! Mail end to end: messages made by GnuPG posted as a gateway would, threaded into cases,
//! quarantined and retried, certificates learned later, mailgate's exit codes, hostile input.

use std::path::Path;

use helpline_domain::user::Role;
use helpline_tests::mail::{fixture, ingest_token, key_dir, post_mail};
use helpline_tests::{
    helpline_bin, on_both_backends, Backend, Receiver, SmtpSink, TestApp, TestDb, WEBHOOK_SECRET,
};
use sequoia_openpgp::parse::Parse;
use serde_json::{json, Value};

fn manifest() -> Value {
    serde_json::from_slice(&fixture("manifest.json")).unwrap_or(Value::Null)
}

fn start(db: TestDb, keys: &Path) -> TestApp {
    let keys = keys.to_string_lossy().into_owned();
    TestApp::start_with(db, None, move |c| c.mail.key_dir = keys)
}

fn plain(from: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: help@helpline.example\r\nSubject: {subject}\r\nMessage-ID: <{}@example.org>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        uuid::Uuid::now_v7().simple()
    )
    .into_bytes()
}

fn messages(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/cases/{case}/messages"), token)
        .expect(200)
        .json["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn threading_and_reverification(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let app = start(db, &keys.0);
    let (_, admin) = app.user("root", Role::Admin);
    let (_, handler) = app.user("hana", Role::Handler);
    let gw = ingest_token(&app, &admin);
    let m = manifest();
    let want = &m["messages"]["pgpmime-encrypted-signed"];

    // The helpline's key is public.
    let key = app
        .call("GET", "/api/v1/pgp/key", None, None, &[])
        .expect(200);
    assert!(
        key.text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{}",
        key.text
    );
    assert!(!key.text.contains("PRIVATE"));

    // A new mail opens a case for a new, unverified beneficiary.
    let raw = fixture("pgpmime-encrypted-signed.eml");
    let first = post_mail(&app, &gw, &raw).expect(201);
    assert_eq!(first.json["new_case"], true);
    assert_eq!(first.json["duplicate"], false);
    assert_eq!(first.json["crypto"]["decryption"], "decrypted");
    // Alice's certificate is not known yet.
    assert_eq!(first.json["crypto"]["signature"], "unknown_key");
    let case = first.json["case_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reference = first.json["ref"].as_i64().unwrap_or_default();
    assert!(reference > 1000);
    let c = app
        .get(&format!("/api/v1/cases/{case}"), &handler)
        .expect(200);
    assert_eq!(c.json["summary"], "Menaces reçues — aide urgente");
    let b = app
        .get(
            &format!(
                "/api/v1/beneficiaries/{}",
                c.json["beneficiary_id"].as_str().unwrap_or_default()
            ),
            &handler,
        )
        .expect(200);
    assert_eq!(b.json["verification"], "unverified");
    let bid = b.id();

    // The log holds the decrypted body, the outcome and the attachments as evidence.
    let msgs = messages(&app, &handler, &case);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0]["body"].as_str().map(str::trim),
        want["body"].as_str()
    );
    let atts = msgs[0]["email"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(atts.len(), 2);
    for (got, w) in atts
        .iter()
        .zip(want["attachments"].as_array().into_iter().flatten())
    {
        assert_eq!(got["filename"], w["filename"]);
        assert_eq!(got["sha256"], w["sha256"]);
        let eid = got["evidence_id"].as_str().unwrap_or_default();
        let bytes = app
            .get(
                &format!("/api/v1/cases/{case}/evidence/{eid}/content"),
                &handler,
            )
            .expect(200);
        assert_eq!(bytes.header("x-content-sha256"), w["sha256"].as_str());
    }
    let ev = app
        .get(&format!("/api/v1/cases/{case}/evidence"), &handler)
        .expect(200);
    assert_eq!(ev.json["items"].as_array().map(Vec::len), Some(2));

    // The same bytes again: recognised, nothing added.
    let again = post_mail(&app, &gw, &raw).expect(200);
    assert_eq!(again.json["duplicate"], true);
    assert_eq!(again.json["message_id"], first.json["message_id"]);
    assert_eq!(messages(&app, &handler, &case).len(), 1);

    // An answer with the subject tag joins the case, even typed by hand without brackets.
    let tagged = plain(
        "Alice <alice@example.org>",
        &format!("Re: helpline #{reference} more"),
        "",
        "More details.",
    );
    let r = post_mail(&app, &gw, &tagged).expect(201);
    assert_eq!(r.json["case_id"], case.as_str());
    assert_eq!(r.json["new_case"], false);
    // One with only In-Reply-To joins it too.
    let reply = plain(
        "Alice <alice@example.org>",
        "no tag here",
        &format!("In-Reply-To: <{}>\r\n", message_id_of(&raw)),
        "Another detail.",
    );
    let r = post_mail(&app, &gw, &reply).expect(201);
    assert_eq!(r.json["case_id"], case.as_str());
    // A stranger's mail opens another case.
    let other = post_mail(&app, &gw, &plain("Zed <zed@example.net>", "Help", "", "Hi")).expect(201);
    assert_ne!(other.json["case_id"], case.as_str());
    assert_eq!(other.json["new_case"], true);
    assert_eq!(messages(&app, &handler, &case).len(), 3);

    // A certificate whose user IDs do not match is refused unless confirmed.
    let bob = String::from_utf8_lossy(&fixture("bob.asc")).into_owned();
    let r = app
        .post(
            &format!("/api/v1/beneficiaries/{bid}/certificates"),
            &handler,
            json!({"armored": bob}),
        )
        .expect(422);
    assert!(r.text.contains("accept_mismatch"), "{}", r.text);
    // Alice's certificate, added later, turns her signature good on the stored message.
    let alice = String::from_utf8_lossy(&fixture("alice.asc")).into_owned();
    let cert = app
        .post(
            &format!("/api/v1/beneficiaries/{bid}/certificates"),
            &handler,
            json!({"armored": alice, "confirmed": true}),
        )
        .expect(201);
    assert_eq!(cert.json["fingerprint"], m["keys"]["alice"]);
    assert_eq!(cert.json["source"], "upload");
    helpline_tests::conforms("Certificate", &cert.json);
    assert_eq!(cert.json["reverified_messages"], 1);
    let msgs = messages(&app, &handler, &case);
    assert_eq!(msgs[0]["email"]["crypto"]["signature"], "good");
    assert_eq!(
        msgs[0]["email"]["crypto"]["signatures"][0]["fingerprint"],
        m["keys"]["alice"]
    );
    let list = app
        .get(
            &format!("/api/v1/beneficiaries/{bid}/certificates"),
            &handler,
        )
        .expect(200);
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    // Another signed message from her is now good at once.
    let signed = post_mail(&app, &gw, &fixture("pgpmime-signed.eml")).expect(201);
    assert_eq!(signed.json["crypto"]["signature"], "good");
    helpline_tests::conforms("IngestOutcome", &signed.json);
    assert!(signed.json["crypto"].get("signed_part").is_none());

    // The same signed message relayed by a mailing list, its footer added around it: the
    // signature still holds for its part, and the footer is shown apart, not as signed.
    let original = String::from_utf8_lossy(&fixture("pgpmime-signed.eml")).replace("\r\n", "\n");
    let (head, body) = original.split_once("\n\n").unwrap_or_default();
    let signed_type = head
        .lines()
        .find(|l| l.starts_with("Content-Type: multipart/signed"))
        .unwrap_or_default();
    let relayed = format!(
        "From: Alice Activist <alice@example.org>\nTo: help@helpline.example\n\
         Subject: [Helpline #{reference}] via the list\nMessage-ID: <list-{}@lists.example.org>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"list\"\n\n\
         --list\n{signed_type}\n\n{body}\n\
         --list\nContent-Type: text/plain\n\nDefenders list: unsubscribe at lists.example.org\n\
         --list--\n",
        uuid::Uuid::now_v7().simple()
    );
    let relayed = post_mail(&app, &gw, relayed.as_bytes()).expect(201);
    assert_eq!(
        relayed.json["crypto"]["signature"], "good",
        "{}",
        relayed.text
    );
    assert_eq!(
        relayed.json["crypto"]["signed_part"],
        json!({"path": "1", "media_type": "text/plain", "unsigned_parts": 1})
    );
    let shown = messages(&app, &handler, &case)
        .into_iter()
        .find(|x| x["id"] == relayed.json["message_id"])
        .unwrap_or_default();
    let text = shown["body"].as_str().unwrap_or_default();
    let (covered, outside) = text
        .split_once(helpline_domain::mail::UNSIGNED_MARKER)
        .unwrap_or_else(|| panic!("no marker: {text}"));
    assert!(!covered.contains("Defenders list"), "{text}");
    assert!(outside.contains("Defenders list"), "{text}");
    assert_eq!(shown["email"]["crypto"]["signed_part"]["path"], "1");

    // A different key offered for Alice (trust on first use): the case is flagged, her
    // certificate is not replaced.
    let bob_key = fixture("bob.asc");
    let keydata = {
        use base64::Engine;
        let cert = sequoia_openpgp::Cert::from_bytes(&bob_key).unwrap_or_else(|e| panic!("{e}"));
        let bin = sequoia_openpgp::serialize::SerializeInto::to_vec(&cert).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(bin)
    };
    let swapped = plain(
        "Alice <alice@example.org>",
        &format!("[Helpline #{reference}] new key"),
        &format!("Autocrypt: addr=alice@example.org; keydata={keydata}\r\n"),
        "I have a new key.",
    );
    post_mail(&app, &gw, &swapped).expect(201);
    let flagged = app
        .get(&format!("/api/v1/cases/{case}"), &handler)
        .expect(200);
    assert!(
        flagged.json["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "pgp-key-changed")),
        "{}",
        flagged.text
    );
    let certs = app
        .get(
            &format!("/api/v1/beneficiaries/{bid}/certificates"),
            &handler,
        )
        .expect(200);
    let items = certs.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .any(|c| c["fingerprint"] == m["keys"]["alice"] && c["confirmed"] == true));
    assert!(items.iter().any(|c| c["fingerprint"] == m["keys"]["bob"]
        && c["confirmed"] == false
        && c["source"] == "autocrypt"));

    // Autocrypt: Bob's key is learned unconfirmed.
    let ac = post_mail(&app, &gw, &fixture("autocrypt.eml")).expect(201);
    let bob_case = app
        .get(
            &format!(
                "/api/v1/cases/{}",
                ac.json["case_id"].as_str().unwrap_or_default()
            ),
            &handler,
        )
        .expect(200);
    let bob_b = bob_case.json["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let certs = app
        .get(
            &format!("/api/v1/beneficiaries/{bob_b}/certificates"),
            &handler,
        )
        .expect(200);
    assert_eq!(certs.json["items"][0]["source"], "autocrypt");
    assert_eq!(certs.json["items"][0]["confirmed"], false);
    assert_eq!(certs.json["items"][0]["fingerprint"], m["keys"]["bob"]);

    // Everything survives a restart.
    let db = app.stop();
    let app = start(db, &keys.0);
    let handler = app.login("hana");
    assert_eq!(messages(&app, &handler, &case).len(), 5);
    let again = post_mail(&app, &gw, &raw).expect(200);
    assert_eq!(again.json["duplicate"], true);
}

fn message_id_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .and_then(|l| l.strip_suffix('>'))
        .unwrap_or_default()
        .to_owned()
}

fn quarantine_and_retry(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let app = start(db, &keys.0);
    let (_, admin) = app.user("root", Role::Admin);
    let (_, lead) = app.user("lena", Role::Lead);
    let (_, handler) = app.user("hana", Role::Handler);
    let gw = ingest_token(&app, &admin);

    // Encrypted to last year's key, which this server does not hold yet.
    let q = post_mail(&app, &gw, &fixture("old-key.eml")).expect(202);
    assert_eq!(q.json["state"], "quarantined");
    assert!(
        q.json["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not_for_us"),
        "{}",
        q.text
    );
    let id = q.json["inbound_id"].as_str().unwrap_or_default().to_owned();
    // Leads only.
    app.get("/api/v1/mail/quarantine", &handler).expect(403);
    app.post(
        &format!("/api/v1/mail/quarantine/{id}/retry"),
        &handler,
        json!({}),
    )
    .expect(403);
    app.get("/api/v1/mail/quarantine", &gw).expect(403);
    let list = app.get("/api/v1/mail/quarantine", &lead).expect(200);
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    helpline_tests::conforms("IngestOutcome", &q.json);
    helpline_tests::conforms("InboundMail", &list.json["items"][0]);
    let raw = app
        .get(&format!("/api/v1/mail/quarantine/{id}/raw"), &lead)
        .expect(200);
    assert_eq!(raw.text.as_bytes(), &fixture("old-key.eml")[..]);
    // Retrying without the key changes nothing.
    let r = app
        .post(
            &format!("/api/v1/mail/quarantine/{id}/retry"),
            &lead,
            json!({}),
        )
        .expect(200);
    assert_eq!(r.json["state"], "quarantined");
    // The key is added to the key folder; the retry threads the message.
    std::fs::write(
        keys.0.join("helpline-old-secret.asc"),
        fixture("helpline-old-secret.asc"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = app
        .post(
            &format!("/api/v1/mail/quarantine/{id}/retry"),
            &lead,
            json!({}),
        )
        .expect(200);
    assert_eq!(r.json["state"], "threaded", "{}", r.text);
    assert_eq!(r.json["new_case"], true);
    assert_eq!(r.json["crypto"]["decryption"], "decrypted");
    let case = r.json["case_id"].as_str().unwrap_or_default().to_owned();
    let msgs = messages(&app, &handler, &case);
    assert_eq!(
        msgs[0]["body"].as_str().map(str::trim),
        manifest()["messages"]["old-key"]["body"].as_str()
    );
    let list = app.get("/api/v1/mail/quarantine", &lead).expect(200);
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(0));
    app.post(
        &format!("/api/v1/mail/quarantine/{id}/retry"),
        &lead,
        json!({}),
    )
    .expect(409);

    // What cannot be read at all can be attached to a case by hand.
    let q = post_mail(&app, &gw, &fixture("corrupt.eml")).expect(202);
    let id = q.json["inbound_id"].as_str().unwrap_or_default().to_owned();
    let r = app
        .post(
            &format!("/api/v1/mail/quarantine/{id}/assign"),
            &lead,
            json!({"case": case}),
        )
        .expect(200);
    assert_eq!(r.json["state"], "threaded");
    assert_eq!(messages(&app, &handler, &case).len(), 2);
    let audit = app
        .get(&format!("/api/v1/cases/{case}/audit?limit=200"), &lead)
        .expect(200);
    assert!(
        audit.text.contains("mail.retry") && audit.text.contains("mail.assign"),
        "{}",
        audit.text
    );
}

fn hostile_input(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let app = start(db, &keys.0);
    let (_, admin) = app.user("root", Role::Admin);
    let gw = ingest_token(&app, &admin);

    let mut nested = String::from("From: a@example.org\r\nSubject: deep\r\n");
    for i in 0..100 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
    let header = format!(
        "From: a@example.org\r\nSubject: {}\r\n\r\nbody\r\n",
        "x".repeat(100 * 1024)
    );
    let truncated = "From: a@example.org\r\nSubject: cut\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhalf a mess";
    let bad_b64 = "From: a@example.org\r\nSubject: b64\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=x.bin\r\n\r\n!!!not base64@@@\r\n";
    for (name, raw, want) in [
        ("nesting", nested.into_bytes(), "nested"),
        ("header line", header.into_bytes(), "header line"),
    ] {
        let r = post_mail(&app, &gw, &raw).expect(202);
        assert!(
            r.json["reason"].as_str().unwrap_or_default().contains(want),
            "{name}: {}",
            r.text
        );
    }
    for raw in [truncated, bad_b64] {
        let r = post_mail(&app, &gw, raw.as_bytes());
        assert!(matches!(r.status, 201 | 202), "{}", r.text);
    }
    // A compression bomb: a tiny encrypted message that inflates past the decoded limit.
    let helpline = sequoia_openpgp::Cert::from_bytes(&fixture("helpline-secret.asc"))
        .unwrap_or_else(|e| panic!("{e}"));
    let bomb = helpline_tests::compression_bomb(&helpline, 200);
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let r = post_mail(&app, &gw, &bomb).expect(202);
    assert!(
        r.json["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("decodes to more than"),
        "{}",
        r.text
    );
    // A 25 MB attachment is taken, byte for byte.
    let raw = helpline_tests::with_attachment(25_000_000);
    let r = post_mail(&app, &gw, &raw).expect(201);
    let case = r.json["case_id"].as_str().unwrap_or_default().to_owned();
    let ev = app
        .get(&format!("/api/v1/cases/{case}/evidence"), &admin)
        .expect(200);
    let eid = ev.json["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let got = app.raw(
        "GET",
        &format!("/api/v1/cases/{case}/evidence/{eid}/content"),
        Some(&admin),
        "text/plain",
        b"",
        &[],
    );
    assert_eq!(got.status, 200);
    // Larger than the limit: refused before anything is stored.
    let huge = vec![b'a'; app.config.mail.max_message_bytes + 1];
    post_mail(&app, &gw, &huge).expect(413);
    // Not a message, wrong type, empty.
    app.raw(
        "POST",
        "/api/v1/mail/inbound",
        Some(&gw),
        "application/json",
        b"{}",
        &[],
    )
    .expect(415);
    post_mail(&app, &gw, b"").expect(400);
    // Still up.
    app.call("GET", "/healthz", None, None, &[]).expect(200);
}

fn mailgate(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let app = start(db, &keys.0);
    let (_, admin) = app.user("root", Role::Admin);
    let gw = ingest_token(&app, &admin);
    let token_file = keys.0.join("gateway.token");
    std::fs::write(&token_file, format!("{gw}\n")).unwrap_or_else(|e| panic!("{e}"));
    let base = app.base.clone();
    let run = |url: &str, input: &[u8]| -> i32 {
        use std::io::Write;
        let mut child = std::process::Command::new(helpline_bin())
            .args(["mailgate", "--url", url, "--token-file"])
            .arg(&token_file)
            .args(["--timeout", "20"])
            .env("HELPLINE_LOG_LEVEL", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(mut s) = child.stdin.take() {
            let _ = s.write_all(input);
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        out.status.code().unwrap_or(-1)
    };
    assert_eq!(
        run(&base, &plain("a@example.org", "via mailgate", "", "hello")),
        0
    );
    // The same message again is accepted too (recognised, not duplicated).
    let msg = plain("a@example.org", "twice", "", "hello");
    assert_eq!(run(&base, &msg), 0);
    assert_eq!(run(&base, &msg), 0);
    // Unusable: refused for good.
    assert_eq!(run(&base, b""), 65);
    // Server stopped: the MTA must retry.
    let _db = app.stop();
    assert_eq!(run(&base, &msg), 75);
}

/// Threading names a case; it never says who wrote. A stranger who writes with a case's tag,
/// an In-Reply-To of its messages or a guessed reply address is recorded as unknown, never as
/// the beneficiary, and never adds to a confidential case; a party is recorded as the party;
/// a reply address without the server's keyed tag is trusted only from someone the case knows.
fn threading_cannot_be_hijacked(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&[]);
    let dir = keys.0.to_string_lossy().into_owned();
    let app = TestApp::start_with(db, None, move |c| {
        c.mail.key_dir = dir;
        c.mail.plus_addressing = true;
    });
    let (_, admin) = app.user("root", Role::Admin);
    let (_, lead) = app.user("lena", Role::Lead);
    let gw = ingest_token(&app, &admin);
    let kind_of_last = |case: &str| {
        let m = messages(&app, &lead, case);
        let last = m.last().cloned().unwrap_or_default();
        (
            m.len(),
            last["counterpart"].clone(),
            last["email"]["from"].clone(),
        )
    };

    // Ana opens case A; Bea opens case B, which a lead makes confidential.
    let a = post_mail(
        &app,
        &gw,
        &plain("Ana <ana@example.org>", "My phone", "", "help"),
    )
    .expect(201);
    let (case_a, ref_a) = (
        a.json["case_id"].as_str().unwrap_or_default().to_owned(),
        a.json["ref"].as_i64().unwrap_or_default(),
    );
    let b_raw = plain("bea@example.org", "Threats", "", "please");
    let b = post_mail(&app, &gw, &b_raw).expect(201);
    let (case_b, ref_b) = (
        b.json["case_id"].as_str().unwrap_or_default().to_owned(),
        b.json["ref"].as_i64().unwrap_or_default(),
    );
    let v = app
        .get(&format!("/api/v1/cases/{case_b}"), &lead)
        .expect(200)
        .json["version"]
        .clone();
    app.patch(
        &format!("/api/v1/cases/{case_b}"),
        &lead,
        &format!("\"{v}\""),
        json!({"confidential": true}),
    )
    .expect(200);

    // A stranger with A's tag joins A, recorded as unknown with their address.
    let r = post_mail(
        &app,
        &gw,
        &plain(
            "mallory@evil.example",
            &format!("Re: [Helpline #{ref_a}] hi"),
            "",
            "it is me, Ana",
        ),
    )
    .expect(201);
    assert_eq!(r.json["case_id"], json!(case_a));
    let (n_a, who, from) = kind_of_last(&case_a);
    assert_eq!(n_a, 2);
    assert_eq!(who, json!({"kind": "unknown"}));
    assert_eq!(from, "mallory@evil.example");

    // Nor the tag nor In-Reply-To lets a stranger into the confidential B: quarantined.
    let before = messages(&app, &lead, &case_b).len();
    for raw in [
        plain(
            "mallory@evil.example",
            &format!("[Helpline #{ref_b}]"),
            "",
            "x",
        ),
        plain(
            "mallory@evil.example",
            "Re: Threats",
            &format!("In-Reply-To: <{}>\r\n", message_id_of(&b_raw)),
            "x",
        ),
    ] {
        let q = post_mail(&app, &gw, &raw).expect(202);
        assert_eq!(q.json["state"], "quarantined", "{}", q.text);
        assert!(
            q.json["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("confidential"),
            "{}",
            q.text
        );
    }
    assert_eq!(messages(&app, &lead, &case_b).len(), before);
    // Bea herself still reaches B, as the beneficiary.
    post_mail(
        &app,
        &gw,
        &plain(
            "Bea <BEA@example.org>",
            &format!("Re: [Helpline #{ref_b}]"),
            "",
            "more",
        ),
    )
    .expect(201);
    assert_eq!(kind_of_last(&case_b).1, json!({"kind": "beneficiary"}));

    // A party of A is recorded as the party.
    let party = app
        .post(
            "/api/v1/parties",
            &lead,
            json!({"name": "Partner CERT", "kind": "other", "emails": ["cert@partner.example"]}),
        )
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/cases/{case_a}/parties"),
        &lead,
        json!({"party_id": party, "role": "referral_partner"}),
    )
    .expect(201);
    post_mail(
        &app,
        &gw,
        &plain(
            "cert@partner.example",
            &format!("[Helpline #{ref_a}] our findings"),
            "",
            "report",
        ),
    )
    .expect(201);
    assert_eq!(
        kind_of_last(&case_a).1,
        json!({"kind": "party", "party_id": party})
    );

    // Reply addresses: the server's carries a keyed tag; a guessed one is trusted only from
    // someone the case knows.
    let plus = helpline_mail::PlusAddress::new(
        "help@helpline.example",
        helpline_tests::JWT_SECRET.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ours =
        plus.for_case(helpline_domain::case::CaseRef::new(ref_a).unwrap_or_else(|e| panic!("{e}")));
    let to = |addr: &str, from: &str| {
        format!("From: {from}\r\nTo: {addr}\r\nSubject: about my case\r\nMessage-ID: <{}@example.org>\r\nContent-Type: text/plain\r\n\r\nhello\r\n", uuid::Uuid::now_v7().simple()).into_bytes()
    };
    let guessed = format!("help+{ref_a}@helpline.example");
    let stranger = post_mail(&app, &gw, &to(&guessed, "eve@elsewhere.example")).expect(201);
    assert_eq!(
        stranger.json["new_case"], true,
        "a guess opens the stranger's own case"
    );
    assert_ne!(stranger.json["case_id"], json!(case_a));
    let ana = post_mail(&app, &gw, &to(&guessed, "ana@example.org")).expect(201);
    assert_eq!(ana.json["case_id"], json!(case_a));
    assert_eq!(kind_of_last(&case_a).1, json!({"kind": "beneficiary"}));
    let signed = post_mail(&app, &gw, &to(&ours, "trent@elsewhere.example")).expect(201);
    assert_eq!(signed.json["case_id"], json!(case_a));
    assert_eq!(kind_of_last(&case_a).1, json!({"kind": "unknown"}));
}

on_both_backends!(
    threading_and_reverification,
    quarantine_and_retry,
    hostile_input,
    mailgate,
    encrypted_replies_and_the_outbox,
    every_event_reaches_the_webhooks,
    threading_cannot_be_hijacked,
    two_nodes_send_and_announce_each_once,
    a_dead_nodes_claim_is_taken_over
);

/// A reply claimed by a node that died is sent by another once the claim's lease has run out;
/// one claimed by a node still within its lease is left to it.
fn a_dead_nodes_claim_is_taken_over(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    // First without a relay: the replies wait in the outbox, claimed by no one.
    let keys_path = keys.0.to_string_lossy().into_owned();
    let app = TestApp::start_with(db, None, move |c| c.mail.key_dir = keys_path);
    let (_, handler) = app.user("hana", Role::Handler);
    let mut replies = Vec::new();
    for who in ["dead", "alive"] {
        let c = app
            .post(
                "/api/v1/cases",
                &handler,
                json!({"beneficiary": {"name": who, "emails": [format!("{who}@example.net")]}, "summary": "Help", "urgency": "low", "service_type": "phishing"}),
            )
            .expect(201);
        let r = app
            .post(
                &format!("/api/v1/cases/{}/replies", c.id()),
                &handler,
                json!({"body": "We are on it."}),
            )
            .expect(201);
        replies.push(r.id());
    }
    let claim = |app: &TestApp, id: &str, node: &str, seconds: i64| {
        let until = (chrono::Utc::now() + chrono::Duration::seconds(seconds))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let sql = format!(
            "UPDATE outbox SET claimed_by = '{node}', claimed_until = '{until}' WHERE message_id = '{id}'"
        );
        app.store()
            .read(move |c| Ok(diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?))
            .unwrap_or_else(|e| panic!("{e}"));
    };
    // One node died a minute into its lease's end; another is busy with the second reply.
    claim(&app, &replies[0], "outbox-dead", -60);
    claim(&app, &replies[1], "outbox-alive", 3600);
    let db = app.stop();
    let port = free_port();
    let sink = SmtpSink::start(port);
    let app = start_smtp(db, &keys.0, port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sink.messages().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the expired claim was not taken over"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = sink.messages();
    assert_eq!(sent.len(), 1, "only the reply whose claim ran out");
    assert!(String::from_utf8_lossy(&sent[0]).contains("dead@example.net"));
    // The busy node's lease runs out too: then it is sent, once.
    claim(&app, &replies[1], "outbox-alive", -1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sink.messages().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second reply never went"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 2);
}

/// Two nodes on one PostgreSQL, both with the relay and the webhook receiver: every reply
/// reaches the relay once and every event the receiver once — whichever node's workers claim
/// it. SQLite keeps one node.
fn two_nodes_send_and_announce_each_once(backend: Backend) {
    if backend != Backend::Postgres {
        return;
    }
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let port = free_port();
    let sink = SmtpSink::start(port);
    let hook = Receiver::start();
    let node = |db: TestDb| {
        let url = hook.url.clone();
        start_smtp_with(db, &keys.0, port, move |c| {
            c.workflow.webhooks.urls = vec![url];
            c.workflow.webhooks.secret = helpline_api::config::Secret::new(WEBHOOK_SECRET);
            c.workflow.webhooks.poll_ms = 20;
            c.mail.smtp.poll_ms = 20;
        })
    };
    let a = node(db.clone());
    let b = node(db);
    let (_, admin) = a.user("root", Role::Admin);
    let (_, handler) = a.user("hana", Role::Handler);
    b.get("/api/v1/me", &admin).expect(200);
    const N: usize = 12;
    for i in 0..N {
        let app = if i % 2 == 0 { &a } else { &b };
        let c = app
            .post(
                "/api/v1/cases",
                &handler,
                json!({"beneficiary": {"name": format!("Person {i}"), "emails": [format!("person{i}@example.net")]}, "summary": "Help", "urgency": "low", "service_type": "phishing"}),
            )
            .expect(201);
        app.post(
            &format!("/api/v1/cases/{}/replies", c.id()),
            &handler,
            json!({"body": format!("We are on it ({i}).")}),
        )
        .expect(201);
    }
    // Everything sent, then a while longer for any second sending to show.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink.messages().len() < N {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {N} replies reached the relay",
            sink.messages().len()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (_, calls) = hook.wait_for("no such event", 3);
    let ids = sink.by_message_id();
    assert_eq!(ids.len(), N, "{ids:?}");
    assert!(
        ids.values().all(|n| *n == 1),
        "a reply went out twice: {ids:?}"
    );
    let deliveries = helpline_tests::by_delivery(&calls);
    let mut created = 0;
    for c in &calls {
        if c.header("x-helpline-event") == Some("case.created") {
            created += 1;
        }
    }
    assert!(
        deliveries.values().all(|n| *n == 1),
        "a webhook call was made twice: {deliveries:?}"
    );
    assert_eq!(created, N, "each case announced once");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn start_smtp(db: TestDb, keys: &Path, port: u16) -> TestApp {
    start_smtp_with(db, keys, port, |_| {})
}

/// The server with the helpline key and a relay on `port`, then `more` configuration.
fn start_smtp_with(
    db: TestDb,
    keys: &Path,
    port: u16,
    more: impl FnOnce(&mut helpline_api::Config),
) -> TestApp {
    let keys = keys.to_string_lossy().into_owned();
    TestApp::start_with(db, None, move |c| {
        c.mail.key_dir = keys;
        c.mail.smtp.host = "127.0.0.1".into();
        c.mail.smtp.port = port;
        c.mail.smtp.tls = "none".into();
        c.mail.smtp.retry_seconds = 1;
        c.mail.smtp.poll_ms = 50;
        c.mail.smtp.max_attempts = 50;
        more(c);
    })
}

fn delivery_of(app: &TestApp, token: &str, case: &str, message: &str) -> Value {
    messages(app, token, case)
        .into_iter()
        .find(|m| m["id"] == message)
        .map(|m| m["email"]["delivery"].clone())
        .unwrap_or(Value::Null)
}

fn encrypted_replies_and_the_outbox(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let port = free_port();
    // No relay listening yet: replies wait and are retried.
    let app = start_smtp(db, &keys.0, port);
    let (_, admin) = app.user("root", Role::Admin);
    let (_, handler) = app.user("hana", Role::Handler);
    let gw = ingest_token(&app, &admin);
    let m = manifest();

    let first = post_mail(&app, &gw, &fixture("pgpmime-signed.eml")).expect(201);
    let case = first.json["case_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reference = first.json["ref"].as_i64().unwrap_or_default();
    let c = app
        .get(&format!("/api/v1/cases/{case}"), &handler)
        .expect(200);
    let bid = c.json["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let alice = String::from_utf8_lossy(&fixture("alice.asc")).into_owned();
    app.post(
        &format!("/api/v1/beneficiaries/{bid}/certificates"),
        &handler,
        json!({"armored": alice, "confirmed": true}),
    )
    .expect(201);
    let policy = app
        .call(
            "PUT",
            &format!("/api/v1/cases/{case}/mail-policy"),
            Some(&handler),
            Some(&json!({"require_encryption": true})),
            &[],
        )
        .expect(200);
    helpline_tests::conforms("MailPolicy", &policy.json);
    let body = "Bonjour Alice, changez le mot de passe maintenant.";
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &handler,
            json!({"body": body}),
        )
        .expect(201);
    assert_eq!(r.json["direction"], "out");
    assert_eq!(r.json["email"]["encrypted_to"][0], m["keys"]["alice"]);
    assert_eq!(r.json["email"]["delivery"]["state"], "queued");
    let reply_id = r.id();

    // A beneficiary with no certificate who requires encryption: refused, clearly.
    let zed = post_mail(&app, &gw, &plain("Zed <zed@example.net>", "Help", "", "Hi")).expect(201);
    let zcase = zed.json["case_id"].as_str().unwrap_or_default().to_owned();
    let zc = app
        .get(&format!("/api/v1/cases/{zcase}"), &handler)
        .expect(200);
    let zb = zc.json["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.call(
        "PUT",
        &format!("/api/v1/beneficiaries/{zb}/mail-policy"),
        Some(&handler),
        Some(&json!({"require_encryption": true})),
        &[],
    )
    .expect(200);
    let refused = app
        .post(
            &format!("/api/v1/cases/{zcase}/replies"),
            &handler,
            json!({"body": "hi"}),
        )
        .expect(422);
    assert!(
        refused.text.contains("must be encrypted"),
        "{}",
        refused.text
    );
    app.call(
        "PUT",
        &format!("/api/v1/beneficiaries/{zb}/mail-policy"),
        Some(&handler),
        Some(&json!({"require_encryption": false})),
        &[],
    )
    .expect(200);
    let signed = app
        .post(
            &format!("/api/v1/cases/{zcase}/replies"),
            &handler,
            json!({"body": "We will call you."}),
        )
        .expect(201);
    assert!(signed.json["email"]["encrypted_to"].is_null());
    helpline_tests::conforms("ReplyCreate", &json!({"body": "We will call you."}));
    helpline_tests::conforms("Message", &signed.json);
    helpline_tests::conforms("EmailDetails", &signed.json["email"]);
    helpline_tests::conforms("CryptoOutcome", &signed.json["email"]["crypto"]);
    let signed_id = signed.id();
    // Not an address of the case: refused.
    app.post(
        &format!("/api/v1/cases/{zcase}/replies"),
        &handler,
        json!({"body": "x", "to": "stranger@example.com"}),
    )
    .expect(422);

    // The relay is down: attempts are made and recorded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let d = delivery_of(&app, &handler, &case, &reply_id);
        if d["attempts"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(d["state"], "retrying", "{d}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt recorded: {d}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Restart with the relay up: nothing was dropped, everything is delivered.
    let db = app.stop();
    let sink = SmtpSink::start(port);
    let app = start_smtp(db, &keys.0, port);
    let handler = app.login("hana");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink.messages().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "delivered {} of 2",
            sink.messages().len()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The sink has both messages as soon as the relay accepted them; the outbox records each
    // acceptance in its own commit just after, so wait for both records.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for (of, id) in [(&case, &reply_id), (&zcase, &signed_id)] {
        loop {
            let d = delivery_of(&app, &handler, of, id);
            if d["state"] == "sent" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{d}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let sent = sink.messages();
    let enc = sent
        .iter()
        .find(|m| String::from_utf8_lossy(m).contains("multipart/encrypted"))
        .unwrap_or_else(|| panic!("no encrypted reply"));
    let text = String::from_utf8_lossy(enc);
    assert!(!text.contains("changez"), "the body travelled in the clear");
    assert!(
        text.contains(&format!("Subject: [Helpline #{reference}] ...")),
        "{text}"
    );
    assert!(text.contains(&format!(
        "In-Reply-To: <{}>",
        message_id_of(&fixture("pgpmime-signed.eml"))
    )));
    // Alice reads it, and the helpline's signature is good.
    let alice_keys = helpline_mail::Keyring::new(
        helpline_mail::Keyring::parse_keys(&fixture("alice-secret.asc")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let helpline_cert = helpline_mail::Keyring::parse_keys(&fixture("helpline-secret.asc"))
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.strip_secret_key_material())
        .collect::<Vec<_>>();
    let opened = helpline_mail::Opener {
        keys: &alice_keys,
        certs: &helpline_cert,
        limits: helpline_mail::Limits::default(),
        now: std::time::SystemTime::now(),
    }
    .open(enc)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.text.as_deref().map(str::trim), Some(body));
    assert_eq!(opened.crypto.signature.as_str(), "good");
    assert!(sent
        .iter()
        .any(|m| String::from_utf8_lossy(m).contains("multipart/signed")));
}

/// Each event an integration needs reaches the webhook receiver, signed, and none names the
/// person: a case opened by mail and the message received, a status changed by hand, a message
/// quarantined, a reply that could not be delivered.
fn every_event_reaches_the_webhooks(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = key_dir(&["helpline-secret.asc"]);
    let hook = Receiver::start();
    // Nothing listens on the relay's port and one attempt is all a reply gets: it fails.
    let url = hook.url.clone();
    let app = start_smtp_with(db, &keys.0, free_port(), move |c| {
        c.mail.smtp.max_attempts = 1;
        c.workflow.webhooks.poll_ms = 50;
        c.workflow.webhooks.urls = vec![url];
        c.workflow.webhooks.secret = helpline_api::config::Secret::new(WEBHOOK_SECRET);
    });
    let (_, admin) = app.user("root", Role::Admin);
    let (_, handler) = app.user("hana", Role::Handler);
    let token = ingest_token(&app, &admin);
    let mut heard = Vec::new();
    let mut wait_for = |event: &str| {
        let (got, before) = hook.wait_for(event, 30);
        heard.extend(before);
        let got = got.unwrap_or_else(|| panic!("no {event} webhook; heard {heard:?}"));
        heard.push(got.clone());
        got.verified()
    };

    // A mail from a new sender opens a case: created, then the message received.
    let r = post_mail(
        &app,
        &token,
        &plain(
            "Samira Nassar <samira@example.org>",
            "My phone",
            "",
            "Somebody reads my messages.",
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let case = r.json["case_id"].as_str().unwrap_or_default().to_owned();
    let created = wait_for("case.created");
    assert_eq!(created["case"]["id"], json!(case));
    let received = wait_for("message.received");
    assert_eq!(received["case"]["id"], json!(case));
    assert_eq!(received["detail"]["message_id"], r.json["message_id"]);
    assert_eq!(received["detail"]["channel"], "email");
    assert_eq!(
        received["detail"]["counterpart"],
        json!({"kind": "beneficiary"})
    );

    // A handler opens it: the status change, from and to.
    let c = app
        .get(&format!("/api/v1/cases/{case}"), &handler)
        .expect(200);
    app.patch(
        &format!("/api/v1/cases/{case}"),
        &handler,
        &format!("\"{}\"", c.json["version"]),
        json!({"status": "open"}),
    )
    .expect(200);
    let changed = wait_for("case.status_changed");
    assert_eq!(changed["case"]["id"], json!(case));
    assert_eq!(changed["detail"], json!({"from": "new", "to": "open"}));

    // A message nobody can place waits in the quarantine, and a lead is told.
    let q = post_mail(
        &app,
        &token,
        b"To: help@helpline.example\r\nSubject: hello\r\n\r\nNo sender here.\r\n",
    );
    assert_eq!(q.status, 202, "{}", q.text);
    let quarantined = wait_for("mail.quarantined");
    assert_eq!(quarantined["inbound"]["id"], q.json["inbound_id"]);
    assert!(quarantined["inbound"]["reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert!(quarantined.get("case").is_none(), "{quarantined}");
    // The leads' queue shows it too.
    let (_, lead) = app.user("lena", Role::Lead);
    let queue = app.get("/api/v1/escalations", &lead).expect(200);
    assert_eq!(queue.json["quarantine"]["waiting"], 1, "{}", queue.text);
    assert_eq!(
        queue.json["quarantine"]["oldest_received_at"],
        quarantined["inbound"]["received_at"]
    );

    // A reply the relay never takes fails for good, and the integration hears of it.
    let reply = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &handler,
            json!({"body": "We can help you check the phone."}),
        )
        .expect(201);
    let failed = wait_for("reply.failed");
    assert_eq!(failed["case"]["id"], json!(case));
    assert_eq!(failed["detail"]["message_id"], reply.json["id"]);
    assert_eq!(failed["detail"]["attempts"], 1);

    // Every event is signed; none names the person, their address or their words.
    for r in &heard {
        r.verified();
        for secret in ["Samira", "samira@", "reads my messages", "We can help"] {
            assert!(!r.body.contains(secret), "{secret} in {}", r.body);
        }
    }
}

/// `helpline admin gen-key` writes a usable secret key, readable by its owner only, that the
/// server then serves publicly.
#[test]
fn gen_key_makes_a_key_the_server_serves() {
    let Some(db) = TestDb::fresh(Backend::Sqlite) else {
        return;
    };
    let keys = key_dir(&[]);
    for (flag, algo) in [(None, "EdDSA"), (Some("--rsa"), "RSA")] {
        let out = keys.0.join(format!("k-{algo}.asc"));
        let out_s = out.to_string_lossy().into_owned();
        let mut args = vec!["admin", "gen-key", "--out", out_s.as_str()];
        args.extend(flag);
        let (code, stdout, stderr) = helpline_tests::run_cli(&db, &args, None);
        assert_eq!(code, 0, "{stderr}");
        let fpr = stdout.trim().to_owned();
        assert_eq!(fpr.len(), 40, "{stdout}");
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(text.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        let cert =
            sequoia_openpgp::Cert::from_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cert.fingerprint().to_hex(), fpr);
        assert!(cert.is_tsk());
        let _ = algo;
    }
    let app = start(db, &keys.0);
    let served = app
        .call("GET", "/api/v1/pgp/key", None, None, &[])
        .expect(200);
    let certs = helpline_mail::Keyring::parse_keys(served.text.as_bytes()).unwrap_or_default();
    assert_eq!(certs.len(), 2);
    assert!(
        certs.iter().all(|c| !c.is_tsk()),
        "secret parts must never be served"
    );
}
