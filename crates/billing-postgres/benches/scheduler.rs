//! What it costs the scheduler to pick its next due bookings (`Schedules::take_due`, 50 at a
//! time) with 10³ and with 10⁶ bookings waiting in `booking_schedules`, on PostgreSQL.
//!
//! `cargo bench -p billing-postgres --bench scheduler`; `BENCH_TAKES` (default 2,000) takes per
//! size, `BENCH_SIZES` (default `1000,1000000`) the sizes. Every waiting booking is due (a
//! backlog, the worst case: a take must find the earliest among all of them), spread over the
//! past day, and each take leases what it took until a time still in the past, so that the
//! same bookings stay due and every take does the same work: read the 50 earliest, move them.
//! Each size runs on a table loaded and analyzed first. The server is a private throwaway
//! cluster (or `$DATABASE_URL`).

use std::time::{Duration, Instant};

use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::ports::{BookingSchedule, Clock, Schedules};
use billing_core::testkit::FixedClock;
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use sqlx::Connection as _;

type Error = Box<dyn std::error::Error + Send + Sync>;

const TAKE: u32 = 50;

fn env_numbers(name: &str, default: &[u64]) -> Vec<u64> {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|n| n.trim().replace('_', "").parse().ok())
                .collect::<Vec<u64>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// Loads `count` due bookings: one saved through the port (so that its body is what the store
/// writes), then copied by the server with other ids and due times spread over the past day.
async fn load(url: &str, store: &PostgresStore, count: u64) -> Result<(), Error> {
    let business = BusinessId::new("bench")?;
    let now = FixedClock::default().now();
    let first = BookingSchedule::new(BookingId::new("seed")?, CustomerId::new("c-1")?, now);
    store.save_schedule(&business, &first).await?;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query(
        "INSERT INTO booking_schedules (business_id, booking_id, customer_id, due_at, \
         needs_attention, canceled_at, version, format, body) \
         SELECT s.business_id, 'b-' || lpad(g::text, 8, '0'), 'c-' || (g % 5000), \
                $2::timestamptz - make_interval(secs => (g * 86400.0 / $1)::float8), \
                false, NULL, 1, s.format, s.body \
         FROM booking_schedules s, generate_series(1, $1) g WHERE s.booking_id = 'seed'",
    )
    .bind(i64::try_from(count)?)
    .bind(now)
    .execute(&mut conn)
    .await?;
    sqlx::query("DELETE FROM booking_schedules WHERE booking_id = 'seed'")
        .execute(&mut conn)
        .await?;
    sqlx::query("VACUUM ANALYZE booking_schedules")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Times `takes` takes of [`TAKE`]: each one's duration, sorted.
async fn takes(store: &PostgresStore, takes: u64) -> Result<Vec<Duration>, Error> {
    let now = FixedClock::default().now();
    // In the past: what a take leases stays due, and the next take finds the same work.
    let lease_until = now - chrono::Duration::days(2);
    let mut times = Vec::new();
    for _ in 0..takes {
        let started = Instant::now();
        let taken = store.take_due(now, lease_until, TAKE).await?;
        times.push(started.elapsed());
        if taken.len() != TAKE as usize {
            return Err(format!("a take found {} due bookings", taken.len()).into());
        }
    }
    times.sort();
    Ok(times)
}

fn at(times: &[Duration], quantile: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((times.len() as f64 - 1.0) * quantile).round() as usize;
    times.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Error> {
    let sizes = env_numbers("BENCH_SIZES", &[1_000, 1_000_000]);
    let count = env_numbers("BENCH_TAKES", &[2_000])[0];
    let server = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => TestPostgres::external(url)?,
        _ => TestPostgres::start_private()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for size in &sizes {
        let url = server.create_database(&format!("bench_scheduler_{size}"))?;
        let medians = runtime.block_on(async {
            let store = PostgresStore::connect(&url).await?;
            store.migrate().await?;
            eprintln!("loading {size} due bookings ...");
            load(&url, &store, *size).await?;
            eprintln!("{count} takes of {TAKE} ...");
            let times = takes(&store, count).await?;
            store.close().await;
            Ok::<_, Error>(times)
        })?;
        rows.push((*size, at(&medians, 0.5), at(&medians, 0.99)));
    }
    let base = rows.first().map_or(1.0, |r| r.1);
    println!();
    println!(
        "server: {:?}; {count} takes of {TAKE} per size",
        server.kind()
    );
    println!();
    println!("| bookings waiting | median take | p99 take | median / smallest's |");
    println!("|---|---|---|---|");
    for (size, median, p99) in rows {
        println!(
            "| {size} | {median:.2} ms | {p99:.2} ms | {:.2} |",
            median / base
        );
    }
    Ok(())
}
