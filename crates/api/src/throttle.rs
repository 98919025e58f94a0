//! The login pause: failed logins and codes counted per account name, and per source address,
//! in the database, so that every node behind a load balancer sees the same count.

use std::net::IpAddr;

use helpline_domain::user::Actor;

use crate::app::AppState;
use crate::error::ApiError;

/// Failed logins allowed per account, within [`WINDOW`] of each other, before it must wait.
const LOGIN_FAILURES_ALLOWED: i32 = 5;
/// Failed logins allowed from one address (any accounts) before it must wait: more than an
/// account's, since an office behind one address shares it.
const ADDRESS_FAILURES_ALLOWED: i32 = 20;
/// The wait after too many failures; each further failure while waiting extends it.
const LOGIN_PAUSE: chrono::Duration = chrono::Duration::seconds(60);
/// Failures further apart than this start the count again.
const WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Who is trying: an account name and, for a sign-in, the address it comes from.
pub struct Attempt {
    account: String,
    address: Option<String>,
}

impl Attempt {
    /// A sign-in to `account` from `address` (the client's, see `client_address`).
    pub fn sign_in(account: &str, address: Option<IpAddr>) -> Attempt {
        Attempt {
            account: account.to_ascii_lowercase(),
            address: address.map(|a| format!("address:{a}")),
        }
    }

    /// A password or code given again by someone already signed in.
    pub fn account(account: &str) -> Attempt {
        Attempt::sign_in(account, None)
    }
}

/// Slows down guessing of passwords and codes: after [`LOGIN_FAILURES_ALLOWED`] failures an
/// account name, and after [`ADDRESS_FAILURES_ALLOWED`] an address, is refused (429) for
/// [`LOGIN_PAUSE`]. Counted in the database, so that behind a load balancer the tries are
/// counted once in all, not per node. A pause, not a lockout that an attacker could use to keep
/// a handler out for long.
pub struct LoginThrottle;

impl LoginThrottle {
    /// Refuses while the account or the address is paused.
    pub async fn check(state: &AppState, who: &Attempt) -> Result<(), ApiError> {
        for (key, what) in [
            (Some(&who.account), "this account"),
            (who.address.as_ref(), "this address"),
        ] {
            let Some(key) = key.cloned() else { continue };
            let until = state
                .read(move |c| helpline_store::logins::paused_until(c, &key))
                .await?;
            let now = state.now();
            if let Some(until) = until.filter(|u| now < *u) {
                return Err(ApiError::TooManyRequests {
                    detail: format!("too many failed logins from {what}; wait and retry"),
                    retry_after: u64::try_from((until - now).num_seconds())
                        .unwrap_or(0)
                        .max(1),
                });
            }
        }
        Ok(())
    }

    /// Counts a failure against the account and the address, pausing either once too many
    /// have happened.
    pub async fn failed(state: &AppState, who: &Attempt) -> Result<(), ApiError> {
        let (account, address) = (who.account.clone(), who.address.clone());
        state
            .write_as(Actor::System, move |tx| {
                helpline_store::logins::failed(
                    tx,
                    &account,
                    LOGIN_FAILURES_ALLOWED,
                    LOGIN_PAUSE,
                    WINDOW,
                )?;
                if let Some(address) = address {
                    helpline_store::logins::failed(
                        tx,
                        &address,
                        ADDRESS_FAILURES_ALLOWED,
                        LOGIN_PAUSE,
                        WINDOW,
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Clears the account's count after a successful login (a write only when there is one).
    /// The address keeps its count: one account of an attacker's own must not wipe the
    /// failures it made guessing others.
    pub async fn succeeded(state: &AppState, who: &Attempt) -> Result<(), ApiError> {
        let name = who.account.clone();
        let counted = state
            .read(move |c| helpline_store::logins::any_failures(c, &name))
            .await?;
        if counted {
            let name = who.account.clone();
            state
                .write_as(Actor::System, move |tx| {
                    helpline_store::logins::succeeded(tx, &name)
                })
                .await?;
        }
        Ok(())
    }
}

/// The client's address: the peer's, or — when the peer is one of the `trusted` proxies (the
/// balancer) — the last address in `X-Forwarded-For` that is not itself a trusted proxy. An
/// untrusted peer's `X-Forwarded-For` is ignored: anyone can write one.
pub fn client_address(req: &actix_web::HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // A hop that does not parse: trust nothing to its left.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}
