//! `cargo bench -p billing-blackbox --bench report`: `GET /v1/reports/outstanding` (the first
//! page, default limit, with the totals) on a private durable Postgres over 10^4, 10^5 and 10^6
//! bookings (`BENCH_REPORT_SIZES`), ten to a customer, about half owing: the median and p99 of
//! `BENCH_REQUESTS` (30) requests in a row, right after loading (before any ANALYZE, autovacuum
//! off, `billingd` having planned the report on empty tables) and after ANALYZE. Target: <= 50 ms
//! and flat from the smallest size to the largest. One CSV download is timed at
//! `BENCH_CSV_SIZE` (10^5), or the largest size below it, for information.
//!
//! Quick check: `BENCH_REPORT_SIZES=1000,10000 BENCH_REQUESTS=10 cargo bench -p
//! billing-blackbox --bench report`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use billing_blackbox::Service;
use reqwest::{Method, StatusCode};
use support::load::{Target, check_preloaded};
use support::{Settings, cents, ms, percentile, pg, seed};

const PATH: &str = "/v1/reports/outstanding";

struct Row {
    size: u64,
    label: String,
    times: Vec<Duration>,
    customers_on_page: usize,
    csv: Option<(Duration, usize)>,
    loaded: Duration,
}

/// What the preloaded unpaid bookings owe in all, in cents (see `seed`: every odd booking).
fn expected_total(size: u64) -> i64 {
    (0..size as i64)
        .filter(|i| i % 2 == 1)
        .map(|i| 5000 + (i * 7919) % 20000)
        .sum()
}

fn main() {
    let mut settings = Settings::new("report");
    let sizes = settings.numbers("BENCH_REPORT_SIZES", &[10_000, 100_000, 1_000_000]);
    let requests = settings.number("BENCH_REQUESTS", 30);
    let csv_size = settings.number("BENCH_CSV_SIZE", 100_000);
    billing_blackbox::release_billingd_binary();
    let csv_at = sizes.iter().copied().filter(|s| *s <= csv_size).max();
    let rows = support::runtime().block_on(async {
        let server = pg::start();
        let mut rows = Vec::new();
        for &size in &sizes {
            let url = pg::database(&server, "bench_report").await;
            let service = Service::start_on(&url, &[]);
            pg::autovacuum(&url, false).await;
            let tenant = service.create_business("Bench Cleaning");
            let target = Target::new(&service.base_url, &tenant.api_key);
            // A service that ran before the data came: its connections planned the report's
            // statements on empty tables.
            let (status, _, _) = target.timed_get(PATH).await;
            assert_eq!(status, StatusCode::OK);
            eprintln!("loading {size} bookings...");
            let started = Instant::now();
            seed::preload(&url, &tenant.business, size).await;
            let loaded = started.elapsed();
            check_preloaded(&target).await;
            for analyzed in [false, true] {
                if analyzed {
                    pg::analyze(&url).await;
                }
                let label = pg::statistics_label(&url, analyzed).await;
                let (status, page) = target.send(Method::GET, PATH, None, None).await;
                assert_eq!(status, StatusCode::OK, "{page}");
                let total = cents(page["totals"][0]["amount"].as_str().unwrap_or("0"));
                assert_eq!(total, expected_total(size), "the totals of {size} bookings");
                let customers_on_page = page["customers"].as_array().map_or(0, Vec::len);
                let mut times = Vec::new();
                for _ in 0..requests {
                    let (status, took, _) = target.timed_get(PATH).await;
                    assert_eq!(status, StatusCode::OK);
                    times.push(took);
                }
                times.sort();
                let csv = if analyzed && csv_at == Some(size) {
                    let (status, took, bytes) =
                        target.timed_get(&format!("{PATH}?format=csv")).await;
                    assert_eq!(status, StatusCode::OK);
                    Some((took, bytes))
                } else {
                    None
                };
                rows.push(Row {
                    size,
                    label,
                    times,
                    customers_on_page,
                    csv,
                    loaded,
                });
            }
            drop(service);
            pg::drop_database(&server, &url).await;
        }
        rows
    });

    support::title(
        "the outstanding report's first page (default limit, with the totals) through HTTP on \
         durable Postgres; customers = bookings / 10, half the bookings owe",
        &settings,
    );
    println!(
        "| bookings | statistics | requests | median | p99 (target <= 50 ms) | customers on the \
         page | loaded in | CSV download (for information) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} s | {} |",
            row.size,
            row.label,
            row.times.len(),
            ms(percentile(&row.times, 0.50)),
            ms(percentile(&row.times, 0.99)),
            row.customers_on_page,
            row.loaded.as_secs_f64(),
            row.csv.map_or(String::new(), |(took, bytes)| format!(
                "{} for {} kB",
                ms(took),
                bytes / 1000
            ))
        );
    }
    for analyzed in [false, true] {
        let medians: Vec<(u64, Duration)> = rows
            .iter()
            .filter(|r| r.label.starts_with("after") == analyzed)
            .map(|r| (r.size, percentile(&r.times, 0.50)))
            .collect();
        if let (Some(first), Some(last)) = (medians.first(), medians.last())
            && first.0 != last.0
        {
            println!(
                "\nmedian at {} / median at {} bookings, {}: {:.2} (flat: about 1)",
                last.0,
                first.0,
                if analyzed {
                    "after ANALYZE"
                } else {
                    "before ANALYZE"
                },
                last.1.as_secs_f64() / first.1.as_secs_f64().max(1e-9)
            );
        }
    }
}
