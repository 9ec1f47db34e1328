//! Operations: health, readiness, metrics, request ids, the OpenAPI document.

use billing_http::ReadinessFn;

use crate::common::*;

#[tokio::test]
async fn operations_routes() {
    let h = Harness::with(Setup {
        readiness: Some(Arc::new(ReadinessFn(|| async {
            Err::<(), String>("database unreachable".into())
        }))),
        ..Setup::default()
    })
    .await;
    let ready = h.call(Method::GET, "/readyz", None, None, &[]).await;
    ready.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    let health = h.call(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(health.status, StatusCode::OK);

    let spec = h.call(Method::GET, "/openapi.json", None, None, &[]).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.json["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec.json["paths"].as_object().unwrap();
    for path in [
        "/v1/customers",
        "/v1/customers/{id}",
        "/v1/customers/{id}/payment-methods",
        "/v1/customers/{id}/payment-methods/{pm}",
        "/v1/customers/{id}/payment-methods/{pm}/default",
        "/v1/customers/{id}/balance",
        "/v1/bookings",
        "/v1/bookings/{id}",
        "/v1/bookings/{id}/line-items",
        "/v1/bookings/{id}/charges",
        "/v1/bookings/{id}/collections",
        "/v1/bookings/{id}/authorizations",
        "/v1/charges/bulk",
        "/v1/payments/{id}",
        "/v1/payments/{id}/captures",
        "/v1/payments/{id}/cancel",
        "/v1/payments/{id}/refunds",
        "/v1/payments/{id}/reconcile",
        "/v1/payments/{id}/mark-failed",
        "/v1/payments/{id}/sync",
        "/v1/reports/outstanding",
        "/v1/webhooks/stripe",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    let charge = &spec.json["paths"]["/v1/bookings/{id}/charges"]["post"];
    for status in ["201", "202", "402", "409", "422"] {
        assert!(charge["responses"][status].is_object(), "charge {status}");
    }
    assert!(spec.json["components"]["schemas"]["Problem"].is_object());
    for (route, statuses) in [
        ("/v1/payments/{id}/cancel", ["200", "404", "409", "503"]),
        (
            "/v1/payments/{id}/mark-failed",
            ["200", "404", "409", "503"],
        ),
        ("/v1/payments/{id}/sync", ["200", "404", "502", "503"]),
    ] {
        for status in statuses {
            assert!(
                spec.json["paths"][route]["post"]["responses"][status].is_object(),
                "{route} {status}"
            );
        }
    }
    let problem = &spec.json["components"]["schemas"]["Problem"]["properties"];
    for member in ["suggested_action", "state", "reason", "retry_at", "receipt"] {
        assert!(problem[member].is_object(), "Problem.{member}");
    }
    let payment = &spec.json["components"]["schemas"]["PaymentJson"]["properties"];
    for member in ["origin", "link", "multicapture", "suggested_action"] {
        assert!(payment[member].is_object(), "PaymentJson.{member}");
    }
    assert!(
        spec.json["components"]["schemas"]["PaymentKindJson"]
            .to_string()
            .contains("dispute")
    );
    assert!(
        spec.json["components"]["schemas"]["SuggestedActionJson"]
            .to_string()
            .contains("send_payment_link")
    );
    assert!(
        spec.json["components"]["schemas"]["BookingSummaryJson"]["properties"]["disputed"]
            .is_object()
    );

    // The reference page and its script come from this service alone.
    let docs = h.call(Method::GET, "/docs", None, None, &[]).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(
        docs.text.contains("spec-url=\"/openapi.json\""),
        "{}",
        docs.text
    );
    assert!(!docs.text.contains("https://"), "{}", docs.text);
    assert!(
        docs.header("content-security-policy")
            .contains("script-src 'self';")
    );
    let script = h
        .call(
            Method::GET,
            "/docs/redoc-2.5.1.standalone.js",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.header("content-type").starts_with("text/javascript"));
    assert!(script.header("cache-control").contains("immutable"));

    // Something to count, then the metrics.
    h.seed("c1", "pm_card_visa", "b1", "10.00").await;
    h.post("/v1/bookings/b1/charges", json!({})).await;
    let metrics = h.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.text.contains("http_requests_total"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("route=\"/v1/bookings/{id}/charges\""));
    assert!(
        metrics
            .text
            .contains("http_request_duration_seconds_bucket")
    );
    assert!(metrics.text.contains("billing_payments_total"));
}

#[tokio::test]
async fn request_ids_are_generated_or_echoed() {
    let h = Harness::new().await;
    let generated = h.call(Method::GET, "/healthz", None, None, &[]).await;
    let id = generated
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(id.len() >= 32, "a generated id: {id:?}");
    let echoed = h
        .call(
            Method::GET,
            "/v1/nothing",
            None,
            None,
            &[("x-request-id", "req-123")],
        )
        .await;
    assert_eq!(
        echoed
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("req-123")
    );
}

#[tokio::test]
async fn the_openapi_document_has_the_link_routes_and_schemas() {
    let h = Harness::links().await;
    let spec = h.call(Method::GET, "/openapi.json", None, None, &[]).await;
    let paths = spec.json["paths"].as_object().unwrap();
    for path in [
        "/v1/payment-links",
        "/v1/card-requests",
        "/v1/links/{id}",
        "/v1/links/{id}/cancel",
        "/v1/customers/{id}/links",
        "/v1/customers/{id}/notifications",
        "/v1/notifications/{id}",
        "/pay/{token}",
        "/cards/{token}",
        "/pay/{token}/return",
        "/cards/{token}/return",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    let create = &spec.json["paths"]["/v1/payment-links"]["post"];
    for status in ["201", "404", "422", "501"] {
        assert!(create["responses"][status].is_object(), "create {status}");
    }
    assert!(spec.json["paths"]["/v1/links/{id}/cancel"]["post"]["responses"]["409"].is_object());
    let schemas = spec.json["components"]["schemas"].as_object().unwrap();
    for schema in [
        "LinkJson",
        "IssuedLinkJson",
        "LinkList",
        "NotificationJson",
        "NotificationList",
        "DeliveryJson",
        "PaymentLinkRequest",
        "CardRequestRequest",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
}
