//! Confidential cases exist only for their assignee, users granted access, leads and admins;
//! so do the people whose every case is confidential.

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, run_cli, Backend, TestApp};
use serde_json::json;

fn confidential_cases_never_leak(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (alice_id, alice) = app.user("alice", Role::Handler);
    let (_, bob) = app.user("bob", Role::Handler);
    let (carol_id, carol) = app.user("carol", Role::Analyst);
    let (_, lead) = app.user("leo", Role::Lead);
    let (_, admin) = app.user("root", Role::Admin);
    let (_, gw) = {
        let t = app
            .post(
                "/api/v1/tokens",
                &admin,
                json!({"name": "reader", "scopes": ["cases:read"]}),
            )
            .expect(201);
        ((), t.json["secret"].as_str().unwrap_or_default().to_owned())
    };

    let b = app
        .post(
            "/api/v1/beneficiaries",
            &lead,
            json!({"name": "Source", "audience": "human_rights_defender"}),
        )
        .expect(201);
    let bid = b.id();
    let secret = app
        .post(
            "/api/v1/cases",
            &lead,
            json!({"beneficiary_id": bid, "summary": "Spyware on a source's phone", "urgency": "critical", "service_type": "malware", "confidential": true, "assignee_id": alice_id, "tags": ["pegasus"]}),
        )
        .expect(201);
    let id = secret.id();
    let reference = secret.json["ref"].as_i64().unwrap_or_default();
    app.post(
        &format!("/api/v1/cases/{id}/comments"),
        &lead,
        json!({"body": "do not discuss outside"}),
    )
    .expect(201);
    app.post("/api/v1/cases", &lead, json!({"beneficiary_id": bid, "summary": "Ordinary", "urgency": "low", "service_type": "phishing"}))
        .expect(201);

    let sub = [
        "",
        "/timeline",
        "/messages",
        "/comments",
        "/actions",
        "/next-steps",
        "/parties",
        "/audit",
    ];
    let sees = |token: &str, yes: bool| {
        let reads_audit = app.get("/api/v1/me", token).json["permissions"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("read_audit")));
        for s in sub.iter().filter(|s| reads_audit || **s != "/audit") {
            for key in [id.clone(), reference.to_string()] {
                let r = app.get(&format!("/api/v1/cases/{key}{s}"), token);
                if yes {
                    r.expect(200);
                } else {
                    let r = r.expect(404);
                    assert!(!r.text.contains("Spyware"));
                }
            }
        }
        for q in [
            "",
            "?confidential=true",
            "?tag=pegasus",
            "?urgency=critical",
            "?service_type=malware",
            "?status=new",
            "?sort=-updated",
        ] {
            let list = app.get(&format!("/api/v1/cases{q}"), token).expect(200);
            assert_eq!(list.text.contains("Spyware"), yes, "list {q}");
        }
        let mine = app
            .get(&format!("/api/v1/beneficiaries/{bid}/cases"), token)
            .expect(200);
        assert_eq!(mine.text.contains("Spyware"), yes);
        let n = mine.json["items"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default();
        assert_eq!(n, if yes { 2 } else { 1 }, "counts reveal nothing either");
    };
    sees(&alice, true);
    sees(&lead, true);
    sees(&admin, true);
    sees(&bob, false);
    sees(&carol, false);
    sees(&gw, false);
    // Writes are refused as if the case did not exist.
    app.post(
        &format!("/api/v1/cases/{id}/comments"),
        &bob,
        json!({"body": "x"}),
    )
    .expect(404);
    app.patch(
        &format!("/api/v1/cases/{id}"),
        &bob,
        "\"1\"",
        json!({"summary": "x"}),
    )
    .expect(404);

    // A lead grants the analyst access; then she sees it, and bob still does not.
    app.post(
        &format!("/api/v1/cases/{id}/access"),
        &lead,
        json!({"user_id": carol_id}),
    )
    .expect(201);
    sees(&carol, true);
    sees(&bob, false);
    // A handler may not lift confidentiality.
    let cur = app.get(&format!("/api/v1/cases/{id}"), &alice).expect(200);
    let etag = cur.header("etag").unwrap_or_default().to_owned();
    app.patch(
        &format!("/api/v1/cases/{id}"),
        &alice,
        &etag,
        json!({"confidential": false}),
    )
    .expect(403);
    app.call(
        "DELETE",
        &format!("/api/v1/cases/{id}/access/{carol_id}"),
        Some(&lead),
        None,
        &[],
    )
    .expect(204);
    sees(&carol, false);
}

