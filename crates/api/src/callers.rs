//! The callers' cache: who a credential names, kept between requests, and the watcher of the
//! epoch that every change to who may act moves, which empties it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use helpline_domain::access::Principal;
use helpline_domain::ids::TokenId;
use helpline_domain::user::Actor;

/// How long an authenticated caller's role and status are trusted when the epoch watcher has
/// not read the epoch lately (see [`PrincipalCache`]); while it has, until the epoch moves.
const PRINCIPAL_TTL: Duration = Duration::from_secs(5);

/// How long after the epoch watcher's last successful read the cache is trusted without a
/// time limit: eight of its polls. Past that (the database away), entries last their TTL.
const WATCH_TRUSTED: Duration = Duration::from_secs(2);

/// An active account as authentication needs it: the principal, and the instant before which
/// its access tokens are refused.
pub(crate) type Account = (Principal, Option<DateTime<Utc>>);

/// A token as stored: its record and the hash of its secret (`None`: no such token).
pub(crate) type StoredToken = Option<(helpline_domain::user::ApiToken, String)>;

/// Callers recently read from the database: a JWT or token check then costs no query. A token's
/// secret is still compared (in constant time) and its expiry checked on every request.
///
/// Every change to who may act moves the epoch in the database, and [`watch_epoch`] empties
/// this cache within [`EPOCH_POLL`] of it, so while the watcher reads the epoch an entry holds
/// until the epoch moves: a busy console asks the database nothing to know its caller (at
/// ~18,000 pages a second the one-second re-check of the deny list sent each second's first
/// requests to PostgreSQL, and some of them waited seconds behind the CPU). When the watcher
/// cannot read (the database away), entries last only their TTL. A read that started before
/// the cache was emptied is not kept (the generation moved), so it cannot bring back what
/// the epoch just retired.
pub struct PrincipalCache {
    entries: Recent<Actor, Option<Account>>,
    tokens: Recent<TokenId, StoredToken>,
    revoked: Recent<String, bool>,
    generation: AtomicU64,
    /// When the watcher last read the epoch, in milliseconds after `origin` (0: never).
    watched: AtomicU64,
    origin: Instant,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        PrincipalCache {
            entries: Recent::default(),
            tokens: Recent::default(),
            revoked: Recent::default(),
            generation: AtomicU64::new(0),
            watched: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }
}

/// How long "this access token is not on the deny list" is believed when the epoch watcher
/// has not read the epoch lately (otherwise, until the epoch moves: a logout moves it).
const REVOKED_TTL: Duration = Duration::from_secs(1);

impl PrincipalCache {
    /// The watcher read the epoch (and emptied the cache first if it had moved).
    fn watched(&self) {
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.watched.store(now.max(1), Ordering::SeqCst);
    }

    /// Whether the watcher read the epoch lately, so that entries hold until it moves.
    fn watching(&self) -> bool {
        let at = self.watched.load(Ordering::SeqCst);
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let trusted = u64::try_from(WATCH_TRUSTED.as_millis()).unwrap_or(u64::MAX);
        at != 0 && now.saturating_sub(at) <= trusted
    }

    /// Taken before a read from the database: what the read finds is kept only if the cache
    /// was not emptied meanwhile.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether an entry made at `at` still holds, against its TTL when not watching.
    fn holds(&self, at: Instant, ttl: Duration) -> bool {
        at.elapsed() < ttl || self.watching()
    }

    /// Whether the token `jti` is on the deny list, as last read (`None`: ask the database).
    pub(crate) fn revoked(&self, jti: &str) -> Option<bool> {
        let map = self.revoked.read();
        // A revocation is for good: only a "not revoked" answer goes stale.
        map.get(jti)
            .filter(|(gone, at)| *gone || self.holds(*at, REVOKED_TTL))
            .map(|(gone, _)| *gone)
    }

    /// Keeps that the token `jti` was revoked (for good).
    pub fn revoke(&self, jti: &str) {
        self.put_revoked(jti, true, self.generation());
    }

