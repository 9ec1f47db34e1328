//! Payment links, card requests, notifications and the hosted pages, through the router in
//! process: `MemoryStore`, `ScriptedGateway`, `FixedClock`, `PlainTemplates`,
//! `SequentialSecrets` and a fake card tokenizer.
#![allow(clippy::unwrap_used)] // test helpers: a failed set-up should panic loudly

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use billing_core::billing::HostedPages;
use billing_core::ports::{Businesses, DeliveryFailure, NotificationLog};
use billing_core::prelude::*;
use billing_core::testkit::{
    FixedClock, MemoryStore, PlainTemplates, Scripted, ScriptedGateway, SequentialIds,
    SequentialSecrets,
};
use billing_http::{AppState, CardForm, CardTokenizer, HttpConfig, hash_api_key, router};
use chrono::Duration;
use serde_json::{Value, json};
use tower::ServiceExt;

const KEY_A: &str = "bk_test_alpha_key";
const KEY_B: &str = "bk_test_bravo_key";
/// Business A's name: escaped on every page.
const ACME: &str = "Acme & Sons";
const ACME_HTML: &str = "Acme &#38; Sons";
const VISA: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000 0000 0000 0002";

/// The sandbox's card form, faked: two test cards, and what it was given.
#[derive(Default)]
struct FakeCards {
    seen: Mutex<Vec<(u32, u32)>>,
}

impl CardTokenizer for FakeCards {
    fn tokenize(
        &self,
        number: &str,
        exp_month: u32,
        exp_year: u32,
        _cvc: &str,
    ) -> Result<String, String> {
        self.seen.lock().unwrap().push((exp_month, exp_year));
        match number {
            "4242424242424242" => Ok("pm_card_visa".into()),
            "4000000000000002" => Ok("pm_card_chargeDeclined".into()),
            _ => Err("This card <is> not supported by the sandbox.".into()),
        }
    }
}

struct Harness {
    app: Router,
    store: MemoryStore,
    gateway: ScriptedGateway,
    clock: Arc<FixedClock>,
    cards: Arc<FakeCards>,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[track_caller]
    fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(self.json["code"], code, "{}", self.text);
    }

    /// True when the page has an element with this id.
    fn has(&self, id: &str) -> bool {
        self.text.contains(&format!("id=\"{id}\""))
    }

    /// The text right inside the element with this id (up to its first child tag).
    fn text_of(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\"");
        let Some(at) = self.text.find(&marker) else {
            panic!("no #{id} in {}", self.text);
        };
        let rest = &self.text[at..];
        let open = rest.find('>').unwrap() + 1;
        let close = rest[open..].find('<').unwrap() + open;
        rest[open..close].to_owned()
    }

    #[track_caller]
    fn assert_page(&self, status: StatusCode, id: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.header("content-type"), "text/html; charset=utf-8");
        assert!(self.has(id), "no #{id} in {}", self.text);
    }
}

/// What the harness is built with.
struct Setup {
    card_form: Option<CardForm>,
    hosted_pages: bool,
    config: HttpConfig,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            card_form: None,
            hosted_pages: true,
            config: HttpConfig::default(),
        }
    }
}

impl Harness {
    async fn new() -> Harness {
        Harness::with(Setup::default()).await
    }

    async fn with(setup: Setup) -> Harness {
        let store = MemoryStore::new();
        for (id, name, key) in [("alpha", ACME, KEY_A), ("bravo", "Bravo", KEY_B)] {
            let business = Business {
                id: BusinessId::new(id).unwrap(),
                name: name.into(),
                gateway_account: None,
                email: Some(format!("office@{id}.example")),
            };
            store
                .create_business(&business, &hash_api_key(key))
                .await
                .unwrap();
        }
        let gateway = ScriptedGateway::new();
        let clock = Arc::new(FixedClock::default());
        let mut billing = Billing::new(
            store.clone(),
            gateway.clone(),
            clock.clone(),
            Arc::new(SequentialIds::default()),
        );
        if setup.hosted_pages {
            billing = billing.with_hosted_pages(HostedPages {
                base_url: "https://pay.example.com/".into(),
                link_lifetime: HostedPages::default_lifetime(),
                templates: Arc::new(PlainTemplates),
                secrets: Arc::new(SequentialSecrets::default()),
            });
        }
        let cards = Arc::new(FakeCards::default());
        let form = setup
            .card_form
            .unwrap_or_else(|| CardForm::Sandbox(cards.clone()));
        let state = AppState::new(billing)
            .with_config(setup.config)
            .with_clock(clock.clone())
            .with_card_form(form);
        let h = Harness {
            app: router(state),
            store,
            gateway,
            clock,
            cards,
        };
        h.seed().await;
        h
    }

