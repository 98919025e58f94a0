//! Evidence: uploaded bytes come back byte for byte with their SHA-256, stored once across
//! cases, and every view, verification and collection is in the chain of custody.

use diesel::RunQueryDsl;
use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn events(app: &TestApp, token: &str, case: &str, eid: &str) -> Vec<String> {
    app.get(
        &format!("/api/v1/cases/{case}/evidence/{eid}/custody"),
        token,
    )
    .expect(200)
    .json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event"].as_str().map(str::to_owned))
        .collect()
}

fn evidence_keeps_bytes_and_custody(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, analyst) = app.user("ana", Role::Analyst);
    let (_, lead) = app.user("leo", Role::Lead);
    let (_, bob) = app.user("bob", Role::Handler);
    let a = app.open_case(&lead).id();
    let b = app.open_case(&lead).id();
    // Every byte value, in an order that defeats any text conversion.
    let bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    let up = app.raw(
        "POST",
        &format!("/api/v1/cases/{a}/evidence?filename=capture.pcap&description=Traffic%20of%20the%20phone&source=capture&tlp=red&collected_at=2026-11-01T09:30:00Z"),
        Some(&analyst),
        "application/vnd.tcpdump.pcap",
        &bytes,
        &[],
    )
    .expect(201);
    assert_eq!(up.json["sha256"], json!(sha));
    assert_eq!(up.json["size"], bytes.len());
    assert_eq!(up.json["source"], "capture");
    assert_eq!(up.json["tlp"], "red");
    assert_eq!(up.json["collected_at"], "2026-11-01T09:30:00Z");
    assert_eq!(up.json["media_type"], "application/vnd.tcpdump.pcap");
    let eid = up.id();

    // Twice downloaded, twice in the chain; byte for byte, with the same hash.
    for _ in 0..2 {
        let r = app.call(
            "GET",
            &format!("/api/v1/cases/{a}/evidence/{eid}/content"),
            Some(&bob),
            None,
            &[],
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-content-sha256"), Some(sha.as_str()));
        // Served as bytes to save, never as what the file claims (no browser renders
        // evidence); the declared type stays in the record.
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(r.header("content-disposition"), Some("attachment"));
    }
    // ureq's text reader is lossy: fetch the raw bytes to compare them exactly.
    let raw = ureq::get(&format!(
        "{}/api/v1/cases/{a}/evidence/{eid}/content",
        app.base
    ))
    .set("authorization", &format!("Bearer {bob}"))
    .call()
    .unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut raw.into_reader(), &mut got).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, bytes);
    assert_eq!(
        events(&app, &lead, &a, &eid),
        vec!["collected", "viewed", "viewed", "viewed"]
    );

    // Verification re-hashes the stored bytes and says so in the chain and the audit.
    let v = app
        .post(
            &format!("/api/v1/cases/{a}/evidence/{eid}/verify"),
            &analyst,
            json!({}),
        )
        .expect(200);
    assert_eq!(v.json["intact"], true);
    assert_eq!(v.json["computed_sha256"], json!(sha));
    let chain = app
        .get(&format!("/api/v1/cases/{a}/evidence/{eid}/custody"), &lead)
        .expect(200);
    let last = &chain.json["items"][4];
    assert_eq!(last["event"], "verified");
    assert_eq!(last["detail"]["intact"], true);
    assert!(last["actor"]
        .as_str()
        .is_some_and(|s| s.starts_with("user:")));
    // The chain pages in its order: walked two at a time, the same five events.
    let custody = format!("/api/v1/cases/{a}/evidence/{eid}/custody");
    let (walked, pages) = app.walk(&custody, &lead, 2);
    assert_eq!(pages, 3, "5 events, 2 a page");
    assert_eq!(Some(&walked), chain.json["items"].as_array());
    assert!(chain.json["next_cursor"].is_null());

    // The same file on another case: one stored copy, two items, each with its own chain.
    let again = app
        .raw(
            "POST",
            &format!("/api/v1/cases/{b}/evidence?filename=same.pcap"),
            Some(&analyst),
            "application/octet-stream",
            &bytes,
            &[],
        )
        .expect(201);
    assert_eq!(again.json["sha256"], json!(sha));
    let copies = app
        .store()
        .read({
            let sha = sha.clone();
            move |c| {
                use diesel::prelude::*;
                use helpline_store::schema::blobs;
                Ok(blobs::table
                    .filter(blobs::sha256.eq(sha))
                    .count()
                    .get_result::<i64>(c)?)
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(copies, 1);
    assert_eq!(events(&app, &lead, &b, &again.id()), vec!["collected"]);

    // Bytes changed behind Helpline's back are caught.
    let tamper = match backend {
        Backend::Sqlite => format!("UPDATE blobs SET data = zeroblob(10) WHERE sha256 = '{sha}'"),
        Backend::Postgres => {
            format!("UPDATE blobs SET data = decode('00ff', 'hex') WHERE sha256 = '{sha}'")
        }
    };
    app.store()
        .read(move |c| Ok(diesel::sql_query(tamper).execute(c)?))
        .unwrap_or_else(|e| panic!("{e}"));
    let v = app
        .post(
            &format!("/api/v1/cases/{a}/evidence/{eid}/verify"),
            &analyst,
            json!({}),
        )
        .expect(200);
    assert_eq!(v.json["intact"], false);
    assert_ne!(v.json["computed_sha256"], json!(sha));

    // Listing, and what may not be done.
    let list = app
        .get(&format!("/api/v1/cases/{a}/evidence"), &bob)
        .expect(200);
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    let audit: Value = app
        .get(&format!("/api/v1/cases/{a}/audit?limit=200"), &lead)
        .expect(200)
        .json;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"evidence.create") && actions.contains(&"evidence.verify"));
    app.raw(
        "POST",
        &format!("/api/v1/cases/{a}/evidence"),
        Some(&analyst),
        "application/octet-stream",
        b"",
        &[],
    )
    .expect(400);
    app.raw(
        "POST",
        &format!("/api/v1/cases/{a}/evidence?source=message_attachment"),
        Some(&analyst),
        "application/octet-stream",
        b"x",
        &[],
    )
    .expect(422);
    app.raw(
        "POST",
        &format!("/api/v1/cases/{a}/evidence?filename=..%2Fetc%2Fpasswd"),
        Some(&analyst),
        "application/octet-stream",
        b"x",
        &[],
    )
    .expect(422);
    app.raw(
        "POST",
        &format!("/api/v1/cases/{a}/evidence"),
        Some(&analyst),
        "not a type",
        b"x",
        &[],
    )
    .expect(415);
    let (_, gw) = {
        let t = app
            .post(
                "/api/v1/tokens",
                &app.user("root", Role::Admin).1,
                json!({"name": "reader", "scopes": ["cases:read"]}),
            )
            .expect(201);
        ((), t.json["secret"].as_str().unwrap_or_default().to_owned())
    };
    app.raw(
        "POST",
        &format!("/api/v1/cases/{a}/evidence"),
        Some(&gw),
        "application/octet-stream",
        b"x",
        &[],
    )
    .expect(403);

    // Paged in the order collected: two more items, walked one at a time, the same list.
    for name in ["second.txt", "third.txt"] {
        app.raw(
            "POST",
            &format!("/api/v1/cases/{a}/evidence?filename={name}"),
            Some(&analyst),
            "text/plain",
            name.as_bytes(),
            &[],
        )
        .expect(201);
    }
    let all = app
        .get(&format!("/api/v1/cases/{a}/evidence?limit=200"), &analyst)
        .expect(200);
    assert!(all.json["next_cursor"].is_null());
    let (walked, pages) = app.walk(&format!("/api/v1/cases/{a}/evidence"), &analyst, 1);
    assert!(pages >= 3);
    assert_eq!(Some(&walked), all.json["items"].as_array());
}

on_both_backends!(evidence_keeps_bytes_and_custody);
