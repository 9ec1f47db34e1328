//! The benchmark's Postgres: a private durable cluster with `pg_stat_statements`, its tables'
//! autovacuum and statistics, and the counters read per operation.

use billing_testservers::TestPostgres;
use sqlx::{Connection as _, PgConnection};

/// A private durable cluster (fsync on, as in production) with `pg_stat_statements` loaded.
pub fn start() -> TestPostgres {
    TestPostgres::start_benchmark().expect("the benchmark's Postgres starts")
}

/// The postmaster's pid, read from `postmaster.pid`.
pub fn postmaster_pid(server: &TestPostgres) -> Option<u32> {
    let pid_file = server.data_dir()?.join("postmaster.pid");
    std::fs::read_to_string(pid_file)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Runs statements on a database, one after the other.
pub async fn execute(url: &str, statements: &[&str]) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.close().await.expect("close");
}

/// A new database with `pg_stat_statements` in it: its URL.
pub async fn database(server: &TestPostgres, prefix: &str) -> String {
    let url = server.create_database(prefix).expect("database");
    execute(&url, &["CREATE EXTENSION IF NOT EXISTS pg_stat_statements"]).await;
    url
}

/// Turns autovacuum (and so autoanalyze) off or back on for every table of the database.
pub async fn autovacuum(url: &str, on: bool) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    for table in tables {
        let statement = if on {
            format!("ALTER TABLE {table} RESET (autovacuum_enabled)")
        } else {
            format!("ALTER TABLE {table} SET (autovacuum_enabled = off)")
        };
        sqlx::query(&statement)
            .execute(&mut conn)
            .await
            .expect("autovacuum setting");
    }
    conn.close().await.expect("close");
}

/// `ANALYZE` the whole database, then autovacuum back on.
pub async fn analyze(url: &str) {
    execute(url, &["ANALYZE"]).await;
    autovacuum(url, true).await;
}

/// Drops a database (its services stopped first).
pub async fn drop_database(server: &TestPostgres, url: &str) {
    let name = name_of(url);
    execute(
        server.url(),
        &[&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")],
    )
    .await;
}

/// Statement counts of a database from `pg_stat_statements`: top-level statements (each one a
/// round trip from the client) and statements run inside functions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Statements {
    /// Top-level statements.
    pub toplevel: i64,
    /// Statements inside functions (`toplevel = false`).
    pub nested: i64,
}

impl Statements {
    /// Counts on the database of `url` (this reading itself left out).
    pub async fn read(url: &str) -> Statements {
        let mut conn = PgConnection::connect(url).await.expect("connect");
        let (toplevel, nested): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(sum(calls) FILTER (WHERE toplevel), 0)::bigint, \
                    COALESCE(sum(calls) FILTER (WHERE NOT toplevel), 0)::bigint \
             FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND query NOT LIKE '%pg_stat_statements%'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("pg_stat_statements (is the extension created?)");
        conn.close().await.expect("close");
        Statements { toplevel, nested }
    }

    /// Per operation since `before`: (round trips, statements inside functions).
    pub fn per(&self, before: &Statements, operations: u64) -> (f64, f64) {
        let n = operations.max(1) as f64;
        (
            (self.toplevel - before.toplevel) as f64 / n,
            (self.nested - before.nested) as f64 / n,
        )
    }
}

/// The name of the database of `url`.
fn name_of(url: &str) -> String {
    url.rsplit('/')
        .next()
        .and_then(|n| n.split('?').next())
        .unwrap_or_default()
        .to_owned()
}

