//! The permission matrix, from the spec: every operation of `openapi.yaml` × every staff role
//! and integration scope × the four case situations (own, someone else's, confidential without
//! a grant, with one), against the table in `tests/permissions.txt`. Allowed means one of the
//! operation's documented 2xx statuses (so every request here is a valid one); denied means
//! exactly the status the table names. An operation of the spec without a row fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use helpline_domain::user::{Role, Scope};
use helpline_tests::{on_both_backends, Backend, Resp, TestApp, TestDb, PASSWORD};
use serde_json::{json, Value};

const TABLE: &str = include_str!("../permissions.txt");
const SITUATIONS: [&str; 4] = ["own", "other", "confidential", "granted"];

/// One row of the table: the operation and, per caller column, its letters.
struct Row {
    op: String,
    cells: Vec<String>,
}

fn table() -> (Vec<String>, Vec<Row>) {
    let mut callers = Vec::new();
    let mut rows = Vec::new();
    for line in TABLE.lines() {
        if let Some(head) = line.strip_prefix("# operation") {
            callers = head.split_whitespace().map(str::to_owned).collect();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        rows.push(Row {
            op: format!("{} {}", words[0], words[1]),
            cells: words[2..].iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    (callers, rows)
}

/// Every operation of the spec with its documented 2xx statuses.
fn spec_operations() -> BTreeMap<String, BTreeSet<u16>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    let spec: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let mut ops = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let ok = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(code, _)| code.parse::<u16>().ok())
                .filter(|c| (200..300).contains(c))
                .collect();
            ops.insert(format!("{} {path}", method.to_uppercase()), ok);
        }
    }
    ops
}

/// Whether an operation is about one case or one person, so has a letter per situation.
fn situated(op: &str) -> bool {
    let path = op.split_once(' ').map_or("", |(_, p)| p);
    path.starts_with("/api/v1/cases/{id}") || path.starts_with("/api/v1/beneficiaries/{id}")
}

#[test]
fn the_table_covers_the_spec_exactly() {
    let (callers, rows) = table();
    assert_eq!(
        callers,
        [
            "handler",
            "analyst",
            "lead",
            "admin",
            "mail:ingest",
            "cases:read",
            "cases:write",
            "analysis:read",
            "exports:read"
        ],
        "the columns are the four staff roles and every scope"
    );
    assert_eq!(Scope::ALL.len(), callers.len() - 4, "a scope has no column");
    let spec = spec_operations();
    let listed: BTreeSet<&str> = rows.iter().map(|r| r.op.as_str()).collect();
    let missing: Vec<&String> = spec
        .keys()
        .filter(|o| !listed.contains(o.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations of openapi.yaml with no row in tests/permissions.txt: {missing:?}"
    );
    let unknown: Vec<&&str> = listed.iter().filter(|o| !spec.contains_key(**o)).collect();
    assert!(
        unknown.is_empty(),
        "rows for no operation of the spec: {unknown:?}"
    );
    assert_eq!(listed.len(), rows.len(), "an operation has two rows");
    for r in &rows {
        assert_eq!(r.cells.len(), callers.len(), "{}: a cell per caller", r.op);
        let width = if situated(&r.op) { 4 } else { 1 };
        for c in &r.cells {
            assert!(
                c.len() == width && c.chars().all(|x| matches!(x, 'A' | 'F' | 'N')),
                "{}: `{c}` is not {width} of A, F, N",
                r.op
            );
        }
    }
}

/// The README's rendering of the table, between its markers.
fn rendered() -> String {
    let (callers, rows) = table();
    let mut out = String::from("| operation | ");
    out.push_str(&callers.join(" | "));
    out.push_str(" |\n|---|");
    out.push_str(&"---|".repeat(callers.len()));
    out.push('\n');
    for r in &rows {
        out.push_str(&format!("| `{}` | {} |\n", r.op, r.cells.join(" | ")));
    }
    out
}

/// The README shows the table, generated from the same file: `scripts/permissions-table`
/// rewrites it (this test with `HELPLINE_WRITE_README=1`), and this test fails when it is stale.
#[test]
fn the_readme_shows_the_table() {
    const BEGIN: &str = "<!-- permissions:begin (scripts/permissions-table) -->\n";
    const END: &str = "<!-- permissions:end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md has no permissions table markers");
    };
    let current = &readme[start + BEGIN.len()..end];
    let wanted = rendered();
    if std::env::var_os("HELPLINE_WRITE_README").is_some() {
        let new = format!(
            "{}{wanted}{}",
            &readme[..start + BEGIN.len()],
            &readme[end..]
        );
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    assert!(
        current == wanted,
        "README.md's permissions table is stale: run scripts/permissions-table"
    );
}

