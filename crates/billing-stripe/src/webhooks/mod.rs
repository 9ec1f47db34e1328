//! Stripe's webhook deliveries: the signature checked, the event read into a [`GatewayEvent`].
//!
//! Stripe signs `"{timestamp}.{raw body}"` with HMAC-SHA256 under the endpoint's secret and
//! sends `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...]` (several `v1` while a
//! secret is being rolled). The check is made here by hand, over the raw bytes, with the
//! time passed in, so that a test (or a replay tool) controls the clock; the payload is read
//! with `serde_json` only after it verified, and only the few fields the core needs are read,
//! so a new API version's extra fields cannot break it.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::payment::Failure;
use billing_core::ports::{GatewayPayment, GatewayStatus};

use crate::amounts;
use crate::convert::business_failure;
use crate::gateway::PAYMENT_ID_KEY;

/// How far a signature's timestamp may be from now, in seconds (Stripe's libraries: 300).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a delivery was refused. None of these is worth retrying with the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The header has no `t=` timestamp, or not a number.
    #[error("the Stripe-Signature header has no valid timestamp")]
    MissingTimestamp,
    /// The header has no `v1=` signature.
    #[error("the Stripe-Signature header has no v1 signature")]
    MissingSignature,
    /// No `v1` signature matches the payload under the secret (tampered, or another secret).
    #[error("no v1 signature matches the payload")]
    BadSignature,
    /// Signed too long ago (or in the future): possibly a replayed delivery.
    #[error("the event was signed {age} s from now, more than the {TOLERANCE_SECONDS} s tolerated")]
    StaleTimestamp {
        /// Seconds between the signature's timestamp and now (negative: in the future).
        age: i64,
    },
    /// Signed correctly, but not an event this adapter can read.
    #[error("the payload is not a readable Stripe event: {0}")]
    BadPayload(String),
}

/// What every event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    /// Stripe's event id (`evt_...`): deliveries can repeat, so handlers dedupe on it.
    pub id: String,
    /// The connected account the event happened on (Connect), `None` for the platform.
    pub account: Option<String>,
    /// When Stripe made the event.
    pub created: DateTime<Utc>,
    /// Live or test mode.
    pub livemode: bool,
}

/// An event about a PaymentIntent (a charge or a hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentEvent {
    /// The event.
    pub event: EventInfo,
    /// Our payment id, from `metadata[payment_id]`; `None` for an intent we did not make.
    pub payment: Option<PaymentId>,
    /// The intent as the event shows it (`hold_expires_at` is not in intent events).
    pub intent: GatewayPayment,
}

/// A charge refunded, in part or in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEvent {
    /// The event.
    pub event: EventInfo,
    /// Our payment id, from the charge's `metadata[payment_id]` (Stripe copies the intent's
    /// metadata onto its charges).
    pub payment: Option<PaymentId>,
    /// The PaymentIntent refunded (`pi_...`).
    pub payment_reference: Option<String>,
    /// The charge (`ch_...`).
    pub charge: String,
    /// Everything refunded on the charge so far.
    pub amount_refunded: Money,
    /// True when the whole charge is refunded.
    pub fully_refunded: bool,
}

/// A card saved through a SetupIntent (the hosted card page finished).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupEvent {
    /// The event.
    pub event: EventInfo,
    /// The SetupIntent (`seti_...`).
    pub setup: String,
    /// The customer the card was saved for (`cus_...`).
    pub customer: Option<String>,
    /// The saved card (`pm_...`).
    pub payment_method: Option<String>,
}

/// A verified Stripe event, in the terms the billing engine acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEvent {
    /// `payment_intent.succeeded`: the money moved (a charge, or a hold captured).
    PaymentSucceeded(IntentEvent),
    /// `payment_intent.payment_failed`: declined; the intent's status carries the failure.
    PaymentFailed(IntentEvent),
    /// `payment_intent.canceled`: a hold released (by us, or by Stripe when it expired).
    PaymentCanceled(IntentEvent),
    /// `payment_intent.requires_action`: the customer must authenticate.
    PaymentRequiresAction(IntentEvent),
    /// `payment_intent.amount_capturable_updated`: a hold was placed (or changed).
    HoldUpdated(IntentEvent),
    /// `charge.refunded`.
    ChargeRefunded(RefundEvent),
    /// `setup_intent.succeeded`.
    CardSetupSucceeded(SetupEvent),
    /// Any other event type: acknowledged and not acted on.
    Ignored {
        /// The event.
        event: EventInfo,
        /// Its type, e.g. `customer.created`.
        event_type: String,
    },
}

