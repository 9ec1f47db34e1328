//! Gateway webhooks.

use crate::common::*;

#[tokio::test]
async fn webhooks_reconcile_once_and_refuse_bad_signatures() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::LostAnswer);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED);
    let id = pending.json["payment"]["id"].as_str().unwrap().to_owned();

    let deliver = |body: Value, signature: &'static str| h.deliver(body, signature);
    let event = json!({"id": "evt_1", "type": "payment_intent.succeeded", "payment": id});
    deliver(event.clone(), "forged")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_signature");
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);

    let first = deliver(event.clone(), "good").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["outcome"], "reconciled");
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "charged_in_full");
    assert_eq!(booking.json["pending"], false);

    let finds = h.gateway.count("find_payment");
    let again = deliver(event, "good").await;
    assert_eq!(again.json["outcome"], "duplicate");
    assert_eq!(h.gateway.count("find_payment"), finds, "no second effect");

    let other = deliver(json!({"id": "evt_2", "type": "customer.created"}), "good").await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.json["outcome"], "ignored");
    let stranger = deliver(
        json!({"id": "evt_3", "type": "payment_intent.succeeded", "payment": "pay_elsewhere"}),
        "good",
    )
    .await;
    assert_eq!(stranger.json["outcome"], "ignored");
}

#[tokio::test]
async fn without_a_verifier_webhooks_are_not_served() {
    let h = Harness::with(Setup {
        webhooks: false,
        ..Setup::default()
    })
    .await;
    let reply = h
        .send(
            Request::post("/v1/webhooks/stripe")
                .header("stripe-signature", "good")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    reply.assert_problem(StatusCode::NOT_FOUND, "webhooks_not_configured");
}

#[tokio::test]
async fn a_refund_settled_at_the_gateway_is_reconciled_by_its_event() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    let charge = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(charge.status, StatusCode::CREATED, "{}", charge.text);
    let id = charge.json["payment"]["id"].as_str().unwrap().to_owned();
    h.gateway.script(Scripted::LostAnswer);
    let refund = h
        .post(&format!("/v1/payments/{id}/refunds"), json!({}))
        .await;
    assert_eq!(refund.status, StatusCode::ACCEPTED, "{}", refund.text);
    assert_eq!(refund.json["payment"]["state"], "pending");
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);

    let event = json!({"id": "evt_r1", "type": "charge.refunded", "payment": id});
    let handled = h.deliver(event, "good").await;
    assert_eq!(handled.status, StatusCode::OK, "{}", handled.text);
    assert_eq!(
        handled.json,
        json!({"received": true, "outcome": "reconciled"})
    );
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "refunded", "{}", booking.text);
    assert_eq!(booking.json["pending"], false);
    assert_eq!(h.gateway.count("refund"), 1);
}

#[tokio::test]
async fn an_event_that_cannot_be_handled_yet_is_refused_so_that_it_comes_again() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    // The charge never reached the gateway, and the reconciler's request is lost too.
    h.gateway.script(Scripted::LostRequest);
    h.gateway.script(Scripted::LostRequest);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    let id = pending.json["payment"]["id"].as_str().unwrap().to_owned();
    let event = json!({"id": "evt_9", "type": "payment_intent.succeeded", "payment": id});
    let refused = h.deliver(event.clone(), "good").await;
    refused.assert_problem(StatusCode::BAD_GATEWAY, "gateway_outcome_unknown");
    assert_eq!(refused.json["payment"], id.as_str());
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);
    // Delivered again (not taken as a duplicate): now it settles the charge, made once.
    let again = h.deliver(event, "good").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["outcome"], "reconciled");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert_eq!(h.gateway.payments_made(), 1);
}
