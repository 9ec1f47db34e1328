//! `cargo bench -p billing-blackbox --bench http`: the service under load through HTTP, on a
//! private durable Postgres (fsync on, `pg_stat_statements` loaded) with the sandbox gateway (no
//! added latency), with `BENCH_BOOKINGS` bookings (half of them paid by check) already in the
//! business. Every part runs twice: right after the data is loaded, before any ANALYZE
//! (autovacuum off on every table, and `billingd`'s connections planned their statements while
//! the tables were nearly empty), then after ANALYZE.
//!
//! 1. `throughput`: charges per second at `BENCH_CLIENTS` closed-loop clients, each request
//!    charging its own booking with its own `Idempotency-Key`, against pgbench tpcb-like at as
//!    many clients on the same server in the same run; round trips, statements inside functions
//!    and commits per charge; CPU per charge of `billingd`, Postgres and the load generator.
//!    Then the open loop: charges launched at half that peak for `BENCH_SECONDS`, latency from
//!    each one's due time.
//! 2. `two`: two `billingd serve` on the same database: the duplicate-charge hammer through both,
//!    checked against the ledger, and their combined throughput on distinct bookings.
//!
//! Full run: `cargo bench -p billing-blackbox --bench http` (release `billingd` from
//! `BILLINGD_BINARY`, else built). Each closed-loop, open-loop and two-process run takes
//! `BENCH_SECONDS`; the pgbench load at scale 64 takes minutes, and so does the hammer before
//! ANALYZE while the plans made on empty tables are slow. Quick check (a couple of minutes): `BENCH_SECONDS=2 BENCH_BOOKINGS=10000 BENCH_CUSTOMERS=100
//! PGBENCH_SCALE=2 BENCH_HAMMER_BOOKINGS=2 BENCH_HAMMER_REQUESTS=40 cargo bench -p
//! billing-blackbox --bench http`. `-- throughput` or `-- two` runs one part.
//!
//! Settings: `BENCH_SECONDS` (10) per run, `BENCH_BOOKINGS` (100,000) preloaded, `BENCH_CLIENTS`
//! (64), `BENCH_CUSTOMERS` (1,000 per process) with cards, whose bookings are charged,
//! `PGBENCH_SCALE` (64), `BENCH_MAX_RATE` (4,000: bookings made per second of a closed-loop run),
//! `BENCH_HAMMER_BOOKINGS` (5) × `BENCH_HAMMER_REQUESTS` (200), `BENCH_SETTLE_SECONDS` (600),
//! `BENCH_WARM` (1; 0: the services charge nothing before the data is loaded, so that their
//! statements are first planned on the loaded tables).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use billing_blackbox::Service;
use billing_testservers::postgres::{pgbench_init, pgbench_run};
use support::cpu::{Used, Watched};
use support::hammer::{Hammer, hammer};
use support::load::{
    Lane, OpenRun, Run, Target, check_preloaded, closed_loop, customers_with_cards, open_loop,
};
use support::pg::{Counted, Statements};
use support::{Settings, ms, percentile, pg, seed};

#[derive(Debug, Clone, Copy)]
struct Config {
    seconds: u64,
    bookings: u64,
    clients: u64,
    customers: u64,
    scale: u64,
    /// Bookings to make per second of a closed-loop run (a ceiling on its rate).
    max_rate: u64,
    hammer_bookings: u64,
    hammer_requests: u64,
    /// How long the services may take to finish the hammer's commands that timed out.
    settle_seconds: u64,
    /// Whether the services charge bookings on the empty tables first (1) or not (0).
    warm: bool,
}

/// Twin customers: made first, one at a time, in each process, so that both sandboxes hold the
/// same gateway customers and cards (a sandbox keeps them in memory, per process).
const TWINS: u64 = 10;

#[derive(Debug)]
struct Throughput {
    run: Run,
    /// Round trips and statements inside functions per charge.
    statements: (f64, f64),
    /// Committed transactions per charge.
    commits: f64,
    /// The statements that took the server the most time.
    top: Vec<Counted>,
    cpu: Used,
}

#[derive(Debug, Default)]
struct Phase {
    label: String,
    throughput: Option<Throughput>,
    open: Option<(f64, OpenRun)>,
    hammer: Option<Hammer>,
    two: Option<(Run, Used)>,
}