impl GatewayEvent {
    /// What every event carries.
    pub fn info(&self) -> &EventInfo {
        match self {
            GatewayEvent::PaymentSucceeded(e)
            | GatewayEvent::PaymentFailed(e)
            | GatewayEvent::PaymentCanceled(e)
            | GatewayEvent::PaymentRequiresAction(e)
            | GatewayEvent::HoldUpdated(e) => &e.event,
            GatewayEvent::ChargeRefunded(e) => &e.event,
            GatewayEvent::CardSetupSucceeded(e) => &e.event,
            GatewayEvent::Ignored { event, .. } => event,
        }
    }

    /// Our payment id, for the events about one of our payments.
    pub fn payment(&self) -> Option<&PaymentId> {
        match self {
            GatewayEvent::PaymentSucceeded(e)
            | GatewayEvent::PaymentFailed(e)
            | GatewayEvent::PaymentCanceled(e)
            | GatewayEvent::PaymentRequiresAction(e)
            | GatewayEvent::HoldUpdated(e) => e.payment.as_ref(),
            GatewayEvent::ChargeRefunded(e) => e.payment.as_ref(),
            GatewayEvent::CardSetupSucceeded(_) | GatewayEvent::Ignored { .. } => None,
        }
    }
}

/// Checks a delivery's `Stripe-Signature` header against the raw body and the endpoint's
/// secret (`whsec_...`) at `now`, and reads the event.
///
/// # Errors
/// A [`WebhookError`] when the header is malformed, no `v1` signature matches, the
/// timestamp is more than [`TOLERANCE_SECONDS`] from `now`, or the payload is not an event.
pub fn verify_event(
    payload: impl AsRef<[u8]>,
    signature_header: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<GatewayEvent, WebhookError> {
    let payload = payload.as_ref();
    verify_signature(payload, signature_header, secret, now)?;
    parse_event(payload)
}

/// The signature check alone.
///
/// # Errors
/// As [`verify_event`], short of reading the payload.
pub fn verify_signature(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in signature_header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => signatures.push(value),
            // `v0` is Stripe's test-mode scheme with a fake secret: never trusted.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MissingTimestamp)?;
    if signatures.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebhookError::BadSignature)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    // `verify_slice` compares in constant time; a signature that is not hex cannot match.
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    let age = now.timestamp() - timestamp;
    if age.abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::StaleTimestamp { age });
    }
    Ok(())
}

fn bad(message: impl Into<String>) -> WebhookError {
    WebhookError::BadPayload(message.into())
}

fn text(value: &Value, field: &str) -> Result<String, WebhookError> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("no `{field}`")))
}

fn integer(value: &Value, field: &str) -> Result<i64, WebhookError> {
    value[field]
        .as_i64()
        .ok_or_else(|| bad(format!("no integer `{field}`")))
}

/// The id of a field that is either an id or an expanded object.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn our_payment(object: &Value) -> Option<PaymentId> {
    object["metadata"][PAYMENT_ID_KEY]
        .as_str()
        .and_then(|id| PaymentId::new(id).ok())
}

fn amount(object: &Value, field: &str, currency: &str) -> Result<Money, WebhookError> {
    amounts::from_stripe_code(integer(object, field)?, currency).map_err(|e| bad(e.to_string()))
}

