//! A realistic synthetic history for benchmarks and for newcomers to explore: staff,
//! beneficiaries (some returning), cases spread over the years with mostly closed old ones,
//! about ten messages each in several languages, indicators reused with a power law (a few
//! public providers everywhere, most values seen once), and links between cases.
//!
//! Rows are written in large batches on one connection, outside the writer, so that 100,000
//! cases take well under two minutes; one audit event records the seeding. Never run it on a
//! helpline's real database: it refuses one that already holds cases.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use sha2::{Digest, Sha256};

use crate::convert::to_db;
use crate::schema::{
    beneficiaries, beneficiary_emails, case_indicators, case_links, case_tags, cases, comments,
    indicators, messages, users,
};
use crate::{DbConnection, Result, StoreError};

/// What a seeding wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SeedReport {
    /// Staff accounts (they cannot log in: no password).
    pub users: usize,
    /// Beneficiaries.
    pub beneficiaries: usize,
    /// Cases.
    pub cases: usize,
    /// Messages.
    pub messages: usize,
    /// Comments.
    pub comments: usize,
    /// Distinct indicators.
    pub indicators: usize,
    /// Indicator links to cases.
    pub indicator_links: usize,
    /// Links between cases.
    pub case_links: usize,
}

/// A small deterministic generator (SplitMix64): the same seed gives the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn uuid(&mut self, at: DateTime<Utc>) -> String {
        // UUIDv7 layout (time-ordered like every id in Helpline), random bits from the seed.
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        let r1 = self.next();
        let r2 = self.next();
        let hi = (ms << 16) | 0x7000 | (r1 & 0x0fff);
        let lo = (r2 & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        uuid::Uuid::from_u64_pair(hi, lo).to_string()
    }
}

const SERVICES: [&str; 10] = [
    "account_security",
    "malware",
    "phishing",
    "website_attack",
    "harassment",
    "secure_communications",
    "data_recovery",
    "censorship",
    "device_seizure",
    "digital_security_training",
];
const AUDIENCES: [&str; 7] = [
    "journalist",
    "human_rights_defender",
    "activist",
    "ngo",
    "lawyer",
    "lgbtqia",
    "academic",
];
const COUNTRIES: [&str; 12] = [
    "MX", "BR", "CO", "FR", "TN", "LB", "PH", "KE", "UA", "BY", "IR", "NI",
];
const SUMMARIES: [&str; 12] = [
    "Suspicious login alerts on a newsroom account",
    "Phishing email imitating a donor foundation",
    "Phone behaving oddly after a border crossing",
    "Website down after publishing an investigation",
    "Coordinated harassment on social media",
    "Needs a secure channel with a source",
    "Laptop seized during a raid, accounts to lock",
    "Fake profile impersonating the organisation",
    "Spyware suspected on an activist's phone",
    "Training request for a network of lawyers",
    "Compromised email account sending scams",
    "Blocked news site needs a mirror",
];
const BODIES: [&str; 10] = [
    "Hola, recibimos un correo sospechoso con un enlace para verificar la cuenta. La seguridad de nuestra organización nos preocupa mucho, ¿pueden revisarlo?",
    "Bonjour, depuis hier notre site est inaccessible. Nous pensons à une attaque par déni de service après la publication de notre enquête sur la sécurité des élections.",
    "Olá, meu telefone está muito lento e a bateria acaba rápido desde que voltei da fronteira. Tenho medo de que tenham instalado algo.",
    "Hello, several of our journalists received a message asking them to log in to a document share. Two of them entered their passwords before we noticed.",
    "We rotated the passwords and enabled two-factor authentication on all accounts as you advised. The attacker's session has been revoked.",
    "Merci pour votre aide. Nous avons changé les mots de passe et activé la double authentification. La sécurité du compte est rétablie.",
    "Could you look at the attached headers? The message claims to come from our bank but the reply address is different.",
    "Hemos recibido amenazas en redes sociales desde varias cuentas nuevas. Adjuntamos capturas de pantalla con los nombres de usuario.",
    "Thank you, the mirror works and readers can reach the site again. We will share the new address with our partners.",
    "The device was returned by the police after three days. We have not turned it on since. What should we do before using it again?",
];
const COMMENTS: [&str; 5] = [
    "Checked the headers: SPF fails, sent through a bulletproof host.",
    "Same lure as last month, probably the same group.",
    "Waiting for the beneficiary to send the device logs.",
    "Escalated to the platform's trust and safety contact.",
    "Analyst review done; indicators confirmed.",
];
const PROVIDERS: [&str; 6] = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "proton.me",
    "hotmail.com",
    "mail.ru",
];

