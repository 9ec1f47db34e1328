//! # billing-postgres
//!
//! PostgreSQL storage for the billing engine: [`PostgresStore`] implements every port of the
//! core's [`Store`](billing_core::ports::Store) (the ledger, customers and cards, businesses,
//! payment links, notifications, payment automation's schedules, the console's staff and their
//! sessions, connected accounts, the customer portal's links and sessions), with the behaviour
//! of the in-memory reference store.
//!
//! - Money is stored in integer minor units (BIGINT) beside its currency code. Ledger entries
//!   are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE on them), their bodies in
//!   billing-sql's versioned formats.
//! - A use case reads what it decides from in one statement, and commits in one statement
//!   (`billing_commit`, a PL/pgSQL function): one round trip each, one commit. The commit locks
//!   the bookings it was decided from, in id order, and lands only if none moved since it was
//!   read; otherwise it writes nothing and the core reads and decides again. No lock is held
//!   while the core decides or waits for the gateway.
//! - Every value is bound (the extended protocol), never written into SQL text.
//! - Plans cannot go wrong with the tables' statistics: statements run with generic plans (no
//!   planning per call) and sequential scans disabled, so that a plan made while a table was
//!   small never turns a lookup into a scan of the table as it grows; and without JIT
//!   compilation, which a generic plan's estimates would call for as the tables grow.
//! - What all customers owe is kept by a trigger as balances change (`outstanding_totals`), and
//!   a page of the report reads a covering partial index in order: neither grows with the
//!   number of bookings.
//! - What payments took and gave back each day is kept as payments change
//!   (`payment_day_totals`, the changes computed by the core and added by `billing_commit`):
//!   the payments report reads the days, not the payments.
//! - The store keeps its own connection pool, which (unlike sqlx's) does not ping every
//!   connection it takes back.
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
mod connect;
mod day_totals;
mod directory;
mod ledger;
mod links;
mod notifications;
mod pool;
mod portal;
mod schedules;
mod staff;
mod store;

pub use store::{DEFAULT_MAX_CONNECTIONS, PostgresStore, StoreError};
