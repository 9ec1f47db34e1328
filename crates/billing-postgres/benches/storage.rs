//! Charges per second through the core's `Billing` on PostgreSQL, against pgbench's TPC-B-like
//! rate on the same server.
//!
//! `cargo bench -p billing-postgres --bench storage`; `BENCH_SECONDS` (default 10) sets each
//! run's length, `BENCH_TASKS` (default 8) the concurrency of both runs, `PGBENCH_SCALE`
//! (default: the concurrency, so pgbench's clients do not all queue on one branch row) the
//! pgbench scale. The server is the one `TestPostgres::start` gives: `$DATABASE_URL`, else the
//! workspace's throwaway cluster.
//!
//! Each charge is the whole command as the service runs it: read the booking and the customer's
//! cards, open the payment under the booking's lock (one transaction), call the (scripted)
//! gateway, record its answer (a second transaction), read the receipt. One booking per charge,
//! so the tasks never wait on each other's locks, as pgbench's clients rarely do at that scale.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use billing_core::ports::{Ledger, LedgerWrite};
use billing_core::prelude::*;
use billing_core::status::summarize;
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use billing_testservers::postgres::{pgbench_available, pgbench_init, pgbench_run};
use sqlx::Connection as _;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Server-side transaction count of the current database (commits and rollbacks).
async fn server_transactions(url: &str) -> Result<i64, Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    // Statistics reach pg_stat_database with a delay: ask for a fresh snapshot.
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut conn)
        .await?;
    let count = sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(count)
}

/// Creates `count` bookings of 100.00 for `customer`, 200 per transaction, with `tasks` writers.
async fn create_bookings(
    store: &PostgresStore,
    business: &BusinessId,
    customer: &CustomerId,
    count: usize,
    tasks: usize,
) -> Result<(), Error> {
    let clock = FixedClock::default();
    let next = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..tasks {
        let (store, business, customer, next) = (
            store.clone(),
            business.clone(),
            customer.clone(),
            next.clone(),
        );
        let now = billing_core::ports::Clock::now(&clock);
        writers.push(tokio::spawn(async move {
            loop {
                let start = next.fetch_add(200, Ordering::Relaxed);
                if start >= count {
                    return Ok::<(), Error>(());
                }
                let mut write = LedgerWrite::default();
                for n in start..(start + 200).min(count) {
                    let account = BookingAccount::new(
                        BookingId::new(format!("bench-{n:08}"))?,
                        customer.clone(),
                        Currency::USD,
                        vec![LineItem::new(
                            LineItemKind::Service,
                            "Deep clean",
                            Money::from_minor(10_000, Currency::USD),
                        )?],
                    )?;
                    write.summaries.push(summarize(&account, &[], now)?);
                    write.read.push((account.id.clone(), 0));
                    write.bookings.push(account);
                }
                store.commit(&business, &write).await?;
            }
        }));
    }
    for writer in writers {
        writer.await??;
    }
    Ok(())
}

/// CPU seconds used so far, from `/proc` (Linux; zero elsewhere): this process (`own`), its
/// waited-for children (`children`, pgbench), and the Postgres server of `postmaster_pid`
/// with every process it runs (`server`; exited backends count through the postmaster).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    own: f64,
    children: f64,
    server: f64,
}

/// `utime stime cutime cstime` of `/proc/<pid>/stat`, in seconds, and the parent pid.
fn proc_times(pid: &str) -> Option<(f64, f64, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|t| t / 100.0)
    };
    let ppid = fields.get(1)?.parse().ok()?;
    Some((tick(11)? + tick(12)?, tick(13)? + tick(14)?, ppid))
}

impl Cpu {
    fn now(postmaster: Option<u32>) -> Cpu {
        let (own, children, _) = proc_times("self").unwrap_or_default();
        let mut server = 0.0;
        if let Some(postmaster) = postmaster {
            if let Some((live, reaped, _)) = proc_times(&postmaster.to_string()) {
                server += live + reaped;
            }
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let name = entry.file_name();
                let Some(pid) = name
                    .to_str()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                else {
                    continue;
                };
                if let Some((live, _, ppid)) = proc_times(pid)
                    && ppid == postmaster
                {
                    server += live;
                }
            }
        }
        Cpu {
            own,
            children,
            server,
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            own: self.own - before.own,
            children: self.children - before.children,
            server: self.server - before.server,
        }
    }
}