/// The canonical value of the `seq`-th distinct indicator (`key` picks its kind; keys 1 to 6 are
/// the public mail providers). Values are built from `seq`, so no two collide.
fn indicator_value(key: u64, seq: u64) -> (&'static str, String) {
    if (1..=PROVIDERS.len() as u64).contains(&key) {
        return ("domain", PROVIDERS[(key - 1) as usize].to_owned());
    }
    match key % 8 {
        0 | 1 => ("domain", format!("login-{seq}.secure-verify.example")),
        2 => (
            "url",
            format!("https://docs-{seq}.share-files.example/view"),
        ),
        3 => (
            "ipv4",
            format!(
                "185.{}.{}.{}",
                (seq >> 16) & 0xff,
                (seq >> 8) & 0xff,
                seq & 0xff
            ),
        ),
        4 => ("email", format!("alerts{seq}@mailer.example")),
        5 => ("sha256", hex::encode(Sha256::digest(seq.to_le_bytes()))),
        6 => ("phone", format!("+3361{:07}", seq % 10_000_000)),
        _ => ("account", format!("x:actor_{seq}")),
    }
}

/// A multi-row insert on the concrete connection (diesel's multi-backend connection has none).
macro_rules! batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
        }?
    };
}

fn chunked<T>(rows: &[T], columns: usize) -> impl Iterator<Item = &[T]> {
    // Under SQLite's 32,766 bound parameters per statement.
    rows.chunks((30_000 / columns).max(1))
}