/// The database's committed transactions (`pg_stat_database.xact_commit`) once every backend
/// has published its counts. A busy backend publishes them at most once a second, and an idle
/// one up to 10 s after it went idle: this polls (every 100 ms, up to 30 s, from the server's
/// `postgres` database so that its own reads are not counted) until the count grew by at most
/// 5 a second (the services' background workers) over the last 11 s.
pub async fn settled_commits(server: &TestPostgres, url: &str) -> i64 {
    use std::time::{Duration, Instant};
    let name = name_of(url);
    let mut conn = PgConnection::connect(server.url()).await.expect("connect");
    let mut history: Vec<(Instant, i64)> = Vec::new();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    loop {
        ticks.tick().await;
        let commits: i64 =
            sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
                .bind(&name)
                .fetch_one(&mut conn)
                .await
                .expect("pg_stat_database");
        let now = Instant::now();
        history.push((now, commits));
        let window = Duration::from_secs(11);
        if let Some((_, then)) = history
            .iter()
            .find(|(at, _)| now.duration_since(*at) <= window)
            && now.duration_since(started) >= window
            && commits - then <= 55
        {
            conn.close().await.expect("close");
            return commits;
        }
        if now.duration_since(started) >= Duration::from_secs(30) {
            eprintln!("pg_stat_database did not settle within 30 s");
            conn.close().await.expect("close");
            return commits;
        }
    }
}

/// How many of the database's tables were ever analyzed (by hand or by autovacuum).
pub async fn analyzed_tables(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_user_tables \
         WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL",
    )
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_user_tables");
    conn.close().await.expect("close");
    count
}

/// "before ANALYZE" or "after ANALYZE", with how many tables had statistics.
pub async fn statistics_label(url: &str, analyzed: bool) -> String {
    let tables = analyzed_tables(url).await;
    if analyzed {
        format!("after ANALYZE ({tables} tables analyzed)")
    } else {
        format!("right after loading, before ANALYZE ({tables} tables analyzed)")
    }
}

/// Forgets what `pg_stat_statements` counted so far (on every database).
pub async fn reset_statements(url: &str) {
    execute(url, &["SELECT pg_stat_statements_reset()"]).await;
}

/// A statement as `pg_stat_statements` counted it.
#[derive(Debug, Clone)]
pub struct Counted {
    /// Sent by a client (not run inside a function).
    pub toplevel: bool,
    /// Times run.
    pub calls: i64,
    /// Milliseconds spent in all.
    pub total_ms: f64,
    /// Its text, whitespace squeezed.
    pub query: String,
}

/// The statements of the database that took the most time since the last reset.
pub async fn top_statements(url: &str, count: i64) -> Vec<Counted> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let rows: Vec<(bool, i64, f64, String)> = sqlx::query_as(
        "SELECT toplevel, calls, total_exec_time + total_plan_time, query \
         FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND query NOT LIKE '%pg_stat_statements%' \
         ORDER BY total_exec_time + total_plan_time DESC LIMIT $1",
    )
    .bind(count)
    .fetch_all(&mut conn)
    .await
    .expect("pg_stat_statements");
    conn.close().await.expect("close");
    rows.into_iter()
        .map(|(toplevel, calls, total_ms, query)| Counted {
            toplevel,
            calls,
            total_ms,
            query: query.split_whitespace().collect::<Vec<_>>().join(" "),
        })
        .collect()
}

/// Calls so far of the statements a money move runs (its read and its commits), to tell when
/// the commands still running in the services (after their requests timed out) are done.
pub async fn money_statements(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let calls = sqlx::query_scalar(
        "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND toplevel AND (query LIKE '%billing_commit%' OR query LIKE 'WITH wanted%')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_statements");
    conn.close().await.expect("close");
    calls
}

/// Polls (every 100 ms, up to `deadline`) until the services ran no money-moving statement for
/// a whole second: how long that took.
pub async fn settle(url: &str, deadline: std::time::Duration) -> std::time::Duration {
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let (mut last, mut since) = (money_statements(url).await, Instant::now());
    while started.elapsed() < deadline {
        ticks.tick().await;
        let now = money_statements(url).await;
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= Duration::from_secs(1) {
            break;
        }
    }
    started.elapsed()
}