    /// Keeps what the deny list says of `jti`, read at `generation`.
    pub(crate) fn put_revoked(&self, jti: &str, gone: bool, generation: u64) {
        if !gone && generation != self.generation() {
            return;
        }
        let mut map = self.revoked.write();
        if map.len() > 100_000 {
            map.retain(|_, (gone, at)| *gone && at.elapsed() < Duration::from_secs(86_400));
        }
        map.insert(jti.to_owned(), (gone, Instant::now()));
    }

    /// Who `who` is, as last read (`None`: ask the database; `Some(None)`: nobody active).
    pub(crate) fn get(&self, who: Actor) -> Option<Option<Account>> {
        self.entries.get(&who, |at| self.holds(at, PRINCIPAL_TTL))
    }

    /// Keeps who `who` is, read at `generation`.
    pub(crate) fn put(&self, who: Actor, p: Option<Account>, generation: u64) {
        if generation == self.generation() {
            self.entries.put(who, p, 10_000, PRINCIPAL_TTL);
        }
    }

    /// The token `id` as stored, as last read (`None`: ask the database).
    pub(crate) fn token(&self, id: TokenId) -> Option<StoredToken> {
        self.tokens.get(&id, |at| self.holds(at, PRINCIPAL_TTL))
    }

    /// Keeps the token `id` as stored, read at `generation`.
    pub(crate) fn put_token(&self, id: TokenId, t: StoredToken, generation: u64) {
        if generation == self.generation() {
            self.tokens.put(id, t, 10_000, PRINCIPAL_TTL);
        }
    }

    /// Forgets every caller (another node changed who may act), keeping only the tokens known
    /// to be revoked: a revocation is for good.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.write().clear();
        self.tokens.write().clear();
        self.revoked.write().retain(|_, (gone, _)| *gone);
    }

    /// Forgets a caller, after their account or token changed.
    pub fn forget(&self, who: Actor) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Actor::Token(id) = who {
            self.tokens.write().remove(&id);
        }
        self.entries.write().remove(&who);
    }
}

/// Answers read from the database, each with when it was read.
struct Recent<K, V>(RwLock<HashMap<K, (V, Instant)>>);

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent(RwLock::default())
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// The answer kept for `k`, if `holds` says one read at its instant still holds.
    fn get(&self, k: &K, holds: impl Fn(Instant) -> bool) -> Option<V> {
        self.read()
            .get(k)
            .filter(|(_, at)| holds(*at))
            .map(|(v, _)| v.clone())
    }

    /// Keeps the answer for `k`; past `most` answers, those older than `ttl` are dropped first.
    fn put(&self, k: K, v: V, most: usize, ttl: Duration) {
        let mut map = self.write();
        if map.len() > most {
            map.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        map.insert(k, (v, Instant::now()));
    }

    /// The answers, whatever a panicking holder left (each is written whole).
    fn read(&self) -> RwLockReadGuard<'_, HashMap<K, (V, Instant)>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<K, (V, Instant)>> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How often each node reads the version of who may act (see [`watch_epoch`]).
const EPOCH_POLL: Duration = Duration::from_millis(250);

/// Watches the version of who may act that every change to roles, activation, tokens and
/// sessions moves (triggers in the database), and forgets every cached caller when it moves:
/// a change made through another node applies here within [`EPOCH_POLL`], and no request waits
/// on a query for it.
pub fn watch_epoch(
    store: helpline_store::Store,
    principals: std::sync::Arc<PrincipalCache>,
) -> Result<crate::worker::Worker, String> {
    crate::worker::Worker::spawn("auth-epoch", move |stop| {
        let mut seen: Option<i64> = None;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match store.read(helpline_store::logins::auth_epoch) {
                Ok(epoch) => {
                    if seen.is_some_and(|s| s != epoch) {
                        principals.clear();
                    }
                    seen = Some(epoch);
                    principals.watched();
                }
                Err(e) => tracing::warn!(error = %e, "could not read the auth epoch"),
            }
            std::thread::sleep(EPOCH_POLL);
        }
    })
}