/// The port's status of an intent in JSON, as `convert::status_of` reads the typed one.
fn intent_status(object: &Value) -> GatewayStatus {
    let error = &object["last_payment_error"];
    match object["status"].as_str().unwrap_or_default() {
        "succeeded" => GatewayStatus::Succeeded,
        "requires_capture" => GatewayStatus::RequiresCapture,
        "requires_action" => GatewayStatus::RequiresAction,
        "canceled" => GatewayStatus::Canceled,
        "requires_payment_method" if error.is_object() => {
            let code = error["code"].as_str().unwrap_or("card_declined");
            let decline_code = error["decline_code"].as_str();
            if code == "authentication_required" || decline_code == Some("authentication_required")
            {
                GatewayStatus::RequiresAction
            } else {
                GatewayStatus::Failed(business_failure(code, decline_code))
            }
        }
        "requires_payment_method" => GatewayStatus::Failed(Failure {
            code: "payment_incomplete".into(),
            decline_code: None,
            message: "The payment was not completed: it has no card to charge.".into(),
        }),
        _ => GatewayStatus::Processing,
    }
}

fn intent_event(event: EventInfo, object: &Value) -> Result<IntentEvent, WebhookError> {
    let currency = text(object, "currency")?;
    Ok(IntentEvent {
        event,
        payment: our_payment(object),
        intent: GatewayPayment {
            reference: text(object, "id")?,
            status: intent_status(object),
            amount: amount(object, "amount", &currency)?,
            amount_received: amount(object, "amount_received", &currency)?,
            amount_capturable: amount(object, "amount_capturable", &currency)?,
            hold_expires_at: None,
        },
    })
}

/// Reads a verified payload.
fn parse_event(payload: &[u8]) -> Result<GatewayEvent, WebhookError> {
    let root: Value = serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?;
    let event_type = text(&root, "type")?;
    let event = EventInfo {
        id: text(&root, "id")?,
        account: root["account"].as_str().map(str::to_owned),
        created: DateTime::from_timestamp(integer(&root, "created")?, 0)
            .ok_or_else(|| bad("`created` out of range"))?,
        livemode: root["livemode"].as_bool().unwrap_or(false),
    };
    let object = &root["data"]["object"];
    if !object.is_object() {
        return Err(bad("no `data.object`"));
    }
    Ok(match event_type.as_str() {
        "payment_intent.succeeded" => GatewayEvent::PaymentSucceeded(intent_event(event, object)?),
        "payment_intent.payment_failed" => {
            GatewayEvent::PaymentFailed(intent_event(event, object)?)
        }
        "payment_intent.canceled" => GatewayEvent::PaymentCanceled(intent_event(event, object)?),
        "payment_intent.requires_action" => {
            GatewayEvent::PaymentRequiresAction(intent_event(event, object)?)
        }
        "payment_intent.amount_capturable_updated" => {
            GatewayEvent::HoldUpdated(intent_event(event, object)?)
        }
        "charge.refunded" => {
            let currency = text(object, "currency")?;
            GatewayEvent::ChargeRefunded(RefundEvent {
                event,
                payment: our_payment(object),
                payment_reference: id_of(&object["payment_intent"]),
                charge: text(object, "id")?,
                amount_refunded: amount(object, "amount_refunded", &currency)?,
                fully_refunded: object["refunded"].as_bool().unwrap_or(false),
            })
        }
        "setup_intent.succeeded" => GatewayEvent::CardSetupSucceeded(SetupEvent {
            event,
            setup: text(object, "id")?,
            customer: id_of(&object["customer"]),
            payment_method: id_of(&object["payment_method"]),
        }),
        _ => GatewayEvent::Ignored { event, event_type },
    })
}

