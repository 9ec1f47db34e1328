//! Staff ending a payment that would otherwise wait: canceling one that waits for the
//! customer to authenticate, and marking failed one the gateway never had.

use crate::common::*;
use crate::gateways::Decorated;

#[tokio::test]
async fn a_payment_waiting_for_the_customer_is_canceled_and_the_booking_can_be_paid_again() {
    let h = Harness::links_with(Setup {
        gateway: Some(Decorated::with_challenge_pages),
        ..Setup::default()
    })
    .await;
    let link = h.link(&["b1"]).await;
    let asked = h.pay(&page_of(&link), AUTH_ON_SETUP, false).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text);
    let payment = h.get("/v1/bookings/b1").await.json["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nothing can be taken for the booking while it waits.
    h.post("/v1/bookings/b1/collections", json!({"method": "cash"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "nothing_to_charge");

    let canceled = h
        .call(
            Method::POST,
            &format!("/v1/payments/{payment}/cancel"),
            Some(KEY_A),
            None,
            &[("idempotency-key", "cancel-1")],
        )
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    assert_eq!(canceled.json["payment"]["state"], "canceled");
    assert_eq!(canceled.json["bookings"][0]["pending"], false);
    assert_eq!(h.gateway.count("cancel"), 1);
    // Canceling again is refused, with where it stands.
    let again = h
        .post(&format!("/v1/payments/{payment}/cancel"), json!({}))
        .await;
    again.assert_problem(StatusCode::CONFLICT, "payment_not_cancelable");
    assert_eq!(again.json["payment"], payment.as_str());
    assert_eq!(again.json["state"], "canceled");
    // The link's page works again, and the booking takes other payments.
    h.pay(&page_of(&link), VISA, false)
        .await
        .assert_page(StatusCode::OK, "payment-success");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
}

#[tokio::test]
async fn only_open_holds_and_payments_waiting_for_the_customer_can_be_canceled() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let charge = h
        .post("/v1/bookings/b1/charges", json!({"amount": "10.00"}))
        .await;
    let id = Harness::payment_id(&charge);
    let refused = h
        .post(&format!("/v1/payments/{id}/cancel"), json!({}))
        .await;
    refused.assert_problem(StatusCode::CONFLICT, "payment_not_cancelable");
    assert_eq!(refused.json["state"], "succeeded");
    h.call(
        Method::POST,
        &format!("/v1/payments/{id}/cancel"),
        Some(KEY_A),
        None,
        &[("idempotency-key", "")],
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    h.post("/v1/payments/pay_nope/cancel", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "payment_not_found");
    assert_eq!(h.gateway.count("cancel"), 0);
}

/// A harness whose gateway's search finds a payment only a minute after it was made.
async fn lagging() -> Harness {
    Harness::with(Setup {
        search_lag: Some(Duration::seconds(60)),
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn a_payment_the_gateway_never_had_is_marked_failed_once_its_search_can_tell() {
    let h = lagging().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::LostRequest);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    let id = Harness::payment_id(&pending);
    let mark = format!("/v1/payments/{id}/mark-failed");

    let early = h.post(&mark, json!({})).await;
    early.assert_problem(StatusCode::CONFLICT, "too_recent_to_judge");
    assert_eq!(early.json["payment"], id.as_str());
    assert_eq!(early.json["retry_at"], "2026-01-15T09:01:00Z");
    assert_eq!(early.header("retry-after"), "60");
    h.clock.advance(Duration::seconds(45));
    let still = h.post(&mark, json!({})).await;
    still.assert_problem(StatusCode::CONFLICT, "too_recent_to_judge");
    assert_eq!(still.header("retry-after"), "15");
    assert_eq!(h.booking_status("b1").await, "not_charged");

    h.clock.advance(Duration::seconds(16));
    let calls = h.gateway.calls().len();
    let marked = h.post(&mark, json!({})).await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.text);
    assert_eq!(marked.json["payment"]["state"], "failed");
    assert_eq!(marked.json["payment"]["failure"]["code"], "marked_failed");
    assert_eq!(marked.json["payment"]["suggested_action"], Value::Null);
    assert_eq!(marked.json["bookings"][0]["pending"], false);
    assert!(
        h.gateway.calls()[calls..]
            .iter()
            .all(|c| c.operation.starts_with("find")),
        "only asked, never sent: {:?}",
        &h.gateway.calls()[calls..]
    );
    // Marked once: a second time is refused with where it stands.
    let again = h.post(&mark, json!({})).await;
    again.assert_problem(StatusCode::CONFLICT, "payment_not_pending");
    assert_eq!(again.json["state"], "failed");
    // The balance is free again.
    let charged = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(charged.status, StatusCode::CREATED, "{}", charged.text);
}

#[tokio::test]
async fn a_payment_the_gateway_has_is_settled_instead_of_marked_failed() {
    let h = lagging().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::LostAnswer);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    let id = Harness::payment_id(&pending);
    h.clock.advance(Duration::minutes(2));
    let found = h
        .post(&format!("/v1/payments/{id}/mark-failed"), json!({}))
        .await;
    found.assert_problem(StatusCode::CONFLICT, "payment_exists_at_gateway");
    assert_eq!(found.json["payment"], id.as_str());
    assert_eq!(found.json["receipt"]["payment"]["id"], id.as_str());
    assert_eq!(found.json["receipt"]["payment"]["state"], "succeeded");
    assert_eq!(
        found.json["receipt"]["bookings"][0]["status"],
        "charged_in_full"
    );
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert_eq!(h.gateway.payments_made(), 1, "charged once");
}

#[tokio::test]
async fn a_settled_payment_is_not_marked_failed() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    let charged = h.post("/v1/bookings/b1/charges", json!({})).await;
    let id = Harness::payment_id(&charged);
    let refused = h
        .post(&format!("/v1/payments/{id}/mark-failed"), json!({}))
        .await;
    refused.assert_problem(StatusCode::CONFLICT, "payment_not_pending");
    assert_eq!(refused.json["state"], "succeeded");
    h.post("/v1/payments/pay_nope/mark-failed", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "payment_not_found");
    h.post("/v1/payments/not%20an%20id/mark-failed", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
}
