//! What the tests against the fake Stripe share: a fake that insists on the connected account,
//! the adapter over it, customers and requests, and a plain HTTP client for the fake's own
//! pages (its 3-D Secure page).
#![allow(dead_code)]

use std::time::Duration;

use billing_core::customer::SavedCard;
use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence};
use billing_stripe::{StripeConfig, StripeGateway};
use billing_stripe_fake::{FakeStripe, RecordedRequest};
use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The connected account every call acts on.
pub const ACCOUNT: &str = "acct_venue";

/// Where the customer's browser comes back to after authenticating.
pub const RETURN_URL: &str = "https://pay.example.com/pay/token123/return";

/// A fake that refuses any request without `Stripe-Account`, and the adapter over it.
pub async fn start() -> (FakeStripe, StripeGateway) {
    let fake = FakeStripe::start().await;
    fake.require_account(true);
    let gateway = StripeGateway::new(
        StripeConfig::new(fake.secret_key())
            .with_base_url(fake.base_url())
            .with_timeout(Duration::from_secs(5))
            .with_retries(2, Duration::from_millis(10)),
    )
    .expect("client");
    (fake, gateway)
}

pub fn account() -> Option<String> {
    Some(ACCOUNT.into())
}

pub fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

pub fn pid(id: &str) -> PaymentId {
    PaymentId::new(id).expect("id")
}

/// The fake's clock, as the adapter's answers are dated.
pub fn now(fake: &FakeStripe) -> DateTime<Utc> {
    DateTime::from_timestamp(fake.now(), 0).expect("valid")
}

/// A fresh Stripe customer named after `name`.
pub async fn customer(gateway: &StripeGateway, name: &str) -> String {
    gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: account(),
            customer: CustomerId::new(format!("c-{name}")).expect("id"),
            name: format!("Customer {name}"),
            email: None,
        })
        .await
        .expect("customer")
}

/// A fresh customer with `card` (a test id) saved.
pub async fn customer_with(gateway: &StripeGateway, name: &str, card: &str) -> (String, SavedCard) {
    let customer = customer(gateway, name).await;
    let saved = gateway
        .attach_card(account(), &customer, card)
        .await
        .expect("card saved");
    (customer, saved)
}

/// A charge or hold request of `amount` on `card`, staff charging it (off-session).
pub fn request(payment: &str, customer: &str, card: &str, amount: Money) -> PaymentRequest {
    let payment = pid(payment);
    PaymentRequest {
        account: account(),
        idempotency_key: format!("{payment}:attempt"),
        payment,
        card: CardRef {
            gateway_customer: customer.into(),
            payment_method: card.into(),
        },
        amount,
        description: Some("Booking b-1".into()),
        presence: Presence::OffSession,
    }
}

/// The same request made with the customer on the payment page.
pub fn on_session(mut request: PaymentRequest, save_card: bool) -> PaymentRequest {
    request.presence = Presence::OnSession {
        return_url: RETURN_URL.into(),
        save_card,
    };
    request
}

/// The requests the fake recorded for `method path`.
pub fn sent(fake: &FakeStripe, method: &str, path: &str) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// The parameters of the last PaymentIntent made.
pub fn last_intent_params(fake: &FakeStripe) -> serde_json::Value {
    sent(fake, "POST", "/v1/payment_intents")
        .last()
        .expect("an intent was made")
        .params()
}

/// An answer of the fake's own pages.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// One HTTP/1.1 request to an absolute `http://` URL on the fake, on its own connection.
pub async fn browse(url: &str, method: &str, form: Option<&str>) -> Page {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let body = form.unwrap_or_default();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if form.is_some() {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = TcpStream::connect(host).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let location = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.trim().to_owned());
    Page {
        status,
        location,
        body: body.to_owned(),
    }
}
