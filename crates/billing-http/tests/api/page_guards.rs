//! The hosted pages' rate limit and security headers.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;

use crate::common::*;

#[tokio::test]
async fn the_rate_limit_answers_429_after_the_burst_per_client_address() {
    let h = Harness::links().await;
    let unknown = format!("/pay/{}", "A".repeat(43));
    // No peer address (in process): one shared bucket of 30.
    for i in 0..30 {
        let reply = if i % 2 == 0 {
            h.page(&unknown).await
        } else {
            h.pay(&unknown, VISA, false).await
        };
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "request {i}");
    }
    let limited = h.page(&unknown).await;
    limited.assert_page(StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
    let wait: u64 = limited.header("retry-after").parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(
        limited
            .header("content-security-policy")
            .contains("default-src 'none'")
    );
    h.pay(&unknown, VISA, false)
        .await
        .assert_page(StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
    // The assets and the API are not limited.
    assert_eq!(h.page("/assets/pages.css").await.status, StatusCode::OK);
    assert_eq!(h.get("/v1/customers/c1").await.status, StatusCode::OK);

    // With peer addresses, each client has its own bucket, whatever X-Forwarded-For says.
    let from = |ip: &str, forwarded: &str| {
        let address: SocketAddr = format!("{ip}:40000").parse().unwrap();
        Request::builder()
            .uri(&unknown)
            .header("x-forwarded-for", forwarded)
            .extension(ConnectInfo(address))
            .body(Body::empty())
            .unwrap()
    };
    for i in 0..30 {
        let reply = h
            .send(from("203.0.113.7", &format!("198.51.100.{i}")))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "request {i}");
    }
    assert_eq!(
        h.send(from("203.0.113.7", "198.51.100.200")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        h.send(from("203.0.113.8", "203.0.113.7")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_smaller_configured_burst_is_honoured() {
    let h = Harness::links_with(Setup {
        config: HttpConfig {
            page_rate_burst: std::num::NonZeroU32::new(3).unwrap(),
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let link = h.link(&["b1"]).await;
    for _ in 0..3 {
        assert_eq!(h.page(&page_of(&link)).await.status, StatusCode::OK);
    }
    h.page(&page_of(&link))
        .await
        .assert_page(StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
}

#[tokio::test]
async fn every_hosted_answer_carries_the_security_headers() {
    let h = Harness::links().await;
    let paid = h.link(&["b1"]).await;
    let open = h.link(&["b2"]).await;
    let mut replies = vec![
        ("pay page", h.page(&page_of(&open)).await),
        ("decline", h.pay(&page_of(&open), DECLINED, false).await),
        ("bad card", h.pay(&page_of(&open), "1", false).await),
        ("paid", h.pay(&page_of(&paid), VISA, false).await),
        ("used", h.page(&page_of(&paid)).await),
        ("unknown", h.page("/pay/nope").await),
        ("unknown card request", h.page("/cards/nope").await),
        ("no token", h.page("/pay/").await),
        (
            "something appended",
            h.page(&format!("{}/extra", page_of(&open))).await,
        ),
        ("css", h.page("/assets/pages.css").await),
        ("js", h.page("/assets/card-form.js").await),
        (
            "method not allowed",
            h.call(Method::PUT, &page_of(&open), None, None, &[]).await,
        ),
        (
            "body too large",
            h.submit(&page_of(&open), &[("card_number", &"4".repeat(64 * 1024))])
                .await,
        ),
    ];
    for _ in 0..30 {
        h.page("/pay/nope").await;
    }
    replies.push(("rate limited", h.page("/pay/nope").await));
    for (what, reply) in &replies {
        let csp = reply.header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self' https://js.stripe.com",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-src https://js.stripe.com",
            "connect-src 'self' https://api.stripe.com",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{what}: {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{what}");
        assert_eq!(reply.header("referrer-policy"), "no-referrer", "{what}");
        assert_eq!(reply.header("cache-control"), "no-store", "{what}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(reply.header("x-frame-options"), "DENY", "{what}");
        // Errors included, the hosted routes answer HTML, never problem+json.
        if !what.starts_with("css") && !what.starts_with("js") {
            assert_eq!(
                reply.header("content-type"),
                "text/html; charset=utf-8",
                "{what}: {}",
                reply.text
            );
            assert!(!reply.text.contains("style="), "{what}");
            assert!(
                !reply.text.contains("<script"),
                "{what}: sandbox pages have no script"
            );
        }
    }
    let statuses: Vec<(&str, u16)> = replies
        .iter()
        .map(|(w, r)| (*w, r.status.as_u16()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("pay page", 200),
            ("decline", 402),
            ("bad card", 422),
            ("paid", 200),
            ("used", 410),
            ("unknown", 404),
            ("unknown card request", 404),
            ("no token", 404),
            ("something appended", 404),
            ("css", 200),
            ("js", 200),
            ("method not allowed", 405),
            ("body too large", 413),
            ("rate limited", 429),
        ]
    );
    let asset = |name: &str| &replies.iter().find(|(w, _)| *w == name).unwrap().1;
    assert!(asset("css").header("content-type").starts_with("text/css"));
    assert!(
        asset("js")
            .header("content-type")
            .starts_with("text/javascript")
    );
    assert!(asset("js").text.contains("handleNextAction"));
    assert!(asset("js").text.contains("createPaymentMethod"));
    // The JSON API keeps its problem+json.
    let api = h.get("/v1/links/nope").await;
    assert_eq!(api.header("content-type"), "application/problem+json");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_customer_has_a_bucket_and_others_cannot_spoof_one() {
    let h = Harness::links_with(Setup {
        config: HttpConfig {
            page_rate_burst: std::num::NonZeroU32::new(2).unwrap(),
            trusted_proxies: vec!["10.0.0.0/24".parse().unwrap()],
            ..HttpConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let unknown = format!("/pay/{}", "A".repeat(43));
    let from = |peer: &str, forwarded: &str, path: &str| {
        let address: SocketAddr = format!("{peer}:40000").parse().unwrap();
        Request::builder()
            .uri(path)
            .header("x-forwarded-for", forwarded)
            .extension(ConnectInfo(address))
            .body(Body::empty())
            .unwrap()
    };
    let returning = format!("{unknown}/return");
    // Through the proxy, customer A spends their burst (the return route counts too)...
    for path in [&unknown, &returning] {
        let reply = h.send(from("10.0.0.2", "198.51.100.1", path)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    h.send(from("10.0.0.2", "198.51.100.1", &returning))
        .await
        .assert_page(StatusCode::TOO_MANY_REQUESTS, "too-many-requests");
    // ...whatever they write before the proxy's entry, and whichever proxy they come through.
    assert_eq!(
        h.send(from("10.0.0.3", "203.0.113.50, 198.51.100.1", &unknown))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Customer B, through the same proxy, has their own bucket.
    assert_eq!(
        h.send(from("10.0.0.2", "198.51.100.2", &unknown))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A client connecting directly cannot pick a bucket with the header.
    for i in 0..2 {
        let reply = h
            .send(from(
                "203.0.113.7",
                &format!("198.51.100.{}", 10 + i),
                &unknown,
            ))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "request {i}");
    }
    assert_eq!(
        h.send(from("203.0.113.7", "198.51.100.99", &unknown))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
