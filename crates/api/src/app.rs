//! The application: shared state, the server on a pre-bound listener, and request telemetry.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use helpline_domain::taxonomy::Taxonomy;
use helpline_domain::user::Actor;
use helpline_store::idempotency::{self, IdempotencyKey, StoredResponse};
use helpline_store::{DbConnection, Store, StoreConfig, StoreError, Tx};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::auth::{Auth, JwtKeys};
use crate::config::Config;
use crate::error::ApiError;

/// Where "now" comes from: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler can reach.
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The configuration.
    pub config: Config,
    /// Access-token keys.
    pub jwt: JwtKeys,
    /// Audience types.
    pub audiences: Taxonomy,
    /// Service types.
    pub service_types: Taxonomy,
    /// The clock.
    pub clock: Clock,
    /// Prometheus rendering.
    pub metrics: PrometheusHandle,
    /// Bounds requests' concurrent reads on PostgreSQL (see `Config::request_readers`).
    pub readers: tokio::sync::Semaphore,
    /// Recently authenticated callers.
    pub principals: Arc<crate::callers::PrincipalCache>,
    /// Seals TOTP secrets in the database.
    pub seal: crate::second_factor::SealKey,
    /// The helpline's keys and mail settings.
    pub mail: crate::mail::MailState,
    /// Values that never correlate.
    pub warnings: helpline_domain::indicator::WarningList,
    /// What correlation walks have read of the indicators they met.
    pub descriptions: helpline_store::analysis::Descriptions,
    /// The holders of the indicators correlation walks followed.
    pub holders: helpline_store::analysis::KeptHolders,
    /// TLP of an indicator given none.
    pub default_tlp: helpline_domain::indicator::Tlp,
    /// Promised times, caseload weights, webhook URLs.
    pub policy: helpline_store::workflow::Policy,
    /// Wakes the webhook worker after a commit that queued an event.
    pub webhooks: crate::webhooks::Notifier,
    /// The console's figures, computed at most once a minute per reader.
    pub figures: crate::console::Figures,
    /// The staff's names as the console shows them, read at most every few seconds.
    pub staff_names: crate::console::StaffNames,
}

impl AppState {
    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Runs read-only store work.
    ///
    /// On SQLite a read is a lookup in the process's own page cache that takes microseconds:
    /// handing it to a blocking thread costs more than the query (measured: 6,300 against
    /// 10,400 fetches/s), so it runs on the worker. On Postgres a read waits on the network,
    /// so it runs on the blocking pool, no more at once than `Config::request_readers` (about
    /// what the cores can run), so that excess requests queue here rather than as threads or
    /// as PostgreSQL backends competing for the same cores.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        if self.store.backend() == helpline_store::Backend::Sqlite {
            return Ok(self.store.read(f)?);
        }
        let _permit = self
            .readers
            .acquire()
            .await
            .map_err(|_| ApiError::Unavailable("shutting down".into()))?;
        let store = self.store.clone();
        Ok(web::block(move || store.read(f)).await??)
    }

    /// Runs a write as the caller on the store's writer, and answers once it is committed.
    pub async fn write<T: Send + 'static>(
        &self,
        auth: &Auth,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.write_as(auth.actor(), f).await
    }

    /// Runs a write as `actor`: for a caller not yet authenticated (a login spending a code).
    pub async fn write_as<T: Send + 'static>(
        &self,
        actor: Actor,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.store.submit(actor, self.now(), f, move |r| {
            let _ = tx.send(r);
        });
        let r = rx.await;
        // Whatever the write queued for the webhooks goes out now, not at the next poll.
        if !self.policy.webhook_urls.is_empty() {
            self.webhooks.wake();
        }
        match r {
            Ok(r) => Ok(r?),
            Err(_) => Err(ApiError::Unavailable(
                "the write was not committed; retry".into(),
            )),
        }
    }

    /// Runs a creating write and answers 201 with its JSON; with an idempotency key, a repeat
    /// of the same request answers the first response again and changes nothing.
    pub async fn create<T: Serialize + Send + 'static>(
        &self,
        auth: &Auth,
        idem: Option<IdempotencyKey>,
        location_prefix: Option<String>,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<HttpResponse, ApiError> {
        self.create_or_accept(auth, idem, location_prefix, move |tx| {
            f(tx).map(Creation::Created)
        })
        .await
    }

    /// [`AppState::create`] for a creation that may instead be accepted and passed on (202,
    /// with a body that names nothing created), replayed alike under its idempotency key.
    pub async fn create_or_accept<T: Serialize + Send + 'static>(
        &self,
        auth: &Auth,
        idem: Option<IdempotencyKey>,
        location_prefix: Option<String>,
        f: impl FnOnce(&mut Tx<'_>) -> Result<Creation<T>, StoreError> + Send + 'static,
    ) -> Result<HttpResponse, ApiError> {
        let (stored, replayed) = self
            .write(auth, move |tx| {
                if let Some(k) = &idem {
                    if let Some(prev) = idempotency::lookup(tx, k)? {
                        return Ok((prev, true));
                    }
                }
                let (status, body) = match f(tx)? {
                    Creation::Created(value) => (201, serde_json::to_string(&value)),
                    Creation::Accepted(value) => (202, serde_json::to_string(&value)),
                };
                let body = body.map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let resp = StoredResponse { status, body };
                if let Some(k) = &idem {
                    idempotency::save(tx, k, &resp)?;
                }
                Ok((resp, false))
            })
            .await?;
        let status = actix_web::http::StatusCode::from_u16(stored.status)
            .unwrap_or(actix_web::http::StatusCode::CREATED);
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/json");
        if replayed {
            resp.insert_header(("Idempotent-Replayed", "true"));
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&stored.body) {
            if let Some(version) = v.get("version").and_then(|v| v.as_i64()) {
                resp.insert_header((header::ETAG, crate::extract::etag(version)));
            }
            if let (Some(prefix), Some(id)) =
                (location_prefix, v.get("id").and_then(|v| v.as_str()))
            {
                resp.insert_header((header::LOCATION, format!("{prefix}/{id}")));
            }
        }
        Ok(resp.body(stored.body))
    }
}

