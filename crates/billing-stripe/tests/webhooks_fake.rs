//! Webhook deliveries as the fake Stripe signs them, around objects it really made.

use std::time::Duration;

use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, RefundRequest,
};
use billing_stripe::webhooks::{GatewayEvent, WebhookError, verify_event};
use billing_stripe::{StripeConfig, StripeGateway};
use billing_stripe_fake::FakeStripe;
use chrono::{DateTime, Utc};

const ACCOUNT: &str = "acct_hooks";

/// The fake signs with the wall clock (its own clock is not advanced in these tests).
fn now(fake: &FakeStripe) -> DateTime<Utc> {
    DateTime::from_timestamp(fake.now(), 0).expect("valid")
}

async fn setup() -> (FakeStripe, StripeGateway, String, String) {
    let fake = FakeStripe::start().await;
    let gateway = StripeGateway::new(
        StripeConfig::new(fake.secret_key())
            .with_base_url(fake.base_url())
            .with_timeout(Duration::from_secs(5)),
    )
    .expect("client");
    let customer = gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: Some(ACCOUNT.into()),
            customer: CustomerId::new("c-1").expect("id"),
            name: "Ada".into(),
            email: None,
        })
        .await
        .expect("customer");
    let card = gateway
        .attach_card(Some(ACCOUNT.into()), &customer, "pm_card_visa")
        .await
        .expect("card");
    (fake, gateway, customer, card.payment_method)
}

fn request(payment: &str, customer: &str, pm: &str) -> PaymentRequest {
    let payment = PaymentId::new(payment).expect("id");
    PaymentRequest {
        account: Some(ACCOUNT.into()),
        idempotency_key: format!("{payment}:attempt"),
        payment,
        card: CardRef {
            gateway_customer: customer.into(),
            payment_method: pm.into(),
        },
        amount: Money::from_minor(3_300, Currency::EUR),
        description: None,
    }
}

#[tokio::test]
async fn events_the_fake_signs_verify_and_carry_our_payment_id() {
    let (fake, gateway, customer, pm) = setup().await;
    let paid = gateway
        .charge(&request("pay_hook_1", &customer, &pm))
        .await
        .expect("charged");
    let object = fake.object(Some(ACCOUNT), &paid.reference).expect("pi");
    let (payload, signature) =
        fake.signed_connect_event(ACCOUNT, "payment_intent.succeeded", object);
    let event =
        verify_event(&payload, &signature, fake.webhook_secret(), now(&fake)).expect("verified");
    let GatewayEvent::PaymentSucceeded(e) = &event else {
        panic!("{event:?}");
    };
    assert_eq!(e.event.account.as_deref(), Some(ACCOUNT));
    assert!(e.event.id.starts_with("evt_"));
    assert_eq!(
        e.payment.as_ref().map(PaymentId::as_str),
        Some("pay_hook_1")
    );
    assert_eq!(e.intent.reference, paid.reference);
    assert_eq!(e.intent.status, GatewayStatus::Succeeded);
    assert_eq!(e.intent.amount_received, paid.amount);

    // Tampered, wrong secret, stale.
    let tampered = payload.replace("3300", "33");
    assert_eq!(
        verify_event(&tampered, &signature, fake.webhook_secret(), now(&fake)),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        verify_event(&payload, &signature, "whsec_wrong", now(&fake)),
        Err(WebhookError::BadSignature)
    );
    let stale = fake.sign_at(&payload, fake.now() - 3_600);
    assert!(matches!(
        verify_event(&payload, &stale, fake.webhook_secret(), now(&fake)),
        Err(WebhookError::StaleTimestamp { .. })
    ));
}

#[tokio::test]
async fn every_event_the_fake_emitted_is_read() {
    let (fake, gateway, customer, pm) = setup().await;
    let paid = gateway
        .charge(&request("pay_a", &customer, &pm))
        .await
        .expect("charged");
    gateway
        .charge(&request("pay_b", &customer, "pm_card_chargeDeclined"))
        .await
        .expect("declined");
    gateway
        .authorize(&request("pay_c", &customer, &pm))
        .await
        .expect("held");
    gateway
        .refund(&RefundRequest {
            account: Some(ACCOUNT.into()),
            payment_reference: paid.reference.clone(),
            refund: PaymentId::new("pay_r").expect("id"),
            idempotency_key: "pay_r:attempt".into(),
            amount: Money::from_minor(1_000, Currency::EUR),
            reason: Some("Rescheduled".into()),
        })
        .await
        .expect("refunded");
    let mut seen = Vec::new();
    for emitted in fake.events() {
        let payload = emitted.to_string();
        let event = verify_event(
            &payload,
            &fake.sign(&payload),
            fake.webhook_secret(),
            now(&fake),
        )
        .unwrap_or_else(|e| panic!("{e}: {payload}"));
        seen.push(event);
    }
    let failed = seen
        .iter()
        .find_map(|e| match e {
            GatewayEvent::PaymentFailed(e) => Some(e),
            _ => None,
        })
        .expect("a payment_failed event");
    assert_eq!(
        failed.payment.as_ref().map(PaymentId::as_str),
        Some("pay_b")
    );
    assert!(
        matches!(&failed.intent.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == Some("generic_decline")),
        "{failed:?}"
    );
    let hold = seen
        .iter()
        .find_map(|e| match e {
            GatewayEvent::HoldUpdated(e) => Some(e),
            _ => None,
        })
        .expect("an amount_capturable_updated event");
    assert_eq!(hold.payment.as_ref().map(PaymentId::as_str), Some("pay_c"));
    assert_eq!(hold.intent.amount_capturable, hold.intent.amount);
    let refunded = seen
        .iter()
        .find_map(|e| match e {
            GatewayEvent::ChargeRefunded(e) => Some(e),
            _ => None,
        })
        .expect("a charge.refunded event");
    assert_eq!(
        refunded.payment_reference.as_deref(),
        Some(paid.reference.as_str())
    );
    assert_eq!(
        refunded.amount_refunded,
        Money::from_minor(1_000, Currency::EUR)
    );
    assert!(!refunded.fully_refunded);
    assert!(
        seen.iter()
            .any(|e| matches!(e, GatewayEvent::Ignored { event_type, .. } if event_type == "customer.created"))
    );
}

#[tokio::test]
async fn a_finished_card_setup_names_the_customer_and_the_card() {
    let (fake, gateway, customer, _) = setup().await;
    let setup = gateway
        .start_card_setup(Some(ACCOUNT.into()), &customer, "pay_s:setup")
        .await
        .expect("started");
    let mut object = fake.object(Some(ACCOUNT), &setup.reference).expect("seti");
    // What the hosted page does: confirm with a card.
    object["status"] = "succeeded".into();
    object["payment_method"] = "pm_123".into();
    let (payload, signature) = fake.signed_connect_event(ACCOUNT, "setup_intent.succeeded", object);
    match verify_event(&payload, &signature, fake.webhook_secret(), now(&fake)) {
        Ok(GatewayEvent::CardSetupSucceeded(e)) => {
            assert_eq!(e.setup, setup.reference);
            assert_eq!(e.customer.as_deref(), Some(customer.as_str()));
            assert_eq!(e.payment_method.as_deref(), Some("pm_123"));
        }
        other => panic!("{other:?}"),
    }
}
