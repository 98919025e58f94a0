//! Two handlers never silently overwrite each other; references stay unique under load.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use helpline_domain::user::Role;
use helpline_tests::{on_both_backends, Backend, TestApp};
use serde_json::json;

fn same_etag_exactly_one_wins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h1) = app.user("hana", Role::Handler);
    let (_, h2) = app.user("hugo", Role::Handler);
    let c = app.open_case(&h1);
    let id = c.id();
    let app = Arc::new(app);
    for round in 0..5 {
        let cur = app.get(&format!("/api/v1/cases/{id}"), &h1).expect(200);
        let etag = cur.header("etag").unwrap_or_default().to_owned();
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [(h1.clone(), "first"), (h2.clone(), "second")]
            .into_iter()
            .map(|(token, who)| {
                let (app, barrier, id, etag) =
                    (app.clone(), barrier.clone(), id.clone(), etag.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let r = app.patch(
                        &format!("/api/v1/cases/{id}"),
                        &token,
                        &etag,
                        json!({"summary": format!("{who} {round}")}),
                    );
                    r.status
                })
            })
            .collect();
        let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap_or(0)).collect();
        statuses.sort();
        assert_eq!(statuses, vec![200, 412], "round {round}");
    }
    let stale = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            &h1,
            "\"1\"",
            json!({"summary": "late"}),
        )
        .expect(412);
    assert_eq!(stale.json["status"], 412);
    app.call(
        "PATCH",
        &format!("/api/v1/cases/{id}"),
        Some(&h1),
        Some(&json!({"summary": "no if-match"})),
        &[],
    )
    .expect(428);
    let last = app.get(&format!("/api/v1/cases/{id}"), &h1).expect(200);
    assert_eq!(
        last.header("etag"),
        Some("\"6\""),
        "five rounds, five winners"
    );
}

fn fifty_concurrent_creations_get_fifty_refs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (_, h) = app.user("hana", Role::Handler);
    let app = Arc::new(app);
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let (app, barrier, h) = (app.clone(), barrier.clone(), h.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = app.post(
                    "/api/v1/cases",
                    &h,
                    json!({"beneficiary": {"name": format!("B{i}"), "emails": [format!("b{i}@example.org")]}, "summary": format!("case {i}"), "urgency": "medium", "service_type": "phishing"}),
                );
                assert_eq!(r.status, 201, "{}", r.text);
                r.json["ref"].as_i64().unwrap_or_default()
            })
        })
        .collect();
    let refs: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap_or(0)).collect();
    let distinct: HashSet<i64> = refs.iter().copied().collect();
    assert_eq!(distinct.len(), 50, "{refs:?}");
    assert!(refs.iter().all(|r| *r > 1000));
    let (min, max) = (
        distinct.iter().min().copied().unwrap_or(0),
        distinct.iter().max().copied().unwrap_or(0),
    );
    assert_eq!(
        max - min,
        49,
        "references are consecutive: none lost, none doubled"
    );
}

on_both_backends!(
    same_etag_exactly_one_wins,
    fifty_concurrent_creations_get_fifty_refs
);
