//! The release binary as benchmarks run it: a configuration file in a temporary folder, the
//! CLI (`migrate`, `admin …`), and `serve` on a free port until dropped.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The password of the accounts benchmarks create.
pub const BENCH_PASSWORD: &str = "bench-password-1234";

/// A configured installation of the release binary (not yet serving).
pub struct Release {
    /// Its folder (the SQLite file and keys live here for `sqlite`).
    pub dir: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    bin: PathBuf,
    child: Option<std::process::Child>,
}

impl Release {
    /// Configures an installation on `database` (`sqlite`: a fresh file in the folder; or a
    /// `postgres://` URL), with `extra` TOML appended, and runs the migrations.
    pub fn new(database: &str, extra: &str) -> Release {
        let dir = std::env::temp_dir().join(format!("hl_bench_{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(dir.join("keys")).unwrap_or_else(|e| panic!("{e}"));
        let database = if database == "sqlite" {
            format!("sqlite://{}/helpline.db", dir.display())
        } else {
            database.to_owned()
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(18080);
        let config = dir.join("bench.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{database}\"\njwt_secret = \"bench-secret-bench-secret-bench-secret!!\"\nlog_level = \"warn\"\nsecond_factor = \"optional\"\n{extra}\n[mail]\nkey_dir = \"{}/keys\"\n",
                dir.display()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = Release {
            dir,
            config,
            base: format!("http://127.0.0.1:{port}"),
            bin: bin(),
            child: None,
        };
        r.run(&["migrate"], "");
        r
    }

    /// Runs the CLI with this configuration; returns its standard output.
    pub fn run(&self, args: &[&str], stdin: &str) -> String {
        let mut c = std::process::Command::new(&self.bin)
            .args(args)
            .arg("--config")
            .arg(&self.config)
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
    }

    /// Creates an account named `bench` with this role.
    pub fn create_user(&self, role: &str) {
        self.run(
            &["admin", "create-user", "bench", "--role", role],
            &format!("{BENCH_PASSWORD}\n"),
        );
    }

    /// Starts `serve` and waits until it answers `/healthz`.
    pub fn serve(&mut self) {
        // As in production: a developer's RUST_BACKTRACE=1 makes every internal error capture
        // a backtrace, which costs a few percent.
        let child = std::process::Command::new(&self.bin)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        self.child = Some(child);
        for _ in 0..1200 {
            if ureq::get(&format!("{}/healthz", self.base)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not come up");
    }

    /// Logs in as `bench`; the access token.
    pub fn login(&self) -> String {
        let v: Value = ureq::post(&format!("{}/api/v1/auth/login", self.base))
            .send_json(serde_json::json!({"username": "bench", "password": BENCH_PASSWORD}))
            .map_err(|e| e.to_string())
            .and_then(|r| r.into_json::<Value>().map_err(|e| e.to_string()))
            .unwrap_or_else(|e| panic!("login: {e}"));
        v["access_token"].as_str().unwrap_or_default().to_owned()
    }

    /// The server's peak resident memory, in MB.
    pub fn peak_rss_mb(&self) -> u64 {
        let Some(c) = &self.child else { return 0 };
        std::fs::read_to_string(format!("/proc/{}/status", c.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Latencies of a run of requests.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Slowest, ms.
    pub max: f64,
    /// Requests per second over the run.
    pub rate: f64,
    /// Median of what `size` said of the answers.
    pub median_size: usize,
}

/// Runs `n` GETs over `paths` (round robin) on `conns` connections as `token`; `size` says
/// something about each answer (how many results) for the report.
pub fn measure_gets(
    base: &str,
    token: &str,
    paths: &[String],
    n: usize,
    conns: usize,
    size: fn(&Value) -> usize,
) -> Latencies {
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
                    let v: Value = match agent
                        .get(&format!("{base}{path}"))
                        .set("authorization", &format!("Bearer {token}"))
                        .call()
                    {
                        Ok(r) => r.into_json().unwrap_or(Value::Null),
                        Err(e) => panic!("{path}: {e}"),
                    };
                    out.push((t.elapsed().as_secs_f64() * 1000.0, size(&v)));
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
    Latencies {
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().map_or(0.0, |x| x.0),
        rate,
        median_size: sizes.get(sizes.len() / 2).copied().unwrap_or(0),
    }
}

/// Percent-encodes a query value.
pub fn form_encode(v: &str) -> String {
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

/// The `helpline` binary beside the running example (target/release/examples/x →
/// target/release/helpline).
fn bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    exe.parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("helpline"))
        .unwrap_or_else(|| panic!("odd path"))
}
