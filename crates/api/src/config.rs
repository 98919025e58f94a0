//! Configuration in layers: built-in defaults, `config/default.toml`, `config/local.toml`, then
//! `HELPLINE_*` environment variables. Unknown keys are an error; secrets redact themselves.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use helpline_domain::taxonomy::Taxonomy;
use serde::Deserialize;

/// The defaults shipped with the binary, so that it runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// A secret value: never printed by `Debug` or `Display`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(<empty>)"
        } else {
            "Secret(<redacted>)"
        })
    }
}

/// The taxonomies section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyConfig {
    /// Audience types.
    pub audience: BTreeMap<String, String>,
    /// Service types.
    pub service_type: BTreeMap<String, String>,
}

/// Everything Helpline reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// host:port to listen on.
    pub listen: String,
    /// Balancers whose `X-Forwarded-For` names the client (the login pause per address).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// sqlite://PATH or postgres://...
    pub database_url: Secret,
    /// Pool size.
    pub database_pool_size: u32,
    /// Requests reading from PostgreSQL at once (0: twice this machine's cores).
    pub database_readers: u32,
    /// SQLite synchronous mode.
    pub sqlite_synchronous: String,
    /// Writer connections on Postgres.
    pub postgres_writers: u32,
    /// JWT signing secret (empty: generated and kept under data/).
    pub jwt_secret: Secret,
    /// JWT `iss`.
    pub jwt_issuer: String,
    /// JWT `aud`.
    pub jwt_audience: String,
    /// Access token lifetime.
    pub jwt_ttl_seconds: u64,
    /// Who must log in with a second factor (TOTP): `optional`, `leads` (and admins), `everyone`.
    pub second_factor: helpline_domain::user::SecondFactorRule,
    /// Largest JSON body.
    pub max_body_bytes: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// Log filter.
    pub log_level: String,
    /// Taxonomies.
    pub taxonomy: TaxonomyConfig,
    /// Mail: keys, threading, limits, the SMTP relay.
    pub mail: MailConfig,
    /// Indicators and correlation.
    pub analysis: AnalysisConfig,
    /// Promised times, caseload weights, webhooks.
    pub workflow: WorkflowConfig,
    /// How long closed cases keep their content.
    pub retention: RetentionConfig,
}

/// Durations per urgency, as written (`1h`, `3d`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerUrgency<T> {
    /// Critical.
    pub critical: T,
    /// High.
    pub high: T,
    /// Medium.
    pub medium: T,
    /// Low.
    pub low: T,
}

impl<T: Clone> PerUrgency<T> {
    fn get(&self, u: helpline_domain::case::Urgency) -> T {
        use helpline_domain::case::Urgency as U;
        match u {
            U::Critical => self.critical.clone(),
            U::High => self.high.clone(),
            U::Medium => self.medium.clone(),
            U::Low => self.low.clone(),
        }
    }
}

/// The `[workflow]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Time to first response, per urgency.
    pub first_response: PerUrgency<String>,
    /// Time to resolution, per urgency.
    pub resolution: PerUrgency<String>,
    /// Caseload weights.
    pub weights: PerUrgency<i64>,
    /// Outgoing webhooks.
    pub webhooks: WebhookConfig,
}

/// The `[workflow.webhooks]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where events are posted.
    pub urls: Vec<String>,
    /// HMAC key.
    pub secret: Secret,
    /// Attempts before a call is marked failed.
    pub max_attempts: u32,
    /// First retry after this many seconds, doubling, at most an hour.
    pub retry_seconds: u64,
    /// Per-call timeout.
    pub timeout_ms: u64,
    /// How often due calls are looked for.
    pub poll_ms: u64,
    /// How often broken targets are looked for.
    pub breach_check_ms: u64,
}

/// The `[retention]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days after closure before a case is anonymized (0: never).
    pub closed_case_days: u32,
}

/// Parses `90s`, `15m`, `4h`, `3d` into seconds.
fn seconds(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 90s, 15m, 4h or 3d"))?;
    let k = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(k).ok_or_else(|| format!("`{s}` is too long"))
}

