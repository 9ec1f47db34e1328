//! The API through the router, in process: `MemoryStore`, `ScriptedGateway`, `FixedClock`.
#![allow(clippy::unwrap_used)] // test helpers: a failed set-up should panic loudly

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use billing_core::ports::{Businesses, Ledger};
use billing_core::prelude::*;
use billing_core::testkit::{FixedClock, MemoryStore, Scripted, ScriptedGateway, SequentialIds};
use billing_http::{
    AppState, HttpConfig, ReadinessFn, WebhookAction, WebhookEvent, WebhookRejected,
    WebhookVerifier, hash_api_key, router,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const KEY_A: &str = "bk_test_alpha_key";
const KEY_B: &str = "bk_test_bravo_key";

/// A fake verifier: the signature header must be `good`; the body is
/// `{"id", "type", "payment"?, "account"?}`.
struct FakeVerifier;

impl WebhookVerifier for FakeVerifier {
    fn verify(&self, payload: &[u8], signature: &str) -> Result<WebhookEvent, WebhookRejected> {
        if signature != "good" {
            return Err(WebhookRejected("no v1 signature matches".into()));
        }
        let body: Value =
            serde_json::from_slice(payload).map_err(|e| WebhookRejected(e.to_string()))?;
        let payment = body["payment"]
            .as_str()
            .map(|p| PaymentId::new(p).map_err(|e| WebhookRejected(e.to_string())))
            .transpose()?;
        let event_type = body["type"].as_str().unwrap_or_default().to_owned();
        let action = match (event_type.as_str(), payment) {
            ("payment_intent.succeeded", Some(p)) => WebhookAction::Reconcile(p),
            ("charge.refunded", Some(p)) => WebhookAction::ReconcileRefundsOf(p),
            _ => WebhookAction::Ignore,
        };
        Ok(WebhookEvent {
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            event_type,
            account: body["account"].as_str().map(str::to_owned),
            business: None,
            action,
        })
    }
}

struct Harness {
    app: Router,
    gateway: ScriptedGateway,
    clock: Arc<FixedClock>,
    /// The router's store (clones share the data).
    store: MemoryStore,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
    text: String,
}

impl Reply {
    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    #[track_caller]
    fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.code(), code, "{}", self.text);
        assert_eq!(self.json["status"], status.as_u16(), "{}", self.text);
        assert_eq!(
            self.json["type"],
            format!("https://billing.example/problems/{code}")
        );
        assert!(self.json["title"].is_string() && self.json["detail"].is_string());
    }

    fn replayed(&self) -> bool {
        self.headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true")
    }
}

impl Harness {
    async fn new() -> Harness {
        Harness::with(|state| state).await
    }

    async fn with(
        configure: impl FnOnce(
            AppState<MemoryStore, ScriptedGateway>,
        ) -> AppState<MemoryStore, ScriptedGateway>,
    ) -> Harness {
        let store = MemoryStore::new();
        for (id, key) in [("alpha", KEY_A), ("bravo", KEY_B)] {
            let business = Business {
                id: BusinessId::new(id).unwrap(),
                name: id.into(),
                gateway_account: None,
                email: None,
            };
            store
                .create_business(&business, &hash_api_key(key))
                .await
                .unwrap();
        }
        let gateway = ScriptedGateway::new();
        let clock = Arc::new(FixedClock::default());
        let billing = Billing::new(
            store.clone(),
            gateway.clone(),
            clock.clone(),
            Arc::new(SequentialIds::default()),
        );
        let state = configure(AppState::new(billing).with_webhooks(Arc::new(FakeVerifier)));
        Harness {
            app: router(state),
            gateway,
            clock,
            store,
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

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(KEY_A), Some(body), &[])
            .await
    }

    async fn post_keyed(&self, path: &str, body: Value, key: &str) -> Reply {
        self.call(
            Method::POST,
            path,
            Some(KEY_A),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(KEY_A), Some(body), &[])
            .await
    }

