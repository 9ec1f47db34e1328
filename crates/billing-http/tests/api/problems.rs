//! The refusals of this rules, as problems: amounts the gateway can never charge,
//! holds that cannot be captured in parts, a hold released while a capture is in flight, a
//! card removed while a payment uses it, and a gateway answer that could not be recorded.

use crate::common::*;

#[tokio::test]
async fn an_amount_the_gateway_can_never_charge_is_refused_before_anything_opens() {
    let h = Harness::links().await;
    h.seed("c9", "pm_card_visa", "b9", "100.00").await;
    let small = h
        .post("/v1/bookings/b9/charges", json!({"amount": "0.49"}))
        .await;
    small.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_not_chargeable");
    assert!(
        small.json["reason"].as_str().unwrap().len() > 3,
        "{}",
        small.text
    );
    assert!(small.json["detail"].as_str().unwrap().contains("0.49"));
    h.post("/v1/bookings/b9/authorizations", json!({"amount": "0.49"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_not_chargeable");
    // A payment link for such an amount is refused too.
    h.post(
        "/v1/payment-links",
        json!({"customer": "c1", "bookings": ["b1"], "amount": "0.49"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_not_chargeable");

    // Three-decimal currencies in tens: 10.125 KWD cannot be charged.
    let reply = h
        .put(
            "/v1/bookings/b10",
            json!({"customer": "c9", "currency": "KWD",
                   "line_items": [{"kind": "service", "label": "Deep clean", "amount": "10.125"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    h.post("/v1/bookings/b10/charges", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_not_chargeable");

    assert_eq!(h.gateway.count("charge") + h.gateway.count("authorize"), 0);
    for booking in ["b9", "b10"] {
        let read = h.get(&format!("/v1/bookings/{booking}")).await;
        assert_eq!(read.json["payments"], json!([]), "nothing opened");
    }
    // Cash is no gateway's business.
    let cash = h
        .post(
            "/v1/bookings/b9/collections",
            json!({"amount": "0.49", "method": "cash"}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
}

#[tokio::test]
async fn a_hold_the_account_cannot_capture_in_parts_refuses_a_partial_capture() {
    let h = Harness::new().await;
    h.gateway.set_multicapture(None, false);
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let hold = h.post("/v1/bookings/b1/authorizations", json!({})).await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    assert_eq!(hold.json["payment"]["multicapture"], false);
    let id = Harness::payment_id(&hold);
    let refused = h
        .post(
            &format!("/v1/payments/{id}/captures"),
            json!({"amount": "60.00", "final": false}),
        )
        .await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "multicapture_unavailable");
    assert_eq!(refused.json["payment"], id.as_str());
    assert_eq!(h.gateway.count("capture"), 0);
    let view = h.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(money(&view.json["capturable"]), ("100.00", "USD"));
    // Captured as final, it goes through.
    let captured = h
        .post(
            &format!("/v1/payments/{id}/captures"),
            json!({"amount": "60.00"}),
        )
        .await;
    assert_eq!(captured.status, StatusCode::CREATED, "{}", captured.text);
    assert_eq!(captured.json["payment"]["multicapture"], Value::Null);

    // Where the account allows it, holds say so.
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let hold = h.post("/v1/bookings/b1/authorizations", json!({})).await;
    assert_eq!(hold.json["payment"]["multicapture"], true);
}

#[tokio::test]
async fn a_hold_is_not_released_while_a_capture_of_it_is_in_flight() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let hold = h.post("/v1/bookings/b1/authorizations", json!({})).await;
    let id = Harness::payment_id(&hold);
    h.gateway.script(Scripted::LostAnswer);
    let capture = h
        .post(
            &format!("/v1/payments/{id}/captures"),
            json!({"amount": "40.00"}),
        )
        .await;
    assert_eq!(capture.status, StatusCode::ACCEPTED, "{}", capture.text);
    let refused = h
        .post(&format!("/v1/payments/{id}/cancel"), json!({}))
        .await;
    refused.assert_problem(StatusCode::CONFLICT, "capture_in_flight");
    assert_eq!(refused.json["payment"], id.as_str());
    assert_eq!(h.gateway.count("cancel"), 0);
}

#[tokio::test]
async fn a_card_a_pending_payment_uses_cannot_be_removed() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.gateway.script(Scripted::LostAnswer);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    let id = Harness::payment_id(&pending);
    let remove = "/v1/customers/c1/payment-methods/pm_card_visa";
    let refused = h.call(Method::DELETE, remove, Some(KEY_A), None, &[]).await;
    refused.assert_problem(StatusCode::CONFLICT, "card_in_use");
    assert_eq!(refused.json["payment"], id.as_str());
    assert_eq!(h.gateway.count("detach_card"), 0);
    // Once settled, it can go.
    let settled = h
        .post(&format!("/v1/payments/{id}/reconcile"), json!({}))
        .await;
    assert_eq!(
        settled.json["payment"]["state"], "succeeded",
        "{}",
        settled.text
    );
    let removed = h.call(Method::DELETE, remove, Some(KEY_A), None, &[]).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
}

#[tokio::test]
async fn an_answer_that_could_not_be_recorded_leaves_the_payment_pending_and_says_so() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    // The pending record lands; the gateway's answer cannot be recorded.
    h.store.fail_commits(1, 1);
    let reply = h.post("/v1/bookings/b1/charges", json!({})).await;
    reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "outcome_not_recorded");
    let detail = reply.json["detail"].as_str().unwrap();
    assert!(detail.contains("gateway was called"), "{detail}");
    assert!(detail.contains("stays pending"), "{detail}");
    assert!(!detail.contains("nothing was written"), "{detail}");
    let id = reply.json["payment"].as_str().unwrap().to_owned();
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["pending"], true, "{}", booking.text);
    // It is settled from the gateway's record, charged once.
    let settled = h
        .post(&format!("/v1/payments/{id}/reconcile"), json!({}))
        .await;
    assert_eq!(
        settled.json["payment"]["state"], "succeeded",
        "{}",
        settled.text
    );
    assert_eq!(h.gateway.payments_made(), 1);

    // A storage failure before any gateway call says nothing was written.
    h.seed("c2", "pm_card_visa", "b2", "10.00").await;
    h.store.fail_commits(0, 1);
    let refused = h.post("/v1/bookings/b2/charges", json!({})).await;
    refused.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was written")
    );
    assert_eq!(h.gateway.payments_made(), 1);
}
