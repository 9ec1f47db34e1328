//! The writer: every write of a store goes through one task that owns the store's only write
//! connection, and commits the jobs waiting for it together (group commit).
//!
//! Callers send the writer jobs: a boxed async closure over the connection, and a oneshot for
//! its typed result. The writer takes the first job and every job already queued behind it (up
//! to [`MAX_GROUP`]), and runs them in one `BEGIN IMMEDIATE` … `COMMIT`, each inside its own
//! `SAVEPOINT`: a job that fails or refuses (a conflict, a taken key) rolls back to its
//! savepoint and leaves the others be. Each job is answered only once the COMMIT is durable; if
//! the COMMIT fails, every job of the group gets that error, and nothing of the group is
//! written.
//!
//! So no write of this process ever waits in SQLite's busy handler for another write of this
//! process (the handler sleeps up to 100 ms at a time: with a transaction per request on a pool,
//! the p99 of a charge at 16 concurrent clients was 882 ms), and one fsync covers a whole group.
//! The busy timeout still covers other processes writing the same file.
//!
//! A job, once sent, runs to its end in the writer task whatever happens to its caller: a
//! caller dropped while waiting (a cancelled request) cannot leave half a job applied. A job
//! not yet sent when its caller is dropped is never sent.
//!
//! "Alone" jobs run outside any transaction (migrations, which manage their own, and the reads
//! of an in-memory database, which has no other connection to read from).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;

use sqlx::{Connection as _, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

/// At most this many jobs share one transaction: a bound on how long the first of them waits
/// for the group's commit.
pub(crate) const MAX_GROUP: usize = 64;

/// Jobs waiting for the writer, at most; callers beyond it wait to send theirs.
const QUEUE: usize = 1024;

/// A boxed future borrowing the connection for `'c`.
pub(crate) type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Why the store could not serve a call: it is closed, its writer stopped, a connection could
/// not be had, or a group's transaction failed (nothing of the group was written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unavailable(pub(crate) String);

impl From<sqlx::Error> for Unavailable {
    fn from(error: sqlx::Error) -> Self {
        Unavailable(error.to_string())
    }
}

fn closed() -> Unavailable {
    Unavailable("the SQLite store is closed".into())
}

/// How many groups the writer committed (or tried to) and how many jobs they held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Write transactions begun, one per group.
    pub groups: u64,
    /// Jobs run inside them.
    pub jobs: u64,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    jobs: AtomicU64,
}

/// What the writer receives.
enum Message {
    /// A job, grouped with others in one transaction or run alone outside any.
    Job { job: Box<dyn Job>, grouped: bool },
    /// Run what came before, close the connection, answer, and stop.
    Close(oneshot::Sender<()>),
}

/// A job with its result's type erased.
trait Job: Send {
    /// Runs the job; its answer waits for the group's end.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran>;

    /// Answers without running (the group could not begin, or the store closed).
    fn fail(self: Box<Self>, error: Unavailable);
}

/// A job that ran: whether its writes stay, and its answer, sent once the group ends.
struct Ran {
    keep: bool,
    answer: Box<dyn Answer>,
}

trait Answer: Send {
    /// Sends the job's result if the group committed, the group's error otherwise.
    fn send(self: Box<Self>, group: Result<(), Unavailable>);
}

struct Typed<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T, Unavailable>>,
    keep: fn(&T) -> bool,
}

impl<F, T> Job for Typed<F, T>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, T> + Send + 'static,
    T: Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        let Typed { work, reply, keep } = *self;
        Box::pin(async move {
            let value = work(conn).await;
            Ran {
                keep: keep(&value),
                answer: Box::new(Reply { value, reply }),
            }
        })
    }

    fn fail(self: Box<Self>, error: Unavailable) {
        // The caller may be gone (cancelled): nobody to tell.
        let _ = self.reply.send(Err(error));
    }
}

struct Reply<T> {
    value: T,
    reply: oneshot::Sender<Result<T, Unavailable>>,
}

impl<T: Send> Answer for Reply<T> {
    fn send(self: Box<Self>, group: Result<(), Unavailable>) {
        let Reply { value, reply } = *self;
        let _ = reply.send(group.map(|()| value));
    }
}

