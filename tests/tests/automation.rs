//! Payment automation in the real `billingd serve`, with a short tick:
//!
//! - bookings due within seconds are charged, held and captured by each business's policy,
//!   through HTTP only, each move marked as automation's;
//! - `kill -9` while a backlog of due charges is being worked through, then a restart: every
//!   booking ends charged once, and the sandbox's own record (its journal) took each charge
//!   once — no job lost, none done twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use billing_blackbox::{Options, Service, Store, Tenant, amount};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The sandbox's journal, in the data folder.
const JOURNAL: &str = "sandbox-journal.jsonl";

/// Fast automation: looked for every 50 ms, and bookings made through the API are charged
/// at once (no booking page starts a checkout for them).
const FAST: &[&str] = &["--automation-tick-ms", "50", "--checkout-grace-secs", "0"];

async fn set_policy(service: &Service, tenant: &Tenant, policy: Value) {
    let answer = service
        .put(tenant, "/v1/settings/payments", json!({"policy": policy}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
}

/// Waits (up to `within`) until the booking's status is `status`.
async fn wait_for_status(service: &Service, tenant: &Tenant, booking: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = service
            .get(tenant, &format!("/v1/bookings/{booking}"))
            .await;
        if answer.json["status"] == status {
            return answer.json;
        }
        assert!(
            Instant::now() < deadline,
            "{booking} not {status} in time: {}",
            answer.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn put_booking(service: &Service, tenant: &Tenant, booking: &str, extra: Value) {
    let mut body = json!({
        "customer": "ada", "currency": "USD",
        "line_items": [{"kind": "service", "label": "Home cleaning", "amount": "120.00"}],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let answer = service
        .put(tenant, &format!("/v1/bookings/{booking}"), body)
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
}

fn in_seconds(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339()
}

#[tokio::test]
async fn bookings_due_within_seconds_are_charged_held_and_captured_by_policy() {
    let service = Service::start_with(Store::Sqlite, FAST);
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-now", "120.00")
        .await;
    // Charged as its service starts (a lead of 0 minutes), two seconds from now.
    set_policy(
        &service,
        &acme,
        json!({"name": "charge_before_service", "minutes": 0}),
    )
    .await;
    put_booking(
        &service,
        &acme,
        "b-soon",
        json!({"service_at": in_seconds(2)}),
    )
    .await;
    let planned = service.get(&acme, "/v1/bookings/b-soon/automation").await;
    assert_eq!(planned.json["next"]["action"], "charge", "{planned:?}");
    assert_eq!(
        service.get(&acme, "/v1/bookings/b-soon").await.json["status"],
        "not_charged",
        "not before its time"
    );
    let charged = wait_for_status(&service, &acme, "b-soon", "charged_in_full").await;
    assert_eq!(charged["payments"][0]["origin"], "automation");

    // A hold as the service starts, captured once it is marked done.
    put_booking(
        &service,
        &acme,
        "b-held",
        json!({"service_at": in_seconds(1)}),
    )
    .await;
    let own = service
        .put(
            &acme,
            "/v1/bookings/b-held/automation",
            json!({"policy": {"name": "authorize_before_service", "minutes": 0}}),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{own:?}");
    wait_for_status(&service, &acme, "b-held", "pre_authorized").await;
    put_booking(
        &service,
        &acme,
        "b-held",
        json!({"service_at": in_seconds(-60), "completed_at": in_seconds(0)}),
    )
    .await;
    let captured = wait_for_status(&service, &acme, "b-held", "charged_in_full").await;
    assert!(
        captured["payments"]
            .as_array()
            .expect("payments")
            .iter()
            .all(|p| p["origin"] == "automation"),
        "{captured}"
    );
    let runs = service
        .get(&acme, "/v1/automation/runs?outcome=succeeded")
        .await;
    assert_eq!(
        runs.json["data"].as_array().map(Vec::len),
        Some(3),
        "{runs:?}"
    );
    // A booking with no service date has nothing to be charged before: left alone.
    assert_eq!(
        service.get(&acme, "/v1/bookings/b-now").await.json["status"],
        "not_charged"
    );
}

/// What the sandbox took, by payment intent: its last record's amount received.
fn received_by_the_sandbox(service: &Service) -> BTreeMap<String, i64> {
    let journal = std::fs::read_to_string(service.data_dir().join(JOURNAL)).expect("journal");
    let mut received = BTreeMap::new();
    for line in journal.lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let records = record.as_array().cloned().unwrap_or_else(|| vec![record]);
        for record in records {
            if record["record"] == "intent" {
                let intent = &record["intent"];
                let id = intent["id"].as_str().unwrap_or_default().to_owned();
                received.insert(id, intent["received"][1].as_i64().unwrap_or_default());
            }
        }
    }
    received
}

#[tokio::test]
async fn a_crash_during_a_run_of_due_charges_loses_none_and_repeats_none() {
    const BOOKINGS: usize = 40;
    // Paced at 10 charges a second, the backlog takes about four seconds: the kill lands in
    // the middle of it.
    let paced: &[&str] = &[
        "--automation-tick-ms",
        "50",
        "--bulk-rate-limit",
        "10",
        "--bulk-concurrency",
        "4",
        "--automation-batch",
        "10",
        "--automation-lease-secs",
        "2",
        "--checkout-grace-secs",
        "0",
    ];
    let mut service = Service::launch(Store::Sqlite, Options::default().args(paced));
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-00", "25.00")
        .await;
    // Manual while the bookings are made, then all due at once.
    for n in 1..BOOKINGS {
        put_booking(&service, &acme, &format!("b-{n:02}"), json!({})).await;
    }
    set_policy(&service, &acme, json!({"name": "charge_at_booking"})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let charged = service
            .get(&acme, "/v1/bookings?status=charged_in_full&limit=500")
            .await;
        let count = charged.json["data"].as_array().map_or(0, Vec::len);
        if count >= 5 {
            assert!(count < BOOKINGS, "the kill came after the backlog: {count}");
            break;
        }
        assert!(Instant::now() < deadline, "nothing charged in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.restart(Options::default().args(&[
        "--automation-tick-ms",
        "50",
        "--automation-lease-secs",
        "2",
        "--checkout-grace-secs",
        "0",
        "--reconcile-every-secs",
        "1",
        "--reconcile-after-secs",
        "1",
    ]));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let charged = service
            .get(&acme, "/v1/bookings?status=charged_in_full&limit=500")
            .await;
        if charged.json["data"].as_array().map_or(0, Vec::len) == BOOKINGS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every booking charged after the restart: {}",
            service.get(&acme, "/v1/bookings?limit=500").await.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 0..BOOKINGS {
        let booking = service.get(&acme, &format!("/v1/bookings/b-{n:02}")).await;
        let price = if n == 0 { "25.00" } else { "120.00" };
        assert_eq!(amount(&booking.json["paid"]), price, "{}", booking.text);
        let succeeded = booking.json["payments"]
            .as_array()
            .expect("payments")
            .iter()
            .filter(|p| p["state"] == "succeeded")
            .count();
        assert_eq!(succeeded, 1, "one charge each: {}", booking.text);
    }
    let received = received_by_the_sandbox(&service);
    let taken: i64 = received.values().sum();
    let charged: Vec<&i64> = received.values().filter(|minor| **minor > 0).collect();
    assert_eq!(charged.len(), BOOKINGS, "one charge each at the gateway");
    assert_eq!(taken, 2_500 + 12_000 * (BOOKINGS as i64 - 1));
}
