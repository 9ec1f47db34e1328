//! Payment links and card requests through the JSON API.

use crate::common::*;

#[tokio::test]
async fn a_payment_link_is_made_read_listed_and_canceled() {
    let h = Harness::links().await;
    // The URL comes from the configured base URL, whatever Host the request names.
    let made = h
        .call(
            Method::POST,
            "/v1/payment-links",
            Some(KEY_A),
            Some(json!({"customer": "c1", "bookings": ["b1", "b2"]})),
            &[
                ("host", "evil.example"),
                ("x-forwarded-host", "evil.example"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let link = &made.json;
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with("https://pay.example.com/pay/"), "{url}");
    assert!(!url.contains("evil"));
    assert_eq!(url.len(), "https://pay.example.com/pay/".len() + 43);
    assert_eq!(link["type"], "payment");
    assert_eq!(link["customer"], "c1");
    assert_eq!(link["status"], "open");
    assert_eq!(
        link["amount"],
        json!({"amount": "295.50", "currency": "USD"})
    );
    assert_eq!(
        link["bookings"],
        json!([
            {"booking": "b1", "amount": {"amount": "215.50", "currency": "USD"},
             "balance_due": {"amount": "215.50", "currency": "USD"}},
            {"booking": "b2", "amount": {"amount": "80.00", "currency": "USD"},
             "balance_due": {"amount": "80.00", "currency": "USD"}},
        ])
    );
    assert_eq!(link["created_at"], "2026-01-15T09:00:00Z");
    assert_eq!(link["expires_at"], "2026-01-22T09:00:00Z");
    assert!(link["notification_id"].is_string(), "{link}");
    let id = link["id"].as_str().unwrap();

    // Read back: the same link, without its URL (the token is not stored).
    let read = h.get(&format!("/v1/links/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.json["status"], "open");
    assert_eq!(read.json["amount"], link["amount"]);
    assert!(read.json.get("url").is_none(), "{}", read.text);
    assert!(
        !read
            .text
            .contains(&url["https://pay.example.com/pay/".len()..])
    );

    // A part of the balance, not emailed.
    let part = h
        .post(
            "/v1/payment-links",
            json!({"customer": "c1", "bookings": ["b1", "b2"], "amount": "250.00", "send_email": false}),
        )
        .await;
    assert_eq!(part.status, StatusCode::CREATED, "{}", part.text);
    assert_eq!(part.json["amount"]["amount"], "250.00");
    assert_eq!(part.json["bookings"][1]["amount"]["amount"], "34.50");
    assert_eq!(part.json["notification_id"], Value::Null);

    let listed = h.get("/v1/customers/c1/links").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let ids: Vec<&str> = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![part.json["id"].as_str().unwrap(), id]);
    let one = h.get("/v1/customers/c1/links?limit=1").await;
    assert_eq!(one.json["data"].as_array().unwrap().len(), 1);

    // Another business sees none of it.
    h.get_as(KEY_B, &format!("/v1/links/{id}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "link_not_found");
    h.call(
        Method::POST,
        &format!("/v1/links/{id}/cancel"),
        Some(KEY_B),
        None,
        &[],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "link_not_found");
    h.get_as(KEY_B, "/v1/customers/c1/links")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    let theirs = h
        .call(
            Method::POST,
            "/v1/payment-links",
            Some(KEY_B),
            Some(json!({"customer": "c1", "bookings": ["b1"]})),
            &[],
        )
        .await;
    theirs.assert_problem(StatusCode::NOT_FOUND, "customer_not_found");

    // Cancel: once.
    let canceled = h
        .call(
            Method::POST,
            &format!("/v1/links/{id}/cancel"),
            Some(KEY_A),
            None,
            &[],
        )
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    assert_eq!(canceled.json["status"], "canceled");
    assert_eq!(canceled.json["canceled_at"], "2026-01-15T09:00:00Z");
    let again = h
        .call(
            Method::POST,
            &format!("/v1/links/{id}/cancel"),
            Some(KEY_A),
            None,
            &[],
        )
        .await;
    again.assert_problem(StatusCode::CONFLICT, "link_not_open");
    assert_eq!(
        h.get(&format!("/v1/links/{id}")).await.json["status"],
        "canceled"
    );

    // An open link past its time reads as expired.
    h.clock.advance(Duration::days(7));
    let expired = h
        .get(&format!("/v1/links/{}", part.json["id"].as_str().unwrap()))
        .await;
    assert_eq!(expired.json["status"], "expired");
}

#[tokio::test]
async fn link_requests_are_checked_and_problems_are_never_500() {
    let h = Harness::links().await;
    let cases = [
        (
            json!({"customer": "c1", "bookings": ["b1"], "amount": "abc"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (
            json!({"customer": "c1", "bookings": ["b1"], "amount": "1.234"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_decimals",
        ),
        (
            json!({"customer": "c1", "bookings": ["b1"], "amount": "0"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_positive_amount",
        ),
        (
            json!({"customer": "c1", "bookings": ["b1"], "amount": "999.00"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_exceeds_balance",
        ),
        (
            json!({"customer": "c1", "bookings": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            json!({"customer": "c1", "bookings": ["b1", "b1"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            json!({"customer": "c1", "bookings": ["nope"]}),
            StatusCode::NOT_FOUND,
            "booking_not_found",
        ),
        (
            json!({"customer": "c1", "bookings": ["nope"], "amount": "1.00"}),
            StatusCode::NOT_FOUND,
            "booking_not_found",
        ),
        (
            json!({"customer": "c1", "bookings": ["b3"]}),
            StatusCode::NOT_FOUND,
            "booking_not_found",
        ),
        (
            json!({"customer": "c2", "bookings": ["b3"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_email_address",
        ),
        (
            json!({"customer": "zz", "bookings": ["b1"]}),
            StatusCode::NOT_FOUND,
            "customer_not_found",
        ),
        (
            json!({"customer": "c 1", "bookings": ["b1"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
        ),
        (
            json!({"customer": "c1", "bookings": ["b/1"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
        ),
        (
            json!({"bookings": ["b1"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            json!({"customer": "c1", "bookings": ["b1"], "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let reply = h.post("/v1/payment-links", body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        reply.assert_problem(status, code);
    }
    // Without an email, a customer can still be sent the URL some other way.
    let quiet = h
        .post(
            "/v1/payment-links",
            json!({"customer": "c2", "bookings": ["b3"], "send_email": false}),
        )
        .await;
    assert_eq!(quiet.status, StatusCode::CREATED, "{}", quiet.text);
    h.post("/v1/card-requests", json!({"customer": "c2"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_email_address");
    h.post("/v1/card-requests", json!({"customer": "nobody"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    let bad_json = h
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/payment-links")
                .header("authorization", format!("Bearer {KEY_A}"))
                .header("content-type", "application/json")
                .body(Body::from("{"))
                .unwrap(),
        )
        .await;
    bad_json.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
    for (path, status, code) in [
        (
            "/v1/links/not%20an%20id",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
        ),
        (
            "/v1/links/lnk_999999",
            StatusCode::NOT_FOUND,
            "link_not_found",
        ),
        (
            "/v1/customers/c1/links?limit=0",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/customers/c1/links?limit=101",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/customers/c1/links?limit=x",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/customers/c1/notifications?limit=0",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/notifications/ntf_999999",
            StatusCode::NOT_FOUND,
            "notification_not_found",
        ),
        (
            "/v1/notifications/bad%20id",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
        ),
    ] {
        h.get(path).await.assert_problem(status, code);
    }
    // Every link route needs a key.
    for (method, path) in [
        (Method::POST, "/v1/payment-links"),
        (Method::POST, "/v1/card-requests"),
        (Method::GET, "/v1/links/lnk_000001"),
        (Method::POST, "/v1/links/lnk_000001/cancel"),
        (Method::GET, "/v1/customers/c1/links"),
        (Method::GET, "/v1/customers/c1/notifications"),
        (Method::GET, "/v1/notifications/ntf_000001"),
    ] {
        h.call(method, path, None, Some(json!({})), &[])
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

#[tokio::test]
async fn without_hosted_pages_links_are_not_implemented() {
    let h = Harness::links_with(Setup {
        hosted_pages: false,
        ..Setup::default()
    })
    .await;
    h.post(
        "/v1/payment-links",
        json!({"customer": "c1", "bookings": ["b1"]}),
    )
    .await
    .assert_problem(StatusCode::NOT_IMPLEMENTED, "hosted_pages_not_configured");
    h.post("/v1/card-requests", json!({"customer": "c1"}))
        .await
        .assert_problem(StatusCode::NOT_IMPLEMENTED, "hosted_pages_not_configured");
}
