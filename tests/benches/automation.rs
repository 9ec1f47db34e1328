//! `cargo bench -p billing-blackbox --bench automation`: payment automation's scheduler taking
//! `BENCH_DUE_CHARGES` (2,000) due charges through a sandbox that takes 300 ms per call and
//! allows 25 calls a second: its floor is charges / 25 (80 s), the target 1.1 × the floor.
//!
//! The bookings are made under the manual policy (nothing due), then the business switches to
//! `charge_at_booking`: every booking is due at once, and the clock runs until every customer's
//! balance is zero. On a private durable Postgres with `BENCH_BOOKINGS` (100,000) bookings
//! already in the business (half paid by check), analyzed.
//!
//! Quick check: `BENCH_BOOKINGS=10000 BENCH_DUE_CHARGES=100 cargo bench -p billing-blackbox
//! --bench automation`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use billing_blackbox::Service;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::load::{Target, check_preloaded, customers_with_cards};
use support::{Settings, pg, seed};

const RATE: u64 = 25;
const CUSTOMERS: u64 = 10;

/// What every bench customer still owes, in cents.
async fn owed(target: &Target, customers: &[String]) -> i64 {
    let mut total = 0;
    for customer in customers {
        let (status, answer) = target
            .send(
                Method::GET,
                &format!("/v1/customers/{customer}/balance"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        for line in answer["balance_due"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let amount: f64 = line["amount"]
                .as_str()
                .unwrap_or("0")
                .parse()
                .unwrap_or(0.0);
            #[allow(clippy::cast_possible_truncation)]
            let cents = (amount * 100.0).round() as i64;
            total += cents;
        }
    }
    total
}

fn main() {
    let mut settings = Settings::new("automation");
    let preloaded = settings.number("BENCH_BOOKINGS", 100_000);
    let count = settings.number("BENCH_DUE_CHARGES", 2_000);
    billing_blackbox::release_billingd_binary();
    let floor = count as f64 / RATE as f64;
    let (took, runs) = support::runtime().block_on(async {
        let server = pg::start();
        let url = pg::database(&server, "bench_automation").await;
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
                "--automation-tick-ms",
                "100",
                "--automation-batch",
                "200",
                "--checkout-grace-secs",
                "0",
            ],
        );
        let tenant = service.create_business("Bench Cleaning");
        let target = Target::new(&service.base_url, &tenant.api_key);
        let ids: Vec<String> = (0..CUSTOMERS).map(|i| format!("ac-{i}")).collect();
        customers_with_cards(&target, &ids, 4).await;
        eprintln!("loading {preloaded} bookings...");
        seed::preload(&url, &tenant.business, preloaded).await;
        check_preloaded(&target).await;
        eprintln!("making {count} bookings...");
        for n in 0..count {
            let customer = &ids[(n % CUSTOMERS) as usize];
            let (status, answer) = target
                .send(
                    Method::PUT,
                    &format!("/v1/bookings/auto-{n:05}"),
                    Some(&json!({
                        "customer": customer, "currency": "USD",
                        "line_items": [{"kind": "service", "label": "Home cleaning", "amount": "100.00"}],
                    })),
                    None,
                )
                .await;
            assert!(status.is_success(), "{answer}");
        }
        pg::analyze(&url).await;
        let due = i64::try_from(count).unwrap_or(i64::MAX) * 10_000;
        assert_eq!(owed(&target, &ids).await, due);
        eprintln!("-- {count} charges due at once...");
        let started = Instant::now();
        let (status, answer) = target
            .send(
                Method::PUT,
                "/v1/settings/payments",
                Some(&json!({"policy": {"name": "charge_at_booking"}})),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let deadline = Duration::from_secs_f64(floor * 3.0 + 60.0);
        while owed(&target, &ids).await > 0 {
            assert!(started.elapsed() < deadline, "not done within {deadline:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let took = started.elapsed();
        let (_, runs) = target
            .send(
                Method::GET,
                "/v1/automation/runs?outcome=succeeded&limit=500",
                None,
                None,
            )
            .await;
        (took, runs["data"].as_array().map_or(0, Vec::len))
    });
    support::title(
        &format!(
            "{count} due charges by payment automation, sandbox 300 ms per call and {RATE} \
             calls/s, durable Postgres with {preloaded} preloaded bookings"
        ),
        &settings,
    );
    println!("| charges | wall time | floor | ratio to the floor | target |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {count} ({}+ runs listed) | {:.1} s | {floor:.1} s | {:.3} | ≤ 1.1 |",
        runs,
        took.as_secs_f64(),
        took.as_secs_f64() / floor
    );
}
