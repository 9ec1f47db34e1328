//! Payments: what a money move made, its receipt, and what each money-moving command takes.

use billing_core::payment::{CollectionMethod, Payment, PaymentKind, PaymentState};
use billing_core::receipt::Receipt;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{BookingSummaryJson, MoneyJson, yes};

/// What a payment record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKindJson {
    /// A card charge, captured at once.
    Charge,
    /// Money collected outside the gateway.
    Collection,
    /// A hold on a card.
    Authorization,
    /// A capture of a hold.
    Capture,
    /// A refund.
    Refund,
}

/// Where a payment record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStateJson {
    /// Sent to the gateway; the outcome is not known yet.
    Pending,
    /// The customer must authenticate.
    RequiresAction,
    /// The money moved.
    Succeeded,
    /// A hold is in place.
    Authorized,
    /// Part of a hold was captured.
    PartiallyCaptured,
    /// A hold was captured and closed.
    Captured,
    /// Canceled before money moved.
    Canceled,
    /// A hold ran out.
    Expired,
    /// Declined or failed.
    Failed,
}

impl From<&PaymentState> for PaymentStateJson {
    fn from(state: &PaymentState) -> Self {
        match state {
            PaymentState::Pending => PaymentStateJson::Pending,
            PaymentState::RequiresAction => PaymentStateJson::RequiresAction,
            PaymentState::Succeeded => PaymentStateJson::Succeeded,
            PaymentState::Authorized => PaymentStateJson::Authorized,
            PaymentState::PartiallyCaptured => PaymentStateJson::PartiallyCaptured,
            PaymentState::Captured => PaymentStateJson::Captured,
            PaymentState::Canceled => PaymentStateJson::Canceled,
            PaymentState::Expired => PaymentStateJson::Expired,
            PaymentState::Failed(_) => PaymentStateJson::Failed,
        }
    }
}

/// How money was collected outside the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethodJson {
    /// Cash in hand.
    Cash,
    /// A paper check.
    Check,
    /// An e-transfer.
    ETransfer,
    /// Anything else, with a `label`.
    Other,
}

/// Why a payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailureJson {
    /// A stable code (`card_declined`, `expired_card`...).
    pub code: String,
    /// The issuer's decline code (`insufficient_funds`...).
    pub decline_code: Option<String>,
    /// A sentence for the business.
    pub message: String,
}

/// A payment's share for one booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AllocationJson {
    /// The booking.
    pub booking: String,
    /// Its share.
    pub amount: MoneyJson,
}

/// A payment record: a charge, collection, hold, capture or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentJson {
    /// Our payment id (`pay_...`).
    pub id: String,
    /// What it is.
    pub kind: PaymentKindJson,
    /// Where it stands.
    pub state: PaymentStateJson,
    /// How much.
    pub amount: MoneyJson,
    /// Who paid (or is refunded).
    pub customer: String,
    /// Its shares per booking; they add up to `amount`.
    pub allocations: Vec<AllocationJson>,
    /// Why it failed, when it did.
    pub failure: Option<FailureJson>,
    /// The gateway's id (`pi_...`, `re_...`) once known.
    pub gateway_reference: Option<String>,
    /// For a hold: when it stops being capturable.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Charges and holds: the card's payment method id.
    pub payment_method: Option<String>,
    /// Collections: how the money was collected.
    pub method: Option<CollectionMethodJson>,
    /// Collections of method `other`: the business's label.
    pub label: Option<String>,
    /// Collections: a check number or transfer reference.
    pub reference: Option<String>,
    /// Refunds: the payment refunded; captures: the hold captured from.
    pub of: Option<String>,
    /// Refunds: why.
    pub reason: Option<String>,
}

