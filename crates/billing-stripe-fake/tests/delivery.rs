//! Webhook delivery by a fake started in this process: every event reaches the endpoint,
//! signed; with the settings of a webhook campaign, late, shuffled and twice.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use billing_stripe_fake::{DeliverySettings, FakeStripe, FakeStripeConfig};
use serde_json::Value;
use stripe::ClientBuilder;
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_types::Currency;

use support::{Receiver, eventually, signed};

#[tokio::test]
async fn events_are_delivered_late_shuffled_and_twice() {
    let (receiver, hook) = Receiver::start(0).await;
    let fake = FakeStripe::start_with(FakeStripeConfig {
        webhook_url: Some(format!("http://{hook}/hooks")),
        seed: 11,
        ..FakeStripeConfig::default()
    })
    .await
    .expect("fake");
    fake.set_delivery(DeliverySettings {
        duplicate_rate: 1.0,
        max_delay: Duration::from_millis(40),
        ..DeliverySettings::default()
    });
    let client = ClientBuilder::new(fake.secret_key())
        .url(fake.base_url())
        .build()
        .expect("client");
    let customer = CreateCustomer::new()
        .send(&client)
        .await
        .expect("customer")
        .id
        .to_string();
    for amount in [1_000, 2_000, 3_000] {
        CreatePaymentIntent::new(amount, Currency::EUR)
            .customer(&customer)
            .payment_method("pm_card_visa")
            .confirm(true)
            .off_session(CreatePaymentIntentOffSession::Bool(true))
            .send(&client)
            .await
            .expect("payment");
    }
    let emitted: Vec<String> = fake
        .events()
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    assert!(emitted.len() >= 10, "{emitted:?}");

    eventually(Duration::from_secs(30), "every delivery done", || {
        let done = fake.deliveries_pending() == 0;
        async move { done }
    })
    .await;
    let deliveries = receiver.deliveries();
    let mut times: HashMap<String, usize> = HashMap::new();
    let mut arrival = Vec::new();
    for (signature, body) in &deliveries {
        assert!(
            signed(signature, body, fake.webhook_secret()),
            "{signature}"
        );
        let event: Value = serde_json::from_str(body).expect("JSON");
        let id = event["id"].as_str().expect("id").to_owned();
        if !arrival.contains(&id) {
            arrival.push(id.clone());
        }
        *times.entry(id).or_default() += 1;
    }
    assert_eq!(times.len(), emitted.len());
    assert!(times.values().all(|n| *n == 2), "{times:?}");
    // Random delays shuffle them (all in order would be a 1 in 10! chance).
    assert_ne!(arrival, emitted);
    let attempts = fake.delivery_attempts();
    assert_eq!(attempts.len(), 2 * emitted.len());
    assert!(
        attempts
            .iter()
            .all(|a| a.status == Some(200) && a.attempt == 1)
    );
}

#[tokio::test]
async fn an_endpoint_that_is_down_gets_the_events_once_it_is_up() {
    // Nothing listens on the port at first.
    let placeholder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = placeholder.local_addr().expect("addr");
    drop(placeholder);
    let fake = FakeStripe::start_with(FakeStripeConfig {
        webhook_url: Some(format!("http://{addr}/hooks")),
        ..FakeStripeConfig::default()
    })
    .await
    .expect("fake");
    fake.set_delivery(DeliverySettings {
        retry_base: Duration::from_millis(20),
        retry_max: Duration::from_millis(50),
        max_attempts: 1_000,
        ..DeliverySettings::default()
    });
    let client = ClientBuilder::new(fake.secret_key())
        .url(fake.base_url())
        .build()
        .expect("client");
    CreateCustomer::new().send(&client).await.expect("customer");
    eventually(Duration::from_secs(30), "a failed attempt", || {
        let failed = fake
            .delivery_attempts()
            .iter()
            .any(|a| a.status.is_none() && a.error.is_some());
        async move { failed }
    })
    .await;

    // The endpoint comes up on that port: the retries get through.
    let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
    let (receiver, _) = Receiver::serve(listener, 0);
    eventually(Duration::from_secs(30), "the event delivered", || {
        let done = receiver.deliveries().len() == 1 && fake.deliveries_pending() == 0;
        async move { done }
    })
    .await;
    let (_, body) = &receiver.deliveries()[0];
    assert!(body.contains("\"customer.created\""));
    let attempts = fake.delivery_attempts();
    assert_eq!(attempts.last().map(|a| a.status), Some(Some(200)));
    assert!(attempts.len() >= 2);
}
