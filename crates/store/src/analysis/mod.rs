//! What analysts keep: indicators on cases, links between cases, and the correlation that
//! walks both ("where else have we seen this?") — one module each.

mod correlation;
mod descriptions;
mod holders;
mod indicators;
mod kept_holders;
mod links;

pub use correlation::{related, Correlation, NotFollowed, Related, Step, Walk};
pub use descriptions::Descriptions;
pub use holders::*;
pub use indicators::*;
pub(crate) use indicators::{case_indicator, ContextRow};
pub use kept_holders::KeptHolders;
pub use links::*;

/// Ids per query: far below SQLite's and Postgres's limits on bound parameters.
pub(crate) const CHUNK: usize = 500;
