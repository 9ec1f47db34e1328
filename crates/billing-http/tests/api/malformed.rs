//! Malformed requests are problems, never plain text.

use crate::common::*;

#[tokio::test]
async fn malformed_requests_are_problems_never_plain_text() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let bad_json = h
        .send(
            Request::post("/v1/bookings/b1/charges")
                .header("authorization", format!("Bearer {KEY_A}"))
                .header("content-type", "application/json")
                .body(Body::from("{\"amount\": "))
                .unwrap(),
        )
        .await;
    bad_json.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
    let no_type = h
        .send(
            Request::post("/v1/customers")
                .header("authorization", format!("Bearer {KEY_A}"))
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    no_type.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    h.post(
        "/v1/bookings/b1/charges",
        json!({"amount": "1.00", "gratuity": "5"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.post("/v1/customers", json!({"name": "no id"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.post("/v1/customers", json!({"id": "c7", "name": "Nul\u{0}byte"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    h.post("/v1/customers", json!({"id": "a b", "name": "Bad id"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    h.get("/v1/bookings/has%20space")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    h.put(
        "/v1/bookings/b9",
        json!({"customer": "c1", "currency": "XYZ",
               "line_items": [{"kind": "service", "label": "x", "amount": "1.00"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_currency");
    h.put(
        "/v1/bookings/b9",
        json!({"customer": "c1", "currency": "JPY",
               "line_items": [{"kind": "service", "label": "x", "amount": "1.5"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "too_many_decimals");
    h.put(
        "/v1/bookings/b9",
        json!({"customer": "c1", "currency": "USD",
               "line_items": [{"kind": "fee", "label": "x", "amount": "1.00"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");

    let unknown = h.get("/v1/nothing-here").await;
    unknown.assert_problem(StatusCode::NOT_FOUND, "not_found");
    let not_allowed = h
        .call(Method::DELETE, "/v1/bookings/b1", Some(KEY_A), None, &[])
        .await;
    not_allowed.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");

    let huge = json!({"id": "c9", "name": "x".repeat(300 * 1024)});
    h.post("/v1/customers", huge)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}
