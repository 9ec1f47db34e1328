//! `cargo bench -p billing-blackbox --bench sqlite`: the embedded default under load. The
//! release `billingd` on SQLite (its own file, as `billingd serve` makes by default) with the
//! sandbox gateway, `BENCH_CLIENTS` (16) closed-loop clients each charging its own booking with
//! its own `Idempotency-Key`, for `BENCH_SECONDS`, with `BENCH_BOOKINGS` (100,000) bookings
//! already in the business (half paid by check, ten to a customer). Target: p99 <= 50 ms.
//!
//! Quick check: `BENCH_SECONDS=2 BENCH_BOOKINGS=10000 BENCH_CUSTOMERS=100 cargo bench -p
//! billing-blackbox --bench sqlite`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Instant;

use billing_blackbox::Service;
use support::cpu::Watched;
use support::load::{Lane, Target, check_preloaded, closed_loop, customers_with_cards};
use support::{Settings, ms, percentile, sqlite};

fn main() {
    let mut settings = Settings::new("sqlite");
    let seconds = settings.number("BENCH_SECONDS", 10);
    let bookings = settings.number("BENCH_BOOKINGS", 100_000);
    let clients = settings.number("BENCH_CLIENTS", 16);
    let customers = settings.number("BENCH_CUSTOMERS", 1_000);
    let max_rate = settings.number("BENCH_MAX_RATE", 3_000);
    billing_blackbox::release_billingd_binary();
    support::runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/billing.db?mode=rwc", dir.path().display());
        billing_blackbox::migrate(&url);
        let tenant = billing_blackbox::create_business_on(&url, dir.path(), "Bench Cleaning", &[]);
        eprintln!("loading {bookings} bookings...");
        let started = Instant::now();
        sqlite::preload(&url, &tenant.business, bookings).await;
        let to_charge = sqlite::charge_bookings(
            &url,
            &tenant.business,
            "t-",
            seconds * max_rate,
            "k-",
            customers,
            10_000,
        )
        .await;
        let loaded = started.elapsed();
        let service = Service::start_on(&url, &[]);
        let target = Target::new(&service.base_url, &tenant.api_key);
        let ids: Vec<String> = (0..customers).map(|i| format!("k-{i}")).collect();
        customers_with_cards(&target, &ids, 16).await;
        check_preloaded(&target).await;

        let watched = Watched {
            billingd: vec![service.pid()],
            postmaster: None,
        };
        let cpu = watched.sample();
        let lanes = vec![Lane {
            target,
            bookings: to_charge,
            clients: clients as usize,
        }];
        let run = closed_loop(lanes, seconds as f64, "t-").await;
        let cpu = watched.sample().since(&cpu);

        support::title(
            &format!(
                "SQLite, the embedded default: charges through HTTP and the sandbox, {clients} \
                 clients, {seconds} s, {bookings} preloaded bookings ({} paid by check; loaded \
                 in {:.1} s)",
                bookings.div_ceil(2),
                loaded.as_secs_f64()
            ),
            &settings,
        );
        println!(
            "| charges | charges/s | p50 | p99 (target <= 50 ms) | max | errors | billingd CPU \
             (ms per charge, % of {} cores) | load generator |",
            support::cpu::cores()
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
        let n = run.charges();
        println!(
            "| {n}{} | {:.0} | {} | {} | {} | {} | {} | {} |",
            if run.ran_out {
                " (ran out of bookings: raise BENCH_MAX_RATE)"
            } else {
                ""
            },
            run.rate(),
            ms(percentile(&run.latencies, 0.50)),
            ms(percentile(&run.latencies, 0.99)),
            ms(run.latencies.last().copied().unwrap_or_default()),
            run.errors,
            cpu.cell(cpu.billingd, n),
            cpu.cell(cpu.own, n)
        );
        for sample in &run.error_samples {
            println!("\n    error: {sample}\n");
        }
    });
}