/// Seeds `n` cases. Refuses a database that already holds cases.
pub fn seed(
    conn: &mut DbConnection,
    n: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<SeedReport> {
    let existing: i64 = cases::table.count().get_result(conn)?;
    if existing > 0 {
        return Err(StoreError::Conflict(format!(
            "this database already holds {existing} cases; seed-demo only fills an empty one"
        )));
    }
    conn.transaction(|conn| seed_in(conn, n, seed, now))
}

// Long because it is a script: each block makes one kind of synthetic record, in the order
// foreign keys need, with one random stream; split, the blocks would only pass that stream
// and a dozen counters around. Demo-only (the `demo` feature), never on a request path.
#[allow(clippy::too_many_lines)]
fn seed_in(conn: &mut DbConnection, n: usize, seed: u64, now: DateTime<Utc>) -> Result<SeedReport> {
    if let DbConnection::Pg(c) = conn {
        // This transaction only: the holders are counted once at the end.
        diesel::sql_query("SET LOCAL helpline.defer_holders = 'on'").execute(c)?;
    }
    let mut rng = Rng(seed);
    let mut report = SeedReport::default();
    let start = now - Duration::days(7 * 365);
    let span = (now - start).num_seconds().max(1);

    // Staff.
    let mut staff = Vec::new();
    let mut rows = Vec::new();
    for (i, role) in [
        "handler", "handler", "handler", "handler", "handler", "handler", "analyst", "analyst",
        "lead", "lead",
    ]
    .iter()
    .enumerate()
    {
        let id = rng.uuid(start);
        rows.push((
            users::id.eq(id.clone()),
            users::username.eq(format!("demo-{role}-{i}")),
            users::display_name.eq(format!("Demo {role} {i}")),
            users::role.eq(*role),
            // Not a PHC string: nobody can log in as a demo account.
            users::password_hash.eq("!demo"),
            users::active.eq(true),
            users::created_at.eq(to_db(start)),
            users::updated_at.eq(to_db(start)),
            users::version.eq(1i64),
        ));
        if *role == "handler" {
            staff.push(id);
        }
    }
    report.users = rows.len();
    batch!(conn, users::table, &rows);

    // Beneficiaries: about one per 1.6 cases, so that many come back.
    let nb = (n * 10 / 16).max(1);
    let mut bens = Vec::with_capacity(nb);
    let mut brows = Vec::with_capacity(nb);
    let mut erows = Vec::with_capacity(nb);
    for i in 0..nb {
        let at = start + Duration::seconds(span * i as i64 / nb as i64);
        let id = rng.uuid(at);
        let verification =
            *rng.pick(&["verified", "verified", "verified", "unverified", "rejected"]);
        brows.push((
            beneficiaries::id.eq(id.clone()),
            beneficiaries::name.eq(format!("Demo Beneficiary {i}")),
            beneficiaries::channels.eq("[]"),
            beneficiaries::preferred_language.eq(Some(*rng.pick(&["en", "es", "fr", "pt", "ar"]))),
            beneficiaries::organisation.eq(None::<String>),
            beneficiaries::country.eq(Some(*rng.pick(&COUNTRIES))),
            beneficiaries::audience.eq(Some(*rng.pick(&AUDIENCES))),
            beneficiaries::verification.eq(verification),
            beneficiaries::notes.eq(""),
            beneficiaries::created_at.eq(to_db(at)),
            beneficiaries::updated_at.eq(to_db(at)),
            beneficiaries::version.eq(1i64),
        ));
        let address = format!("person{i}@{}", rng.pick(&PROVIDERS));
        erows.push((
            beneficiary_emails::address_norm.eq(address.clone()),
            beneficiary_emails::address.eq(address),
            beneficiary_emails::beneficiary_id.eq(id.clone()),
            beneficiary_emails::position.eq(0),
        ));
        bens.push((id, at, verification));
    }
    for c in chunked(&brows, 12) {
        batch!(conn, beneficiaries::table, c);
    }
    for c in chunked(&erows, 4) {
        batch!(conn, beneficiary_emails::table, c);
    }
    report.beneficiaries = nb;
    drop(brows);
    drop(erows);

    // Cases, their messages, comments, tags and indicators, a batch of cases at a time.
    // Indicator reuse as helplines see it: most values belong to one case; campaigns reuse
    // theirs across the cases of a few weeks (a power law within the campaign: a lure domain
    // in dozens of cases, most in two or three); and a few public services appear everywhere.
    let windows = 182u64; // two-week windows over the seven years
    let per_window = (n as u64 / windows).max(1);
    let campaign_pool = (per_window * 7 / 10).max(20);
    let ln_campaign = ((campaign_pool + 1) as f64).ln();
    let popular_pool = 2_000u64;
    let ln_popular = ((popular_pool + 1) as f64).ln();
    let mut seen_indicators: std::collections::HashMap<u64, String> =
        std::collections::HashMap::new();
    let mut case_ids: Vec<String> = Vec::with_capacity(n);
    let batch = 2_000;
    let first_ref: i64 = 1001;
    // The search document of a case is the folded words of its texts; the texts come from
    // small fixed sets, so each is folded once.
    let fold_all =
        |v: &[&str]| -> Vec<String> { v.iter().map(|t| crate::search::folded([*t])).collect() };
    let folded_summaries = fold_all(&SUMMARIES);
    let folded_bodies = fold_all(&BODIES);
    let folded_comments = fold_all(&COMMENTS);
    let targets = helpline_domain::workflow::SlaTargets::default();
    for from in (0..n).step_by(batch) {
        let to = (from + batch).min(n);
        let mut crows = Vec::with_capacity(to - from);
        let mut mrows = Vec::new();
        let mut comrows = Vec::new();
        let mut trows = Vec::new();
        let mut irows = Vec::new();
        let mut cirows = Vec::new();
        let mut lrows = Vec::new();
        let mut docs: Vec<(i64, String, String)> = Vec::with_capacity(to - from);
        for k in from..to {
            let created = start + Duration::seconds(span * k as i64 / n as i64);
            let id = rng.uuid(created);
            let (bid, bat, bver) = &bens[rng.below(nb as u64) as usize];
            let created = created.max(*bat);
            let age_days = (now - created).num_days();
            let status = if age_days > 60 {
                *rng.pick(&["closed", "closed", "closed", "closed", "resolved"])
            } else {
                *rng.pick(&["new", "open", "open", "pending", "resolved", "closed"])
            };
            let urgency = *rng.pick(&["low", "medium", "medium", "medium", "high", "critical"]);
            let impact = *rng.pick(&["low", "medium", "medium", "high"]);
            // The domain's own matrix, so that seeded priorities are what the API would derive.
            let priority = helpline_domain::case::Urgency::parse(urgency)
                .and_then(|u| Ok((u, helpline_domain::case::Impact::parse(impact)?)))
                .map(|(u, i)| helpline_domain::case::Priority::derive(u, i).as_str())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let service = *rng.pick(&SERVICES);
            let tags = if rng.below(5) == 0 {
                vec!["email"]
            } else {
                Vec::new()
            };
            let confidential = rng.below(20) == 0;
            let assignee = rng.pick(&staff).clone();
            let first_response = created + Duration::minutes(30 + rng.below(2_000) as i64);
            let resolved = matches!(status, "resolved" | "closed")
                .then(|| created + Duration::hours(2 + rng.below(400) as i64));
            let closed =
                (status == "closed").then(|| resolved.unwrap_or(created) + Duration::days(3));
            let channel = *rng.pick(&["email", "email", "email", "signal", "phone", "web"]);
            let (response_due, resolution_due) = targets.due(
                helpline_domain::case::Urgency::parse(urgency)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                created,
            );
            let summary = rng.below(SUMMARIES.len() as u64) as usize;
            let mut doc = folded_summaries[summary].clone();
            crows.push((
                (
                    cases::id.eq(id.clone()),
                    cases::reference.eq(first_ref + k as i64),
                    cases::beneficiary_id.eq(bid.clone()),
                    cases::status.eq(status),
                    cases::urgency.eq(urgency),
                    cases::impact.eq(impact),
                    cases::priority.eq(priority),
                    cases::priority_overridden.eq(false),
                    cases::summary.eq(SUMMARIES[summary]),
                    cases::description.eq(""),
                    cases::service_type.eq(service),
                ),
                (
                    cases::tags.eq(serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into())),
                    cases::assignee_id.eq(Some(assignee.clone())),
                    cases::confidential.eq(confidential),
                    cases::created_by.eq(format!("user:{assignee}")),
                    cases::created_at.eq(to_db(created)),
                    cases::updated_at.eq(to_db(closed.or(resolved).unwrap_or(created))),
                    cases::first_response_at.eq(Some(to_db(first_response))),
                    cases::resolved_at.eq(resolved.map(to_db)),
                    cases::closed_at.eq(closed.map(to_db)),
                    cases::version.eq(1i64),
                ),
                (
                    cases::channel.eq(Some(channel)),
                    cases::vetting.eq(match *bver {
                        "verified" => "verified",
                        "rejected" => "rejected",
                        _ => "pending",
                    }),
                    cases::first_response_due_at.eq(to_db(response_due)),
                    cases::resolution_due_at.eq(to_db(resolution_due)),
                ),
            ));
            for t in &tags {
                trows.push((case_tags::case_id.eq(id.clone()), case_tags::tag.eq(*t)));
            }
            let nm = 4 + rng.below(13);
            for m in 0..nm {
                let at = created + Duration::minutes((m as i64) * (20 + rng.below(600) as i64));
                let inbound = m % 2 == 0;
                let body = rng.below(BODIES.len() as u64) as usize;
                let reference = first_ref + k as i64;
                doc.push_str(&format!(" case {reference} "));
                doc.push_str(&folded_bodies[body]);
                mrows.push((
                    messages::id.eq(rng.uuid(at)),
                    messages::case_id.eq(id.clone()),
                    messages::direction.eq(if inbound { "in" } else { "out" }),
                    messages::channel
                        .eq(*rng.pick(&["email", "email", "email", "signal", "phone"])),
                    messages::subject.eq(Some(format!("Case #{}", first_ref + k as i64))),
                    messages::body.eq(BODIES[body]),
                    messages::occurred_at.eq(to_db(at)),
                    messages::recorded_by.eq(format!("user:{assignee}")),
                    messages::created_at.eq(to_db(at)),
                ));
            }
            report.messages += nm as usize;
            if rng.below(2) == 0 {
                let comment = rng.below(COMMENTS.len() as u64) as usize;
                doc.push(' ');
                doc.push_str(&folded_comments[comment]);
                comrows.push((
                    comments::id.eq(rng.uuid(created)),
                    comments::case_id.eq(id.clone()),
                    comments::author.eq(format!("user:{assignee}")),
                    comments::body.eq(COMMENTS[comment]),
                    comments::created_at.eq(to_db(created + Duration::hours(1))),
                ));
            }
            // About ten indicators: 5% public, 35% from the current campaign, 60% unique.
            let ni = 5 + rng.below(11);
            let window = k as u64 * windows / n as u64;
            let mut mine = HashSet::new();
            for j in 0..ni {
                let u = rng.unit();
                let key = if u < 0.05 {
                    ((rng.unit() * ln_popular).exp() as u64).clamp(1, popular_pool)
                } else if u < 0.40 {
                    1_000_000
                        + window * 100_000
                        + ((rng.unit() * ln_campaign).exp() as u64).clamp(1, campaign_pool)
                } else {
                    1_000_000_000 + k as u64 * 64 + j
                };
                if !mine.insert(key) {
                    continue;
                }
                let next_seq = seen_indicators.len() as u64;
                let iid = match seen_indicators.get(&key) {
                    Some(id) => id.clone(),
                    None => {
                        let iid = format!("00000000-0000-7000-8000-{next_seq:012x}");
                        let (kind, value) = indicator_value(key, next_seq);
                        irows.push((
                            indicators::id.eq(iid.clone()),
                            indicators::kind.eq(kind),
                            indicators::value.eq(value),
                            indicators::created_at.eq(to_db(created)),
                        ));
                        seen_indicators.insert(key, iid.clone());
                        iid
                    }
                };
                cirows.push((
                    case_indicators::case_id.eq(id.clone()),
                    case_indicators::indicator_id.eq(iid),
                    case_indicators::state.eq(if rng.below(4) == 0 {
                        "candidate"
                    } else {
                        "confirmed"
                    }),
                    case_indicators::tlp
                        .eq(*rng.pick(&["green", "amber", "amber", "amber", "red"])),
                    case_indicators::note.eq(""),
                    case_indicators::added_by.eq(format!("user:{assignee}")),
                    case_indicators::added_at.eq(to_db(created)),
                    case_indicators::updated_at.eq(to_db(created)),
                ));
            }
            // Some cases repeat or follow up a recent one.
            if k > 10 && rng.below(33) == 0 {
                let back = 1 + rng.below(500.min(k as u64 - 1)) as usize;
                lrows.push((
                    case_links::case_id.eq(id.clone()),
                    case_links::target_id.eq(case_ids[k - back].clone()),
                    case_links::kind.eq(*rng.pick(&["related", "duplicate_of", "child_of"])),
                    case_links::note.eq(""),
                    case_links::created_by.eq(format!("user:{assignee}")),
                    case_links::created_at.eq(to_db(created)),
                ));
            }
            docs.push((first_ref + k as i64, doc, folded_summaries[summary].clone()));
            case_ids.push(id);
        }
        for c in docs.chunks(500) {
            crate::search::put_many(conn, c)?;
        }
        for c in chunked(&crows, 25) {
            batch!(conn, cases::table, c);
        }
        for c in chunked(&trows, 2) {
            batch!(conn, case_tags::table, c);
        }
        for c in chunked(&mrows, 9) {
            batch!(conn, messages::table, c);
        }
        for c in chunked(&comrows, 5) {
            batch!(conn, comments::table, c);
        }
        for c in chunked(&irows, 4) {
            batch!(conn, indicators::table, c);
        }
        for c in chunked(&cirows, 8) {
            batch!(conn, case_indicators::table, c);
        }
        for c in chunked(&lrows, 6) {
            batch!(conn, case_links::table, c);
        }
        report.comments += comrows.len();
        report.indicators += irows.len();
        report.indicator_links += cirows.len();
        report.case_links += lrows.len();
    }
    report.cases = n;
    if let DbConnection::Pg(c) = conn {
        // Counted once here rather than by the triggers after every batch (see the
        // `indicator_holders` migration): one insert of the counts.
        diesel::sql_query(
            "INSERT INTO indicator_holders (indicator_id, holders) SELECT indicator_id, \
             count(*) FROM case_indicators WHERE state <> 'false_positive' \
             GROUP BY indicator_id",
        )
        .execute(c)?;
    }
    diesel::delete(crate::schema::settings::table.find("search_index")).execute(conn)?;
    diesel::insert_into(crate::schema::settings::table)
        .values((
            crate::schema::settings::name.eq("search_index"),
            crate::schema::settings::value.eq("1"),
        ))
        .execute(conn)?;
    let last = first_ref + n as i64 - 1;
    match conn {
        DbConnection::Pg(_) => {
            diesel::sql_query("SELECT setval('case_ref_seq', $1)")
                .bind::<BigInt, _>(last)
                .execute(conn)?;
        }
        DbConnection::Sqlite(_) => {
            diesel::sql_query("UPDATE counters SET value = $1 WHERE name = 'case_ref'")
                .bind::<BigInt, _>(last)
                .execute(conn)?;
        }
    }
    Ok(report)
}

/// Refreshes the planner's statistics after a bulk load (and, on Postgres, the visibility map
/// that lets the correlation read holders from its index alone).
pub fn analyze(conn: &mut DbConnection) -> Result<()> {
    let sql = match conn {
        DbConnection::Pg(_) => "VACUUM ANALYZE",
        DbConnection::Sqlite(_) => "ANALYZE",
    };
    diesel::sql_query(sql).execute(conn)?;
    Ok(())
}
