//! Analysts' benchmark: seeds a database with `helpline admin seed-demo`, starts the release
//! server on it, and measures `GET /cases/{ref}/related?depth=2` and
//! `GET /indicators?kind=&value=` latencies over HTTP (as a lead, who sees every case).
//!
//!     cargo run --release -p helpline-tests --example analysis_bench -- DATABASE_URL [CASES] [REQUESTS] [CONNS,...]
//!
//! DATABASE_URL is `sqlite` (a fresh file in a temporary folder) or a `postgres://` URL of an
//! empty database.

use std::io::Write;
use std::time::{Duration, Instant};

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

    let dir = std::env::temp_dir().join(format!("hl_abench_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let database = if url == "sqlite" {
        format!("sqlite://{}/helpline.db", dir.display())
    } else {
        url.clone()
    };
    let label = if url == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18081);
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database}\"\njwt_secret = \"bench-secret-bench-secret-bench-secret!!\"\nlog_level = \"error\"\n[mail]\nkey_dir = \"{}/keys\"\n",
            dir.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bin = bin();
    let run = |args: &[&str], stdin: &str| -> String {
        let mut c = std::process::Command::new(&bin)
            .args(args)
            .arg("--config")
            .arg(&config)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(mut s) = c.stdin.take() {
            let _ = s.write_all(stdin.as_bytes());
        }
        c.wait_with_output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    run(&["migrate"], "");
    let started = Instant::now();
    let seeded = run(&["admin", "seed-demo", "--cases", &cases.to_string()], "");
    println!(
        "{label}: seed-demo --cases {cases}: {:.1} s wall ({})",
        started.elapsed().as_secs_f64(),
        seeded.trim()
    );
    run(
        &["admin", "create-user", "bench", "--role", "lead"],
        "bench-password-1234\n",
    );
    let mut server = std::process::Command::new(&bin)
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if ureq::get(&format!("{base}/healthz")).call().is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let token = ureq::post(&format!("{base}/api/v1/auth/login"))
        .send_json(serde_json::json!({"username": "bench", "password": "bench-password-1234"}))
        .ok()
        .and_then(|r| r.into_json::<Value>().ok())
        .and_then(|v| v["access_token"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("login failed"));

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
    // One pass to warm the caches, then the measured ones.
    measure(&base, &token, &related, related.len(), 2);
    measure(&base, &token, &lookups, lookups.len(), 2);
    for &conns in &conn_list {
        let (p50, p99, max, rate, sizes) = measure(&base, &token, &related, requests, conns);
        println!(
            "{label}: related?depth=2: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms, {rate:.0} req/s ({conns} connection(s); median {sizes} related cases per answer)"
        );
        let (p50, p99, max, rate, _) = measure(&base, &token, &lookups, requests, conns);
        println!(
            "{label}: indicator lookup: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.1} ms, {rate:.0} req/s ({conns} connection(s))"
        );
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs `n` GETs over `paths` (round robin) on `conns` threads: p50, p99, max (ms), rate, and
/// the median size of the `related` list.
fn measure(
    base: &str,
    token: &str,
    paths: &[String],
    n: usize,
    conns: usize,
) -> (f64, f64, f64, f64, usize) {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|_| {
            let next = next.clone();
            let base = base.to_owned();
            let token = token.to_owned();
            let paths = paths.to_vec();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(60))
                    .build();
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let path = &paths[i % paths.len()];
                    let t = Instant::now();
                    let r = agent
                        .get(&format!("{base}{path}"))
                        .set("authorization", &format!("Bearer {token}"))
                        .call();
                    let v: Value = match r {
                        Ok(r) => r.into_json().unwrap_or(Value::Null),
                        Err(e) => panic!("{path}: {e}"),
                    };
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    out.push((ms, v["related"].as_array().map_or(0, Vec::len)));
                }
                out
            })
        })
        .collect();
    let mut all: Vec<(f64, usize)> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    let mut sizes: Vec<usize> = all.iter().map(|x| x.1).collect();
    sizes.sort_unstable();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].0;
    (
        pct(0.50),
        pct(0.99),
        all.last().map_or(0.0, |x| x.0),
        rate,
        sizes[sizes.len() / 2],
    )
}

fn bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    exe.parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("helpline"))
        .unwrap_or_else(|| panic!("odd path"))
}
