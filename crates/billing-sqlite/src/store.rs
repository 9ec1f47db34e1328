//! The store: a pool on one SQLite database, its settings, migrations and readiness.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// How long a statement waits for another connection's write lock before giving up. Write
/// transactions are short (the gateway is never called inside one), so several seconds covers
/// a long queue of them.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections per pool: several, so that reads never wait behind a transaction that holds a
/// connection while it queues for the write lock.
const MAX_CONNECTIONS: u32 = 8;

/// Why the store could not be opened, migrated or reached.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not a SQLite URL sqlx understands.
    #[error("invalid SQLite URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// The database could not be opened or queried.
    #[error("SQLite unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    /// A migration failed (or the database has migrations this build does not know).
    #[error("SQLite migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The SQLite store. Clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` (`sqlite://path/to/file.db`,
    /// `sqlite:relative.db`, or `sqlite::memory:`), in WAL mode with a busy timeout, behind a
    /// pool of several connections.
    ///
    /// An in-memory URL gives one database shared by every connection of this store (and of its
    /// clones), alive as long as the store is; each `connect` to `sqlite::memory:` gets a new
    /// one.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        // Parsed once: sqlx names an in-memory database per parse, so every connection of the
        // pool opens the same shared-cache database.
        let options = SqliteConnectOptions::from_str(url).map_err(StoreError::InvalidUrl)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::open(options, in_memory).await
    }

    /// Like [`SqliteStore::connect`], from options built by the caller. The store's own settings
    /// (create if missing, WAL, busy timeout, full sync, foreign keys) are applied on top.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let name = options.get_filename().to_string_lossy();
        let in_memory = name.starts_with("file:sqlx-in-memory") || name == ":memory:";
        Self::open(options, in_memory).await
    }

    async fn open(options: SqliteConnectOptions, in_memory: bool) -> Result<Self, StoreError> {
        let mut options = options
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // A ledger must survive a power cut: every commit is synced.
            .synchronous(SqliteSynchronous::Full);
        if !in_memory {
            // Readers see the last commit while a writer works, instead of waiting for it.
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        let mut pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // Without this, every checkout would cost a round trip to the worker thread.
            .test_before_acquire(false);
        if in_memory {
            // An in-memory database lives as long as one connection to it: keep one open.
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_with(options).await?;
        Ok(SqliteStore { pool })
    }

    /// A store over an existing pool (its settings are the caller's: use WAL and a busy
    /// timeout).
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    /// The pool, for diagnostics and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Applies the migrations embedded in this crate (`migrations/`) that the database does not
    /// have yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }

    /// Readiness: a trivial query through the pool.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; later calls fail with an unavailable error.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
