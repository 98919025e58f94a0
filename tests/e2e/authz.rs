//! Every kind of bad credential refused with 401, logout, and tokens scoped like real
//! integrations. (Every operation × role × scope × case situation: `permissions.rs`.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use helpline_domain::user::{Role, Scope};
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::{json, Value};

fn sign(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap_or_default()
}

fn bad_credentials_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (uid, good) = app.user("hana", Role::Handler);
    app.get("/api/v1/me", &good).expect(200);
    let secret = app.config.jwt_secret.expose().as_bytes().to_vec();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64, iss: &str, aud: &str| json!({"sub": uid, "iss": iss, "aud": aud, "iat": now - 10, "exp": exp});

    let expired = sign(&claims(now - 60, "helpline", "helpline-api"), &secret);
    let wrong_key = sign(
        &claims(now + 600, "helpline", "helpline-api"),
        b"another-secret-another-secret-0000",
    );
    let wrong_iss = sign(&claims(now + 600, "someone-else", "helpline-api"), &secret);
    let wrong_aud = sign(&claims(now + 600, "helpline", "other-api"), &secret);
    let no_exp = sign(
        &json!({"sub": uid, "iss": "helpline", "aud": "helpline-api"}),
        &secret,
    );
    let unknown_user = sign(
        &json!({"sub": uuid::Uuid::now_v7().to_string(), "iss": "helpline", "aud": "helpline-api", "exp": now + 600}),
        &secret,
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let tampered = {
        let payload = URL_SAFE_NO_PAD.decode(&parts[1]).unwrap_or_default();
        let mut v: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        v["exp"] = json!(now + 999_999);
        parts[1] = URL_SAFE_NO_PAD.encode(v.to_string());
        parts.join(".")
    };
    let alg_none = {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload =
            URL_SAFE_NO_PAD.encode(claims(now + 600, "helpline", "helpline-api").to_string());
        format!("{header}.{payload}.")
    };
    for (what, token) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("wrong issuer", wrong_iss),
        ("wrong audience", wrong_aud),
        ("no expiry", no_exp),
        ("unknown user", unknown_user),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("garbage", "not.a.jwt".into()),
        (
            "bad api token",
            "hlp_00000000000000000000000000000000_nope".into(),
        ),
    ] {
        let r = app.get("/api/v1/me", &token);
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
    }
    let none = app.call("GET", "/api/v1/me", None, None, &[]).expect(401);
    assert_eq!(none.json["status"], 401);
    let basic = app.call(
        "GET",
        "/api/v1/me",
        None,
        None,
        &[("authorization", "Basic aGFuYTpwdw==")],
    );
    assert_eq!(basic.status, 401);

    // Wrong password, unknown user: the same answer.
    let wrong = app.post(
        "/api/v1/auth/login",
        "",
        json!({"username": "hana", "password": "wrong password!!"}),
    );
    let unknown = app.post(
        "/api/v1/auth/login",
        "",
        json!({"username": "nobody", "password": "wrong password!!"}),
    );
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.json["detail"], unknown.json["detail"]);

    // Password guessing is paused after five failures, for that account only.
    let (_, _) = app.user("target", Role::Handler);
    for _ in 0..5 {
        app.post(
            "/api/v1/auth/login",
            "",
            json!({"username": "target", "password": "guess guess guess"}),
        )
        .expect(401);
    }
    let paused = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "TARGET", "password": helpline_tests::PASSWORD}),
        )
        .expect(429);
    assert!(paused
        .header("retry-after")
        .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)));
    assert_eq!(
        paused.header("content-type"),
        Some("application/problem+json")
    );
    app.login("hana");

    // API tokens: revoked and expired ones are refused.
    let (_, admin) = app.user("root", Role::Admin);
    let t = app
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "gw", "scopes": ["cases:read"]}),
        )
        .expect(201);
    let secret_text = t.json["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret_text.starts_with("hlp_"));
    app.get("/api/v1/cases", &secret_text).expect(200);
    let listed = app.get("/api/v1/tokens", &admin).expect(200);
    assert!(
        !listed.text.contains(&secret_text[20..]),
        "secrets are never listed"
    );
    // Tokens (newest first) and accounts (by name) are paged: walked one at a time, the same
    // lists, and the last cursor reaches the end.
    for (path, n) in [("/api/v1/tokens", 3), ("/api/v1/users", 0)] {
        for i in 0..n {
            app.post(
                path,
                &admin,
                json!({"name": format!("extra-{i}"), "scopes": ["cases:read"]}),
            )
            .expect(201);
        }
        let all = app
            .get(&format!("{path}?limit=200"), &admin)
            .expect(200)
            .json["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(all.len() >= 2, "{path}: {}", all.len());
        let (walked, _) = app.walk(path, &admin, 1);
        assert_eq!(walked, all, "{path}");
    }
    let mut forged = secret_text.clone();
    forged.pop();
    forged.push(if secret_text.ends_with('A') { 'B' } else { 'A' });
    app.get("/api/v1/cases", &forged).expect(401);
    app.call(
        "DELETE",
        &format!(
            "/api/v1/tokens/{}",
            t.json["id"].as_str().unwrap_or_default()
        ),
        Some(&admin),
        None,
        &[],
    )
    .expect(204);
    app.get("/api/v1/cases", &secret_text).expect(401);

    // An expired one too (made directly: the API refuses to create one already expired).
    let id = helpline_domain::ids::TokenId::new();
    let (expired_text, hash) = helpline_api::auth::new_token_secret(id);
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    app.store()
        .write(
            helpline_domain::user::Actor::System,
            chrono::Utc::now(),
            move |tx| {
                helpline_store::tokens::create(
                    tx,
                    id,
                    helpline_domain::text::Name::parse("old gateway")?,
                    vec![Scope::CasesRead],
                    hash,
                    Some(past),
                )
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let r = app.get("/api/v1/cases", &expired_text).expect(401);
    assert!(r.text.contains("revoked or expired"), "{}", r.text);
    app.post(
        "/api/v1/tokens",
        &admin,
        json!({"name": "x", "scopes": ["cases:read"], "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .expect(422);

    // A deactivated account's token stops working at once.
    let (hid, h2) = app.user("gone", Role::Handler);
    app.get("/api/v1/me", &h2).expect(200);
    let u = app.get(&format!("/api/v1/users/{hid}"), &admin).expect(200);
    let etag = u.header("etag").unwrap_or_default().to_owned();
    app.patch(
        &format!("/api/v1/users/{hid}"),
        &admin,
        &etag,
        json!({"active": false}),
    )
    .expect(200);
    // Its principal is no longer cached, so it is read again: whatever else is wrong with the
    // request (no If-Match, a broken body), the caller hears 401 first.
    let case = app.open_case(&admin).id();
    let r = app.call(
        "PATCH",
        &format!("/api/v1/cases/{case}"),
        Some(&h2),
        None,
        &[("content-type", "application/json")],
    );
    assert_eq!(r.status, 401, "{}", r.text);
    app.get("/api/v1/me", &h2).expect(401);
    // A caller without the permission hears 403 before anything about the request itself.
    let (_, analyst) = app.user("looker", Role::Analyst);
    let r = app.call(
        "PATCH",
        &format!("/api/v1/users/{hid}"),
        Some(&analyst),
        None,
        &[("content-type", "application/json")],
    );
    assert_eq!(r.status, 403, "{}", r.text);
}

/// A logout gives up the token it carries, at once and for good; the user's other sessions and
/// integration tokens are not touched.
fn logging_out_gives_up_the_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, first) = app.user("hana", Role::Handler);
    let second = app.login("hana");
    app.get("/api/v1/me", &first).expect(200);
    app.call("POST", "/api/v1/auth/logout", Some(&first), None, &[])
        .expect(204);
    let r = app.get("/api/v1/me", &first).expect(401);
    assert!(r.text.contains("logged out"), "{}", r.text);
    app.call("POST", "/api/v1/auth/logout", Some(&first), None, &[])
        .expect(401);
    app.get("/api/v1/me", &second).expect(200);
    // A password is changed by saying the current one again.
    let change = |token: &str, current: &str, new: &str| {
        app.call(
            "POST",
            "/api/v1/auth/password",
            Some(token),
            Some(&json!({"current_password": current, "new_password": new})),
            &[],
        )
    };
    change(&second, "not the password at all", "a brand new passphrase").expect(422);
    change(&second, helpline_tests::PASSWORD, "short").expect(422);
    change(&second, helpline_tests::PASSWORD, "a brand new passphrase").expect(204);
    let login = |password: &str| {
        app.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": "hana", "password": password})),
            &[],
        )
        .status
    };
    assert_eq!(login(helpline_tests::PASSWORD), 401);
    assert_eq!(login("a brand new passphrase"), 200);
    change(&second, "a brand new passphrase", helpline_tests::PASSWORD).expect(204);
    // A new login is a new session.
    let third = app.login("hana");
    app.get("/api/v1/me", &third).expect(200);
    // An integration token is revoked by an admin, not logged out.
    let (_, admin) = app.user("root", Role::Admin);
    let t = app
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "sync", "scopes": ["cases:read"]}),
        )
        .expect(201)
        .json["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.call("POST", "/api/v1/auth/logout", Some(&t), None, &[])
        .expect(403);
    app.get("/api/v1/cases", &t).expect(200);

    // On PostgreSQL, a second node sharing the database refuses the token too (SQLite keeps
    // one node). It may believe "not revoked" for a second; the bound here is a loose one.
    if backend == Backend::Postgres {
        let other = TestApp::start(app.db.clone(), None);
        let session = app.login("hana");
        other.get("/api/v1/me", &session).expect(200);
        app.call("POST", "/api/v1/auth/logout", Some(&session), None, &[])
            .expect(204);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while other.get("/api/v1/me", &session).status != 401 {
            assert!(
                std::time::Instant::now() < deadline,
                "the other node still takes a token logged out"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// Two nodes on one PostgreSQL: the login pause counts failures made through either, and a
/// deactivation or a role change through one applies on the other within a second (each node
/// watches the version of who may act; no request waits for it). SQLite keeps one node.
fn limits_and_revocations_are_shared_by_the_nodes(backend: Backend) {
    if backend != Backend::Postgres {
        return;
    }
    let Some(a) = TestApp::spawn(backend) else {
        return;
    };
    let b = TestApp::start(a.db.clone(), None);
    let (_, admin) = a.user("root", Role::Admin);
    let (hana_id, hana) = a.user("hana", Role::Handler);
    let attempt = |app: &TestApp, password: &str| {
        app.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": "hana", "password": password})),
            &[],
        )
        .status
    };
    // Five wrong passwords, alternating between the nodes: the sixth try waits on both.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(attempt(node, "wrong wrong wrong"), 401);
    }
    assert_eq!(attempt(&b, helpline_tests::PASSWORD), 429);
    assert_eq!(attempt(&a, helpline_tests::PASSWORD), 429);

    // A role change and a deactivation through one node, seen by the other within a second.
    b.get("/api/v1/cases", &hana).expect(200);
    let path = format!("/api/v1/users/{hana_id}");
    let within_a_second = |what: &str, status: u16| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let got = b.get("/api/v1/cases", &hana).status;
            if got == status {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: the other node still answers {got}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let etag = |app: &TestApp| {
        app.get(&path, &admin)
            .header("etag")
            .unwrap_or_default()
            .to_owned()
    };
    a.patch(&path, &admin, &etag(&a), json!({"role": "analyst"}))
        .expect(200);
    // Analysts read cases too; they do not open them.
    let opened = b.post("/api/v1/cases", &hana, json!({"beneficiary": {"name": "X"}, "summary": "s", "urgency": "low", "service_type": "phishing"}));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let mut status = opened.status;
    while status != 403 {
        assert!(
            std::time::Instant::now() < deadline,
            "the other node still lets a demoted handler open cases ({status})"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        status = b
            .post("/api/v1/cases", &hana, json!({"beneficiary": {"name": "X"}, "summary": "s", "urgency": "low", "service_type": "phishing"}))
            .status;
    }
    a.patch(&path, &admin, &etag(&a), json!({"active": false}))
        .expect(200);
    within_a_second("deactivation", 401);
}

/// Tokens shaped like real integrations: a MISP sync reads indicators and exports but never a
/// case's content; a reporting script reads the statistics and nothing else.
fn scoped_tokens_get_only_their_work(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, admin) = app.user("root", Role::Admin);
    let (_, hana) = app.user("hana", Role::Handler);
    let token = |scopes: Value| {
        app.post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "integration", "scopes": scopes}),
        )
        .expect(201)
        .json["secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let sync = token(json!(["analysis:read", "exports:read"]));
    let reporter = token(json!(["exports:read"]));
    let c = app.open_case(&hana).id();
    let put = app
        .post(
            &format!("/api/v1/cases/{c}/indicators"),
            &hana,
            json!({"kind": "domain", "value": "evil.example"}),
        )
        .expect(201);
    let ind = put.json["indicator"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    for path in [
        format!("/api/v1/cases/{c}/indicators"),
        format!("/api/v1/indicators/{ind}/cases"),
        "/api/v1/indicators?kind=domain&value=evil.example".to_owned(),
        format!("/api/v1/cases/{c}/related"),
        format!("/api/v1/cases/{c}/export?format=misp"),
        format!("/api/v1/cases/{c}/export?format=stix"),
    ] {
        app.get(&path, &sync).expect(200);
    }
    for path in [
        format!("/api/v1/cases/{c}"),
        format!("/api/v1/cases/{c}/timeline"),
        format!("/api/v1/cases/{c}/messages"),
        "/api/v1/cases".to_owned(),
        "/api/v1/beneficiaries".to_owned(),
        "/api/v1/escalations".to_owned(),
    ] {
        app.get(&path, &sync).expect(403);
        app.get(&path, &reporter).expect(403);
    }
    let stats = "/api/v1/stats?from=2024-01-01T00:00:00Z&to=2032-01-01T00:00:00Z";
    // A confidential case counts for those who may see it: not for a reporting script.
    app.post("/api/v1/cases", &admin, json!({"beneficiary": {"name": "Hidden"}, "summary": "s", "urgency": "high", "service_type": "malware", "confidential": true}))
        .expect(201);
    let reported = app.get(stats, &reporter).expect(200);
    assert_eq!(reported.json["total"], json!(1), "{}", reported.text);
    assert_eq!(reported.json["confidential"], json!(0));
    let by_lead = app.get(stats, &admin).expect(200);
    assert_eq!(by_lead.json["total"], json!(2));
    assert_eq!(by_lead.json["confidential"], json!(1));
    app.get(&format!("/api/v1/cases/{c}/indicators"), &reporter)
        .expect(403);
    // Staff without the oversight of leads do not read the statistics.
    app.get(stats, &hana).expect(403);
    app.post(
        &format!("/api/v1/cases/{c}/indicators"),
        &sync,
        json!({"kind": "domain", "value": "other.example"}),
    )
    .expect(403);
}

/// Twenty failed logins from one address, whatever the account names, pause that address (the
/// balancer's `X-Forwarded-For` names it), not another one, and not the accounts; a client that
/// is not a trusted proxy cannot choose the address it is counted under.
fn failed_logins_from_one_address_pause_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    app.create_user("hana", Role::Handler);
    let attempt = |app: &TestApp, user: &str, password: &str, from: Option<&str>| {
        let headers: Vec<(&str, &str)> = from.map(|f| ("x-forwarded-for", f)).into_iter().collect();
        app.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": user, "password": password})),
            &headers,
        )
        .status
    };
    // Behind the balancer (the default trusts loopback): the client named by X-Forwarded-For.
    for i in 0..20 {
        let user = format!("guess{i}");
        assert_eq!(
            attempt(
                &app,
                &user,
                "wrong wrong",
                Some("198.51.100.1, 203.0.113.7")
            ),
            401
        );
    }
    assert_eq!(
        attempt(&app, "hana", helpline_tests::PASSWORD, Some("203.0.113.7")),
        429
    );
    let refused = app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": "hana", "password": helpline_tests::PASSWORD})),
        &[("x-forwarded-for", "203.0.113.7")],
    );
    assert!(refused.text.contains("this address"), "{}", refused.text);
    assert_eq!(
        attempt(&app, "hana", helpline_tests::PASSWORD, Some("203.0.113.8")),
        200
    );
    assert_eq!(attempt(&app, "hana", helpline_tests::PASSWORD, None), 200);

    // A server that trusts no proxy counts the peer, whatever the request claims.
    let db = app.stop();
    let app = TestApp::start_with(db, None, |c| c.trusted_proxies = Vec::new());
    for i in 0..20 {
        let claimed = format!("192.0.2.{i}");
        assert_eq!(
            attempt(&app, &format!("other{i}"), "wrong wrong", Some(&claimed)),
            401
        );
    }
    assert_eq!(
        attempt(&app, "hana", helpline_tests::PASSWORD, Some("203.0.113.99")),
        429
    );
}

on_both_backends!(
    failed_logins_from_one_address_pause_it,
    limits_and_revocations_are_shared_by_the_nodes,
    scoped_tokens_get_only_their_work,
    bad_credentials_are_refused,
    logging_out_gives_up_the_token
);
