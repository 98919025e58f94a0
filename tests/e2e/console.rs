//! The console in a real browser (headless Chromium over WebDriver), on both backends: the
//! acceptance walk of issue 9.
//!
//! - A handler signs in with her second factor, works the queue and search, opens a case for a
//!   new person, adds the person's certificate, records a message, sends a reply the page said
//!   would be encrypted (the outbox holds PGP/MIME), hands the case off with a note, and sees a
//!   colleague's message appear without a reload; a stale edit is refused with a clear message.
//! - A lead acknowledges the critical case among the escalations, opens a quarantined message
//!   and assigns it to the case, reads the workload, the statistics and who read a
//!   confidential case, and sets up her own second factor; an analyst adds an indicator and
//!   finds the related case through its path; a second handler without a grant finds no trace
//!   of the confidential case or its person on any page.
//!
//! Every page is checked with axe-core (no serious or critical violation) and photographed at
//! 1280 px and 390 px under `target/console-screenshots/`; the test fails on anything the page
//! logs as an error (a failed request, a script error, a Content-Security-Policy violation).

use helpline_domain::user::Role;
use helpline_tests::browser::Browser;
use helpline_tests::mail::{fixture, ingest_token, key_dir, post_mail};
use helpline_tests::{on_both_backends, totp_code, Backend, TestApp, TestDb};
use serde_json::json;

/// Checks the page with axe-core, then photographs it at both widths and goes back to the
/// desk width.
#[track_caller]
fn photograph(browser: &Browser, backend: Backend, page: &str) {
    let violations = browser.accessibility_violations();
    assert!(
        violations.is_empty(),
        "{page}: axe-core found serious or critical violations: {violations:#?}"
    );
    let weight = browser.weight();
    assert!(
        weight < 200_000,
        "{page} weighs {weight} bytes at its first load (at most 200 KB)"
    );
    let unreachable = browser.unreachable_by_tab();
    assert!(
        unreachable.is_empty(),
        "{page}: the keyboard cannot reach {unreachable:#?}"
    );
    let b = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    for width in [1280, 390] {
        browser.width(width);
        browser.execute(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
            json!([]),
        );
        browser.screenshot(&format!("{b}-{page}-{width}"));
    }
    browser.width(1280);
}

/// The server with the helpline's key (replies are signed with it); no relay, so replies wait
/// in the outbox for the test to read.
/// With `leads_need_factor`, leads and admins must have a second factor (the default of a
/// real deployment; the other tests' servers leave it optional).
fn start(backend: Backend, leads_need_factor: bool) -> Option<(TestApp, helpline_tests::TempDir)> {
    let db = TestDb::fresh(backend)?;
    let keys = key_dir(&["helpline-secret.asc"]);
    let dir = keys.0.to_string_lossy().into_owned();
    let app = TestApp::start_with(db, None, move |c| {
        c.mail.key_dir = dir;
        if leads_need_factor {
            c.second_factor = helpline_domain::user::SecondFactorRule::Leads;
        }
    });
    Some((app, keys))
}

