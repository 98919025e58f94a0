//! `openapi.yaml` is the contract: every route the code mounts is in it with the methods the
//! server answers, and the fields of what the server sends and accepts are the spec's fields.

use std::collections::{BTreeMap, BTreeSet};

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TempDir, TestApp, TestDb};
use serde_json::{json, Value};

fn spec() -> serde_yaml::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .unwrap_or_else(|e| panic!("openapi.yaml: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml does not parse: {e}"))
}

/// Every `resource("...")` mounted in the routes, with the `/api/v1` scope where it applies.
fn mounted_paths() -> BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/api/src/routes");
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let prefix = if path.ends_with("health.rs") {
            ""
        } else {
            "/api/v1"
        };
        for piece in text.split("resource(\"").skip(1) {
            if let Some(end) = piece.find('"') {
                out.insert(format!("{prefix}{}", &piece[..end]));
            }
        }
    }
    out.remove("/api/v1{path}");
    out
}

fn spec_methods(spec: &serde_yaml::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    if let Some(paths) = spec["paths"].as_mapping() {
        for (p, item) in paths {
            let methods = item
                .as_mapping()
                .map(|m| {
                    m.keys()
                        .filter_map(|k| k.as_str())
                        .filter(|k| ["get", "post", "patch", "put", "delete"].contains(k))
                        .map(|k| k.to_uppercase())
                        .collect()
                })
                .unwrap_or_default();
            out.insert(p.as_str().unwrap_or_default().to_owned(), methods);
        }
    }
    out
}

