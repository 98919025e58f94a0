//! The audit trail is hash-chained: `helpline admin verify-audit` finds an event edited,
//! deleted or inserted directly in the database. Also the other admin commands.

use diesel::RunQueryDsl;
use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, run_cli, Backend, TestApp};
use serde_json::json;

fn sql(app: &TestApp, statement: &str) -> usize {
    let s = statement.to_owned();
    app.store()
        .read(move |c| Ok(diesel::sql_query(s).execute(c)?))
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

fn verify(app: &TestApp) -> (i32, String) {
    let (code, out, err) = run_cli(&app.db, &["admin", "verify-audit"], None);
    (code, format!("{out}{err}"))
}

fn verify_audit_detects_tampering(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h) = app.user("hana", Role::Handler);
    let c = app.open_case(&h);
    let id = c.id();
    for i in 0..3 {
        app.post(
            &format!("/api/v1/cases/{id}/comments"),
            &h,
            json!({"body": format!("c{i}")}),
        )
        .expect(201);
    }
    // Events so far: user.create, beneficiary.create, case.create, 3 comments.
    let (code, out) = verify(&app);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 6 events"), "{out}");

    // Edited: the record of what changed is rewritten.
    sql(
        &app,
        "UPDATE audit_events SET changes = '{\"status\":\"closed\"}' WHERE seq = 3",
    );
    let (code, out) = verify(&app);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("event 3 was altered"), "{out}");

    // A second alteration further on: the first break is the one reported.
    sql(
        &app,
        "UPDATE audit_events SET actor = 'system' WHERE seq = 5",
    );
    let (code, out) = verify(&app);
    assert_eq!(code, 1);
    assert!(
        out.contains("event 3 was altered"),
        "the first break is reported: {out}"
    );

    // Deleted from the middle.
    let app2 = TestApp::spawn(backend).unwrap_or_else(|| panic!("backend vanished"));
    let (_, h) = app2.user("hana", Role::Handler);
    let c = app2.open_case(&h);
    let id = c.id();
    for i in 0..3 {
        app2.post(
            &format!("/api/v1/cases/{id}/comments"),
            &h,
            json!({"body": format!("c{i}")}),
        )
        .expect(201);
    }
    assert_eq!(verify(&app2).0, 0);
    assert_eq!(sql(&app2, "DELETE FROM audit_events WHERE seq = 4"), 1);
    let (code, out) = verify(&app2);
    assert_eq!(code, 1);
    assert!(
        out.contains("breaks at event 5 (expected event 4)"),
        "{out}"
    );

    // Deleted at the end: the separately kept head shows it.
    let app3 = TestApp::spawn(backend).unwrap_or_else(|| panic!("backend vanished"));
    let (_, h) = app3.user("hana", Role::Handler);
    app3.post("/api/v1/beneficiaries", &h, json!({"name": "Y"}))
        .expect(201);
    assert_eq!(verify(&app3).0, 0);
    assert_eq!(sql(&app3, "DELETE FROM audit_events WHERE seq = 2"), 1);
    let (code, out) = verify(&app3);
    assert_eq!(code, 1);
    assert!(
        out.contains("the chain ends at event 1 but the head records 2"),
        "{out}"
    );

    // Inserted: a forged event with a made-up hash.
    sql(
        &app3,
        "INSERT INTO audit_events (seq, id, occurred_at, actor, action, entity_type, entity_id, case_id, changes, prev_hash, hash) \
         VALUES (2, '01900000-0000-7000-8000-000000000001', '2026-01-01 00:00:00', 'system', 'case.delete', 'case', 'x', NULL, '{}', 'forged', 'forged')",
    );
    let (code, out) = verify(&app3);
    assert_eq!(code, 1);
    assert!(out.contains("breaks at event 2"), "{out}");
}

