//! Collections, holds, captures, cancels and refunds.

use crate::common::*;

#[tokio::test]
async fn collections_count_as_paid() {
    let h = Harness::new().await;
    h.seed("c1", "", "b1", "100.00").await;
    let cash = h
        .post(
            "/v1/bookings/b1/collections",
            json!({"amount": "40.00", "method": "cash"}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
    assert_eq!(cash.json["payment"]["kind"], "collection");
    assert_eq!(cash.json["payment"]["method"], "cash");
    assert_eq!(cash.json["payment"]["state"], "succeeded");
    let check = h
        .post(
            "/v1/bookings/b1/collections",
            json!({"method": "check", "reference": "chk-1042"}),
        )
        .await;
    assert_eq!(check.status, StatusCode::CREATED, "{}", check.text);
    assert_eq!(money(&check.json["payment"]["amount"]), ("60.00", "USD"));
    assert_eq!(check.json["payment"]["reference"], "chk-1042");
    assert_eq!(check.json["bookings"][0]["status"], "charged_in_full");

    h.seed("c2", "", "b2", "10.00").await;
    let other = h
        .post(
            "/v1/bookings/b2/collections",
            json!({"method": "other", "label": "Venmo"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    assert_eq!(other.json["payment"]["method"], "other");
    assert_eq!(other.json["payment"]["label"], "Venmo");
    h.post("/v1/bookings/b2/collections", json!({"method": "barter"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}

#[tokio::test]
async fn hold_capture_cancel_and_refund() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let hold = h.post("/v1/bookings/b1/authorizations", json!({})).await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    assert_eq!(hold.json["payment"]["kind"], "authorization");
    assert_eq!(hold.json["payment"]["state"], "authorized");
    assert_eq!(hold.json["bookings"][0]["status"], "pre_authorized");
    assert_eq!(money(&hold.json["bookings"][0]["held"]), ("100.00", "USD"));
    let hold_id = hold.json["payment"]["id"].as_str().unwrap().to_owned();

    let view = h.get(&format!("/v1/payments/{hold_id}")).await;
    assert_eq!(money(&view.json["capturable"]), ("100.00", "USD"));

    let part = h
        .post(
            &format!("/v1/payments/{hold_id}/captures"),
            json!({"amount": "60.00", "final": false}),
        )
        .await;
    assert_eq!(part.status, StatusCode::CREATED, "{}", part.text);
    assert_eq!(part.json["payment"]["kind"], "capture");
    assert_eq!(part.json["payment"]["of"], hold_id.as_str());
    assert_eq!(part.json["bookings"][0]["status"], "partially_charged");
    let capture_id = part.json["payment"]["id"].as_str().unwrap().to_owned();

    h.post(
        &format!("/v1/payments/{hold_id}/captures"),
        json!({"amount": "40.01"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "capture_exceeds_hold");

    let canceled = h
        .post(&format!("/v1/payments/{hold_id}/cancel"), json!({}))
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    assert_eq!(canceled.json["payment"]["id"], hold_id.as_str());
    assert_eq!(canceled.json["payment"]["state"], "captured");
    let again = h
        .post(&format!("/v1/payments/{hold_id}/cancel"), json!({}))
        .await;
    again.assert_problem(StatusCode::CONFLICT, "payment_not_cancelable");
    assert_eq!(again.json["state"], "captured");

    let refund = h
        .post(
            &format!("/v1/payments/{capture_id}/refunds"),
            json!({"amount": "10.00", "reason": "Missed a room"}),
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    assert_eq!(refund.json["payment"]["kind"], "refund");
    assert_eq!(refund.json["payment"]["of"], capture_id.as_str());
    assert_eq!(refund.json["payment"]["reason"], "Missed a room");
    assert_eq!(money(&refund.json["bookings"][0]["paid"]), ("50.00", "USD"));

    let capture = h.get(&format!("/v1/payments/{capture_id}")).await;
    assert_eq!(money(&capture.json["refundable"]), ("50.00", "USD"));
    assert_eq!(capture.json["children"].as_array().map(Vec::len), Some(1));
    h.post(
        &format!("/v1/payments/{capture_id}/refunds"),
        json!({"amount": "50.01"}),
    )
    .await
    .assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "refund_exceeds_refundable",
    );
    let rest = h
        .post(&format!("/v1/payments/{capture_id}/refunds"), json!({}))
        .await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    assert_eq!(rest.json["bookings"][0]["status"], "refunded");

    h.post(&format!("/v1/payments/{hold_id}/refunds"), json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "not_refundable");
    h.post(&format!("/v1/payments/{capture_id}/captures"), json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "not_a_hold");
    h.get("/v1/payments/pay_nope")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "payment_not_found");
}
