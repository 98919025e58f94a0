//! Staff accounts worth attacking: a second factor (TOTP) that the configuration can require,
//! recovery codes spent once, codes never good twice, wrong codes throttled like passwords,
//! and a deactivated account's tokens refused for good.

use helpline_domain::user::{Role, SecondFactorRule};
use helpline_tests::{on_both_backends, Backend, TestApp, TestDb, PASSWORD};
use serde_json::{json, Value};

fn login(app: &TestApp, username: &str, code: Option<&str>) -> helpline_tests::Resp {
    let mut body = json!({"username": username, "password": PASSWORD});
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    app.call("POST", "/api/v1/auth/login", None, Some(&body), &[])
}

use helpline_tests::totp_code as code;

fn token(r: &helpline_tests::Resp) -> String {
    r.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn second_factor_for_leads(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    let app = TestApp::start_with(db, None, |c| c.second_factor = SecondFactorRule::Leads);
    let (_, handler) = app.user("hana", Role::Handler);
    app.get("/api/v1/cases", &handler).expect(200);

    // A lead without a second factor gets a token that can only set one up.
    app.create_user("leo", Role::Lead);
    let first = login(&app, "leo", None).expect(200);
    assert_eq!(first.json["enrolment_only"], json!(true));
    let limited = token(&first);
    let refused = app.get("/api/v1/cases", &limited).expect(403);
    assert!(refused.text.contains("second factor"), "{}", refused.text);
    let me = app.get("/api/v1/me", &limited).expect(200);
    assert_eq!(me.json["permissions"], json!([]));

    let enrol = app
        .post("/api/v1/auth/second-factor", &limited, json!({}))
        .expect(201);
    let secret = enrol.json["secret"].as_str().unwrap_or_default().to_owned();
    let uri = enrol.json["otpauth_uri"].as_str().unwrap_or_default();
    assert!(
        uri.starts_with("otpauth://totp/Helpline:leo?") && uri.contains(&secret),
        "{uri}"
    );
    // The database holds it sealed (a backup alone gives no seed).
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Text)]
        secret: String,
    }
    let kept: Vec<Kept> = app
        .store()
        .read(|c| {
            Ok(diesel::RunQueryDsl::load(
                diesel::sql_query("SELECT secret FROM second_factors"),
                c,
            )?)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kept.len(), 1);
    assert!(kept[0].secret.starts_with("v1:") && !kept[0].secret.contains(&secret));
    // Not in force until confirmed: a wrong code is refused on the field.
    let wrong = app
        .post(
            "/api/v1/auth/second-factor/confirm",
            &limited,
            json!({"code": "000000"}),
        )
        .expect(422);
    assert!(wrong.text.contains("code"), "{}", wrong.text);
    let confirmed = app
        .post(
            "/api/v1/auth/second-factor/confirm",
            &limited,
            json!({"code": code(&secret, 0)}),
        )
        .expect(200);
    let recovery: Vec<String> = confirmed.json["recovery_codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(recovery.len(), 10, "{}", confirmed.text);
    // A second enrolment is refused while one is set up.
    app.post("/api/v1/auth/second-factor", &limited, json!({}))
        .expect(409);

    // Now the password alone is not enough, and a wrong code is refused.
    let asked = login(&app, "leo", None).expect(401);
    assert!(asked.text.contains("`code`"), "{}", asked.text);
    login(&app, "leo", Some("123456")).expect(401);
    // The code of the next step (clock drift) logs in, once; the step already used at
    // confirmation is never good again.
    login(&app, "leo", Some(&code(&secret, 0))).expect(401);
    let next = code(&secret, 1);
    let full = login(&app, "leo", Some(&next)).expect(200);
    assert_eq!(full.json["enrolment_only"], json!(false));
    app.get("/api/v1/cases", &token(&full)).expect(200);
    login(&app, "leo", Some(&next)).expect(401);

    // A recovery code, typed any way, logs in once.
    let typed = recovery[0].to_uppercase().replace('-', "");
    let recovered = login(&app, "leo", Some(&typed)).expect(200);
    app.get("/api/v1/escalations", &token(&recovered))
        .expect(200);
    login(&app, "leo", Some(&recovery[0])).expect(401);

    // Secrets, codes and hashes are in no answer and no audit event.
    app.create_user("root", Role::Admin);
    // The admin must have a second factor too: its first token can only set one up.
    let t = token(&login(&app, "root", None).expect(200));
    let e = app
        .post("/api/v1/auth/second-factor", &t, json!({}))
        .expect(201);
    let root_secret = e.json["secret"].as_str().unwrap_or_default().to_owned();
    app.post(
        "/api/v1/auth/second-factor/confirm",
        &t,
        json!({"code": code(&root_secret, 0)}),
    )
    .expect(200);
    let admin = token(&login(&app, "root", Some(&code(&root_secret, 1))).expect(200));
    let leo = app.get("/api/v1/users", &admin).json["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["username"] == json!("leo")).cloned())
        .unwrap_or_default();
    let leo_id = leo["id"].as_str().unwrap_or_default().to_owned();
    assert!(!leo.to_string().contains(&secret));
    let id = leo_id.clone();
    let events = app
        .store()
        .read(move |c| helpline_store::audit::for_entity(c, &id))
        .unwrap_or_else(|e| panic!("{e}"));
    let everything = serde_json::to_string(&events).unwrap_or_default();
    assert!(everything.contains("second_factor.enrol"), "{everything}");
    assert!(
        everything.contains("second_factor.recovery"),
        "{everything}"
    );
    assert!(!everything.contains(&secret) && !everything.contains(&recovery[0]));

    // An admin resets a lost second factor; the lead's next login can only set up a new one.
    let etag = app
        .get(&format!("/api/v1/users/{leo_id}"), &admin)
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    app.patch(
        &format!("/api/v1/users/{leo_id}"),
        &admin,
        &etag,
        json!({"reset_second_factor": true}),
    )
    .expect(200);
    let again = login(&app, "leo", None).expect(200);
    assert_eq!(again.json["enrolment_only"], json!(true));

    // Wrong codes pause the account like wrong passwords: even a right code then waits.
    for _ in 0..5 {
        login(&app, "root", Some("999999")).expect(401);
    }
    let paused = login(&app, "root", Some(&code(&root_secret, 1)));
    assert_eq!(paused.status, 429, "{}", paused.text);
}

/// With the rule "optional", whoever sets one up must use it; a member of staff removes theirs
/// by giving the password again.
fn second_factor_optional_and_removable(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, hana) = app.user("hana", Role::Handler);
    let enrol = app
        .post("/api/v1/auth/second-factor", &hana, json!({}))
        .expect(201);
    let secret = enrol.json["secret"].as_str().unwrap_or_default().to_owned();
    // Unconfirmed: the password alone still logs in.
    login(&app, "hana", None).expect(200);
    app.post(
        "/api/v1/auth/second-factor/confirm",
        &hana,
        json!({"code": code(&secret, 0)}),
    )
    .expect(200);
    login(&app, "hana", None).expect(401);
    let t = token(&login(&app, "hana", Some(&code(&secret, 1))).expect(200));
    let wrong = app
        .post(
            "/api/v1/auth/second-factor/remove",
            &t,
            json!({"current_password": "not it"}),
        )
        .expect(422);
    assert!(wrong.text.contains("current_password"), "{}", wrong.text);
    app.call(
        "POST",
        "/api/v1/auth/second-factor/remove",
        Some(&t),
        Some(&json!({"current_password": PASSWORD})),
        &[],
    )
    .expect(204);
    let plain = login(&app, "hana", None).expect(200);
    assert_eq!(plain.json["enrolment_only"], json!(false));
}

/// Deactivating an account refuses its tokens for good: reactivated, it must log in again.
fn deactivation_revokes_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, admin) = app.user("root", Role::Admin);
    let (hana_id, hana) = app.user("hana", Role::Handler);
    app.get("/api/v1/cases", &hana).expect(200);
    let path = format!("/api/v1/users/{hana_id}");
    let etag = |app: &TestApp| {
        app.get(&path, &admin)
            .header("etag")
            .unwrap_or_default()
            .to_owned()
    };
    app.patch(&path, &admin, &etag(&app), json!({"active": false}))
        .expect(200);
    app.get("/api/v1/cases", &hana).expect(401);
    app.patch(&path, &admin, &etag(&app), json!({"active": true}))
        .expect(200);
    let old = app.get("/api/v1/cases", &hana).expect(401);
    assert!(old.text.contains("log in again"), "{}", old.text);
    // Tokens carry whole seconds: a new one is issued in a later second than the cut-off.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = app.login("hana");
    app.get("/api/v1/cases", &fresh).expect(200);
}

on_both_backends!(
    second_factor_for_leads,
    second_factor_optional_and_removable,
    deactivation_revokes_tokens
);
