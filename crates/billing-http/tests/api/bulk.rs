//! Bulk charges.

use billing_core::billing::BulkPacing;

use crate::common::*;

/// The default policy, charging `concurrency` bookings of a bulk charge at once.
fn paced(concurrency: usize) -> Policy {
    Policy {
        bulk: BulkPacing {
            concurrency,
            ..BulkPacing::default()
        },
        ..Policy::default()
    }
}

#[tokio::test]
async fn bulk_results_come_in_order_with_one_decline() {
    let h = Harness::with(Setup {
        policy: paced(2),
        ..Setup::default()
    })
    .await;
    h.seed("c1", "pm_card_visa", "b1", "10.00").await;
    h.seed("c2", "pm_card_chargeDeclined", "b2", "20.00").await;
    h.seed("c3", "pm_card_visa", "b3", "30.00").await;
    h.seed("c4", "pm_card_visa", "b4", "40.00").await;
    let reply = h
        .post_keyed(
            "/v1/charges/bulk",
            json!({"bookings": ["b3", "b2", "nope", "b1", "b4"]}),
            "batch-1",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let results = reply.json["results"].as_array().unwrap();
    let summary: Vec<(&str, u64)> = results
        .iter()
        .map(|r| {
            (
                r["booking"].as_str().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("b3", 201),
            ("b2", 402),
            ("nope", 404),
            ("b1", 201),
            ("b4", 201)
        ]
    );
    assert_eq!(money(&results[0]["payment"]["amount"]), ("30.00", "USD"));
    assert_eq!(results[1]["error"]["code"], "card_declined");
    assert_eq!(results[1]["payment"]["state"], "failed");
    assert_eq!(results[2]["error"]["code"], "booking_not_found");
    assert!(results[0].get("error").is_none());

    // The same batch again under the same key charges nobody twice.
    let again = h
        .post_keyed(
            "/v1/charges/bulk",
            json!({"bookings": ["b3", "b2", "nope", "b1", "b4"]}),
            "batch-1",
        )
        .await;
    let statuses: Vec<u64> = again.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 402, 404, 201, 201]);
    assert_eq!(
        again.json["results"][0]["payment"]["id"],
        results[0]["payment"]["id"]
    );
    assert_eq!(h.gateway.count("charge"), 4);

    h.post("/v1/charges/bulk", json!({"bookings": []}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.post("/v1/charges/bulk", json!({"bookings": ["a b"]}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
    h.post("/v1/charges/bulk", json!({"bookings": ["b1", "b1"]}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    let too_many: Vec<String> = (0..1001).map(|n| format!("x{n}")).collect();
    h.post("/v1/charges/bulk", json!({ "bookings": too_many }))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_eq!(
        h.gateway.count("charge"),
        4,
        "a refused batch charges nobody"
    );
}

#[tokio::test]
async fn a_bulk_charge_sends_again_what_the_gateway_refused_as_rate_limited() {
    let h = Harness::with(Setup {
        policy: paced(1),
        ..Setup::default()
    })
    .await;
    h.seed("c1", "pm_card_visa", "b1", "10.00").await;
    h.seed("c2", "pm_card_visa", "b2", "20.00").await;
    h.gateway.script(Scripted::Fail(
        billing_core::ports::GatewayError::RateLimited,
    ));
    let reply = h
        .post_keyed(
            "/v1/charges/bulk",
            json!({"bookings": ["b1", "b2"]}),
            "batch-rate",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let statuses: Vec<u64> = reply.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201], "{}", reply.text);
    // Three calls: b1 refused, b1 again, b2; two charges made.
    assert_eq!(h.gateway.count("charge"), 3);
    assert_eq!(h.gateway.payments_made(), 2);
}

#[tokio::test]
async fn a_replayed_bulk_charge_answers_the_first_body_byte_for_byte() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "10.00").await;
    h.seed("c2", "pm_card_chargeDeclined", "b2", "20.00").await;
    h.seed("c3", "pm_card_visa", "b3", "30.00").await;
    let batch = json!({"bookings": ["b1", "b2", "b3"]});
    let first = h
        .post_keyed("/v1/charges/bulk", batch.clone(), "batch-9")
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.content_type(), "application/json");
    // The body is what the typed response would have written.
    let typed: billing_http::wire::BulkResponse = serde_json::from_str(&first.text).unwrap();
    assert_eq!(serde_json::to_string(&typed).unwrap(), first.text);
    let charged = first.json["results"][0]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refund = h
        .post(&format!("/v1/payments/{charged}/refunds"), json!({}))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);

    let again = h.post_keyed("/v1/charges/bulk", batch, "batch-9").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.text, first.text);
    assert_eq!(h.gateway.count("charge"), 3);

    // Each settled part's receipt was kept by the core under the part's key, as it first was.
    for (index, booking) in ["b1", "b2", "b3"].iter().enumerate() {
        let key = IdempotencyKey::new("batch-9").unwrap().part(booking);
        let kept = h.first_answer(&key).await.expect("kept");
        let element = &first.json["results"][index];
        assert_eq!(kept.payment.id.as_str(), element["payment"]["id"]);
        assert_eq!(kept.bookings[0].booking.as_str(), *booking);
    }
    // The refunded charge was kept as charged in full, as the first answer showed it.
    let kept = h
        .first_answer(&IdempotencyKey::new("batch-9").unwrap().part("b1"))
        .await
        .unwrap();
    assert_eq!(kept.bookings[0].status.status, PaymentStatus::ChargedInFull);

    // A single charge under a part's key is a replay of that part, answered in its own shape.
    let single = h
        .post_keyed("/v1/bookings/b3/charges", json!({}), "batch-9/b3")
        .await;
    assert_eq!(single.status, StatusCode::CREATED, "{}", single.text);
    assert!(single.replayed());
    assert_eq!(
        single.json["payment"]["id"],
        first.json["results"][2]["payment"]["id"]
    );
    assert_eq!(single.json["bookings"][0]["id"], "b3");
    let declined = h
        .post_keyed("/v1/bookings/b2/charges", json!({}), "batch-9/b2")
        .await;
    declined.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(declined.replayed());
    assert_eq!(h.gateway.count("charge"), 3);

    // And the other way round: a bulk part whose key a single charge used first.
    h.seed("c4", "pm_card_visa", "b4", "40.00").await;
    let alone = h
        .post_keyed("/v1/bookings/b4/charges", json!({}), "batch-10/b4")
        .await;
    assert_eq!(alone.status, StatusCode::CREATED, "{}", alone.text);
    let bulk = h
        .post_keyed("/v1/charges/bulk", json!({"bookings": ["b4"]}), "batch-10")
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.text);
    assert_eq!(bulk.json["results"][0]["booking"], "b4");
    assert_eq!(bulk.json["results"][0]["status"], 201);
    assert_eq!(
        bulk.json["results"][0]["payment"]["id"],
        alone.json["payment"]["id"]
    );
    assert_eq!(h.gateway.count("charge"), 4);
}