impl From<&Payment> for PaymentJson {
    fn from(payment: &Payment) -> Self {
        let mut json = PaymentJson {
            id: payment.id.to_string(),
            kind: PaymentKindJson::Charge,
            state: (&payment.state).into(),
            amount: payment.amount.into(),
            customer: payment.customer.to_string(),
            allocations: payment
                .allocations
                .iter()
                .map(|a| AllocationJson {
                    booking: a.booking.to_string(),
                    amount: a.amount.into(),
                })
                .collect(),
            failure: match &payment.state {
                PaymentState::Failed(failure) => Some(FailureJson {
                    code: failure.code.clone(),
                    decline_code: failure.decline_code.clone(),
                    message: failure.message.clone(),
                }),
                _ => None,
            },
            gateway_reference: payment.gateway_reference.clone(),
            hold_expires_at: payment.hold_expires_at,
            created_at: payment.created_at,
            updated_at: payment.updated_at,
            payment_method: None,
            method: None,
            label: None,
            reference: None,
            of: None,
            reason: None,
        };
        match &payment.kind {
            PaymentKind::Charge { card } => {
                json.payment_method = Some(card.payment_method.clone());
            }
            PaymentKind::Authorization { card } => {
                json.kind = PaymentKindJson::Authorization;
                json.payment_method = Some(card.payment_method.clone());
            }
            PaymentKind::Collection { method, reference } => {
                json.kind = PaymentKindJson::Collection;
                json.reference.clone_from(reference);
                let (method, label) = match method {
                    CollectionMethod::Cash => (CollectionMethodJson::Cash, None),
                    CollectionMethod::Check => (CollectionMethodJson::Check, None),
                    CollectionMethod::ETransfer => (CollectionMethodJson::ETransfer, None),
                    CollectionMethod::Other(label) => {
                        (CollectionMethodJson::Other, Some(label.clone()))
                    }
                };
                json.method = Some(method);
                json.label = label;
            }
            PaymentKind::Capture { authorization, .. } => {
                json.kind = PaymentKindJson::Capture;
                json.of = Some(authorization.to_string());
            }
            PaymentKind::Refund { of, reason } => {
                json.kind = PaymentKindJson::Refund;
                json.of = Some(of.to_string());
                json.reason.clone_from(reason);
            }
        }
        json
    }
}

/// The result of a money-moving command: the payment and the bookings it touched, as they
/// stood once the command was done (on a replay: as they stood when it was first answered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptJson {
    /// The payment made (or found, on a replay).
    pub payment: PaymentJson,
    /// The bookings it touched.
    pub bookings: Vec<BookingSummaryJson>,
}

impl From<&Receipt> for ReceiptJson {
    fn from(receipt: &Receipt) -> Self {
        ReceiptJson {
            payment: PaymentJson::from(&receipt.payment),
            bookings: receipt
                .bookings
                .iter()
                .map(BookingSummaryJson::from)
                .collect(),
        }
    }
}

/// A payment with what can still be done with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentViewJson {
    /// The payment.
    pub payment: PaymentJson,
    /// What can still be refunded (zero when nothing).
    pub refundable: MoneyJson,
    /// For an open hold: what it can still capture.
    pub capturable: MoneyJson,
    /// For a hold: its captures; otherwise its refunds.
    pub children: Vec<PaymentJson>,
}

/// Charge a booking's saved card.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// A decimal string in the booking's currency; what can be charged when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// One of the customer's saved cards; the card on file when absent.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Without an idempotency key, the same charge twice within minutes is refused as a
    /// probable duplicate unless this is true.
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Record money collected outside the gateway.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionRequest {
    /// A decimal string in the booking's currency; what can be charged when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// How it was collected.
    pub method: CollectionMethodJson,
    /// For `other`: the business's name for it (`other` when absent).
    #[serde(default)]
    pub label: Option<String>,
    /// A check number or transfer reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// As for charges.
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Place a hold on a booking's saved card.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationRequest {
    /// A decimal string in the booking's currency; what can be charged when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// One of the customer's saved cards; the card on file when absent.
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// Capture all or part of a hold.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// A decimal string in the hold's currency; what the hold can still capture when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Release the rest of the hold after this capture (the usual case).
    #[serde(default = "yes", rename = "final")]
    pub final_capture: bool,
}

impl Default for CaptureRequest {
    fn default() -> Self {
        CaptureRequest {
            amount: None,
            final_capture: true,
        }
    }
}

/// Refund all or part of a payment.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// A decimal string in the payment's currency; everything refundable when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Why, for the records.
    #[serde(default)]
    pub reason: Option<String>,
}