fn a_confidential_case_stays_visible_to_who_opened_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, hana) = app.user("hana", Role::Handler);
    let (_, bob) = app.user("bob", Role::Handler);
    let c = app
        .post(
            "/api/v1/cases",
            &hana,
            json!({"beneficiary": {"name": "Anonymous"}, "summary": "Threats", "urgency": "high", "service_type": "harassment", "confidential": true}),
        )
        .expect(201);
    let id = c.id();
    app.get(&format!("/api/v1/cases/{id}"), &hana).expect(200);
    app.get(&format!("/api/v1/cases/{id}"), &bob).expect(404);
}

/// A person is as hidden as their cases: a beneficiary whose every case is confidential and
/// out of the caller's reach is not found, by every route that names or lists people.
fn a_person_is_as_hidden_as_their_cases(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (bob_id, bob) = app.user("bob", Role::Handler);
    let (_, lead) = app.user("leo", Role::Lead);
    let open_case = |name: &str, email: &str, confidential: bool| {
        app.post(
            "/api/v1/cases",
            &lead,
            json!({"beneficiary": {"name": name, "emails": [email]}, "summary": "Help", "urgency": "high", "service_type": "malware", "confidential": confidential}),
        )
        .expect(201)
    };
    let hidden = open_case("Hidden Source", "source@example.org", true);
    let (hidden_case, hid) = (
        hidden.id(),
        hidden.json["beneficiary_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let seen = open_case("Open Person", "open@example.org", false);
    let sid = seen.json["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let newcomer = app
        .post(
            "/api/v1/beneficiaries",
            &lead,
            json!({"name": "No Case Yet", "emails": ["new@example.org"]}),
        )
        .expect(201)
        .id();
    // Someone with a confidential case and an ordinary one is seen through the ordinary one.
    let both = open_case("Two Cases", "two@example.org", true).json["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post("/api/v1/cases", &lead, json!({"beneficiary_id": both, "summary": "Other", "urgency": "low", "service_type": "phishing"}))
        .expect(201);

    let listed = |token: &str, query: &str| -> Vec<String> {
        app.get(&format!("/api/v1/beneficiaries{query}"), token)
            .expect(200)
            .json["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|b| b["id"].as_str().map(str::to_owned))
            .collect()
    };
    let all = listed(&bob, "");
    assert!(!all.contains(&hid), "a hidden person is not listed");
    for id in [&sid, &newcomer, &both] {
        assert!(all.contains(id), "{id} is listed");
    }
    assert!(listed(&bob, "?email=source@example.org").is_empty());
    assert!(!listed(&bob, "?limit=1").contains(&hid));
    let b = format!("/api/v1/beneficiaries/{hid}");
    for path in [
        b.clone(),
        format!("{b}/cases"),
        format!("{b}/certificates"),
        format!("{b}/verification"),
    ] {
        let r = app.get(&path, &bob).expect(404);
        assert!(
            !r.text.contains("Hidden Source") && !r.text.contains("source@example.org"),
            "{path}: {}",
            r.text
        );
    }
    app.patch(&b, &bob, "\"1\"", json!({"name": "Changed"}))
        .expect(404);
    app.post(
        &format!("{b}/verification"),
        &bob,
        json!({"status": "rejected"}),
    )
    .expect(404);
    app.call(
        "PUT",
        &format!("{b}/mail-policy"),
        Some(&bob),
        Some(&json!({"require_encryption": true})),
        &[],
    )
    .expect(404);
    app.get(&format!("/api/v1/beneficiaries/{sid}"), &bob)
        .expect(200);
    app.get(&format!("/api/v1/beneficiaries/{newcomer}"), &bob)
        .expect(200);

    // Creating with a hidden person's address neither confirms it nor shows them: no record is
    // made by hand; a case opened with it is theirs, confidential, out of the opener's sight,
    // and before the leads.
    let r = app
        .post(
            "/api/v1/beneficiaries",
            &bob,
            json!({"name": "Someone", "emails": ["SOURCE@example.org"]}),
        )
        .expect(202);
    assert_eq!(r.json["referred"], false);
    let r = app
        .post(
            "/api/v1/cases",
            &bob,
            json!({"beneficiary": {"name": "Someone", "emails": ["source@example.org"]}, "summary": "They wrote again", "urgency": "medium", "service_type": "phishing"}),
        )
        .expect(202);
    assert_eq!(r.json["referred"], true);
    for leak in ["Hidden Source", hid.as_str(), "They wrote again"] {
        assert!(!r.text.contains(leak), "{}", r.text);
    }
    assert_eq!(r.header("location"), None);
    app.post("/api/v1/cases", &bob, json!({"beneficiary_id": hid, "summary": "Guess", "urgency": "low", "service_type": "phishing"}))
        .expect(422);
    // Giving a visible person the hidden one's address is refused without naming them; the
    // same for a visible owner names the record to merge with.
    let open = format!("/api/v1/beneficiaries/{sid}");
    let etag = app
        .get(&open, &bob)
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    let r = app
        .patch(
            &open,
            &bob,
            &etag,
            json!({"emails": ["open@example.org", "Source@example.org"]}),
        )
        .expect(409);
    for leak in ["Hidden Source", hid.as_str()] {
        assert!(!r.text.contains(leak), "{}", r.text);
    }
    let r = app
        .patch(
            &open,
            &bob,
            &etag,
            json!({"emails": ["open@example.org", "new@example.org"]}),
        )
        .expect(409);
    assert!(r.text.contains(&newcomer), "{}", r.text);
    let theirs = app
        .get(&format!("/api/v1/beneficiaries/{hid}/cases"), &lead)
        .expect(200)
        .json["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let referred = theirs
        .iter()
        .find(|c| c["summary"] == "They wrote again")
        .cloned()
        .unwrap_or_default();
    assert_eq!(referred["confidential"], true);
    assert_eq!(referred["assignee_id"], serde_json::Value::Null);
    assert_eq!(referred["escalation"]["reason"], "confidential_beneficiary");
    let queue = app.get("/api/v1/escalations", &lead).expect(200);
    assert!(
        queue.text.contains(referred["id"].as_str().unwrap_or("?")),
        "{}",
        queue.text
    );
    app.get(
        &format!(
            "/api/v1/cases/{}",
            referred["id"].as_str().unwrap_or_default()
        ),
        &bob,
    )
    .expect(404);
    assert!(!listed(&bob, "").contains(&hid));

    // Leads see everyone; a grant on the case makes the person visible with it.
    assert!(listed(&lead, "").contains(&hid));
    app.post(
        &format!("/api/v1/cases/{hidden_case}/access"),
        &lead,
        json!({"user_id": bob_id}),
    )
    .expect(201);
    app.get(&b, &bob).expect(200);
    assert!(listed(&bob, "").contains(&hid));
}

/// Every read of a confidential case and of its beneficiary's record is in the access log,
/// which leads read per case and per user, and which `verify-audit` checks like the audit trail.
fn reads_of_a_confidential_case_are_logged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (alice_id, alice) = app.user("alice", Role::Handler);
    let (_, lead) = app.user("leo", Role::Lead);
    let b = app
        .post("/api/v1/beneficiaries", &lead, json!({"name": "Source"}))
        .expect(201);
    let bid = b.id();
    let secret = app
        .post(
            "/api/v1/cases",
            &lead,
            json!({"beneficiary_id": bid, "summary": "Spyware", "urgency": "high", "service_type": "malware", "confidential": true, "assignee_id": alice_id}),
        )
        .expect(201);
    let id = secret.id();
    let open = app.open_case(&alice);
    // Writes are in the audit trail, not the access log; reads of an open case are not logged.
    app.post(
        &format!("/api/v1/cases/{id}/comments"),
        &alice,
        json!({"body": "noted"}),
    )
    .expect(201);
    app.get(&format!("/api/v1/cases/{}", open.id()), &alice)
        .expect(200);
    for path in [
        format!("/api/v1/cases/{id}"),
        format!("/api/v1/cases/{id}/timeline"),
        format!("/api/v1/beneficiaries/{bid}"),
    ] {
        app.get(&path, &alice).expect(200);
    }

    // A handler may not read the log; a lead reads it per case and per user.
    app.get(&format!("/api/v1/cases/{id}/reads"), &alice)
        .expect(403);
    app.get(&format!("/api/v1/users/{alice_id}/reads"), &alice)
        .expect(403);
    let by_alice = app
        .get(&format!("/api/v1/users/{alice_id}/reads?limit=2"), &lead)
        .expect(200);
    let items = by_alice.json["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 2, "{}", by_alice.text);
    let cursor = by_alice.json["next_cursor"].as_str().unwrap_or_default();
    let rest = app
        .get(
            &format!("/api/v1/users/{alice_id}/reads?limit=2&cursor={cursor}"),
            &lead,
        )
        .expect(200);
    let mut all = items;
    all.extend(rest.json["items"].as_array().cloned().unwrap_or_default());
    let reads: Vec<(String, String)> = all
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["changes"]["read"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        vec![
            ("case.read".to_owned(), format!("GET /api/v1/cases/{id}")),
            (
                "case.read".to_owned(),
                format!("GET /api/v1/cases/{id}/timeline")
            ),
            (
                "beneficiary.read".to_owned(),
                format!("GET /api/v1/beneficiaries/{bid}")
            ),
        ],
        "{all:?}"
    );
    for e in &all {
        assert_eq!(e["actor"], json!(format!("user:{alice_id}")));
        assert_eq!(e["case_id"], json!(id));
        let via = e["changes"]["via"].as_str().unwrap_or_default();
        assert!(via.starts_with("session:") && via.len() > 20, "{via}");
    }
    // The lead's own reading of the case's log is a read of the case too.
    let of_case = app
        .get(&format!("/api/v1/cases/{id}/reads"), &lead)
        .expect(200);
    let n = of_case.json["items"].as_array().map_or(0, Vec::len);
    assert_eq!(n, 4, "alice's three reads and the lead's: {}", of_case.text);

    // Tampering with the log is found.
    let (code, out, err) = run_cli(&app.db, &["admin", "verify-audit"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("access log intact: 4 reads verified"), "{out}");
    app.store()
        .read(|c| {
            Ok(diesel::RunQueryDsl::execute(
                diesel::sql_query("DELETE FROM access_events WHERE seq = 2"),
                c,
            )?)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = run_cli(&app.db, &["admin", "verify-audit"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("ACCESS LOG BROKEN: the chain breaks at read 3 (expected read 2)"),
        "{err}"
    );
    assert!(out.contains("audit trail intact"), "{out}");
}

on_both_backends!(
    reads_of_a_confidential_case_are_logged,
    confidential_cases_never_leak,
    a_confidential_case_stays_visible_to_who_opened_it,
    a_person_is_as_hidden_as_their_cases
);
