//! The signature check and the reading of every event kind into the core's terms.

use billing_core::ids::PaymentId;
use billing_core::money::{Currency, Money};
use billing_core::ports::{DisputeStatus, EventSubject, GatewayStatus};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::*;

const SECRET: &str = "whsec_test_secret";

fn sign(payload: &str, secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("valid")
}

const T: i64 = 1_768_467_600;

fn event(event_type: &str, object: Value) -> String {
    json!({
        "id": "evt_1", "object": "event", "type": event_type, "created": T,
        "livemode": false, "account": "acct_venue", "api_version": "2026-09-30.endive",
        "data": { "object": object },
    })
    .to_string()
}

fn intent(status: &str) -> Value {
    json!({
        "id": "pi_1", "object": "payment_intent", "amount": 21550, "currency": "usd",
        "amount_received": 0, "amount_capturable": 21550, "status": status,
        "metadata": { "payment_id": "pay_000001" }, "last_payment_error": null,
    })
}

fn header(payload: &str) -> String {
    format!("t={T},v1={}", sign(payload, SECRET, T))
}

#[test]
fn a_valid_signature_verifies() {
    let payload = event(
        "payment_intent.amount_capturable_updated",
        intent("requires_capture"),
    );
    let verified = verify_event(&payload, &header(&payload), SECRET, at(T + 10)).expect("valid");
    let GatewayEvent::HoldUpdated(e) = &verified else {
        panic!("{verified:?}");
    };
    assert_eq!(e.event.account.as_deref(), Some("acct_venue"));
    assert_eq!(
        e.payment.as_ref().map(PaymentId::as_str),
        Some("pay_000001")
    );
    assert_eq!(e.intent.status, GatewayStatus::RequiresCapture);
    assert_eq!(
        e.intent.amount_capturable,
        Money::from_minor(21550, Currency::USD)
    );
    // Bytes or text alike.
    assert!(verify_event(payload.as_bytes(), &header(&payload), SECRET, at(T)).is_ok());
}