impl WorkflowConfig {
    /// The rules the store applies.
    pub fn policy(&self) -> Result<helpline_store::workflow::Policy, ConfigError> {
        let bad = |e: String| ConfigError::Invalid(format!("workflow: {e}"));
        let mut first = std::collections::HashMap::new();
        let mut resolution = std::collections::HashMap::new();
        for &u in helpline_domain::case::Urgency::ALL {
            first.insert(u, seconds(&self.first_response.get(u)).map_err(bad)?);
            resolution.insert(u, seconds(&self.resolution.get(u)).map_err(bad)?);
        }
        let targets = helpline_domain::workflow::SlaTargets::new(
            |u| first.get(&u).copied().unwrap_or(0),
            |u| resolution.get(&u).copied().unwrap_or(0),
        )
        .map_err(|e| bad(e.to_string()))?;
        let w = &self.weights;
        let weights =
            helpline_domain::workflow::CaseloadWeights::new(w.low, w.medium, w.high, w.critical)
                .map_err(|e| bad(e.to_string()))?;
        for u in &self.webhooks.urls {
            let ok = u.starts_with("https://") || u.starts_with("http://");
            if !ok || u.len() > 2000 {
                return Err(bad(format!("webhook URL `{u}` must be http(s)://")));
            }
        }
        if !self.webhooks.urls.is_empty() && self.webhooks.secret.expose().len() < 16 {
            return Err(bad(
                "webhooks.secret must be at least 16 bytes when webhooks are configured".into(),
            ));
        }
        Ok(helpline_store::workflow::Policy {
            targets,
            weights,
            webhook_urls: self.webhooks.urls.clone(),
        })
    }
}

/// The `[analysis]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// The name exports are shared under.
    pub organisation: String,
    /// TLP of an indicator given none.
    pub default_tlp: String,
    /// Cases an indicator may be shared by and still be followed.
    pub fan_out_limit: i64,
    /// Deepest correlation allowed.
    pub max_depth: usize,
    /// Largest evidence file accepted, in bytes.
    pub max_evidence_bytes: usize,
    /// Named lists of values that never correlate.
    pub warning_lists: std::collections::BTreeMap<String, Vec<String>>,
}

impl AnalysisConfig {
    /// The warning lists, parsed.
    pub fn warnings(&self) -> Result<helpline_domain::indicator::WarningList, ConfigError> {
        helpline_domain::indicator::WarningList::new(
            self.warning_lists
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice())),
        )
        .map_err(|e| ConfigError::Invalid(format!("analysis.warning_lists: {e}")))
    }

    /// The default TLP, parsed.
    pub fn tlp(&self) -> Result<helpline_domain::indicator::Tlp, ConfigError> {
        helpline_domain::indicator::Tlp::parse(&self.default_tlp)
            .map_err(|e| ConfigError::Invalid(format!("analysis.default_tlp: {e}")))
    }
}

/// The `[mail]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The helpline's address: the sender of replies.
    pub address: String,
    /// The name shown with it.
    pub display_name: String,
    /// The word in subject tags: `[<tag> #1042]`.
    pub subject_tag: String,
    /// Whether replies ask to be answered at `local+1042@domain`.
    pub plus_addressing: bool,
    /// Folder of helpline key files (empty: `keys/` beside the SQLite file, or `data/keys`).
    pub key_dir: String,
    /// More key files, anywhere.
    pub key_files: Vec<String>,
    /// Largest message accepted from the gateway, in bytes.
    pub max_message_bytes: usize,
    /// Most bytes a message may decode or decompress to.
    pub max_decoded_bytes: usize,
    /// Service type of cases opened by mail.
    pub service_type: String,
    /// Refuse every reply that cannot be encrypted (cases and beneficiaries can also ask).
    pub require_encryption: bool,
    /// The relay.
    pub smtp: SmtpConfig,
}

/// The `[mail.smtp]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host; empty keeps replies queued in the outbox.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls` (required), `tls` (implicit), or `none` (a relay on localhost only).
    pub tls: String,
    /// User name, if the relay wants one.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Attempts before a reply is marked failed.
    pub max_attempts: u32,
    /// First retry after this many seconds; doubled each time, at most an hour.
    pub retry_seconds: u64,
    /// How often the worker looks for due replies, in milliseconds.
    pub poll_ms: u64,
    /// How long one exchange with the relay may take; also sets how long a node's claim on a
    /// reply holds before another node may send it (when the first died).
    pub timeout_seconds: u64,
}

