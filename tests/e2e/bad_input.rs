//! Bad input gets a clear 4xx problem naming the problem, never a 500.

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::json;

/// What, method, path, content type, body, extra headers, expected status, text the problem
/// must contain.
type BadRequest<'a> = (
    &'a str,
    &'a str,
    String,
    &'a str,
    Vec<u8>,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
);

fn bad_input_is_a_clear_problem(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h) = app.user("hana", Role::Handler);
    let c = app.open_case(&h);
    let id = c.id();
    let case = format!("/api/v1/cases/{id}");
    let valid = json!({"beneficiary_id": c.json["beneficiary_id"], "summary": "s", "urgency": "low", "service_type": "phishing"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = valid.clone();
        b[k] = v;
        b
    };
    let big = "x".repeat(2 * 1024 * 1024);

    let cases: Vec<BadRequest> = vec![
        (
            "malformed JSON",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            b"{\"summary\": ".to_vec(),
            vec![],
            400,
            "malformed JSON",
        ),
        (
            "not an object",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            b"[1,2]".to_vec(),
            vec![],
            422,
            "body",
        ),
        (
            "empty body",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            Vec::new(),
            vec![],
            400,
            "empty",
        ),
        (
            "wrong type",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("urgency", json!(5)).to_string().into_bytes(),
            vec![],
            422,
            "urgency",
        ),
        (
            // The spec gives `description` a type without null: null is refused, not read
            // as "left out".
            "null for a field that is not nullable",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("description", json!(null)).to_string().into_bytes(),
            vec![],
            422,
            "description",
        ),
        (
            "unknown enum value",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("urgency", json!("urgentish")).to_string().into_bytes(),
            vec![],
            422,
            "urgentish",
        ),
        (
            "unknown field",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("colour", json!("red")).to_string().into_bytes(),
            vec![],
            422,
            "colour",
        ),
        (
            "missing field",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            json!({"summary": "s"}).to_string().into_bytes(),
            vec![],
            422,
            "urgency",
        ),
        (
            "empty summary",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("summary", json!("  ")).to_string().into_bytes(),
            vec![],
            422,
            "summary",
        ),
        (
            "unknown service type",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("service_type", json!("astrology"))
                .to_string()
                .into_bytes(),
            vec![],
            422,
            "service_type",
        ),
        (
            "bad tag",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("tags", json!(["two words"])).to_string().into_bytes(),
            vec![],
            422,
            "tags",
        ),
        (
            "unknown beneficiary",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with(
                "beneficiary_id",
                json!("01900000-0000-7000-8000-000000000000"),
            )
            .to_string()
            .into_bytes(),
            vec![],
            422,
            "beneficiary",
        ),
        (
            "malformed uuid in body",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("beneficiary_id", json!("nope"))
                .to_string()
                .into_bytes(),
            vec![],
            422,
            "beneficiary_id",
        ),
        (
            "bad email",
            "POST",
            "/api/v1/beneficiaries".into(),
            "application/json",
            json!({"name": "n", "emails": ["not-an-address"]})
                .to_string()
                .into_bytes(),
            vec![],
            422,
            "emails[0]",
        ),
        (
            "bad country",
            "POST",
            "/api/v1/beneficiaries".into(),
            "application/json",
            json!({"name": "n", "country": "France"})
                .to_string()
                .into_bytes(),
            vec![],
            422,
            "country",
        ),
        (
            "oversized body",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            with("description", json!(big)).to_string().into_bytes(),
            vec![],
            413,
            "exceeds",
        ),
        (
            "wrong content type",
            "POST",
            "/api/v1/cases".into(),
            "text/plain",
            valid.to_string().into_bytes(),
            vec![],
            415,
            "application/json",
        ),
        (
            "illegal transition",
            "PATCH",
            case.clone(),
            "application/json",
            json!({"status": "closed"}).to_string().into_bytes(),
            vec![("if-match", "\"1\"")],
            409,
            "from `new` to `closed`",
        ),
        (
            "missing If-Match",
            "PATCH",
            case.clone(),
            "application/json",
            json!({"summary": "x"}).to_string().into_bytes(),
            vec![],
            428,
            "If-Match",
        ),
        (
            "garbage If-Match",
            "PATCH",
            case.clone(),
            "application/json",
            json!({"summary": "x"}).to_string().into_bytes(),
            vec![("if-match", "yesterday")],
            400,
            "If-Match",
        ),
        (
            "stale If-Match",
            "PATCH",
            case.clone(),
            "application/json",
            json!({"summary": "x"}).to_string().into_bytes(),
            vec![("if-match", "\"99\"")],
            412,
            "version",
        ),
        (
            "bad idempotency key",
            "POST",
            "/api/v1/cases".into(),
            "application/json",
            valid.to_string().into_bytes(),
            vec![("idempotency-key", "")],
            400,
            "Idempotency-Key",
        ),
    ];
    for (what, method, path, ctype, body, headers, status, needle) in cases {
        let r = app.raw(method, &path, Some(&h), ctype, &body, &headers);
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        assert_eq!(r.json["status"], status, "{what}");
        assert!(
            r.json["title"].is_string() && r.json["type"].is_string(),
            "{what}"
        );
        let detail = r.json["detail"].as_str().unwrap_or_default();
        assert!(
            r.text.contains(needle),
            "{what}: `{needle}` not in {detail}"
        );
        if status == 422 {
            assert!(
                r.json["errors"][0]["field"].is_string(),
                "{what}: validation names its field"
            );
        }
    }

    // GETs with bad ids, cursors, parameters.
    for (what, path, status, needle) in [
        (
            "invalid case id",
            "/api/v1/cases/not-a-case".to_owned(),
            404,
            "case id",
        ),
        (
            "invalid uuid",
            "/api/v1/cases/0190-zz".to_owned(),
            404,
            "UUID",
        ),
        (
            "unknown case",
            "/api/v1/cases/999999".to_owned(),
            404,
            "case not found",
        ),
        (
            "unknown uuid",
            "/api/v1/cases/01900000-0000-7000-8000-000000000000".to_owned(),
            404,
            "not found",
        ),
        (
            "invalid beneficiary id",
            "/api/v1/beneficiaries/42".to_owned(),
            404,
            "beneficiary id",
        ),
        (
            "invalid cursor",
            "/api/v1/cases?cursor=Zm9v".to_owned(),
            422,
            "cursor",
        ),
        (
            "forged cursor",
            "/api/v1/cases?cursor=%21%21%21".to_owned(),
            422,
            "cursor",
        ),
        (
            "limit out of range",
            "/api/v1/cases?limit=0".to_owned(),
            422,
            "limit",
        ),
        (
            "limit not a number",
            "/api/v1/cases?limit=ten".to_owned(),
            400,
            "limit",
        ),
        (
            "unknown filter",
            "/api/v1/cases?stauts=open".to_owned(),
            400,
            "stauts",
        ),
        (
            "unknown status value",
            "/api/v1/cases?status=open,finished".to_owned(),
            422,
            "finished",
        ),
        (
            "bad date",
            "/api/v1/cases?created_from=yesterday".to_owned(),
            400,
            "created_from",
        ),
        (
            "bad sort",
            "/api/v1/cases?sort=priority".to_owned(),
            422,
            "sort",
        ),
        (
            "bad next step id",
            format!("{case}/next-steps/xyz"),
            405,
            "not allowed",
        ),
        (
            "unknown route",
            "/api/v1/nothing-here".to_owned(),
            404,
            "not found",
        ),
    ] {
        let r = app.get(&path, &h);
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        assert!(
            r.text.contains(needle),
            "{what}: `{needle}` not in {}",
            r.text
        );
    }
    let r = app
        .call("DELETE", "/api/v1/cases", Some(&h), None, &[])
        .expect(405);
    assert!(r.text.contains("DELETE"));
    // RFC 9110: a 405 names the methods the resource takes.
    assert_eq!(r.header("allow"), Some("GET, POST"), "{:?}", r.headers);
    let r = app
        .call(
            "PUT",
            &format!("{case}/next-steps/xyz"),
            Some(&h),
            None,
            &[],
        )
        .expect(405);
    assert_eq!(r.header("allow"), Some("PATCH"), "{:?}", r.headers);
    let r = app
        .patch(
            &format!("{case}/next-steps/xyz"),
            &h,
            "\"1\"",
            json!({"done": true}),
        )
        .expect(404);
    assert!(r.text.contains("next step id"));
}

on_both_backends!(bad_input_is_a_clear_problem);
