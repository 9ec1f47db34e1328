//! Stripe's events read into the adapter's [`GatewayEvent`], and from there into the core's
//! terms: which of our payments an event is about.
//!
//! Only the few fields the core needs are read, with `serde_json`, so that a new API version's
//! extra fields cannot break it. The same reading serves webhook deliveries and the events
//! listed back from Stripe (`events_since`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use billing_core::connect::AccountState;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::payment::Failure;
use billing_core::ports::{DisputeStatus, EventSubject, GatewayPayment, GatewayStatus};

use super::WebhookError;
use crate::amounts;
use crate::convert::business_failure;
use crate::gateway::{PAYMENT_ID_KEY, REFUND_ID_KEY};

/// What every event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    /// Stripe's event id (`evt_...`): deliveries can repeat, so handlers dedupe on it.
    pub id: String,
    /// Its type (`payment_intent.succeeded`...).
    pub event_type: String,
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

/// A refund made or changed (`refund.created`, `refund.updated`, `refund.failed`,
/// `charge.refund.updated`): ours, or one made in the Dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundChangeEvent {
    /// The event.
    pub event: EventInfo,
    /// The refund (`re_...`).
    pub reference: String,
    /// Our refund id, from `metadata[refund_id]`; `None` for a refund made at Stripe.
    pub refund: Option<PaymentId>,
    /// The PaymentIntent refunded (`pi_...`).
    pub payment_reference: Option<String>,
    /// The refund's amount.
    pub amount: Money,
}

/// A charge captured or expired (`charge.captured`, `charge.expired`): a hold moved at Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeEvent {
    /// The event.
    pub event: EventInfo,
    /// Our payment id, when Stripe copied the intent's metadata onto the charge.
    pub payment: Option<PaymentId>,
    /// The PaymentIntent (`pi_...`).
    pub payment_reference: Option<String>,
    /// The charge (`ch_...`).
    pub charge: String,
}

/// A dispute opened, changed or closed (`charge.dispute.*`). Disputes carry no metadata of
/// ours: the payment is named by Stripe's ids only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeEvent {
    /// The event.
    pub event: EventInfo,
    /// The dispute (`dp_...`).
    pub dispute: String,
    /// The PaymentIntent disputed (`pi_...`).
    pub payment_reference: Option<String>,
    /// The charge disputed (`ch_...`).
    pub charge: Option<String>,
    /// The amount disputed.
    pub amount: Money,
    /// Where it stands.
    pub status: DisputeStatus,
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

/// A connected account changed (`account.updated`, a Connect event): its state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// The event (its `account` is the account itself).
    pub event: EventInfo,
    /// The account as the event shows it.
    pub state: AccountState,
}

