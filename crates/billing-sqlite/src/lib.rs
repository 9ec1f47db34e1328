//! # billing-sqlite
//!
//! SQLite storage for the billing engine: [`SqliteStore`] implements the core's
//! [`Ledger`](billing_core::ports::Ledger) (with [`SqliteTx`]),
//! [`CustomerDirectory`](billing_core::ports::CustomerDirectory),
//! [`Businesses`](billing_core::ports::Businesses),
//! [`NotificationLog`](billing_core::ports::NotificationLog) and
//! [`PaymentLinks`](billing_core::ports::PaymentLinks) ports, with the behaviour of the
//! in-memory reference store.
//!
//! - Money is stored in integer minor units beside its currency code; ledger entries are kept
//!   as JSON bodies with indexed columns, append-only (triggers refuse updates and deletes).
//! - Every money-moving transaction is a write transaction from its first statement
//!   (`BEGIN IMMEDIATE`), so two processes sharing the file can never both decide to charge one
//!   balance. The journal is in WAL mode so that reads go on while a transaction writes.
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
mod codec;
mod directory;
mod ledger;
mod links;
mod notifications;
mod store;

pub use ledger::SqliteTx;
pub use store::{SqliteStore, StoreError};