impl GatewayEvent {
    /// The event in the core's terms: which of our payments it is about, if any.
    pub fn to_core(&self) -> billing_core::ports::GatewayEvent {
        use billing_core::ports::EventSubject;
        let info = self.info();
        let event_type = match self {
            GatewayEvent::PaymentSucceeded(_) => "payment_intent.succeeded",
            GatewayEvent::PaymentFailed(_) => "payment_intent.payment_failed",
            GatewayEvent::PaymentCanceled(_) => "payment_intent.canceled",
            GatewayEvent::PaymentRequiresAction(_) => "payment_intent.requires_action",
            GatewayEvent::HoldUpdated(_) => "payment_intent.amount_capturable_updated",
            GatewayEvent::ChargeRefunded(_) => "charge.refunded",
            GatewayEvent::CardSetupSucceeded(_) => "setup_intent.succeeded",
            GatewayEvent::Ignored { event_type, .. } => event_type.as_str(),
        };
        let subject = match (self, self.payment()) {
            (GatewayEvent::ChargeRefunded(_), Some(payment)) => {
                EventSubject::RefundsOf(payment.clone())
            }
            (GatewayEvent::CardSetupSucceeded(_) | GatewayEvent::Ignored { .. }, _) | (_, None) => {
                EventSubject::Other
            }
            (_, Some(payment)) => EventSubject::Payment(payment.clone()),
        };
        billing_core::ports::GatewayEvent {
            id: info.id.clone(),
            event_type: event_type.to_owned(),
            account: info.account.clone(),
            business: None,
            subject,
        }
    }
}

/// Stripe's webhook deliveries, checked with the endpoint's secret (`whsec_...`) against the
/// wall clock: the core's [`WebhookVerifier`](billing_core::ports::WebhookVerifier).
pub struct StripeWebhooks {
    secret: String,
}

impl std::fmt::Debug for StripeWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeWebhooks { secret: whsec_…redacted }")
    }
}

impl StripeWebhooks {
    /// A verifier with the endpoint's secret.
    pub fn new(secret: impl Into<String>) -> Self {
        StripeWebhooks {
            secret: secret.into(),
        }
    }
}

impl billing_core::ports::WebhookVerifier for StripeWebhooks {
    fn verify(
        &self,
        payload: &[u8],
        signature: &str,
    ) -> Result<billing_core::ports::GatewayEvent, billing_core::ports::WebhookRejected> {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        verify_event(payload, signature, &self.secret, now)
            .map(|event| event.to_core())
            .map_err(|e| billing_core::ports::WebhookRejected(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::money::Currency;
    use serde_json::json;

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
        let verified =
            verify_event(&payload, &header(&payload), SECRET, at(T + 10)).expect("valid");
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

    #[test]
    fn events_name_the_payments_they_are_about() {
        use billing_core::money::Currency;
        use billing_core::ports::EventSubject;
        let info = EventInfo {
            id: "evt_1".into(),
            account: Some("acct_1".into()),
            created: DateTime::<Utc>::UNIX_EPOCH,
            livemode: false,
        };
        let usd = Money::from_minor(1000, Currency::USD);
        let payment = PaymentId::new("pay_1").expect("id");
        let intent = IntentEvent {
            event: info.clone(),
            payment: Some(payment.clone()),
            intent: GatewayPayment {
                reference: "pi_1".into(),
                status: GatewayStatus::Succeeded,
                amount: usd,
                amount_received: usd,
                amount_capturable: Money::zero(Currency::USD),
                hold_expires_at: None,
            },
        };
        let succeeded = GatewayEvent::PaymentSucceeded(intent.clone()).to_core();
        assert_eq!(succeeded.subject, EventSubject::Payment(payment.clone()));
        assert_eq!(succeeded.account.as_deref(), Some("acct_1"));
        assert_eq!(succeeded.event_type, "payment_intent.succeeded");
        let refunded = GatewayEvent::ChargeRefunded(RefundEvent {
            event: info.clone(),
            payment: Some(payment.clone()),
            payment_reference: Some("pi_1".into()),
            charge: "ch_1".into(),
            amount_refunded: usd,
            fully_refunded: true,
        })
        .to_core();
        assert_eq!(refunded.subject, EventSubject::RefundsOf(payment));
        let foreign = GatewayEvent::HoldUpdated(IntentEvent {
            payment: None,
            ..intent
        })
        .to_core();
        assert_eq!(foreign.subject, EventSubject::Other);
        let other = GatewayEvent::Ignored {
            event: info,
            event_type: "customer.created".into(),
        }
        .to_core();
        assert_eq!(other.subject, EventSubject::Other);
        assert_eq!(other.event_type, "customer.created");
    }
}
