//! Test support: start the real Helpline server on a free port, on a fresh SQLite file or a
//! fresh PostgreSQL database, and talk HTTP to it.
//!
//! PostgreSQL comes from `HELPLINE_TEST_POSTGRES_URL` (an admin URL; each test creates its own
//! database there). `scripts/test` starts a throwaway cluster and sets it. Without it, Postgres
//! tests are skipped with a loud message, except under `CI=true`, where they fail.

pub mod browser;
pub mod logs;
pub mod mail;
pub mod release;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use diesel::{Connection, RunQueryDsl};
use helpline_api::{Application, Clock, Config};
use helpline_domain::text::Name;
use helpline_domain::user::{Actor, Role, Username};
use helpline_store::{Store, StoreConfig};
use serde_json::Value;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the test cluster.
    Postgres,
}

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A database prepared for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// The URL Helpline is given.
    pub url: String,
    /// Keeps the SQLite folder alive.
    _dir: Option<std::sync::Arc<TempDir>>,
}

/// A temporary folder removed on drop.
#[derive(Debug)]
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    /// A fresh database, or `None` when Postgres is not configured outside CI.
    pub fn fresh(backend: Backend) -> Option<TestDb> {
        let name = format!("hl_{}", uuid::Uuid::now_v7().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
                Some(TestDb {
                    url: format!("sqlite://{}/helpline.db", dir.display()),
                    _dir: Some(std::sync::Arc::new(TempDir(dir))),
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("HELPLINE_TEST_POSTGRES_URL") else {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!("CI=true but HELPLINE_TEST_POSTGRES_URL is not set: Postgres tests must run");
                    }
                    eprintln!("SKIPPED on PostgreSQL: HELPLINE_TEST_POSTGRES_URL is not set (scripts/test sets it)");
                    return None;
                };
                let mut c = diesel::PgConnection::establish(&admin)
                    .unwrap_or_else(|e| panic!("cannot reach the test Postgres: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .unwrap_or_else(|e| panic!("create database: {e}"));
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                })
            }
        }
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The database.
    pub db: TestDb,
    /// The configuration it runs with.
    pub config: Config,
    handle: Option<ServerHandle>,
    thread: Option<thread::JoinHandle<()>>,
    agent: ureq::Agent,
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body parsed as JSON (Null if empty or not JSON).
    pub json: Value,
    /// Raw body.
    pub text: String,
}

impl Resp {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `id` of the entity in the body.
    pub fn id(&self) -> String {
        self.json["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

/// The test configuration: a free port, the given database, a fixed JWT secret.
pub fn test_config(db: &TestDb) -> Config {
    let mut c = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
    c.listen = "127.0.0.1:0".into();
    c.database_url = helpline_api::config::Secret::new(db.url.clone());
    c.jwt_secret = helpline_api::config::Secret::new(JWT_SECRET);
    c.database_pool_size = 8;
    // Accounts log in with a password alone; the second-factor tests set the rule they test.
    c.second_factor = helpline_domain::user::SecondFactorRule::Optional;
    c
}

impl TestApp {
    /// Starts a server on a fresh database; `None` if the backend is unavailable (see module doc).
    pub fn spawn(backend: Backend) -> Option<TestApp> {
        let db = TestDb::fresh(backend)?;
        Some(Self::start(db, None))
    }

    /// Starts a server on an existing database (for restarts), optionally with a test clock.
    pub fn start(db: TestDb, clock: Option<Clock>) -> TestApp {
        Self::start_with(db, clock, |_| {})
    }

    /// Starts a server with the test configuration changed by `adjust`.
    pub fn start_with(
        db: TestDb,
        clock: Option<Clock>,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        logs::capture();
        let mut config = test_config(&db);
        adjust(&mut config);
        let (tx, rx) = mpsc::channel();
        let cfg = config.clone();
        let thread = thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match Application::build(cfg, clock) {
                    Ok(app) => {
                        let _ = tx.send(Ok((app.port(), app.handle())));
                        let _ = app.run_until_stopped().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            })
        });
        let (port, handle) = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            db,
            config,
            handle: Some(handle),
            thread: Some(thread),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        }
    }

