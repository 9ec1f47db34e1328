//! Payments: what a money move made, its receipt, and what each money-moving command takes.

use billing_core::payment::{
    CollectionMethod, Failure, Origin, Payment, PaymentKind, PaymentState,
};
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
    /// A dispute (chargeback) the customer's bank opened on a card payment (`of`), recorded
    /// from the gateway: `pending` while open, `succeeded` when lost (the money went back to
    /// the customer), `canceled` when won (it stays).
    Dispute,
}

/// Who made a payment record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OriginJson {
    /// Staff or an API client, with the customer away.
    Command,
    /// The customer, on a payment link's page (`link`), able to authenticate there.
    PaymentLink,
    /// The gateway: made in its dashboard or by its own rules (a capture, a refund, a
    /// dispute), and recorded from its record.
    Gateway,
    /// Payment automation, by the business's payment policy (the customer away).
    Automation,
    /// A member of the business's staff in the Ops Console (`staff`), the customer away.
    Staff,
}

/// A next step the engine suggests to staff after a payment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestedActionJson {
    /// The card asks the customer to authenticate (3-D Secure), which they cannot do while
    /// away: send them a payment link (`POST /v1/payment-links`), whose page lets them
    /// authenticate and pay.
    SendPaymentLink,
}

impl SuggestedActionJson {
    /// What to suggest after this failure, if anything.
    pub fn after(failure: &Failure) -> Option<SuggestedActionJson> {
        failure
            .suggests_payment_link()
            .then_some(SuggestedActionJson::SendPaymentLink)
    }
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
    /// Of the share, the tip (a charge's; absent when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<MoneyJson>,
}

