//! A crash loses nothing acknowledged: the real binary is killed with SIGKILL while clients are
//! creating cases, restarted on the same database, and every case it answered 201 for is there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use helpline_domain::user::Role;
use helpline_tests::{helpline_bin, on_both_backends, run_cli, Backend, TestDb};
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

struct Server {
    child: std::process::Child,
    base: String,
}

fn start(db: &TestDb) -> Server {
    let port = free_port();
    let child = std::process::Command::new(helpline_bin())
        .arg("serve")
        .env("HELPLINE_DATABASE_URL", &db.url)
        .env("HELPLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "HELPLINE_JWT_SECRET",
            "crash-test-secret-crash-test-secret-0000",
        )
        .env("HELPLINE_LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{base}/readyz")).call().is_err() {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, base }
}

fn login(base: &str) -> String {
    let r: serde_json::Value = ureq::post(&format!("{base}/api/v1/auth/login"))
        .send_json(json!({"username": "crash", "password": helpline_tests::PASSWORD}))
        .unwrap_or_else(|e| panic!("login: {e}"))
        .into_json()
        .unwrap_or_else(|e| panic!("{e}"));
    r["access_token"].as_str().unwrap_or_default().to_owned()
}

fn a_crash_loses_nothing_acknowledged(backend: Backend) {
    let Some(db) = TestDb::fresh(backend) else {
        return;
    };
    helpline_store::migrate(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run_cli(
        &db,
        &[
            "admin",
            "create-user",
            "crash",
            "--role",
            Role::Handler.as_str(),
        ],
        Some(&format!("{}\n", helpline_tests::PASSWORD)),
    );
    assert_eq!(code, 0, "{err}");
    let mut server = start(&db);
    let token = login(&server.base);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (base, token, stop, acked) = (
                server.base.clone(),
                token.clone(),
                stop.clone(),
                acknowledged.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let r = ureq::post(&format!("{base}/api/v1/cases"))
                        .set("authorization", &format!("Bearer {token}"))
                        .timeout(Duration::from_secs(5))
                        .send_json(json!({
                            "beneficiary": {"name": format!("client {c} #{i}")},
                            "summary": format!("case {c}-{i}"),
                            "urgency": "medium",
                            "service_type": "phishing"
                        }));
                    match r {
                        Ok(resp) if resp.status() == 201 => {
                            let v: serde_json::Value = resp.into_json().unwrap_or_default();
                            if let Some(r) = v["ref"].as_i64() {
                                acked.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                            }
                        }
                        // The server died under us: this one was never acknowledged.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let the writes flow, then pull the plug mid-stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().map(|a| a.len()).unwrap_or(0) < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
    let _ = server.child.wait();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    let acked = acknowledged.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(
        acked.len() >= 50,
        "too few writes before the crash to prove anything: {}",
        acked.len()
    );

    let mut server = start(&db);
    let token = login(&server.base);
    for r in &acked {
        let resp = ureq::get(&format!("{}/api/v1/cases/{r}", server.base))
            .set("authorization", &format!("Bearer {token}"))
            .call();
        assert!(
            matches!(&resp, Ok(x) if x.status() == 200),
            "acknowledged case #{r} lost after the crash"
        );
    }
    let (code, out, _) = run_cli(&db, &["admin", "verify-audit"], None);
    assert_eq!(code, 0, "the audit chain survives the crash: {out}");
    let _ = server.child.kill();
    let _ = server.child.wait();
}

on_both_backends!(a_crash_loses_nothing_acknowledged);
