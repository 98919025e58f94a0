//! Every list under a case or a beneficiary is paged with a cursor: walked one item at a time
//! it is the same list as read in one page, and the last cursor reaches the end.

use std::path::Path;

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::{json, Value};

fn certificate(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/mail/tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Walks `path` one item a page and checks it against one page of 200.
fn pages_like_a_whole(app: &TestApp, token: &str, path: &str, at_least: usize) {
    let whole: Vec<Value> = app
        .get(&format!("{path}?limit=200"), token)
        .expect(200)
        .json["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(whole.len() >= at_least, "{path}: {} items", whole.len());
    let (walked, pages) = app.walk(path, token, 1);
    assert_eq!(pages, whole.len(), "{path}: one page per item");
    assert_eq!(walked, whole, "{path}: walked in order, nothing twice");
}

fn lists_under_a_case_and_a_beneficiary_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, lead) = app.user("lead", Role::Lead);
    let case = app.open_case(&lead);
    let (a, bid) = (
        case.id(),
        case.json["beneficiary_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );

    // Links to three other cases.
    for _ in 0..3 {
        let other = app.open_case(&lead).id();
        app.post(
            &format!("/api/v1/cases/{a}/links"),
            &lead,
            json!({"target": other, "kind": "related"}),
        )
        .expect(201);
    }
    // An empty cursor (a form sends every field) is the first page; one this server did not
    // issue is refused.
    let first = app
        .get(&format!("/api/v1/cases/{a}/links?limit=2"), &lead)
        .expect(200);
    let empty = app
        .get(&format!("/api/v1/cases/{a}/links?limit=2&cursor="), &lead)
        .expect(200);
    assert_eq!(first.json, empty.json);
    app.get(&format!("/api/v1/cases/{a}/links?cursor=forged"), &lead)
        .expect(422);
    // One party in two roles and another in one: the cursor tells roles apart.
    let p1 = app.party(&lead, "P1", "platform");
    let p2 = app.party(&lead, "P2", "platform");
    for (party, role) in [
        (&p1, "intermediary"),
        (&p1, "other"),
        (&p2, "referral_partner"),
    ] {
        app.post(
            &format!("/api/v1/cases/{a}/parties"),
            &lead,
            json!({"party_id": party, "role": role}),
        )
        .expect(201);
    }
    // Three colleagues granted access, and the case handed from one to the next.
    for i in 0..3 {
        let (uid, _) = app.user(&format!("handler{i}"), Role::Handler);
        app.post(
            &format!("/api/v1/cases/{a}/access"),
            &lead,
            json!({"user_id": uid}),
        )
        .expect(201);
        let etag = app
            .get(&format!("/api/v1/cases/{a}"), &lead)
            .expect(200)
            .header("etag")
            .unwrap_or_default()
            .to_owned();
        app.call(
            "POST",
            &format!("/api/v1/cases/{a}/handoff"),
            Some(&lead),
            Some(&json!({"to": uid, "note": format!("over to you, {i}")})),
            &[("if-match", &etag)],
        )
        .expect(200);
    }
    // Three vetting decisions and three certificates for the beneficiary.
    for status in ["verified", "unverified", "verified"] {
        app.post(
            &format!("/api/v1/beneficiaries/{bid}/verification"),
            &lead,
            json!({"status": status, "method": "in_person"}),
        )
        .expect(201);
    }
    for key in ["alice.asc", "bob.asc", "carol.asc"] {
        app.post(
            &format!("/api/v1/beneficiaries/{bid}/certificates"),
            &lead,
            json!({"armored": certificate(key), "confirmed": true, "accept_mismatch": true}),
        )
        .expect(201);
    }

    for (path, n) in [
        (format!("/api/v1/cases/{a}/links"), 3),
        (format!("/api/v1/cases/{a}/parties"), 3),
        (format!("/api/v1/cases/{a}/access"), 3),
        (format!("/api/v1/cases/{a}/handoffs"), 3),
        (format!("/api/v1/beneficiaries/{bid}/verification"), 3),
        (format!("/api/v1/beneficiaries/{bid}/certificates"), 3),
    ] {
        pages_like_a_whole(&app, &lead, &path, n);
    }
    // A cursor the server did not hand out is refused, never misread.
    for forged in ["%25%25%25", "eyJpIjoiMSJ9"] {
        app.get(
            &format!("/api/v1/cases/{a}/parties?limit=1&cursor={forged}"),
            &lead,
        )
        .expect(422);
    }
}

on_both_backends!(lists_under_a_case_and_a_beneficiary_page);
