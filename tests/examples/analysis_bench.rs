//! Analysts' benchmark: seeds a database with `helpline admin seed-demo`, starts the release
//! server on it, and measures `GET /cases/{ref}/related?depth=2` and
//! `GET /indicators?kind=&value=` latencies over HTTP (as a lead, who sees every case).
//!
//!     cargo run --release -p helpline-tests --example analysis_bench -- DATABASE_URL [CASES] [REQUESTS] [CONNS,...]
//!
//! DATABASE_URL is `sqlite` (a fresh file in a temporary folder) or a `postgres://` URL of an
//! empty database.

use std::time::{Duration, Instant};

use helpline_tests::release::{form_encode, measure_gets, Release};
use serde_json::Value;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let cases: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let requests: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let conn_list: Vec<usize> = args
        .get(4)
        .map(|a| a.split(',').filter_map(|c| c.parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1, 4]);

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
    server.serve();
    let (base, token) = (server.base.clone(), server.login());

    // Sample cases spread over the history, and indicators taken from them.
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let refs: Vec<u64> = (0..500).map(|_| 1001 + next() % cases as u64).collect();
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let get = |path: &str| -> Value {
        agent
            .get(&format!("{base}{path}"))
            .set("authorization", &format!("Bearer {token}"))
            .call()
            .ok()
            .and_then(|r| r.into_json().ok())
            .unwrap_or(Value::Null)
    };
    let mut lookups: Vec<String> = Vec::new();
    for r in refs.iter().take(200) {
        for i in get(&format!("/api/v1/cases/{r}/indicators"))["items"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (k, v) = (
                i["indicator"]["kind"].as_str().unwrap_or_default(),
                i["indicator"]["value"].as_str().unwrap_or_default(),
            );
            lookups.push(format!(
                "/api/v1/indicators?kind={k}&value={}",
                form_encode(v)
            ));
        }
    }
    let related: Vec<String> = refs
        .iter()
        .map(|r| format!("/api/v1/cases/{r}/related?depth=2"))
        .collect();
    let related_size = |v: &Value| v["related"].as_array().map_or(0, Vec::len);
    let none = |_: &Value| 0;
    // One pass to warm the caches, then the measured ones.
    measure_gets(&base, &token, &related, related.len(), 2, related_size);
    measure_gets(&base, &token, &lookups, lookups.len(), 2, none);
    for &conns in &conn_list {
        let l = measure_gets(&base, &token, &related, requests, conns, related_size);
        println!(
            "{label}: related?depth=2: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} req/s ({conns} connection(s); median {} related cases per answer)",
            l.p50, l.p99, l.max, l.rate, l.median_size
        );
        let l = measure_gets(&base, &token, &lookups, requests, conns, none);
        println!(
            "{label}: indicator lookup: p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {:.0} req/s ({conns} connection(s))",
            l.p50, l.p99, l.max, l.rate
        );
    }
}
