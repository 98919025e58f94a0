//! A background thread of the server (outbox, webhooks, search indexer): started with a name,
//! it runs until told to stop, then finishes what it is doing and is joined.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A running background thread; dropping the handle does not stop it, [`Worker::stop`] does.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts `body` on a thread named `name`; it should return soon after the flag it is
    /// given becomes true.
    pub fn spawn(
        name: &str,
        body: impl FnOnce(&AtomicBool) + Send + 'static,
    ) -> Result<Worker, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&flag))
            .map_err(|e| e.to_string())?;
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Raises the stop flag, calls `wake` (for a worker asleep on a condition), and waits for
    /// the thread to finish.
    pub fn stop(mut self, wake: impl FnOnce()) {
        self.stop.store(true, Ordering::SeqCst);
        wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How a worker of one process claims rows of a shared queue (see `helpline_store::claims`):
/// its own node id, and a lease long enough for a whole batch even when every item takes its
/// full timeout, with two timeouts to spare.
pub struct Claimer {
    node: String,
    batch: i64,
    per_item: std::time::Duration,
    lease: chrono::Duration,
}

/// The signature of a store's "is anything due?" read.
pub type AnyDue = fn(
    &mut helpline_store::DbConnection,
    chrono::DateTime<chrono::Utc>,
) -> helpline_store::Result<bool>;

/// The signature of a store's claiming write.
pub type ClaimDue<T> =
    fn(&mut helpline_store::Tx<'_>, &str, chrono::Duration, i64) -> helpline_store::Result<Vec<T>>;

impl Claimer {
    /// A claimer for `queue` (a name for the node id), taking `batch` rows at a time, each of
    /// which may take up to `per_item`.
    pub fn new(queue: &str, batch: i64, per_item: std::time::Duration) -> Claimer {
        let per_item = per_item.max(std::time::Duration::from_millis(1));
        let whole = per_item.saturating_mul(u32::try_from(batch + 2).unwrap_or(u32::MAX));
        Claimer {
            node: format!("{queue}-{}", uuid::Uuid::now_v7().simple()),
            batch,
            per_item,
            lease: chrono::Duration::from_std(whole).unwrap_or(chrono::Duration::hours(1)),
        }
    }

    /// Claims what is due at `now`: a cheap read first, the claiming write only when
    /// something is due. The batch yields its items only while the lease certainly outlasts
    /// one more of them, so a slow batch is never finished by two nodes.
    pub fn claim<T: Send + 'static>(
        &self,
        store: &helpline_store::Store,
        now: chrono::DateTime<chrono::Utc>,
        any_due: AnyDue,
        claim_due: ClaimDue<T>,
    ) -> helpline_store::Result<Batch<T>> {
        let started = std::time::Instant::now();
        let items = if store.read(|c| any_due(c, now))? {
            let (node, lease, batch) = (self.node.clone(), self.lease, self.batch);
            store.write(helpline_domain::user::Actor::System, now, move |tx| {
                claim_due(tx, &node, lease, batch)
            })?
        } else {
            Vec::new()
        };
        let lease = self.lease.to_std().unwrap_or_default();
        Ok(Batch {
            items: items.into_iter(),
            // Counted from before the claim, so the node's own clock never overstates it.
            last_start: started + lease.saturating_sub(self.per_item.saturating_mul(2)),
        })
    }
}

/// Rows claimed by a [`Claimer`], handed out while the lease holds.
pub struct Batch<T> {
    items: std::vec::IntoIter<T>,
    last_start: std::time::Instant,
}

impl<T> Batch<T> {
    /// Whether nothing was claimed.
    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }
}

impl<T> Iterator for Batch<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        // Past this point another node may take the rest over: leave it to them.
        if std::time::Instant::now() > self.last_start {
            return None;
        }
        self.items.next()
    }
}