/// The handle on the writer task. Dropping the last handle stops the task once the jobs sent
/// before have run, and closes its connection.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Message>,
    closed: AtomicBool,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer task (on the current Tokio runtime) over its connection.
    pub(crate) fn start(conn: SqliteConnection) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(conn, queue, counters.clone()));
        Writer {
            jobs,
            closed: AtomicBool::new(false),
            counters,
        }
    }

    /// Runs `work` in the next group's transaction and answers once the group committed. The
    /// job's writes stay when it answers `Ok`; an `Err` rolls them back (to its savepoint), the
    /// rest of the group going on.
    pub(crate) async fn write<T, E, F>(&self, work: F) -> Result<Result<T, E>, Unavailable>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.send(work, true, Result::is_ok).await
    }

    /// Runs `work` on the writer's connection outside any transaction, between groups.
    pub(crate) async fn alone<T, F>(&self, work: F) -> Result<T, Unavailable>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, T> + Send + 'static,
        T: Send + 'static,
    {
        self.send(work, false, |_| true).await
    }

    async fn send<T, F>(
        &self,
        work: F,
        grouped: bool,
        keep: fn(&T) -> bool,
    ) -> Result<T, Unavailable>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, T> + Send + 'static,
        T: Send + 'static,
    {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed { work, reply, keep });
        // Dropped while waiting here, the job is never sent; once sent, it runs to its end.
        self.jobs
            .send(Message::Job { job, grouped })
            .await
            .map_err(|_| closed())?;
        answer
            .await
            .map_err(|_| Unavailable("the SQLite writer stopped before answering".into()))?
    }

    /// Runs the jobs sent before, closes the write connection and stops the task; every later
    /// job fails as unavailable.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let (ack, done) = oneshot::channel();
        if self.jobs.send(Message::Close(ack)).await.is_ok() {
            // An error means the task is gone already.
            let _ = done.await;
        }
    }

    /// How many groups and jobs the writer ran so far.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            groups: self.counters.groups.load(Ordering::Relaxed),
            jobs: self.counters.jobs.load(Ordering::Relaxed),
        }
    }

    /// Jobs sent and not yet taken by the writer.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }
}

/// The writer task: takes what is queued, runs grouped jobs in one transaction and alone jobs
/// by themselves, in the order they came.
async fn run(
    mut conn: SqliteConnection,
    mut queue: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
) {
    let mut batch = Vec::with_capacity(MAX_GROUP);
    loop {
        batch.clear();
        if queue.recv_many(&mut batch, MAX_GROUP).await == 0 {
            // Every handle is gone.
            break;
        }
        let mut group: Vec<Box<dyn Job>> = Vec::new();
        let mut close = None;
        for message in batch.drain(..) {
            if close.is_some() {
                refuse(message);
                continue;
            }
            match message {
                Message::Job { job, grouped: true } => group.push(job),
                Message::Job {
                    job,
                    grouped: false,
                } => {
                    commit_group(&mut conn, std::mem::take(&mut group), &counters).await;
                    if let Some(ran) = guarded(job, &mut conn).await {
                        ran.answer.send(Ok(()));
                    }
                }
                Message::Close(ack) => {
                    commit_group(&mut conn, std::mem::take(&mut group), &counters).await;
                    close = Some(ack);
                }
            }
        }
        commit_group(&mut conn, group, &counters).await;
        if let Some(ack) = close {
            queue.close();
            while let Ok(message) = queue.try_recv() {
                refuse(message);
            }
            let _ = conn.close().await;
            let _ = ack.send(());
            return;
        }
    }
    let _ = conn.close().await;
}

/// Answers a message that came after the store was closed.
fn refuse(message: Message) {
    match message {
        Message::Job { job, .. } => job.fail(closed()),
        Message::Close(ack) => {
            let _ = ack.send(());
        }
    }
}