/// A caller of the matrix: a member of staff, or an integration token with one scope.
struct Caller {
    column: String,
    token: String,
    /// The account (staff only).
    user: Option<(String, Role)>,
}

/// A request to make: what the recipe of an operation built.
#[derive(Default)]
struct Req {
    path: String,
    body: Option<Value>,
    raw: Option<(&'static str, Vec<u8>)>,
    etag: Option<String>,
    /// Sent with this token rather than the caller's (a fresh session of the same role).
    token: Option<String>,
    anonymous: bool,
}

/// What a call needs around it: the case of the situation and its beneficiary.
struct Scene<'a> {
    app: &'a TestApp,
    admin: &'a str,
    gw: &'a str,
    olga: &'a str,
    gia: &'a str,
    n: usize,
}

impl Scene<'_> {
    fn case(&self, assignee: &str, confidential: bool, urgency: &str) -> (String, String, String) {
        let c = self
            .app
            .post(
                "/api/v1/cases",
                self.admin,
                json!({"beneficiary": {"name": format!("Person {}", self.n), "emails": [format!("p{}-{}@example.org", self.n, uuid::Uuid::now_v7().simple())]},
                       "summary": "s", "urgency": urgency, "service_type": "phishing",
                       "confidential": confidential, "assignee_id": assignee}),
            )
            .expect(201);
        let bid = c.json["beneficiary_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let etag = c.header("etag").unwrap_or_default().to_owned();
        (c.id(), bid, etag)
    }

    fn plain_case(&self) -> String {
        self.case(self.olga, false, "low").0
    }

    fn post(&self, path: &str, body: Value) -> Resp {
        self.app.post(path, self.admin, body)
    }
}

fn unique() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn totp_code(secret: &str, steps: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap_or_default();
    let t = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        String::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp() + steps * 30;
    t.generate(u64::try_from(now).unwrap_or_default())
}

fn mail_fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/mail/tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A member of staff of the same role as `who`, logged in: for the operations on one's own
/// account (password, second factor, logout), which must not change the caller's.
fn twin(app: &TestApp, who: &Caller) -> Option<(String, String)> {
    let (_, role) = who.user.as_ref()?;
    let name = format!("twin{}", &unique()[20..]);
    app.create_user(&name, *role);
    Some((name.clone(), app.login(&name)))
}