/// A verified Stripe event, in the terms the billing engine acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEvent {
    /// `payment_intent.succeeded`: the money moved (a charge, or a hold captured).
    PaymentSucceeded(IntentEvent),
    /// `payment_intent.payment_failed`: declined; the intent's status carries the failure.
    PaymentFailed(IntentEvent),
    /// `payment_intent.canceled`: a hold released (by us, in the Dashboard, or by Stripe when
    /// it expired), or an attempt given up.
    PaymentCanceled(IntentEvent),
    /// `payment_intent.requires_action`: the customer must authenticate.
    PaymentRequiresAction(IntentEvent),
    /// `payment_intent.amount_capturable_updated`: a hold was placed (or changed).
    HoldUpdated(IntentEvent),
    /// `charge.refunded`.
    ChargeRefunded(RefundEvent),
    /// `refund.created`, `refund.updated`, `refund.failed`, `charge.refund.updated`.
    RefundChanged(RefundChangeEvent),
    /// `charge.captured`.
    ChargeCaptured(ChargeEvent),
    /// `charge.expired`: a hold's time ran out.
    ChargeExpired(ChargeEvent),
    /// `charge.dispute.*`.
    Dispute(DisputeEvent),
    /// `setup_intent.succeeded`.
    CardSetupSucceeded(SetupEvent),
    /// `account.updated`.
    AccountUpdated(AccountEvent),
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
            GatewayEvent::RefundChanged(e) => &e.event,
            GatewayEvent::ChargeCaptured(e) | GatewayEvent::ChargeExpired(e) => &e.event,
            GatewayEvent::Dispute(e) => &e.event,
            GatewayEvent::CardSetupSucceeded(e) => &e.event,
            GatewayEvent::AccountUpdated(e) => &e.event,
            GatewayEvent::Ignored { event, .. } => event,
        }
    }

    /// Our payment id, for the events about one of our charges or holds that name it.
    pub fn payment(&self) -> Option<&PaymentId> {
        match self {
            GatewayEvent::PaymentSucceeded(e)
            | GatewayEvent::PaymentFailed(e)
            | GatewayEvent::PaymentCanceled(e)
            | GatewayEvent::PaymentRequiresAction(e)
            | GatewayEvent::HoldUpdated(e) => e.payment.as_ref(),
            GatewayEvent::ChargeRefunded(e) => e.payment.as_ref(),
            GatewayEvent::ChargeCaptured(e) | GatewayEvent::ChargeExpired(e) => e.payment.as_ref(),
            GatewayEvent::RefundChanged(_)
            | GatewayEvent::Dispute(_)
            | GatewayEvent::CardSetupSucceeded(_)
            | GatewayEvent::AccountUpdated(_)
            | GatewayEvent::Ignored { .. } => None,
        }
    }

    /// What the event is about, in the core's terms: one of our payments when the event
    /// names it (by our metadata), else the Stripe payment (`pi_...`) it concerns when
    /// something happened there that may be ours (a dispute, a refund or a cancellation
    /// made in the Dashboard, a charge without our metadata): the core looks the payment up
    /// and its record names ours.
    pub fn subject(&self) -> EventSubject {
        let at_stripe = |reference: &Option<String>| {
            reference
                .clone()
                .map_or(EventSubject::Other, EventSubject::GatewayPayment)
        };
        match self {
            GatewayEvent::PaymentSucceeded(e)
            | GatewayEvent::PaymentFailed(e)
            | GatewayEvent::PaymentRequiresAction(e)
            | GatewayEvent::HoldUpdated(e) => e
                .payment
                .clone()
                .map_or(EventSubject::Other, EventSubject::Payment),
            GatewayEvent::PaymentCanceled(e) => match &e.payment {
                Some(payment) => EventSubject::Payment(payment.clone()),
                None => EventSubject::GatewayPayment(e.intent.reference.clone()),
            },
            GatewayEvent::ChargeRefunded(e) => match &e.payment {
                Some(payment) => EventSubject::RefundsOf(payment.clone()),
                None => at_stripe(&e.payment_reference),
            },
            // Our refund names itself only: the core syncs it with the payment it refunds.
            GatewayEvent::RefundChanged(e) => match &e.refund {
                Some(refund) => EventSubject::RefundsOf(refund.clone()),
                None => at_stripe(&e.payment_reference),
            },
            GatewayEvent::ChargeCaptured(e) | GatewayEvent::ChargeExpired(e) => match &e.payment {
                Some(payment) => EventSubject::Payment(payment.clone()),
                None => at_stripe(&e.payment_reference),
            },
            GatewayEvent::Dispute(e) => at_stripe(&e.payment_reference),
            GatewayEvent::AccountUpdated(e) => EventSubject::Account {
                state: e.state.clone(),
                created: e.event.created,
            },
            GatewayEvent::CardSetupSucceeded(_) | GatewayEvent::Ignored { .. } => {
                EventSubject::Other
            }
        }
    }

    /// The event in the core's terms.
    pub fn to_core(&self) -> billing_core::ports::GatewayEvent {
        let info = self.info();
        billing_core::ports::GatewayEvent {
            id: info.id.clone(),
            event_type: info.event_type.clone(),
            account: info.account.clone(),
            // Payments carry no business in their metadata: the account (or, on the
            // platform's own account, the ledger that has the payment) names it.
            business: None,
            subject: self.subject(),
        }
    }
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

