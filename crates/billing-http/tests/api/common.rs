//! The harness every test drives: the router in process over `MemoryStore`,
//! `ScriptedGateway`, `FixedClock`, `SequentialIds`, `SequentialSecrets`, `PlainTemplates`, a
//! fake webhook verifier and a fake card tokenizer.

use std::sync::Mutex;

use axum::Router;
use axum::http::HeaderMap;
use billing_core::billing::{ApiKey, HostedPages};
use billing_core::phone::PhoneNumber;
use billing_core::ports::{
    Businesses, EventSubject, GatewayEvent, InboundText, Ledger, LedgerRead, PaymentGateway,
    ReplyIntent, TextCallbackRejected, TextCallbacks, TextEvent, TextStatus, TextStatusReport,
    WebhookRejected, WebhookVerifier,
};
use billing_core::testkit::{PlainTemplates, SequentialIds, SequentialSecrets};
use billing_http::{AppState, CardTokenizer, PageUrls, Readiness, router};
use tower::ServiceExt;

// What every test module uses.
pub use std::sync::Arc;

pub use axum::body::Body;
pub use axum::http::{Method, Request, StatusCode};
pub use billing_core::billing::Policy;
pub use billing_core::prelude::*;
pub use billing_core::testkit::{FixedClock, MemoryStore, Scripted, ScriptedGateway};
pub use billing_http::{CardForm, HttpConfig};
pub use chrono::Duration;
pub use serde_json::{Value, json};

pub const KEY_A: &str = "bk_test_alpha_key";
pub const KEY_B: &str = "bk_test_bravo_key";
/// Business A's name: escaped on every page.
pub const ACME: &str = "Acme & Sons";
pub const ACME_HTML: &str = "Acme &#38; Sons";
pub const VISA: &str = "4242 4242 4242 4242";
pub const DECLINED: &str = "4000 0000 0000 0002";
/// Asks the customer to authenticate on-session and when set up (then charges without them).
pub const AUTH_ON_SETUP: &str = "4000 0025 0000 3155";
/// Always asks the customer to authenticate.
pub const THREE_D_SECURE_2: &str = "4000 0000 0000 3220";
/// Where the hosted pages are, as links name them.
pub const PAGES: &str = "https://pay.example.com";

/// A fake verifier: the signature header must be `good`; the body is
/// `{"id", "type", "payment"?, "account"?}`.
pub struct FakeVerifier;

impl WebhookVerifier for FakeVerifier {
    fn verify(&self, payload: &[u8], signature: &str) -> Result<GatewayEvent, WebhookRejected> {
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
        let subject = match (event_type.as_str(), payment) {
            ("payment_intent.succeeded", Some(p)) => EventSubject::Payment(p),
            ("charge.refunded", Some(p)) => EventSubject::RefundsOf(p),
            _ => EventSubject::Other,
        };
        Ok(GatewayEvent {
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            event_type,
            account: body["account"].as_str().map(str::to_owned),
            business: None,
            subject,
        })
    }
}

/// Where the text provider posts its callbacks, as the harness tells the router.
pub const TEXT_CALLBACKS: &str = "https://billing.example.com/v1/webhooks/texts";

/// A fake text provider's callbacks: the `x-test-signature` header must be `good` and the URL
/// [`TEXT_CALLBACKS`]; the form is `ref` and `status` for a delivery report, or `from` and
/// `intent` (`stop`, `start`, `help`) for a reply.
pub struct FakeTextCallbacks;

impl TextCallbacks for FakeTextCallbacks {
    fn signature_header(&self) -> &'static str {
        "x-test-signature"
    }

    fn verify(
        &self,
        url: &str,
        body: &[u8],
        signature: &str,
    ) -> Result<TextEvent, TextCallbackRejected> {
        if signature != "good" || url != TEXT_CALLBACKS {
            return Err(TextCallbackRejected("the signature does not match".into()));
        }
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let field = |name: &str| {
            form.get(name)
                .cloned()
                .ok_or_else(|| TextCallbackRejected(format!("no {name}")))
        };
        if let Some(reference) = form.get("ref") {
            return Ok(TextEvent::Status(TextStatusReport {
                reference: reference.clone(),
                status: TextStatus::parse(&field("status")?)
                    .ok_or_else(|| TextCallbackRejected("unknown status".into()))?,
                error_code: form.get("error").cloned(),
            }));
        }
        let intent = match field("intent")?.as_str() {
            "stop" => ReplyIntent::OptOut,
            "start" => ReplyIntent::OptIn,
            "help" => ReplyIntent::Help,
            _ => ReplyIntent::Message,
        };
        Ok(TextEvent::Inbound(InboundText {
            reference: "SM_in".into(),
            from: PhoneNumber::from_e164(&field("from")?)
                .map_err(|e| TextCallbackRejected(e.to_string()))?,
            body: String::new(),
            intent,
        }))
    }
}

