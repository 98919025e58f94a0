//! The login pause: failed logins and codes counted per account name in the database, so that
//! every node behind a load balancer sees the same count.

use helpline_domain::user::Actor;

use crate::app::AppState;
use crate::error::ApiError;

/// Failed logins allowed per account before it must wait.
const LOGIN_FAILURES_ALLOWED: i32 = 5;
/// The wait after too many failures; each further failure while waiting extends it.
const LOGIN_PAUSE: chrono::Duration = chrono::Duration::seconds(60);

/// Slows down guessing of passwords and codes: after [`LOGIN_FAILURES_ALLOWED`] failures an
/// account name is refused (429) for [`LOGIN_PAUSE`]. Counted in the database, so that behind a
/// load balancer the five tries are five in all, not five per node. A pause, not a lockout that
/// an attacker could use to keep a handler out for long.
pub struct LoginThrottle;

impl LoginThrottle {
    /// Refuses while the account is paused.
    pub async fn check(state: &AppState, account: &str) -> Result<(), ApiError> {
        let name = account.to_owned();
        let until = state
            .read(move |c| helpline_store::logins::paused_until(c, &name))
            .await?;
        let now = state.now();
        match until {
            Some(until) if now < until => Err(ApiError::TooManyRequests {
                detail: "too many failed logins for this account; wait and retry".into(),
                retry_after: u64::try_from((until - now).num_seconds())
                    .unwrap_or(0)
                    .max(1),
            }),
            _ => Ok(()),
        }
    }

    /// Counts a failure, pausing the account once too many have happened.
    pub async fn failed(state: &AppState, account: &str) -> Result<(), ApiError> {
        let name = account.to_owned();
        state
            .write_as(Actor::System, move |tx| {
                helpline_store::logins::failed(tx, &name, LOGIN_FAILURES_ALLOWED, LOGIN_PAUSE)
            })
            .await
    }

    /// Clears the count after a successful login (a write only when there is one).
    pub async fn succeeded(state: &AppState, account: &str) -> Result<(), ApiError> {
        let name = account.to_owned();
        let counted = state
            .read(move |c| helpline_store::logins::any_failures(c, &name))
            .await?;
        if counted {
            let name = account.to_owned();
            state
                .write_as(Actor::System, move |tx| {
                    helpline_store::logins::succeeded(tx, &name)
                })
                .await?;
        }
        Ok(())
    }
}
