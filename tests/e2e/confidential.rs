//! Confidential cases exist only for their assignee, users granted access, leads and admins.

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
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

on_both_backends!(
    confidential_cases_never_leak,
    a_confidential_case_stays_visible_to_who_opened_it
);
