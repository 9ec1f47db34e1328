//! Stripe's answers are checked against the request: an answer in another amount or currency
//! than asked is an unknown outcome (to be looked at), never taken as the payment asked for.
//! A canned server answers with a real PaymentIntent body (made by the fake Stripe) altered.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    CaptureRequest, GatewayError, NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence,
};
use billing_stripe::{StripeConfig, StripeGateway};
use billing_stripe_fake::FakeStripe;
use serde_json::Value;

fn gateway(base_url: String, key: &str) -> StripeGateway {
    StripeGateway::new(
        StripeConfig::new(key)
            .with_base_url(base_url)
            .with_timeout(Duration::from_secs(5))
            .with_retries(0, Duration::from_millis(1)),
    )
    .expect("client")
}

/// Serves `body` with 200 to every request.
async fn canned(body: Value) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let text = body.to_string();
    let app = Router::new().fallback(move || {
        let text = text.clone();
        async move { (StatusCode::OK, [("content-type", "application/json")], text) }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

fn request(amount: Money) -> PaymentRequest {
    let payment = PaymentId::new("pay_1").expect("id");
    PaymentRequest {
        account: None,
        idempotency_key: format!("{payment}:attempt"),
        payment,
        card: CardRef {
            gateway_customer: "cus_1".into(),
            payment_method: "pm_card_visa".into(),
        },
        amount,
        description: None,
        presence: Presence::OffSession,
    }
}

/// A real PaymentIntent body from the fake.
async fn intent_body(hold: bool) -> Value {
    let fake = FakeStripe::start().await;
    let real = gateway(fake.base_url(), fake.secret_key());
    let customer = real
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: None,
            customer: CustomerId::new("c-1").expect("id"),
            name: "Ada".into(),
            email: None,
        })
        .await
        .expect("customer");
    let mut asked = request(Money::from_minor(7_700, Currency::EUR));
    asked.card.gateway_customer = customer;
    let made = if hold {
        real.authorize(&asked).await
    } else {
        real.charge(&asked).await
    }
    .expect("made");
    fake.object(None, &made.reference).expect("stored")
}

#[tokio::test]
async fn another_amount_than_asked_is_an_unknown_outcome() {
    let mut body = intent_body(false).await;
    body["amount"] = Value::from(77_000);
    body["amount_received"] = Value::from(77_000);
    let url = canned(body).await;
    let answer = gateway(url, "sk_test_canned")
        .charge(&request(Money::from_minor(7_700, Currency::EUR)))
        .await;
    match answer {
        Err(GatewayError::UnknownOutcome(message)) => {
            assert!(message.contains("770.00 EUR"), "{message}");
            assert!(message.contains("77.00 EUR"), "{message}");
        }
        other => panic!("expected UnknownOutcome, got {other:?}"),
    }
}

#[tokio::test]
async fn another_currency_than_asked_is_an_unknown_outcome() {
    let mut body = intent_body(false).await;
    body["currency"] = Value::from("usd");
    let url = canned(body).await;
    let answer = gateway(url, "sk_test_canned")
        .charge(&request(Money::from_minor(7_700, Currency::EUR)))
        .await;
    assert!(
        matches!(answer, Err(GatewayError::UnknownOutcome(_))),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_capture_answered_in_another_currency_is_an_unknown_outcome() {
    let mut body = intent_body(true).await;
    body["status"] = Value::from("succeeded");
    body["currency"] = Value::from("jpy");
    let url = canned(body).await;
    let answer = gateway(url, "sk_test_canned")
        .capture(&CaptureRequest {
            account: None,
            payment_reference: "pi_1".into(),
            capture: PaymentId::new("pay_2").expect("id"),
            idempotency_key: "pay_2:attempt".into(),
            amount: Money::from_minor(7_700, Currency::EUR),
            final_capture: true,
        })
        .await;
    assert!(
        matches!(answer, Err(GatewayError::UnknownOutcome(_))),
        "{answer:?}"
    );
}

#[tokio::test]
async fn amounts_stripe_cannot_take_are_refused_before_sending() {
    // Nothing listens here: a request that left would fail otherwise.
    let gateway = gateway("http://127.0.0.1:9/".into(), "sk_test_unused");
    let kwd = Money::parse("5.124", Currency::KWD).expect("money");
    let answer = gateway.charge(&request(kwd)).await;
    assert!(
        matches!(&answer, Err(GatewayError::InvalidRequest { message, .. }) if message.contains("last digit is 0")),
        "{answer:?}"
    );
}
