//! A whole case life, from first contact to closure, and a restart that loses nothing.

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::{json, Value};

fn full_case_life(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (handler_id, h) = app.user("hana", Role::Handler);
    let (_, lead) = app.user("leo", Role::Lead);

    // First contact: the beneficiary is recorded, then vetted.
    let b = app
        .post(
            "/api/v1/beneficiaries",
            &h,
            json!({
                "name": "Amal R.",
                "emails": ["Amal@Example.org"],
                "channels": [{"kind": "signal", "value": "+33 6 00 00 00 00"}],
                "preferred_language": "fr",
                "organisation": "Radio Libre",
                "country": "fr",
                "audience": "journalist"
            }),
        )
        .expect(201);
    let bid = b.id();
    assert_eq!(b.json["verification"], "unverified");
    assert_eq!(b.json["country"], "FR");
    let v = app
        .post(
            &format!("/api/v1/beneficiaries/{bid}/verification"),
            &h,
            json!({"status": "verified", "method": "trusted_partner", "vouched_by": "Partner Org", "note": "called back on known number"}),
        )
        .expect(201);
    assert_eq!(v.json["beneficiary"]["verification"], "verified");
    let hist = app
        .get(&format!("/api/v1/beneficiaries/{bid}/verification"), &h)
        .expect(200);
    assert_eq!(hist.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(hist.json["items"][0]["method"], "trusted_partner");

    let party = app
        .post("/api/v1/parties", &h, json!({"name": "Instagram Trust & Safety", "kind": "platform", "emails": ["ts@platform.example"]}))
        .expect(201);
    let pid = party.id();

    // The case is opened and worked.
    let c = app
        .post(
            "/api/v1/cases",
            &h,
            json!({
                "beneficiary_id": bid,
                "summary": "Instagram account hijacked, 2FA changed",
                "description": "Attacker changed email and phone on the account.",
                "urgency": "high",
                "impact": "high",
                "service_type": "account_security",
                "assignee_id": handler_id,
                "tags": ["Instagram", "hijack"]
            }),
        )
        .expect(201);
    let id = c.id();
    let reference = c.json["ref"].as_i64().unwrap_or_default();
    assert!(reference > 1000);
    assert_eq!(c.json["status"], "new");
    assert_eq!(c.json["priority"], "P1");
    assert_eq!(c.json["tags"], json!(["hijack", "instagram"]));
    assert_eq!(c.header("etag"), Some("\"1\""));
    assert_eq!(
        c.header("location").map(str::to_owned),
        Some(format!("/api/v1/cases/{id}"))
    );

    let by_ref = app
        .get(&format!("/api/v1/cases/{reference}"), &h)
        .expect(200);
    assert_eq!(by_ref.json["id"], json!(id));
    let opened = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            &h,
            "\"1\"",
            json!({"status": "open"}),
        )
        .expect(200);
    assert_eq!(opened.header("etag"), Some("\"2\""));

    app.post(
        &format!("/api/v1/cases/{id}/messages"),
        &h,
        json!({"direction": "in", "channel": "signal", "body": "They took my account this morning", "occurred_at": "2026-01-05T08:00:00Z"}),
    )
    .expect(201);
    let out = app
        .post(
            &format!("/api/v1/cases/{id}/messages"),
            &h,
            json!({"direction": "out", "channel": "email", "subject": "Your request", "body": "We are on it."}),
        )
        .expect(201);
    assert_eq!(out.json["counterpart"], json!({"kind": "beneficiary"}));
    app.post(
        &format!("/api/v1/cases/{id}/messages"),
        &h,
        json!({"direction": "out", "channel": "email", "counterpart": {"kind": "party", "party_id": pid}, "body": "Escalating a hijacked account."}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{id}/comments"),
        &h,
        json!({"body": "Looks like SIM swap."}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{id}/actions"),
        &h,
        json!({"kind": "platform_report", "description": "Reported the account to the platform's escalation channel"}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{id}/parties"),
        &h,
        json!({"party_id": pid, "role": "escalation_target", "note": "T&S desk"}),
    )
    .expect(201);
    let step = app
        .post(
            &format!("/api/v1/cases/{id}/next-steps"),
            &h,
            json!({"title": "Check recovery went through", "assignee_id": handler_id, "due_at": "2030-01-01T00:00:00Z"}),
        )
        .expect(201);
    let sid = step.id();
    let done = app
        .patch(
            &format!("/api/v1/cases/{id}/next-steps/{sid}"),
            &h,
            "\"1\"",
            json!({"done": true}),
        )
        .expect(200);
    assert_eq!(done.json["done"], true);
    assert!(done.json["done_at"].is_string());

    let case = app.get(&format!("/api/v1/cases/{id}"), &h).expect(200);
    assert!(
        case.json["first_response_at"].is_string(),
        "the outbound message is the first response"
    );
    let etag = case.header("etag").unwrap_or_default().to_owned();
    let resolved = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            &h,
            &etag,
            json!({"status": "resolved"}),
        )
        .expect(200);
    assert!(resolved.json["resolved_at"].is_string());
    let etag = resolved.header("etag").unwrap_or_default().to_owned();
    let closed = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            &lead,
            &etag,
            json!({"status": "closed"}),
        )
        .expect(200);
    assert_eq!(closed.json["status"], "closed");
    assert!(closed.json["closed_at"].is_string());

    // The timeline holds everything, in time order.
    let tl = app
        .get(&format!("/api/v1/cases/{id}/timeline?limit=200"), &h)
        .expect(200);
    assert!(tl.json["next_cursor"].is_null(), "one page holds it all");
    let items = tl.json["items"].as_array().cloned().unwrap_or_default();
    // Walked three entries at a time, across kinds, it is the same list: every page boundary
    // continues exactly where the last page ended, and the last cursor reaches the end.
    let (walked, pages) = app.walk(&format!("/api/v1/cases/{id}/timeline"), &h, 3);
    assert!(pages > 2, "the walk crossed several pages");
    assert_eq!(walked, items);
    app.get(&format!("/api/v1/cases/{id}/timeline?cursor=bogus"), &h)
        .expect(422);
    let kinds: Vec<&str> = items.iter().filter_map(|i| i["kind"].as_str()).collect();
    for k in [
        "message",
        "comment",
        "action",
        "next_step",
        "party",
        "audit",
    ] {
        assert!(kinds.contains(&k), "timeline lacks {k}: {kinds:?}");
    }
    let times: Vec<&str> = items.iter().filter_map(|i| i["at"].as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "timeline out of order");
    assert_eq!(
        items.first().map(|i| i["kind"].clone()),
        Some(json!("message")),
        "the 8:00 message came first"
    );

    // The audit trail has every mutation.
    let audit = app
        .get(&format!("/api/v1/cases/{id}/audit?limit=200"), &h)
        .expect(200);
    assert!(audit.json["next_cursor"].is_null());
    // Paged in the chain's order: two pages of four, continued by the cursor, are its start.
    let first = app
        .get(&format!("/api/v1/cases/{id}/audit?limit=4"), &h)
        .expect(200);
    let cursor = first.json["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let second = app
        .get(
            &format!("/api/v1/cases/{id}/audit?limit=4&cursor={cursor}"),
            &h,
        )
        .expect(200);
    let paged: Vec<Value> = [&first.json, &second.json]
        .iter()
        .flat_map(|p| p["items"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        Some(&paged[..]),
        audit.json["items"].as_array().map(|a| &a[..8.min(a.len())])
    );
    let total = audit.json["items"].as_array().map_or(0, Vec::len);
    let last = app
        .get(
            &format!("/api/v1/cases/{id}/audit?limit={}", total.max(1)),
            &h,
        )
        .expect(200);
    assert!(
        last.json["next_cursor"].is_null(),
        "a page that holds it all is the last"
    );
    let actions: Vec<String> = audit.json["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["action"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for a in [
        "case.create",
        "case.update",
        "message.create",
        "case.first_response",
        "comment.create",
        "action.create",
        "case_party.create",
        "next_step.create",
        "next_step.update",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "audit lacks {a}: {actions:?}"
        );
    }
    let updates: Vec<&Value> = audit.json["items"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["action"] == "case.update").collect())
        .unwrap_or_default();
    assert_eq!(
        updates.last().map(|e| e["changes"]["status"].clone()),
        Some(json!({"from": "resolved", "to": "closed"}))
    );
    let seqs: Vec<i64> = audit.json["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["seq"].as_i64()).collect())
        .unwrap_or_default();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // Message bodies never enter the audit trail.
    assert!(!audit.text.contains("They took my account"));

    let mine = app
        .get(&format!("/api/v1/beneficiaries/{bid}/cases"), &h)
        .expect(200);
    assert_eq!(mine.json["items"].as_array().map(Vec::len), Some(1));
    let filtered = app.get("/api/v1/cases?status=closed&tag=instagram&audience=journalist&service_type=account_security&urgency=high&priority=P1", &h).expect(200);
    assert_eq!(filtered.json["items"].as_array().map(Vec::len), Some(1));
    let none = app.get("/api/v1/cases?status=open", &h).expect(200);
    assert_eq!(none.json["items"].as_array().map(Vec::len), Some(0));

    // A restart loses nothing.
    let timeline_before = tl.json.clone();
    let db = app.stop();
    let app = TestApp::start(db, None);
    let h = app.login("hana");
    let again = app
        .get(&format!("/api/v1/cases/{reference}"), &h)
        .expect(200);
    assert_eq!(again.json["status"], "closed");
    let tl_after = app
        .get(&format!("/api/v1/cases/{id}/timeline?limit=200"), &h)
        .expect(200);
    assert_eq!(tl_after.json, timeline_before);
}

fn pagination_and_sorting(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h) = app.user("hana", Role::Handler);
    let b = app
        .post("/api/v1/beneficiaries", &h, json!({"name": "Org"}))
        .expect(201);
    let bid = b.id();
    let mut refs = Vec::new();
    for i in 0..7 {
        let c = app
            .post("/api/v1/cases", &h, json!({"beneficiary_id": bid, "summary": format!("case {i}"), "urgency": "low", "service_type": "phishing"}))
            .expect(201);
        refs.push(c.json["ref"].as_i64().unwrap_or_default());
    }
    // Touch the oldest, so that it sorts first by update.
    let first = app
        .get(&format!("/api/v1/cases/{}", refs[0]), &h)
        .expect(200);
    let etag = first.header("etag").unwrap_or_default().to_owned();
    app.patch(
        &format!("/api/v1/cases/{}", refs[0]),
        &h,
        &etag,
        json!({"urgency": "medium"}),
    )
    .expect(200);

    for (sort, expected) in [
        ("-created", refs.iter().rev().copied().collect::<Vec<_>>()),
        ("created", refs.clone()),
        (
            "-updated",
            std::iter::once(refs[0])
                .chain(refs[1..].iter().rev().copied())
                .collect(),
        ),
        (
            "updated",
            refs[1..]
                .iter()
                .copied()
                .chain(std::iter::once(refs[0]))
                .collect(),
        ),
    ] {
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("/api/v1/cases?sort={sort}&limit=3&cursor={c}"),
                None => format!("/api/v1/cases?sort={sort}&limit=3"),
            };
            let page = app.get(&url, &h).expect(200);
            got.extend(
                page.json["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["ref"].as_i64()),
            );
            match page.json["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(got, expected, "sort={sort}");
    }
}

fn idempotent_creation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h) = app.user("hana", Role::Handler);
    let body = json!({"beneficiary": {"name": "Walk-in", "emails": ["w@example.net"]}, "summary": "phishing", "urgency": "medium", "service_type": "phishing"});
    let key = [("idempotency-key", "form-submission-42")];
    let first = app
        .call("POST", "/api/v1/cases", Some(&h), Some(&body), &key)
        .expect(201);
    let again = app
        .call("POST", "/api/v1/cases", Some(&h), Some(&body), &key)
        .expect(201);
    assert_eq!(first.json, again.json);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let list = app.get("/api/v1/cases", &h).expect(200);
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));
    let other = json!({"beneficiary_id": first.json["beneficiary_id"], "summary": "other", "urgency": "low", "service_type": "phishing"});
    let r = app
        .call("POST", "/api/v1/cases", Some(&h), Some(&other), &key)
        .expect(422);
    assert_eq!(r.json["errors"][0]["field"], "Idempotency-Key");
    // The same email cannot belong to two beneficiaries.
    let dup = app
        .post(
            "/api/v1/beneficiaries",
            &h,
            json!({"name": "Someone", "emails": ["W@EXAMPLE.NET"]}),
        )
        .expect(409);
    assert!(dup.json["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("already belongs"));
}

on_both_backends!(full_case_life, pagination_and_sorting, idempotent_creation);