/// The keys that environment variables may set (others prefixed HELPLINE_ are ignored, so
/// that tools may use the prefix for their own variables).
const ENV_KEYS: &[&str] = &[
    "listen",
    "database_url",
    "database_pool_size",
    "database_readers",
    "sqlite_synchronous",
    "postgres_writers",
    "jwt_secret",
    "jwt_issuer",
    "jwt_audience",
    "jwt_ttl_seconds",
    "second_factor",
    "max_body_bytes",
    "log_format",
    "log_level",
];

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or variable did not parse, or a key is unknown.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// How many requests read from PostgreSQL at once: `database_readers`, or twice this
    /// machine's cores when 0; never more than the pool, never none.
    pub fn request_readers(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let asked = match self.database_readers {
            0 => cores * 2,
            n => n as usize,
        };
        asked.clamp(1, self.database_pool_size.max(1) as usize)
    }

    /// Reads the layers: built-in defaults, `dir/default.toml`, `dir/local.toml`, an explicit
    /// file if given, then the environment.
    pub fn load(dir: &Path, explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::new().merge(Toml::string(DEFAULT_TOML));
        for f in [dir.join("default.toml"), dir.join("local.toml")] {
            if f.exists() {
                fig = fig.merge(Toml::file(f));
            }
        }
        if let Some(f) = explicit {
            if !f.exists() {
                return Err(ConfigError::Invalid(format!(
                    "{} does not exist",
                    f.display()
                )));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("HELPLINE_").only(ENV_KEYS));
        let cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The configuration with built-in defaults only (tests start from this).
    pub fn defaults() -> Result<Config, ConfigError> {
        Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !self.jwt_secret.is_empty() && self.jwt_secret.expose().len() < 32 {
            return Err(ConfigError::Invalid(
                "jwt_secret must be at least 32 bytes".into(),
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(
                "log_format must be `text` or `json`".into(),
            ));
        }
        self.taxonomies()?;
        if !matches!(self.mail.smtp.tls.as_str(), "starttls" | "tls" | "none") {
            return Err(ConfigError::Invalid(
                "mail.smtp.tls must be `starttls`, `tls` or `none`".into(),
            ));
        }
        helpline_mail::SubjectTag::new(&self.mail.subject_tag)
            .map_err(|e| ConfigError::Invalid(format!("mail.subject_tag: {e}")))?;
        self.analysis.warnings()?;
        self.analysis.tlp()?;
        if !(1..=4).contains(&self.analysis.max_depth) {
            return Err(ConfigError::Invalid(
                "analysis.max_depth must be 1 to 4".into(),
            ));
        }
        self.workflow.policy()?;
        if self.analysis.fan_out_limit < 1 {
            return Err(ConfigError::Invalid(
                "analysis.fan_out_limit must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The audience and service-type taxonomies.
    pub fn taxonomies(&self) -> Result<(Taxonomy, Taxonomy), ConfigError> {
        let a = Taxonomy::new("audience", self.taxonomy.audience.clone())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let s = Taxonomy::new("service_type", self.taxonomy.service_type.clone())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok((a, s))
    }

    /// The folder of helpline key files.
    pub fn key_dir(&self) -> PathBuf {
        if self.mail.key_dir.is_empty() {
            self.data_dir().join("keys")
        } else {
            PathBuf::from(&self.mail.key_dir)
        }
    }

    /// The folder for local state (the SQLite file's folder, or `data/`).
    pub fn data_dir(&self) -> PathBuf {
        let url = self.database_url.expose();
        url.strip_prefix("sqlite://")
            .and_then(|p| Path::new(p).parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_secrets_redact() {
        let c = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.database_url.expose(), "sqlite://data/helpline.db");
        assert!(c.taxonomies().is_ok());
        let s = Secret::new("hunter2hunter2hunter2hunter2hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn workflow_targets_parse_and_are_checked() {
        assert_eq!(seconds("90s"), Ok(90));
        assert_eq!(seconds("4h"), Ok(14_400));
        assert_eq!(seconds("3d"), Ok(259_200));
        assert!(seconds("3w").is_err());
        assert!(seconds("h").is_err());
        let mut c = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
        let p = c.workflow.policy().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.targets, helpline_domain::workflow::SlaTargets::default());
        // A response promised later than the resolution is refused.
        c.workflow.first_response.low = "40d".into();
        assert!(c.workflow.policy().is_err());
        // Webhooks need a real secret.
        let mut c = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
        c.workflow.webhooks.urls = vec!["https://hooks.example/helpline".into()];
        assert!(c.workflow.policy().is_err());
        c.workflow.webhooks.secret = Secret::new("a-long-enough-webhook-secret");
        assert!(c.workflow.policy().is_ok());
        c.workflow.webhooks.urls = vec!["file:///etc/passwd".into()];
        assert!(c.workflow.policy().is_err());
    }

    #[test]
    fn request_readers_follow_the_cores_within_the_pool() {
        let mut c = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        assert_eq!(c.request_readers(), (cores * 2).min(16));
        c.database_readers = 3;
        assert_eq!(c.request_readers(), 3);
        c.database_readers = 40;
        assert_eq!(c.request_readers(), 16);
        c.database_pool_size = 0;
        assert_eq!(c.request_readers(), 1);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<Config, _> = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .merge(Toml::string("lisen = \"0.0.0.0:1\""))
            .extract();
        assert!(r.is_err());
    }
}
