//! The delivery worker: sends the outbox through the SMTP relay, with retries and backoff.
//! Replies are committed to the outbox before the API answers, so a restart loses none: the
//! worker picks up whatever is due when it starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use helpline_domain::mail::DeliveryState;
use helpline_domain::user::Actor;
use helpline_store::mail::{self as mailstore, OutboxItem};
use helpline_store::Store;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::config::SmtpConfig;
use crate::service::replies;
use crate::webhooks::Notifier;
use crate::worker::{Claimer, Worker};
use helpline_store::workflow::Policy;

/// Starts the outbox worker when a relay is configured.
pub fn start(
    store: Store,
    smtp: SmtpConfig,
    policy: Policy,
    webhooks: Notifier,
) -> Result<Option<Worker>, String> {
    if smtp.host.is_empty() {
        tracing::info!("no SMTP relay configured: replies wait in the outbox");
        return Ok(None);
    }
    let transport = transport(&smtp)?;
    let ctx = Context {
        store,
        transport,
        smtp,
        policy,
        webhooks,
    };
    Worker::spawn("outbox", move |stop| run(&ctx, stop)).map(Some)
}

/// What the worker works with.
struct Context {
    store: Store,
    transport: SmtpTransport,
    smtp: SmtpConfig,
    policy: Policy,
    webhooks: Notifier,
}

fn transport(smtp: &SmtpConfig) -> Result<SmtpTransport, String> {
    let builder = match smtp.tls.as_str() {
        "none" => SmtpTransport::builder_dangerous(&smtp.host),
        "tls" => {
            let params = TlsParameters::new(smtp.host.clone()).map_err(|e| e.to_string())?;
            SmtpTransport::builder_dangerous(&smtp.host).tls(Tls::Wrapper(params))
        }
        _ => {
            let params = TlsParameters::new(smtp.host.clone()).map_err(|e| e.to_string())?;
            SmtpTransport::builder_dangerous(&smtp.host).tls(Tls::Required(params))
        }
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_seconds.max(1))));
    if !smtp.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            smtp.username.clone(),
            smtp.password.expose().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// Replies claimed at a time (the lease covers each taking the relay's whole timeout).
const CLAIM: i64 = 8;

fn run(ctx: &Context, stop: &AtomicBool) {
    let (store, smtp) = (&ctx.store, &ctx.smtp);
    let poll = Duration::from_millis(smtp.poll_ms.max(10));
    let claimer = Claimer::new(
        "outbox",
        CLAIM,
        Duration::from_secs(smtp.timeout_seconds.max(1)),
    );
    while !stop.load(Ordering::SeqCst) {
        let items = match claimer.claim(store, Utc::now(), mailstore::any_due, mailstore::claim_due)
        {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: cannot read the queue");
                std::thread::sleep(poll);
                continue;
            }
        };
        if items.is_empty() {
            std::thread::sleep(poll);
            continue;
        }
        for item in items {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            deliver(ctx, item);
        }
    }
}

fn deliver(ctx: &Context, item: OutboxItem) {
    let (store, transport, smtp) = (&ctx.store, &ctx.transport, &ctx.smtp);
    let sha = item.sha256.clone();
    let outcome = store
        .read(move |c| mailstore::blob(c, &sha))
        .map_err(|e| (e.to_string(), false))
        .and_then(|raw| send(transport, &item, &raw));
    let attempts = item.attempts + 1;
    let (state, error, next) = match outcome {
        Ok(()) => (DeliveryState::Sent, None, None),
        Err((error, permanent)) => {
            let state = DeliveryState::after_failure(attempts, smtp.max_attempts, permanent);
            // Doubling backoff, at most an hour between attempts.
            let wait = smtp
                .retry_seconds
                .saturating_mul(1u64 << (item.attempts.min(16)))
                .min(3600);
            let next = Utc::now() + chrono::Duration::seconds(i64::try_from(wait).unwrap_or(3600));
            // The relay's answer names no content; the recipients stay out of the log.
            tracing::warn!(message = %item.message_id, attempts, permanent, "outbox: delivery failed");
            (state, Some(error), Some(next))
        }
    };
    let it = item.clone();
    let policy = ctx.policy.clone();
    match store.write(Actor::System, Utc::now(), move |tx| {
        replies::attempted(tx, &it, state, error, next, &policy)
    }) {
        Ok(()) if state == DeliveryState::Failed => ctx.webhooks.wake(),
        Ok(()) => {}
        Err(e) => tracing::error!(error = %e, "outbox: cannot record a delivery attempt"),
    }
}

fn send(transport: &SmtpTransport, item: &OutboxItem, raw: &[u8]) -> Result<(), (String, bool)> {
    let from = item
        .sender
        .parse()
        .map_err(|e| (format!("sender address: {e}"), true))?;
    let to = item
        .recipients
        .iter()
        .map(|r| r.parse())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (format!("recipient address: {e}"), true))?;
    let envelope = Envelope::new(Some(from), to).map_err(|e| (e.to_string(), true))?;
    transport
        .send_raw(&envelope, raw)
        .map(|_| ())
        .map_err(|e| (e.to_string(), e.is_permanent()))
}