    /// Customer c1 (with an email address) with bookings b1 (215.50 USD, on 20 Jan) and b2
    /// (80.00 USD); customer c2 without an email address, with b3.
    async fn seed(&self) {
        for customer in [
            json!({"id": "c1", "name": "Ada <Lovelace>", "email": "ada@example.com"}),
            json!({"id": "c2", "name": "Bob"}),
        ] {
            let reply = self.post("/v1/customers", customer).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
        for (booking, customer, price, at) in [
            ("b1", "c1", "215.50", Some("2026-01-20T10:00:00Z")),
            ("b2", "c1", "80.00", None),
            ("b3", "c2", "50.00", None),
        ] {
            let reply = self
                .call(
                    Method::PUT,
                    &format!("/v1/bookings/{booking}"),
                    Some(KEY_A),
                    Some(json!({"customer": customer, "currency": "USD", "service_at": at,
                        "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}]})),
                    &[],
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(KEY_A), None, &[]).await
    }

    async fn get_as(&self, key: &str, path: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(KEY_A), Some(body), &[])
            .await
    }

    /// A hosted page, as a browser asks for it: no API key.
    async fn page(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None, &[]).await
    }

    /// A form posted to a hosted page.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(fields)))
            .unwrap();
        self.send(request).await
    }

    /// Pays a link's page with a card typed into the sandbox form.
    async fn pay(&self, path: &str, number: &str, save: bool) -> Reply {
        let mut fields = vec![
            ("card_number", number),
            ("card_expiry", "12 / 34"),
            ("card_cvc", "123"),
        ];
        if save {
            fields.push(("save_card", "on"));
        }
        self.submit(path, &fields).await
    }

    /// A payment link for c1's bookings, emailed; its JSON.
    async fn link(&self, bookings: &[&str]) -> Value {
        let reply = self
            .post(
                "/v1/payment-links",
                json!({"customer": "c1", "bookings": bookings}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json
    }

    async fn booking_status(&self, booking: &str) -> String {
        let reply = self.get(&format!("/v1/bookings/{booking}")).await;
        reply.json["status"].as_str().unwrap().to_owned()
    }
}

/// The path of a link's page, from its URL.
fn page_of(link: &Value) -> String {
    let url = link["url"].as_str().unwrap();
    url.strip_prefix("https://pay.example.com")
        .unwrap()
        .to_owned()
}

fn form(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------
// The JSON API

#[tokio::test]
async fn a_payment_link_is_made_read_listed_and_canceled() {
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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
    let h = Harness::with(Setup {
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

#[tokio::test]
async fn notifications_are_listed_after_a_link_email() {
    let h = Harness::new().await;
    let link = h.link(&["b1"]).await;
    let id = link["notification_id"].as_str().unwrap().to_owned();
    let log = h.get("/v1/customers/c1/notifications").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    assert_eq!(
        log.json["data"],
        json!([{
            "id": id, "kind": "payment_link", "customer": "c1", "to": "ada@example.com",
            "subject": "payment_link", "queued_at": "2026-01-15T09:00:00Z",
            "delivery": {"state": "queued"},
        }])
    );
    let one = h.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json, log.json["data"][0]);
    h.get_as(KEY_B, &format!("/v1/notifications/{id}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "notification_not_found");
    h.get_as(KEY_B, "/v1/customers/c1/notifications")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    h.get("/v1/customers/nobody/notifications")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");

    // Delivery, as the worker records it.
    let business = BusinessId::new("alpha").unwrap();
    let ntf = NotificationId::new(&id).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-15T09:01:00Z")
        .unwrap()
        .to_utc();
    h.store
        .mark_failed(
            &business,
            &ntf,
            &DeliveryFailure {
                at,
                reason: "451 4.3.0 try later".into(),
                attempts: 1,
                retry_at: Some(at + Duration::minutes(1)),
            },
        )
        .await
        .unwrap();
    let failed = h.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(
        failed.json["delivery"],
        json!({"state": "failed", "at": "2026-01-15T09:01:00Z", "reason": "451 4.3.0 try later",
               "attempts": 1, "retry_at": "2026-01-15T09:02:00Z"})
    );
    h.store
        .mark_sent(
            &business,
            &ntf,
            at + Duration::minutes(2),
            "250 2.0.0 queued as 4F2A",
        )
        .await
        .unwrap();
    let sent = h.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(
        sent.json["delivery"],
        json!({"state": "sent", "at": "2026-01-15T09:03:00Z", "server_reply": "250 2.0.0 queued as 4F2A"})
    );

    // Newest first, with the limit.
    h.link(&["b2"]).await;
    let log = h.get("/v1/customers/c1/notifications?limit=1").await;
    let data = log.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_ne!(data[0]["id"], id);
}

// ---------------------------------------------------------------------------------------------
// The payment page

#[tokio::test]
async fn the_pay_page_shows_the_amount_and_the_bookings_escaped() {
    let h = Harness::new().await;
    let link = h.link(&["b1", "b2"]).await;
    let page = h.page(&page_of(&link)).await;
    page.assert_page(StatusCode::OK, "amount");
    assert_eq!(page.text_of("amount"), "295.50 USD");
    assert!(page.text.contains(ACME_HTML), "{}", page.text);
    assert!(
        page.text.contains("Ada &#60;Lovelace&#62;"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<Lovelace>"));
    assert_eq!(page.text.matches("class=\"booking\"").count(), 2);
    for cell in [
        "Tue 20 Jan 2026",
        "Not scheduled",
        "Deep clean",
        "215.50 USD",
        "80.00 USD",
        "0.00 USD",
    ] {
        assert!(page.text.contains(cell), "{cell} in {}", page.text);
    }
    for id in [
        "card-form",
        "card-number",
        "card-expiry",
        "card-cvc",
        "save-card",
        "pay",
    ] {
        assert!(page.has(id), "#{id}");
    }
    assert!(!page.has("card-error"), "no error before a try");
    // The sandbox form needs no script at all.
    assert!(!page.text.contains("<script"));
    assert!(!page.text.contains("style="));
}

#[tokio::test]
async fn paying_by_form_charges_the_bookings_in_full_once() {
    let h = Harness::new().await;
    let link = h.link(&["b1", "b2"]).await;
    let path = page_of(&link);
    let paid = h.pay(&path, VISA, true).await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(paid.text_of("paid-amount"), "295.50 USD");
    assert_eq!(paid.text_of("paid-card"), "Visa ending 4242");
    assert!(paid.text.contains("saved"), "{}", paid.text);
    assert!(!paid.text.contains("4242424242424242"));
    assert_eq!(*h.cards.seen.lock().unwrap(), vec![(12, 2034)]);
    assert_eq!(h.gateway.count("charge"), 1);
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert_eq!(h.booking_status("b2").await, "charged_in_full");

    let id = link["id"].as_str().unwrap();
    let read = h.get(&format!("/v1/links/{id}")).await;
    assert_eq!(read.json["status"], "completed");
    assert!(read.json["payment"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(read.json["card"], "pm_card_visa");
    assert_eq!(read.json["completed_at"], "2026-01-15T09:00:00Z");
    let customer = h.get("/v1/customers/c1").await;
    assert_eq!(customer.json["cards"].as_array().unwrap().len(), 1);
    let kinds: Vec<String> = h.get("/v1/customers/c1/notifications").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec!["business_payment_notice", "receipt", "payment_link"]
    );

    // Used once: the page and a replayed form both say so, and charge nothing.
    h.page(&path)
        .await
        .assert_page(StatusCode::GONE, "link-used");
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::GONE, "link-used");
    assert_eq!(h.gateway.count("charge"), 1);
}

#[tokio::test]
async fn a_declined_card_shows_the_form_again_and_charges_nothing() {
    let h = Harness::new().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let declined = h.pay(&path, DECLINED, true).await;
    declined.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    assert_eq!(
        declined.text_of("card-error"),
        "Your card was declined. Please try another card."
    );
    assert_eq!(declined.text_of("amount"), "215.50 USD");
    assert!(declined.has("card-number") && declined.has("pay"));
    // The checkbox keeps the customer's choice; the card's details are not echoed back.
    assert!(
        declined.text.contains("value=\"on\" checked"),
        "{}",
        declined.text
    );
    assert!(!declined.text.contains("4000"));
    assert_eq!(h.booking_status("b1").await, "not_charged");
    assert!(
        h.get("/v1/customers/c1").await.json["cards"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.get(&format!("/v1/links/{}", link["id"].as_str().unwrap()))
            .await
            .json["status"],
        "open"
    );

    // Another card then pays.
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::OK, "payment-success");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
}

#[tokio::test]
async fn bad_card_input_is_shown_with_what_to_fix() {
    let h = Harness::new().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[
                ("card_number", "4242 4242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
            "Your card number is incomplete.",
        ),
        (
            &[
                ("card_number", "4242 4242 4242 4241"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
            "Your card number is invalid.",
        ),
        (
            &[
                ("card_number", VISA),
                ("card_expiry", "13/34"),
                ("card_cvc", "123"),
            ],
            "Your card&#39;s expiration date is invalid.",
        ),
        (
            &[
                ("card_number", VISA),
                ("card_expiry", "12/20"),
                ("card_cvc", "123"),
            ],
            "Your card&#39;s expiration date is in the past.",
        ),
        (
            &[
                ("card_number", VISA),
                ("card_expiry", "12/34"),
                ("card_cvc", "1"),
            ],
            "Your card&#39;s security code is incomplete.",
        ),
        (&[], "Please enter your card number."),
        // The tokenizer's own refusal, escaped.
        (
            &[
                ("card_number", "5105 1051 0510 5100"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
            "This card &#60;is&#62; not supported by the sandbox.",
        ),
    ];
    for (fields, message) in cases {
        let reply = h.submit(&path, fields).await;
        reply.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
        assert_eq!(reply.text_of("card-error"), message, "{fields:?}");
        assert!(
            !reply.text.contains("4242 4242"),
            "the number is not echoed"
        );
    }
    // A body that is not a form at all is no card either.
    let json_body = h
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(&path)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    json_body.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    assert_eq!(h.gateway.count("charge"), 0);
}

#[tokio::test]
async fn unknown_malformed_expired_and_canceled_tokens_get_one_identical_page() {
    let h = Harness::new().await;
    let expiring = h.link(&["b1"]).await;
    let canceled = h.link(&["b2"]).await;
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/links/{}/cancel", canceled["id"].as_str().unwrap()),
            Some(KEY_A),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let card_request = h.post("/v1/card-requests", json!({"customer": "c1"})).await;
    let card_token = page_of(&card_request.json).replace("/cards/", "");

    let unknown = format!("/pay/{}", "A".repeat(43));
    let mut paths = vec![
        unknown.clone(),
        "/pay/short".to_owned(),
        format!("/pay/{}", "A".repeat(44)),
        "/pay/%FF%FE".to_owned(),
        page_of(&canceled),
        // A card request's token on the payment page, and the reverse.
        format!("/pay/{card_token}"),
        page_of(&expiring).replace("/pay/", "/cards/"),
    ];
    let first = h.page(&unknown).await;
    first.assert_page(StatusCode::NOT_FOUND, "link-unavailable");
    for path in &paths {
        let reply = h.page(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.text, first.text, "{path}");
        let posted = h.pay(path, VISA, false).await;
        assert_eq!(posted.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(posted.text, first.text, "{path}");
    }
    // Past its time, the live link answers the same.
    let alive = h.page(&page_of(&expiring)).await;
    assert_eq!(alive.status, StatusCode::OK);
    h.clock.advance(Duration::days(7));
    paths.push(page_of(&expiring));
    for path in &paths {
        let reply = h.page(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.text, first.text, "{path}");
    }
    assert_eq!(h.gateway.count("charge"), 0);
    assert!(
        h.cards.seen.lock().unwrap().is_empty(),
        "no card is tried on a dead link"
    );

    // Without a card form, the pages do not exist, whatever the token.
    let stripe_less = Harness::new().await;
    let router_without_form = {
        let store = MemoryStore::new();
        let billing = Billing::new(
            store,
            ScriptedGateway::new(),
            Arc::new(FixedClock::default()),
            Arc::new(SequentialIds::default()),
        );
        router(AppState::new(billing))
    };
    let live = stripe_less.link(&["b1"]).await;
    let none = router_without_form
        .oneshot(
            Request::builder()
                .uri(page_of(&live))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(none.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&body), first.text);
}

#[tokio::test]
async fn a_changed_balance_refuses_the_link_by_name() {
    let h = Harness::new().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let reply = h
        .post(
            "/v1/bookings/b1/line-items",
            json!({"kind": "extra", "label": "Oven", "amount": "20.00"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let page = h.page(&path).await;
    page.assert_page(StatusCode::CONFLICT, "link-changed");
    assert!(
        page.text.contains(&format!(
            "The amount changed since this link was sent; ask {ACME_HTML} for a new link"
        )),
        "{}",
        page.text
    );
    h.pay(&path, VISA, true)
        .await
        .assert_page(StatusCode::CONFLICT, "link-changed");
    assert_eq!(h.gateway.count("charge"), 0);
    assert_eq!(h.booking_status("b1").await, "not_charged");
}

#[tokio::test]
async fn two_forms_posted_at_once_on_one_link_charge_once() {
    for _ in 0..10 {
        let h = Harness::new().await;
        let link = h.link(&["b1", "b2"]).await;
        let path = page_of(&link);
        let (a, b) = tokio::join!(h.pay(&path, VISA, true), h.pay(&path, VISA, false));
        let statuses = [a.status, b.status];
        let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(wins, 1, "{statuses:?}");
        let loser = if a.status == StatusCode::OK { &b } else { &a };
        assert!(
            (loser.status == StatusCode::GONE && loser.has("link-used"))
                || (loser.status == StatusCode::CONFLICT && loser.has("link-changed")),
            "{} {}",
            loser.status,
            loser.text
        );
        assert_eq!(h.gateway.count("charge"), 1);
        assert_eq!(h.booking_status("b1").await, "charged_in_full");
        assert_eq!(h.booking_status("b2").await, "charged_in_full");
    }
}

#[tokio::test]
async fn a_lost_gateway_answer_shows_the_payment_as_processing() {
    let h = Harness::new().await;
    let link = h.link(&["b1"]).await;
    h.gateway.script(Scripted::LostAnswer);
    let reply = h.pay(&page_of(&link), VISA, false).await;
    reply.assert_page(StatusCode::ACCEPTED, "payment-processing");
    assert!(reply.text.contains("215.50 USD"));
    assert!(reply.text.contains("do not pay again"));
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["pending"], true, "{}", booking.text);
}

#[tokio::test]
async fn a_card_request_saves_the_card() {
    let h = Harness::new().await;
    let made = h.post("/v1/card-requests", json!({"customer": "c1"})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.json["type"], "card_request");
    assert_eq!(made.json["amount"], Value::Null);
    assert_eq!(made.json["bookings"], json!([]));
    assert!(made.json["notification_id"].is_string());
    let path = page_of(&made.json);
    assert!(path.starts_with("/cards/"), "{path}");

    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "save");
    for id in ["card-form", "card-number", "card-expiry", "card-cvc"] {
        assert!(page.has(id), "#{id}");
    }
    assert!(!page.has("pay") && !page.has("amount"));
    // The payment page of this token does not exist.
    h.page(&path.replace("/cards/", "/pay/"))
        .await
        .assert_page(StatusCode::NOT_FOUND, "link-unavailable");

    let bad = h
        .submit(
            &path,
            &[
                ("card_number", "4242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
        )
        .await;
    bad.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    assert!(bad.has("save"));

    let saved = h.pay(&path, VISA, false).await;
    saved.assert_page(StatusCode::OK, "card-saved");
    assert_eq!(saved.text_of("saved-card"), "Visa ending 4242");
    let cards = h.get("/v1/customers/c1/payment-methods").await;
    assert_eq!(cards.json["data"][0]["payment_method"], "pm_card_visa");
    assert_eq!(cards.json["data"][0]["is_default"], true);
    let read = h
        .get(&format!("/v1/links/{}", made.json["id"].as_str().unwrap()))
        .await;
    assert_eq!(read.json["status"], "completed");
    assert_eq!(read.json["card"], "pm_card_visa");
    h.page(&path)
        .await
        .assert_page(StatusCode::GONE, "link-used");
    let kinds: Vec<String> = h.get("/v1/customers/c1/notifications").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["business_card_saved_notice", "card_request"]);
    assert_eq!(h.gateway.count("charge"), 0);
}

// ---------------------------------------------------------------------------------------------
// Rate limit and security headers

#[tokio::test]
async fn the_rate_limit_answers_429_after_the_burst_per_client_address() {
    let h = Harness::new().await;
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
    let h = Harness::with(Setup {
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
    let h = Harness::new().await;
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
    assert!(asset("js").text.contains("confirmCardSetup"));
    // The JSON API keeps its problem+json.
    let api = h.get("/v1/links/nope").await;
    assert_eq!(api.header("content-type"), "application/problem+json");
}

// ---------------------------------------------------------------------------------------------
// Stripe mode (no network here: the page's wiring, and the POST of a payment method)

#[tokio::test]
async fn in_stripe_mode_the_page_loads_stripe_js_and_posts_only_a_payment_method() {
    let h = Harness::with(Setup {
        card_form: Some(CardForm::Stripe {
            publishable_key: "pk_test_123".into(),
        }),
        ..Setup::default()
    })
    .await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "card-element");
    assert!(
        page.text
            .contains("<script src=\"https://js.stripe.com/v3/\"></script>")
    );
    assert!(
        page.text
            .contains("<script src=\"/assets/card-form.js\" defer></script>")
    );
    assert!(page.text.contains("data-publishable-key=\"pk_test_123\""));
    assert!(
        page.text.contains("data-client-secret=\"\""),
        "a payment needs no setup"
    );
    assert!(
        page.has("card-error") && page.text.contains(" hidden>"),
        "hidden until needed"
    );
    assert!(
        !page.has("card-number"),
        "the card is typed into Stripe's field"
    );
    assert!(page.has("save-card") && page.has("pay"));

    let missing = h.submit(&path, &[]).await;
    missing.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    assert!(missing.text_of("card-error").contains("could not be read"));
    let paid = h
        .submit(
            &path,
            &[("payment_method", "pm_card_visa"), ("save_card", "on")],
        )
        .await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert!(
        h.cards.seen.lock().unwrap().is_empty(),
        "no tokenizer in Stripe mode"
    );

    // A card request's page carries its SetupIntent's secret.
    let request = h.post("/v1/card-requests", json!({"customer": "c1"})).await;
    let cards = page_of(&request.json);
    let first = h.page(&cards).await;
    first.assert_page(StatusCode::OK, "card-element");
    let secret = |reply: &Reply| {
        let at = reply.text.find("data-client-secret=\"").unwrap() + "data-client-secret=\"".len();
        reply.text[at..at + reply.text[at..].find('"').unwrap()].to_owned()
    };
    assert!(!secret(&first).is_empty(), "{}", first.text);
    // Each view asks the gateway for the link's set-up (under one idempotency key, so that
    // Stripe answers the same SetupIntent; the scripted gateway makes a new one each time).
    assert!(!secret(&h.page(&cards).await).is_empty());
    assert_eq!(h.gateway.count("start_card_setup"), 2);
    let saved = h
        .submit(&cards, &[("payment_method", "pm_card_mastercard")])
        .await;
    saved.assert_page(StatusCode::OK, "card-saved");
    assert!(saved.text_of("saved-card").starts_with("Mastercard ending"));
}

#[tokio::test]
async fn the_openapi_document_has_the_link_routes_and_schemas() {
    let h = Harness::new().await;
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
