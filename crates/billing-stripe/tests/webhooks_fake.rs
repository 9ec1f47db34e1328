//! Webhook deliveries as the fake Stripe signs them, around objects it really made.

use std::time::Duration;

use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    EventSubject, GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence,
    RefundRequest, WebhookVerifier,
};
use billing_stripe::webhooks::{GatewayEvent, WebhookError, verify_event};
use billing_stripe::{EmptyWebhookSecret, StripeConfig, StripeGateway, StripeWebhooks};
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
        presence: Presence::OffSession,
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

/// Every event the fake emitted, verified as delivered and read in the core's terms:
/// `(type, subject, the adapter's reading)`.
fn delivered(fake: &FakeStripe) -> Vec<(String, EventSubject, GatewayEvent)> {
    fake.events()
        .into_iter()
        .filter(|e| e["account"] == ACCOUNT)
        .map(|emitted| {
            let payload = emitted.to_string();
            // Signed on the fake's clock, which these tests move on.
            let signature = fake.sign_at(&payload, fake.now());
            let event = verify_event(&payload, &signature, fake.webhook_secret(), now(fake))
                .unwrap_or_else(|e| panic!("{e}: {payload}"));
            let core = event.to_core();
            assert_eq!(core.account.as_deref(), Some(ACCOUNT));
            (core.event_type, core.subject, event)
        })
        .collect()
}

fn subjects_of(
    events: &[(String, EventSubject, GatewayEvent)],
    event_type: &str,
) -> Vec<EventSubject> {
    events
        .iter()
        .filter(|(t, _, _)| t == event_type)
        .map(|(_, s, _)| s.clone())
        .collect()
}

#[tokio::test]
async fn changes_made_at_stripe_reach_the_core_named() {
    let (fake, gateway, customer, pm) = setup().await;
    let pid = |id: &str| PaymentId::new(id).expect("id");
    let paid = gateway
        .charge(&request("pay_a", &customer, &pm))
        .await
        .expect("charged");
    gateway
        .refund(&RefundRequest {
            account: Some(ACCOUNT.into()),
            payment_reference: paid.reference.clone(),
            refund: pid("pay_r"),
            idempotency_key: "pay_r:attempt".into(),
            amount: Money::from_minor(300, Currency::EUR),
            reason: None,
        })
        .await
        .expect("refunded");
    fake.refund_in_dashboard(Some(ACCOUNT), &paid.reference, Some(400))
        .expect("refunded in the dashboard");
    let captured = gateway
        .authorize(&request("pay_h", &customer, &pm))
        .await
        .expect("held");
    fake.capture_in_dashboard(Some(ACCOUNT), &captured.reference, None, true)
        .expect("captured in the dashboard");
    let canceled = gateway
        .authorize(&request("pay_c", &customer, &pm))
        .await
        .expect("held");
    fake.cancel_in_dashboard(Some(ACCOUNT), &canceled.reference)
        .expect("canceled in the dashboard");
    let disputed = gateway
        .charge(&request("pay_d", &customer, &pm))
        .await
        .expect("charged");
    let dispute = fake
        .open_dispute(Some(ACCOUNT), &disputed.reference, None, None)
        .expect("disputed");
    fake.close_dispute(Some(ACCOUNT), dispute["id"].as_str().expect("id"), false)
        .expect("lost");
    let expiring = gateway
        .authorize(&request("pay_e", &customer, &pm))
        .await
        .expect("held");
    fake.advance_clock(std::time::Duration::from_secs(8 * 24 * 3600));

    let events = delivered(&fake);
    assert!(
        subjects_of(&events, "payment_intent.succeeded")
            .contains(&EventSubject::Payment(pid("pay_a")))
    );
    let refunds = subjects_of(&events, "refund.created");
    assert_eq!(
        refunds,
        vec![
            EventSubject::RefundsOf(pid("pay_r")),
            EventSubject::GatewayPayment(paid.reference.clone()),
        ],
        "ours by our refund id; the dashboard's by the payment at Stripe"
    );
    assert!(
        subjects_of(&events, "charge.refunded")
            .iter()
            .all(|s| *s == EventSubject::RefundsOf(pid("pay_a")))
    );
    assert_eq!(
        subjects_of(&events, "charge.captured"),
        vec![EventSubject::Payment(pid("pay_h"))]
    );
    let canceled_subjects = subjects_of(&events, "payment_intent.canceled");
    assert!(canceled_subjects.contains(&EventSubject::Payment(pid("pay_c"))));
    assert!(canceled_subjects.contains(&EventSubject::Payment(pid("pay_e"))));
    assert_eq!(
        subjects_of(&events, "charge.expired"),
        vec![EventSubject::Payment(pid("pay_e"))]
    );
    let expired = events
        .iter()
        .find_map(|(_, _, e)| match e {
            GatewayEvent::PaymentCanceled(i) if i.payment == Some(pid("pay_e")) => Some(i),
            _ => None,
        })
        .expect("the expiry's cancellation");
    assert_eq!(expired.intent.status, GatewayStatus::Expired);
    assert_eq!(expired.intent.reference, expiring.reference);
    for event_type in [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ] {
        assert_eq!(
            subjects_of(&events, event_type),
            vec![EventSubject::GatewayPayment(disputed.reference.clone())],
            "{event_type}"
        );
    }
}

#[tokio::test]
async fn the_verifier_refuses_an_empty_secret_and_checks_deliveries() {
    assert_eq!(StripeWebhooks::new("").map(|_| ()), Err(EmptyWebhookSecret));
    let (fake, gateway, customer, pm) = setup().await;
    let verifier = StripeWebhooks::new(fake.webhook_secret()).expect("a secret");
    let paid = gateway
        .charge(&request("pay_v", &customer, &pm))
        .await
        .expect("charged");
    let object = fake.object(Some(ACCOUNT), &paid.reference).expect("pi");
    let (payload, signature) =
        fake.signed_connect_event(ACCOUNT, "payment_intent.succeeded", object);
    let event = verifier
        .verify(payload.as_bytes(), &signature)
        .expect("verified");
    assert_eq!(
        event.subject,
        EventSubject::Payment(PaymentId::new("pay_v").expect("id"))
    );
    assert!(verifier.verify(b"{}", &signature).is_err());
}
