//! Idempotency keys: a replay answers the first settled answer, byte for byte.

use billing_core::ports::GatewayError;

use crate::common::*;

#[tokio::test]
async fn a_replay_answers_the_first_result() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let body = json!({"amount": "30.00"});
    let first = h
        .post_keyed("/v1/bookings/b1/charges", body.clone(), "order-7")
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(!first.replayed());
    let again = h
        .post_keyed("/v1/bookings/b1/charges", body, "order-7")
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert!(again.replayed());
    assert_eq!(again.json["payment"]["id"], first.json["payment"]["id"]);
    assert_eq!(h.gateway.payments_made(), 1);

    let reused = h
        .post_keyed(
            "/v1/bookings/b1/charges",
            json!({"amount": "31.00"}),
            "order-7",
        )
        .await;
    reused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");

    for bad in ["", "has space", "é"] {
        let reply = h
            .call(
                Method::POST,
                "/v1/bookings/b1/charges",
                Some(KEY_A),
                Some(json!({})),
                &[("idempotency-key", bad)],
            )
            .await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    }
    let long = "k".repeat(256);
    h.call(
        Method::POST,
        "/v1/bookings/b1/charges",
        Some(KEY_A),
        Some(json!({})),
        &[("idempotency-key", &long)],
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
}

#[tokio::test]
async fn a_replayed_decline_keeps_its_status_and_a_replayed_pending_settles_first() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_chargeDeclined", "b1", "100.00").await;
    let first = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-1")
        .await;
    first.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    let again = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-1")
        .await;
    again.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(again.replayed());
    assert_eq!(again.json["payment"], first.json["payment"]);

    h.seed("c2", "pm_card_visa", "b2", "100.00").await;
    // The answer is lost, and the gateway still has no record when the replay asks.
    h.gateway.script(Scripted::LostRequest);
    h.gateway.script(Scripted::LostRequest);
    let pending = h
        .post_keyed("/v1/bookings/b2/charges", json!({}), "pending-1")
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    assert!(!pending.replayed());
    let id = pending.json["payment"]["id"].clone();
    h.clock.advance(Duration::seconds(61));
    // A replay settles the pending payment from the gateway first; while the gateway cannot
    // tell (the request it sends again is lost too), the outcome is still unknown: the payment
    // as it stands, pending (202), and nothing is charged.
    let replay = h
        .post_keyed("/v1/bookings/b2/charges", json!({}), "pending-1")
        .await;
    assert_eq!(replay.status, StatusCode::ACCEPTED, "{}", replay.text);
    assert!(replay.replayed());
    assert_eq!(replay.json["payment"]["id"], id);
    assert_eq!(replay.json["payment"]["state"], "pending");
    assert_eq!(h.get("/v1/bookings/b2").await.json["pending"], true);
    // Once the gateway answers, the replay answers the settled charge, made once.
    let settled = h
        .post_keyed("/v1/bookings/b2/charges", json!({}), "pending-1")
        .await;
    assert_eq!(settled.status, StatusCode::CREATED, "{}", settled.text);
    assert!(settled.replayed());
    assert_eq!(settled.json["payment"]["id"], id);
    assert_eq!(settled.json["payment"]["state"], "succeeded");
    assert_eq!(
        h.gateway.payments_made(),
        2,
        "the decline, and this charge once"
    );
}

#[tokio::test]
async fn a_replay_answers_the_first_body_byte_for_byte_after_a_refund() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let body = json!({"amount": "30.00"});
    let first = h
        .post_keyed("/v1/bookings/b1/charges", body.clone(), "order-8")
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(!first.replayed());
    assert_eq!(first.content_type(), "application/json");
    let charge = first.json["payment"]["id"].as_str().unwrap().to_owned();

    let refund = h
        .post_keyed(
            &format!("/v1/payments/{charge}/refunds"),
            json!({"amount": "10.00"}),
            "order-8-refund",
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    // The booking changed since the first answer...
    let now = h.get("/v1/bookings/b1").await;
    assert_eq!(money(&now.json["paid"]), ("20.00", "USD"), "{}", now.text);
    assert_eq!(money(&first.json["bookings"][0]["paid"]), ("30.00", "USD"));

    // ...yet the replay answers the first status and body, exactly.
    let again = h
        .post_keyed("/v1/bookings/b1/charges", body.clone(), "order-8")
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert!(again.replayed());
    assert_eq!(again.content_type(), "application/json");
    assert_eq!(again.text, first.text);
    let once_more = h
        .post_keyed("/v1/bookings/b1/charges", body, "order-8")
        .await;
    assert_eq!(once_more.text, first.text);

    // The refund's replay too, after the rest was refunded.
    let rest = h
        .post(&format!("/v1/payments/{charge}/refunds"), json!({}))
        .await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    let refund_again = h
        .post_keyed(
            &format!("/v1/payments/{charge}/refunds"),
            json!({"amount": "10.00"}),
            "order-8-refund",
        )
        .await;
    assert_eq!(refund_again.status, StatusCode::CREATED);
    assert!(refund_again.replayed());
    assert_eq!(refund_again.text, refund.text);
    assert_eq!(h.gateway.count("charge"), 1);
    assert_eq!(h.gateway.count("refund"), 2);

    // A hold's answer is kept as it was when placed, not as captured since.
    h.seed("c2", "pm_card_visa", "b2", "50.00").await;
    let hold = h
        .post_keyed("/v1/bookings/b2/authorizations", json!({}), "hold-1")
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    let hold_id = hold.json["payment"]["id"].as_str().unwrap().to_owned();
    let captured = h
        .post(&format!("/v1/payments/{hold_id}/captures"), json!({}))
        .await;
    assert_eq!(captured.status, StatusCode::CREATED, "{}", captured.text);
    let hold_again = h
        .post_keyed("/v1/bookings/b2/authorizations", json!({}), "hold-1")
        .await;
    assert_eq!(hold_again.status, StatusCode::CREATED);
    assert!(hold_again.replayed());
    assert_eq!(hold_again.text, hold.text);
    assert_eq!(hold_again.json["payment"]["state"], "authorized");
}

