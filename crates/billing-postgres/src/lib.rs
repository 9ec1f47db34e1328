//! # billing-postgres
//!
//! PostgreSQL storage for the billing engine: [`PostgresStore`] implements the core's
//! [`Ledger`](billing_core::ports::Ledger) (with [`PostgresTx`]),
//! [`CustomerDirectory`](billing_core::ports::CustomerDirectory),
//! [`Businesses`](billing_core::ports::Businesses),
//! [`NotificationLog`](billing_core::ports::NotificationLog) and
//! [`PaymentLinks`](billing_core::ports::PaymentLinks) ports, with the behaviour of the
//! in-memory reference store.
//!
//! - Money is stored in integer minor units (BIGINT) beside its currency code; ledger entries
//!   are JSONB bodies with indexed columns, append-only (a trigger refuses UPDATE, DELETE and
//!   TRUNCATE on them).
//! - [`LedgerTx::lock`](billing_core::ports::LedgerTx::lock) takes a transaction-scoped
//!   advisory lock per (business, booking), in a fixed order, before reading: two processes can
//!   never both decide to charge one balance, and bookings not created yet can be locked too.
//! - Round trips are what a charge costs, so a transaction sends `BEGIN`, its locks and its
//!   locked read in one round trip, keeps its writes and sends them with `COMMIT` in another
//!   (see [`PostgresTx`]); statements are prepared once per connection and run with generic
//!   plans; and the store keeps its own small connection pool, which (unlike sqlx's) does not
//!   ping every connection it takes back.
//!
//! ```no_run
//! # async fn demo() -> Result<(), billing_postgres::StoreError> {
//! let store = billing_postgres::PostgresStore::connect("postgres://localhost/billing").await?;
//! store.migrate().await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod businesses;
mod codec;
mod directory;
mod ledger;
mod links;
mod notifications;
mod pool;
mod store;

pub use ledger::{PostgresTx, lock_key};
pub use store::{DEFAULT_MAX_CONNECTIONS, PostgresStore, StoreError};