/// A payment record: a charge, collection, hold, capture, refund or dispute.
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
    /// Refunds: the payment refunded; captures: the hold captured from; disputes: the payment
    /// disputed.
    pub of: Option<String>,
    /// Refunds: why; disputes: the card network's reason (`fraudulent`...).
    pub reason: Option<String>,
    /// Who made it: `command` (staff or an API client), `payment_link` (the customer, on the
    /// page of `link`), or `gateway` (made there, and recorded from its record).
    pub origin: OriginJson,
    /// For a payment made on a payment link's page: the link's id.
    pub link: Option<String>,
    /// For a payment made in the Ops Console: the staff member's id.
    pub staff: Option<String>,
    /// Holds: whether the hold can be captured in several parts (`final: false`); false for
    /// holds placed where the gateway account does not allow it. `null` for other kinds.
    pub multicapture: Option<bool>,
    /// For a failed payment: what staff can do next, when there is something to suggest
    /// (`send_payment_link` when the card asks the customer to authenticate).
    pub suggested_action: Option<SuggestedActionJson>,
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
                    tip: a.tip.map(Into::into),
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
            suggested_action: match &payment.state {
                PaymentState::Failed(failure) => SuggestedActionJson::after(failure),
                _ => None,
            },
            origin: match &payment.origin {
                Origin::Command => OriginJson::Command,
                Origin::PaymentLink(_) => OriginJson::PaymentLink,
                Origin::Gateway => OriginJson::Gateway,
                Origin::Automation => OriginJson::Automation,
                Origin::Staff(_) => OriginJson::Staff,
            },
            link: match &payment.origin {
                Origin::PaymentLink(link) => Some(link.to_string()),
                Origin::Command | Origin::Gateway | Origin::Automation | Origin::Staff(_) => None,
            },
            staff: match &payment.origin {
                Origin::Staff(staff) => Some(staff.to_string()),
                _ => None,
            },
            multicapture: None,
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
                json.multicapture = Some(payment.multicapture);
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
            PaymentKind::Dispute { of, reason } => {
                json.kind = PaymentKindJson::Dispute;
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
    /// For a hold: its captures; otherwise its refunds; then, for either, its disputes.
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
    /// A tip charged on top of `amount`, a decimal string in the booking's currency (at most
    /// the amount): one charge of both. The tip becomes a line of the booking (`kind: tip`)
    /// only if the charge succeeds.
    #[serde(default)]
    pub tip: Option<String>,
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

#[cfg(test)]
mod tests {
    use billing_core::ids::{CustomerId, LinkId, PaymentId};
    use billing_core::money::{Currency, Money};
    use billing_core::payment::CardRef;
    use chrono::TimeZone;
    use serde_json::Value;

    use super::*;

    fn payment(kind: PaymentKind, state: PaymentState, origin: Origin) -> Payment {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
            .single()
            .unwrap_or_default();
        Payment {
            id: PaymentId::new("pay_1").unwrap(),
            customer: CustomerId::new("c1").unwrap(),
            kind,
            amount: Money::parse("10.00", Currency::USD).unwrap(),
            allocations: Vec::new(),
            state,
            gateway_reference: None,
            hold_expires_at: None,
            multicapture: true,
            origin,
            created_at: at,
            updated_at: at,
            entries: 1,
        }
    }

    fn card() -> CardRef {
        CardRef {
            gateway_customer: "cus_1".into(),
            payment_method: "pm_card_visa".into(),
        }
    }

    fn json(payment: &Payment) -> Value {
        serde_json::to_value(PaymentJson::from(payment)).unwrap()
    }

    #[test]
    fn a_payment_says_who_made_it() {
        let staff = json(&payment(
            PaymentKind::Charge { card: card() },
            PaymentState::Succeeded,
            Origin::Command,
        ));
        assert_eq!(staff["origin"], "command");
        assert_eq!(staff["link"], Value::Null);
        let customer = json(&payment(
            PaymentKind::Charge { card: card() },
            PaymentState::Succeeded,
            Origin::PaymentLink(LinkId::new("lnk_7").unwrap()),
        ));
        assert_eq!(customer["origin"], "payment_link");
        assert_eq!(customer["link"], "lnk_7");
        let gateway = json(&payment(
            PaymentKind::Refund {
                of: PaymentId::new("pay_0").unwrap(),
                reason: None,
            },
            PaymentState::Succeeded,
            Origin::Gateway,
        ));
        assert_eq!(gateway["origin"], "gateway");
    }

    #[test]
    fn holds_say_whether_they_capture_in_parts_and_nothing_else_does() {
        let hold = json(&payment(
            PaymentKind::Authorization { card: card() },
            PaymentState::Authorized,
            Origin::Command,
        ));
        assert_eq!(hold["multicapture"], true);
        let mut single = payment(
            PaymentKind::Authorization { card: card() },
            PaymentState::Authorized,
            Origin::Command,
        );
        single.multicapture = false;
        assert_eq!(json(&single)["multicapture"], false);
        let charge = json(&payment(
            PaymentKind::Charge { card: card() },
            PaymentState::Succeeded,
            Origin::Command,
        ));
        assert_eq!(charge["multicapture"], Value::Null);
    }

    #[test]
    fn a_dispute_names_the_payment_and_the_networks_reason() {
        let dispute = json(&payment(
            PaymentKind::Dispute {
                of: PaymentId::new("pay_0").unwrap(),
                reason: Some("fraudulent".into()),
            },
            PaymentState::Pending,
            Origin::Gateway,
        ));
        assert_eq!(dispute["kind"], "dispute");
        assert_eq!(dispute["of"], "pay_0");
        assert_eq!(dispute["reason"], "fraudulent");
        assert_eq!(dispute["state"], "pending");
        assert_eq!(dispute["origin"], "gateway");
    }

    #[test]
    fn only_a_card_that_asks_to_authenticate_suggests_a_payment_link() {
        let asks = json(&payment(
            PaymentKind::Charge { card: card() },
            PaymentState::Failed(Failure::authentication_required()),
            Origin::Command,
        ));
        assert_eq!(asks["suggested_action"], "send_payment_link");
        assert_eq!(asks["failure"]["decline_code"], "authentication_required");
        let declined = json(&payment(
            PaymentKind::Charge { card: card() },
            PaymentState::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "The card has insufficient funds.".into(),
            }),
            Origin::Command,
        ));
        assert_eq!(declined["suggested_action"], Value::Null);
        let pending = json(&payment(
            PaymentKind::Charge { card: card() },
            PaymentState::RequiresAction,
            Origin::Command,
        ));
        assert_eq!(pending["suggested_action"], Value::Null);
    }
}