/// The sandbox's card form, faked: Stripe's test cards by number, and what it was given.
#[derive(Default)]
pub struct FakeCards {
    pub seen: Mutex<Vec<(u32, u32)>>,
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
            "4000002500003155" => Ok("pm_card_authenticationRequiredOnSetup".into()),
            "4000000000003220" => Ok("pm_card_threeDSecure2Required".into()),
            "4000002760003184" => Ok("pm_card_authenticationRequired".into()),
            _ => Err("This card <is> not supported by the sandbox.".into()),
        }
    }
}

/// What the harness is built with.
pub struct Setup {
    /// The hosted pages' card form; the fake sandbox tokenizer when `None`.
    pub card_form: Option<CardForm>,
    /// No card form at all: the hosted pages are not served.
    pub without_card_form: bool,
    /// Payment links and card requests (the core's hosted pages settings).
    pub hosted_pages: bool,
    /// A webhook verifier (the fake one).
    pub webhooks: bool,
    pub config: HttpConfig,
    pub policy: Policy,
    pub readiness: Option<Arc<dyn Readiness>>,
    /// Wraps the scripted gateway the core is given (a slow one, say: see `gateways`).
    pub gateway: Option<fn(ScriptedGateway) -> Arc<dyn PaymentGateway>>,
    /// A scripted gateway on the harness's clock, whose search finds a payment only this
    /// long after it was made.
    pub search_lag: Option<Duration>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            card_form: None,
            without_card_form: false,
            hosted_pages: true,
            webhooks: true,
            config: HttpConfig::default(),
            policy: Policy::default(),
            readiness: None,
            gateway: None,
            search_lag: None,
        }
    }
}

