//! Syncing a payment with the gateway: what was done there (in its dashboard, or by the card
//! networks) reaches the ledger as records of origin `gateway`, once.

use crate::common::*;

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).unwrap()
}

fn reference(reply: &Reply) -> String {
    reply.json["payment"]["gateway_reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_capture_made_in_the_dashboard_reaches_the_booking_once() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let hold = h.post("/v1/bookings/b1/authorizations", json!({})).await;
    let id = Harness::payment_id(&hold);
    h.gateway
        .dashboard_capture(None, &reference(&hold), usd("60.00"), true)
        .unwrap();
    let synced = h.post(&format!("/v1/payments/{id}/sync"), json!({})).await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.text);
    assert_eq!(synced.json["payment"]["id"], id.as_str());
    assert_eq!(synced.json["payment"]["state"], "captured");
    assert_eq!(money(&synced.json["bookings"][0]["paid"]), ("60.00", "USD"));
    assert_eq!(money(&synced.json["bookings"][0]["held"]), ("0.00", "USD"));
    let view = h.get(&format!("/v1/payments/{id}")).await;
    let children = view.json["children"].as_array().unwrap().clone();
    assert_eq!(children.len(), 1, "{}", view.text);
    assert_eq!(children[0]["kind"], "capture");
    assert_eq!(children[0]["origin"], "gateway");
    assert_eq!(money(&children[0]["amount"]), ("60.00", "USD"));

    // Syncing again records nothing more.
    let again = h.post(&format!("/v1/payments/{id}/sync"), json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let view = h.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(view.json["children"].as_array().map(Vec::len), Some(1));
    assert_eq!(h.booking_status("b1").await, "partially_charged");
}

#[tokio::test]
async fn a_refund_and_a_dispute_made_at_the_gateway_reach_the_booking() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let charge = h.post("/v1/bookings/b1/charges", json!({})).await;
    let id = Harness::payment_id(&charge);
    let pi = reference(&charge);
    h.gateway.dashboard_refund(None, &pi, usd("10.00")).unwrap();
    let synced = h.post(&format!("/v1/payments/{id}/sync"), json!({})).await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.text);
    assert_eq!(money(&synced.json["bookings"][0]["paid"]), ("90.00", "USD"));
    assert_eq!(
        money(&synced.json["bookings"][0]["refunded"]),
        ("10.00", "USD")
    );

    let dispute = h
        .gateway
        .open_dispute(None, &pi, usd("90.00"), "fraudulent")
        .unwrap();
    let disputed = h.post(&format!("/v1/payments/{id}/sync"), json!({})).await;
    assert_eq!(disputed.status, StatusCode::OK, "{}", disputed.text);
    assert_eq!(disputed.json["bookings"][0]["disputed"], true);
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["disputed"], true);
    let list = h.get("/v1/bookings").await;
    assert_eq!(list.json["data"][0]["disputed"], true);
    let view = h.get(&format!("/v1/payments/{id}")).await;
    let kinds: Vec<(Value, Value, Value)> = view.json["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].clone(), c["origin"].clone(), c["state"].clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (json!("refund"), json!("gateway"), json!("succeeded")),
            (json!("dispute"), json!("gateway"), json!("pending")),
        ],
        "{}",
        view.text
    );
    let opened = &view.json["children"][1];
    assert_eq!(opened["of"], id.as_str());
    assert_eq!(opened["reason"], "fraudulent");
    // An open dispute leaves nothing more to refund (the bank holds the money).
    assert_eq!(money(&view.json["refundable"]), ("0.00", "USD"));

    h.gateway
        .close_dispute(None, &dispute.reference, false)
        .unwrap();
    let lost = h.post(&format!("/v1/payments/{id}/sync"), json!({})).await;
    assert_eq!(lost.status, StatusCode::OK, "{}", lost.text);
    assert_eq!(money(&lost.json["bookings"][0]["paid"]), ("0.00", "USD"));
    assert_eq!(lost.json["bookings"][0]["disputed"], true);
    let view = h.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(view.json["children"][1]["state"], "succeeded");
}

#[tokio::test]
async fn unknown_payments_are_not_found_and_a_collection_syncs_as_it_is() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.post("/v1/payments/pay_nope/sync", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "payment_not_found");
    h.post("/v1/payments/not%20an%20id/sync", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    // A cash collection has nothing at the gateway: synced as it is.
    let cash = h
        .post("/v1/bookings/b1/collections", json!({"method": "cash"}))
        .await;
    let id = Harness::payment_id(&cash);
    let synced = h.post(&format!("/v1/payments/{id}/sync"), json!({})).await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.text);
    assert_eq!(synced.json["payment"]["state"], "succeeded");
}
