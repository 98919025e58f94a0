//! Analysts: indicators on cases, lookup, extraction, links, and the correlation across them,
//! with its depth, fan-out and confidentiality limits.

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp, TestDb};
use serde_json::{json, Value};

/// Opens an ordinary case; returns (id, ref).
fn case(app: &TestApp, token: &str, summary: &str, extra: Value) -> (String, i64) {
    let mut body = json!({"beneficiary": {"name": "Someone"}, "summary": summary, "urgency": "medium", "service_type": "phishing"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = app.post("/api/v1/cases", token, body).expect(201);
    (r.id(), r.json["ref"].as_i64().unwrap_or_default())
}

fn put(app: &TestApp, token: &str, case: &str, kind: &str, value: &str) -> Value {
    app.post(
        &format!("/api/v1/cases/{case}/indicators"),
        token,
        json!({"kind": kind, "value": value}),
    )
    .expect(201)
    .json
}

fn related(app: &TestApp, token: &str, case: &str, query: &str) -> Value {
    app.get(&format!("/api/v1/cases/{case}/related?{query}"), token)
        .expect(200)
        .json
}

fn refs(v: &Value) -> Vec<i64> {
    let mut r: Vec<i64> = v["related"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["case"]["ref"].as_i64())
        .collect();
    r.sort_unstable();
    r
}

fn entry(v: &Value, reference: i64) -> Value {
    v["related"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["case"]["ref"].as_i64() == Some(reference))
        .cloned()
        .unwrap_or(Value::Null)
}

fn indicators_relate_cases(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let app = TestApp::start_with(db, None, |c| c.analysis.fan_out_limit = 4);
    let (_, analyst) = app.user("ana", Role::Analyst);
    let (alice_id, alice) = app.user("alice", Role::Handler);
    let (_, bob) = app.user("bob", Role::Handler);
    let (_, lead) = app.user("leo", Role::Lead);

    let (a, ra) = case(&app, &lead, "Phishing of a newsroom", json!({}));
    let (b, rb) = case(&app, &lead, "Fake login page", json!({}));
    let (c, rc) = case(&app, &lead, "Credential theft", json!({}));
    let (f, rf) = case(&app, &lead, "Earlier report", json!({}));
    let (d, rd) = case(
        &app,
        &lead,
        "Source under surveillance",
        json!({"confidential": true, "assignee_id": alice_id}),
    );
    let (g, rg) = case(&app, &lead, "Behind the confidential one", json!({}));

    // The same domain, written three ways, is one indicator on three cases.
    let first = put(&app, &analyst, &a, "domain", "Evil.Example");
    assert_eq!(first["indicator"]["value"], "evil.example");
    assert_eq!(first["state"], "confirmed");
    assert_eq!(first["tlp"], "amber");
    let ind = first["indicator"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let second = put(&app, &analyst, &b, "domain", "evil[.]example");
    assert_eq!(second["indicator"]["id"], first["indicator"]["id"]);
    assert_eq!(second["cases"], 2);
    put(&app, &analyst, &c, "domain", "EVIL(.)EXAMPLE.");
    put(&app, &lead, &d, "domain", "evil.example");
    // Putting it again updates its context (200), never a second row.
    let again = app
        .post(
            &format!("/api/v1/cases/{c}/indicators"),
            &analyst,
            json!({"kind": "domain", "value": "evil.example", "tlp": "red", "note": "seen in the lure", "first_seen": "2026-11-01T10:00:00Z", "last_seen": "2026-11-02T10:00:00Z"}),
        )
        .expect(200);
    assert_eq!(again.json["tlp"], "red");
    assert_eq!(again.json["note"], "seen in the lure");
    let listed = app
        .get(&format!("/api/v1/cases/{c}/indicators"), &analyst)
        .expect(200);
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(1));

    // Lookup normalises like entry; the count leaves out what the caller may not see.
    let found = app
        .get(
            "/api/v1/indicators?kind=domain&value=EVIL%5B.%5Dexample",
            &bob,
        )
        .expect(200);
    assert_eq!(found.json["indicator"]["id"], json!(ind));
    assert_eq!(found.json["cases"], 3);
    let lead_found = app
        .get("/api/v1/indicators?kind=domain&value=evil.example", &lead)
        .expect(200);
    assert_eq!(lead_found.json["cases"], 4);
    app.get("/api/v1/indicators?kind=domain&value=never.example", &bob)
        .expect(404);
    let holders = app
        .get(&format!("/api/v1/indicators/{ind}/cases"), &bob)
        .expect(200);
    let mut held: Vec<i64> = holders.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["case"]["ref"].as_i64())
        .collect();
    held.sort_unstable();
    assert_eq!(held, vec![ra, rb, rc]);
    assert!(!holders.text.contains("surveillance"));
    // Paged: a page boundary, then a cursor that reaches the end; together the whole list.
    let (all, pages) = app.walk(&format!("/api/v1/indicators/{ind}/cases"), &bob, 2);
    assert_eq!(pages, 2);
    let mut paged: Vec<i64> = all
        .iter()
        .filter_map(|i| i["case"]["ref"].as_i64())
        .collect();
    paged.sort_unstable();
    assert_eq!(paged, held);

    // Links: C is a duplicate of F; F sees the inverse. D (confidential) is the parent of G.
    let l = app
        .post(
            &format!("/api/v1/cases/{c}/links"),
            &analyst,
            json!({"target": format!("#{rf}"), "kind": "duplicate_of", "note": "same sender"}),
        )
        .expect(201);
    assert_eq!(l.json["kind"], "duplicate_of");
    let back = app
        .get(&format!("/api/v1/cases/{f}/links"), &analyst)
        .expect(200);
    assert_eq!(back.json["items"][0]["kind"], "has_duplicate");
    assert_eq!(back.json["items"][0]["target"]["ref"], rc);
    app.post(
        &format!("/api/v1/cases/{f}/links"),
        &analyst,
        json!({"target": c, "kind": "related"}),
    )
    .expect(409);
    app.post(
        &format!("/api/v1/cases/{d}/links"),
        &lead,
        json!({"target": g, "kind": "parent_of"}),
    )
    .expect(201);

    // Depth 1 from A: the two cases sharing the domain. Depth 2: also F, through C.
    let one = related(&app, &bob, &a, "depth=1");
    assert_eq!(refs(&one), vec![rb, rc]);
    assert_eq!(
        entry(&one, rb)["explanation"],
        format!("shares domain evil.example with #{rb}")
    );
    // The first walk read the domain from the database; the next one finds it kept.
    assert_eq!(related(&app, &bob, &a, "depth=1"), one);
    // What a walk keeps of who holds the domain follows every change of a holding, also one
    // that leaves their number as it was: B calling it a candidate again makes B a weaker
    // relation, and confirming it restores it.
    let on_b = |state: &str| {
        app.post(
            &format!("/api/v1/cases/{b}/indicators"),
            &analyst,
            json!({"kind": "domain", "value": "evil.example", "state": state}),
        )
        .expect(200);
    };
    let score = |v: &Value, r: i64| entry(v, r)["score"].as_f64().unwrap_or_default();
    on_b("candidate");
    let weaker = related(&app, &bob, &a, "depth=1");
    assert!(score(&weaker, rb) < score(&one, rb), "{weaker} after {one}");
    assert_eq!(score(&weaker, rc), score(&one, rc));
    on_b("confirmed");
    assert_eq!(related(&app, &bob, &a, "depth=1"), one);
    let two = related(&app, &bob, &a, "depth=2");
    assert_eq!(refs(&two), vec![rb, rc, rf]);
    let via_c = entry(&two, rf);
    assert_eq!(via_c["depth"], 2);
    assert_eq!(
        via_c["explanation"],
        format!("shares domain evil.example with #{rc}, which is a duplicate of #{rf}")
    );
    assert_eq!(via_c["path"][0]["via"], "indicator");
    assert_eq!(via_c["path"][1]["via"], "link");
    assert_eq!(via_c["path"][1]["kind"], "duplicate_of");
    let s1 = entry(&two, rb)["score"].as_f64().unwrap_or_default();
    let s2 = via_c["score"].as_f64().unwrap_or_default();
    assert!(s1 >= s2 && s2 > 0.0, "{s1} {s2}");
    // Links only: nothing from A, which has no links.
    assert!(refs(&related(&app, &bob, &a, "depth=2&via=links")).is_empty());

    // The confidential case and what lies behind it exist only for those who may see it.
    let deep = related(&app, &bob, &a, "depth=4");
    assert_eq!(refs(&deep), vec![rb, rc, rf]);
    assert!(!deep.to_string().contains(&d) && !deep.to_string().contains(&g));
    assert!(!deep.to_string().contains("surveillance"));
    let for_alice = related(&app, &alice, &a, "depth=2");
    let mut expected = vec![rb, rc, rd, rf, rg];
    expected.sort_unstable();
    assert_eq!(refs(&for_alice), expected);
    assert_eq!(
        entry(&for_alice, rg)["explanation"],
        format!("shares domain evil.example with #{rd}, which is the parent of #{rg}")
    );
    app.get(&format!("/api/v1/cases/{d}/related"), &bob)
        .expect(404);

    // Fan-out: an address held by five cases (over the limit of 4) is not followed, and said so.
    let (mut crowd, mut crowd_ids, mut ip) = (Vec::new(), Vec::new(), String::new());
    for n in 0..4 {
        let (x, rx) = case(&app, &lead, &format!("Crowd {n}"), json!({}));
        let held = put(&app, &analyst, &x, "ipv4", "185.220.101.1");
        ip = held["indicator"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        crowd.push(rx);
        crowd_ids.push(x);
    }
    put(&app, &analyst, &a, "ipv4", "185[.]220[.]101[.]1");
    // A public provider's domain never correlates, however few cases hold it.
    put(&app, &analyst, &a, "domain", "gmail.com");
    put(&app, &analyst, &b, "domain", "gmail.com");
    let limited = related(&app, &bob, &a, "depth=2");
    assert_eq!(refs(&limited), vec![rb, rc, rf]);
    assert_eq!(limited["total"], json!(3));
    // The answer is capped at `limit`, strongest first, and says how many were reached.
    let capped = related(&app, &bob, &a, "depth=2&limit=2");
    assert_eq!(capped["total"], json!(3));
    assert_eq!(
        capped["related"],
        json!(limited["related"].as_array().map(|r| r[..2].to_vec()))
    );
    app.get(&format!("/api/v1/cases/{a}/related?limit=0"), &bob)
        .expect(400);
    app.get(&format!("/api/v1/cases/{a}/related?limit=501"), &bob)
        .expect(400);
    let cut: Vec<&Value> = limited["not_followed"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    assert!(cut.iter().any(|n| n["reason"] == "fan_out"
        && n["indicator"]["value"] == "185.220.101.1"
        && n["cases"] == 5));
    assert!(cut.iter().any(|n| n["reason"] == "warning_list"
        && n["indicator"]["value"] == "gmail.com"
        && n["list"] == "public_mail_providers"));
    // The count follows every change of a holding: one holder calling it a false positive
    // brings it to the limit (followed), calling it a candidate again takes it over, and
    // taking it off a case brings it back under.
    let on_crowd = |state: &str| {
        app.post(
            &format!("/api/v1/cases/{}/indicators", crowd_ids[0]),
            &analyst,
            json!({"kind": "ipv4", "value": "185.220.101.1", "state": state}),
        )
        .expect(200);
    };
    let crowd_cut = |v: &Value| -> Option<Value> {
        v["not_followed"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["indicator"]["value"] == "185.220.101.1")
            .map(|n| n["cases"].clone())
    };
    on_crowd("false_positive");
    let under = related(&app, &bob, &a, "depth=1");
    assert_eq!(crowd_cut(&under), None, "{under}");
    assert!(refs(&under).contains(&crowd[1]));
    on_crowd("candidate");
    assert_eq!(
        crowd_cut(&related(&app, &bob, &a, "depth=1")),
        Some(json!(5))
    );
    app.call(
        "DELETE",
        &format!("/api/v1/cases/{}/indicators/{ip}", crowd_ids[1]),
        Some(&analyst),
        None,
        &[],
    )
    .expect(204);
    let fewer = related(&app, &bob, &a, "depth=1");
    assert_eq!(crowd_cut(&fewer), None);
    assert!(!refs(&fewer).contains(&crowd[1]) && refs(&fewer).contains(&crowd[2]));
    put(&app, &analyst, &crowd_ids[1], "ipv4", "185.220.101.1");
    assert_eq!(
        crowd_cut(&related(&app, &bob, &a, "depth=1")),
        Some(json!(5))
    );

    // Detaching is audited and ends the correlation through that case.
    app.call(
        "DELETE",
        &format!("/api/v1/cases/{b}/indicators/{ind}"),
        Some(&analyst),
        None,
        &[],
    )
    .expect(204);
    assert_eq!(refs(&related(&app, &bob, &a, "depth=1")), vec![rc]);
    let audit = app
        .get(&format!("/api/v1/cases/{b}/audit?limit=200"), &lead)
        .expect(200);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"case_indicator.create"), "{actions:?}");
    assert!(actions.contains(&"case_indicator.delete"), "{actions:?}");
    app.call(
        "DELETE",
        &format!("/api/v1/cases/{f}/links/{c}"),
        Some(&analyst),
        None,
        &[],
    )
    .expect(204);
    assert!(app
        .get(&format!("/api/v1/cases/{c}/links"), &analyst)
        .expect(200)
        .json["items"]
        .as_array()
        .is_some_and(Vec::is_empty));

    // Bad input: clear errors naming the kind.
    let bad = app
        .post(
            &format!("/api/v1/cases/{a}/indicators"),
            &analyst,
            json!({"kind": "ipv4", "value": "999.1.1.1"}),
        )
        .expect(422);
    assert!(bad.text.contains("ipv4 indicator"), "{}", bad.text);
    app.post(
        &format!("/api/v1/cases/{a}/indicators"),
        &analyst,
        json!({"kind": "ip", "value": "1.2.3.4"}),
    )
    .expect(422);
    app.get(&format!("/api/v1/cases/{a}/related?depth=5"), &bob)
        .expect(400);
    app.get(&format!("/api/v1/cases/{a}/related?via=mail"), &bob)
        .expect(422);
    app.post(
        &format!("/api/v1/cases/{a}/links"),
        &analyst,
        json!({"target": a, "kind": "related"}),
    )
    .expect(422);
    let _ = crowd;
}

fn extraction_proposes_candidates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, analyst) = app.user("ana", Role::Analyst);
    let (_, lead) = app.user("leo", Role::Lead);
    let (a, _) = case(&app, &lead, "Suspicious link", json!({}));
    let m = app
        .post(
            &format!("/api/v1/cases/{a}/messages"),
            &lead,
            json!({"direction": "in", "channel": "email", "body": "They wrote from attacker[@]evil[.]example with hxxps://evil[.]example/login and from 203.0.113.9; also my own address me@gmail.com."}),
        )
        .expect(201);
    let mid = m.id();
    let r = app
        .post(
            &format!("/api/v1/cases/{a}/messages/{mid}/extract"),
            &analyst,
            json!({}),
        )
        .expect(200);
    let items = r.json["items"].as_array().cloned().unwrap_or_default();
    let got: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap_or_default().to_owned(),
                i["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("email".into(), "attacker@evil.example".into()),
            ("url".into(), "https://evil.example/login".into()),
            ("ipv4".into(), "203.0.113.9".into()),
            ("email".into(), "me@gmail.com".into()),
        ]
    );
    assert_eq!(items[0]["raw"], "attacker[@]evil[.]example");
    assert_eq!(items[0]["start"], 16);
    assert_eq!(items[2]["warning"], "documentation_ranges");
    assert_eq!(r.json["added"], 4);
    // Extracted values wait as candidates, pointing at their message; a second run adds none.
    let listed = app
        .get(&format!("/api/v1/cases/{a}/indicators"), &analyst)
        .expect(200);
    for i in listed.json["items"].as_array().into_iter().flatten() {
        assert_eq!(i["state"], "candidate");
        assert_eq!(i["source_message_id"], json!(mid));
    }
    // Paged in the order they were added: one at a time, the same list.
    let (walked, pages) = app.walk(&format!("/api/v1/cases/{a}/indicators"), &analyst, 1);
    assert!(pages >= 4);
    assert_eq!(Some(&walked), listed.json["items"].as_array());
    let again = app
        .post(
            &format!("/api/v1/cases/{a}/messages/{mid}/extract"),
            &analyst,
            json!({}),
        )
        .expect(200);
    assert_eq!(again.json["added"], 0);
    // The analyst confirms one.
    let confirmed = app
        .post(
            &format!("/api/v1/cases/{a}/indicators"),
            &analyst,
            json!({"kind": "url", "value": "hxxps://evil[.]example/login", "state": "confirmed"}),
        )
        .expect(200);
    assert_eq!(confirmed.json["state"], "confirmed");
    // A message of another case is not found.
    let (other, _) = case(&app, &lead, "Other", json!({}));
    app.post(
        &format!("/api/v1/cases/{other}/messages/{mid}/extract"),
        &analyst,
        json!({}),
    )
    .expect(404);
}