/// The postmaster of a cluster started by the test servers (none for an external server).
fn postmaster_pid(server: &TestPostgres) -> Option<u32> {
    let pid_file = server.data_dir()?.join("postmaster.pid");
    std::fs::read_to_string(pid_file)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

struct Measured {
    operations: u64,
    elapsed: Duration,
    /// Client CPU seconds.
    client: f64,
    /// Server CPU seconds.
    server: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64()
    }

    /// CPU milliseconds per operation: client, server.
    fn cpu_ms(&self) -> (f64, f64) {
        let per = |seconds: f64| seconds * 1000.0 / self.operations.max(1) as f64;
        (per(self.client), per(self.server))
    }
}

/// Charges booking `bench-<n>` for its balance.
async fn charge(billing: &Billing, business: &Business, n: usize) -> Result<(), Error> {
    let receipt = billing
        .charge(
            business,
            ChargeBooking {
                booking: BookingId::new(format!("bench-{n:08}"))?,
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await?;
    if receipt.payment.state != PaymentState::Succeeded {
        return Err(format!("charge {n} did not succeed").into());
    }
    Ok(())
}

/// Runs `charge` for bookings `next..limit` on `tasks` tasks until the deadline; how many.
async fn run_charges(
    billing: &Arc<Billing>,
    business: &Business,
    next: &Arc<AtomicUsize>,
    limit: usize,
    tasks: usize,
    deadline: Instant,
) -> Result<u64, Error> {
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..tasks {
        let (billing, business, next, done) = (
            billing.clone(),
            business.clone(),
            next.clone(),
            done.clone(),
        );
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                charge(&billing, &business, n).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), Error>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(u64::try_from(done.load(Ordering::Relaxed))?)
}

fn service(store: PostgresStore, gateway: &ScriptedGateway, prefix: &str) -> Arc<Billing> {
    Arc::new(Billing::new(
        Arc::new(store),
        Arc::new(gateway.clone()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    ))
}

async fn bench_charges(
    url: &str,
    tasks: usize,
    seconds: u32,
    postmaster: Option<u32>,
) -> Result<(Measured, f64), Error> {
    let pool_size = u32::try_from(tasks)?;
    let setup = PostgresStore::connect_with_pool_size(url, pool_size).await?;
    setup.migrate().await?;
    let gateway = ScriptedGateway::new();
    let billing = service(setup.clone(), &gateway, "setup");
    let business = Business {
        id: BusinessId::new("bench-business")?,
        name: "Bench Cleaning".into(),
        gateway_account: None,
        email: None,
    };
    let customer = CustomerId::new("bench-customer")?;
    billing
        .put_customer(
            &business,
            Customer {
                id: customer.clone(),
                name: "Ada".into(),
                email: None,
                phone: None,
                gateway_customer: None,
            },
        )
        .await?;
    billing
        .attach_card(&business, &customer, "pm_card_visa")
        .await?;

    // Enough bookings for a generous rate; a run that uses them all stops early and reports
    // the rate over the time it ran.
    let warmup = 2_000;
    let bookings = warmup + usize::try_from(seconds)? * 6_000;
    let started = Instant::now();
    create_bookings(&setup, &business.id, &customer, bookings, tasks).await?;
    eprintln!("created {bookings} bookings in {:.1?}", started.elapsed());

    // A steady state, as a service that has been running has: a ledger with history, planner
    // statistics, and connections whose cached plans were made on those statistics. Plans made
    // on the empty tables of a new database scan whole tables once they have grown, so the
    // history is written in steps, with ANALYZE and fresh connections after each.
    setup.close().await;
    let next = Arc::new(AtomicUsize::new(0));
    let far = Instant::now() + Duration::from_secs(3600);
    let started = Instant::now();
    for step in 1..=8 {
        let store = PostgresStore::connect_with_pool_size(url, pool_size).await?;
        let billing = service(store.clone(), &gateway, &format!("warm{step}"));
        run_charges(&billing, &business, &next, warmup * step / 8, tasks, far).await?;
        store.close().await;
        let mut admin = sqlx::PgConnection::connect(url).await?;
        sqlx::query("ANALYZE").execute(&mut admin).await?;
        admin.close().await?;
    }
    eprintln!("warm-up: {warmup} charges in {:.1?}", started.elapsed());

    let store = PostgresStore::connect_with_pool_size(url, pool_size).await?;
    let billing = service(store.clone(), &gateway, "bench");
    let charges_before = gateway.count("charge");
    let transactions_before = server_transactions(url).await?;
    let cpu_before = Cpu::now(postmaster);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(u64::from(seconds));
    let operations = run_charges(&billing, &business, &next, bookings, tasks, deadline).await?;
    let elapsed = started.elapsed();
    let cpu = Cpu::now(postmaster).since(cpu_before);
    let transactions = server_transactions(url).await? - transactions_before;
    if gateway.count("charge") - charges_before != usize::try_from(operations)? {
        return Err("the gateway's charge count differs from the charges counted".into());
    }
    store.close().await;
    Ok((
        Measured {
            operations,
            elapsed,
            client: cpu.own,
            server: cpu.server,
        },
        transactions as f64 / operations.max(1) as f64,
    ))
}

fn main() -> Result<(), Error> {
    let seconds = env_number("BENCH_SECONDS", 10);
    let tasks = env_number("BENCH_TASKS", 8);
    let scale = env_number("PGBENCH_SCALE", tasks);
    if !pgbench_available() {
        return Err("pgbench not found: install PostgreSQL's client tools".into());
    }
    // A cluster of the benchmark's own (unless DATABASE_URL names a server): tests running
    // on the workspace's shared cluster at the same time would skew both runs.
    let server = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => TestPostgres::external(url)?,
        _ => TestPostgres::start_private()?,
    };
    let postmaster = postmaster_pid(&server);
    let billing_url = server.create_database("bench_billing")?;
    let pgbench_url = server.create_database("bench_pgbench")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    eprintln!("billing: {tasks} tasks, {seconds} s ...");
    let (charges, per_charge) = runtime.block_on(bench_charges(
        &billing_url,
        usize::try_from(tasks)?,
        seconds,
        postmaster,
    ))?;
    drop(runtime);

    eprintln!("pgbench: initializing scale {scale} ...");
    pgbench_init(&pgbench_url, scale)?;
    eprintln!("pgbench: -c {tasks} -j {tasks} -T {seconds} ...");
    let before = Cpu::now(postmaster);
    let pgbench = pgbench_run(&pgbench_url, tasks, seconds)?;
    // pgbench's backends exit after it does: let the postmaster reap them, so that their
    // time is in its children's total rather than nowhere.
    std::thread::sleep(Duration::from_millis(500));
    let cpu = Cpu::now(postmaster).since(before);
    let transactions = pgbench.transactions.unwrap_or_default();
    let pgbench_measured = Measured {
        operations: transactions,
        elapsed: Duration::from_secs(u64::from(seconds)),
        client: cpu.children,
        server: cpu.server,
    };

    let ratio = charges.rate() / pgbench.tps;
    let cpu_cell = |m: &Measured| {
        if postmaster.is_none() {
            return "   client ?, server ?".to_owned();
        }
        let (client, server) = m.cpu_ms();
        format!("client {client:.3}, server {server:.3}")
    };
    println!();
    println!(
        "server: {:?}; {tasks} concurrent clients; {seconds} s each",
        server.kind()
    );
    println!();
    println!(
        "| workload                                    |    done | seconds | per second | CPU ms per op                |"
    );
    println!(
        "|---------------------------------------------|---------|---------|------------|------------------------------|"
    );
    println!(
        "| billing charge (Billing + ScriptedGateway)  | {:>7} | {:>7.1} | {:>10.1} | {:<28} |",
        charges.operations,
        charges.elapsed.as_secs_f64(),
        charges.rate(),
        cpu_cell(&charges),
    );
    println!(
        "| pgbench tpcb-like transaction (scale {scale:<3})   | {:>7} | {:>7.1} | {:>10.1} | {:<28} |",
        transactions,
        f64::from(seconds),
        pgbench.tps,
        cpu_cell(&pgbench_measured),
    );
    println!();
    println!("charges per second / pgbench transactions per second = {ratio:.2} (target >= 0.50)");
    println!("server transactions per charge (pg_stat_database): {per_charge:.1}");
    Ok(())
}
