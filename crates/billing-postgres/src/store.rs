//! The store: a connection pool on one PostgreSQL database, its migrations and readiness.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::pool::ConnPool;

/// Connections per pool unless the caller says otherwise. A commit holds its connection only
/// for its one statement, but commits wait for the WAL to be flushed, and Postgres flushes the
/// commits waiting together at once: with fewer connections than concurrent requests, commits
/// queue for a connection instead of sharing a flush.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 32;

/// How long a caller waits for a free connection before the store reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the store could not be opened, migrated or reached.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not a PostgreSQL URL sqlx understands.
    #[error("invalid PostgreSQL URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// The server could not be reached or refused the query.
    #[error("PostgreSQL unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    /// A migration failed (or the database has migrations this build does not know).
    #[error("PostgreSQL migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The payments written before the per-day totals (migration 0013) could not be counted.
    #[error("PostgreSQL payment totals could not be counted: {0}")]
    Totals(#[from] billing_core::ports::LedgerError),
}

/// The PostgreSQL store. Clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: ConnPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) with a pool of
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_pool_size(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects with a pool of at most `max_connections`.
    pub async fn connect_with_pool_size(
        url: &str,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            // sqlx reads any scheme as Postgres; another database's URL is a mistake.
            return Err(StoreError::InvalidUrl(sqlx::Error::Configuration(
                "not a postgres:// or postgresql:// URL".into(),
            )));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::InvalidUrl)?
            // Every statement of this store is an index lookup or an index range whose best plan
            // does not depend on its arguments: plan once per connection (generic plans), and
            // never choose a sequential scan. Without the second setting, a generic plan made
            // while a table was nearly empty (right after a load, before autovacuum analyzed it)
            // read the whole table at every call, and kept doing so as the table grew: a charge
            // then cost milliseconds of server time instead of tens of microseconds. And no JIT
            // compilation: a generic plan's estimates grow with the tables (a bound limit is
            // taken for a tenth of the rows), so that at a million rows a take of due schedules
            // crossed `jit_above_cost` and spent 14 ms compiling a statement that runs in one.
            .options([
                ("plan_cache_mode", "force_generic_plan"),
                ("enable_seqscan", "off"),
                ("jit", "off"),
            ]);
        let store = PostgresStore {
            pool: ConnPool::new(options, max_connections, ACQUIRE_TIMEOUT),
        };
        // One connection now, so that a wrong URL or password fails here, not on first use.
        store.ping().await?;
        Ok(store)
    }

    /// Applies the migrations embedded in this crate (`migrations/`) that the database does not
    /// have yet. Safe to run from several processes at once: sqlx serializes them with an
    /// advisory lock. Then counts the payments of businesses whose per-day totals migration
    /// 0013 left to count, one business per transaction: what counts is the core's rule, in
    /// Rust, so SQL cannot do it.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::migrate!("./migrations").run(conn.start()?).await?;
        // Only a successful run gives the connection back clean; after a failure it is closed.
        conn.finish(Ok(()))?;
        drop(conn);
        crate::day_totals::fill(self).await
    }

    /// Readiness: a trivial query through the pool.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        conn.simple("SELECT 1").await?;
        Ok(())
    }

    /// Closes every connection; later calls fail with an unavailable error.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