/// Everything a case holds, as the API shows it.
fn holdings(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    [
        "messages",
        "comments",
        "actions",
        "next-steps",
        "parties",
        "indicators",
        "evidence",
    ]
    .iter()
    .map(|s| {
        app.get(&format!("/api/v1/cases/{case}/{s}"), token)
            .expect(200)
            .json
    })
    .collect()
}

fn count(v: &Value) -> usize {
    v["items"].as_array().map_or(0, Vec::len)
}

fn audit_actions(app: &TestApp, token: &str, case: &str) -> Vec<String> {
    app.get(&format!("/api/v1/cases/{case}/audit?limit=200"), token)
        .expect(200)
        .json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

fn merge_moves_everything_and_unmerge_restores_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, lead) = app.user("leo", Role::Lead);
    let (_, analyst) = app.user("ana", Role::Analyst);
    let (s, _) = case(&app, &lead, "Reported twice (first)", json!({}));
    let (t, rt) = case(&app, &lead, "Reported twice (second)", json!({}));
    let p1 = app.party(&lead, "Platform", "platform");
    let p2 = app.party(&lead, "Partner", "partner_organisation");
    for body in ["first message", "second message"] {
        app.post(
            &format!("/api/v1/cases/{s}/messages"),
            &lead,
            json!({"direction": "in", "channel": "email", "body": body}),
        )
        .expect(201);
    }
    app.post(
        &format!("/api/v1/cases/{s}/comments"),
        &lead,
        json!({"body": "note"}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{s}/actions"),
        &lead,
        json!({"kind": "advice", "description": "told them to rotate passwords"}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{s}/next-steps"),
        &lead,
        json!({"title": "call back"}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{s}/parties"),
        &lead,
        json!({"party_id": p1, "role": "other"}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{s}/parties"),
        &lead,
        json!({"party_id": p2, "role": "referral_partner", "note": "from the source"}),
    )
    .expect(201);
    put(&app, &analyst, &s, "domain", "only-here.example");
    app.post(
        &format!("/api/v1/cases/{s}/indicators"),
        &analyst,
        json!({"kind": "domain", "value": "both.example", "note": "seen by the source", "tlp": "green"}),
    )
    .expect(201);
    app.raw(
        "POST",
        &format!("/api/v1/cases/{s}/evidence?filename=shot.png"),
        Some(&analyst),
        "image/png",
        b"\x89PNG fake",
        &[],
    )
    .expect(201);
    // The target already has one message, the partner and the shared domain.
    app.post(
        &format!("/api/v1/cases/{t}/messages"),
        &lead,
        json!({"direction": "in", "channel": "phone", "body": "the target's own"}),
    )
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{t}/parties"),
        &lead,
        json!({"party_id": p2, "role": "referral_partner"}),
    )
    .expect(201);
    put(&app, &analyst, &t, "domain", "both.example");
    let before_s = holdings(&app, &lead, &s);
    let before_t = holdings(&app, &lead, &t);

    // Bad merges first.
    app.post(
        &format!("/api/v1/cases/{s}/merge"),
        &lead,
        json!({"into": s}),
    )
    .expect(422);
    app.post(
        &format!("/api/v1/cases/{s}/merge"),
        &lead,
        json!({"into": "#999999"}),
    )
    .expect(422);
    app.post(
        &format!("/api/v1/cases/{s}/merge"),
        &analyst,
        json!({"into": t}),
    )
    .expect(403);
    app.post(&format!("/api/v1/cases/{s}/unmerge"), &lead, json!({}))
        .expect(409);

    let m = app
        .post(
            &format!("/api/v1/cases/{s}/merge"),
            &lead,
            json!({"into": format!("#{rt}")}),
        )
        .expect(200);
    let moved = &m.json["moved"];
    assert_eq!(moved["messages"], 2);
    assert_eq!(moved["comments"], 1);
    assert_eq!(moved["actions"], 1);
    assert_eq!(moved["next_steps"], 1);
    assert_eq!(moved["evidence"], 1);
    assert_eq!(moved["parties"], 2);
    assert_eq!(moved["indicators"], 2);

    // Everything is on the target now; the source is an empty pointer that refuses new work.
    let after_t = holdings(&app, &lead, &t);
    let after_s = holdings(&app, &lead, &s);
    assert_eq!(count(&after_t[0]), 3);
    assert_eq!(count(&after_t[1]), 1);
    assert_eq!(count(&after_t[2]), 1);
    assert_eq!(count(&after_t[3]), 1);
    assert_eq!(count(&after_t[4]), 2);
    assert_eq!(count(&after_t[5]), 2);
    assert_eq!(count(&after_t[6]), 1);
    assert!(after_s.iter().all(|v| count(v) == 0), "{after_s:?}");
    let gone = app.get(&format!("/api/v1/cases/{s}"), &lead).expect(200);
    assert_eq!(gone.json["merged_into"], json!(t));
    let refused = app
        .post(
            &format!("/api/v1/cases/{s}/comments"),
            &lead,
            json!({"body": "late"}),
        )
        .expect(409);
    assert!(refused.text.contains("merged into"), "{}", refused.text);
    app.post(
        &format!("/api/v1/cases/{t}/merge"),
        &lead,
        json!({"into": s}),
    )
    .expect(409);
    assert!(audit_actions(&app, &lead, &s).contains(&"case.merge".to_owned()));
    assert!(audit_actions(&app, &lead, &t).contains(&"case.merge".to_owned()));

    // Work goes on on the target, then the merge is undone.
    app.post(
        &format!("/api/v1/cases/{t}/comments"),
        &lead,
        json!({"body": "added after the merge"}),
    )
    .expect(201);
    app.post(&format!("/api/v1/cases/{s}/unmerge"), &lead, json!({}))
        .expect(200);
    let restored = holdings(&app, &lead, &s);
    assert_eq!(restored, before_s, "the source is exactly as it was");
    let t_now = holdings(&app, &lead, &t);
    assert_eq!(
        count(&t_now[1]),
        1,
        "the comment added since stays on the target"
    );
    for k in [0, 2, 3, 4, 5, 6] {
        assert_eq!(t_now[k], before_t[k], "target holding {k}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/cases/{s}"), &lead)
            .expect(200)
            .json["merged_into"],
        Value::Null
    );
    assert!(audit_actions(&app, &lead, &s).contains(&"case.unmerge".to_owned()));
    app.post(&format!("/api/v1/cases/{s}/unmerge"), &lead, json!({}))
        .expect(409);
    app.post(
        &format!("/api/v1/cases/{s}/comments"),
        &lead,
        json!({"body": "back"}),
    )
    .expect(201);
}

/// Runs a format's own validator (tests/validate/exports.py) on an export.
fn validate(format: &str, doc: &Value) -> Option<String> {
    let python = helpline_tests::python(&format!("the {format} validator"))?;
    let dir = std::env::temp_dir().join(format!("hl_export_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join(format!("{format}.json"));
    std::fs::write(&file, doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/validate/exports.py"))
        .arg(format)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{format} export is invalid: {text}\n{doc}"
    );
    Some(text)
}

fn exports_validate_and_import_back(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, analyst) = app.user("ana", Role::Analyst);
    let (_, handler) = app.user("hal", Role::Handler);
    let (_, lead) = app.user("leo", Role::Lead);
    let (a, ra) = case(&app, &lead, "Names a source: must never leave", json!({}));
    let every = [
        ("ipv4", "198.51.100.23", "amber"),
        ("ipv6", "2001:db8::23", "green"),
        ("cidr", "203.0.113.0/24", "clear"),
        ("domain", "evil[.]example", "amber"),
        ("url", "hxxps://evil.example/it's?a=1", "amber"),
        ("email", "attacker@evil.example", "green"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e", "amber"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "amber"),
        (
            "sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "amber",
        ),
        ("phone", "+33 1 23 45 67 89", "amber"),
        ("account", "x:@evil_actor", "amber"),
        ("account", "telegram:@evil_actor", "amber+strict"),
        ("file_name", "invoice.pdf.exe", "amber"),
        ("text", "same voice on two calls", "green"),
        ("domain", "red.example", "red"),
    ];
    for (kind, value, tlp) in every {
        app.post(
            &format!("/api/v1/cases/{a}/indicators"),
            &analyst,
            json!({"kind": kind, "value": value, "tlp": tlp, "note": "from the lure"}),
        )
        .expect(201);
    }
    app.post(
        &format!("/api/v1/cases/{a}/indicators"),
        &analyst,
        json!({"kind": "domain", "value": "maybe.example", "state": "candidate"}),
    )
    .expect(201);
    let ev = app
        .raw(
            "POST",
            &format!("/api/v1/cases/{a}/evidence?filename=lure.html&tlp=green"),
            Some(&analyst),
            "text/html",
            b"<html>lure</html>",
            &[],
        )
        .expect(201);

    // MISP at the default level (amber): everything but the red item and the candidate.
    let misp = app
        .get(&format!("/api/v1/cases/{a}/export?format=misp"), &analyst)
        .expect(200);
    assert_eq!(
        misp.header("x-withheld-items"),
        Some("2"),
        "red + amber+strict"
    );
    let text = misp.text.clone();
    assert!(
        !text.contains("source")
            && !text.contains("red.example")
            && !text.contains("maybe.example")
    );
    let attrs = misp.json["Event"]["Attribute"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attrs.len(), 13 + 1, "13 indicators and the evidence");
    let find = |t: &str| {
        attrs
            .iter()
            .find(|x| x["type"] == t)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("domain")["value"], "evil.example");
    assert_eq!(find("domain")["category"], "Network activity");
    assert_eq!(find("domain")["Tag"][0]["name"], "tlp:amber");
    assert_eq!(find("twitter-id")["value"], "evil_actor");
    assert_eq!(find("phone-number")["value"], "+33123456789");
    assert_eq!(
        find("filename|sha256")["value"],
        json!(format!(
            "lure.html|{}",
            ev.json["sha256"].as_str().unwrap_or_default()
        ))
    );
    assert_eq!(
        misp.json["Event"]["info"],
        json!(format!("Helpline case #{ra} (phishing)"))
    );
    validate("misp", &misp.json);
    // At green, amber items are withheld too.
    let green = app
        .get(
            &format!("/api/v1/cases/{a}/export?format=misp&tlp=green"),
            &analyst,
        )
        .expect(200);
    assert_eq!(green.header("x-withheld-items"), Some("11"));
    // Even asked for red, red stays home.
    let red = app
        .get(
            &format!("/api/v1/cases/{a}/export?format=stix&tlp=red"),
            &analyst,
        )
        .expect(200);
    assert_eq!(red.header("x-withheld-items"), Some("1"));
    assert!(!red.text.contains("red.example"));
    assert_eq!(
        red.header("x-not-expressible-items"),
        Some("2"),
        "phone and text"
    );
    validate("stix", &red.json);
    let stix = app
        .get(&format!("/api/v1/cases/{a}/export?format=stix"), &analyst)
        .expect(200);
    let objects = stix.json["objects"].as_array().cloned().unwrap_or_default();
    let patterns: Vec<&str> = objects
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .collect();
    assert!(
        patterns.contains(&"[domain-name:value = 'evil.example']"),
        "{patterns:?}"
    );
    assert!(
        patterns.contains(&"[url:value = 'https://evil.example/it\\'s?a=1']"),
        "{patterns:?}"
    );
    assert!(objects.iter().any(|o| o["type"] == "grouping"));
    validate("stix", &stix.json);

    // The evidence's chain shows each export; the audit shows them all.
    let chain = app
        .get(
            &format!("/api/v1/cases/{a}/evidence/{}/custody", ev.id()),
            &analyst,
        )
        .expect(200);
    let exported = chain.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["event"] == "exported")
        .count();
    assert_eq!(exported, 4, "four exports, each at green or above");

    // Handlers run cases; sharing intelligence is for analysts and leads.
    app.get(&format!("/api/v1/cases/{a}/export?format=misp"), &handler)
        .expect(403);
    app.get(&format!("/api/v1/cases/{a}/export?format=csv"), &analyst)
        .expect(400);

    // A MISP event taken in: its attributes become indicators on another case.
    let (b, _) = case(&app, &lead, "Another", json!({}));
    let mut event = misp.json.clone();
    if let Some(list) = event["Event"]["Attribute"].as_array_mut() {
        list.push(json!({"type": "btc", "category": "Financial fraud", "value": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "to_ids": false}));
        list.push(json!({"type": "ip-src", "category": "Network activity", "value": "999.1.1.1", "to_ids": true}));
    }
    let imported = app
        .raw(
            "POST",
            &format!("/api/v1/cases/{b}/import?format=misp"),
            Some(&analyst),
            "application/json",
            event.to_string().as_bytes(),
            &[],
        )
        .expect(200);
    assert_eq!(imported.json["added"], 14, "{}", imported.text);
    assert_eq!(imported.json["skipped"].as_array().map(Vec::len), Some(2));
    let on_b = app
        .get(&format!("/api/v1/cases/{b}/indicators"), &analyst)
        .expect(200);
    let values: Vec<&str> = on_b.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["indicator"]["value"].as_str())
        .collect();
    assert!(
        values.contains(&"evil.example") && values.contains(&"x:evil_actor"),
        "{values:?}"
    );
    // Taken in again without `to_ids`, a confirmed indicator stays confirmed.
    let again = app
        .raw(
            "POST",
            &format!("/api/v1/cases/{b}/import?format=misp"),
            Some(&analyst),
            "application/json",
            br#"{"Event": {"Attribute": [{"type": "domain", "category": "Network activity", "value": "evil.example", "to_ids": false}]}}"#,
            &[],
        )
        .expect(200);
    assert_eq!(again.json["updated"], 1);
    let held = app
        .get(&format!("/api/v1/cases/{b}/indicators"), &analyst)
        .expect(200);
    let evil = held.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["indicator"]["value"] == "evil.example")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(evil["state"], "confirmed");
    // The same indicator on both cases: they are now related.
    let rel = related(&app, &analyst, &b, "depth=1");
    assert!(rel["related"].as_array().is_some_and(|r| !r.is_empty()));
    app.raw(
        "POST",
        &format!("/api/v1/cases/{b}/import?format=misp"),
        Some(&analyst),
        "application/json",
        b"[1, 2]",
        &[],
    )
    .expect(400);
}

on_both_backends!(
    exports_validate_and_import_back,
    indicators_relate_cases,
    extraction_proposes_candidates,
    merge_moves_everything_and_unmerge_restores_it
);