/// Builds a valid request for `op` in situation `sit` (cases created as `case_owner` decides).
#[allow(clippy::too_many_lines)]
fn recipe(s: &Scene<'_>, op: &str, who: &Caller, sit: &str) -> Req {
    let app = s.app;
    let owner = match (&who.user, sit) {
        (Some((id, _)), "own") => id.clone(),
        _ => s.olga.to_owned(),
    };
    let confidential = matches!(sit, "confidential" | "granted");
    let urgency = if op.contains("escalation") {
        "critical"
    } else {
        "low"
    };
    let (case, bid, case_etag) = if situated(op) {
        let made = s.case(&owner, confidential, urgency);
        if sit == "granted" {
            if let Some((id, _)) = &who.user {
                s.post(
                    &format!("/api/v1/cases/{}/access", made.0),
                    json!({"user_id": id}),
                )
                .expect(201);
            }
        }
        made
    } else {
        Default::default()
    };
    let c = format!("/api/v1/cases/{case}");
    let b = format!("/api/v1/beneficiaries/{bid}");
    let path = |p: &str| p.replace("{id}", &case);
    let mut r = Req::default();
    let (method, template) = op.split_once(' ').unwrap_or_default();
    r.path = if template.starts_with("/api/v1/beneficiaries/{id}") {
        template.replace("{id}", &bid)
    } else {
        path(template)
    };
    match op {
        "POST /api/v1/auth/login" => {
            r.anonymous = true;
            r.body = Some(json!({"username": "olga", "password": PASSWORD}));
        }
        "POST /api/v1/auth/password" => {
            r.token = twin(app, who).map(|t| t.1);
            r.body = Some(json!({"current_password": PASSWORD, "new_password": PASSWORD}));
        }
        "POST /api/v1/auth/second-factor" | "POST /api/v1/auth/logout" => {
            r.token = twin(app, who).map(|t| t.1);
        }
        "POST /api/v1/auth/second-factor/confirm" | "POST /api/v1/auth/second-factor/remove" => {
            let mut code = "000000".to_owned();
            if let Some((_, t)) = twin(app, who) {
                let e = app
                    .post("/api/v1/auth/second-factor", &t, json!({}))
                    .expect(201);
                let secret = e.json["secret"].as_str().unwrap_or_default().to_owned();
                code = totp_code(&secret, 0);
                if op.ends_with("remove") {
                    app.post(
                        "/api/v1/auth/second-factor/confirm",
                        &t,
                        json!({"code": code}),
                    )
                    .expect(200);
                }
                r.token = Some(t);
            }
            r.body = Some(if op.ends_with("remove") {
                json!({"current_password": PASSWORD})
            } else {
                json!({"code": code})
            });
        }
        "POST /api/v1/cases" => {
            r.body = Some(
                json!({"beneficiary": {"name": "New person"}, "summary": "s", "urgency": "low", "service_type": "phishing"}),
            );
        }
        "PATCH /api/v1/cases/{id}" => {
            r.body = Some(json!({"summary": "changed"}));
            r.etag = Some(case_etag);
        }
        "POST /api/v1/cases/{id}/access" => r.body = Some(json!({"user_id": s.gia})),
        "DELETE /api/v1/cases/{id}/access/{user_id}" => {
            s.post(&format!("{c}/access"), json!({"user_id": s.gia}))
                .expect(201);
            r.path = format!("{c}/access/{}", s.gia);
        }
        "POST /api/v1/cases/{id}/messages" => {
            r.body = Some(json!({"direction": "in", "channel": "phone", "body": "a call"}));
        }
        "POST /api/v1/cases/{id}/comments" => r.body = Some(json!({"body": "a note"})),
        "POST /api/v1/cases/{id}/actions" => {
            r.body = Some(json!({"kind": "advice", "description": "advice given"}));
        }
        "POST /api/v1/cases/{id}/next-steps" => r.body = Some(json!({"title": "call back"})),
        "PATCH /api/v1/cases/{id}/next-steps/{step_id}" => {
            let step = s
                .post(&format!("{c}/next-steps"), json!({"title": "t"}))
                .expect(201);
            r.path = format!("{c}/next-steps/{}", step.id());
            r.etag = step.header("etag").map(str::to_owned);
            r.body = Some(json!({"done": true}));
        }
        "POST /api/v1/cases/{id}/parties" => {
            let party = app.party(s.admin, &format!("Platform {}", unique()), "platform");
            r.body = Some(json!({"party_id": party, "role": "other"}));
        }
        "POST /api/v1/beneficiaries" => r.body = Some(json!({"name": "Someone new"})),
        "PATCH /api/v1/beneficiaries/{id}" => {
            r.body = Some(json!({"notes": "n"}));
            r.etag = app.get(&b, s.admin).header("etag").map(str::to_owned);
        }
        "POST /api/v1/beneficiaries/{id}/verification" => {
            r.body = Some(json!({"status": "verified", "method": "in_person"}));
        }
        "POST /api/v1/parties" => {
            r.body = Some(json!({"name": format!("Company {}", unique()), "kind": "company"}));
        }
        "GET /api/v1/parties/{id}" | "PATCH /api/v1/parties/{id}" => {
            let p = app.party(s.admin, &format!("Party {}", unique()), "platform");
            r.path = format!("/api/v1/parties/{p}");
            if method == "PATCH" {
                r.etag = app.get(&r.path, s.admin).header("etag").map(str::to_owned);
                r.body = Some(json!({"notes": "n"}));
            }
        }
        "POST /api/v1/users" => {
            r.body = Some(
                json!({"username": format!("u{}", &unique()[20..]), "display_name": "U", "role": "handler", "password": "long enough password"}),
            );
        }
        "GET /api/v1/users/{id}" | "GET /api/v1/users/{id}/reads" => {
            r.path = template.replace("{id}", s.olga);
        }
        "PATCH /api/v1/users/{id}" => {
            let u = app.create_user(&format!("p{}", &unique()[20..]), Role::Handler);
            r.path = format!("/api/v1/users/{u}");
            r.etag = app.get(&r.path, s.admin).header("etag").map(str::to_owned);
            r.body = Some(json!({"display_name": "Renamed"}));
        }
        "POST /api/v1/tokens" => r.body = Some(json!({"name": "t", "scopes": ["cases:read"]})),
        "DELETE /api/v1/tokens/{id}" => {
            let t = s
                .post(
                    "/api/v1/tokens",
                    json!({"name": "t", "scopes": ["cases:read"]}),
                )
                .expect(201);
            r.path = format!("/api/v1/tokens/{}", t.id());
        }
        "POST /api/v1/mail/inbound" => {
            let raw = format!(
                "From: Writer <w{}@example.net>\r\nTo: help@helpline.example\r\nSubject: Help\r\nMessage-ID: <{}@example.net>\r\nContent-Type: text/plain\r\n\r\nPlease help.\r\n",
                unique(),
                unique()
            );
            r.raw = Some(("message/rfc822", raw.into_bytes()));
        }
        "GET /api/v1/mail/quarantine/{id}"
        | "GET /api/v1/mail/quarantine/{id}/raw"
        | "POST /api/v1/mail/quarantine/{id}/retry"
        | "POST /api/v1/mail/quarantine/{id}/assign" => {
            // Encrypted to a key this server does not hold; made unique so it is not a duplicate.
            let raw = String::from_utf8_lossy(&mail_fixture("old-key.eml")).replacen(
                "Message-ID: <",
                &format!("Message-ID: <{}.", unique()),
                1,
            );
            let raw = format!("X-Matrix: {}\r\n{raw}", unique());
            let q = app
                .raw(
                    "POST",
                    "/api/v1/mail/inbound",
                    Some(s.gw),
                    "message/rfc822",
                    raw.as_bytes(),
                    &[],
                )
                .expect(202);
            let qid = q.json["inbound_id"].as_str().unwrap_or_default();
            r.path = template.replace("{id}", qid);
            if op.ends_with("assign") {
                r.body = Some(json!({"case": s.plain_case()}));
            }
        }
        "POST /api/v1/cases/{id}/evidence" => {
            r.path = format!("{c}/evidence?filename=capture.pcap&description=capture");
            r.raw = Some(("application/octet-stream", b"captured bytes".to_vec()));
        }
        "GET /api/v1/cases/{id}/evidence/{eid}/custody"
        | "POST /api/v1/cases/{id}/evidence/{eid}/verify"
        | "GET /api/v1/cases/{id}/evidence/{eid}/content" => {
            let e = app
                .raw(
                    "POST",
                    &format!("{c}/evidence?filename=f.bin"),
                    Some(s.admin),
                    "application/octet-stream",
                    b"bytes",
                    &[],
                )
                .expect(201);
            r.path = path(template).replace("{eid}", &e.id());
        }
        "POST /api/v1/beneficiaries/{id}/certificates" => {
            let armored = String::from_utf8_lossy(&mail_fixture("alice.asc")).into_owned();
            r.body = Some(json!({"armored": armored, "accept_mismatch": true}));
        }
        "POST /api/v1/cases/{id}/replies" => r.body = Some(json!({"body": "We will call you."})),
        "PUT /api/v1/cases/{id}/mail-policy" | "PUT /api/v1/beneficiaries/{id}/mail-policy" => {
            r.body = Some(json!({"require_encryption": false}));
        }
        "POST /api/v1/cases/{id}/indicators" => {
            r.body = Some(json!({"kind": "domain", "value": "evil.example"}));
        }
        "DELETE /api/v1/cases/{id}/indicators/{indicator_id}" => {
            let i = s
                .post(
                    &format!("{c}/indicators"),
                    json!({"kind": "domain", "value": "evil.example"}),
                )
                .expect(201);
            let iid = i.json["indicator"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            r.path = format!("{c}/indicators/{iid}");
        }
        "POST /api/v1/cases/{id}/messages/{message_id}/extract" => {
            let m = s
                .post(
                    &format!("{c}/messages"),
                    json!({"direction": "in", "channel": "phone", "body": "they went to evil.example"}),
                )
                .expect(201);
            r.path = format!("{c}/messages/{}/extract", m.id());
        }
        "GET /api/v1/indicators" | "GET /api/v1/indicators/{indicator_id}/cases" => {
            let i = s.post(
                &format!("/api/v1/cases/{}/indicators", s.plain_case()),
                json!({"kind": "domain", "value": "known.example"}),
            );
            let iid = i.json["indicator"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            r.path = if op.ends_with("/cases") {
                format!("/api/v1/indicators/{iid}/cases")
            } else {
                "/api/v1/indicators?kind=domain&value=known.example".to_owned()
            };
        }
        "POST /api/v1/cases/{id}/links" => {
            r.body = Some(json!({"target": s.plain_case(), "kind": "related"}));
        }
        "DELETE /api/v1/cases/{id}/links/{target}" => {
            let t = s.plain_case();
            s.post(
                &format!("{c}/links"),
                json!({"target": t, "kind": "related"}),
            )
            .expect(201);
            r.path = format!("{c}/links/{t}");
        }
        "POST /api/v1/cases/{id}/merge" => r.body = Some(json!({"into": s.plain_case()})),
        "POST /api/v1/cases/{id}/unmerge" => {
            s.post(&format!("{c}/merge"), json!({"into": s.plain_case()}))
                .expect(200);
        }
        "GET /api/v1/cases/{id}/export" => r.path = format!("{c}/export?format=misp"),
        "POST /api/v1/cases/{id}/import" => {
            r.path = format!("{c}/import?format=misp");
            let event = json!({"Event": {"info": "x", "Attribute": [{"type": "domain", "category": "Network activity", "value": "imported.example", "to_ids": true}]}});
            r.raw = Some(("application/json", event.to_string().into_bytes()));
        }
        "PUT /api/v1/roster/settings" => r.body = Some(json!({"auto_assign": false})),
        "POST /api/v1/roster/shifts" | "POST /api/v1/roster/absences" => {
            let me = who.user.as_ref().map_or(s.olga, |(id, _)| id.as_str());
            let start =
                chrono::Utc::now() + chrono::Duration::days(3 + i64::try_from(s.n).unwrap_or(0));
            r.body = Some(
                json!({"user_id": me, "starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::hours(8)).to_rfc3339()}),
            );
        }
        "POST /api/v1/roster/rotation" => {
            let start =
                chrono::Utc::now() + chrono::Duration::days(400 + i64::try_from(s.n).unwrap_or(0));
            r.body = Some(
                json!({"user_ids": [s.olga], "starts_at": start.to_rfc3339(), "period": "day", "periods": 1, "per_period": 1}),
            );
        }
        "DELETE /api/v1/roster/shifts/{id}" | "DELETE /api/v1/roster/absences/{id}" => {
            let kind = if op.contains("shifts") {
                "shifts"
            } else {
                "absences"
            };
            let start =
                chrono::Utc::now() + chrono::Duration::days(800 + i64::try_from(s.n).unwrap_or(0));
            let p = s
                .post(
                    &format!("/api/v1/roster/{kind}"),
                    json!({"user_id": s.olga, "starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::hours(8)).to_rfc3339()}),
                )
                .expect(201);
            r.path = format!("/api/v1/roster/{kind}/{}", p.id());
        }
        "POST /api/v1/cases/{id}/handoff" => {
            r.body = Some(json!({"to": s.gia, "note": "over to you"}));
            r.etag = Some(case_etag);
        }
        "POST /api/v1/cases/{id}/escalation/acknowledge" | "PUT /api/v1/cases/{id}/legal-hold" => {
            r.etag = Some(case_etag);
            if method == "PUT" {
                r.body = Some(json!({"reason": "a court asked"}));
            }
        }
        "DELETE /api/v1/cases/{id}/legal-hold" => {
            let held = app.call(
                "PUT",
                &format!("{c}/legal-hold"),
                Some(s.admin),
                Some(&json!({"reason": "a court asked"})),
                &[("if-match", &case_etag)],
            );
            r.etag = held.header("etag").map(str::to_owned);
        }
        "GET /api/v1/stats" => {
            r.path = "/api/v1/stats?from=2024-01-01T00:00:00Z&to=2032-01-01T00:00:00Z".into();
        }
        _ => {}
    }
    r
}

fn matrix_holds(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let keys = std::env::temp_dir().join(format!("hl_matrix_keys_{}", unique()));
    std::fs::create_dir_all(&keys).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        keys.join("helpline-secret.asc"),
        mail_fixture("helpline-secret.asc"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key_dir = keys.to_string_lossy().into_owned();
    let app = TestApp::start_with(db, None, move |c| c.mail.key_dir = key_dir);
    let (olga, _) = app.user("olga", Role::Handler);
    let gia = app.create_user("gia", Role::Handler);
    let (_, admin) = app.user("root", Role::Admin);
    let (columns, rows) = table();
    let mut callers = Vec::new();
    for column in &columns {
        if let Ok(scope) = Scope::parse(column) {
            let t = app
                .post(
                    "/api/v1/tokens",
                    &admin,
                    json!({"name": format!("integration {scope}"), "scopes": [scope]}),
                )
                .expect(201);
            callers.push(Caller {
                column: column.clone(),
                token: t.json["secret"].as_str().unwrap_or_default().to_owned(),
                user: None,
            });
        } else {
            let role = Role::parse(column).unwrap_or_else(|e| panic!("{e}"));
            let name = format!("m{column}");
            let (id, token) = app.user(&name, role);
            callers.push(Caller {
                column: column.clone(),
                token,
                user: Some((id, role)),
            });
        }
    }
    let gw = callers
        .iter()
        .find(|c| c.column == "mail:ingest")
        .map(|c| c.token.clone())
        .unwrap_or_default();
    let spec = spec_operations();
    let mut wrong = Vec::new();
    let mut n = 0;
    for row in &rows {
        let ok = spec.get(&row.op).cloned().unwrap_or_default();
        let (method, _) = row.op.split_once(' ').unwrap_or_default();
        for (who, cell) in callers.iter().zip(&row.cells) {
            let situations: Vec<&str> = if cell.len() == 4 {
                SITUATIONS.to_vec()
            } else {
                vec!["none"]
            };
            for (sit, expected) in situations.iter().zip(cell.chars()) {
                n += 1;
                let scene = Scene {
                    app: &app,
                    admin: &admin,
                    gw: &gw,
                    olga: &olga,
                    gia: &gia,
                    n,
                };
                let req = recipe(&scene, &row.op, who, sit);
                let token = req.token.as_deref().unwrap_or(&who.token);
                let token = (!req.anonymous).then_some(token);
                let mut headers: Vec<(&str, &str)> = Vec::new();
                if let Some(e) = &req.etag {
                    headers.push(("if-match", e));
                }
                let got = match &req.raw {
                    Some((ct, bytes)) => app.raw(method, &req.path, token, ct, bytes, &headers),
                    None => app.call(method, &req.path, token, req.body.as_ref(), &headers),
                };
                let good = match expected {
                    'A' => ok.contains(&got.status),
                    'F' => got.status == 403,
                    _ => got.status == 404,
                };
                if !good {
                    wrong.push(format!(
                        "{} as {} ({sit}): expected {expected}, got {} {}",
                        row.op,
                        who.column,
                        got.status,
                        got.text.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&keys);
    assert!(
        wrong.is_empty(),
        "{} of {n} calls differ from tests/permissions.txt:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

on_both_backends!(matrix_holds);
