//! Every route needs a business's API key, and a business sees nothing of another's.

use crate::common::*;

#[tokio::test]
async fn every_v1_route_needs_a_known_key() {
    let h = Harness::new().await;
    let routes = [
        (Method::POST, "/v1/customers"),
        (Method::GET, "/v1/customers/c1"),
        (Method::GET, "/v1/customers/c1/payment-methods"),
        (Method::GET, "/v1/customers/c1/balance"),
        (Method::GET, "/v1/bookings"),
        (Method::GET, "/v1/bookings/b1"),
        (Method::PUT, "/v1/bookings/b1"),
        (Method::POST, "/v1/bookings/b1/charges"),
        (Method::POST, "/v1/charges/bulk"),
        (Method::GET, "/v1/payments/pay_000001"),
        (Method::POST, "/v1/payments/pay_000001/refunds"),
        (Method::POST, "/v1/payments/pay_000001/cancel"),
        (Method::POST, "/v1/payments/pay_000001/mark-failed"),
        (Method::POST, "/v1/payments/pay_000001/sync"),
        (Method::GET, "/v1/reports/outstanding"),
        (Method::POST, "/v1/checkouts"),
        (Method::GET, "/v1/settings/payments"),
        (Method::PUT, "/v1/settings/payments"),
        (Method::GET, "/v1/bookings/b1/automation"),
        (Method::PUT, "/v1/bookings/b1/automation"),
        (Method::POST, "/v1/bookings/b1/cancel"),
        (Method::PUT, "/v1/customers/c1/automation"),
        (Method::GET, "/v1/automation/runs"),
        (Method::POST, "/v1/connect/onboarding"),
        (Method::POST, "/v1/connect/onboarding/return"),
        (Method::GET, "/v1/connect/account"),
    ];
    for (method, path) in routes {
        let none = h
            .call(method.clone(), path, None, Some(json!({})), &[])
            .await;
        none.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
        let wrong = h
            .call(method, path, Some("bk_test_nope"), Some(json!({})), &[])
            .await;
        wrong.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // A malformed header is no key either.
    let basic = h
        .call(
            Method::GET,
            "/v1/bookings",
            None,
            None,
            &[("authorization", "Basic Zm9vOmJhcg==")],
        )
        .await;
    basic.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    // Operations need none.
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs", "/metrics"] {
        let reply = h.call(Method::GET, path, None, None, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
}

#[tokio::test]
async fn another_business_sees_none_of_it() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let charge = h
        .post("/v1/bookings/b1/charges", json!({"amount": "10.00"}))
        .await;
    let charge_id = charge.json["payment"]["id"].as_str().unwrap().to_owned();
    h.seed("c2", "pm_card_visa", "b2", "100.00").await;
    let hold = h.post("/v1/bookings/b2/authorizations", json!({})).await;
    let hold_id = hold.json["payment"]["id"].as_str().unwrap().to_owned();
    let before_b1 = h.get("/v1/bookings/b1").await.json;
    let before_b2 = h.get("/v1/bookings/b2").await.json;
    let calls_before = h.gateway.calls().len();

    let as_b = |method: Method, path: String, body: Option<Value>| {
        let h = &h;
        async move {
            h.call(
                method,
                &path,
                Some(KEY_B),
                body.or(Some(json!({}))),
                &[("idempotency-key", "b-key")],
            )
            .await
        }
    };
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v1/customers/c1".into(), None),
        (Method::GET, "/v1/customers/c1/payment-methods".into(), None),
        (
            Method::POST,
            "/v1/customers/c1/payment-methods".into(),
            Some(json!({"payment_method": "pm_card_visa"})),
        ),
        (
            Method::DELETE,
            "/v1/customers/c1/payment-methods/pm_card_visa".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/customers/c1/payment-methods/pm_card_visa/default".into(),
            None,
        ),
        (Method::GET, "/v1/customers/c1/balance".into(), None),
        (Method::GET, "/v1/bookings/b1".into(), None),
        (
            Method::POST,
            "/v1/bookings/b1/line-items".into(),
            Some(json!({"kind": "discount", "label": "x", "amount": "1.00"})),
        ),
        (
            Method::POST,
            "/v1/bookings/b1/charges".into(),
            Some(json!({"amount": "1.00"})),
        ),
        (Method::POST, "/v1/bookings/b1/charges".into(), None),
        (
            Method::POST,
            "/v1/bookings/b1/collections".into(),
            Some(json!({"method": "cash"})),
        ),
        (Method::POST, "/v1/bookings/b1/authorizations".into(), None),
        (Method::GET, format!("/v1/payments/{charge_id}"), None),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/refunds"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/refunds"),
            Some(json!({"amount": "1.00"})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/reconcile"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/payments/{hold_id}/captures"),
            None,
        ),
        (Method::POST, format!("/v1/payments/{hold_id}/cancel"), None),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/cancel"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/mark-failed"),
            None,
        ),
        (Method::POST, format!("/v1/payments/{charge_id}/sync"), None),
        (Method::POST, format!("/v1/payments/{hold_id}/sync"), None),
    ];
    for (method, path, body) in attempts {
        let reply = as_b(method.clone(), path.clone(), body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            reply.text
        );
        assert!(
            reply.code().ends_with("_not_found"),
            "{path}: {}",
            reply.text
        );
    }
    // Putting a booking for another business's customer: that customer does not exist for B.
    as_b(
        Method::PUT,
        "/v1/bookings/b1".into(),
        Some(json!({"customer": "c1", "currency": "USD", "line_items": []})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    // Bulk: one result, not found.
    let bulk = as_b(
        Method::POST,
        "/v1/charges/bulk".into(),
        Some(json!({"bookings": ["b1"]})),
    )
    .await;
    assert_eq!(bulk.json["results"][0]["status"], 404);
    // Lists and reports show nothing of A.
    let list = h
        .call(Method::GET, "/v1/bookings", Some(KEY_B), None, &[])
        .await;
    assert_eq!(list.json["data"], json!([]));
    let report = h
        .call(
            Method::GET,
            "/v1/reports/outstanding",
            Some(KEY_B),
            None,
            &[],
        )
        .await;
    assert_eq!(report.json["customers"], json!([]));

    // Nothing changed for A, and nothing reached the gateway.
    assert_eq!(h.get("/v1/bookings/b1").await.json, before_b1);
    assert_eq!(h.get("/v1/bookings/b2").await.json, before_b2);
    assert_eq!(
        h.get("/v1/customers/c1").await.json["cards"][0]["is_default"],
        true
    );
    assert_eq!(h.gateway.calls().len(), calls_before);
}
