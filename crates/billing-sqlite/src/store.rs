//! The store: one SQLite database, its writer and its read pool, its settings, migrations and
//! readiness.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, SqliteConnection};

use crate::writer::{BoxFuture, Unavailable, Writer, WriterStats};

/// How long a statement waits for another process's write lock before giving up. Within a
/// process every write goes through the writer, so this only covers other processes sharing
/// the file; their write transactions are short (the gateway is never called inside one).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of the read pool. Reads never wait for the writer (WAL), only for each other.
const MAX_READERS: u32 = 8;

/// How often a connection of its own copies the WAL's commits into the database file. SQLite
/// would otherwise do it on the committing connection, the writer, whenever the WAL passes
/// 1,000 pages: every write queued behind that commit then waited for the copy and its sync
/// (the SQLite benchmark's p99 and max).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The migrations embedded in this crate (`migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Why the store could not be opened, migrated or reached.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not a SQLite URL sqlx understands.
    #[error("invalid SQLite URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// The database could not be opened or queried.
    #[error("SQLite unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    /// The store is closed, or its writer stopped.
    #[error("SQLite store closed: {0}")]
    Closed(String),
    /// A migration failed (or the database has migrations this build does not know).
    #[error("SQLite migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The payments written before the per-day totals (migration 0012) could not be counted.
    #[error("SQLite payment totals could not be counted: {0}")]
    Totals(#[from] billing_core::ports::LedgerError),
}

impl From<Unavailable> for StoreError {
    fn from(error: Unavailable) -> Self {
        StoreError::Closed(error.0)
    }
}

#[derive(Debug)]
struct Inner {
    writer: Writer,
    /// The read pool; `None` for an in-memory database, which only the writer's connection
    /// holds, so its reads go through the writer.
    reads: Option<SqlitePool>,
    /// The checkpoints' task (none in memory), stopped with the store.
    checkpoints: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = &self.checkpoints {
            task.abort();
        }
    }
}

/// The SQLite store. Clones share one writer and one read pool.
///
/// Every write goes through the writer (one connection, group commit); reads go through a pool
/// of other connections and, the journal being in WAL mode, read the last commit while the
/// writer writes.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` (`sqlite://path/to/file.db`,
    /// `sqlite:relative.db`, or `sqlite::memory:`), in WAL mode with a busy timeout, with its
    /// writer and read pool. Must be called within a Tokio runtime: the writer is a task of it.
    ///
    /// An in-memory URL gives one database, held by the writer's connection, alive as long as
    /// the store (or one of its clones) is; each `connect` to `sqlite::memory:` gets a new one.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
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
            // Readers see the last commit while the writer works, instead of waiting for it.
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        // The writer's connection first: it creates the file and puts it in WAL mode. It never
        // checkpoints: the checkpoints' own connection does, beside it.
        let writer_options = if in_memory {
            options.clone()
        } else {
            options.clone().pragma("wal_autocheckpoint", "0")
        };
        let conn: SqliteConnection = writer_options.connect().await?;
        let writer = Writer::start(conn);
        let (reads, checkpoints) = if in_memory {
            (None, None)
        } else {
            let checkpointer: SqliteConnection = options.connect().await?;
            let readers = options
                .clone()
                // Reads only: a write on a read connection would wait in the busy handler
                // for the writer, which is what the writer is there to prevent.
                .pragma("query_only", "ON");
            let pool = SqlitePoolOptions::new()
                .max_connections(MAX_READERS)
                // Without this, every checkout would cost a round trip to the worker thread.
                .test_before_acquire(false)
                .connect_with(readers)
                .await?;
            (Some(pool), Some(tokio::spawn(checkpoint(checkpointer))))
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer,
                reads,
                checkpoints,
            }),
        })
    }

    /// The pool reads go through, for diagnostics and tests (its connections are read-only);
    /// `None` for an in-memory database, whose reads go through the writer's connection.
    pub fn read_pool(&self) -> Option<&SqlitePool> {
        self.inner.reads.as_ref()
    }

    /// How many write transactions (groups) the writer ran so far, and how many jobs they held.
    pub fn writer_stats(&self) -> WriterStats {
        self.inner.writer.stats()
    }

    /// Applies the migrations embedded in this crate (`migrations/`) that the database does not
    /// have yet, on the writer's connection (between groups: each migration is its own
    /// transaction). Then counts the payments of businesses whose per-day totals migration 0012
    /// left to count, one business per write transaction: what counts is the core's rule, in
    /// Rust, so SQL cannot do it.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.inner
            .writer
            .alone(|conn| Box::pin(async move { MIGRATOR.run_direct(conn).await }))
            .await??;
        while self
            .with_writer(|conn| Box::pin(crate::ledger::fill_payment_day_totals(conn)))
            .await?
        {}
        Ok(())
    }

    /// Readiness: a trivial query through the writer (so a stopped writer is noticed) and
    /// through the read pool.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner
            .writer
            .alone(|conn| {
                Box::pin(async move { sqlx::query("SELECT 1").execute(conn).await.map(drop) })
            })
            .await??;
        if let Some(pool) = &self.inner.reads {
            sqlx::query("SELECT 1").execute(pool).await?;
        }
        Ok(())
    }

    /// Runs the writes sent before, then closes every connection; later calls fail with an
    /// unavailable error.
    pub async fn close(&self) {
        if let Some(task) = &self.inner.checkpoints {
            task.abort();
        }
        self.inner.writer.close().await;
        if let Some(pool) = &self.inner.reads {
            pool.close().await;
        }
    }

    /// Runs `work` as one job of the writer (see [`Writer::write`]): its writes stay when it
    /// answers `Ok`, and it is answered once they are committed.
    pub(crate) async fn with_writer<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<Unavailable> + Send + 'static,
    {
        self.inner.writer.write(work).await?
    }

    /// Runs `work` on a read connection (the writer's, for an in-memory database).
    pub(crate) async fn with_reader<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<Unavailable> + Send + 'static,
    {
        match &self.inner.reads {
            Some(pool) => {
                let mut conn = pool.acquire().await.map_err(Unavailable::from)?;
                work(&mut conn).await
            }
            None => self.inner.writer.alone(work).await?,
        }
    }

    /// The writer, for the crate's tests.
    #[cfg(test)]
    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }
}

/// A time as this crate stores it: RFC 3339 in UTC with exactly nine fractional digits, fixed
/// width, so that comparing and sorting the text compares and sorts the times.
pub(crate) fn time_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A JSON array of strings, for `json_each` (one statement for any number of values).
pub(crate) fn json_strings<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::Array(
        values
            .into_iter()
            .map(|v| serde_json::Value::String(v.to_owned()))
            .collect(),
    )
    .to_string()
}

/// Copies the WAL's commits into the database file every [`CHECKPOINT_EVERY`], without waiting
/// for readers or the writer (`PASSIVE`: what a reader still uses is copied at a later round).
/// A round that fails is tried again at the next one: until then the WAL only grows.
async fn checkpoint(mut conn: SqliteConnection) {
    let mut rounds = tokio::time::interval(CHECKPOINT_EVERY);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        rounds.tick().await;
        let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await;
    }
}
