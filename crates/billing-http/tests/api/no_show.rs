//! Marking a booking as a no-show through the API: the business's fee charged to the card on
//! file once, holds released, automation stopped; refusals that change nothing.

use crate::common::*;

#[tokio::test]
async fn a_no_show_charges_the_fee_once_and_stops_the_booking() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "200.00").await;
    let settings = json!({"policy": {"name": "manual"}, "no_show_fee": {"percent": "25"}});
    let put = h.put("/v1/settings/payments", settings.clone()).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.json["no_show_fee"], json!({"percent": "25"}));
    assert_eq!(
        h.get("/v1/settings/payments").await.json["no_show_fee"],
        json!({"percent": "25"})
    );
    let held = h
        .post(
            "/v1/bookings/b1/authorizations",
            json!({"amount": "100.00"}),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.text);

    let marked = h.post("/v1/bookings/b1/no-show", json!({})).await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.text);
    assert_eq!(marked.json["already_marked"], false);
    assert!(marked.json["no_show_at"].is_string());
    assert_eq!(marked.json["released"].as_array().map(Vec::len), Some(1));
    let fee = &marked.json["fee"]["payment"];
    assert_eq!(fee["state"], "succeeded");
    assert_eq!(money(&fee["amount"]), ("50.00", "USD"));
    assert_eq!(fee["origin"], "automation");

    let again = h.post("/v1/bookings/b1/no-show", json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["already_marked"], true);
    assert_eq!(again.json["fee"]["payment"]["id"], fee["id"]);
    assert_eq!(h.gateway.count("charge"), 1);
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(money(&booking.json["paid"]), ("50.00", "USD"));
    assert_eq!(money(&booking.json["held"]), ("0.00", "USD"));
    // Canceled now: it cannot be canceled into a fee again, nor its automation changed.
    h.put("/v1/bookings/b1/automation", json!({"paused": true}))
        .await
        .assert_problem(StatusCode::CONFLICT, "booking_canceled");
}

#[tokio::test]
async fn a_no_show_without_a_fee_or_a_card_or_after_a_cancellation_is_refused() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "200.00").await;
    let refused = h.post("/v1/bookings/b1/no-show", json!({})).await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("no no-show fee"),
        "{}",
        refused.text
    );
    h.put(
        "/v1/settings/payments",
        json!({"policy": {"name": "manual"}, "no_show_fee": {"amount": "30.00", "currency": "USD"}}),
    )
    .await;
    let made = h
        .post("/v1/customers", json!({"id": "c2", "name": "No card"}))
        .await;
    assert!(made.status.is_success(), "{}", made.text);
    let put = h
        .put(
            "/v1/bookings/b2",
            json!({"customer": "c2", "currency": "USD",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "80.00"}]}),
        )
        .await;
    assert!(put.status.is_success(), "{}", put.text);
    h.post("/v1/bookings/b2/no-show", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_card_on_file");
    let canceled = h.post("/v1/bookings/b1/cancel", json!({})).await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    h.post("/v1/bookings/b1/no-show", json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "booking_canceled");
    h.post("/v1/bookings/b404/no-show", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
    assert_eq!(h.gateway.count("charge"), 0);
}
