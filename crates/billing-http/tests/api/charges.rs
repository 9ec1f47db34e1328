//! Charges: amounts, declines, unknown outcomes, gateway failures, duplicates, timeouts.

use billing_core::ports::GatewayError;

use crate::common::*;
use crate::gateways::Decorated;

#[tokio::test]
async fn charge_an_advance_then_the_rest() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "215.50").await;
    let advance = h
        .post("/v1/bookings/b1/charges", json!({"amount": "30.00"}))
        .await;
    assert_eq!(advance.status, StatusCode::CREATED, "{}", advance.text);
    let payment = &advance.json["payment"];
    assert_eq!(payment["kind"], "charge");
    assert_eq!(payment["state"], "succeeded");
    assert_eq!(money(&payment["amount"]), ("30.00", "USD"));
    assert_eq!(payment["customer"], "c1");
    assert_eq!(payment["allocations"][0]["booking"], "b1");
    assert_eq!(payment["failure"], Value::Null);
    assert!(payment["gateway_reference"].is_string());
    assert!(payment["created_at"].is_string());
    assert_eq!(advance.json["bookings"][0]["status"], "partially_charged");
    assert_eq!(
        money(&advance.json["bookings"][0]["balance_due"]),
        ("185.50", "USD")
    );
    assert!(!advance.replayed());

    let rest = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    assert_eq!(money(&rest.json["payment"]["amount"]), ("185.50", "USD"));
    assert_eq!(rest.json["bookings"][0]["status"], "charged_in_full");

    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "charged_in_full");
    assert_eq!(money(&booking.json["paid"]), ("215.50", "USD"));
    assert_eq!(booking.json["payments"].as_array().map(Vec::len), Some(2));

    h.post("/v1/bookings/b1/charges", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "nothing_to_charge");
    h.post("/v1/bookings/nope/charges", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
    h.post("/v1/bookings/nope/charges", json!({"amount": "1.00"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
}

#[tokio::test]
async fn charge_amount_rules() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.post("/v1/bookings/b1/charges", json!({"amount": "1.001"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "too_many_decimals");
    h.post("/v1/bookings/b1/charges", json!({"amount": "ten"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount");
    h.post("/v1/bookings/b1/charges", json!({"amount": "0.00"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "non_positive_amount");
    h.post("/v1/bookings/b1/charges", json!({"amount": "100.01"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_exceeds_balance");
    // Amounts are strings, never floats.
    h.post("/v1/bookings/b1/charges", json!({"amount": 10.5}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.post(
        "/v1/bookings/b1/charges",
        json!({"payment_method": "pm_not_saved"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "card_not_found");
    // A customer without a card.
    h.seed("c2", "", "b2", "10.00").await;
    h.post("/v1/bookings/b2/charges", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_card_on_file");
    assert_eq!(h.gateway.count("charge"), 0, "nothing reached the gateway");
}

#[tokio::test]
async fn a_decline_is_a_402_naming_the_failed_payment() {
    let h = Harness::new().await;
    h.seed(
        "c1",
        "pm_card_chargeDeclinedInsufficientFunds",
        "b1",
        "80.00",
    )
    .await;
    let declined = h.post("/v1/bookings/b1/charges", json!({})).await;
    declined.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert_eq!(declined.json["decline_code"], "insufficient_funds");
    let payment = declined.json["payment"].as_str().unwrap().to_owned();

    let read = h.get(&format!("/v1/payments/{payment}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json["payment"]["state"], "failed");
    assert_eq!(
        read.json["payment"]["failure"]["decline_code"],
        "insufficient_funds"
    );
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "not_charged");
    assert_eq!(booking.json["last_failed"], true);
}

#[tokio::test]
async fn an_unknown_gateway_outcome_is_accepted_and_reconciled() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::LostAnswer);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    assert_eq!(pending.json["payment"]["state"], "pending");
    assert_eq!(pending.json["bookings"][0]["pending"], true);
    assert_eq!(
        money(&pending.json["bookings"][0]["in_flight"]),
        ("50.00", "USD")
    );
    let id = pending.json["payment"]["id"].as_str().unwrap().to_owned();
    let listed = h.get("/v1/bookings?pending=true").await;
    assert_eq!(listed.json["data"][0]["id"], "b1");

    let settled = h
        .post(&format!("/v1/payments/{id}/reconcile"), json!({}))
        .await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text);
    assert_eq!(settled.json["payment"]["state"], "succeeded");
    assert_eq!(settled.json["bookings"][0]["status"], "charged_in_full");
    assert_eq!(h.gateway.payments_made(), 1, "charged once");
}

#[tokio::test]
async fn a_card_that_asks_the_absent_customer_to_authenticate_is_a_decline_suggesting_a_link() {
    let h = Harness::links().await;
    h.seed("c9", "pm_card_authenticationRequired", "b9", "50.00")
        .await;
    let reply = h
        .post_keyed("/v1/bookings/b9/charges", json!({}), "sca-1")
        .await;
    reply.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert_eq!(reply.json["decline_code"], "authentication_required");
    assert_eq!(reply.json["suggested_action"], "send_payment_link");
    let id = reply.json["payment"].as_str().unwrap().to_owned();
    // The replay says the same, byte for byte.
    let replay = h
        .post_keyed("/v1/bookings/b9/charges", json!({}), "sca-1")
        .await;
    assert!(replay.replayed());
    assert_eq!(replay.text, reply.text);

    let read = h.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(read.json["payment"]["state"], "failed");
    assert_eq!(
        read.json["payment"]["suggested_action"],
        "send_payment_link"
    );
    assert_eq!(
        read.json["payment"]["failure"]["code"],
        "authentication_required"
    );
    let booking = h.get("/v1/bookings/b9").await;
    assert_eq!(booking.json["pending"], false);
    assert_eq!(booking.json["last_failed"], true);
    assert_eq!(
        booking.json["payments"][0]["suggested_action"],
        "send_payment_link"
    );
    // The booking is free: a payment link can be sent, and cash taken.
    let link = h
        .post(
            "/v1/payment-links",
            json!({"customer": "c9", "bookings": ["b9"], "send_email": false}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.text);
    let cash = h
        .post(
            "/v1/bookings/b9/collections",
            json!({"amount": "20.00", "method": "cash"}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
}

#[tokio::test]
async fn gateway_failures_are_problems() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::Fail(GatewayError::RateLimited));
    let limited = h.post("/v1/bookings/b1/charges", json!({})).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.headers.get("retry-after").is_some());
    h.gateway
        .script(Scripted::Fail(GatewayError::Unavailable("down".into())));
    h.post("/v1/bookings/b1/charges", json!({}))
        .await
        .assert_problem(StatusCode::BAD_GATEWAY, "gateway_unavailable");
    // Nothing was done: the next try charges.
    let ok = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

#[tokio::test]
async fn without_a_key_a_repeat_is_a_probable_duplicate() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let first = h
        .post("/v1/bookings/b1/charges", json!({"amount": "20.00"}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = h
        .post("/v1/bookings/b1/charges", json!({"amount": "20.00"}))
        .await;
    second.assert_problem(StatusCode::CONFLICT, "probable_duplicate");
    assert_eq!(second.json["payment"], first.json["payment"]["id"]);
    let intended = h
        .post(
            "/v1/bookings/b1/charges",
            json!({"amount": "20.00", "allow_duplicate": true}),
        )
        .await;
    assert_eq!(intended.status, StatusCode::CREATED, "{}", intended.text);
}

#[tokio::test]
async fn a_request_that_times_out_still_finishes_its_money_move() {
    let h = Harness::with(Setup {
        config: HttpConfig {
            request_timeout: std::time::Duration::from_millis(100),
            ..HttpConfig::default()
        },
        gateway: Some(Decorated::slow),
        ..Setup::default()
    })
    .await;
    h.seed("c1", "pm_card_visa", "b1", "40.00").await;
    let timed_out = h.post("/v1/bookings/b1/charges", json!({})).await;
    timed_out.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "request_timeout");
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);
    let mut status = Value::Null;
    for _ in 0..100 {
        status = h.get("/v1/bookings/b1").await.json["status"].clone();
        if status == "charged_in_full" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "charged_in_full", "the charge went on to its end");
}