fn properties(spec: &serde_yaml::Value, schema: &str) -> BTreeSet<String> {
    let s = &spec["components"]["schemas"][schema];
    let own = |part: &serde_yaml::Value| -> BTreeSet<String> {
        part["properties"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect()
    };
    // Its own fields and those of every `allOf` part, referenced or inline (a part may also
    // be a rule across fields, `if`/`then`, with none).
    let mut out = own(s);
    for part in s["allOf"].as_sequence().into_iter().flatten() {
        match part["$ref"].as_str() {
            Some(r) => out.extend(properties(
                spec,
                r.trim_start_matches("#/components/schemas/"),
            )),
            None => out.extend(own(part)),
        }
    }
    assert!(!out.is_empty(), "schema {schema} has no properties");
    out
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The fields a request body accepts, as the server itself lists them when refusing an unknown one.
fn accepted_fields(app: &TestApp, method: &str, path: &str, token: &str) -> BTreeSet<String> {
    let r = app.call(
        method,
        path,
        Some(token),
        Some(&json!({"zz_probe": 1})),
        &[("if-match", "\"1\"")],
    );
    assert_eq!(r.status, 422, "{method} {path}: {}", r.text);
    let msg = r.json["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let expected = msg
        .split("expected")
        .nth(1)
        .unwrap_or_else(|| panic!("{msg}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn routes_and_schemas_match_the_spec(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let spec = spec();
    let methods = spec_methods(&spec);

    let spec_paths: BTreeSet<String> = methods.keys().cloned().collect();
    assert_eq!(
        mounted_paths(),
        spec_paths,
        "routes mounted vs paths in openapi.yaml"
    );

    let (uid, admin) = app.user("root", Role::Admin);
    let any_id = "01900000-0000-7000-8000-000000000000";
    for (path, documented) in &methods {
        let concrete = path
            .replace("{id}", any_id)
            .replace("{user_id}", any_id)
            .replace("{step_id}", any_id);
        // A logout would give up the admin's token: it is probed with a session of its own.
        let token = if path == "/api/v1/auth/logout" {
            app.login("root")
        } else {
            admin.clone()
        };
        let served: BTreeSet<String> = ["GET", "POST", "PATCH", "PUT", "DELETE"]
            .into_iter()
            .filter(|m| app.call(m, &concrete, Some(&token), None, &[]).status != 405)
            .map(str::to_owned)
            .collect();
        assert_eq!(&served, documented, "methods of {path}");
    }

    // What the server sends has exactly the documented fields.
    let b = app
        .post("/api/v1/beneficiaries", &admin, json!({"name": "B", "emails": ["b@example.org"], "channels": [{"kind": "phone", "value": "+1"}]}))
        .expect(201);
    let bid = b.id();
    let v = app
        .post(
            &format!("/api/v1/beneficiaries/{bid}/verification"),
            &admin,
            json!({"status": "verified", "method": "in_person"}),
        )
        .expect(201);
    let party = app
        .post(
            "/api/v1/parties",
            &admin,
            json!({"name": "P", "kind": "platform"}),
        )
        .expect(201);
    let pid = party.id();
    let c = app
        .post("/api/v1/cases", &admin, json!({"beneficiary_id": bid, "summary": "s", "urgency": "low", "service_type": "phishing"}))
        .expect(201);
    let cid = c.id();
    let case = format!("/api/v1/cases/{cid}");
    let m = app
        .post(
            &format!("{case}/messages"),
            &admin,
            json!({"direction": "in", "channel": "phone", "body": "hi"}),
        )
        .expect(201);
    let cm = app
        .post(&format!("{case}/comments"), &admin, json!({"body": "note"}))
        .expect(201);
    let a = app
        .post(
            &format!("{case}/actions"),
            &admin,
            json!({"kind": "advice", "description": "d"}),
        )
        .expect(201);
    let s = app
        .post(&format!("{case}/next-steps"), &admin, json!({"title": "t"}))
        .expect(201);
    let cp = app
        .post(
            &format!("{case}/parties"),
            &admin,
            json!({"party_id": pid, "role": "other"}),
        )
        .expect(201);
    let g = app
        .post(&format!("{case}/access"), &admin, json!({"user_id": uid}))
        .expect(201);
    let t = app
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "t", "scopes": ["cases:read"]}),
        )
        .expect(201);
    let tokens = app.get("/api/v1/tokens", &admin).expect(200);
    let audit = app.get(&format!("{case}/audit"), &admin).expect(200);
    let timeline = app.get(&format!("{case}/timeline"), &admin).expect(200);
    let page = app.get("/api/v1/cases", &admin).expect(200);
    let me = app.get("/api/v1/me", &admin).expect(200);
    let login = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "root", "password": helpline_tests::PASSWORD}),
        )
        .expect(200);
    let problem = app
        .post("/api/v1/cases", &admin, json!({"urgency": "soon"}))
        .expect(422);
    let health = app.call("GET", "/healthz", None, None, &[]).expect(200);
    let ready = app.call("GET", "/readyz", None, None, &[]).expect(200);
    let tax = app.get("/api/v1/taxonomies", &admin).expect(200);
    let ind = app
        .post(
            &format!("{case}/indicators"),
            &admin,
            json!({"kind": "domain", "value": "evil[.]example"}),
        )
        .expect(201);
    let c2 = app
        .post("/api/v1/cases", &admin, json!({"beneficiary_id": bid, "summary": "t", "urgency": "low", "service_type": "phishing"}))
        .expect(201);
    app.post(
        &format!("/api/v1/cases/{}/indicators", c2.id()),
        &admin,
        json!({"kind": "domain", "value": "evil.example"}),
    )
    .expect(201);
    let link = app
        .post(
            &format!("{case}/links"),
            &admin,
            json!({"target": c2.id(), "kind": "related"}),
        )
        .expect(201);
    let lookup = app
        .get("/api/v1/indicators?kind=domain&value=evil.example", &admin)
        .expect(200);
    let holders = app
        .get(
            &format!(
                "/api/v1/indicators/{}/cases",
                ind.json["indicator"]["id"].as_str().unwrap_or_default()
            ),
            &admin,
        )
        .expect(200);
    let extraction = app
        .post(
            &format!("{case}/messages/{}/extract", m.id()),
            &admin,
            json!({}),
        )
        .expect(200);
    let rel = app.get(&format!("{case}/related"), &admin).expect(200);
    let ev = app
        .raw(
            "POST",
            &format!("{case}/evidence?filename=a.txt"),
            Some(&admin),
            "text/plain",
            b"evidence",
            &[],
        )
        .expect(201);
    let chain = app
        .get(&format!("{case}/evidence/{}/custody", ev.id()), &admin)
        .expect(200);
    let imported = app
        .raw(
            "POST",
            &format!("{case}/import?format=misp"),
            Some(&admin),
            "application/json",
            br#"{"Event": {"Attribute": [{"type": "domain", "value": "x.example", "to_ids": true}]}}"#,
            &[],
        )
        .expect(200);
    let merged = app
        .post(
            &format!("/api/v1/cases/{}/merge", c2.id()),
            &admin,
            json!({"into": cid}),
        )
        .expect(200);
    let verified = app
        .post(
            &format!("{case}/evidence/{}/verify", ev.id()),
            &admin,
            json!({}),
        )
        .expect(200);

    // Workflow: roster, hand-off, caseloads, the leads' queue, statistics, export, search.
    let (hid, _) = app.user("hana", Role::Handler);
    let in_a_week = "2030-01-08T00:00:00Z";
    let shift = app
        .post(
            "/api/v1/roster/shifts",
            &admin,
            json!({"user_id": hid, "starts_at": "2030-01-01T00:00:00Z", "ends_at": in_a_week}),
        )
        .expect(201);
    let rotation = app
        .post(
            "/api/v1/roster/rotation",
            &admin,
            json!({"user_ids": [hid], "starts_at": in_a_week, "period": "week", "periods": 1, "per_period": 1}),
        )
        .expect(201);
    let roster = app.get("/api/v1/roster", &admin).expect(200);
    let settings = app.call(
        "PUT",
        "/api/v1/roster/settings",
        Some(&admin),
        Some(&json!({"auto_assign": true})),
        &[],
    );
    let crit = app
        .post("/api/v1/cases", &admin, json!({"beneficiary": {"name": "C"}, "summary": "sécurité", "urgency": "critical", "service_type": "phishing"}))
        .expect(201);
    let handed = app.call(
        "POST",
        &format!("/api/v1/cases/{}/handoff", crit.id()),
        Some(&admin),
        Some(&json!({"to": hid, "note": "over to you"})),
        &[("if-match", crit.header("etag").unwrap_or_default())],
    );
    assert_eq!(handed.status, 200, "{}", handed.text);
    let handoffs = app
        .get(&format!("/api/v1/cases/{}/handoffs", crit.id()), &admin)
        .expect(200);
    let workload = app.get("/api/v1/workload", &admin).expect(200);
    let queue = app.get("/api/v1/escalations", &admin).expect(200);
    let stats = app
        .get("/api/v1/stats?from=2024-01-01T00:00:00Z&to=2032-01-01T00:00:00Z&group_by=urgency,month", &admin)
        .expect(200);
    let export = app
        .get(&format!("/api/v1/beneficiaries/{bid}/export"), &admin)
        .expect(200);
    let deliveries = app.get("/api/v1/webhooks/deliveries", &admin).expect(200);
    let found = app.get("/api/v1/cases?q=securite", &admin).expect(200);
    let held = app.call(
        "PUT",
        &format!("/api/v1/cases/{}/legal-hold", crit.id()),
        Some(&admin),
        Some(&json!({"reason": "court"})),
        &[("if-match", handed.header("etag").unwrap_or_default())],
    );
    assert_eq!(held.status, 200, "{}", held.text);

    let samples: Vec<(&str, &Value)> = vec![
        ("Shift", &shift.json),
        ("ShiftList", &rotation.json),
        ("Roster", &roster.json),
        ("RosterSettings", &settings.json),
        ("HandoffResult", &handed.json),
        ("Handoff", &handed.json["handoff"]),
        ("HandoffList", &handoffs.json),
        ("Workload", &workload.json),
        ("WorkloadEntry", &workload.json["items"][0]),
        ("UrgencyCounts", &workload.json["weights"]),
        ("EscalationQueue", &queue.json),
        ("QueueItem", &queue.json["items"][0]),
        ("Escalation", &crit.json["escalation"]),
        ("Stats", &stats.json),
        ("Figures", &stats.json["periods"][0][1]),
        ("Timing", &stats.json["time_to_first_response"]),
        ("BeneficiaryExport", &export.json),
        ("DeliveryList", &deliveries.json),
        ("SearchPage", &found.json),
        ("SearchHit", &found.json["items"][0]),
        ("Case", &held.json),
        ("Beneficiary", &b.json),
        ("VerificationResult", &v.json),
        ("Verification", &v.json["verification"]),
        ("Party", &party.json),
        ("Case", &c.json),
        ("Message", &m.json),
        ("Comment", &cm.json),
        ("Action", &a.json),
        ("NextStep", &s.json),
        ("CaseParty", &cp.json),
        ("AccessGrant", &g.json),
        ("ApiTokenCreated", &t.json),
        ("ApiToken", &tokens.json["items"][0]),
        ("AuditEvent", &audit.json["items"][0]),
        ("TimelineEntry", &timeline.json["items"][0]),
        ("CasePage", &page.json),
        ("Me", &me.json),
        ("User", &me.json["user"]),
        ("LoginResponse", &login.json),
        ("Problem", &problem.json),
        ("FieldError", &problem.json["errors"][0]),
        ("Health", &health.json),
        ("Readiness", &ready.json),
        ("Taxonomies", &tax.json),
        ("CaseIndicator", &ind.json),
        ("Indicator", &ind.json["indicator"]),
        ("CaseLink", &link.json),
        ("CaseBrief", &link.json["target"]),
        ("IndicatorLookup", &lookup.json),
        ("IndicatorCases", &holders.json),
        ("Extraction", &extraction.json),
        ("RelatedResult", &rel.json),
        ("Related", &rel.json["related"][0]),
        ("LinkStep", &rel.json["related"][0]["path"][0]),
        ("Evidence", &ev.json),
        ("CustodyChain", &chain.json),
        ("Custody", &chain.json["items"][0]),
        ("EvidenceVerification", &verified.json),
        ("MergeReport", &merged.json),
        ("ImportReport", &imported.json),
    ];
    // The validator bites: a case with a numeric id, an unknown status and nothing else.
    let bad = helpline_tests::violations("Case", &json!({"id": 5, "status": "lost"}));
    assert!(bad.len() >= 3, "{bad:?}");
    let mut wrong = Vec::new();
    for (schema, sample) in samples {
        assert_eq!(
            keys(sample),
            properties(&spec, schema),
            "fields of {schema}"
        );
        wrong.extend(helpline_tests::violations(schema, sample));
    }
    assert!(
        wrong.is_empty(),
        "answers outside their schema:\n{}",
        wrong.join("\n")
    );

    // What the server accepts has exactly the documented fields.
    let step = format!(
        "{case}/next-steps/{}",
        s.json["id"].as_str().unwrap_or_default()
    );
    let bodies: Vec<(&str, String, &str)> = vec![
        ("POST", "/api/v1/auth/login".into(), "LoginRequest"),
        ("POST", "/api/v1/cases".into(), "CaseCreate"),
        ("PATCH", case.clone(), "CasePatch"),
        ("POST", format!("{case}/messages"), "MessageCreate"),
        ("POST", format!("{case}/comments"), "CommentCreate"),
        ("POST", format!("{case}/actions"), "ActionCreate"),
        ("POST", format!("{case}/next-steps"), "NextStepCreate"),
        ("PATCH", step, "NextStepPatch"),
        ("POST", format!("{case}/parties"), "CasePartyCreate"),
        ("POST", format!("{case}/access"), "AccessGrantCreate"),
        ("POST", "/api/v1/beneficiaries".into(), "BeneficiaryCreate"),
        (
            "PATCH",
            format!("/api/v1/beneficiaries/{bid}"),
            "BeneficiaryPatch",
        ),
        (
            "POST",
            format!("/api/v1/beneficiaries/{bid}/verification"),
            "VerificationCreate",
        ),
        ("POST", "/api/v1/parties".into(), "PartyCreate"),
        ("PATCH", format!("/api/v1/parties/{pid}"), "PartyPatch"),
        ("POST", "/api/v1/users".into(), "UserCreate"),
        ("PATCH", format!("/api/v1/users/{uid}"), "UserPatch"),
        ("POST", "/api/v1/tokens".into(), "ApiTokenCreate"),
        ("POST", "/api/v1/auth/password".into(), "PasswordChange"),
        ("POST", format!("{case}/indicators"), "IndicatorCreate"),
        ("POST", format!("{case}/links"), "LinkCreate"),
        ("POST", format!("{case}/merge"), "MergeCreate"),
        ("POST", "/api/v1/roster/shifts".into(), "PeriodCreate"),
        ("POST", "/api/v1/roster/absences".into(), "PeriodCreate"),
        ("POST", "/api/v1/roster/rotation".into(), "RotationCreate"),
        ("PUT", "/api/v1/roster/settings".into(), "RosterSettings"),
        (
            "POST",
            format!("/api/v1/cases/{}/handoff", crit.id()),
            "HandoffCreate",
        ),
        (
            "PUT",
            format!("/api/v1/cases/{}/legal-hold", crit.id()),
            "LegalHoldCreate",
        ),
    ];
    for (method, path, schema) in bodies {
        assert_eq!(
            accepted_fields(&app, method, &path, &admin),
            properties(&spec, schema),
            "request fields of {schema}"
        );
    }
}

