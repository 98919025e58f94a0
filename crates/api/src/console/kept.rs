//! Values that cost a slow read, kept and shown while one refresh is made in the background.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// Values made by a slow read, one per key (a reader, or `()` for one for everyone). Once a
/// value is older than `fresh_for` it is still given while one refresh of it runs in the
/// background, so that only a key's very first reader waits: under load, waiting readers
/// held connections and every page queued behind them. A failed refresh is logged and the
/// old value kept.
pub struct Kept<K, V> {
    slots: Arc<Mutex<HashMap<K, Slot<V>>>>,
    fresh_for: Duration,
    /// Keys nobody asked for in this long are forgotten when another key is added.
    forgotten_after: Duration,
    /// What the values are, for the log.
    what: &'static str,
}

/// A key's value, when it was made and last asked for, and whether a refresh is under way.
struct Slot<V> {
    value: V,
    made: DateTime<Utc>,
    asked: DateTime<Utc>,
    refreshing: bool,
}

impl<K, V> Kept<K, V>
where
    K: Eq + Hash + 'static,
    V: Clone + 'static,
{
    /// Nothing kept yet.
    pub fn new(what: &'static str, fresh_for: Duration, forgotten_after: Duration) -> Self {
        Kept {
            slots: Arc::default(),
            fresh_for,
            forgotten_after,
            what,
        }
    }

    /// The value kept under `key`, or the one `make` makes now when there is none; a value
    /// older than `fresh_for` at `now` (the caller's clock: the server's, which tests move,
    /// for what is shown as made at an instant) is given while `make` runs again in the
    /// background.
    pub async fn get<F, Fut, E>(&self, key: K, now: DateTime<Utc>, make: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + 'static,
        E: std::fmt::Display + 'static,
    {
        let kept = {
            let mut slots = lock(&self.slots);
            match slots.get_mut(&key) {
                Some(slot) => {
                    slot.asked = now;
                    if now - slot.made < self.fresh_for || slot.refreshing {
                        return Ok(slot.value.clone());
                    }
                    slot.refreshing = true;
                    Some(slot.value.clone())
                }
                None => None,
            }
        };
        let Some(kept) = kept else {
            let value = make().await?;
            let mut slots = lock(&self.slots);
            let forgotten_after = self.forgotten_after;
            slots.retain(|_, s| now - s.asked < forgotten_after);
            slots.insert(key, Slot::new(value.clone(), now));
            return Ok(value);
        };
        let (slots, what, fresh) = (self.slots.clone(), self.what, make());
        // The refresh is dated by the clock of the read that found the value old.
        actix_web::rt::spawn(async move {
            let fresh = fresh.await;
            let mut slots = lock(&slots);
            let Some(slot) = slots.get_mut(&key) else {
                return;
            };
            match fresh {
                Ok(value) => *slot = Slot::new(value, now),
                Err(e) => {
                    slot.refreshing = false;
                    tracing::warn!(error = %e, kept = what, "not refreshed");
                }
            }
        });
        Ok(kept)
    }
}

impl<V> Slot<V> {
    fn new(value: V, now: DateTime<Utc>) -> Self {
        Slot {
            value,
            made: now,
            asked: now,
            refreshing: false,
        }
    }
}

/// The slots, whatever a panicking holder left (each slot is replaced whole).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
