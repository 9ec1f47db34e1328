//! `cargo bench -p billing-blackbox --bench bulk`: one bulk charge of `BENCH_BULK_BOOKINGS`
//! (1,000) bookings through a sandbox that takes 300 ms per call and allows 25 calls a second
//! (`--bulk-rate-limit 25`): its floor is bookings / 25 (40 s). Then the same batch sent again
//! under the same `Idempotency-Key` (every booking's first answer, replayed) and without a key
//! (every booking already paid: nothing to charge): both should take well under a second, as
//! neither spends a gateway token.
//!
//! On a private durable Postgres with `BENCH_BOOKINGS` (100,000) bookings already in the business
//! (half paid by check), right after loading them (before any ANALYZE, autovacuum off) and again
//! after ANALYZE, each time with fresh bookings.
//!
//! Quick check: `BENCH_BOOKINGS=10000 BENCH_BULK_BOOKINGS=50 BENCH_BULK_CUSTOMERS=3 cargo bench
//! -p billing-blackbox --bench bulk`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use billing_blackbox::Service;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::load::{Target, check_preloaded, customers_with_cards};
use support::{Settings, pg, seed};

const RATE: u64 = 25;

/// Sends a bulk charge: the time it took and how many results had each status.
async fn bulk(
    target: &Target,
    bookings: &[String],
    key: Option<&str>,
) -> (Duration, BTreeMap<u64, usize>) {
    let started = Instant::now();
    let (status, answer) = target
        .send(
            Method::POST,
            "/v1/charges/bulk",
            Some(&json!({ "bookings": bookings })),
            key,
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut statuses = BTreeMap::new();
    for result in answer["results"].as_array().expect("results") {
        *statuses
            .entry(result["status"].as_u64().unwrap_or(0))
            .or_default() += 1;
    }
    (took, statuses)
}

fn statuses(counts: &BTreeMap<u64, usize>) -> String {
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} × {s}")).collect();
    parts.join(", ")
}

fn main() {
    let mut settings = Settings::new("bulk");
    let preloaded = settings.number("BENCH_BOOKINGS", 100_000);
    let count = settings.number("BENCH_BULK_BOOKINGS", 1_000);
    let customers = settings.number("BENCH_BULK_CUSTOMERS", 10).max(1);
    billing_blackbox::release_billingd_binary();
    let floor = count as f64 / RATE as f64;
    let rows = support::runtime().block_on(async {
        let server = pg::start();
        let url = pg::database(&server, "bench_bulk").await;
        let rate = RATE.to_string();
        let service = Service::start_on(
            &url,
            &[
                "--sandbox-latency-ms",
                "300",
                "--sandbox-rate-limit",
                &rate,
                "--bulk-rate-limit",
                &rate,
            ],
        );
        pg::autovacuum(&url, false).await;
        let tenant = service.create_business("Bench Cleaning");
        let target = Target::new(&service.base_url, &tenant.api_key);
        let ids: Vec<String> = (0..customers).map(|i| format!("bc-{i}")).collect();
        // Three sandbox calls each: a few at a time stay under its 25 calls a second.
        customers_with_cards(&target, &ids, 4).await;
        // A service that ran before the data came: it planned its statements on empty tables.
        let warm =
            seed::charge_bookings(&url, &tenant.business, "w-", 8, "bc-", customers, 10_000).await;
        bulk(&target, &warm, None).await;
        eprintln!("loading {preloaded} bookings...");
        seed::preload(&url, &tenant.business, preloaded).await;
        check_preloaded(&target).await;

        let mut rows = Vec::new();
        for analyzed in [false, true] {
            if analyzed {
                pg::analyze(&url).await;
            }
            let label = pg::statistics_label(&url, analyzed).await;
            let tag = if analyzed { "2" } else { "1" };
            let bookings = seed::charge_bookings(
                &url,
                &tenant.business,
                &format!("bulk{tag}-"),
                count,
                "bc-",
                customers,
                10_000,
            )
            .await;
            let key = format!("bench-bulk-{tag}");
            eprintln!("-- {label}: bulk charge of {count} bookings...");
            let first = bulk(&target, &bookings, Some(&key)).await;
            let again = bulk(&target, &bookings, Some(&key)).await;
            let unkeyed = bulk(&target, &bookings, None).await;
            rows.push((label, first, again, unkeyed));
        }
        rows
    });

    support::title(
        &format!(
            "bulk charge of {count} bookings, sandbox 300 ms per call and {RATE} calls/s, \
             durable Postgres with {preloaded} preloaded bookings"
        ),
        &settings,
    );
    println!(
        "| statistics | results | wall time | floor | over the floor | same batch, same key \
         | same batch, no key |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, (took, first), (again, replayed), (unkeyed, nothing)) in &rows {
        println!(
            "| {label} | {} | {:.1} s | {floor:.1} s | {:+.1} s | {:.0} ms ({}) | {:.0} ms ({}) |",
            statuses(first),
            took.as_secs_f64(),
            took.as_secs_f64() - floor,
            again.as_secs_f64() * 1000.0,
            statuses(replayed),
            unkeyed.as_secs_f64() * 1000.0,
            statuses(nothing)
        );
    }
}
