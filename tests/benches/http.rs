//! `cargo xtask bench http`: the service under load, through HTTP.
//!
//! 1. Charges per second and p50/p99 latency at 64 concurrent clients, through HTTP, Postgres
//!    and the sandbox gateway (one booking per charge), with pgbench (tpcb-like, 64 clients) on
//!    the same server in the same run for the ratio.
//! 2. A bulk charge of 1,000 bookings through a sandbox with 300 ms latency and a limit of 25
//!    requests a second: its floor is 1,000 / 25 = 40 s.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use billing_blackbox::{Service, Store};
use reqwest::{Method, StatusCode};
use serde_json::json;

const CLIENTS: usize = 64;

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn seed_bookings(
    service: &Service,
    tenant: &billing_blackbox::Tenant,
    count: usize,
    prefix: &str,
) {
    service
        .seed_booking(
            tenant,
            "ada",
            "pm_card_visa",
            &format!("{prefix}-0"),
            "10.00",
        )
        .await;
    let next = Arc::new(AtomicUsize::new(1));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let next = next.clone();
        workers.push(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let answer = service
                    .put(tenant, &format!("/v1/bookings/{prefix}-{n}"), json!({
                        "customer": "ada", "currency": "USD",
                        "line_items": [{"kind": "service", "label": "Home cleaning", "amount": "10.00"}],
                    }))
                    .await;
                assert!(answer.status.is_success(), "{answer:?}");
            }
        });
    }
    futures_util::future::join_all(workers).await;
}

async fn throughput() {
    let service = Service::start(Store::Postgres);
    let tenant = service.create_business("Bench Cleaning");
    let bookings = 400 * CLIENTS;
    eprintln!("seeding {bookings} bookings...");
    seed_bookings(&service, &tenant, bookings, "t").await;
    let deadline = Instant::now() + Duration::from_secs(seconds());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (service, tenant, next) = (&service, &tenant, next.clone());
        clients.push(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= bookings {
                    break;
                }
                let sent = Instant::now();
                let answer = service
                    .call(
                        tenant,
                        Method::POST,
                        &format!("/v1/bookings/t-{n}/charges"),
                        Some(json!({})),
                        Some(&format!("bench-{n}")),
                    )
                    .await;
                latencies.push(sent.elapsed());
                assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
            }
            latencies
        });
    }
    let mut latencies: Vec<Duration> = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let postgres = service.postgres().expect("on postgres");
    let pgbench_db = postgres.create_database("pgbench").expect("database");
    billing_testservers::postgres::pgbench_init(&pgbench_db, 8).expect("pgbench -i");
    let pgbench =
        billing_testservers::postgres::pgbench_run(&pgbench_db, CLIENTS as u32, seconds() as u32)
            .expect("pgbench");
    println!(
        "\n== charges through HTTP, Postgres and the sandbox, {CLIENTS} clients, {} s",
        seconds()
    );
    println!("| charges | charges/s | p50 | p99 | pgbench tps (c={CLIENTS}) | ratio |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {} | {:.0} | {:.1} ms | {:.1} ms | {:.0} | {:.2} |",
        latencies.len(),
        rate,
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        pgbench.tps,
        rate / pgbench.tps
    );
}

async fn bulk() {
    let service = Service::start_with(
        Store::Postgres,
        &[
            "--sandbox-latency-ms",
            "300",
            "--sandbox-rate-limit",
            "25",
            "--bulk-rate-limit",
            "25",
        ],
    );
    let tenant = service.create_business("Bench Cleaning");
    eprintln!("seeding 1000 bookings...");
    seed_bookings(&service, &tenant, 1000, "bulk").await;
    let bookings: Vec<String> = (0..1000).map(|n| format!("bulk-{n}")).collect();
    let started = Instant::now();
    let answer = service
        .call(
            &tenant,
            Method::POST,
            "/v1/charges/bulk",
            Some(json!({"bookings": bookings})),
            Some("bench-bulk"),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let results = answer.json["results"].as_array().expect("results");
    let charged = results.iter().filter(|r| r["status"] == 201).count();
    println!("\n== bulk charge of 1000 bookings, sandbox 300 ms latency and 25 requests/s");
    println!("| bookings charged | wall time | floor | over the floor |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| {charged} / 1000 | {:.1} s | 40.0 s | {:+.1} s |",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() - 40.0
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks one part.
    let which = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if which.is_empty() || which == "throughput" {
            throughput().await;
        }
        if which.is_empty() || which == "bulk" {
            bulk().await;
        }
    });
}