    /// Stops the server and waits for it, keeping the database.
    pub fn stop(mut self) -> TestDb {
        self.shutdown();
        self.db.clone()
    }

    fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(true));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// A store handle on the same database (for setting up and for tampering in tests).
    pub fn store(&self) -> Store {
        Store::open(&StoreConfig {
            url: self.db.url.clone(),
            pool_size: 2,
            sqlite_synchronous: "normal".into(),
            postgres_writers: 1,
        })
        .unwrap_or_else(|e| panic!("store: {e}"))
    }

    /// Creates an account directly (as the CLI does) and returns its id.
    pub fn create_user(&self, username: &str, role: Role) -> String {
        let hash = helpline_api::auth::hash_password(PASSWORD).unwrap_or_else(|e| panic!("{e}"));
        let username = username.to_owned();
        let user = self
            .store()
            .write(Actor::System, chrono::Utc::now(), move |tx| {
                helpline_store::users::create(
                    tx,
                    helpline_store::users::NewUser {
                        username: Username::parse(&username)?,
                        display_name: Name::parse(username.as_str())?,
                        role,
                        password_hash: hash,
                    },
                )
            })
            .unwrap_or_else(|e| panic!("create user: {e}"));
        user.id.to_string()
    }

    /// Logs in and returns the bearer token.
    pub fn login(&self, username: &str) -> String {
        let r = self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"username": username, "password": PASSWORD})),
            &[],
        );
        assert_eq!(r.status, 200, "login failed: {}", r.text);
        r.json["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Creates an account and logs in: (user id, token).
    pub fn user(&self, username: &str, role: Role) -> (String, String) {
        let id = self.create_user(username, role);
        (id, self.login(username))
    }

    /// Any request.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .agent
            .request(method, &format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.set("authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        if let Some(t) = token {
            logs::note("token", t);
        }
        let result = match body {
            Some(b) => {
                logs::sent(b);
                req.set("content-type", "application/json")
                    .send_string(&b.to_string())
            }
            None => req.call(),
        };
        Self::read(result)
    }

    /// A request with a raw body and content type.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .agent
            .request(method, &format!("{}{}", self.base, path))
            .set("content-type", content_type);
        if let Some(t) = token {
            req = req.set("authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        if content_type.starts_with("message/") {
            logs::sent_mail(body);
        }
        Self::read(req.send_bytes(body))
    }

    fn read(result: Result<ureq::Response, ureq::Error>) -> Resp {
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| {
                resp.header(&n)
                    .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        let text = resp.into_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        logs::answered(&json);
        Resp {
            status,
            headers,
            json,
            text,
        }
    }

    /// GET.
    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None, &[])
    }

    /// Walks a paged list `limit` items at a time, following `next_cursor` to the end, and
    /// returns (every item in order, how many pages it took). Fails if a page is larger than
    /// `limit` or the walk does not end.
    pub fn walk(&self, path: &str, token: &str, limit: usize) -> (Vec<Value>, usize) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for pages in 1..=10_000 {
            let q = cursor
                .as_deref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default();
            let page = self
                .get(&format!("{path}{sep}limit={limit}{q}"), token)
                .expect(200);
            let got = page.json["items"].as_array().cloned().unwrap_or_default();
            assert!(got.len() <= limit, "{path}: a page larger than its limit");
            items.extend(got);
            match page.json["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return (items, pages),
            }
        }
        panic!("{path}: the cursor never reached the end")
    }

    /// POST JSON.
    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(&body), &[])
    }

    /// Opens a minimal case for a new beneficiary; returns the 201 answer.
    pub fn open_case(&self, token: &str) -> Resp {
        self.post(
            "/api/v1/cases",
            token,
            serde_json::json!({"beneficiary": {"name": "X"}, "summary": "s", "urgency": "low", "service_type": "phishing"}),
        )
        .expect(201)
    }

    /// Adds a party to the directory; returns its id.
    pub fn party(&self, token: &str, name: &str, kind: &str) -> String {
        self.post(
            "/api/v1/parties",
            token,
            serde_json::json!({"name": name, "kind": kind}),
        )
        .expect(201)
        .id()
    }

    /// PATCH JSON with If-Match.
    pub fn patch(&self, path: &str, token: &str, etag: &str, body: Value) -> Resp {
        self.call(
            "PATCH",
            path,
            Some(token),
            Some(&body),
            &[("if-match", etag)],
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs each named scenario `fn(Backend)` as two tests: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::Backend::Sqlite) } )+
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::Backend::Postgres) } )+
        }
    };
}

