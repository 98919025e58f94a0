//! Workflow end to end: the roster spreads intake fairly, critical cases reach the leads and
//! the webhooks at once, targets break as the clock passes them, search folds accents and
//! hides what it must, statistics match counts made here, retention leaves nothing behind.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use helpline_domain::user::Role;
use helpline_tests::{
    on_both_backends, Backend, Receiver, TestApp, TestClock, TestDb, WEBHOOK_SECRET,
};
use serde_json::{json, Value};

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

fn start(db: TestDb, clock: &TestClock, hook: Option<&Receiver>) -> TestApp {
    let url = hook.map(|h| h.url.clone());
    TestApp::start_with(db, Some(clock.clock()), move |c| {
        // Tokens are stamped by the test clock and checked against the real one.
        c.jwt_ttl_seconds = 20 * 365 * 86_400;
        c.workflow.webhooks.breach_check_ms = 50;
        c.workflow.webhooks.poll_ms = 50;
        if let Some(u) = url {
            c.workflow.webhooks.urls = vec![u];
            c.workflow.webhooks.secret = helpline_api::config::Secret::new(WEBHOOK_SECRET);
        }
    })
}

fn new_case(app: &TestApp, token: &str, urgency: &str, extra: Value) -> Value {
    let mut body = json!({
        "beneficiary": {"name": "Rotation Test"},
        "summary": "Account taken over",
        "urgency": urgency,
        "service_type": "account_security",
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        // `null` takes a default field out (the API refuses null where the spec says none).
        for (k, v) in e {
            if v.is_null() {
                b.remove(k);
            } else {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    app.post("/api/v1/cases", token, body).expect(201).json
}

fn weight(urgency: &str) -> i64 {
    match urgency {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        _ => 1,
    }
}

fn roster_spreads_intake_fairly(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let clock = TestClock::at(monday());
    let app = start(db, &clock, None);
    let (_, lead) = app.user("lena", Role::Lead);
    let (_, admin) = app.user("root", Role::Admin);
    let (_, handler) = app.user("hugo", Role::Handler);
    let ids: Vec<String> = ["h1", "h2", "h3", "h4"]
        .iter()
        .map(|n| app.create_user(n, Role::Handler))
        .collect();
    let off_roster = app.create_user("h5", Role::Handler);
    // A week's rotation: all four on duty; h4 is away all week.
    let rot = app
        .post(
            "/api/v1/roster/rotation",
            &lead,
            json!({"user_ids": ids, "starts_at": monday(), "period": "week", "periods": 1, "per_period": 4}),
        )
        .expect(201);
    assert_eq!(rot.json["items"].as_array().map(Vec::len), Some(4));
    // A handler may not set the roster.
    app.post(
        "/api/v1/roster/shifts",
        &handler,
        json!({"user_id": ids[0], "starts_at": monday(), "ends_at": monday() + Duration::days(1)}),
    )
    .expect(403);
    app.post(
        "/api/v1/roster/absences",
        &lead,
        json!({"user_id": ids[3], "starts_at": monday(), "ends_at": monday() + Duration::days(7)}),
    )
    .expect(201);
    let roster = app.get("/api/v1/roster", &handler).expect(200);
    let on_duty: Vec<&str> = roster.json["on_duty"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(on_duty.len(), 3, "{}", roster.text);
    assert!(!on_duty.contains(&ids[3].as_str()));
    let w = app.get("/api/v1/workload", &lead).expect(200);
    let row = |id: &str| {
        w.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["user_id"] == json!(id))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(row(&ids[0])["on_duty"], json!(true), "{}", w.text);
    assert_eq!(row(&ids[3])["away"], json!(true));
    assert_eq!(row(&ids[3])["on_duty"], json!(false));

    // Monday morning: mail only (one urgency): counts stay within one case.
    let ingest = app
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "gateway", "scopes": ["mail:ingest"]}),
        )
        .expect(201)
        .json["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut got: HashMap<String, Vec<String>> = HashMap::new();
    for i in 0..10 {
        let raw = format!(
            "From: person{i}@example.org\r\nTo: help@helpline.example\r\nSubject: Help {i}\r\nMessage-ID: <m{i}.{}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy phone is acting strange.\r\n",
            uuid::Uuid::now_v7().simple()
        );
        let r = app
            .raw(
                "POST",
                "/api/v1/mail/inbound",
                Some(&ingest),
                "message/rfc822",
                raw.as_bytes(),
                &[],
            )
            .expect(201);
        let case = app
            .get(
                &format!("/api/v1/cases/{}", r.json["case_id"].as_str().unwrap_or("")),
                &lead,
            )
            .expect(200);
        let a = case.json["assignee_id"]
            .as_str()
            .unwrap_or("none")
            .to_owned();
        got.entry(a).or_default().push("medium".into());
        clock.advance(Duration::minutes(20));
    }
    let counts: Vec<usize> = ids[..3]
        .iter()
        .map(|h| got.get(h).map_or(0, Vec::len))
        .collect();
    let (max, min) = (
        counts.iter().max().copied().unwrap_or(0),
        counts.iter().min().copied().unwrap_or(0),
    );
    assert!(max - min <= 1, "mail intake counts {counts:?}");

    // The rest of the week: mixed urgencies through the API, a case an hour in office hours.
    let pattern = ["low", "medium", "high", "critical", "medium", "low", "high"];
    let mut n = 0;
    for day in 0..7 {
        clock.advance(Duration::hours(4));
        for _ in 0..8 {
            let u = pattern[n % pattern.len()];
            n += 1;
            let c = new_case(&app, &lead, u, json!({}));
            let a = c["assignee_id"].as_str().unwrap_or("none").to_owned();
            got.entry(a).or_default().push(u.into());
            clock.advance(Duration::hours(1));
        }
        clock.advance(Duration::hours(12));
        let _ = day;
    }
    assert!(!got.contains_key("none"), "every case was assigned");
    assert!(
        !got.contains_key(&ids[3]),
        "the away handler got {:?}",
        got.get(&ids[3])
    );
    assert!(
        !got.contains_key(&off_roster),
        "off the roster, yet assigned"
    );
    let loads: Vec<i64> = ids[..3]
        .iter()
        .map(|h| got.get(h).map_or(0, |v| v.iter().map(|u| weight(u)).sum()))
        .collect();
    let spread = loads.iter().max().unwrap_or(&0) - loads.iter().min().unwrap_or(&0);
    // Perfect balance is equal weighted loads; greedy assignment stays within one case.
    assert!(spread <= 4, "weighted loads {loads:?}");
    assert_eq!(got.values().map(Vec::len).sum::<usize>(), 66);

    // The workload view agrees with what we counted.
    let w = app.get("/api/v1/workload", &lead).expect(200);
    for (k, h) in ids.iter().enumerate() {
        let row = w.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["user_id"] == json!(h))
            .cloned()
            .unwrap_or(Value::Null);
        let mine = got.get(h).cloned().unwrap_or_default();
        assert_eq!(row["open"], json!(mine.len()), "{}", w.text);
        if k < 3 {
            assert_eq!(row["weighted"], json!(loads[k]));
            let crit = mine.iter().filter(|u| *u == "critical").count();
            assert_eq!(row["by_urgency"]["critical"], json!(crit));
        }
    }
    app.get("/api/v1/workload", &handler).expect(403);

    // A lead turns auto-assignment off: the next case waits unassigned.
    let s = app.call(
        "PUT",
        "/api/v1/roster/settings",
        Some(&lead),
        Some(&json!({"auto_assign": false})),
        &[],
    );
    assert_eq!(s.status, 200, "{}", s.text);
    let c = new_case(&app, &lead, "high", json!({}));
    assert_eq!(c["assignee_id"], Value::Null);

    // A hand-off carries its note to the timeline.
    let id = c["id"].as_str().unwrap_or_default().to_owned();
    let h = app.call(
        "POST",
        &format!("/api/v1/cases/{id}/handoff"),
        Some(&lead),
        Some(&json!({"to": ids[1], "note": "Beneficiary prefers Signal after 18:00"})),
        &[("if-match", &format!("\"{}\"", c["version"]))],
    );
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.json["case"]["assignee_id"], json!(ids[1]));
    let t = app
        .get(&format!("/api/v1/cases/{id}/timeline?limit=200"), &lead)
        .expect(200);
    let entry = t.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["kind"] == "handoff" && e["item"]["to_user"] == json!(ids[1]))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        entry["item"]["note"], "Beneficiary prefers Signal after 18:00",
        "{}",
        t.text
    );
    // Without a note it is refused.
    let again = app.call(
        "POST",
        &format!("/api/v1/cases/{id}/handoff"),
        Some(&lead),
        Some(&json!({"to": ids[0], "note": " "})),
        &[("if-match", &format!("\"{}\"", h.json["case"]["version"]))],
    );
    assert_eq!(again.status, 422, "{}", again.text);
}