/// A full session for an account that must have a second factor: enrolled through the API
/// with its enrolment-only session, then logged in with a code.
fn enrolled(app: &TestApp, username: &str) -> String {
    let only = app.login(username);
    let secret = app
        .post("/api/v1/auth/second-factor", &only, json!({}))
        .expect(201)
        .json["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post(
        "/api/v1/auth/second-factor/confirm",
        &only,
        json!({"code": totp_code(&secret, 0)}),
    )
    .expect(200);
    let body = json!({"username": username, "password": helpline_tests::PASSWORD,
                      "code": totp_code(&secret, 1)});
    app.call("POST", "/api/v1/auth/login", None, Some(&body), &[])
        .expect(200)
        .json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Signs in through the form (with the authenticator's code when given).
fn sign_in(browser: &Browser, app: &TestApp, username: &str, code: Option<String>) {
    browser.goto(&format!("{}/sign-in", app.base));
    browser.type_into("#username", username);
    browser.type_into("#password", helpline_tests::PASSWORD);
    if let Some(code) = code {
        browser.type_into("#code", &code);
    }
    browser.follow("button[type=submit]");
    assert_eq!(browser.text("h1"), "Queue", "{}", browser.source());
}

/// The replies waiting in the outbox for a case: (raw bytes, encrypted).
fn outbox_of(app: &TestApp, case_id: &str) -> Vec<(Vec<u8>, bool)> {
    use diesel::prelude::*;
    use helpline_store::schema::outbox;
    let case_id = case_id.to_owned();
    app.store()
        .read(move |c| {
            let rows: Vec<(String, bool)> = outbox::table
                .filter(outbox::case_id.eq(&case_id))
                .select((outbox::sha256, outbox::encrypted))
                .load(c)?;
            rows.into_iter()
                .map(|(sha, enc)| Ok((helpline_store::mail::blob(c, &sha)?, enc)))
                .collect()
        })
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Fails on anything the page logged as an error since the last look, and on any serious or
/// critical accessibility violation axe-core finds on it.
#[track_caller]
fn no_errors(browser: &Browser, step: &str) {
    let errors = browser.errors();
    assert!(errors.is_empty(), "{step}: the page logged {errors:#?}");
    let violations = browser.accessibility_violations();
    assert!(
        violations.is_empty(),
        "{step}: axe-core found serious or critical violations: {violations:#?}"
    );
}

fn a_handler_works_her_queue_in_the_console(backend: Backend) {
    let Some((app, _keys)) = start(backend, false) else {
        return;
    };
    let Some(browser) = Browser::start() else {
        return;
    };
    let (_, lead) = app.user("lena", Role::Lead);
    let (_, hana) = app.user("hana", Role::Handler);
    let (hugo_id, _) = app.user("hugo", Role::Handler);
    // Hana sets up her authenticator through the API, as the console's enrolment page will.
    let enrol = app
        .post("/api/v1/auth/second-factor", &hana, json!({}))
        .expect(201);
    let secret = enrol.json["secret"].as_str().unwrap_or_default().to_owned();
    let recovery = app
        .post(
            "/api/v1/auth/second-factor/confirm",
            &hana,
            json!({"code": totp_code(&secret, 0)}),
        )
        .expect(200)
        .json["recovery_codes"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let own = app
        .post(
            "/api/v1/cases",
            &hana,
            json!({"beneficiary": {"name": "Ana Periodista"}, "summary": "Newsroom phishing wave",
                   "urgency": "critical", "service_type": "phishing"}),
        )
        .expect(201);
    let own_ref = own.json["ref"].as_i64().unwrap_or_default();
    app.post(
        &format!("/api/v1/cases/{}/messages", own.id()),
        &hana,
        json!({"direction": "in", "channel": "signal", "body": "They sent a fake login page to six reporters."}),
    )
    .expect(201);
    let hidden = app
        .post(
            "/api/v1/cases",
            &lead,
            json!({"beneficiary": {"name": "Zoe Secreta", "emails": ["zoe@example.net"]}, "summary": "Spyware on a lawyer's phone",
                   "urgency": "high", "service_type": "malware", "confidential": true}),
        )
        .expect(201);
    let hidden_ref = hidden.json["ref"].as_i64().unwrap_or_default();
    // `asked`: what the reader typed herself (a search box shows it back).
    let no_trace_but = |page: &str, asked: &str| {
        let html = browser.source().replace(&format!("value=\"{asked}\""), "");
        for secret in [
            "Zoe Secreta",
            "Spyware on a lawyer",
            &format!("#{hidden_ref}"),
        ] {
            assert!(!html.contains(secret), "{page} shows {secret:?}");
        }
    };
    let no_trace = |page: &str| no_trace_but(page, "");

    // Signing in: the password alone is not enough for an account with a second factor.
    browser.goto(&format!("{}/", app.base));
    assert!(
        browser.current_url().ends_with("/sign-in"),
        "{}",
        browser.current_url()
    );
    photograph(&browser, backend, "sign-in");
    browser.type_into("#username", "hana");
    browser.type_into("#password", helpline_tests::PASSWORD);
    browser.follow("button[type=submit]");
    assert_eq!(browser.count("#sign-in-error"), 1, "{}", browser.source());
    assert!(
        browser.text("#sign-in-error").contains("Wrong"),
        "{}",
        browser.source()
    );
    // The refused sign-in answers 401, which the page logs; nothing else may be there.
    let logged = browser.errors();
    assert!(
        logged.iter().all(|e| e.contains("401")),
        "sign-in: the page logged {logged:#?}"
    );
    browser.type_into("#username", "hana");
    browser.type_into("#password", helpline_tests::PASSWORD);
    // The next step's code: the confirmation spent this one (each is good once).
    browser.type_into("#code", &totp_code(&secret, 1));
    browser.follow("button[type=submit]");
    assert_eq!(browser.text("h1"), "Queue", "{}", browser.source());
    assert!(browser.title().starts_with("Queue"), "{}", browser.title());
    no_errors(&browser, "the queue");

    // The open cases hold hers, and the critical view too; never the confidential one.
    no_trace("her own cases");
    browser.follow("a[href='/?view=open']");
    assert_eq!(browser.count(&format!("a[href='/cases/{own_ref}']")), 1);
    no_trace("all open cases");
    photograph(&browser, backend, "queue");
    browser.follow("a[href='/?view=critical']");
    assert_eq!(browser.count("tr.critical"), 1);
    no_errors(&browser, "the views");

    // Search is posted: a name searched for never lands in the address.
    browser.type_into("#q", "Zoe Secreta");
    browser.follow("form.search button");
    assert!(
        !browser.current_url().contains("Zoe"),
        "{}",
        browser.current_url()
    );
    assert_eq!(browser.count("table.cases tbody tr"), 0);
    no_trace_but("a search for the hidden person", "Zoe Secreta");
    browser.type_into("#q", "phishing");
    browser.follow("form.search button");
    assert_eq!(browser.count(&format!("a[href='/cases/{own_ref}']")), 1);
    no_errors(&browser, "search");
    photograph(&browser, backend, "search");

    // A first contact for a new person, through the form: the case opens with the priority
    // the matrix beside the form gives.
    browser.follow("a[href='/cases/new']");
    no_errors(&browser, "the first-contact form");
    photograph(&browser, backend, "new-case");
    browser.type_into("#name", "Alicia Activista");
    browser.type_into("#email", "alice@example.org");
    browser.click("#audience option[value=journalist]");
    browser.type_into("#summary", "Hacked newsroom account");
    browser.click("#service_type option[value=account_security]");
    browser.click("#urgency option[value=high]");
    browser.click("#impact option[value=high]");
    browser.follow("form.first-contact button[type=submit]");
    assert!(
        browser.text("h1").contains("Hacked newsroom account"),
        "{}",
        browser.source()
    );
    let expected = helpline_domain::case::Priority::derive(
        helpline_domain::case::Urgency::High,
        helpline_domain::case::Impact::High,
    );
    assert!(
        browser.text("dl.facts").contains(expected.as_str()),
        "{}",
        browser.text("dl.facts")
    );
    no_errors(&browser, "the new case");
    let new_ref: i64 = browser
        .text("h1 .ref")
        .trim_start_matches('#')
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {}", browser.text("h1")));
    let new_id = app
        .get(&format!("/api/v1/cases/{new_ref}"), &hana)
        .expect(200)
        .id();

    // No certificate yet: the composer says a reply would go out signed only.
    assert!(
        browser.text("#outlook").contains("signed only"),
        "{}",
        browser.text("#outlook")
    );
    // Her certificate, compared with her on a call: now a reply would be encrypted.
    let alice = String::from_utf8_lossy(&fixture("alice.asc")).into_owned();
    browser.fill("#armored", &alice);
    browser.click(".add-certificate input[name=confirmed]");
    browser.follow(".add-certificate button[type=submit]");
    assert!(
        browser
            .text("#cert-list")
            .contains("EBDF10510B8E25A0B79A9892EB5150887A9583B0"),
        "{}",
        browser.text("#cert-list")
    );
    assert!(
        browser
            .text("#outlook")
            .contains("Will be encrypted to alice@example.org"),
        "{}",
        browser.text("#outlook")
    );
    no_errors(&browser, "a certificate added");

    // A call, recorded by hand.
    browser.click("#message-channel option[value=phone]");
    browser.type_into(
        "#message-body",
        "She called: her newsroom account was taken over.",
    );
    browser.follow(".record-message button[type=submit]");
    assert!(
        browser
            .source()
            .contains("her newsroom account was taken over"),
        "{}",
        browser.source()
    );

    // The reply the page said would be encrypted: it is, in the outbox, as PGP/MIME.
    browser.type_into(
        "#reply-body",
        "We are on it. Do not log in until we call you back.",
    );
    browser.follow(".reply button[type=submit]");
    assert!(
        browser.source().contains("We are on it"),
        "{}",
        browser.source()
    );
    assert!(
        browser.text("#timeline-section").contains("Encrypted"),
        "{}",
        browser.text("#timeline-section")
    );
    let outbox = outbox_of(&app, &new_id);
    assert_eq!(outbox.len(), 1, "one reply in the outbox");
    let (raw, encrypted) = &outbox[0];
    let raw = String::from_utf8_lossy(raw);
    assert!(*encrypted);
    assert!(
        raw.contains("multipart/encrypted") && raw.contains("application/pgp-encrypted"),
        "not PGP/MIME: {raw}"
    );
    assert!(
        !raw.contains("Do not log in"),
        "the reply's text is in the clear"
    );
    no_errors(&browser, "a reply");
    photograph(&browser, backend, "case-composer");

    // Handed to Hugo with a note: the case says who holds it now, the timeline why.
    browser.click(&format!("#handoff-to option[value='{hugo_id}']"));
    browser.type_into(
        "#handoff-note",
        "Account recovered; waiting for her to confirm 2FA is on.",
    );
    browser.follow(".hand-off button[type=submit]");
    assert_eq!(browser.text("#assignee"), "hugo");
    assert!(browser
        .text("#timeline-section")
        .contains("waiting for her to confirm 2FA"));
    no_errors(&browser, "a hand-off");

    // A colleague records a message on the open case: it appears without a reload.
    let marker = browser.element("html");
    app.post(
        &format!("/api/v1/cases/{new_id}/messages"),
        &lead,
        json!({"direction": "in", "channel": "signal", "body": "She confirms: two-factor is on now."}),
    )
    .expect(201);
    assert!(
        browser.wait_for(20, |b| b
            .text("#timeline-section")
            .contains("two-factor is on now")),
        "the new message did not appear on the open page"
    );
    assert_eq!(browser.element("html"), marker, "the page was reloaded");
    assert!(browser.text("#live-note").contains("New activity"));
    no_errors(&browser, "a live update");

    // Urgency, impact and tags changed in the case's edit form: the priority follows.
    browser.goto(&format!("{}/cases/{new_ref}", app.base));
    browser.click("details.edit-case summary");
    browser.click("#edit-urgency option[value=critical]");
    browser.type_into("#edit-tags", "account-takeover, press");
    browser.follow("form.edit-form button[type=submit]");
    let facts = browser.text("#facts");
    let expected = helpline_domain::case::Priority::derive(
        helpline_domain::case::Urgency::Critical,
        helpline_domain::case::Impact::High,
    );
    assert!(
        facts.contains(expected.as_str()) && facts.contains("account-takeover, press"),
        "{facts}"
    );
    no_errors(&browser, "a case edited");

    // The keyboard alone: the skip link, then a comment written and sent without a mouse.
    browser.execute(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
        json!([]),
    );
    browser.keys("\u{E004}");
    assert!(browser.focused().contains("Skip"), "{}", browser.focused());
    browser.keys("\u{E007}");
    assert!(
        browser.focused().starts_with("main#main"),
        "{}",
        browser.focused()
    );
    let mut presses = 0;
    while !browser.focused().starts_with("textarea#comment-body") {
        presses += 1;
        assert!(presses < 100, "Tab never reached the comment field");
        browser.keys("\u{E004}");
    }
    browser.keys("Written with the keyboard alone.\u{E004}");
    assert!(
        browser.focused().starts_with("button"),
        "{}",
        browser.focused()
    );
    browser.keys("\u{E007}");
    assert!(
        browser.wait_for(10, |b| b
            .source()
            .contains("Written with the keyboard alone.")),
        "the comment sent from the keyboard did not arrive"
    );
    no_errors(&browser, "the keyboard alone");
    // The address of someone she may not see: passed to the leads, naming no one.
    browser.goto(&format!("{}/cases/new", app.base));
    browser.type_into("#name", "Someone Asking");
    browser.type_into("#email", "zoe@example.net");
    browser.type_into("#summary", "Asks about her phone again");
    browser.follow("form.first-contact button[type=submit]");
    assert_eq!(browser.count("#referred"), 1, "{}", browser.source());
    no_trace("a first contact for a hidden person's address");
    photograph(&browser, backend, "referred");
    no_errors(&browser, "a referred first contact");

    // The case page: its record and its timeline; the title names no one.
    browser.goto(&format!("{}/?view=open", app.base));
    browser.follow(&format!("a[href='/cases/{own_ref}']"));
    assert!(browser.text("h1").contains("Newsroom phishing wave"));
    assert!(browser.source().contains("They sent a fake login page"));
    let title = browser.title();
    assert!(
        title.contains(&format!("#{own_ref}")) && !title.contains("Ana"),
        "{title}"
    );
    no_errors(&browser, "the case page");
    photograph(&browser, backend, "case");

    // Two people on one case: a change made since the page was opened is never overwritten;
    // the page says so, and the change goes through once the page is read again.
    let etag = app
        .get(&format!("/api/v1/cases/{}", own.id()), &hana)
        .header("etag")
        .unwrap_or_default()
        .to_owned();
    app.patch(
        &format!("/api/v1/cases/{}", own.id()),
        &lead,
        &etag,
        json!({"status": "open"}),
    )
    .expect(200);
    browser.click("#status option[value=pending]");
    browser.follow("form.status-change button");
    assert!(
        browser
            .text("p.notice")
            .contains("changed this since you opened it"),
        "{}",
        browser.source()
    );
    let logged = browser.errors();
    assert!(
        logged.iter().all(|e| e.contains("412")),
        "a stale edit: the page logged {logged:#?}"
    );
    photograph(&browser, backend, "stale-edit");
    browser.follow("#back-to-case");
    assert!(browser.text("dl.facts").contains("Open"));
    browser.click("#status option[value=pending]");
    browser.follow("form.status-change button");
    assert!(
        browser.text("dl.facts").contains("Waiting"),
        "{}",
        browser.text("dl.facts")
    );
    no_errors(&browser, "a status change");

    // The confidential case by its number: the same answer as a case that does not exist.
    browser.goto(&format!("{}/cases/{hidden_ref}", app.base));
    let hidden_page = browser.source();
    browser.goto(&format!("{}/cases/999999", app.base));
    let missing_page = browser.source();
    assert_eq!(
        hidden_page.replace(&hidden_ref.to_string(), "N"),
        missing_page.replace("999999", "N"),
        "a hidden case must look like a missing one"
    );
    no_trace("the hidden case's address");
    let logged = browser.errors();
    assert!(
        logged.iter().all(|e| e.contains("404")),
        "not found: the page logged {logged:#?}"
    );
    photograph(&browser, backend, "not-found");

    // French, chosen in the footer, stays chosen.
    browser.goto(&format!("{}/", app.base));
    browser.follow("a[hreflang=fr]");
    assert_eq!(browser.text("h1"), "File");
    browser.follow("a[href='/?view=open']");
    browser.follow(&format!("a[href='/cases/{own_ref}']"));
    assert_eq!(browser.text("#timeline"), "Chronologie");
    no_errors(&browser, "in French");
    photograph(&browser, backend, "case-fr");
    // The choice is hers, not this browser's: a browser that forgot everything shows French
    // once she signs in (with a recovery code this time).
    browser.follow("form.sign-out button");
    browser.forget_cookies();
    browser.goto(&format!("{}/sign-in", app.base));
    assert_eq!(browser.text("h1"), "Sign in");
    browser.type_into("#username", "hana");
    browser.type_into("#password", helpline_tests::PASSWORD);
    browser.type_into("#code", &recovery);
    browser.follow("button[type=submit]");
    assert_eq!(browser.text("h1"), "File", "{}", browser.source());
    browser.follow("a[hreflang=en]");
    assert_eq!(browser.text("h1"), "Queue");

    // Signing out gives the session up: the queue asks for a sign-in again.
    browser.follow("form.sign-out button");
    assert!(browser.current_url().ends_with("/sign-in"));
    browser.goto(&format!("{}/", app.base));
    assert!(browser.current_url().ends_with("/sign-in"));
    no_errors(&browser, "signing out");
}

fn leads_and_analysts_in_the_console(backend: Backend) {
    let Some((app, _keys)) = start(backend, true) else {
        return;
    };
    let Some(browser) = Browser::start() else {
        return;
    };
    app.create_user("root", Role::Admin);
    let admin = enrolled(&app, "root");
    app.create_user("lena", Role::Lead);
    let (hana_id, handler) = app.user("hana", Role::Handler);
    let now = chrono::Utc::now();
    app.post(
        "/api/v1/roster/shifts",
        &admin,
        json!({"user_id": hana_id, "starts_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
               "ends_at": (now + chrono::Duration::hours(8)).to_rfc3339()}),
    )
    .expect(201);
    app.user("ana", Role::Analyst);
    app.user("hugo", Role::Handler);
    let gateway = ingest_token(&app, &admin);
    let critical = app
        .post(
            "/api/v1/cases",
            &handler,
            json!({"beneficiary": {"name": "Omar Defensor"}, "summary": "Threats after a fake login page",
                   "urgency": "critical", "service_type": "phishing"}),
        )
        .expect(201);
    let critical_ref = critical.json["ref"].as_i64().unwrap_or_default();
    let other = app
        .post(
            "/api/v1/cases",
            &handler,
            json!({"beneficiary": {"name": "Rita Periodista"}, "summary": "Same phishing kit at a radio station",
                   "urgency": "medium", "service_type": "phishing"}),
        )
        .expect(201);
    let other_ref = other.json["ref"].as_i64().unwrap_or_default();
    app.post(
        &format!("/api/v1/cases/{}/indicators", other.id()),
        &handler,
        json!({"kind": "domain", "value": "login-verify.example"}),
    );
    let hidden = app
        .post(
            "/api/v1/cases",
            &handler,
            json!({"beneficiary": {"name": "Zoe Secreta", "emails": ["zoe@example.net"]}, "summary": "Spyware on a lawyer's phone",
                   "urgency": "high", "service_type": "malware", "confidential": true}),
        )
        .expect(201);
    let hidden_ref = hidden.json["ref"].as_i64().unwrap_or_default();
    // Encrypted to last year's key, which this server does not hold: quarantined.
    let q = post_mail(&app, &gateway, &fixture("old-key.eml")).expect(202);
    assert_eq!(q.json["state"], "quarantined");

    // The lead must have a second factor and has none yet: signing in leads to the page that
    // sets one up, and to nothing else; then she signs in again with its code.
    browser.goto(&format!("{}/sign-in", app.base));
    browser.type_into("#username", "lena");
    browser.type_into("#password", helpline_tests::PASSWORD);
    browser.follow("button[type=submit]");
    assert!(
        browser.current_url().ends_with("/second-factor"),
        "{}",
        browser.current_url()
    );
    assert_eq!(browser.count("#must-enrol"), 1, "{}", browser.source());
    photograph(&browser, backend, "second-factor");
    browser.goto(&format!("{}/escalations", app.base));
    assert!(
        browser.text("p.notice").contains("does not allow"),
        "{}",
        browser.source()
    );
    let logged = browser.errors();
    assert!(logged.iter().all(|e| e.contains("403")), "{logged:#?}");
    browser.goto(&format!("{}/second-factor", app.base));
    browser.follow("form.begin-factor button");
    let secret = browser.text("#factor-secret");
    browser.type_into("#factor-code", &totp_code(&secret, 0));
    browser.follow("form.confirm-factor button");
    assert_eq!(browser.count("ul.codes li"), 10, "{}", browser.source());
    photograph(&browser, backend, "recovery-codes");
    no_errors(&browser, "setting up a second factor");
    browser.follow("form.sign-out button");

    // The lead: the critical case heads the escalations; she acknowledges it there.
    sign_in(&browser, &app, "lena", Some(totp_code(&secret, 1)));
    browser.follow("a[href='/escalations']");
    assert_eq!(
        browser.count(&format!("tr.critical a[href='/cases/{critical_ref}']")),
        1,
        "{}",
        browser.source()
    );
    assert_eq!(browser.count("#quarantine-count"), 1);
    no_errors(&browser, "the escalations");
    photograph(&browser, backend, "escalations");
    browser.follow(&format!(
        "form[action='/cases/{critical_ref}/acknowledge'] button"
    ));
    assert!(browser
        .text("h1")
        .contains("Threats after a fake login page"));
    browser.follow("a[href='/escalations']");
    assert_eq!(
        browser.count(&format!("form[action='/cases/{critical_ref}/acknowledge']")),
        0,
        "acknowledged, yet still waiting"
    );
    let case = app
        .get(&format!("/api/v1/cases/{}", critical.id()), &admin)
        .expect(200);
    assert!(
        case.json["escalation"]["acknowledged_at"].is_string(),
        "{}",
        case.text
    );

    // The quarantine: the raw message, then assigned to the case by its number.
    browser.follow("a[href='/quarantine']");
    assert_eq!(browser.count("a.open-message"), 1);
    no_errors(&browser, "the quarantine");
    photograph(&browser, backend, "quarantine");
    browser.follow("a.open-message");
    assert!(browser.text("pre.raw").contains("BEGIN PGP MESSAGE"));
    photograph(&browser, backend, "quarantined-message");
    browser.type_into("#assign-case", &critical_ref.to_string());
    browser.follow("form.assign button");
    assert!(browser
        .text("h1")
        .contains("Threats after a fake login page"));
    assert!(
        browser
            .text("#timeline-section")
            .contains("could not be read"),
        "{}",
        browser.text("#timeline-section")
    );
    browser.follow("a[href='/quarantine']");
    assert_eq!(browser.count("a.open-message"), 0);
    no_errors(&browser, "assigning a quarantined message");

    // The workload, the statistics (a chart drawn on the server, and the CSV), the access log
    // of the confidential case.
    browser.follow("a[href='/workload']");
    assert!(browser.text("table.workload").contains("hana"));
    assert!(
        browser.text("table.roster").contains("hana"),
        "{}",
        browser.source()
    );
    photograph(&browser, backend, "workload");
    browser.follow("a[href='/statistics']");
    assert!(
        browser.count("svg.weeks rect") >= 12,
        "{}",
        browser.source()
    );
    photograph(&browser, backend, "statistics");
    let csv = browser.execute(
        "return fetch('/statistics.csv').then(function (r) { return r.text(); });",
        json!([]),
    );
    assert!(csv.as_str().unwrap_or_default().contains("total"), "{csv}");
    browser.goto(&format!("{}/cases/{hidden_ref}", app.base));
    browser.follow(&format!("a[href='/cases/{hidden_ref}/reads']"));
    assert!(browser.text("table.reads").contains("lena"));
    photograph(&browser, backend, "reads");
    no_errors(&browser, "the lead's pages");

    browser.follow("form.sign-out button");

    // The analyst: indicators found in a message and judged, one typed in, evidence with
    // its hash and custody, a link, the export; then the case it all leads to.
    app.post(
        &format!("/api/v1/cases/{}/messages", critical.id()),
        &handler,
        json!({"direction": "in", "channel": "email",
               "body": "The fake page was at https://phish-kit.example/login, sent from 203.0.113.9."}),
    )
    .expect(201);
    let lure = app
        .raw(
            "POST",
            &format!(
                "/api/v1/cases/{}/evidence?filename=lure.html",
                critical.id()
            ),
            Some(&handler),
            "text/html",
            b"<html>lure</html>",
            &[],
        )
        .expect(201);
    let lure_hash = lure.json["sha256"].as_str().unwrap_or_default().to_owned();
    sign_in(&browser, &app, "ana", None);
    browser.goto(&format!("{}/cases/{critical_ref}", app.base));
    // The newest message (the one naming the phishing page) is the last on the page.
    browser.execute(
        "Array.from(document.querySelectorAll('.entry.message form.extract')).pop().id = 'newest';",
        json!([]),
    );
    browser.follow("#newest button");
    assert!(
        browser.current_url().ends_with("/analysis"),
        "{}",
        browser.current_url()
    );
    assert!(
        browser.count("tr.candidate") >= 2,
        "{}",
        browser.text("#indicator-list")
    );
    browser.follow("tr.candidate form.judge button[value=confirmed]");
    browser.follow("tr.candidate form.judge button[value=false_positive]");
    let states = browser.text("#indicator-list");
    assert!(
        states.contains("confirmed") && states.contains("false positive"),
        "{states}"
    );
    // A value that is not of its kind: refused with the form's own label for the field.
    browser.click("#indicator-kind option[value=ipv4]");
    browser.type_into("#indicator-value", "999.1.1.1");
    browser.follow(".add-indicator button[type=submit]");
    assert!(
        browser.text("p.detail").starts_with("Value:"),
        "{}",
        browser.source()
    );
    let logged = browser.errors();
    assert!(logged.iter().all(|e| e.contains("422")), "{logged:#?}");
    browser.goto(&format!("{}/cases/{critical_ref}/analysis", app.base));
    browser.click("#indicator-kind option[value=domain]");
    browser.type_into("#indicator-value", "Login-Verify.example");
    browser.follow(".add-indicator button[type=submit]");
    assert!(
        browser
            .text("#indicator-list")
            .contains("login-verify.example"),
        "{}",
        browser.text("#indicator-list")
    );
    browser.follow(&format!("a[href='/cases/{critical_ref}/related']"));
    assert!(
        browser.text("table.related").contains(&format!(
            "shares domain login-verify.example with #{other_ref}"
        )),
        "{}",
        browser.source()
    );
    assert_eq!(
        browser.count(&format!("svg a[href='/cases/{other_ref}']")),
        1,
        "the graph draws the related case"
    );
    no_errors(&browser, "related cases");
    photograph(&browser, backend, "related");
    browser.follow("#further");
    assert!(browser
        .text("table.related")
        .contains(&format!("#{other_ref}")));
    no_errors(&browser, "related cases, two steps out");
    browser.goto(&format!("{}/cases/{critical_ref}/analysis", app.base));
    assert!(browser.text(".evidence").contains(&lure_hash));
    assert!(browser.text(".custody").contains("collected"));
    browser.click("#link-kind option[value=related]");
    browser.type_into("#link-target", &other_ref.to_string());
    browser.follow("form.add-link button");
    assert!(browser.text("ul.links").contains(&format!("#{other_ref}")));
    no_errors(&browser, "the analysis page");
    photograph(&browser, backend, "analysis");
    // A link made by mistake is taken off again.
    browser.follow("form.unlink button");
    assert_eq!(browser.count("ul.links"), 0, "{}", browser.source());
    browser.click("#link-kind option[value=related]");
    browser.type_into("#link-target", &other_ref.to_string());
    browser.follow("form.add-link button");
    assert!(browser.text("ul.links").contains(&format!("#{other_ref}")));
    let misp = browser.execute(
        "var f = document.querySelector('form.export'); var d = new URLSearchParams(new FormData(f)); \
         d.set('format', 'misp'); \
         return fetch(f.action, {method: 'POST', body: d}).then(function (r) { return r.json(); });",
        json!([]),
    );
    assert!(
        misp.to_string().contains("login-verify.example"),
        "the MISP export lacks the confirmed indicator: {misp}"
    );
    browser.goto(&format!("{}/cases/{critical_ref}/related", app.base));
    browser.follow(&format!("table.related a[href='/cases/{other_ref}']"));
    assert!(browser.text("h1").contains("Same phishing kit"));
    browser.follow("form.sign-out button");

    // A second handler without a grant: no trace of the confidential case or its person on
    // any page she can reach, and the lead's pages are closed to her.
    sign_in(&browser, &app, "hugo", None);
    let no_trace = |page: &str| {
        let html = browser
            .source()
            .replace("value=\"Zoe Secreta\"", "")
            .replace("value=\"zoe@example.net\"", "");
        for secret in [
            "Zoe Secreta",
            "zoe@example.net",
            "Spyware on a lawyer",
            &format!("#{hidden_ref}"),
            &format!("/cases/{hidden_ref}"),
        ] {
            assert!(!html.contains(secret), "{page} shows {secret:?}");
        }
    };
    for view in ["mine", "unassigned", "waiting", "critical", "open"] {
        browser.goto(&format!("{}/?view={view}", app.base));
        no_trace(view);
    }
    browser.type_into("#q", "Zoe Secreta");
    browser.follow("form.search button");
    no_trace("a search for her name");
    browser.type_into("#q", "spyware");
    browser.follow("form.search button");
    no_trace("a search for the case");
    no_errors(&browser, "the queue");
    for (page, status) in [
        (format!("/cases/{hidden_ref}"), "404"),
        (format!("/cases/{hidden_ref}/related"), "404"),
        (format!("/cases/{hidden_ref}/reads"), "403"),
        ("/escalations".to_owned(), "403"),
        ("/quarantine".to_owned(), "403"),
        ("/workload".to_owned(), "403"),
        ("/statistics".to_owned(), "403"),
    ] {
        browser.goto(&format!("{}{page}", app.base));
        no_trace(&page);
        let logged = browser.errors();
        assert!(
            logged.iter().all(|e| e.contains(status)),
            "{page}: the page logged {logged:#?}"
        );
        if page == "/escalations" {
            photograph(&browser, backend, "forbidden");
        }
    }
    browser.goto(&format!("{}/cases/new", app.base));
    browser.type_into("#name", "Someone Asking");
    browser.type_into("#email", "zoe@example.net");
    browser.type_into("#summary", "Asks about her phone again");
    browser.follow("form.first-contact button[type=submit]");
    assert_eq!(browser.count("#referred"), 1, "{}", browser.source());
    no_trace("a first contact for her address");
    no_errors(&browser, "a referred first contact");
}

on_both_backends!(
    a_handler_works_her_queue_in_the_console,
    leads_and_analysts_in_the_console
);
