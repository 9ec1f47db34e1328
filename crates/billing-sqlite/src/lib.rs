//! # billing-sqlite
//!
//! SQLite storage for the billing engine: [`SqliteStore`] implements every port of the core's
//! [`Store`](billing_core::ports::Store) — the [`Ledger`](billing_core::ports::Ledger),
//! [`CustomerDirectory`](billing_core::ports::CustomerDirectory),
//! [`Businesses`](billing_core::ports::Businesses),
//! [`PaymentLinks`](billing_core::ports::PaymentLinks),
//! [`NotificationLog`](billing_core::ports::NotificationLog),
//! [`Schedules`](billing_core::ports::Schedules),
//! [`StaffAccounts`](billing_core::ports::StaffAccounts),
//! [`ConnectedAccounts`](billing_core::ports::ConnectedAccounts) and
//! [`PortalPasses`](billing_core::ports::PortalPasses) — with the behaviour of the in-memory
//! reference store (the core's conformance suite checks it).
//!
//! - Rows are written in `billing-sql`'s versioned formats; money in integer minor units
//!   beside its currency code; ledger entries append-only (triggers refuse updates and
//!   deletes).
//! - Ledger commits are optimistic: a commit lands only while every booking it was decided
//!   from is at the version read, so two processes sharing the file never both charge one
//!   balance.
//! - Every write of a store goes through one writer task that owns the only write connection
//!   and commits the jobs queued for it in one transaction, each in its own savepoint (group
//!   commit): no write waits in SQLite's busy handler for another write of the same process,
//!   and one sync covers a group. Reads use a separate pool: the journal is in WAL mode, so
//!   they read the last commit while the writer writes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), billing_sqlite::StoreError> {
//! let store = billing_sqlite::SqliteStore::connect("sqlite://billing.db").await?;
//! store.migrate().await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod businesses;
mod connect;
mod directory;
mod errors;
mod ledger;
mod links;
mod notifications;
mod portal;
mod schedules;
mod staff;
mod store;
mod writer;

pub use store::{SqliteStore, StoreError};
pub use writer::WriterStats;