#[test]
fn a_tampered_body_is_refused() {
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    let signature = header(&payload);
    let tampered = payload.replace("21550", "1");
    assert_eq!(
        verify_event(&tampered, &signature, SECRET, at(T)),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn another_secret_is_refused() {
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    assert_eq!(
        verify_event(&payload, &header(&payload), "whsec_other", at(T)),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn a_stale_or_future_timestamp_is_refused() {
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    assert_eq!(
        verify_event(&payload, &header(&payload), SECRET, at(T + 301)),
        Err(WebhookError::StaleTimestamp { age: 301 })
    );
    assert_eq!(
        verify_event(&payload, &header(&payload), SECRET, at(T - 301)),
        Err(WebhookError::StaleTimestamp { age: -301 })
    );
    assert!(verify_event(&payload, &header(&payload), SECRET, at(T + 300)).is_ok());
}

#[test]
fn a_header_without_v1_or_timestamp_is_refused() {
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    let v0_only = format!("t={T},v0={}", sign(&payload, SECRET, T));
    assert_eq!(
        verify_event(&payload, &v0_only, SECRET, at(T)),
        Err(WebhookError::MissingSignature)
    );
    let no_t = format!("v1={}", sign(&payload, SECRET, T));
    assert_eq!(
        verify_event(&payload, &no_t, SECRET, at(T)),
        Err(WebhookError::MissingTimestamp)
    );
    assert_eq!(
        verify_event(&payload, "garbage", SECRET, at(T)),
        Err(WebhookError::MissingTimestamp)
    );
}

#[test]
fn any_of_several_v1_signatures_may_match() {
    // While a secret is rolled, Stripe signs with the old and the new one.
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    let header = format!(
        "t={T},v1={},v1=nothex,v1={},v0=abc",
        sign(&payload, "whsec_old", T),
        sign(&payload, SECRET, T)
    );
    assert!(verify_event(&payload, &header, SECRET, at(T)).is_ok());
    assert!(verify_event(&payload, &header, "whsec_old", at(T)).is_ok());
    assert_eq!(
        verify_event(&payload, &header, "whsec_third", at(T)),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn event_types_are_read() {
    let check = |event_type: &str, object: Value| {
        let payload = event(event_type, object);
        verify_event(&payload, &header(&payload), SECRET, at(T)).expect("valid")
    };
    let mut failed = intent("requires_payment_method");
    failed["last_payment_error"] = json!({
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds."
    });
    match check("payment_intent.payment_failed", failed) {
        GatewayEvent::PaymentFailed(e) => match e.intent.status {
            GatewayStatus::Failed(f) => {
                assert_eq!(f.decline_code.as_deref(), Some("insufficient_funds"));
                assert!(f.message.contains("insufficient funds"), "{}", f.message);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        check("payment_intent.succeeded", intent("succeeded")),
        GatewayEvent::PaymentSucceeded(_)
    ));
    assert!(matches!(
        check("payment_intent.canceled", intent("canceled")),
        GatewayEvent::PaymentCanceled(e) if e.intent.status == GatewayStatus::Canceled
    ));
    assert!(matches!(
        check("payment_intent.requires_action", intent("requires_action")),
        GatewayEvent::PaymentRequiresAction(e) if e.intent.status == GatewayStatus::RequiresAction
    ));
    let charge = json!({
        "id": "ch_1", "object": "charge", "amount": 10000, "amount_refunded": 3000,
        "currency": "jpy", "refunded": false, "payment_intent": "pi_1",
        "metadata": { "payment_id": "pay_000002" },
    });
    match check("charge.refunded", charge) {
        GatewayEvent::ChargeRefunded(e) => {
            assert_eq!(
                e.payment.as_ref().map(PaymentId::as_str),
                Some("pay_000002")
            );
            assert_eq!(e.payment_reference.as_deref(), Some("pi_1"));
            assert_eq!(e.amount_refunded, Money::from_minor(3000, Currency::JPY));
            assert!(!e.fully_refunded);
        }
        other => panic!("{other:?}"),
    }
    let setup = json!({
        "id": "seti_1", "object": "setup_intent", "status": "succeeded",
        "customer": "cus_1", "payment_method": { "id": "pm_1", "object": "payment_method" },
    });
    match check("setup_intent.succeeded", setup) {
        GatewayEvent::CardSetupSucceeded(e) => {
            assert_eq!(
                (
                    e.setup.as_str(),
                    e.customer.as_deref(),
                    e.payment_method.as_deref()
                ),
                ("seti_1", Some("cus_1"), Some("pm_1"))
            );
            assert_eq!(e.event.id, "evt_1");
        }
        other => panic!("{other:?}"),
    }
    let ignored = check(
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
    );
    assert!(matches!(
        &ignored,
        GatewayEvent::Ignored { event_type, .. } if event_type == "customer.created"
    ));
    assert_eq!(ignored.payment(), None);
    assert_eq!(ignored.info().created, at(T));
}

#[test]
fn a_signed_payload_that_is_not_an_event_is_refused() {
    let payload = "{\"hello\": 1}";
    assert!(matches!(
        verify_event(payload, &header(payload), SECRET, at(T)),
        Err(WebhookError::BadPayload(_))
    ));
}

/// The core's view of an event of `event_type` about `object`, as a delivery reads it.
fn core_event(event_type: &str, object: Value) -> billing_core::ports::GatewayEvent {
    let payload = event(event_type, object);
    verify_event(&payload, &header(&payload), SECRET, at(T))
        .expect("valid")
        .to_core()
}

fn pid(id: &str) -> PaymentId {
    PaymentId::new(id).expect("id")
}

fn without_metadata(mut object: Value) -> Value {
    object["metadata"] = json!({});
    object
}

#[test]
fn intent_events_name_our_payment_or_nothing() {
    for (event_type, status) in [
        ("payment_intent.succeeded", "succeeded"),
        ("payment_intent.payment_failed", "requires_payment_method"),
        ("payment_intent.requires_action", "requires_action"),
        (
            "payment_intent.amount_capturable_updated",
            "requires_capture",
        ),
        ("payment_intent.canceled", "canceled"),
    ] {
        let ours = core_event(event_type, intent(status));
        assert_eq!(
            ours.subject,
            EventSubject::Payment(pid("pay_000001")),
            "{event_type}"
        );
        assert_eq!(ours.event_type, event_type);
        assert_eq!(ours.account.as_deref(), Some("acct_venue"));
        assert_eq!(ours.id, "evt_1");
        assert_eq!(ours.business, None);
    }
    // Another platform's payment on the same account is nothing of ours...
    let foreign = core_event(
        "payment_intent.succeeded",
        without_metadata(intent("succeeded")),
    );
    assert_eq!(foreign.subject, EventSubject::Other);
    // ...but a cancellation without our metadata is looked up at Stripe.
    let canceled = core_event(
        "payment_intent.canceled",
        without_metadata(intent("canceled")),
    );
    assert_eq!(
        canceled.subject,
        EventSubject::GatewayPayment("pi_1".into())
    );
}

#[test]
fn a_hold_canceled_by_stripe_reads_as_expired() {
    let mut expired = intent("canceled");
    expired["cancellation_reason"] = json!("automatic");
    expired["capture_method"] = json!("manual");
    let payload = event("payment_intent.canceled", expired.clone());
    match verify_event(&payload, &header(&payload), SECRET, at(T)) {
        Ok(GatewayEvent::PaymentCanceled(e)) => assert_eq!(e.intent.status, GatewayStatus::Expired),
        other => panic!("{other:?}"),
    }
    // Canceled by someone: canceled.
    expired["cancellation_reason"] = json!("requested_by_customer");
    let payload = event("payment_intent.canceled", expired);
    match verify_event(&payload, &header(&payload), SECRET, at(T)) {
        Ok(GatewayEvent::PaymentCanceled(e)) => {
            assert_eq!(e.intent.status, GatewayStatus::Canceled);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_off_session_authentication_demand_is_a_decline_suggesting_a_link() {
    let mut failed = intent("requires_payment_method");
    failed["last_payment_error"] = json!({
        "type": "card_error", "code": "authentication_required",
        "decline_code": "authentication_required",
        "message": "Your card was declined. This transaction requires authentication."
    });
    let payload = event("payment_intent.payment_failed", failed);
    match verify_event(&payload, &header(&payload), SECRET, at(T)) {
        Ok(GatewayEvent::PaymentFailed(e)) => match e.intent.status {
            GatewayStatus::Failed(f) => assert!(f.suggests_payment_link(), "{f:?}"),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn charge(metadata: Value) -> Value {
    json!({
        "id": "ch_1", "object": "charge", "amount": 10000, "amount_refunded": 3000,
        "currency": "eur", "refunded": false, "payment_intent": "pi_1", "metadata": metadata,
    })
}

#[test]
fn charge_events_name_our_payment_or_the_stripe_payment() {
    let ours = json!({ "payment_id": "pay_000002" });
    assert_eq!(
        core_event("charge.refunded", charge(ours.clone())).subject,
        EventSubject::RefundsOf(pid("pay_000002"))
    );
    assert_eq!(
        core_event("charge.refunded", charge(json!({}))).subject,
        EventSubject::GatewayPayment("pi_1".into())
    );
    for event_type in ["charge.captured", "charge.expired"] {
        assert_eq!(
            core_event(event_type, charge(ours.clone())).subject,
            EventSubject::Payment(pid("pay_000002")),
            "{event_type}"
        );
        assert_eq!(
            core_event(event_type, charge(json!({}))).subject,
            EventSubject::GatewayPayment("pi_1".into()),
            "{event_type}"
        );
    }
    // A charge of no PaymentIntent (a legacy charge) is nothing of ours.
    let mut legacy = charge(json!({}));
    legacy["payment_intent"] = Value::Null;
    assert_eq!(
        core_event("charge.captured", legacy).subject,
        EventSubject::Other
    );
}

fn refund(metadata: Value) -> Value {
    json!({
        "id": "re_1", "object": "refund", "amount": 2500, "currency": "eur",
        "status": "succeeded", "payment_intent": "pi_1", "charge": "ch_1", "metadata": metadata,
    })
}

#[test]
fn refund_events_name_our_refund_or_the_stripe_payment() {
    for event_type in [
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refund.updated",
    ] {
        assert_eq!(
            core_event(event_type, refund(json!({ "refund_id": "pay_000003" }))).subject,
            EventSubject::RefundsOf(pid("pay_000003")),
            "{event_type}"
        );
        // Made in the Dashboard: no metadata of ours.
        assert_eq!(
            core_event(event_type, refund(json!({}))).subject,
            EventSubject::GatewayPayment("pi_1".into()),
            "{event_type}"
        );
    }
    let payload = event("refund.created", refund(json!({})));
    match verify_event(&payload, &header(&payload), SECRET, at(T)) {
        Ok(GatewayEvent::RefundChanged(e)) => {
            assert_eq!(e.reference, "re_1");
            assert_eq!(e.refund, None);
            assert_eq!(e.amount, Money::from_minor(2500, Currency::EUR));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dispute_events_name_the_stripe_payment() {
    let dispute = |status: &str| {
        json!({
            "id": "dp_1", "object": "dispute", "amount": 10000, "currency": "eur",
            "charge": "ch_1", "payment_intent": "pi_1", "status": status,
            "reason": "fraudulent", "metadata": {},
        })
    };
    for (event_type, status, read) in [
        (
            "charge.dispute.created",
            "needs_response",
            DisputeStatus::Open,
        ),
        (
            "charge.dispute.funds_withdrawn",
            "needs_response",
            DisputeStatus::Open,
        ),
        (
            "charge.dispute.updated",
            "under_review",
            DisputeStatus::Open,
        ),
        ("charge.dispute.closed", "lost", DisputeStatus::Lost),
        ("charge.dispute.funds_reinstated", "won", DisputeStatus::Won),
    ] {
        assert_eq!(
            core_event(event_type, dispute(status)).subject,
            EventSubject::GatewayPayment("pi_1".into()),
            "{event_type}"
        );
        let payload = event(event_type, dispute(status));
        match verify_event(&payload, &header(&payload), SECRET, at(T)) {
            Ok(GatewayEvent::Dispute(e)) => {
                assert_eq!(e.status, read, "{event_type}");
                assert_eq!(e.charge.as_deref(), Some("ch_1"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn other_events_are_nothing_of_ours() {
    let setup = json!({
        "id": "seti_1", "object": "setup_intent", "status": "succeeded",
        "customer": "cus_1", "payment_method": "pm_1",
    });
    assert_eq!(
        core_event("setup_intent.succeeded", setup).subject,
        EventSubject::Other
    );
    let other = core_event(
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
    );
    assert_eq!(other.subject, EventSubject::Other);
    assert_eq!(other.event_type, "customer.created");
}

#[test]
fn an_empty_signing_secret_is_refused() {
    assert_eq!(StripeWebhooks::new("").map(|_| ()), Err(EmptyWebhookSecret));
    assert_eq!(
        StripeWebhooks::new("  \n").map(|_| ()),
        Err(EmptyWebhookSecret)
    );
    let message = EmptyWebhookSecret.to_string();
    assert!(message.contains("whsec_"), "{message}");
    let verifier = StripeWebhooks::new(SECRET).expect("a secret");
    assert!(!format!("{verifier:?}").contains("test_secret"));
    // Even called directly, the check never accepts an empty key.
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    let forged = format!("t={T},v1={}", sign(&payload, "", T));
    assert_eq!(
        verify_event(&payload, &forged, "", at(T)),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn the_verifier_hands_the_core_its_event() {
    use billing_core::ports::WebhookVerifier;
    let verifier = StripeWebhooks::new(SECRET).expect("a secret");
    let now = DateTime::<Utc>::from(std::time::SystemTime::now()).timestamp();
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    let header = format!("t={now},v1={}", sign(&payload, SECRET, now));
    let event = verifier
        .verify(payload.as_bytes(), &header)
        .expect("verified");
    assert_eq!(event.subject, EventSubject::Payment(pid("pay_000001")));
    assert!(verifier.verify(payload.as_bytes(), "t=1,v1=00").is_err());
}

#[test]
fn a_connect_endpoints_secret_is_taken_beside_the_platforms() {
    use billing_core::ports::WebhookVerifier;
    let verifier = StripeWebhooks::new(SECRET)
        .and_then(|v| v.with_connect_secret("whsec_connect"))
        .expect("secrets");
    assert_eq!(
        StripeWebhooks::new(SECRET)
            .and_then(|v| v.with_connect_secret(" "))
            .map(|_| ()),
        Err(EmptyWebhookSecret)
    );
    let now = DateTime::<Utc>::from(std::time::SystemTime::now()).timestamp();
    let payload = event("payment_intent.succeeded", intent("succeeded"));
    for secret in [SECRET, "whsec_connect"] {
        let header = format!("t={now},v1={}", sign(&payload, secret, now));
        assert!(
            verifier.verify(payload.as_bytes(), &header).is_ok(),
            "{secret}"
        );
    }
    let forged = format!("t={now},v1={}", sign(&payload, "whsec_other", now));
    let refused = verifier.verify(payload.as_bytes(), &forged).unwrap_err();
    assert!(refused.0.contains("no v1 signature"), "{}", refused.0);
    // A stale delivery is refused as stale, whichever secret signed it.
    let old = now - 3_600;
    let stale = format!("t={old},v1={}", sign(&payload, "whsec_connect", old));
    let refused = verifier.verify(payload.as_bytes(), &stale).unwrap_err();
    assert!(refused.0.contains("signed"), "{}", refused.0);
}
