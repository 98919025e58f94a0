//! Workflow benchmark: seeds a database with `helpline admin seed-demo`, starts the release
//! server on it, and measures over HTTP a two-word full-text search combined with filters
//! (`GET /cases?q=…&status=…`) and a full-year statistics report (`GET /stats`).
//!
//!     cargo run --release -p helpline-tests --example workflow_bench -- DATABASE_URL [CASES] [REQUESTS]
//!
//! DATABASE_URL is `sqlite` (a fresh file in a temporary folder) or a `postgres://` URL of an
//! empty database. Searches run as a lead (every case) and as a handler (confidential cases
//! filtered out as the visibility rule requires).

use std::time::Instant;

use helpline_tests::release::{measure_gets, Release, BENCH_PASSWORD};
use serde_json::Value;

/// Two words each, as staff type them: without accents, in the beneficiaries' languages.
const QUERIES: [&str; 8] = [
    "securite compte",
    "passwords accounts",
    "seguridad cuenta",
    "attaque site",
    "telefone fronteira",
    "bank message",
    "mirror readers",
    "police device",
];

/// Filters a handler would combine with a search.
const FILTERS: [&str; 6] = [
    "status=closed&urgency=high",
    "status=new,open,pending",
    "urgency=critical",
    "service_type=phishing",
    "created_from=YEAR_AGO",
    "priority=P1,P2&status=resolved,closed",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let cases: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let requests: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let label = if url == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let mut server = Release::new(&url, "");
    let started = Instant::now();
    let seeded = server.run(&["admin", "seed-demo", "--cases", &cases.to_string()], "");
    println!(
        "{label}: seed-demo --cases {cases}: {:.1} s wall ({})",
        started.elapsed().as_secs_f64(),
        seeded.trim()
    );
    server.create_user("lead");
    server.run(
        &["admin", "create-user", "bench-handler", "--role", "handler"],
        &format!("{BENCH_PASSWORD}\n"),
    );
    server.serve();
    let lead = server.login();
    let handler: String = ureq::post(&format!("{}/api/v1/auth/login", server.base))
        .send_json(serde_json::json!({"username": "bench-handler", "password": BENCH_PASSWORD}))
        .ok()
        .and_then(|r| r.into_json::<Value>().ok())
        .and_then(|v| v["access_token"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("handler login failed"));
    let now = chrono::Utc::now();
    let year_ago = (now - chrono::Duration::days(365))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut paths = Vec::new();
    for q in QUERIES {
        for f in FILTERS {
            paths.push(format!(
                "/api/v1/cases?q={}&{}&limit=20",
                q.replace(' ', "+"),
                f.replace("YEAR_AGO", &year_ago)
            ));
        }
    }
    let hits = |v: &Value| v["items"].as_array().map_or(0, Vec::len);
    let base = server.base.clone();
    // Warm the caches once, then measure.
    measure_gets(&base, &lead, &paths, paths.len(), 1, hits);
    for (who, token) in [("lead", &lead), ("handler", &handler)] {
        let l = measure_gets(&base, token, &paths, requests, 1, hits);
        println!(
            "{label}: search, two words + filters, as a {who}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} req/s (1 connection; median {} hits per page of 20)",
            l.p50, l.p99, l.max, l.rate, l.median_size
        );
    }
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let year = format!(
        "/api/v1/stats?from={}&to={}",
        fmt(now - chrono::Duration::days(365)),
        fmt(now)
    );
    let stats = vec![year.clone()];
    let monthly = vec![format!("{year}&group_by=status,urgency,country,month")];
    let total = |v: &Value| usize::try_from(v["total"].as_u64().unwrap_or(0)).unwrap_or(0);
    measure_gets(&base, &lead, &stats, 3, 1, total);
    for (what, p) in [("every breakdown", &stats), ("by month", &monthly)] {
        let l = measure_gets(&base, &lead, p, 30, 1, total);
        println!(
            "{label}: stats, full year, {what}: p50 {:.1} ms, max {:.1} ms ({} cases in the year)",
            l.p50, l.max, l.median_size
        );
    }
    println!("{label}: server peak RSS {} MB", server.peak_rss_mb());
}