fn admin_commands_work(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (code, out, err) = run_cli(
        &app.db,
        &["admin", "create-user", "Nadia", "--role", "lead"],
        Some("a long enough secret\n"),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created nadia (lead)"), "{out}");
    let r = app
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "nadia", "password": "a long enough secret"}),
        )
        .expect(200);
    assert_eq!(r.json["token_type"], "Bearer");
    assert!(r.json["expires_in"].as_u64().is_some_and(|s| s > 0));
    let (code, _, err) = run_cli(
        &app.db,
        &["admin", "create-user", "short", "--role", "lead"],
        Some("short\n"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("at least 12"), "{err}");
    let (code, _, err) = run_cli(
        &app.db,
        &["admin", "create-user", "x", "--role", "king"],
        Some("a long enough secret\n"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("king"), "{err}");

    let (code, token, err) = run_cli(
        &app.db,
        &[
            "admin",
            "create-token",
            "mx1 postfix",
            "--scope",
            "cases:read",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let token = token.trim();
    assert!(token.starts_with("hlp_"));
    let me = app.get("/api/v1/me", token).expect(200);
    assert_eq!(me.json["role"], "integration");
    assert_eq!(me.json["scopes"], json!(["cases:read"]));

    let (code, out, _) = run_cli(&app.db, &["migrate"], None);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"), "{out}");
    let (code, out, _) = run_cli(&app.db, &["admin", "verify-audit"], None);
    assert_eq!(code, 0, "{out}");
}

fn migrations_run_up_down_up(backend: Backend) {
    let Some(db) = helpline_tests::TestDb::fresh(backend) else {
        return;
    };
    let reverted = helpline_store::migrate_redo_all(&db.url).unwrap_or_else(|e| panic!("{e}"));
    assert!(reverted >= 1);
    assert!(helpline_store::migrate(&db.url)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
}

/// The demo seeder loads in bulk and counts each indicator's holders once at the end (on
/// PostgreSQL the triggers leave it the counting): the counts it leaves are the true ones.
fn seed_demo_counts_holders(backend: Backend) {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (code, out, err) = run_cli(&app.db, &["admin", "seed-demo", "--cases", "300"], None);
    assert_eq!(code, 0, "{out}{err}");
    let count = |q: &'static str| -> i64 {
        app.store()
            .read(move |c| Ok(diesel::sql_query(q).load::<N>(c)?))
            .unwrap_or_else(|e| panic!("{q}: {e}"))
            .first()
            .map_or(-1, |r| r.n)
    };
    assert_eq!(
        count(
            "SELECT count(*) AS n FROM indicators i \
             LEFT JOIN indicator_holders h ON h.indicator_id = i.id \
             WHERE COALESCE(h.holders, 0) <> (SELECT count(*) FROM case_indicators ci \
             WHERE ci.indicator_id = i.id AND ci.state <> 'false_positive')"
        ),
        0
    );
    assert!(count("SELECT count(*) AS n FROM indicator_holders WHERE holders > 1") > 0);
}

/// A backup taken while the server serves, more written afterwards, then the backup put back:
/// its state is back (what came after is gone) and both chains verify. On SQLite a second node
/// on the same file is refused at start-up, and so is a restore while a node serves it.
fn backup_and_restore(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h) = app.user("hana", Role::Handler);
    let kept = app.open_case(&h).id();
    app.get(&format!("/api/v1/cases/{kept}"), &h).expect(200);
    let dir = helpline_tests::TempDir(
        std::env::temp_dir().join(format!("hl_backup_{}", uuid::Uuid::now_v7().simple())),
    );
    std::fs::create_dir_all(&dir.0).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.0.join("helpline.backup");
    let file = file.to_string_lossy().into_owned();
    let (code, out, err) = run_cli(&app.db, &["admin", "backup", &file], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("backed up"), "{out}");
    // Never over an existing file.
    let (code, _, err) = run_cli(&app.db, &["admin", "backup", &file], None);
    assert_ne!(code, 0);
    assert!(err.contains("exists"), "{err}");
    let later = app.open_case(&h).id();

    if backend == Backend::Sqlite {
        let second = helpline_api::Application::build(helpline_tests::test_config(&app.db), None);
        let refused = second.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("another helpline node"), "{refused}");
        let (code, _, err) = run_cli(&app.db, &["admin", "restore", &file], None);
        assert_ne!(code, 0, "a restore under a serving node");
        assert!(err.contains("another helpline node"), "{err}");
    }
    let db = app.stop();
    let (code, out, err) = run_cli(&db, &["admin", "restore", &file], None);
    assert_eq!(code, 0, "{out}{err}");
    let app = TestApp::start(db, None);
    let h = app.login("hana");
    app.get(&format!("/api/v1/cases/{kept}"), &h).expect(200);
    app.get(&format!("/api/v1/cases/{later}"), &h).expect(404);
    let (code, out) = verify(&app);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("audit trail intact") && out.contains("access log intact"),
        "{out}"
    );
}

on_both_backends!(
    backup_and_restore,
    verify_audit_detects_tampering,
    admin_commands_work,
    migrations_run_up_down_up,
    seed_demo_counts_holders
);
