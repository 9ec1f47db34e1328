//! A small connection pool.
//!
//! Why not sqlx's `PgPool`: it tests every connection it takes back with a round trip to the
//! server (sqlx 0.8 `return_to_pool` sends a Sync and waits for the answer, on every checkout).
//! A charge takes a connection from the pool seven times, and that ping alone was a third of
//! its round trips. This pool returns a connection at once when it is known to be clean (no statement
//! under way, no transaction open), rolls back a dropped transaction in the background, and
//! closes a connection whose state is unknown (a statement cancelled mid-way, an I/O error).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pool. Clones share the connections.
#[derive(Debug, Clone)]
pub(crate) struct ConnPool {
    inner: Arc<Inner>,
}

/// How long a connection is reused. Postgres keeps a session's plans for its prepared
/// statements until an ANALYZE or a schema change invalidates them; renewing connections bounds
/// how long any plan lives.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// An idle connection and when it was opened.
#[derive(Debug)]
struct Idle {
    conn: PgConnection,
    opened: Instant,
}

#[derive(Debug)]
struct Inner {
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection that may exist (idle or checked out).
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl Inner {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The lock only guards pushes and pops; a panic cannot leave the Vec inconsistent.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ConnPool {
    pub(crate) fn new(options: PgConnectOptions, max: u32, acquire_timeout: Duration) -> Self {
        ConnPool {
            inner: Arc::new(Inner {
                options,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(usize::try_from(max.max(1)).unwrap_or(1))),
                acquire_timeout,
            }),
        }
    }

    /// A connection: an idle one, or a new one when none is idle and the pool is not full.
    pub(crate) async fn acquire(&self) -> Result<PooledConn, sqlx::Error> {
        let permit = tokio::time::timeout(
            self.inner.acquire_timeout,
            self.inner.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
        .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.inner.idle().pop();
        let (conn, opened) = match idle {
            Some(idle) => (idle.conn, idle.opened),
            None => (
                PgConnection::connect_with(&self.inner.options).await?,
                Instant::now(),
            ),
        };
        Ok(PooledConn {
            conn: Some(conn),
            permit: Some(permit),
            pool: self.inner.clone(),
            busy: false,
            in_transaction: false,
            opened,
        })
    }

    /// Closes the idle connections and refuses new checkouts; checked-out connections are
    /// closed when they come back.
    pub(crate) async fn close(&self) {
        self.inner.permits.close();
        let idle = std::mem::take(&mut *self.inner.idle());
        for Idle { conn, .. } in idle {
            // Best effort: the server drops the session when the socket closes anyway.
            let _ = conn.close().await;
        }
    }
}

/// A checked-out connection. Statements go through [`PooledConn::start`] and
/// [`PooledConn::finish`], so that the pool knows whether it can take the connection back.
#[derive(Debug)]
pub(crate) struct PooledConn {
    conn: Option<PgConnection>,
    permit: Option<OwnedSemaphorePermit>,
    pool: Arc<Inner>,
    /// A statement was started and has not finished: if it was cancelled, the connection may
    /// still have an answer in flight, so it cannot be reused.
    busy: bool,
    /// A transaction is open on the connection: it must be rolled back before reuse.
    in_transaction: bool,
    /// When the connection was opened.
    opened: Instant,
}

impl PooledConn {
    /// The connection, for one statement; call [`PooledConn::finish`] with its result.
    pub(crate) fn start(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        self.busy = true;
        self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// Records a statement's outcome. An error the server reported leaves the connection in
    /// step with the server, unless the server ended the session with it (a fatal error: the
    /// backend was terminated, or is shutting down); any other error (I/O, protocol) leaves it
    /// unusable.
    pub(crate) fn finish<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        match &result {
            Ok(_) => self.busy = false,
            Err(sqlx::Error::Database(error)) if !ends_session(error.as_ref()) => self.busy = false,
            Err(_) => {}
        }
        result
    }
}

/// True when the server ended the session with the error: a FATAL or PANIC (a terminated
/// backend, a shutdown), or an error of a class that means the same (operator intervention,
/// connection exception).
fn ends_session(error: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::postgres::{PgDatabaseError, PgSeverity};
    let fatal = error
        .try_downcast_ref::<PgDatabaseError>()
        .is_some_and(|e| matches!(e.severity(), PgSeverity::Fatal | PgSeverity::Panic));
    let class = error.code().map(|c| c.chars().take(2).collect::<String>());
    fatal || matches!(class.as_deref(), Some("57" | "08"))
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let permit = self.permit.take();
        let pool = self.pool.clone();
        let opened = self.opened;
        if self.busy || pool.permits.is_closed() || opened.elapsed() > MAX_LIFETIME {
            // Dropped: the socket closes, and the server rolls back whatever was open. (A
            // graceful close would need the runtime; the server does not mind.)
            return;
        }
        if !self.in_transaction {
            pool.idle().push(Idle { conn, opened });
            drop(permit);
            return;
        }
        // A transaction dropped without commit: roll it back before anyone reuses the
        // connection (its locks are held until then), keeping its permit meanwhile.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if Executor::execute(&mut conn, "ROLLBACK").await.is_ok() {
                pool.idle().push(Idle { conn, opened });
            }
            drop(permit);
        });
    }
}

impl PooledConn {
    /// Runs raw SQL (one or more statements, no parameters) and discards any rows.
    pub(crate) async fn simple(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let conn = self.start()?;
        // A bare &str has no arguments, so sqlx sends it with the simple-query protocol.
        let result = Executor::execute(conn, sql).await.map(drop);
        self.finish(result)
    }

    /// Opens a transaction.
    pub(crate) async fn begin(&mut self) -> Result<(), sqlx::Error> {
        // Marked first: if BEGIN's answer is lost, the drop still rolls back.
        self.in_transaction = true;
        self.simple("BEGIN").await
    }

    /// Commits the open transaction.
    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.simple("COMMIT").await?;
        self.in_transaction = false;
        Ok(())
    }
}

/// Runs one statement on a checked-out [`PooledConn`]: `run!(&mut pooled, |conn| body)`, where
/// `body` is an expression (with its `.await`) using `conn: &mut PgConnection` and giving a
/// `Result<T, sqlx::Error>`. A macro rather than a method taking an async closure: the futures
/// of the port traits must be `Send`, which async closures cannot yet promise.
macro_rules! run {
    ($pooled:expr, |$conn:ident| $body:expr) => {{
        let pooled: &mut $crate::pool::PooledConn = $pooled;
        match pooled.start() {
            Ok($conn) => {
                let result = $body;
                pooled.finish(result)
            }
            Err(error) => Err(error),
        }
    }};
}
pub(crate) use run;

/// Runs one statement on a connection of the store's pool, outside any transaction:
/// `on_pool!(store, |conn| body)`, giving the body's `Result<T, sqlx::Error>`.
macro_rules! on_pool {
    ($store:expr, |$conn:ident| $body:expr) => {{
        match $store.pool.acquire().await {
            Ok(mut pooled) => $crate::pool::run!(&mut pooled, |$conn| $body),
            Err(error) => Err(error),
        }
    }};
}
pub(crate) use on_pool;
