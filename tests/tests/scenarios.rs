//! The seeds' scenarios, walked through HTTP against the real binary, on SQLite and Postgres.

use billing_blackbox::{Service, Store, amount};
use reqwest::StatusCode;
use serde_json::json;

async fn walk_the_scenarios(store: Store) {
    let service = Service::start(store);
    let acme = service.create_business("Acme Cleaning");

    // A 100.00 booking charged in full.
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "full", "100.00")
        .await;
    let charged = service
        .post(&acme, "/v1/bookings/full/charges", json!({}))
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{charged:?}");
    assert_eq!(amount(&charged.json["payment"]["amount"]), "100.00");
    let booking = service.get(&acme, "/v1/bookings/full").await;
    assert_eq!(booking.json["status"], "charged_in_full");

    // 30.00 on a 215.50 booking, then the remaining 185.50.
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "partial", "215.50")
        .await;
    let advance = service
        .post(
            &acme,
            "/v1/bookings/partial/charges",
            json!({"amount": "30.00"}),
        )
        .await;
    assert_eq!(advance.status, StatusCode::CREATED, "{advance:?}");
    assert_eq!(
        service.get(&acme, "/v1/bookings/partial").await.json["status"],
        "partially_charged"
    );
    let rest = service
        .post(&acme, "/v1/bookings/partial/charges", json!({}))
        .await;
    assert_eq!(amount(&rest.json["payment"]["amount"]), "185.50");
    let booking = service.get(&acme, "/v1/bookings/partial").await;
    assert_eq!(
        (
            booking.json["status"].as_str(),
            amount(&booking.json["balance_due"])
        ),
        (Some("charged_in_full"), "0.00")
    );

    // A 100.00 booking raised to 150.00 by extras, then charged 150.00.
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "adjusted", "100.00")
        .await;
    let raised = service
        .post(
            &acme,
            "/v1/bookings/adjusted/line-items",
            json!({"kind": "extra", "label": "Inside the fridge", "amount": "50.00"}),
        )
        .await;
    assert_eq!(amount(&raised.json["price"]), "150.00", "{raised:?}");
    let charged = service
        .post(
            &acme,
            "/v1/bookings/adjusted/charges",
            json!({"amount": "150.00"}),
        )
        .await;
    assert_eq!(charged.status, StatusCode::CREATED);
    assert_eq!(
        service.get(&acme, "/v1/bookings/adjusted").await.json["status"],
        "charged_in_full"
    );

    // Pre-authorize, then capture in part: the rest is released.
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "held", "200.00")
        .await;
    let hold = service
        .post(&acme, "/v1/bookings/held/authorizations", json!({}))
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{hold:?}");
    assert_eq!(
        service.get(&acme, "/v1/bookings/held").await.json["status"],
        "pre_authorized"
    );
    let hold_id = hold.json["payment"]["id"]
        .as_str()
        .expect("hold id")
        .to_owned();
    let capture = service
        .post(
            &acme,
            &format!("/v1/payments/{hold_id}/captures"),
            json!({"amount": "150.00"}),
        )
        .await;
    assert_eq!(capture.status, StatusCode::CREATED, "{capture:?}");
    let booking = service.get(&acme, "/v1/bookings/held").await;
    assert_eq!(booking.json["status"], "partially_charged");
    assert_eq!(
        (
            amount(&booking.json["held"]),
            amount(&booking.json["balance_due"])
        ),
        ("0.00", "50.00")
    );

    // A cash collection.
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "cash", "80.00")
        .await;
    let cash = service
        .post(
            &acme,
            "/v1/bookings/cash/collections",
            json!({"method": "cash"}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{cash:?}");
    assert_eq!(
        service.get(&acme, "/v1/bookings/cash").await.json["status"],
        "charged_in_full"
    );

    // A bulk charge of several bookings with one declined card: one result per booking.
    service
        .seed_booking(&acme, "bob", "pm_card_visa", "bulk-1", "40.00")
        .await;
    service
        .seed_booking(
            &acme,
            "dee",
            "pm_card_chargeCustomerFail",
            "bulk-2",
            "60.00",
        )
        .await;
    service
        .seed_booking(&acme, "bob", "pm_card_visa", "bulk-3", "70.00")
        .await;
    let bulk = service
        .post(
            &acme,
            "/v1/charges/bulk",
            json!({"bookings": ["bulk-1", "bulk-2", "bulk-3"]}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{bulk:?}");
    let results = bulk.json["results"].as_array().expect("results");
    let statuses: Vec<(&str, u64)> = results
        .iter()
        .map(|r| {
            (
                r["booking"].as_str().unwrap_or(""),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![("bulk-1", 201), ("bulk-2", 402), ("bulk-3", 201)]
    );
    assert_eq!(results[1]["error"]["code"], "card_declined");
    let declined = service.get(&acme, "/v1/bookings/bulk-2").await;
    assert_eq!(
        (
            declined.json["status"].as_str(),
            declined.json["last_failed"].as_bool()
        ),
        (Some("not_charged"), Some(true))
    );

    // A refund: the balance and status follow.
    let payment = charged.json["payment"]["id"]
        .as_str()
        .expect("payment id")
        .to_owned();
    let refund = service
        .post(
            &acme,
            &format!("/v1/payments/{payment}/refunds"),
            json!({"amount": "50.00", "reason": "window not cleaned"}),
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{refund:?}");
    let booking = service.get(&acme, "/v1/bookings/adjusted").await;
    assert_eq!(
        (
            booking.json["status"].as_str(),
            amount(&booking.json["balance_due"])
        ),
        (Some("partially_charged"), "50.00")
    );
    let over = service
        .post(
            &acme,
            &format!("/v1/payments/{payment}/refunds"),
            json!({"amount": "100.01"}),
        )
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.json["code"], "refund_exceeds_refundable");

    // The outstanding report: per customer, and the total.
    let report = service.get(&acme, "/v1/reports/outstanding").await;
    assert_eq!(report.status, StatusCode::OK);
    let rows: Vec<(String, String)> = report.json["customers"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["customer"].as_str().unwrap_or("").to_owned(),
                amount(&r["balance_due"]).to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ada".to_owned(), "100.00".to_owned()),
            ("dee".to_owned(), "60.00".to_owned())
        ]
    );
    assert_eq!(amount(&report.json["totals"][0]), "160.00");
    let csv = service
        .call(
            &acme,
            reqwest::Method::GET,
            "/v1/reports/outstanding?format=csv",
            None,
            None,
        )
        .await;
    assert!(
        csv.text
            .starts_with("customer,currency,balance_due,bookings"),
        "{}",
        csv.text
    );
    assert!(csv.text.contains("TOTAL,USD,160.00"), "{}", csv.text);
}

#[tokio::test]
async fn scenarios_on_sqlite() {
    walk_the_scenarios(Store::Sqlite).await;
}

#[tokio::test]
async fn scenarios_on_postgres() {
    walk_the_scenarios(Store::Postgres).await;
}
