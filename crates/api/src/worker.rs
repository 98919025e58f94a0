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
