//! The `helpline` binary: serve the API, migrate the database, administer accounts, tokens
//! and the audit trail.

mod cli;

use helpline_domain::audit::AuditAction;
use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use helpline_api::auth::{hash_password, new_token_secret};
use helpline_api::{Application, Config};
use helpline_domain::audit::ChainBreak;
use helpline_domain::ids::TokenId;
use helpline_domain::text::Name;
use helpline_domain::user::{Actor, Password, Role, Scope, Username};
use helpline_store::audit::{Chain, Verification};
use helpline_store::{Store, StoreConfig};

#[derive(Parser)]
#[command(
    name = "helpline",
    version,
    about = "Case tracking for digital-security helplines"
)]
struct Cli {
    /// An extra configuration file, read after config/default.toml and config/local.toml.
    #[arg(long, global = true, env = "HELPLINE_CONFIG_FILE")]
    config: Option<PathBuf>,
    /// The folder holding default.toml and local.toml.
    #[arg(long, global = true, default_value = "config")]
    config_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (migrations run first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
    /// Post one message read from standard input to the server, for an MTA's pipe transport.
    /// Exits 0 when the server took it, 75 (EX_TEMPFAIL: the MTA keeps it and retries) when
    /// the server is unreachable, overloaded or failing, 65 (EX_DATAERR) when it refuses the
    /// message itself.
    Mailgate {
        /// The server's base URL (`https://helpline.example`) or its inbound endpoint.
        #[arg(long)]
        url: String,
        /// File holding an integration token with the mail:ingest scope.
        #[arg(long)]
        token_file: PathBuf,
        /// Seconds to wait for the server.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Create a staff account; the password is read from standard input (one line).
    CreateUser {
        /// Login name.
        name: String,
        /// handler, analyst, lead or admin.
        #[arg(long)]
        role: String,
        /// Shown name (defaults to the login name).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Create an integration token and print it (once: it is stored hashed).
    CreateToken {
        /// What the token is for ("postfix on mx1").
        name: String,
        /// mail:ingest, cases:read or cases:write; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until it expires (never, if absent).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// Re-hash the audit trail and the access log and report the first altered, inserted or
    /// deleted entry.
    VerifyAudit,
    /// Write a consistent copy of the database to FILE while it serves: SQLite's online copy
    /// (`VACUUM INTO`), or PostgreSQL's `pg_dump --format=custom`. Never overwrites.
    Backup {
        /// Where the copy goes (a new file).
        file: PathBuf,
    },
    /// Put a backup back: SQLite (with the server stopped) becomes the copy; PostgreSQL gets
    /// `pg_restore --clean` of it. Check it afterwards with `admin verify-audit`.
    Restore {
        /// A file written by `admin backup`.
        file: PathBuf,
    },
    /// Fill an empty database with a realistic synthetic history (for benchmarks and for
    /// exploring): beneficiaries, cases over seven years, ~10 messages and ~10 indicators per
    /// case with power-law reuse, links. Refuses a database that already holds cases. (Built
    /// with the `demo` feature, on by default.)
    #[cfg(feature = "demo")]
    SeedDemo {
        /// How many cases.
        #[arg(long, default_value_t = 1000)]
        cases: usize,
        /// The random seed (the same seed gives the same history).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Anonymize closed cases past the retention period (`[retention] closed_case_days`):
    /// names, addresses, bodies and evidence go; dates, levels and types stay for the
    /// statistics. Cases under legal hold are never touched. Audited.
    Retention {
        /// Only list what would be anonymized.
        #[arg(long, conflicts_with = "apply")]
        dry_run: bool,
        /// Anonymize.
        #[arg(long)]
        apply: bool,
        /// Days after closure (overrides the configuration).
        #[arg(long)]
        days: Option<u32>,
    },
    /// Make a helpline OpenPGP key (Curve25519, or RSA-3072 with --rsa) in the key folder.
    GenKey {
        /// The key's user ID (defaults to the configured name and address).
        #[arg(long)]
        user_id: Option<String>,
        /// RSA-3072 instead of Curve25519, for correspondents with old software.
        #[arg(long)]
        rsa: bool,
        /// Write here instead of the configured key folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&StoreConfig {
        url: config.database_url.expose().to_owned(),
        pool_size: 2,
        sqlite_synchronous: config.sqlite_synchronous.clone(),
        postgres_writers: config.postgres_writers,
    })
    .context("opening the database")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli.config_dir, cli.config.as_deref())?;
    helpline_api::telemetry::init(&config.log_format, &config.log_level);
    match cli.command {
        Command::Serve => serve(config),
        Command::Migrate => {
            let applied = helpline_store::migrate(config.database_url.expose())?;
            if applied.is_empty() {
                println!("database is up to date");
            }
            for m in applied {
                println!("applied {m}");
            }
            Ok(())
        }
        Command::Admin {
            command: Admin::GenKey { user_id, rsa, out },
        } => gen_key(&config, user_id, rsa, out),
        Command::Admin { command } => admin(config, command),
        Command::Mailgate {
            url,
            token_file,
            timeout,
        } => std::process::exit(mailgate(&url, &token_file, timeout)),
    }
}

fn gen_key(
    config: &Config,
    user_id: Option<String>,
    rsa: bool,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    use helpline_mail::pgp;
    let uid = user_id
        .unwrap_or_else(|| format!("{} <{}>", config.mail.display_name, config.mail.address));
    let algo = if rsa {
        helpline_mail::KeyAlgorithm::Rsa3072
    } else {
        helpline_mail::KeyAlgorithm::Curve25519
    };
    let cert = pgp::generate_key(&uid, algo)?;
    let fpr = cert.fingerprint().to_hex();
    let path = match out {
        Some(p) => p,
        None => {
            let dir = config.key_dir();
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join(format!(
                "helpline-{}-{}.asc",
                chrono::Utc::now().format("%Y%m%d"),
                &fpr[fpr.len() - 16..]
            ))
        }
    };
    helpline_api::app::write_secret_file(&path, &pgp::armored_secret(&cert)?)
        .with_context(|| format!("creating {}", path.display()))?;
    println!("{fpr}");
    eprintln!(
        "wrote the secret key to {} (mode 0600); the server reads it at start and on quarantine retry",
        path.display()
    );
    Ok(())
}

/// sysexits: what an MTA's pipe transport understands.
const EX_OK: i32 = 0;
const EX_DATAERR: i32 = 65;
const EX_TEMPFAIL: i32 = 75;

fn mailgate(url: &str, token_file: &std::path::Path, timeout: u64) -> i32 {
    use std::io::Read;
    let token = match std::fs::read_to_string(token_file) {
        Ok(t) => t.trim().to_owned(),
        Err(e) => {
            eprintln!(
                "helpline mailgate: cannot read {}: {e}",
                token_file.display()
            );
            return EX_TEMPFAIL;
        }
    };
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().take(256 << 20).read_to_end(&mut raw) {
        eprintln!("helpline mailgate: reading the message: {e}");
        return EX_TEMPFAIL;
    }
    let endpoint = if url.trim_end_matches('/').ends_with("/mail/inbound") {
        url.to_owned()
    } else {
        format!("{}/api/v1/mail/inbound", url.trim_end_matches('/'))
    };
    let mut agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(timeout));
    match native_tls::TlsConnector::new() {
        Ok(tls) => agent = agent.tls_connector(std::sync::Arc::new(tls)),
        Err(e) => eprintln!("helpline mailgate: no TLS ({e}); only http:// URLs will work"),
    }
    let agent = agent.build();
    let result = agent
        .post(&endpoint)
        .set("content-type", "message/rfc822")
        .set("authorization", &format!("Bearer {token}"))
        .send_bytes(&raw);
    match result {
        Ok(r) => {
            eprintln!("helpline mailgate: accepted ({})", r.status());
            EX_OK
        }
        Err(ureq::Error::Status(code, r)) => {
            let detail = r.into_string().unwrap_or_default();
            eprintln!("helpline mailgate: the server answered {code}: {detail}");
            // A wrong token or an overloaded server must not bounce mail: keep it queued.
            if code >= 500 || matches!(code, 401 | 403 | 408 | 429) {
                EX_TEMPFAIL
            } else {
                EX_DATAERR
            }
        }
        Err(e) => {
            eprintln!("helpline mailgate: the server cannot be reached: {e}");
            EX_TEMPFAIL
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let backend = helpline_store::Backend::from_url(config.database_url.expose())
            .map(|(b, _)| b.as_str())
            .unwrap_or("unknown");
        let listen = config.listen.clone();
        let app = Application::build(config, None)?;
        tracing::info!(%listen, port = app.port(), database = backend, "helpline listening");
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn admin(config: Config, command: Admin) -> anyhow::Result<()> {
    // Restoring replaces the database: it must not be open here meanwhile.
    if let Admin::Restore { file } = &command {
        return cli::backup::restore(&config, file);
    }
    let store = open_store(&config)?;
    let now = chrono::Utc::now();
    match command {
        Admin::CreateUser {
            name,
            role,
            display_name,
        } => create_user(&store, now, name, role, display_name),
        Admin::CreateToken {
            name,
            scopes,
            expires_in_days,
        } => create_token(&store, now, name, scopes, expires_in_days),
        Admin::GenKey { user_id, rsa, out } => gen_key(&config, user_id, rsa, out),
        #[cfg(feature = "demo")]
        Admin::SeedDemo { cases, seed } => seed_demo(&store, cases, seed),
        Admin::Retention {
            dry_run,
            apply,
            days,
        } => retention(&config, &store, now, dry_run, apply, days),
        Admin::VerifyAudit => verify_audit(&store),
        Admin::Backup { file } => cli::backup::backup(&config, &store, &file),
        Admin::Restore { .. } => Ok(()),
    }
}

/// `admin create-user`: the password is read from stdin, never from the command line.
fn create_user(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    name: String,
    role: String,
    display_name: Option<String>,
) -> anyhow::Result<()> {
    let username = Username::parse(&name)?;
    let role = Role::parse(&role)?;
    if role == Role::Integration {
        bail!("integrations use tokens: helpline admin create-token");
    }
    let display_name = Name::parse(display_name.unwrap_or_else(|| name.clone()))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = Password::parse(line.trim_end_matches(['\n', '\r']).to_owned())?;
    let password_hash = hash_password(password.expose()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = store.write(Actor::System, now, move |tx| {
        helpline_store::users::create(
            tx,
            helpline_store::users::NewUser {
                username,
                display_name,
                role,
                password_hash,
            },
        )
    })?;
    println!(
        "created {} ({}) with id {}",
        user.username, user.role, user.id
    );
    Ok(())
}

/// `admin create-token`: the secret is printed once and stored only as a hash.
fn create_token(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    name: String,
    scopes: Vec<String>,
    expires_in_days: Option<i64>,
) -> anyhow::Result<()> {
    let name = Name::parse(name)?;
    let scopes = scopes
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let expires_at = expires_in_days.map(|d| now + chrono::Duration::days(d));
    let id = TokenId::new();
    let (secret, hash) = new_token_secret(id);
    store.write(Actor::System, now, move |tx| {
        helpline_store::tokens::create(tx, id, name, scopes, hash, expires_at)
    })?;
    // The only time the secret is ever shown.
    println!("{secret}");
    Ok(())
}

/// `admin seed-demo`: a synthetic helpline's worth of cases, for benchmarks and trials.
#[cfg(feature = "demo")]
fn seed_demo(store: &Store, cases: usize, seed: u64) -> anyhow::Result<()> {
    if cases == 0 || cases > 10_000_000 {
        bail!("--cases must be 1 to 10,000,000");
    }
    let started = std::time::Instant::now();
    let now = chrono::Utc::now();
    let report = store.read(move |c| helpline_store::demo::seed(c, cases, seed, now))?;
    store.read(helpline_store::demo::analyze)?;
    let summary = serde_json::to_value(&report)?;
    store.write(Actor::System, now, move |tx| {
        tx.audit(AuditAction::DemoSeed, "system", "demo", None, summary);
        Ok(())
    })?;
    println!(
        "seeded in {:.1} s: {} cases, {} beneficiaries, {} messages, {} comments, {} indicators on {} case links, {} links between cases",
        started.elapsed().as_secs_f64(),
        report.cases,
        report.beneficiaries,
        report.messages,
        report.comments,
        report.indicators,
        report.indicator_links,
        report.case_links
    );
    Ok(())
}

/// `admin retention`: lists, or anonymizes, the cases closed longer than the retention period.
fn retention(
    config: &Config,
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
    apply: bool,
    days: Option<u32>,
) -> anyhow::Result<()> {
    if dry_run == apply {
        bail!("say --dry-run to list, or --apply to anonymize");
    }
    let days = days.unwrap_or(config.retention.closed_case_days);
    if days == 0 {
        bail!("retention is off ([retention] closed_case_days = 0); give --days N to run it once");
    }
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let due = store.read(move |c| helpline_store::retention::due(c, cutoff))?;
    if dry_run {
        for d in &due {
            println!("#{} closed {}", d.reference, d.closed_at.format("%Y-%m-%d"));
        }
        println!(
            "{} cases closed before {} would be anonymized (cases under legal hold are kept)",
            due.len(),
            cutoff.format("%Y-%m-%d")
        );
        return Ok(());
    }
    let total = due.len();
    for chunk in due.chunks(200) {
        let ids: Vec<_> = chunk.iter().map(|d| d.case_id).collect();
        store.write(Actor::System, chrono::Utc::now(), move |tx| {
            for id in ids {
                helpline_store::retention::anonymize(tx, id)?;
            }
            Ok(())
        })?;
    }
    store.write(Actor::System, chrono::Utc::now(), move |tx| {
        // Replayable answers hold whole records; they serve retries for a day at most.
        helpline_store::idempotency::forget_before(tx, now - chrono::Duration::days(1))?;
        tx.audit(
            AuditAction::RetentionApply,
            "system",
            "retention",
            None,
            serde_json::json!({"cases": total, "closed_before": cutoff, "days": days}),
        );
        Ok(())
    })?;
    // What was removed must not linger in freed pages, the WAL or the search index:
    // the anonymized cases' documents are rebuilt now, then the scrub frees the old.
    helpline_store::search::catch_up(store)?;
    store.read(helpline_store::retention::scrub)?;
    println!(
        "anonymized {total} cases closed before {}",
        cutoff.format("%Y-%m-%d")
    );
    Ok(())
}

/// `admin verify-audit`: checks the audit trail and the access log; exits 1, naming the first
/// break, when either does not verify.
fn verify_audit(store: &Store) -> anyhow::Result<()> {
    let mut broken = false;
    for (chain, name, unit) in [
        (Chain::Audit, "audit trail", "event"),
        (Chain::Access, "access log", "read"),
    ] {
        match store.read(|c| helpline_store::audit::verify(c, chain))? {
            Verification::Intact(n) => println!("{name} intact: {n} {unit}s verified"),
            Verification::Broken(b) => {
                let what = match b {
                    ChainBreak::Altered { seq } => format!("{unit} {seq} was altered"),
                    ChainBreak::Broken { seq, expected_seq } => format!(
                        "the chain breaks at {unit} {seq} (expected {unit} {expected_seq}): one was inserted or deleted"
                    ),
                    ChainBreak::Truncated { last_seq, head_seq } => format!(
                        "the chain ends at {unit} {last_seq} but the head records {head_seq}: the last ones were deleted"
                    ),
                };
                eprintln!("{} BROKEN: {what}", name.to_uppercase());
                broken = true;
            }
        }
    }
    if broken {
        std::process::exit(1);
    }
    Ok(())
}
