//! One visibility rule: every route that lists, searches, correlates or counts cases hides the
//! same confidential case from the same caller, and shows it to those entitled to it.

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::{json, Value};

/// Whether a JSON answer names the case, by id or by reference.
fn names(v: &Value, id: &str, reference: i64) -> bool {
    let text = v.to_string();
    text.contains(id) || text.contains(&format!("\"ref\":{reference}"))
}

fn every_route_hides_the_same_confidential_case(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (alice_id, alice) = app.user("alice", Role::Handler);
    let (_, bob) = app.user("bob", Role::Handler);
    let (_, carol) = app.user("carol", Role::Analyst);
    let (_, lead) = app.user("leo", Role::Lead);
    let b = app
        .post(
            "/api/v1/beneficiaries",
            &lead,
            json!({"name": "Source", "audience": "journalist"}),
        )
        .expect(201);
    let bid = b.id();
    let open = app
        .post(
            "/api/v1/cases",
            &lead,
            json!({"beneficiary_id": bid, "summary": "Phishing kit aimed at the newsroom", "urgency": "medium", "service_type": "phishing"}),
        )
        .expect(201);
    let open_id = open.id();
    let secret = app
        .post(
            "/api/v1/cases",
            &lead,
            json!({"beneficiary_id": bid, "summary": "Zebrafish spyware on a source's phone", "urgency": "medium", "service_type": "malware", "confidential": true, "assignee_id": alice_id}),
        )
        .expect(201);
    let (sid, sref) = (secret.id(), secret.json["ref"].as_i64().unwrap_or_default());
    for case in [&open_id, &sid] {
        app.post(
            &format!("/api/v1/cases/{case}/indicators"),
            &lead,
            json!({"kind": "domain", "value": "zebra-c2.example"}),
        )
        .expect(201);
    }
    let ind = app
        .get(
            "/api/v1/indicators?kind=domain&value=zebra-c2.example",
            &lead,
        )
        .expect(200)
        .json["indicator"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Each route, as (what it is, its answer for this caller, whether it names the case).
    let routes = |token: &str| -> Vec<(&'static str, bool)> {
        let get = |path: &str| app.get(path, token).expect(200).json;
        let lookup = get("/api/v1/indicators?kind=domain&value=zebra-c2.example");
        vec![
            ("case list", names(&get("/api/v1/cases"), &sid, sref)),
            (
                "filtered list",
                names(&get("/api/v1/cases?service_type=malware"), &sid, sref),
            ),
            (
                "search",
                names(&get("/api/v1/cases?q=zebrafish"), &sid, sref),
            ),
            (
                "beneficiary's cases",
                names(
                    &get(&format!("/api/v1/beneficiaries/{bid}/cases")),
                    &sid,
                    sref,
                ),
            ),
            (
                "correlation",
                names(
                    &get(&format!("/api/v1/cases/{open_id}/related")),
                    &sid,
                    sref,
                ),
            ),
            (
                "indicator holders",
                names(&get(&format!("/api/v1/indicators/{ind}/cases")), &sid, sref),
            ),
            ("indicator holder count", lookup["cases"] == json!(2)),
        ]
    };
    for (who, token, sees) in [
        ("assignee", &alice, true),
        ("lead", &lead, true),
        ("handler without a grant", &bob, false),
        ("analyst without a grant", &carol, false),
    ] {
        for (route, named) in routes(token) {
            assert_eq!(named, sees, "{route} for the {who}");
        }
    }
    // The leads' queue goes through the same rule (a lead sees every confidential case).
    let queue = app.get("/api/v1/escalations", &lead).expect(200).json;
    assert!(names(&queue, &sid, sref), "leads' queue");
}

on_both_backends!(every_route_hides_the_same_confidential_case);
