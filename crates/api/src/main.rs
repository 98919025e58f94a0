//! The `helpline` binary: serve the API, migrate the database, administer accounts, tokens
//! and the audit trail.

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
use helpline_store::audit::Verification;
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
    /// Re-hash the audit trail and report the first altered, inserted or deleted event.
    VerifyAudit,
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
        Command::Admin { command } => admin(config, command),
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
    let store = open_store(&config)?;
    let now = chrono::Utc::now();
    match command {
        Admin::CreateUser {
            name,
            role,
            display_name,
        } => {
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
            let password_hash =
                hash_password(password.expose()).map_err(|e| anyhow::anyhow!("{e}"))?;
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
        }
        Admin::CreateToken {
            name,
            scopes,
            expires_in_days,
        } => {
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
        }
        Admin::VerifyAudit => match store.read(helpline_store::audit::verify)? {
            Verification::Intact(n) => println!("audit trail intact: {n} events verified"),
            Verification::Broken(b) => {
                let what = match b {
                    ChainBreak::Altered { seq } => format!("event {seq} was altered"),
                    ChainBreak::Broken { seq, expected_seq } => format!(
                        "the chain breaks at event {seq} (expected event {expected_seq}): an event was inserted or deleted"
                    ),
                    ChainBreak::Truncated { last_seq, head_seq } => format!(
                        "the chain ends at event {last_seq} but the head records {head_seq}: the last events were deleted"
                    ),
                };
                eprintln!("AUDIT TRAIL BROKEN: {what}");
                std::process::exit(1);
            }
        },
    }
    Ok(())
}