/// What a creating write made: a record (201), or nothing the caller may see (202, with a
/// body saying what became of the request).
pub enum Creation<T> {
    /// Created: answered with the record.
    Created(T),
    /// Accepted and passed on: answered with this body.
    Accepted(serde_json::Value),
}

/// Errors building the application.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener could not be bound, or the secret file written.
    #[error("{0}")]
    Io(String),
}

/// A built server, bound and ready to run.
pub struct Application {
    server: Server,
    port: u16,
    outbox: Option<crate::worker::Worker>,
    webhooks: crate::worker::Worker,
    indexer: crate::worker::Worker,
    epoch: crate::worker::Worker,
    /// Held while serving a SQLite file (see `store::backup::NodeLock`).
    node_lock: Option<helpline_store::backup::NodeLock>,
    /// Wakes the webhook worker (to stop it at once).
    notifier: crate::webhooks::Notifier,
}

/// The process-wide Prometheus recorder (metrics macros write to one global recorder).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The JWT secret: configured, or generated once and kept in the data folder.
fn jwt_secret(config: &Config) -> Result<Vec<u8>, StartError> {
    if !config.jwt_secret.is_empty() {
        return Ok(config.jwt_secret.expose().as_bytes().to_vec());
    }
    let dir = config.data_dir();
    let path = dir.join("jwt_secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if s.len() >= 32 {
            return Ok(s.as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| StartError::Io(format!("{}: {e}", dir.display())))?;
    let mut raw = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
    let secret = hex::encode(raw);
    write_secret_file(&path, secret.as_bytes())
        .map_err(|e| StartError::Io(format!("cannot create {}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a JWT secret");
    Ok(secret.into_bytes())
}

/// Writes a new file that only the server's user may read (mode 0600), refusing to replace
/// one that exists: secrets never land in a file others could read first.
pub fn write_secret_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    std::io::Write::write_all(&mut f, bytes)?;
    f.sync_all()
}

impl Application {
    /// Opens the store (running migrations), binds the listener, and builds the server.
    pub fn build(config: Config, clock: Option<Clock>) -> Result<Application, StartError> {
        // Before anything is opened: a second node on one SQLite file is refused, saying why.
        let node_lock = helpline_store::backup::node_lock(config.database_url.expose())?;
        let store = Store::open(&StoreConfig {
            url: config.database_url.expose().to_owned(),
            pool_size: config.database_pool_size,
            sqlite_synchronous: config.sqlite_synchronous.clone(),
            postgres_writers: config.postgres_writers,
        })?;
        let mut app = Self::build_with_store(config, store, clock)?;
        app.node_lock = node_lock;
        Ok(app)
    }

    /// Builds the server on an already opened store.
    ///
    /// Long because it is the wiring: keys, state, workers and the HTTP server, each once, in
    /// the order they depend on each other.
    pub fn build_with_store(
        config: Config,
        store: Store,
        clock: Option<Clock>,
    ) -> Result<Application, StartError> {
        let (audiences, service_types) = config.taxonomies()?;
        let warnings = config.analysis.warnings()?;
        let default_tlp = config.analysis.tlp()?;
        let policy = config.workflow.policy()?;
        // Databases from before search get their documents once, at the first start.
        if let Some(n) = helpline_store::search::ensure_index(&store)? {
            tracing::info!(cases = n, "built the search index");
        }
        let secret = jwt_secret(&config)?;
        let seal = crate::second_factor::SealKey::derive(&secret);
        let mail = crate::mail::MailState::new(&config, &service_types, &secret)
            .map_err(StartError::Io)?;
        let jwt = JwtKeys::new(
            &secret,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.jwt_ttl_seconds,
        );
        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| StartError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Io(e.to_string()))?
            .port();
        let notifier = crate::webhooks::Notifier::default();
        let outbox = crate::outbox::start(
            store.clone(),
            config.mail.smtp.clone(),
            policy.clone(),
            notifier.clone(),
        )
        .map_err(StartError::Io)?;
        let indexer = crate::indexer::start(store.clone()).map_err(StartError::Io)?;
        let clock: Clock = clock.unwrap_or_else(|| Arc::new(Utc::now));
        let webhooks = crate::webhooks::start(
            store.clone(),
            policy.clone(),
            config.workflow.webhooks.clone(),
            clock.clone(),
            notifier.clone(),
        )
        .map_err(StartError::Io)?;
        let principals = Arc::new(crate::callers::PrincipalCache::default());
        let epoch = crate::callers::watch_epoch(store.clone(), principals.clone())
            .map_err(StartError::Io)?;
        let state = web::Data::new(AppState {
            store,
            jwt,
            audiences,
            service_types,
            clock,
            policy,
            webhooks: notifier.clone(),
            metrics: metrics_handle(),
            readers: tokio::sync::Semaphore::new(config.request_readers()),
            principals,
            seal,
            mail,
            warnings,
            descriptions: helpline_store::analysis::Descriptions::new(DESCRIPTIONS_KEPT),
            holders: helpline_store::analysis::KeptHolders::new(HOLDINGS_KEPT),
            default_tlp,
            config,
            figures: crate::console::Figures::default(),
            staff_names: crate::console::StaffNames::default(),
        });
        let server =
            HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(web::QueryConfig::default().error_handler(|err, _| {
                        ApiError::BadRequest(format!("query string: {err}")).into()
                    }))
                    .app_data(web::PathConfig::default().error_handler(|err, _| {
                        ApiError::BadRequest(format!("path: {err}")).into()
                    }))
                    .wrap(middleware::from_fn(crate::auth::authenticate_first))
                    .wrap(middleware::from_fn(telemetry))
                    .configure(crate::routes::configure)
                    .configure(crate::console::configure)
                    .default_service(web::to(not_found))
            })
            .listen(listener)
            .map_err(|e| StartError::Io(e.to_string()))?
            .shutdown_timeout(10)
            .run();
        Ok(Application {
            server,
            port,
            outbox,
            webhooks,
            indexer,
            epoch,
            node_lock: None,
            notifier,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or the handle).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let r = self.server.await;
        let hooks = self.webhooks;
        let outbox = self.outbox;
        let indexer = self.indexer;
        let epoch = self.epoch;
        let notifier = self.notifier;
        let node_lock = self.node_lock;
        // Stopping joins the worker threads; do it off the async runtime.
        let _ = web::block(move || {
            hooks.stop(|| notifier.wake());
            indexer.stop(|| ());
            epoch.stop(|| ());
            if let Some(w) = outbox {
                w.stop(|| ());
            }
        })
        .await;
        // Only now may another node open the SQLite file.
        drop(node_lock);
        r
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}

/// Per-request log line and metrics: method, route pattern (never the query string, which may
/// hold an email address), status, latency.
async fn telemetry(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.call(req).await;
    let elapsed = start.elapsed();
    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    metrics::counter!("helpline_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("helpline_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone()).record(elapsed.as_secs_f64());
    if status >= 500 {
        tracing::warn!(%method, %route, status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
    } else {
        tracing::debug!(%method, %route, status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
    }
    res
}

/// Indicators whose description correlation keeps between walks (about 100 bytes each): more
/// than the shared indicators of 100,000 cases.
const DESCRIPTIONS_KEPT: usize = 200_000;

/// Holdings of followed indicators correlation keeps between walks (about 20 bytes each): the
/// shared indicators of 100,000 cases hold a few hundred thousand.
const HOLDINGS_KEPT: usize = 1_000_000;