#[tokio::test]
async fn a_replayed_decline_answers_the_first_problem_byte_for_byte() {
    let h = Harness::new().await;
    h.seed(
        "c1",
        "pm_card_chargeDeclinedInsufficientFunds",
        "b1",
        "100.00",
    )
    .await;
    let first = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-2")
        .await;
    first.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(!first.replayed());
    // The core kept the declined receipt with the key.
    let key = IdempotencyKey::new("decline-2").unwrap();
    let kept = h.first_answer(&key).await.expect("the decline was kept");
    assert_eq!(kept.payment.id.as_str(), first.json["payment"]);
    assert!(matches!(kept.outcome(), Outcome::Declined(_)), "{kept:?}");
    // Another card on file meanwhile changes nothing to the answer.
    h.post(
        "/v1/customers/c1/payment-methods",
        json!({"payment_method": "pm_card_visa"}),
    )
    .await;
    h.post(
        "/v1/customers/c1/payment-methods/pm_card_visa/default",
        json!({}),
    )
    .await;
    let again = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-2")
        .await;
    again.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(again.replayed());
    assert_eq!(again.text, first.text);
    assert_eq!(h.gateway.count("charge"), 1);
}

#[tokio::test]
async fn only_final_answers_are_kept() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let kept = |key: &str| {
        let key = IdempotencyKey::new(key).unwrap();
        let h = &h;
        async move { h.first_answer(&key).await }
    };
    // A pending answer (202) is not kept: the replay that settles it answers anew, and that
    // settled answer is the one kept.
    h.gateway.script(Scripted::LostAnswer);
    let pending = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "40.00"}), "p-1")
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    assert_eq!(kept("p-1").await, None);
    let settled = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "40.00"}), "p-1")
        .await;
    assert_eq!(settled.status, StatusCode::CREATED, "{}", settled.text);
    assert!(settled.replayed());
    assert_eq!(settled.json["payment"]["state"], "succeeded");
    let first = kept("p-1").await.expect("the settled answer is kept");
    assert_eq!(first.payment.state, PaymentState::Succeeded);
    assert_eq!(first.payment.id.as_str(), settled.json["payment"]["id"]);
    h.post("/v1/bookings/b1/charges", json!({"amount": "10.00"}))
        .await;
    let later = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "40.00"}), "p-1")
        .await;
    assert_eq!(later.text, settled.text);

    // Refusals are not kept: not a key reuse, not a rule (nothing was claimed), not a failure
    // at the gateway that did nothing (the key is freed).
    h.post_keyed("/v1/bookings/b1/charges", json!({"amount": "41.00"}), "p-1")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(
        kept("p-1").await,
        Some(first),
        "the reuse did not replace it"
    );
    h.post_keyed(
        "/v1/bookings/b1/charges",
        json!({"amount": "999.00"}),
        "r-1",
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_exceeds_balance");
    assert_eq!(kept("r-1").await, None);
    h.gateway
        .script(Scripted::Fail(GatewayError::Unavailable("down".into())));
    h.post_keyed("/v1/bookings/b1/charges", json!({"amount": "5.00"}), "g-1")
        .await
        .assert_problem(StatusCode::BAD_GATEWAY, "gateway_unavailable");
    assert_eq!(kept("g-1").await, None);
    let retried = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "5.00"}), "g-1")
        .await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
    assert!(!retried.replayed());
}
