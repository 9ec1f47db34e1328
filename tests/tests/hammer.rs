//! 200 concurrent charge requests for one booking, some sharing idempotency keys, some not:
//! the booking is charged exactly its balance, once per key, never more.

use std::collections::HashMap;

use billing_blackbox::{Service, Store, amount};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn hammer(store: Store) {
    let service = Service::start(store);
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "700.00")
        .await;
    let mut requests = Vec::new();
    for attempt in 0..200 {
        let service = &service;
        let acme = &acme;
        requests.push(async move {
            // A third share ten keys; the others have none and say the charge is intended.
            let key = (attempt % 3 == 0).then(|| format!("hammer-{}", attempt % 10));
            let body = json!({"amount": "7.00", "allow_duplicate": true});
            let answer = service
                .call(
                    acme,
                    Method::POST,
                    "/v1/bookings/b-1/charges",
                    Some(body),
                    key.as_deref(),
                )
                .await;
            (key, answer)
        });
    }
    // All 200 in flight at once.
    let answers = futures_util::future::join_all(requests).await;
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for (key, answer) in &answers {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::CONFLICT
            ]
            .contains(&answer.status),
            "unexpected answer {answer:?}"
        );
        if let (Some(key), StatusCode::CREATED) = (key, answer.status) {
            by_key.entry(key.clone()).or_default().push(
                answer.json["payment"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    for (key, payments) in &by_key {
        assert!(
            payments.windows(2).all(|w| w[0] == w[1]),
            "one payment per key {key}: {payments:?}"
        );
    }
    let booking = service.get(&acme, "/v1/bookings/b-1").await;
    let succeeded: Vec<&serde_json::Value> = booking.json["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|p| p["state"] == "succeeded")
        .collect();
    // 200 requests of 7.00 (143 distinct charges: ten keys and 133 without) against 700.00:
    // exactly 100 fit, and the booking is paid exactly, never more.
    assert_eq!(succeeded.len(), 100);
    assert!(succeeded.iter().all(|p| amount(&p["amount"]) == "7.00"));
    assert_eq!(
        (
            amount(&booking.json["paid"]),
            amount(&booking.json["balance_due"])
        ),
        ("700.00", "0.00")
    );
    assert_eq!(booking.json["status"], "charged_in_full");
    let distinct_keys = by_key.len();
    let unkeyed_created = answers
        .iter()
        .filter(|(k, a)| k.is_none() && a.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        succeeded.len(),
        distinct_keys + unkeyed_created,
        "every created answer is one charge, keyed ones once"
    );
}

#[tokio::test]
async fn hammer_on_sqlite() {
    hammer(Store::Sqlite).await;
}

#[tokio::test]
async fn hammer_on_postgres() {
    hammer(Store::Postgres).await;
}