fn main() {
    let mut settings = Settings::new("http");
    let config = Config {
        seconds: settings.number("BENCH_SECONDS", 10),
        bookings: settings.number("BENCH_BOOKINGS", 100_000),
        clients: settings.number("BENCH_CLIENTS", 64),
        customers: settings.number("BENCH_CUSTOMERS", 1_000),
        scale: settings.number("PGBENCH_SCALE", 64),
        max_rate: settings.number("BENCH_MAX_RATE", 4_000),
        hammer_bookings: settings.number("BENCH_HAMMER_BOOKINGS", 5),
        hammer_requests: settings.number("BENCH_HAMMER_REQUESTS", 200),
        settle_seconds: settings.number("BENCH_SETTLE_SECONDS", 600),
        warm: settings.number("BENCH_WARM", 1) != 0,
    };
    billing_blackbox::release_billingd_binary();
    support::runtime().block_on(run(config, settings));
}

async fn run(config: Config, settings: Settings) {
    let (throughput, two) = (settings.runs("throughput"), settings.runs("two"));
    let server = pg::start();
    let url = pg::database(&server, "bench_http").await;
    let pool = ["--database-pool-size", "64"];
    let a = Service::start_on(&url, &pool);
    // Right after the migrations, before any row: nothing is analyzed until the second run.
    pg::autovacuum(&url, false).await;
    let tenant = a.create_business("Bench Cleaning");
    let b = two.then(|| Service::start_on(&url, &pool));
    let ta = Target::new(&a.base_url, &tenant.api_key);
    let tb = b
        .as_ref()
        .map(|b| Target::new(&b.base_url, &tenant.api_key));
    let watched = |services: &[&Service]| Watched {
        billingd: services.iter().map(|s| s.pid()).collect(),
        postmaster: pg::postmaster_pid(&server),
    };

    eprintln!("customers with cards through HTTP...");
    let ids = |prefix: &str, n: u64| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>();
    customers_with_cards(&ta, &ids("h-a-", TWINS), 1).await;
    if let Some(tb) = &tb {
        customers_with_cards(tb, &ids("h-b-", TWINS), 1).await;
        customers_with_cards(tb, &ids("kb-", config.customers), 16).await;
    }
    customers_with_cards(&ta, &ids("ka-", config.customers), 16).await;

    // A service that ran before the data came: every connection has planned the charge's
    // statements on nearly empty tables.
    let business = tenant.business.clone();
    let warm = |prefix: &'static str, customers: &'static str| {
        let (url, business) = (url.clone(), business.clone());
        async move {
            let n = 2 * config.clients;
            seed::charge_bookings(
                &url,
                &business,
                prefix,
                n,
                customers,
                config.customers,
                10_000,
            )
            .await
        }
    };
    let lane = |target: &Target, bookings: Vec<String>, clients: u64| Lane {
        target: target.clone(),
        bookings,
        clients: clients as usize,
    };
    if config.warm {
        let warm_a = warm("wa-", "ka-").await;
        closed_loop(vec![lane(&ta, warm_a, config.clients)], 60.0, "w-").await;
        if let Some(tb) = &tb {
            let warm_b = warm("wb-", "kb-").await;
            closed_loop(vec![lane(tb, warm_b, config.clients)], 60.0, "w-").await;
        }
    }

    eprintln!("loading {} bookings...", config.bookings);
    let started = Instant::now();
    seed::preload(&url, &business, config.bookings).await;
    let loaded = started.elapsed();
    check_preloaded(&ta).await;

    let mut phases = Vec::new();
    for analyzed in [false, true] {
        if analyzed {
            pg::analyze(&url).await;
        }
        let tag = if analyzed { "2" } else { "1" };
        let mut phase = Phase {
            label: pg::statistics_label(&url, analyzed).await,
            ..Phase::default()
        };
        eprintln!("-- {}", phase.label);
        let make = |prefix: String, count: u64, customers: &'static str| {
            let (url, business) = (url.clone(), business.clone());
            async move {
                seed::charge_bookings(
                    &url,
                    &business,
                    &prefix,
                    count,
                    customers,
                    config.customers,
                    10_000,
                )
                .await
            }
        };
        let per_run = config.seconds * config.max_rate;
        if throughput {
            let bookings = make(format!("t{tag}-"), per_run, "ka-").await;
            let watched = watched(&[&a]);
            pg::reset_statements(&url).await;
            let commits = pg::settled_commits(&server, &url).await;
            let (statements, cpu) = (Statements::read(&url).await, watched.sample());
            let lanes = vec![lane(&ta, bookings, config.clients)];
            let run = closed_loop(lanes, config.seconds as f64, "t-").await;
            let cpu = watched.sample().since(&cpu);
            let statements = Statements::read(&url).await.per(&statements, run.charges());
            let commits = (pg::settled_commits(&server, &url).await - commits) as f64
                / run.charges().max(1) as f64;
            let top = pg::top_statements(&url, 6).await;
            eprintln!("   closed loop: {:.0} charges/s", run.rate());
            let rate = run.rate() / 2.0;
            phase.throughput = Some(Throughput {
                run,
                statements,
                commits,
                top,
                cpu,
            });
            let count = (rate * config.seconds as f64).ceil().max(1.0) as u64;
            let bookings = make(format!("o{tag}-"), count, "ka-").await;
            phase.open = Some((rate, open_loop(&ta, bookings, rate, "o-").await));
        }
        if let Some(tb) = tb.as_ref().filter(|_| two) {
            let half = per_run / 2;
            let lanes = vec![
                lane(
                    &ta,
                    make(format!("2a{tag}-"), half, "ka-").await,
                    config.clients / 2,
                ),
                lane(
                    tb,
                    make(format!("2b{tag}-"), half, "kb-").await,
                    config.clients / 2,
                ),
            ];
            let watched = watched(&[&a, b.as_ref().expect("second service")]);
            let cpu = watched.sample();
            let run = closed_loop(lanes, config.seconds as f64, "2-").await;
            phase.two = Some((run, watched.sample().since(&cpu)));
            // Last: requests that time out leave their commands running.
            let bookings = seed::charge_bookings(
                &url,
                &business,
                &format!("h{tag}-"),
                config.hammer_bookings,
                "h-a-",
                TWINS,
                70_000,
            )
            .await;
            let settle = pg::settle(&url, Duration::from_secs(config.settle_seconds));
            let found = hammer(&ta, tb, &bookings, config.hammer_requests, tag, settle).await;
            phase.hammer = Some(found);
        }
        phases.push(phase);
    }

    let pgbench = throughput.then(|| {
        eprintln!("pgbench: scale {}...", config.scale);
        let pgbench_url = server.create_database("bench_pgbench").expect("database");
        pgbench_init(&pgbench_url, config.scale as u32).expect("pgbench -i");
        let watched = watched(&[&a]);
        let processes = watched.server_processes();
        let cpu = watched.sample();
        let report = pgbench_run(&pgbench_url, config.clients as u32, config.seconds as u32)
            .expect("pgbench");
        // Its backends exit after it: once reaped, their time is the postmaster's children's.
        watched.wait_server_processes(processes, Duration::from_secs(10));
        (report, watched.sample().since(&cpu))
    });

    support::title(
        &format!(
            "charges through HTTP, durable Postgres and the sandbox: {} preloaded bookings \
             ({} paid by check, {} customers; loaded in {:.1} s{}), {} clients, {} s per run",
            config.bookings,
            config.bookings.div_ceil(2),
            config.bookings.div_ceil(10),
            loaded.as_secs_f64(),
            if config.warm {
                ", after `billingd` had charged bookings on the empty tables"
            } else {
                ""
            },
            config.clients,
            config.seconds
        ),
        &settings,
    );
    if let Some((report, pgbench_cpu)) = &pgbench {
        print_throughput(
            &config,
            &phases,
            report.tps,
            report.transactions,
            pgbench_cpu,
        );
    }
    if two {
        print_two(&config, &phases);
    }
}