pub struct Harness {
    pub app: Router,
    /// The service the router runs on (clones share everything), to seed in bulk.
    pub billing: Billing,
    /// The router's store (clones share the data).
    pub store: Arc<MemoryStore>,
    pub gateway: ScriptedGateway,
    pub clock: Arc<FixedClock>,
    pub cards: Arc<FakeCards>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type")
    }

    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) {
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

    /// Where a redirect sends the browser.
    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// The value of an attribute of the page (its first occurrence).
    pub fn attribute(&self, name: &str) -> String {
        let marker = format!("{name}=\"");
        let Some(at) = self.text.find(&marker) else {
            panic!("no {name} in {}", self.text);
        };
        let rest = &self.text[at + marker.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == "true"
    }

    /// True when the page has an element with this id.
    pub fn has(&self, id: &str) -> bool {
        self.text.contains(&format!("id=\"{id}\""))
    }

    /// The text right inside the element with this id (up to its first child tag).
    pub fn text_of(&self, id: &str) -> String {
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
    pub fn assert_page(&self, status: StatusCode, id: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.content_type(), "text/html; charset=utf-8");
        assert!(self.has(id), "no #{id} in {}", self.text);
    }
}

impl Harness {
    /// Moves the clock past the grace a booking page has to start its checkout, so that
    /// automation acts on the bookings made so far.
    pub fn past_checkout_grace(&self) {
        self.clock
            .advance(billing_core::billing::Policy::default().checkout_grace);
    }

    /// Two businesses (A, "Acme & Sons", and B), no customers.
    pub async fn new() -> Harness {
        Harness::with(Setup::default()).await
    }

    /// [`Harness::new`] with the customers and bookings of the link tests ([`Harness::seed_links`]).
    pub async fn links() -> Harness {
        Harness::links_with(Setup::default()).await
    }

    /// [`Harness::with`] and the customers and bookings of the link tests.
    pub async fn links_with(setup: Setup) -> Harness {
        let h = Harness::with(setup).await;
        h.seed_links().await;
        h
    }

    pub async fn with(setup: Setup) -> Harness {
        let store = Arc::new(MemoryStore::new());
        for (id, name, key) in [("alpha", ACME, KEY_A), ("bravo", "Bravo", KEY_B)] {
            let business = Business {
                id: BusinessId::new(id).unwrap(),
                name: name.into(),
                gateway_account: None,
                email: Some(format!("office@{id}.example")),
            };
            store
                .create_business(
                    &business,
                    &billing_core::testkit::api_key_record("key_1"),
                    &ApiKey::hash_of(key),
                )
                .await
                .unwrap();
        }
        let clock = Arc::new(FixedClock::default());
        let gateway = match setup.search_lag {
            Some(lag) => ScriptedGateway::with_clock(clock.clone()).with_search_lag(lag),
            None => ScriptedGateway::new(),
        };
        let core_gateway: Arc<dyn PaymentGateway> = match setup.gateway {
            Some(wrap) => wrap(gateway.clone()),
            None => Arc::new(gateway.clone()),
        };
        let mut billing = Billing::new(
            store.clone(),
            core_gateway,
            clock.clone(),
            Arc::new(SequentialIds::default()),
            Arc::new(SequentialSecrets::default()),
        )
        .with_policy(setup.policy);
        if setup.hosted_pages {
            billing = billing.with_hosted_pages(HostedPages {
                addresses: Arc::new(PageUrls::new(format!("{PAGES}/"))),
                link_lifetime: HostedPages::default_lifetime(),
                templates: Arc::new(PlainTemplates),
            });
        }
        let cards = Arc::new(FakeCards::default());
        let form = setup
            .card_form
            .unwrap_or_else(|| CardForm::Sandbox(cards.clone()));
        let mut state = AppState::new(billing.clone()).with_config(setup.config);
        if !setup.without_card_form {
            state = state.with_card_form(form);
        }
        if setup.webhooks {
            state = state
                .with_webhooks(Arc::new(FakeVerifier))
                .with_text_callbacks(Arc::new(FakeTextCallbacks), TEXT_CALLBACKS);
        }
        if let Some(readiness) = setup.readiness {
            state = state.with_readiness(readiness);
        }
        Harness {
            app: router(state),
            billing,
            store,
            gateway,
            clock,
            cards,
        }
    }

    /// Business A.
    pub async fn alpha(&self) -> Business {
        self.billing
            .business_for_api_key(KEY_A)
            .await
            .unwrap()
            .unwrap()
    }

    /// The first settled answer the core keeps under one of business A's idempotency keys.
    pub async fn first_answer(&self, key: &IdempotencyKey) -> Option<Receipt> {
        let alpha = BusinessId::new("alpha").unwrap();
        let read = LedgerRead::bookings(&[]).with_key(Some(key));
        self.store
            .read(&alpha, &read)
            .await
            .unwrap()
            .key
            .and_then(|record| record.first_answer)
            .map(|answer| Receipt::clone(&answer))
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
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

    pub async fn call(
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

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(KEY_A), None, &[]).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(KEY_A), Some(body), &[])
            .await
    }

    pub async fn post_keyed(&self, path: &str, body: Value, key: &str) -> Reply {
        self.call(
            Method::POST,
            path,
            Some(KEY_A),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(KEY_A), Some(body), &[])
            .await
    }

    /// A customer with a card (none when `card` is empty) and a booking of `price` USD, for
    /// business A.
    pub async fn seed(&self, customer: &str, card: &str, booking: &str, price: &str) {
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

    /// Customer c1 (with an email address) with bookings b1 (215.50 USD, on 20 Jan) and b2
    /// (80.00 USD); customer c2 without an email address, with b3.
    pub async fn seed_links(&self) {
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
                .put(
                    &format!("/v1/bookings/{booking}"),
                    json!({"customer": customer, "currency": "USD", "service_at": at,
                        "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}]}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
    }

    /// A webhook delivery, as the gateway sends it (no API key), with this signature header
    /// (the fake verifier takes `good`).
    pub async fn deliver(&self, event: Value, signature: &str) -> Reply {
        self.send(
            Request::post("/v1/webhooks/stripe")
                .header("stripe-signature", signature)
                .header("content-type", "application/json")
                .body(Body::from(event.to_string()))
                .unwrap(),
        )
        .await
    }

    /// A hosted page, as a browser asks for it: no API key.
    pub async fn page(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None, &[]).await
    }

    /// A form posted to a hosted page.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(fields)))
            .unwrap();
        self.send(request).await
    }

    /// Pays a link's page with a card typed into the sandbox form.
    pub async fn pay(&self, path: &str, number: &str, save: bool) -> Reply {
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

    /// A card request for c1, emailed; the path of its page.
    pub async fn card_request(&self) -> String {
        let reply = self
            .post("/v1/card-requests", json!({"customer": "c1"}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        page_of(&reply.json)
    }

    /// The id of a payment in a JSON answer (a receipt's, or a problem's).
    pub fn payment_id(reply: &Reply) -> String {
        reply.json["payment"]["id"]
            .as_str()
            .or_else(|| reply.json["payment"].as_str())
            .unwrap_or_else(|| panic!("no payment in {}", reply.text))
            .to_owned()
    }

    /// A payment link for c1's bookings, emailed; its JSON.
    pub async fn link(&self, bookings: &[&str]) -> Value {
        let reply = self
            .post(
                "/v1/payment-links",
                json!({"customer": "c1", "bookings": bookings}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json
    }

    pub async fn booking_status(&self, booking: &str) -> String {
        let reply = self.get(&format!("/v1/bookings/{booking}")).await;
        reply.json["status"].as_str().unwrap().to_owned()
    }
}

/// An amount and its currency.
pub fn money(value: &Value) -> (&str, &str) {
    (
        value["amount"].as_str().unwrap_or_default(),
        value["currency"].as_str().unwrap_or_default(),
    )
}

/// The path of a link's page, from its URL.
pub fn page_of(link: &Value) -> String {
    let url = link["url"].as_str().unwrap();
    url.strip_prefix(PAGES).unwrap().to_owned()
}

/// Form fields, urlencoded.
pub fn form(fields: &[(&str, &str)]) -> String {
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