/// Runs statements without arguments. (A boxed future: the writer task's future must be
/// `Send` for every lifetime of the connection, which the compiler cannot prove through
/// sqlx's generic executors.)
fn execute<'c>(
    conn: &'c mut SqliteConnection,
    sql: &'static str,
) -> BoxFuture<'c, Result<(), Unavailable>> {
    Box::pin(async move {
        sqlx::query(sql).execute(conn).await?;
        Ok(())
    })
}

/// Runs a job to its end; `None` if it panicked (the writer, and the other jobs of its group,
/// go on).
async fn guarded(job: Box<dyn Job>, conn: &mut SqliteConnection) -> Option<Ran> {
    let mut running = job.run(conn);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| running.as_mut().poll(cx))) {
            Ok(Poll::Ready(ran)) => Poll::Ready(Some(ran)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    })
    .await
}

/// Begins the group's transaction and the first job's savepoint. (Each boundary between jobs
/// is one round trip to SQLite: what ends a job, and what starts the next.)
const OPEN: &str = "BEGIN IMMEDIATE; SAVEPOINT job";
/// The job's writes stay; the next job starts.
const KEEP_NEXT: &str = "RELEASE job; SAVEPOINT job";
/// The job's writes are undone; the next job starts.
const UNDO_NEXT: &str = "ROLLBACK TO job; RELEASE job; SAVEPOINT job";
/// The last job's writes stay; the group commits.
const KEEP_COMMIT: &str = "RELEASE job; COMMIT";
/// The last job's writes are undone; the group commits.
const UNDO_COMMIT: &str = "ROLLBACK TO job; RELEASE job; COMMIT";

/// Begins the group's transaction. Should an earlier group's transaction be still open (its
/// ROLLBACK failed), it is rolled back first, so that one failure does not fail every later
/// group.
async fn begin(conn: &mut SqliteConnection) -> Result<(), Unavailable> {
    match execute(conn, OPEN).await {
        Err(error) if error.0.contains("within a transaction") => {
            execute(conn, "ROLLBACK").await?;
            execute(conn, OPEN).await
        }
        other => other,
    }
}

/// Runs a group in one write transaction, each job in its own savepoint, and answers every
/// job once the transaction ended.
async fn commit_group(conn: &mut SqliteConnection, jobs: Vec<Box<dyn Job>>, counters: &Counters) {
    if jobs.is_empty() {
        return;
    }
    counters.groups.fetch_add(1, Ordering::Relaxed);
    counters
        .jobs
        .fetch_add(jobs.len() as u64, Ordering::Relaxed);
    // IMMEDIATE takes the write lock now (waiting in the busy handler only while another
    // process writes): every job of the group then reads the latest commit.
    if let Err(error) = begin(conn).await {
        // Should BEGIN have passed and the savepoint failed, the transaction ends here.
        let _ = execute(conn, "ROLLBACK").await;
        for job in jobs {
            job.fail(error.clone());
        }
        return;
    }
    let mut answers = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter().peekable();
    let mut outcome = Ok(());
    while let Some(job) = jobs.next() {
        // A job that panicked is undone; its caller, whose answer went with it, hears that
        // the writer could not answer.
        let keep = match guarded(job, conn).await {
            Some(ran) => {
                answers.push(ran.answer);
                ran.keep
            }
            None => false,
        };
        let end = match (keep, jobs.peek().is_some()) {
            (true, true) => KEEP_NEXT,
            (false, true) => UNDO_NEXT,
            (true, false) => KEEP_COMMIT,
            (false, false) => UNDO_COMMIT,
        };
        if let Err(error) = execute(conn, end).await {
            // A failed COMMIT, or a transaction in an unknown state (SQLite may have rolled
            // it back on an I/O error): nothing of the group may be taken as written.
            for job in jobs.by_ref() {
                job.fail(error.clone());
            }
            outcome = Err(error);
        }
    }
    if outcome.is_err() {
        // A failed COMMIT may leave the transaction open (a deferred constraint): end it, so
        // that the next group starts clean. It fails harmlessly when SQLite ended it already.
        let _ = execute(conn, "ROLLBACK").await;
    }
    for answer in answers {
        answer.send(outcome.clone());
    }
}

#[cfg(test)]
mod tests;
