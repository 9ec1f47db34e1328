//! Bookings: created, replaced, adjusted, listed; and their rules.

use crate::common::*;

#[tokio::test]
async fn bookings_are_created_replaced_adjusted_and_listed() {
    let h = Harness::new().await;
    h.post("/v1/customers", json!({"id": "c1", "name": "Ada"}))
        .await;
    let body = json!({
        "customer": "c1", "currency": "USD",
        "line_items": [
            {"kind": "service", "label": "Deep clean", "amount": "200.00"},
            {"kind": "extra", "label": "Inside the oven", "amount": "30.50"},
            {"kind": "discount", "label": "Loyalty", "amount": "15.00"},
        ],
        "service_at": "2026-02-01T09:00:00Z",
    });
    let created = h.put("/v1/bookings/b1", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let b = &created.json;
    assert_eq!(b["id"], "b1");
    assert_eq!(money(&b["price"]), ("215.50", "USD"));
    assert_eq!(money(&b["balance_due"]), ("215.50", "USD"));
    assert_eq!(money(&b["paid"]), ("0.00", "USD"));
    assert_eq!(b["status"], "not_charged");
    assert_eq!(b["pending"], false);
    assert_eq!(b["last_failed"], false);
    assert_eq!(b["service_at"], "2026-02-01T09:00:00Z");
    assert_eq!(b["completed_at"], Value::Null);
    assert_eq!(b["line_items"][2]["kind"], "discount");
    assert_eq!(b["payments"], json!([]));

    let replaced = h.put("/v1/bookings/b1", body).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);

    let adjusted = h
        .post(
            "/v1/bookings/b1/line-items",
            json!({"kind": "extra", "label": "Windows", "amount": "20.00"}),
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::OK, "{}", adjusted.text);
    assert_eq!(money(&adjusted.json["price"]), ("235.50", "USD"));
    assert_eq!(
        adjusted.json["line_items"].as_array().map(Vec::len),
        Some(4)
    );

    let read = h.get("/v1/bookings/b1").await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json, adjusted.json);

    for id in ["b2", "b3"] {
        h.put(
            &format!("/v1/bookings/{id}"),
            json!({"customer": "c1", "currency": "USD",
                   "line_items": [{"kind": "service", "label": "Clean", "amount": "10.00"}]}),
        )
        .await;
    }
    let page = h.get("/v1/bookings?limit=2").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let ids: Vec<&str> = page.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b1", "b2"]);
    assert_eq!(page.json["next_after"], "b2");
    assert_eq!(page.json["data"][0]["service_at"], "2026-02-01T09:00:00Z");
    assert!(page.json["data"][0].get("line_items").is_none());
    assert!(page.json["data"][0].get("payments").is_none());
    let next = h.get("/v1/bookings?limit=2&after=b2").await;
    assert_eq!(next.json["data"][0]["id"], "b3");
    assert_eq!(next.json["next_after"], Value::Null);
    let filtered = h
        .get("/v1/bookings?customer=c1&status=not_charged&pending=false")
        .await;
    assert_eq!(filtered.json["data"].as_array().map(Vec::len), Some(3));
    let none = h.get("/v1/bookings?status=charged_in_full").await;
    assert_eq!(none.json["data"], json!([]));
    h.get("/v1/bookings?status=paid")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    h.get("/v1/bookings?limit=0")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    h.get("/v1/bookings?pending=maybe")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn booking_rules_are_problems() {
    let h = Harness::new().await;
    h.put(
        "/v1/bookings/b1",
        json!({"customer": "nobody", "currency": "USD", "line_items": []}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.put(
        "/v1/bookings/b1",
        json!({"customer": "c1", "currency": "USD",
               "line_items": [{"kind": "discount", "label": "Too much", "amount": "1.00"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_booking");
    h.post("/v1/bookings/b1/charges", json!({"amount": "10.00"}))
        .await;
    h.put(
        "/v1/bookings/b1",
        json!({"customer": "c1", "currency": "EUR",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "100.00"}]}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "booking_has_payments");
    h.post(
        "/v1/bookings/nope/line-items",
        json!({"kind": "extra", "label": "x", "amount": "1.00"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
}