fn metadata_id(object: &Value, key: &str) -> Option<PaymentId> {
    object["metadata"][key]
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
        "canceled"
            if object["cancellation_reason"] == "automatic"
                && object["capture_method"] == "manual" =>
        {
            GatewayStatus::Expired
        }
        "canceled" => GatewayStatus::Canceled,
        "requires_payment_method" if error.is_object() => {
            let code = error["code"].as_str().unwrap_or("card_declined");
            GatewayStatus::Failed(business_failure(code, error["decline_code"].as_str()))
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
    let payment = metadata_id(object, PAYMENT_ID_KEY);
    Ok(IntentEvent {
        event,
        payment: payment.clone(),
        intent: GatewayPayment {
            reference: text(object, "id")?,
            status: intent_status(object),
            amount: amount(object, "amount", &currency)?,
            amount_received: amount(object, "amount_received", &currency)?,
            amount_capturable: amount(object, "amount_capturable", &currency)?,
            hold_expires_at: None,
            payment,
            // What only a lookup says reliably (the charge, the client secret) is left out:
            // the core reads the payment from Stripe before acting.
            next_action: None,
            multicapture: false,
            card: None,
        },
    })
}

fn charge_event(event: EventInfo, object: &Value) -> Result<ChargeEvent, WebhookError> {
    Ok(ChargeEvent {
        event,
        payment: metadata_id(object, PAYMENT_ID_KEY),
        payment_reference: id_of(&object["payment_intent"]),
        charge: text(object, "id")?,
    })
}

fn dispute_status(status: &str) -> DisputeStatus {
    match status {
        "won" | "warning_closed" | "prevented" => DisputeStatus::Won,
        "lost" => DisputeStatus::Lost,
        _ => DisputeStatus::Open,
    }
}

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// An account object (`account.updated`'s) in the core's terms.
fn account_state(object: &Value) -> Result<AccountState, WebhookError> {
    let requirements = &object["requirements"];
    Ok(AccountState {
        account: text(object, "id")?,
        charges_enabled: object["charges_enabled"].as_bool().unwrap_or(false),
        payouts_enabled: object["payouts_enabled"].as_bool().unwrap_or(false),
        details_submitted: object["details_submitted"].as_bool().unwrap_or(false),
        requirements_due: names(&requirements["currently_due"]),
        requirements_past_due: names(&requirements["past_due"]),
        disabled_reason: requirements["disabled_reason"].as_str().map(str::to_owned),
    })
}

/// Reads an event from its parts: the envelope's fields and `data.object`.
pub(crate) fn read_event(event: EventInfo, object: &Value) -> Result<GatewayEvent, WebhookError> {
    if !object.is_object() {
        return Err(bad("no `data.object`"));
    }
    let event_type = event.event_type.clone();
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
                payment: metadata_id(object, PAYMENT_ID_KEY),
                payment_reference: id_of(&object["payment_intent"]),
                charge: text(object, "id")?,
                amount_refunded: amount(object, "amount_refunded", &currency)?,
                fully_refunded: object["refunded"].as_bool().unwrap_or(false),
            })
        }
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            let currency = text(object, "currency")?;
            GatewayEvent::RefundChanged(RefundChangeEvent {
                event,
                reference: text(object, "id")?,
                refund: metadata_id(object, REFUND_ID_KEY),
                payment_reference: id_of(&object["payment_intent"]),
                amount: amount(object, "amount", &currency)?,
            })
        }
        "charge.captured" => GatewayEvent::ChargeCaptured(charge_event(event, object)?),
        "charge.expired" => GatewayEvent::ChargeExpired(charge_event(event, object)?),
        t if t.starts_with("charge.dispute.") => {
            let currency = text(object, "currency")?;
            GatewayEvent::Dispute(DisputeEvent {
                event,
                dispute: text(object, "id")?,
                payment_reference: id_of(&object["payment_intent"]),
                charge: id_of(&object["charge"]),
                amount: amount(object, "amount", &currency)?,
                status: dispute_status(object["status"].as_str().unwrap_or_default()),
            })
        }
        "setup_intent.succeeded" => GatewayEvent::CardSetupSucceeded(SetupEvent {
            event,
            setup: text(object, "id")?,
            customer: id_of(&object["customer"]),
            payment_method: id_of(&object["payment_method"]),
        }),
        "account.updated" => GatewayEvent::AccountUpdated(AccountEvent {
            event,
            state: account_state(object)?,
        }),
        _ => GatewayEvent::Ignored { event, event_type },
    })
}

/// Reads a verified payload (a whole event, as Stripe delivers it).
pub(crate) fn parse_event(payload: &[u8]) -> Result<GatewayEvent, WebhookError> {
    let root: Value = serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?;
    let event = EventInfo {
        id: text(&root, "id")?,
        event_type: text(&root, "type")?,
        account: root["account"].as_str().map(str::to_owned),
        created: DateTime::from_timestamp(integer(&root, "created")?, 0)
            .ok_or_else(|| bad("`created` out of range"))?,
        livemode: root["livemode"].as_bool().unwrap_or(false),
    };
    read_event(event, &root["data"]["object"])
}
