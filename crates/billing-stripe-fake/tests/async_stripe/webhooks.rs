//! Webhook events, signed by the fake and verified by async-stripe.

use serde_json::json;
use stripe_webhook::{EventObject, EventType, Webhook, WebhookError};

use super::{fake_with_customer, off_session_payment};

#[tokio::test]
async fn webhook_signature_verified_by_async_stripe() {
    let (fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(3_300, &customer, "pm_card_visa")
        .send(&client)
        .await
        .expect("payment");

    // An event around the stored object.
    let object = fake.object(None, pi.id.as_str()).expect("stored pi");
    let (payload, signature) = fake.signed_event("payment_intent.succeeded", object);
    let event = Webhook::construct_event(&payload, &signature, fake.webhook_secret())
        .expect("valid signature");
    assert_eq!(event.type_, EventType::PaymentIntentSucceeded);
    match event.data.object {
        EventObject::PaymentIntentSucceeded(got) => assert_eq!(got.id, pi.id),
        other => panic!("unexpected object {other:?}"),
    }

    // The events the fake emitted verify and parse too.
    for emitted in fake.events() {
        let payload = emitted.to_string();
        let event = Webhook::construct_event(&payload, &fake.sign(&payload), fake.webhook_secret())
            .expect("emitted event parses");
        assert!(
            !matches!(event.data.object, EventObject::Unknown(_)),
            "{payload}"
        );
    }
    assert_eq!(fake.events_of_type("charge.succeeded").len(), 1);

    // Wrong secret, stale timestamp.
    assert!(matches!(
        Webhook::construct_event(&payload, &signature, "whsec_other"),
        Err(WebhookError::BadSignature)
    ));
    let stale = fake.sign_at(&payload, fake.now() - 3_600);
    assert!(matches!(
        Webhook::construct_event(&payload, &stale, fake.webhook_secret()),
        Err(WebhookError::BadTimestamp(_))
    ));
    let header = billing_stripe_fake::signature_header(&payload, "whsec_custom", 1_700_000_000);
    assert!(
        Webhook::construct_event_with_timestamp(&payload, &header, "whsec_custom", 1_700_000_100)
            .is_ok()
    );
    // A Connect event carries the account.
    let (payload, signature) = fake.signed_connect_event(
        "acct_venueA",
        "customer.created",
        json!({"id": "cus_x", "object": "customer", "created": 1, "livemode": false}),
    );
    let event = Webhook::construct_event(&payload, &signature, fake.webhook_secret())
        .expect("connect event");
    assert_eq!(event.account.as_deref(), Some("acct_venueA"));
}
