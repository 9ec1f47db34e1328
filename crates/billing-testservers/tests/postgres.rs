//! Starts real PostgreSQL servers. Runs as root too (CI does): see the crate docs.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use billing_testservers::postgres::{
    PostgresKind, TestPostgres, pgbench_available, pgbench_init, pgbench_run,
};
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Set in the child process spawned by the tests below; the value says what to do.
const HELPER_ENV: &str = "BILLING_TESTSERVERS_TEST_HELPER";
const HELPER_OUT_ENV: &str = "BILLING_TESTSERVERS_TEST_HELPER_OUT";

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

/// This test binary, running only [`helper_process`]; its output is captured so that
/// its summary lines don't mix with ours.
fn helper() -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap_or_default());
    cmd.args([
        "--exact",
        "helper_process",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

#[tokio::test]
async fn select_one_on_a_fresh_database() -> TestResult {
    let started = Instant::now();
    let pg = TestPostgres::start()?;
    eprintln!(
        "TestPostgres::start ({:?}) took {:?}",
        pg.kind(),
        started.elapsed()
    );
    let url = pg.create_database("select_one")?;
    let mut conn = PgConnection::connect(&url).await?;
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&mut conn).await?;
    assert_eq!(one, 1);
    let db: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut conn)
        .await?;
    assert!(db.starts_with("select_one_"), "{db}");
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn databases_are_isolated() -> TestResult {
    let pg = TestPostgres::start()?;
    let a = pg.create_database("iso")?;
    let b = pg.create_database("iso")?;
    assert_ne!(a, b);

    let mut conn_a = PgConnection::connect(&a).await?;
    sqlx::query("create table invoice (id int primary key)")
        .execute(&mut conn_a)
        .await?;
    sqlx::query("insert into invoice values (1)")
        .execute(&mut conn_a)
        .await?;

    let mut conn_b = PgConnection::connect(&b).await?;
    let seen: Option<String> = sqlx::query_scalar("select to_regclass('invoice')::text")
        .fetch_one(&mut conn_b)
        .await?;
    assert_eq!(seen, None, "table created in database A is visible in B");
    sqlx::query("create table invoice (id int primary key)")
        .execute(&mut conn_b)
        .await?;
    conn_a.close().await?;
    conn_b.close().await?;

    // Dropping the handle drops its databases, even with connections still open.
    let mut lingering = PgConnection::connect(&a).await?;
    let admin = pg.url().to_owned();
    let name_a = a.rsplit('/').next().unwrap_or_default().to_owned();
    drop(pg);
    assert!(
        sqlx::query("select 1")
            .execute(&mut lingering)
            .await
            .is_err()
    );
    let mut admin_conn = PgConnection::connect(&admin).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name_a)
            .fetch_one(&mut admin_conn)
            .await?;
    assert!(!exists, "database {name_a} survived the drop");
    Ok(())
}

#[test]
fn shared_cluster_is_reused_within_and_across_handles() -> TestResult {
    let first = TestPostgres::start_shared()?;
    let second = TestPostgres::start_shared()?;
    assert_eq!(first.kind(), PostgresKind::Shared);
    assert_eq!(first.port(), second.port());
    assert_eq!(first.url(), second.url());
    Ok(())
}

#[tokio::test]
async fn external_url_is_used_as_is() -> TestResult {
    let server = TestPostgres::start_shared()?;
    let external = TestPostgres::external(server.url())?;
    assert_eq!(external.kind(), PostgresKind::External);
    assert_eq!(external.port(), None);
    let url = external.create_database("external")?;
    let mut conn = PgConnection::connect(&url).await?;
    sqlx::query("select 1").execute(&mut conn).await?;
    conn.close().await?;
    drop(external);
    // The server itself is untouched.
    let mut conn = PgConnection::connect(server.url()).await?;
    sqlx::query("select 1").execute(&mut conn).await?;
    conn.close().await?;

    assert!(TestPostgres::external("mysql://localhost/x").is_err());
    Ok(())
}

#[test]
fn database_url_env_is_honoured() -> TestResult {
    let server = TestPostgres::start_shared()?;
    let output = helper()
        .env(HELPER_ENV, "expect-external")
        .env("DATABASE_URL", server.url())
        .output()?;
    assert!(
        output.status.success(),
        "helper failed: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[test]
fn private_cluster_stops_and_is_deleted_on_drop_during_a_panic() -> TestResult {
    let started = Instant::now();
    let pg = TestPostgres::start_private()?;
    eprintln!(
        "private cluster (initdb + start) took {:?}",
        started.elapsed()
    );
    let port = pg.port().ok_or("no port")?;
    let data_dir = pg.data_dir().ok_or("no data dir")?;
    assert!(port_open(port));
    assert!(data_dir.join("PG_VERSION").exists());

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _pg = pg;
        panic!("test failure while holding the server");
    }));
    assert!(result.is_err());
    assert!(!port_open(port), "postgres still listens after the panic");
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
    Ok(())
}

#[test]
fn private_cluster_of_a_killed_process_is_reaped() -> TestResult {
    let out = tempfile::NamedTempFile::new()?;
    let output = helper()
        .env(HELPER_ENV, "start-private-and-abort")
        .env(HELPER_OUT_ENV, out.path())
        .output()?;
    assert!(!output.status.success(), "the helper was supposed to abort");
    let written = std::fs::read_to_string(out.path())?;
    let (port, data_dir) = written.split_once('\n').ok_or_else(|| {
        format!(
            "helper wrote nothing: {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let port: u16 = port.parse()?;
    let data_dir = PathBuf::from(data_dir.trim());
    assert!(
        wait_until(Duration::from_secs(15), || !port_open(port)
            && !data_dir.exists()),
        "cluster of the killed process still around (port {port}, {})",
        data_dir.display()
    );
    Ok(())
}

/// Not a test of its own: the child process of the tests above.
#[test]
#[ignore = "helper run in a child process by other tests"]
fn helper_process() -> TestResult {
    match std::env::var(HELPER_ENV).as_deref() {
        Ok("expect-external") => {
            let pg = TestPostgres::start()?;
            assert_eq!(pg.kind(), PostgresKind::External);
            assert_eq!(
                Some(pg.url()),
                std::env::var("DATABASE_URL").ok().as_deref()
            );
            pg.create_database("from_env")?;
            Ok(())
        }
        Ok("start-private-and-abort") => {
            let pg = TestPostgres::start_private()?;
            let out = std::env::var(HELPER_OUT_ENV)?;
            let port = pg.port().ok_or("no port")?;
            let data_dir = pg.data_dir().ok_or("no data dir")?;
            std::fs::write(out, format!("{port}\n{}\n", data_dir.display()))?;
            // Like a SIGKILL from a test runner's timeout: no destructor runs.
            std::process::abort();
        }
        _ => Ok(()),
    }
}

#[test]
fn pgbench_reports_a_positive_tps() -> TestResult {
    assert!(pgbench_available(), "pgbench not found");
    let pg = TestPostgres::start()?;
    let url = pg.create_database("pgbench")?;
    pgbench_init(&url, 1)?;
    let report = pgbench_run(&url, 4, 3)?;
    eprintln!(
        "pgbench: {:.0} tps, {:?} transactions, latency {:?} ms",
        report.tps, report.transactions, report.latency_avg_ms
    );
    assert!(report.tps > 0.0, "{}", report.output);
    assert_eq!(report.failed_transactions, Some(0));
    Ok(())
}