/// A client generated from the spec by a mainstream generator (openapi-python-client) drives one
/// case's life — login, beneficiary, case, message, status, reply, timeline, search — and every
/// answer deserialises into the model the spec names, with no undeclared field
/// (tests/client/flow.py).
fn a_generated_client_drives_a_case(backend: Backend) {
    let Some(python) = helpline_tests::python("the generated client's flow") else {
        return;
    };
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let work =
        TempDir(std::env::temp_dir().join(format!("hl_client_{}", uuid::Uuid::now_v7().simple())));
    let keys = work.0.join("keys");
    std::fs::create_dir_all(&keys).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        format!("{root}/crates/mail/tests/fixtures/helpline-secret.asc"),
        keys.join("helpline-secret.asc"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key_dir = keys.to_string_lossy().into_owned();
    let app = TestApp::start_with(db, None, move |c| c.mail.key_dir = key_dir);
    app.user("hana", Role::Handler);
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = std::process::Command::new(&python)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(&work.0)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    let spec = format!("{root}/openapi.yaml");
    run(
        &[
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            &spec,
            "--meta",
            "none",
            "--output-path",
            "helpline_api_client",
        ],
        &[],
    );
    let flow = format!("{root}/tests/client/flow.py");
    let said = run(
        &[&flow],
        &[
            ("PYTHONPATH", &work.0.to_string_lossy()),
            ("HELPLINE_URL", &app.base),
            ("HELPLINE_USER", "hana"),
            ("HELPLINE_PASSWORD", helpline_tests::PASSWORD),
        ],
    );
    assert!(said.contains("ok"), "{said}");
}

on_both_backends!(
    routes_and_schemas_match_the_spec,
    a_generated_client_drives_a_case
);

/// Every event the code can announce is in the spec's `WebhookEvent` and has its entry under
/// `webhooks`, and the spec names none the code does not send.
#[test]
fn webhook_events_match_the_spec() {
    let spec = spec();
    let code: BTreeSet<String> = helpline_domain::workflow::WebhookEvent::ALL
        .iter()
        .map(|e| e.as_str().to_owned())
        .collect();
    let listed: BTreeSet<String> = spec["components"]["schemas"]["WebhookEvent"]["enum"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(listed, code, "components.schemas.WebhookEvent");
    let documented: BTreeSet<String> = spec["webhooks"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect();
    assert_eq!(documented, code, "webhooks");
}

/// Every closed set of the domain that the wire carries has the same values, in any order, in
/// the spec's schema of the same name: a value the code sends that the spec does not list
/// breaks a generated client.
#[test]
fn closed_sets_match_the_spec() {
    use helpline_domain::{access, beneficiary, case, log, mail, party, user, workflow};
    fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> BTreeSet<String> {
        all.iter().map(|&v| name(v).to_owned()).collect()
    }
    let sets: Vec<(&str, BTreeSet<String>)> = vec![
        ("ActionKind", names(log::ActionKind::ALL, |v| v.as_str())),
        ("CaseStatus", names(case::CaseStatus::ALL, |v| v.as_str())),
        ("Channel", names(log::Channel::ALL, |v| v.as_str())),
        (
            "ChannelKind",
            names(beneficiary::ChannelKind::ALL, |v| v.as_str()),
        ),
        ("Direction", names(log::Direction::ALL, |v| v.as_str())),
        ("Impact", names(case::Impact::ALL, |v| v.as_str())),
        ("PartyKind", names(party::PartyKind::ALL, |v| v.as_str())),
        ("PartyRole", names(party::PartyRole::ALL, |v| v.as_str())),
        ("Permission", names(access::Permission::ALL, |v| v.as_str())),
        ("Priority", names(case::Priority::ALL, |v| v.as_str())),
        ("Role", names(user::Role::ALL, |v| v.as_str())),
        ("Scope", names(user::Scope::ALL, |v| v.as_str())),
        (
            "SignatureStatus",
            names(mail::SignatureStatus::ALL, |v| v.as_str()),
        ),
        ("Urgency", names(case::Urgency::ALL, |v| v.as_str())),
        (
            "VerificationMethod",
            names(beneficiary::VerificationMethod::ALL, |v| v.as_str()),
        ),
        (
            "VerificationStatus",
            names(beneficiary::VerificationStatus::ALL, |v| v.as_str()),
        ),
        ("Vetting", names(workflow::Vetting::ALL, |v| v.as_str())),
        (
            "WebhookEvent",
            names(workflow::WebhookEvent::ALL, |v| v.as_str()),
        ),
    ];
    let spec = spec();
    let mut wrong = Vec::new();
    for (schema, code) in sets {
        let listed: BTreeSet<String> = spec["components"]["schemas"][schema]["enum"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if listed != code {
            wrong.push(format!(
                "{schema}: the code has {:?} more, the spec {:?} more",
                code.difference(&listed).collect::<Vec<_>>(),
                listed.difference(&code).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