/// The JWT secret of every test server (it also keys the reply addresses).
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// The `helpline` binary of this build (built on demand when missing).
pub fn helpline_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    // target/<profile>/deps/e2e-HASH -> target/<profile>/helpline
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap_or_else(|| panic!("odd test path"));
    let bin = profile_dir.join("helpline");
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--bins", "--tests"])
            .status()
            .unwrap_or_else(|e| panic!("cargo build: {e}"));
        assert!(status.success(), "building the helpline binary failed");
    }
    bin
}

/// Runs `helpline` with the test database and returns (exit code, stdout, stderr).
pub fn run_cli(db: &TestDb, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(helpline_bin())
        .args(args)
        .env("HELPLINE_DATABASE_URL", &db.url)
        .env("HELPLINE_LOG_LEVEL", "warn")
        .env_remove("HELPLINE_CONFIG_FILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn helpline: {e}"));
    if let Some(mut sin) = child.stdin.take() {
        if let Some(s) = stdin {
            let _ = sin.write_all(s.as_bytes());
        }
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A plain message carrying a `size`-byte pseudo-random video attachment, base64-encoded.
pub fn with_attachment(size: usize) -> Vec<u8> {
    use base64::Engine;
    let data: Vec<u8> = (0..size as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let mut s = String::from("From: big@example.org\r\nSubject: video\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee the video\r\n--b\r\nContent-Type: video/mp4\r\nContent-Disposition: attachment; filename=\"v.mp4\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    for chunk in b64.as_bytes().chunks(76) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push_str("\r\n");
    }
    s.push_str("--b--\r\n");
    s.into_bytes()
}

/// `mebibytes` MiB of zeros, compressed at best and encrypted to `helpline`, as PGP/MIME: about a
/// megabyte that inflates far past any decode limit.
pub fn compression_bomb(helpline: &sequoia_openpgp::Cert, mebibytes: usize) -> Vec<u8> {
    use openpgp::serialize::stream::{Armorer, Compressor, Encryptor, LiteralWriter, Message};
    use sequoia_openpgp as openpgp;
    use std::io::Write;
    let policy = openpgp::policy::StandardPolicy::new();
    let recipients: Vec<_> = helpline
        .keys()
        .with_policy(&policy, None)
        .supported()
        .for_transport_encryption()
        .collect();
    let mut sink = Vec::new();
    {
        let m = Message::new(&mut sink);
        let m = Armorer::new(m).build().unwrap_or_else(|e| panic!("{e}"));
        let m = Encryptor::for_recipients(m, recipients)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let m = Compressor::new(m)
            .algo(openpgp::types::CompressionAlgorithm::Zlib)
            .level(openpgp::types::CompressionLevel::best())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut w = LiteralWriter::new(m)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..mebibytes {
            w.write_all(&zeros).unwrap_or_else(|e| panic!("{e}"));
        }
        w.finalize().unwrap_or_else(|e| panic!("{e}"));
    }
    let mut raw = b"From: bomb@example.org\r\nSubject: ...\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    raw.extend_from_slice(&sink);
    raw.extend_from_slice(b"\r\n--e--\r\n");
    raw
}

/// A clock a test moves by hand.
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::Mutex<chrono::DateTime<chrono::Utc>>>);

impl TestClock {
    /// A clock standing at `at`.
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> TestClock {
        TestClock(std::sync::Arc::new(std::sync::Mutex::new(at)))
    }
    /// The clock as the server takes it.
    pub fn clock(&self) -> Clock {
        let c = self.0.clone();
        std::sync::Arc::new(move || *c.lock().unwrap_or_else(|e| e.into_inner()))
    }
    /// What it reads.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Moves it on.
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

/// A request a [`Receiver`] took.
#[derive(Debug, Clone)]
pub struct Received {
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// The Python the suite's validators and generated client run on (`HELPLINE_PYTHON`, which
/// `scripts/test` sets to its virtualenv): none outside the test command (the check is skipped,
/// and says so), a failure under `CI=true`.
pub fn python(what: &str) -> Option<String> {
    match std::env::var("HELPLINE_PYTHON") {
        Ok(p) => Some(p),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but HELPLINE_PYTHON is not set: {what} must run")
        }
        Err(_) => {
            eprintln!("SKIPPED {what}: HELPLINE_PYTHON is not set (scripts/test sets it)");
            None
        }
    }
}

/// `openapi.yaml` as JSON, read once.
fn spec_json() -> &'static serde_json::Value {
    static SPEC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .unwrap_or_else(|e| panic!("openapi.yaml: {e}"));
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml: {e}"));
        serde_json::to_value(yaml).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// How `sample` breaks the spec's schema `name`, validated as JSON Schema 2020-12 with its
/// references resolved in the spec: types, enums, formats, `required`, at every depth.
pub fn violations(name: &str, sample: &serde_json::Value) -> Vec<String> {
    let mut root = spec_json().clone();
    root["$schema"] = serde_json::json!("https://json-schema.org/draft/2020-12/schema");
    root["$ref"] = serde_json::json!(format!("#/components/schemas/{name}"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
    validator
        .iter_errors(sample)
        .map(|e| format!("{name}{}: {e}", e.instance_path()))
        .collect()
}

/// Panics unless `sample` is valid under the spec's schema `name`.
pub fn conforms(name: &str, sample: &serde_json::Value) {
    let wrong = violations(name, sample);
    assert!(wrong.is_empty(), "{}\nin {sample}", wrong.join("\n"));
}

/// The webhook secret the suite configures.
pub const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";

/// How many times each call of `calls` came, by its `X-Helpline-Delivery` id.
pub fn by_delivery(calls: &[Received]) -> std::collections::BTreeMap<String, usize> {
    let mut ids = std::collections::BTreeMap::new();
    for c in calls {
        let id = c
            .header("x-helpline-delivery")
            .unwrap_or_default()
            .to_owned();
        *ids.entry(id).or_default() += 1;
    }
    ids
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, after checking its signature with [`WEBHOOK_SECRET`] (panics if
    /// the signature is wrong).
    pub fn verified(&self) -> serde_json::Value {
        use hmac::{Hmac, Mac};
        let ts = self.header("x-helpline-timestamp").unwrap_or_default();
        let sig = self.header("x-helpline-signature").unwrap_or_default();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        mac.update(format!("{ts}.{}", self.body).as_bytes());
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sig, expected, "signature of {}", self.body);
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A tiny HTTP server that answers 200 to every POST and hands over what it got: the other
/// end of Helpline's webhooks.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// Held closed, it keeps every call waiting for its answer.
    pub gate: Gate,
    rx: mpsc::Receiver<Received>,
}

impl Receiver {
    /// Listens on a free port.
    pub fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let (tx, rx) = mpsc::channel();
        let gate = Gate::default();
        let held = gate.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(clone) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(clone);
                let mut headers = Vec::new();
                let mut line = String::new();
                let mut first = true;
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if first {
                        first = false;
                        continue;
                    }
                    if let Some((k, v)) = l.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
                let len = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                // A caller that died before this point never had its call answered.
                if !held.pass(&stream) {
                    continue;
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                let _ = tx.send(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            gate,
            rx,
        }
    }

    /// The next request whose event is `event`, waiting up to `secs` seconds; others seen
    /// meanwhile are returned too, in order.
    pub fn wait_for(&self, event: &str, secs: u64) -> (Option<Received>, Vec<Received>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(r) => {
                    if r.header("x-helpline-event") == Some(event) {
                        return (Some(r), seen);
                    }
                    seen.push(r);
                }
                Err(_) => break,
            }
        }
        (None, seen)
    }
}

/// Holds back what a [`SmtpSink`] or a [`Receiver`] accepts while it is closed. A sender killed
/// meanwhile never had its message or call accepted: the cluster test kills a node this way,
/// outside the window (documented in README) between a remote acceptance and its commit.
#[derive(Clone, Default)]
pub struct Gate(std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    /// Holds every acceptance from now on.
    pub fn close(&self) {
        *self.0 .0.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }

    /// Lets them through again.
    pub fn open(&self) {
        *self.0 .0.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.0 .1.notify_all();
    }

    /// Waits while closed, then answers whether the peer on `conn` is still there to be told
    /// that its message was accepted.
    fn pass(&self, conn: &std::net::TcpStream) -> bool {
        let mut closed = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        while *closed {
            closed = self.0 .1.wait(closed).unwrap_or_else(|e| e.into_inner());
        }
        drop(closed);
        if conn.set_nonblocking(true).is_err() {
            return false;
        }
        let alive = matches!(conn.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        alive && conn.set_nonblocking(false).is_ok()
    }
}

/// A local SMTP relay for the outbox: accepts every message and keeps its bytes.
pub struct SmtpSink {
    received: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    /// Held closed, it keeps every message waiting for its acceptance.
    pub gate: Gate,
}

impl SmtpSink {
    /// Listens on 127.0.0.1:`port`.
    pub fn start(port: u16) -> SmtpSink {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("sink: {e}"));
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = received.clone();
        let gate = Gate::default();
        let held = gate.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (store, held) = (store.clone(), held.clone());
                std::thread::spawn(move || {
                    let Ok(mut w) = conn.try_clone() else { return };
                    let mut r = BufReader::new(conn);
                    let _ = w.write_all(b"220 sink ESMTP\r\n");
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.to_ascii_uppercase();
                        if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            let _ = w.write_all(b"250-sink\r\n250 8BITMIME\r\n");
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go on\r\n");
                            let mut data = Vec::new();
                            loop {
                                let mut l = Vec::new();
                                if r.read_until(b'\n', &mut l).unwrap_or(0) == 0 {
                                    return;
                                }
                                if l == b".\r\n" {
                                    break;
                                }
                                let l = if l.starts_with(b"..") {
                                    l[1..].to_vec()
                                } else {
                                    l
                                };
                                data.extend_from_slice(&l);
                            }
                            // A sender that died before this point never had the message taken.
                            if !held.pass(r.get_ref()) {
                                return;
                            }
                            if let Ok(mut s) = store.lock() {
                                s.push(data);
                            }
                            let _ = w.write_all(b"250 queued\r\n");
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n");
                            return;
                        } else {
                            let _ = w.write_all(b"250 ok\r\n");
                        }
                    }
                });
            }
        });
        SmtpSink { received, gate }
    }

    /// How many times each `Message-ID` (without its angle brackets) was taken.
    pub fn by_message_id(&self) -> std::collections::BTreeMap<String, usize> {
        let mut ids = std::collections::BTreeMap::new();
        for m in self.messages() {
            let text = String::from_utf8_lossy(&m).into_owned();
            let id = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().starts_with("message-id:").then(|| {
                        l[11..]
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned()
                    })
                })
                .unwrap_or_default();
            *ids.entry(id).or_default() += 1;
        }
        ids
    }

    /// Every message taken so far, in order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// An authenticator app: the TOTP code of the step `offset` steps (of 30 s) from now.
pub fn totp_code(secret: &str, offset: i64) -> String {
    use totp_rs::{Algorithm, Secret, TOTP};
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap_or_else(|e| panic!("{e:?}"));
    let t = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp() + offset * 30;
    t.generate(u64::try_from(now).unwrap_or_default())
}