    /// A customer with a card and a booking of `price` USD, for business A.
    async fn seed(&self, customer: &str, card: &str, booking: &str, price: &str) {
        let reply = self
            .post(
                "/v1/customers",
                json!({"id": customer, "name": format!("Customer {customer}")}),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
        if !card.is_empty() {
            let reply = self
                .post(
                    &format!("/v1/customers/{customer}/payment-methods"),
                    json!({"payment_method": card}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
        let reply = self
            .put(
                &format!("/v1/bookings/{booking}"),
                json!({"customer": customer, "currency": "USD",
                       "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}]}),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
    }
}

fn money(value: &Value) -> (&str, &str) {
    (
        value["amount"].as_str().unwrap_or_default(),
        value["currency"].as_str().unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------------
// Auth

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
        (Method::GET, "/v1/reports/outstanding"),
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

// ---------------------------------------------------------------------------------------------
// Customers and cards

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
        json!({"id": "c1", "name": "Ada", "email": "ada@example.com", "cards": []})
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

// ---------------------------------------------------------------------------------------------
// Bookings

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

// ---------------------------------------------------------------------------------------------
// Charges

#[tokio::test]
async fn charge_an_advance_then_the_rest() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "215.50").await;
    let advance = h
        .post("/v1/bookings/b1/charges", json!({"amount": "30.00"}))
        .await;
    assert_eq!(advance.status, StatusCode::CREATED, "{}", advance.text);
    let payment = &advance.json["payment"];
    assert_eq!(payment["kind"], "charge");
    assert_eq!(payment["state"], "succeeded");
    assert_eq!(money(&payment["amount"]), ("30.00", "USD"));
    assert_eq!(payment["customer"], "c1");
    assert_eq!(payment["allocations"][0]["booking"], "b1");
    assert_eq!(payment["failure"], Value::Null);
    assert!(payment["gateway_reference"].is_string());
    assert!(payment["created_at"].is_string());
    assert_eq!(advance.json["bookings"][0]["status"], "partially_charged");
    assert_eq!(
        money(&advance.json["bookings"][0]["balance_due"]),
        ("185.50", "USD")
    );
    assert!(!advance.replayed());

    let rest = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    assert_eq!(money(&rest.json["payment"]["amount"]), ("185.50", "USD"));
    assert_eq!(rest.json["bookings"][0]["status"], "charged_in_full");

    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "charged_in_full");
    assert_eq!(money(&booking.json["paid"]), ("215.50", "USD"));
    assert_eq!(booking.json["payments"].as_array().map(Vec::len), Some(2));

    h.post("/v1/bookings/b1/charges", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "nothing_to_charge");
    h.post("/v1/bookings/nope/charges", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
    h.post("/v1/bookings/nope/charges", json!({"amount": "1.00"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
}

#[tokio::test]
async fn charge_amount_rules() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.post("/v1/bookings/b1/charges", json!({"amount": "1.001"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "too_many_decimals");
    h.post("/v1/bookings/b1/charges", json!({"amount": "ten"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount");
    h.post("/v1/bookings/b1/charges", json!({"amount": "0.00"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "non_positive_amount");
    h.post("/v1/bookings/b1/charges", json!({"amount": "100.01"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_exceeds_balance");
    // Amounts are strings, never floats.
    h.post("/v1/bookings/b1/charges", json!({"amount": 10.5}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.post(
        "/v1/bookings/b1/charges",
        json!({"payment_method": "pm_not_saved"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "card_not_found");
    // A customer without a card.
    h.seed("c2", "", "b2", "10.00").await;
    h.post("/v1/bookings/b2/charges", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_card_on_file");
    assert_eq!(h.gateway.count("charge"), 0, "nothing reached the gateway");
}

#[tokio::test]
async fn a_decline_is_a_402_naming_the_failed_payment() {
    let h = Harness::new().await;
    h.seed(
        "c1",
        "pm_card_chargeDeclinedInsufficientFunds",
        "b1",
        "80.00",
    )
    .await;
    let declined = h.post("/v1/bookings/b1/charges", json!({})).await;
    declined.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert_eq!(declined.json["decline_code"], "insufficient_funds");
    let payment = declined.json["payment"].as_str().unwrap().to_owned();

    let read = h.get(&format!("/v1/payments/{payment}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json["payment"]["state"], "failed");
    assert_eq!(
        read.json["payment"]["failure"]["decline_code"],
        "insufficient_funds"
    );
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "not_charged");
    assert_eq!(booking.json["last_failed"], true);
}

#[tokio::test]
async fn an_unknown_gateway_outcome_is_accepted_and_reconciled() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::LostAnswer);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    assert_eq!(pending.json["payment"]["state"], "pending");
    assert_eq!(pending.json["bookings"][0]["pending"], true);
    assert_eq!(
        money(&pending.json["bookings"][0]["in_flight"]),
        ("50.00", "USD")
    );
    let id = pending.json["payment"]["id"].as_str().unwrap().to_owned();
    let listed = h.get("/v1/bookings?pending=true").await;
    assert_eq!(listed.json["data"][0]["id"], "b1");

    let settled = h
        .post(&format!("/v1/payments/{id}/reconcile"), json!({}))
        .await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text);
    assert_eq!(settled.json["payment"]["state"], "succeeded");
    assert_eq!(settled.json["bookings"][0]["status"], "charged_in_full");
    assert_eq!(h.gateway.payments_made(), 1, "charged once");
}

#[tokio::test]
async fn a_card_that_needs_authentication_is_accepted() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_authenticationRequired", "b1", "50.00")
        .await;
    let reply = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.json["payment"]["state"], "requires_action");
}

#[tokio::test]
async fn gateway_failures_are_problems() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::Fail(
        billing_core::ports::GatewayError::RateLimited,
    ));
    let limited = h.post("/v1/bookings/b1/charges", json!({})).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.headers.get("retry-after").is_some());
    h.gateway.script(Scripted::Fail(
        billing_core::ports::GatewayError::Unavailable("down".into()),
    ));
    h.post("/v1/bookings/b1/charges", json!({}))
        .await
        .assert_problem(StatusCode::BAD_GATEWAY, "gateway_unavailable");
    // Nothing was done: the next try charges.
    let ok = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

// ---------------------------------------------------------------------------------------------
// Idempotency

#[tokio::test]
async fn a_replay_answers_the_first_result() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let body = json!({"amount": "30.00"});
    let first = h
        .post_keyed("/v1/bookings/b1/charges", body.clone(), "order-7")
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(!first.replayed());
    let again = h
        .post_keyed("/v1/bookings/b1/charges", body, "order-7")
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert!(again.replayed());
    assert_eq!(again.json["payment"]["id"], first.json["payment"]["id"]);
    assert_eq!(h.gateway.payments_made(), 1);

    let reused = h
        .post_keyed(
            "/v1/bookings/b1/charges",
            json!({"amount": "31.00"}),
            "order-7",
        )
        .await;
    reused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");

    for bad in ["", "has space", "é"] {
        let reply = h
            .call(
                Method::POST,
                "/v1/bookings/b1/charges",
                Some(KEY_A),
                Some(json!({})),
                &[("idempotency-key", bad)],
            )
            .await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    }
    let long = "k".repeat(256);
    h.call(
        Method::POST,
        "/v1/bookings/b1/charges",
        Some(KEY_A),
        Some(json!({})),
        &[("idempotency-key", &long)],
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
}

#[tokio::test]
async fn a_replayed_decline_and_a_replayed_pending_keep_their_status() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_chargeDeclined", "b1", "100.00").await;
    let first = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-1")
        .await;
    first.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    let again = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-1")
        .await;
    again.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(again.replayed());
    assert_eq!(again.json["payment"], first.json["payment"]);

    h.seed("c2", "pm_card_visa", "b2", "100.00").await;
    // The answer is lost, and the gateway still has no record when the replay asks.
    h.gateway.script(Scripted::LostRequest);
    h.gateway.script(Scripted::LostRequest);
    let pending = h
        .post_keyed("/v1/bookings/b2/charges", json!({}), "pending-1")
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    h.clock.advance(chrono::Duration::seconds(61));
    let replay = h
        .post_keyed("/v1/bookings/b2/charges", json!({}), "pending-1")
        .await;
    assert_eq!(replay.status, StatusCode::ACCEPTED, "{}", replay.text);
    assert!(replay.replayed());
    assert_eq!(replay.json["payment"]["id"], pending.json["payment"]["id"]);
}

#[tokio::test]
async fn a_replay_answers_the_first_body_byte_for_byte_after_a_refund() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let body = json!({"amount": "30.00"});
    let first = h
        .post_keyed("/v1/bookings/b1/charges", body.clone(), "order-8")
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(!first.replayed());
    assert_eq!(first.content_type(), "application/json");
    let charge = first.json["payment"]["id"].as_str().unwrap().to_owned();

    let refund = h
        .post_keyed(
            &format!("/v1/payments/{charge}/refunds"),
            json!({"amount": "10.00"}),
            "order-8-refund",
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    // The booking changed since the first answer...
    let now = h.get("/v1/bookings/b1").await;
    assert_eq!(money(&now.json["paid"]), ("20.00", "USD"), "{}", now.text);
    assert_eq!(money(&first.json["bookings"][0]["paid"]), ("30.00", "USD"));

    // ...yet the replay answers the first status and body, exactly.
    let again = h
        .post_keyed("/v1/bookings/b1/charges", body.clone(), "order-8")
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert!(again.replayed());
    assert_eq!(again.content_type(), "application/json");
    assert_eq!(again.text, first.text);
    let once_more = h
        .post_keyed("/v1/bookings/b1/charges", body, "order-8")
        .await;
    assert_eq!(once_more.text, first.text);

    // The refund's replay too, after the rest was refunded.
    let rest = h
        .post(&format!("/v1/payments/{charge}/refunds"), json!({}))
        .await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    let refund_again = h
        .post_keyed(
            &format!("/v1/payments/{charge}/refunds"),
            json!({"amount": "10.00"}),
            "order-8-refund",
        )
        .await;
    assert_eq!(refund_again.status, StatusCode::CREATED);
    assert!(refund_again.replayed());
    assert_eq!(refund_again.text, refund.text);
    assert_eq!(h.gateway.count("charge"), 1);
    assert_eq!(h.gateway.count("refund"), 2);

    // A hold's answer is kept as it was when placed, not as captured since.
    h.seed("c2", "pm_card_visa", "b2", "50.00").await;
    let hold = h
        .post_keyed("/v1/bookings/b2/authorizations", json!({}), "hold-1")
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    let hold_id = hold.json["payment"]["id"].as_str().unwrap().to_owned();
    let captured = h
        .post(&format!("/v1/payments/{hold_id}/captures"), json!({}))
        .await;
    assert_eq!(captured.status, StatusCode::CREATED, "{}", captured.text);
    let hold_again = h
        .post_keyed("/v1/bookings/b2/authorizations", json!({}), "hold-1")
        .await;
    assert_eq!(hold_again.status, StatusCode::CREATED);
    assert!(hold_again.replayed());
    assert_eq!(hold_again.text, hold.text);
    assert_eq!(hold_again.json["payment"]["state"], "authorized");
}

#[tokio::test]
async fn a_replayed_decline_answers_the_first_problem_byte_for_byte() {
    let h = Harness::new().await;
    h.seed(
        "c1",
        "pm_card_chargeDeclinedInsufficientFunds",
        "b1",
        "100.00",
    )
    .await;
    let first = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-2")
        .await;
    first.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(!first.replayed());
    let alpha = BusinessId::new("alpha").unwrap();
    let key = IdempotencyKey::new("decline-2").unwrap();
    let kept = h
        .store
        .idempotency(&alpha, &key)
        .await
        .unwrap()
        .and_then(|record| record.response)
        .expect("the decline was kept");
    assert_eq!(
        (kept.status, kept.content_type.as_str(), kept.body.as_str()),
        (402, "application/problem+json", first.text.as_str())
    );
    let again = h
        .post_keyed("/v1/bookings/b1/charges", json!({}), "decline-2")
        .await;
    again.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert!(again.replayed());
    assert_eq!(again.text, first.text);
    assert_eq!(h.gateway.count("charge"), 1);
}

#[tokio::test]
async fn only_final_answers_are_kept() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let alpha = BusinessId::new("alpha").unwrap();
    let kept = |key: &str| {
        let store = h.store.clone();
        let alpha = alpha.clone();
        let key = IdempotencyKey::new(key).unwrap();
        async move {
            store
                .idempotency(&alpha, &key)
                .await
                .unwrap()
                .and_then(|record| record.response)
        }
    };
    // A pending answer (202) is not kept: the replay that settles it answers anew, and that
    // settled answer is the one kept.
    h.gateway.script(Scripted::LostAnswer);
    let pending = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "40.00"}), "p-1")
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text);
    assert_eq!(kept("p-1").await, None);
    let settled = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "40.00"}), "p-1")
        .await;
    assert_eq!(settled.status, StatusCode::CREATED, "{}", settled.text);
    assert!(settled.replayed());
    assert_eq!(settled.json["payment"]["state"], "succeeded");
    assert_eq!(
        kept("p-1").await.map(|r| (r.status, r.body)),
        Some((201, settled.text.clone()))
    );
    h.post("/v1/bookings/b1/charges", json!({"amount": "10.00"}))
        .await;
    let later = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "40.00"}), "p-1")
        .await;
    assert_eq!(later.text, settled.text);

    // Refusals are not kept: not a key reuse, not a rule (nothing was claimed), not a failure
    // at the gateway that did nothing (the key is freed).
    h.post_keyed("/v1/bookings/b1/charges", json!({"amount": "41.00"}), "p-1")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(
        kept("p-1").await.map(|r| r.status),
        Some(201),
        "the reuse did not replace it"
    );
    h.post_keyed(
        "/v1/bookings/b1/charges",
        json!({"amount": "999.00"}),
        "r-1",
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amount_exceeds_balance");
    assert_eq!(kept("r-1").await, None);
    h.gateway.script(Scripted::Fail(
        billing_core::ports::GatewayError::Unavailable("down".into()),
    ));
    h.post_keyed("/v1/bookings/b1/charges", json!({"amount": "5.00"}), "g-1")
        .await
        .assert_problem(StatusCode::BAD_GATEWAY, "gateway_unavailable");
    assert_eq!(kept("g-1").await, None);
    let retried = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "5.00"}), "g-1")
        .await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
    assert!(!retried.replayed());
}

#[tokio::test]
async fn without_a_key_a_repeat_is_a_probable_duplicate() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let first = h
        .post("/v1/bookings/b1/charges", json!({"amount": "20.00"}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = h
        .post("/v1/bookings/b1/charges", json!({"amount": "20.00"}))
        .await;
    second.assert_problem(StatusCode::CONFLICT, "probable_duplicate");
    assert_eq!(second.json["payment"], first.json["payment"]["id"]);
    let intended = h
        .post(
            "/v1/bookings/b1/charges",
            json!({"amount": "20.00", "allow_duplicate": true}),
        )
        .await;
    assert_eq!(intended.status, StatusCode::CREATED, "{}", intended.text);
}

// ---------------------------------------------------------------------------------------------
// Collections, holds, refunds

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
    h.post(&format!("/v1/payments/{hold_id}/cancel"), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "hold_not_open");

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

// ---------------------------------------------------------------------------------------------
// Bulk

#[tokio::test]
async fn bulk_results_come_in_order_with_one_decline() {
    let h = Harness::with(|state| {
        state.with_config(HttpConfig {
            bulk_concurrency: 2,
            ..HttpConfig::default()
        })
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
}

#[tokio::test]
async fn a_bulk_charge_sends_again_what_the_gateway_refused_as_rate_limited() {
    let h = Harness::with(|state| {
        state.with_config(HttpConfig {
            bulk_concurrency: 1,
            ..HttpConfig::default()
        })
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

    // Each settled part was kept as its element of the results.
    let alpha = BusinessId::new("alpha").unwrap();
    for (index, booking) in ["b1", "b2", "b3"].iter().enumerate() {
        let key = IdempotencyKey::new("batch-9").unwrap().part(booking);
        let kept = h
            .store
            .idempotency(&alpha, &key)
            .await
            .unwrap()
            .and_then(|record| record.response)
            .expect("kept");
        let element: Value = serde_json::from_str(&kept.body).unwrap();
        assert_eq!(element, first.json["results"][index]);
        assert_eq!(u64::from(kept.status), element["status"].as_u64().unwrap());
    }

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

// ---------------------------------------------------------------------------------------------
// Reports

#[tokio::test]
async fn the_outstanding_report_in_json_and_csv() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.seed("c2", "pm_card_visa", "b2", "50.50").await;
    h.put(
        "/v1/bookings/b3",
        json!({"customer": "c2", "currency": "EUR",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "20.00"}]}),
    )
    .await;
    h.post("/v1/bookings/b1/charges", json!({"amount": "30.00"}))
        .await;
    let report = h.get("/v1/reports/outstanding").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(
        report.json["customers"],
        json!([
            {"customer": "c1", "balance_due": {"amount": "70.00", "currency": "USD"}, "bookings": 1},
            {"customer": "c2", "balance_due": {"amount": "20.00", "currency": "EUR"}, "bookings": 1},
            {"customer": "c2", "balance_due": {"amount": "50.50", "currency": "USD"}, "bookings": 1},
        ])
    );
    assert_eq!(
        report.json["totals"],
        json!([{"amount": "20.00", "currency": "EUR"}, {"amount": "120.50", "currency": "USD"}])
    );
    let expected = "customer,currency,balance_due,bookings\n\
                    c1,USD,70.00,1\n\
                    c2,EUR,20.00,1\n\
                    c2,USD,50.50,1\n\
                    TOTAL,EUR,20.00,1\n\
                    TOTAL,USD,120.50,2\n";
    let csv = h.get("/v1/reports/outstanding?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type().starts_with("text/csv"));
    assert_eq!(csv.text, expected);
    let accepted = h
        .call(
            Method::GET,
            "/v1/reports/outstanding",
            Some(KEY_A),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(accepted.text, expected);
    h.get("/v1/reports/outstanding?format=xml")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}

// ---------------------------------------------------------------------------------------------
// Malformed requests

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
        json!({"amount": "1.00", "tip": "5"}),
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

// ---------------------------------------------------------------------------------------------
// Tenant isolation

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

// ---------------------------------------------------------------------------------------------
// Webhooks

#[tokio::test]
async fn webhooks_reconcile_once_and_refuse_bad_signatures() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "50.00").await;
    h.gateway.script(Scripted::LostAnswer);
    let pending = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(pending.status, StatusCode::ACCEPTED);
    let id = pending.json["payment"]["id"].as_str().unwrap().to_owned();

    let deliver = |body: Value, signature: &'static str| {
        let h = &h;
        async move {
            h.send(
                Request::post("/v1/webhooks/stripe")
                    .header("stripe-signature", signature)
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await
        }
    };
    let event = json!({"id": "evt_1", "type": "payment_intent.succeeded", "payment": id});
    deliver(event.clone(), "forged")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_signature");
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);

    let first = deliver(event.clone(), "good").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["outcome"], "reconciled");
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "charged_in_full");
    assert_eq!(booking.json["pending"], false);

    let finds = h.gateway.count("find_payment");
    let again = deliver(event, "good").await;
    assert_eq!(again.json["outcome"], "duplicate");
    assert_eq!(h.gateway.count("find_payment"), finds, "no second effect");

    let other = deliver(json!({"id": "evt_2", "type": "customer.created"}), "good").await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.json["outcome"], "ignored");
    let stranger = deliver(
        json!({"id": "evt_3", "type": "payment_intent.succeeded", "payment": "pay_elsewhere"}),
        "good",
    )
    .await;
    assert_eq!(stranger.json["outcome"], "ignored");
}

#[tokio::test]
async fn without_a_verifier_webhooks_are_not_served() {
    let store = MemoryStore::new();
    let billing = Billing::new(
        store,
        ScriptedGateway::new(),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
    );
    let app = router(AppState::new(billing));
    let response = app
        .oneshot(
            Request::post("/v1/webhooks/stripe")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// Operations

#[tokio::test]
async fn operations_routes() {
    let h = Harness::with(|state| {
        state.with_readiness(Arc::new(ReadinessFn(|| async {
            Err::<(), String>("database unreachable".into())
        })))
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

    let docs = h.call(Method::GET, "/docs", None, None, &[]).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("/openapi.json") || docs.text.contains("openapi"));

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

/// The scripted gateway, slow to charge: a request timeout fires while the charge is at the
/// gateway.
#[derive(Clone)]
struct SlowGateway(ScriptedGateway);

#[async_trait::async_trait]
impl billing_core::ports::PaymentGateway for SlowGateway {
    async fn create_customer(
        &self,
        c: &billing_core::ports::NewGatewayCustomer,
    ) -> Result<String, billing_core::ports::GatewayError> {
        self.0.create_customer(c).await
    }
    async fn list_cards(
        &self,
        a: Option<String>,
        c: &str,
    ) -> Result<Vec<SavedCard>, billing_core::ports::GatewayError> {
        self.0.list_cards(a, c).await
    }
    async fn attach_card(
        &self,
        a: Option<String>,
        c: &str,
        pm: &str,
    ) -> Result<SavedCard, billing_core::ports::GatewayError> {
        self.0.attach_card(a, c, pm).await
    }
    async fn detach_card(
        &self,
        a: Option<String>,
        pm: &str,
    ) -> Result<(), billing_core::ports::GatewayError> {
        self.0.detach_card(a, pm).await
    }
    async fn set_default_card(
        &self,
        a: Option<String>,
        c: &str,
        pm: &str,
    ) -> Result<(), billing_core::ports::GatewayError> {
        self.0.set_default_card(a, c, pm).await
    }
    async fn charge(
        &self,
        r: &billing_core::ports::PaymentRequest,
    ) -> Result<billing_core::ports::GatewayPayment, billing_core::ports::GatewayError> {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        self.0.charge(r).await
    }
    async fn authorize(
        &self,
        r: &billing_core::ports::PaymentRequest,
    ) -> Result<billing_core::ports::GatewayPayment, billing_core::ports::GatewayError> {
        self.0.authorize(r).await
    }
    async fn capture(
        &self,
        r: &billing_core::ports::CaptureRequest,
    ) -> Result<billing_core::ports::GatewayPayment, billing_core::ports::GatewayError> {
        self.0.capture(r).await
    }
    async fn cancel(
        &self,
        r: &billing_core::ports::CancelRequest,
    ) -> Result<billing_core::ports::GatewayPayment, billing_core::ports::GatewayError> {
        self.0.cancel(r).await
    }
    async fn refund(
        &self,
        r: &billing_core::ports::RefundRequest,
    ) -> Result<billing_core::ports::GatewayRefund, billing_core::ports::GatewayError> {
        self.0.refund(r).await
    }
    async fn find_payment(
        &self,
        a: Option<String>,
        p: &PaymentId,
    ) -> Result<Option<billing_core::ports::GatewayPayment>, billing_core::ports::GatewayError>
    {
        self.0.find_payment(a, p).await
    }
    async fn find_refund(
        &self,
        a: Option<String>,
        r: &str,
        p: &PaymentId,
    ) -> Result<Option<billing_core::ports::GatewayRefund>, billing_core::ports::GatewayError> {
        self.0.find_refund(a, r, p).await
    }
    async fn start_card_setup(
        &self,
        a: Option<String>,
        c: &str,
        k: &str,
    ) -> Result<billing_core::ports::CardSetup, billing_core::ports::GatewayError> {
        self.0.start_card_setup(a, c, k).await
    }
}

#[tokio::test]
async fn a_request_that_times_out_still_finishes_its_money_move() {
    let store = MemoryStore::new();
    let business = Business {
        id: BusinessId::new("alpha").unwrap(),
        name: "alpha".into(),
        gateway_account: None,
        email: None,
    };
    store
        .create_business(&business, &hash_api_key(KEY_A))
        .await
        .unwrap();
    let billing = Billing::new(
        store.clone(),
        SlowGateway(ScriptedGateway::new()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
    );
    let app = router(AppState::new(billing).with_config(HttpConfig {
        request_timeout: std::time::Duration::from_millis(100),
        ..HttpConfig::default()
    }));
    let h = Harness {
        app,
        gateway: ScriptedGateway::new(),
        clock: Arc::new(FixedClock::default()),
        store,
    };
    h.seed("c1", "pm_card_visa", "b1", "40.00").await;
    let timed_out = h.post("/v1/bookings/b1/charges", json!({})).await;
    timed_out.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "request_timeout");
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);
    let mut status = Value::Null;
    for _ in 0..100 {
        status = h.get("/v1/bookings/b1").await.json["status"].clone();
        if status == "charged_in_full" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "charged_in_full", "the charge went on to its end");
}