fn reasons(app: &TestApp, lead: &str, id: &str) -> Vec<String> {
    let q = app.get("/api/v1/escalations", lead).expect(200);
    q.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["case"]["id"] == json!(id))
        .map(|i| {
            i["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn critical_cases_reach_leads_and_webhooks(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let hook = Receiver::start();
    let clock = TestClock::at(monday());
    let app = start(db, &clock, Some(&hook));
    let (_, lead) = app.user("lena", Role::Lead);
    let (hid, handler) = app.user("hugo", Role::Handler);
    app.post(
        "/api/v1/roster/shifts",
        &lead,
        json!({"user_id": hid, "starts_at": monday(), "ends_at": monday() + Duration::days(7)}),
    )
    .expect(201);
    let c = new_case(
        &app,
        &handler,
        "critical",
        json!({"beneficiary": {"name": "Mariam Haddad"}, "summary": "Mariam is being followed"}),
    );
    let id = c["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(c["escalation"]["reason"], "critical");
    assert_eq!(c["vetting"], "pending");
    assert_eq!(c["assignee_id"], json!(hid));
    // Before every lead at once.
    let r = reasons(&app, &lead, &id);
    assert!(r.contains(&"critical".to_owned()), "{r:?}");
    assert!(r.contains(&"vetting_pending".to_owned()), "{r:?}");
    app.get("/api/v1/escalations", &handler).expect(403);
    // Announced, signed, without a word about the person: created, escalated, assigned.
    let (assigned, before) = hook.wait_for("case.assigned", 20);
    let assigned = assigned.unwrap_or_else(|| panic!("no assignment webhook; got {before:?}"));
    assert_eq!(assigned.verified()["case"]["assignee_id"], json!(hid));
    let events: Vec<&str> = before
        .iter()
        .filter_map(|r| r.header("x-helpline-event"))
        .collect();
    assert_eq!(events, ["case.created", "case.escalated"]);
    for r in &before {
        let body = r.verified();
        assert_eq!(body["case"]["id"], json!(id));
        assert_eq!(body["case"]["urgency"], "critical");
        assert!(!r.body.contains("Mariam"), "{}", r.body);
    }
    // A lead takes it in hand: the critical reason leaves the queue (vetting still waits).
    let ack = app.call(
        "POST",
        &format!("/api/v1/cases/{id}/escalation/acknowledge"),
        Some(&lead),
        None,
        &[("if-match", &format!("\"{}\"", c["version"]))],
    );
    assert_eq!(ack.status, 200, "{}", ack.text);
    let r = reasons(&app, &lead, &id);
    assert!(!r.contains(&"critical".to_owned()), "{r:?}");
    assert!(r.contains(&"vetting_pending".to_owned()), "{r:?}");

    // Vetting: once verified, the marker and the queue entry go.
    let bid = c["beneficiary_id"].as_str().unwrap_or_default().to_owned();
    app.post(
        &format!("/api/v1/beneficiaries/{bid}/verification"),
        &handler,
        json!({"status": "verified", "method": "trusted_partner", "vouched_by": "Partner NGO"}),
    )
    .expect(201);
    let now = app.get(&format!("/api/v1/cases/{id}"), &lead).expect(200);
    assert_eq!(now.json["vetting"], "verified");
    assert!(reasons(&app, &lead, &id).is_empty());

    // A rejected beneficiary's new case is flagged for a lead; only a lead reverses it.
    let other = new_case(
        &app,
        &handler,
        "low",
        json!({"beneficiary": {"name": "Troll"}}),
    );
    let tid = other["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post(
        &format!("/api/v1/beneficiaries/{tid}/verification"),
        &handler,
        json!({"status": "rejected", "note": "out of mandate"}),
    )
    .expect(201);
    new_case(
        &app,
        &handler,
        "low",
        json!({"beneficiary": null, "beneficiary_id": tid}),
    );
    let flagged = app.get("/api/v1/cases?vetting=rejected", &lead).expect(200);
    let newest = flagged.json["items"][0].clone();
    assert_eq!(
        newest["escalation"]["reason"], "rejected_beneficiary",
        "{}",
        flagged.text
    );
    let nid = newest["id"].as_str().unwrap_or_default().to_owned();
    assert!(reasons(&app, &lead, &nid).contains(&"rejected_beneficiary".to_owned()));
    // The queue says how many cases need a lead, however few it lists.
    let all = app.get("/api/v1/escalations", &lead).expect(200);
    let n = all.json["items"].as_array().map_or(0, Vec::len);
    assert!(n >= 2, "{}", all.text);
    assert_eq!(all.json["total"], json!(n), "{}", all.text);
    let first = app.get("/api/v1/escalations?limit=1", &lead).expect(200);
    assert_eq!(first.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(first.json["total"], json!(n), "{}", first.text);
    assert_eq!(first.json["items"][0], all.json["items"][0]);
    app.post(
        &format!("/api/v1/beneficiaries/{tid}/verification"),
        &handler,
        json!({"status": "verified", "method": "in_person"}),
    )
    .expect(403);
    app.post(
        &format!("/api/v1/beneficiaries/{tid}/verification"),
        &lead,
        json!({"status": "verified", "method": "in_person"}),
    )
    .expect(201);

    // Deliveries are visible to admins.
    let (_, admin) = app.user("root", Role::Admin);
    let d = app
        .get("/api/v1/webhooks/deliveries?limit=200", &admin)
        .expect(200);
    assert!(d.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["event"] == "case.escalated" && x["state"] == "delivered"));
    // Paged newest first: a page boundary, then a cursor that reaches the end.
    let all = d.json["items"].as_array().cloned().unwrap_or_default();
    assert!(all.len() >= 3, "several deliveries: {}", all.len());
    let (walked, _) = app.walk("/api/v1/webhooks/deliveries", &admin, 2);
    // Newest first, each once, and none missed (a delivery queued meanwhile may only add).
    let ids = |v: &[serde_json::Value]| {
        v.iter()
            .filter_map(|x| x["id"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let walked = ids(&walked);
    let mut sorted = walked.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(walked, sorted, "newest first, no repeats");
    assert!(
        ids(&all).iter().all(|i| walked.contains(i)),
        "every delivery reached"
    );
    app.get("/api/v1/webhooks/deliveries", &lead).expect(403);
}

fn targets_break_when_the_clock_passes_them(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let hook = Receiver::start();
    let clock = TestClock::at(monday());
    let app = start(db, &clock, Some(&hook));
    let (_, lead) = app.user("lena", Role::Lead);
    let late = new_case(&app, &lead, "high", json!({}));
    let on_time = new_case(&app, &lead, "high", json!({}));
    let (late_id, ok_id) = (
        late["id"].as_str().unwrap_or_default().to_owned(),
        on_time["id"].as_str().unwrap_or_default().to_owned(),
    );
    assert_eq!(
        late["first_response_due_at"],
        json!(monday() + Duration::hours(4))
    );
    assert_eq!(
        late["resolution_due_at"],
        json!(monday() + Duration::days(3))
    );
    // Answered after an hour.
    clock.advance(Duration::hours(1));
    app.post(
        &format!("/api/v1/cases/{ok_id}/messages"),
        &lead,
        json!({"direction": "out", "channel": "signal", "body": "We are on it."}),
    )
    .expect(201);
    clock.advance(Duration::hours(2) + Duration::minutes(59));
    let c = app
        .get(&format!("/api/v1/cases/{late_id}"), &lead)
        .expect(200);
    assert_eq!(c.json["first_response_breached"], false);
    clock.advance(Duration::minutes(2));
    let c = app
        .get(&format!("/api/v1/cases/{late_id}"), &lead)
        .expect(200);
    assert_eq!(c.json["first_response_breached"], true);
    let c2 = app
        .get(&format!("/api/v1/cases/{ok_id}"), &lead)
        .expect(200);
    assert_eq!(c2.json["first_response_breached"], false);
    // Announced once, for the late case only.
    let (b, _) = hook.wait_for("case.sla_breached", 20);
    let b = b.unwrap_or_else(|| panic!("no breach webhook"));
    let body = b.verified();
    assert_eq!(body["case"]["id"], json!(late_id));
    assert_eq!(body["detail"]["target"], "first_response");
    assert!(reasons(&app, &lead, &late_id).contains(&"first_response_overdue".to_owned()));
    // A late answer stays late.
    app.post(
        &format!("/api/v1/cases/{late_id}/messages"),
        &lead,
        json!({"direction": "out", "channel": "email", "body": "Sorry for the wait."}),
    )
    .expect(201);
    let c = app
        .get(&format!("/api/v1/cases/{late_id}"), &lead)
        .expect(200);
    assert_eq!(c.json["first_response_breached"], true);
    assert!(!reasons(&app, &lead, &late_id).contains(&"first_response_overdue".to_owned()));
    // Resolution: the on-time case is resolved within three days; the other is not.
    let etag = c2.header("etag").unwrap_or_default().to_owned();
    app.patch(
        &format!("/api/v1/cases/{ok_id}"),
        &lead,
        &etag,
        json!({"status": "resolved"}),
    )
    .expect(200);
    clock.advance(Duration::days(3));
    let c = app
        .get(&format!("/api/v1/cases/{late_id}"), &lead)
        .expect(200);
    assert_eq!(c.json["resolution_breached"], true);
    let c2 = app
        .get(&format!("/api/v1/cases/{ok_id}"), &lead)
        .expect(200);
    assert_eq!(c2.json["resolution_breached"], false);
    let (r, _) = hook.wait_for("case.sla_breached", 20);
    let r = r.unwrap_or_else(|| panic!("no resolution breach webhook"));
    let body = r.verified();
    assert_eq!(body["detail"]["target"], "resolution");
    assert_eq!(body["case"]["id"], json!(late_id));
    // Raising the urgency moves the targets and escalates.
    let etag = c.header("etag").unwrap_or_default().to_owned();
    let up = app
        .patch(
            &format!("/api/v1/cases/{late_id}"),
            &lead,
            &etag,
            json!({"urgency": "critical"}),
        )
        .expect(200);
    assert_eq!(up.json["escalation"]["reason"], "critical");
    assert_eq!(
        up.json["first_response_due_at"],
        json!(monday() + Duration::hours(1))
    );
}

fn search_folds_accents_and_hides_confidential(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, lead) = app.user("lena", Role::Lead);
    let (aid, alice) = app.user("alice", Role::Handler);
    let (_, bob) = app.user("bob", Role::Handler);
    let open = |token: &str, summary: &str, extra: Value| -> String {
        let c = new_case(&app, token, "medium", json!({"summary": summary}));
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        if let Some(body) = extra.as_str() {
            app.post(
                &format!("/api/v1/cases/{id}/messages"),
                token,
                json!({"direction": "in", "channel": "email", "body": body}),
            )
            .expect(201);
        }
        id
    };
    let fr = open(
        &lead,
        "Problème de sécurité du compte",
        json!("Le compte a été piraté hier."),
    );
    let es = open(
        &lead,
        "Phishing",
        json!("Alerta de SEGURANÇA: la seguridad del correo"),
    );
    let ar = open(&lead, "Account", json!("تم اختراق الحساب"));
    let many = open(
        &lead,
        "Sécurité sécurité",
        json!("sécurité, encore la sécurité du téléphone"),
    );
    // Alice's confidential case holds the word too.
    let secret = new_case(
        &app,
        &lead,
        "high",
        json!({"summary": "Sécurité d'une source", "confidential": true, "assignee_id": aid}),
    )["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let ids = |r: &helpline_tests::Resp| -> Vec<String> {
        r.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["id"].as_str().map(str::to_owned))
            .collect()
    };
    let r = app.get("/api/v1/cases?q=securite", &bob).expect(200);
    let found = ids(&r);
    assert!(found.contains(&fr) && found.contains(&many), "{}", r.text);
    assert!(
        !found.contains(&secret),
        "a confidential case leaked to bob"
    );
    // Ranked: the case that says it four times comes first.
    assert_eq!(found.first(), Some(&many), "{}", r.text);
    let snippet = r.json["items"][0]["snippet"].as_str().unwrap_or_default();
    assert!(snippet.contains("<mark>Sécurité</mark>"), "{snippet}");
    // Alice and the lead see the confidential one.
    assert!(ids(&app.get("/api/v1/cases?q=SECURITE", &alice).expect(200)).contains(&secret));
    assert!(ids(&app
        .get("/api/v1/cases?q=s%C3%A9curit%C3%A9", &lead)
        .expect(200))
    .contains(&secret));
    // Accents either way, in other languages; Arabic by the exact word.
    assert_eq!(
        ids(&app.get("/api/v1/cases?q=seguranca", &bob).expect(200)),
        vec![es.clone()]
    );
    assert_eq!(
        ids(&app.get("/api/v1/cases?q=pirate", &bob).expect(200)),
        vec![fr.clone()]
    );
    let q = "%D8%A7%D8%AE%D8%AA%D8%B1%D8%A7%D9%82"; // اختراق
    assert_eq!(
        ids(&app.get(&format!("/api/v1/cases?q={q}"), &bob).expect(200)),
        vec![ar]
    );
    // Every word must be there; filters combine.
    assert_eq!(
        ids(&app
            .get("/api/v1/cases?q=securite+telephone", &bob)
            .expect(200)),
        vec![many.clone()]
    );
    assert!(ids(&app
        .get("/api/v1/cases?q=securite&urgency=high", &bob)
        .expect(200))
    .is_empty());
    assert_eq!(
        ids(&app
            .get("/api/v1/cases?q=securite&urgency=high", &lead)
            .expect(200)),
        vec![secret]
    );
    // Pages.
    let p1 = app
        .get("/api/v1/cases?q=securite&limit=1", &bob)
        .expect(200);
    let cur = p1.json["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let p2 = app
        .get(
            &format!("/api/v1/cases?q=securite&limit=1&cursor={cur}"),
            &bob,
        )
        .expect(200);
    assert_eq!(ids(&p1).len(), 1);
    assert_eq!(ids(&p2).len(), 1);
    assert_ne!(ids(&p1), ids(&p2));
    // Bad queries are the caller's error.
    app.get("/api/v1/cases?q=%20%2C%21", &bob).expect(422);
    app.get("/api/v1/cases?q=securite&sort=created", &bob)
        .expect(422);
    // Edits are searchable at once.
    let c = app.get(&format!("/api/v1/cases/{es}"), &bob).expect(200);
    let etag = c.header("etag").unwrap_or_default().to_owned();
    app.patch(
        &format!("/api/v1/cases/{es}"),
        &lead,
        &etag,
        json!({"summary": "Hameçonnage ciblé"}),
    )
    .expect(200);
    assert_eq!(
        ids(&app.get("/api/v1/cases?q=hameconnage", &bob).expect(200)),
        vec![es]
    );
}

#[derive(Default)]
struct Expected {
    total: usize,
    confidential: usize,
    status: HashMap<String, usize>,
    urgency: HashMap<String, usize>,
    response: Vec<i64>,
    resolution: Vec<i64>,
    response_breaches: usize,
}

fn nearest_rank(v: &mut [i64], p: f64) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let k = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    json!(v[k - 1])
}

fn stats_match_independent_counts(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let clock = TestClock::at(monday());
    let app = start(db, &clock, None);
    let (_, lead) = app.user("lena", Role::Lead);
    let (_, handler) = app.user("hugo", Role::Handler);
    // A returning beneficiary: first seen before the period.
    let old = new_case(
        &app,
        &lead,
        "low",
        json!({"beneficiary": {"name": "Old Friend"}}),
    );
    let friend = old["beneficiary_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    clock.advance(Duration::days(40));
    let from = clock.now();
    let mut exp = Expected::default();
    let urgencies = ["low", "medium", "high", "critical"];
    let mut beneficiaries_new = 0;
    for i in 0..24usize {
        let u = urgencies[i % 4];
        let confidential = i % 7 == 3;
        let extra = if i % 5 == 0 {
            json!({"beneficiary": null, "beneficiary_id": friend, "confidential": confidential})
        } else {
            json!({"confidential": confidential})
        };
        let c = new_case(&app, &lead, u, extra);
        if i % 5 != 0 && !confidential {
            beneficiaries_new += 1;
        }
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        exp.total += 1;
        let mut status = "new".to_owned();
        // Answers after (i * 37) minutes for most; resolutions after (i * 5) hours for some.
        if i % 3 != 2 {
            let wait = i64::try_from(i).unwrap_or(0) * 37;
            clock.advance(Duration::minutes(wait));
            app.post(
                &format!("/api/v1/cases/{id}/messages"),
                &lead,
                json!({"direction": "out", "channel": "email", "body": "Hello"}),
            )
            .expect(201);
            if !confidential {
                exp.response.push(wait * 60);
                let target = match u {
                    "critical" => 60,
                    "high" => 240,
                    "medium" => 1440,
                    _ => 4320,
                };
                if wait > target {
                    exp.response_breaches += 1;
                }
            }
            if i % 2 == 0 {
                let extra_hours = i64::try_from(i).unwrap_or(0) * 5;
                clock.advance(Duration::hours(extra_hours));
                let cur = app.get(&format!("/api/v1/cases/{id}"), &lead).expect(200);
                let etag = cur.header("etag").unwrap_or_default().to_owned();
                app.patch(
                    &format!("/api/v1/cases/{id}"),
                    &lead,
                    &etag,
                    json!({"status": "resolved"}),
                )
                .expect(200);
                status = "resolved".into();
                if !confidential {
                    exp.resolution.push(wait * 60 + extra_hours * 3600);
                }
            }
        }
        if confidential {
            exp.confidential += 1;
        } else {
            *exp.status.entry(status).or_default() += 1;
            *exp.urgency.entry(u.into()).or_default() += 1;
        }
        clock.advance(Duration::hours(3));
    }
    let to = clock.now() + Duration::seconds(1);
    // Cases never answered count as breaches once past due.
    clock.advance(Duration::days(4));
    let path = format!(
        "/api/v1/stats?from={}&to={}",
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .replace('+', "%2B"),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .replace('+', "%2B")
    );
    let s = app.get(&path, &lead).expect(200);
    let j = &s.json;
    assert_eq!(j["total"], json!(exp.total), "{}", s.text);
    assert_eq!(j["confidential"], json!(exp.confidential));
    for (k, v) in &exp.status {
        assert_eq!(j["by"]["status"][k], json!(v), "status {k}: {}", s.text);
    }
    for (k, v) in &exp.urgency {
        assert_eq!(j["by"]["urgency"][k], json!(v), "urgency {k}");
    }
    assert_eq!(j["by"]["urgency"]["confidential"], json!(exp.confidential));
    assert_eq!(
        j["by"]["service_type"]["account_security"],
        json!(exp.total - exp.confidential)
    );
    assert_eq!(
        j["time_to_first_response"]["count"],
        json!(exp.response.len())
    );
    assert_eq!(
        j["time_to_first_response"]["median_seconds"],
        nearest_rank(&mut exp.response, 0.5)
    );
    assert_eq!(
        j["time_to_first_response"]["p90_seconds"],
        nearest_rank(&mut exp.response, 0.9)
    );
    assert_eq!(
        j["time_to_resolution"]["median_seconds"],
        nearest_rank(&mut exp.resolution, 0.5)
    );
    assert_eq!(
        j["time_to_resolution"]["p90_seconds"],
        nearest_rank(&mut exp.resolution, 0.9)
    );
    // Unanswered, non-confidential: every third case; all past due four days later.
    let unanswered = (0..24usize).filter(|i| i % 3 == 2 && i % 7 != 3).count();
    assert_eq!(
        j["sla_breaches"]["first_response"],
        json!(exp.response_breaches + unanswered),
        "{}",
        s.text
    );
    assert_eq!(j["beneficiaries"]["returning"], json!(1));
    assert_eq!(j["beneficiaries"]["new"], json!(beneficiaries_new));
    // By month, and as CSV for the funders.
    let m = app
        .get(&format!("{path}&group_by=urgency,month"), &lead)
        .expect(200);
    let months = m.json["periods"].as_array().cloned().unwrap_or_default();
    let sum: u64 = months.iter().filter_map(|p| p[1]["total"].as_u64()).sum();
    assert_eq!(sum, exp.total as u64, "{}", m.text);
    assert!(m.json["by"]["status"].is_null());
    let csv = app.get(&format!("{path}&format=csv"), &lead).expect(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.text.starts_with("period,figure,value,count\n"));
    assert!(
        csv.text.contains(&format!("all,total,,{}\n", exp.total)),
        "{}",
        csv.text
    );
    // Only those who oversee the team.
    app.get(&path, &handler).expect(403);
    app.get(&format!("{path}&group_by=colour"), &lead)
        .expect(422);
    app.get(
        "/api/v1/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        &lead,
    )
    .expect(422);
}

/// Every row of every table of the database, as text.
fn dump(app: &TestApp) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    app.store()
        .read(|c| {
            let mut out = String::new();
            match c {
                helpline_store::DbConnection::Pg(_) => {
                    let tables: Vec<T> = diesel::sql_query(
                        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
                    )
                    .load(c)?;
                    for tb in tables {
                        let rows: Vec<T> =
                            diesel::sql_query(format!("SELECT x::text AS t FROM \"{}\" x", tb.t))
                                .load(c)?;
                        rows.into_iter().for_each(|r| out.push_str(&r.t));
                    }
                }
                helpline_store::DbConnection::Sqlite(_) => {}
            }
            Ok(out)
        })
        .unwrap_or_else(|e| panic!("{e}"))
}

fn retention_leaves_no_name_or_body(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    // A year ago.
    let clock = TestClock::at(Utc::now() - Duration::days(400));
    let app = start(db, &clock, None);
    let (_, lead) = app.user("lena", Role::Lead);
    let (_, handler) = app.user("hugo", Role::Handler);
    let mut ids = Vec::new();
    for (name, body, held) in [
        ("Zacarías Quiñones", "cuerpo-secreto-uno", false),
        ("Zacarías Quiñones", "cuerpo-secreto-dos", false),
        ("Held Person", "kept-for-the-court", true),
    ] {
        let c = new_case(
            &app,
            &lead,
            "medium",
            json!({"beneficiary": {"name": name, "emails": [format!("{}@example.org", body)]}, "summary": format!("Summary {body}")}),
        );
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        app.post(
            &format!("/api/v1/cases/{id}/messages"),
            &lead,
            json!({"direction": "in", "channel": "email", "body": format!("Message {body}")}),
        )
        .expect(201);
        app.post(
            &format!("/api/v1/cases/{id}/comments"),
            &lead,
            json!({"body": format!("Comment {body}")}),
        )
        .expect(201);
        app.raw(
            "POST",
            &format!("/api/v1/cases/{id}/evidence?filename=shot.png&description=screen"),
            Some(&lead),
            "image/png",
            format!("PNGDATA-{body}").as_bytes(),
            &[],
        )
        .expect(201);
        clock.advance(Duration::hours(2));
        for status in ["resolved", "closed"] {
            let cur = app.get(&format!("/api/v1/cases/{id}"), &lead).expect(200);
            let etag = cur.header("etag").unwrap_or_default().to_owned();
            app.patch(
                &format!("/api/v1/cases/{id}"),
                &lead,
                &etag,
                json!({"status": status}),
            )
            .expect(200);
        }
        if held {
            let cur = app.get(&format!("/api/v1/cases/{id}"), &lead).expect(200);
            let etag = cur.header("etag").unwrap_or_default().to_owned();
            app.call(
                "PUT",
                &format!("/api/v1/cases/{id}/legal-hold"),
                Some(&handler),
                Some(&json!({"reason": "court order 12/2026"})),
                &[("if-match", &etag)],
            )
            .expect(403);
            app.call(
                "PUT",
                &format!("/api/v1/cases/{id}/legal-hold"),
                Some(&lead),
                Some(&json!({"reason": "court order 12/2026"})),
                &[("if-match", &etag)],
            )
            .expect(200);
        }
        ids.push((
            id,
            c["beneficiary_id"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    // The beneficiary's own copy of what is held about them.
    let ex = app
        .get(&format!("/api/v1/beneficiaries/{}/export", ids[0].1), &lead)
        .expect(200);
    assert!(ex.text.contains("Zacarías Quiñones"));
    assert!(ex.text.contains("Message cuerpo-secreto-uno"));
    assert_eq!(ex.json["cases"].as_array().map(Vec::len), Some(1));
    app.get(
        &format!("/api/v1/beneficiaries/{}/export", ids[0].1),
        &handler,
    )
    .expect(403);

    let range = "from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z";
    let before = app
        .get(&format!("/api/v1/stats?{range}"), &lead)
        .expect(200)
        .json;

    let (code, out, err) = helpline_tests::run_cli(
        &app.db,
        &["admin", "retention", "--dry-run", "--days", "30"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 cases closed before"), "{out}");
    let (code, out, err) = helpline_tests::run_cli(
        &app.db,
        &["admin", "retention", "--apply", "--days", "30"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("anonymized 2 cases"), "{out}");

    let after = app
        .get(&format!("/api/v1/stats?{range}"), &lead)
        .expect(200)
        .json;
    assert_eq!(before, after, "statistics changed");
    // Through the API: nothing left of the two; the held one untouched.
    for (id, bid) in &ids[..2] {
        let t = app
            .get(&format!("/api/v1/cases/{id}/timeline?limit=200"), &lead)
            .expect(200)
            .text;
        assert!(!t.contains("cuerpo-secreto"), "{t}");
        let b = app
            .get(&format!("/api/v1/beneficiaries/{bid}"), &lead)
            .expect(200)
            .text;
        assert!(!b.contains("Quiñones") && !b.contains("cuerpo"), "{b}");
        let ev = app
            .get(&format!("/api/v1/cases/{id}/evidence"), &lead)
            .expect(200);
        assert_eq!(ev.json["items"].as_array().map(Vec::len), Some(0));
    }
    let held = app
        .get(
            &format!("/api/v1/cases/{}/timeline?limit=200", ids[2].0),
            &lead,
        )
        .expect(200)
        .text;
    assert!(held.contains("Message kept-for-the-court"));
    assert!(
        app.get("/api/v1/cases?q=secreto", &lead).expect(200).json["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let audit = app
        .get(
            &format!("/api/v1/cases/{}/audit?limit=200", ids[0].0),
            &lead,
        )
        .expect(200);
    assert!(audit.text.contains("case.anonymize"));
    // Nowhere in the database: every table's rows (Postgres) or the files themselves (SQLite,
    // after the scrub: freed pages, the WAL and the search index included).
    let everything = match backend {
        Backend::Postgres => dump(&app),
        Backend::Sqlite => {
            let path = app.db.url.trim_start_matches("sqlite://").to_owned();
            let mut bytes = std::fs::read(&path).unwrap_or_default();
            bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    assert!(
        everything.contains("kept-for-the-court"),
        "the dump is not what it seems"
    );
    for gone in [
        "Quiñones",
        "quinones",
        "cuerpo-secreto",
        "cuerpo secreto",
        "PNGDATA-cuerpo",
    ] {
        assert!(
            !everything.contains(gone),
            "`{gone}` is still in the database"
        );
    }
}

/// The console's statistics are kept a minute; older ones stay on screen while one refresh
/// is made in the background, so no reader waits for a report another has started.
fn console_figures_stay_on_screen_while_they_refresh(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let clock = TestClock::at(monday());
    let app = start(db, &clock, None);
    let (_, lead) = app.user("lena", Role::Lead);
    let cookie = format!("helpline_session={lead}");
    let figures = || {
        let page = app
            .call("GET", "/statistics", None, None, &[("cookie", &cookie)])
            .expect(200)
            .text;
        // "Cases: <strong>N</strong> · as of <time id="figures-made">…"
        let before = page.split("id=\"figures-made\"").next().unwrap_or_default();
        let total = before
            .rsplit("<strong>")
            .next()
            .and_then(|t| t.split("</strong>").next())
            .unwrap_or_default()
            .to_owned();
        let made = page
            .split("id=\"figures-made\">")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap_or_default()
            .to_owned();
        (total, made)
    };
    new_case(&app, &lead, "high", json!({}));
    let first = figures();
    assert_eq!(first.0, "1", "{first:?}");
    new_case(&app, &lead, "high", json!({}));
    // Within the minute: the same figures.
    clock.advance(Duration::seconds(30));
    assert_eq!(figures(), first);
    // Past it: the same figures at once, and the new ones once the refresh is made.
    clock.advance(Duration::seconds(31));
    assert_eq!(figures(), first);
    let mut now = figures();
    for _ in 0..100 {
        if now != first {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        now = figures();
    }
    assert_eq!(now.0, "2", "{now:?}");
    assert_ne!(now.1, first.1);
}

on_both_backends!(
    roster_spreads_intake_fairly,
    critical_cases_reach_leads_and_webhooks,
    targets_break_when_the_clock_passes_them,
    search_folds_accents_and_hides_confidential,
    stats_match_independent_counts,
    retention_leaves_no_name_or_body,
    console_figures_stay_on_screen_while_they_refresh,
);
