//! The search indexer: rebuilds the search documents of cases whose texts changed, off the
//! write path. Writes queue the case in their own transaction (`search_queue`), so a crash
//! loses no pending rebuild; this worker is woken by the writer and drains the queue in
//! batches, so a new case or message is searchable well within a second, and a search that
//! finds work still queued drains it first (`search::catch_up`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use helpline_store::{search, Store};

/// How long the worker sleeps when nobody wakes it: the bound on a lost wake-up.
const POLL: Duration = Duration::from_millis(250);

/// The running indexer.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the indexer on its own thread.
    pub fn start(store: Store) -> Result<Worker, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("search-indexer".into())
            .spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    if let Err(e) = search::catch_up(&store) {
                        tracing::warn!(error = %e, "could not rebuild search documents");
                    }
                    store.wait_for_search_work(POLL);
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the worker after its current batch (at most one poll interval).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
