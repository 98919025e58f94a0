//! The search indexer: rebuilds the search documents of cases whose texts changed, off the
//! write path. Writes queue the case in their own transaction (`search_queue`), so a crash
//! loses no pending rebuild; this worker is woken by the writer and drains the queue in
//! batches, so a new case or message is searchable well within a second, and a search that
//! finds work still queued drains it first (`search::catch_up`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use helpline_store::{search, Store};

use crate::worker::Worker;

/// How long the worker sleeps when nobody wakes it: the bound on a lost wake-up.
const POLL: Duration = Duration::from_millis(250);

/// Starts the indexer on its own thread.
pub fn start(store: Store) -> Result<Worker, String> {
    Worker::spawn("search-indexer", move |stop| {
        while !stop.load(Ordering::SeqCst) {
            if let Err(e) = search::catch_up(&store) {
                tracing::warn!(error = %e, "could not rebuild search documents");
            }
            store.wait_for_search_work(POLL);
        }
    })
}