fn print_throughput(
    config: &Config,
    phases: &[Phase],
    tps: f64,
    transactions: Option<u64>,
    pgbench_cpu: &Used,
) {
    let c = config.clients;
    println!(
        "| statistics | charges | charges/s | p50 | p99 | errors | pgbench tps (c={c}, scale {}) \
         | ratio | round trips / charge | statements in functions / charge | commits / charge |",
        config.scale
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for phase in phases {
        let Some(t) = &phase.throughput else { continue };
        let run = &t.run;
        println!(
            "| {} | {}{} | {:.0} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            phase.label,
            run.charges(),
            if run.ran_out {
                " (ran out of bookings: raise BENCH_MAX_RATE)"
            } else {
                ""
            },
            run.rate(),
            ms(percentile(&run.latencies, 0.50)),
            ms(percentile(&run.latencies, 0.99)),
            run.errors,
            tps,
            run.rate() / tps,
            t.statements.0,
            t.statements.1,
            t.commits,
        );
        for sample in &run.error_samples {
            println!("\n    error: {sample}\n");
        }
    }
    println!(
        "\nWhere the CPU goes (ms per operation, % of {} cores):\n",
        support::cpu::cores()
    );
    println!("| run | operations | billingd | Postgres | load generator |");
    println!("| --- | --- | --- | --- | --- |");
    for phase in phases {
        let Some(t) = &phase.throughput else { continue };
        let (cpu, n) = (&t.cpu, t.run.charges());
        println!(
            "| charges, {} | {n} | {} | {} | {} |",
            phase.label,
            cpu.cell(cpu.billingd, n),
            cpu.cell(cpu.server, n),
            cpu.cell(cpu.own, n)
        );
    }
    let n = transactions.unwrap_or_default();
    println!(
        "| pgbench tpcb-like, c={c} | {n} | {} | {} | {} (pgbench) |",
        pgbench_cpu.cell(pgbench_cpu.billingd, n),
        pgbench_cpu.cell(pgbench_cpu.server, n),
        pgbench_cpu.cell(pgbench_cpu.children, n)
    );
    println!(
        "\nWhere the server's time goes during the charges (pg_stat_statements, the 6 statements that \
         took longest; a function's time includes the statements inside it):\n"
    );
    println!("| statistics | statement | top level | calls / charge | ms / call | ms / charge |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for phase in phases {
        let Some(t) = &phase.throughput else { continue };
        for c in &t.top {
            let text: String = c.query.chars().take(90).collect();
            println!(
                "| {} | `{}` | {} | {:.2} | {:.3} | {:.3} |",
                phase.label,
                text.replace('|', "\\|"),
                if c.toplevel { "yes" } else { "no" },
                c.calls as f64 / t.run.charges().max(1) as f64,
                c.total_ms / c.calls.max(1) as f64,
                c.total_ms / t.run.charges().max(1) as f64
            );
        }
    }
    println!(
        "\nOpen loop at half the peak measured just before (latency from each request's due \
         time; target p99 <= 25 ms):\n"
    );
    println!(
        "| statistics | rate | requests | p50 | p99 | max | late to launch (> 1 ms) | worst launch delay | errors |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for phase in phases {
        let Some((rate, open)) = &phase.open else {
            continue;
        };
        println!(
            "| {} | {rate:.0}/s for {} s | {} | {} | {} | {} | {} | {} | {} |",
            phase.label,
            config.seconds,
            open.requests,
            ms(percentile(&open.latencies, 0.50)),
            ms(percentile(&open.latencies, 0.99)),
            ms(open.latencies.last().copied().unwrap_or_default()),
            open.late,
            ms(open.worst_launch),
            open.errors
        );
        for sample in &open.error_samples {
            println!("\n    error: {sample}\n");
        }
    }
}

fn print_two(config: &Config, phases: &[Phase]) {
    println!(
        "\nTwo `billingd serve` on one database: their combined throughput on distinct bookings \
         ({} clients, half through each):\n",
        config.clients
    );
    println!(
        "| statistics | charges | charges/s | p50 | p99 | errors | vs one process | billingd \
         (both) | Postgres | load generator |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for phase in phases {
        let Some((run, cpu)) = &phase.two else {
            continue;
        };
        let one = phase.throughput.as_ref().map_or("?".to_owned(), |t| {
            format!("{:.2}", run.rate() / t.run.rate())
        });
        let n = run.charges();
        println!(
            "| {} | {n} | {:.0} | {} | {} | {} | {one} | {} | {} | {} |",
            phase.label,
            run.rate(),
            ms(percentile(&run.latencies, 0.50)),
            ms(percentile(&run.latencies, 0.99)),
            run.errors,
            cpu.cell(cpu.billingd, n),
            cpu.cell(cpu.server, n),
            cpu.cell(cpu.own, n)
        );
    }
    println!(
        "\nThe duplicate-charge hammer through both: {} bookings of 700.00, {} charges of 7.00 \
         each (allow_duplicate), alternately through each process, a third of them under ten \
         shared keys per booking; then, once the services settled, every key replayed and the \
         ledger read (`GET /v1/bookings/{{id}}`):\n",
        config.hammer_bookings, config.hammer_requests
    );
    println!(
        "| statistics | requests | 201 | 409/422 | 503 (timed out, went on) | other | time | \
         settled after | paid more than the price | keys with several payments | payments not \
         accounted for | paid in full |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for phase in phases {
        let Some(h) = &phase.hammer else { continue };
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} s | {:.1} s | {} | {} | {} | {} / {} |",
            phase.label,
            h.requests,
            h.created,
            h.refused,
            h.unanswered,
            h.other.len(),
            h.elapsed.as_secs_f64(),
            h.settled.as_secs_f64(),
            h.over_price,
            h.keys_with_several_payments,
            h.unaccounted,
            h.paid_in_full,
            h.bookings
        );
        for other in h.other.iter().take(3) {
            println!("\n    unexpected answer: {other}\n");
        }
        failed |= h.over_price + h.keys_with_several_payments + h.unaccounted > 0;
    }
    assert!(
        !failed,
        "the hammer found a booking charged twice or more than its price"
    );
}
