//! Customers, their saved cards and what they owe.

use crate::common::*;

#[tokio::test]
async fn customers_and_their_cards() {
    let h = Harness::new().await;
    let created = h
        .post(
            "/v1/customers",
            json!({"id": "c1", "name": "Ada", "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        created.json,
        json!({"id": "c1", "name": "Ada", "email": "ada@example.com", "phone": null, "cards": []})
    );

    let card = h
        .post(
            "/v1/customers/c1/payment-methods",
            json!({"payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(card.status, StatusCode::CREATED, "{}", card.text);
    assert_eq!(card.json["payment_method"], "pm_card_visa");
    assert_eq!(card.json["last4"], "4242");
    assert_eq!(card.json["is_default"], true);
    let second = h
        .post(
            "/v1/customers/c1/payment-methods",
            json!({"payment_method": "pm_card_mastercard"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.json["is_default"], false);

    let updated = h
        .post("/v1/customers", json!({"id": "c1", "name": "Ada Lovelace"}))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json["name"], "Ada Lovelace");
    assert_eq!(updated.json["cards"].as_array().map(Vec::len), Some(2));

    let default = h
        .post(
            "/v1/customers/c1/payment-methods/pm_card_mastercard/default",
            json!({}),
        )
        .await;
    assert_eq!(default.status, StatusCode::OK, "{}", default.text);
    assert_eq!(default.json["is_default"], true);

    let listed = h.get("/v1/customers/c1/payment-methods").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        listed.json["data"][0]["payment_method"],
        "pm_card_mastercard"
    );
    assert_eq!(listed.json["data"][0]["is_default"], true);
    assert_eq!(listed.json["data"][1]["is_default"], false);

    let removed = h
        .call(
            Method::DELETE,
            "/v1/customers/c1/payment-methods/pm_card_visa",
            Some(KEY_A),
            None,
            &[],
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let again = h
        .call(
            Method::DELETE,
            "/v1/customers/c1/payment-methods/pm_card_visa",
            Some(KEY_A),
            None,
            &[],
        )
        .await;
    again.assert_problem(StatusCode::NOT_FOUND, "card_not_found");

    let customer = h.get("/v1/customers/c1").await;
    assert_eq!(customer.status, StatusCode::OK);
    assert_eq!(customer.json["cards"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        customer.json["cards"][0],
        json!({"payment_method": "pm_card_mastercard", "brand": "mastercard", "last4": "4444",
               "exp_month": 12, "exp_year": 2034, "is_default": true})
    );

    h.get("/v1/customers/nobody")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    h.post(
        "/v1/customers/nobody/payment-methods",
        json!({"payment_method": "pm_card_visa"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    h.post("/v1/customers", json!({"id": "c2", "name": " "}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    h.post(
        "/v1/customers",
        json!({"id": "c2", "name": "Bo", "email": "nope"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
}

#[tokio::test]
async fn a_customer_balance_sums_their_bookings() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.put(
        "/v1/bookings/b2",
        json!({"customer": "c1", "currency": "USD",
               "line_items": [{"kind": "service", "label": "Windows", "amount": "50.25"}]}),
    )
    .await;
    let balance = h.get("/v1/customers/c1/balance").await;
    assert_eq!(balance.status, StatusCode::OK, "{}", balance.text);
    assert_eq!(
        balance.json,
        json!({"customer": "c1", "balance_due": [{"amount": "150.25", "currency": "USD"}]})
    );
    h.get("/v1/customers/nobody/balance")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
}
