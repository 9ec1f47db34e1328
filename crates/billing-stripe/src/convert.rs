//! Stripe's objects in the port's terms.

use chrono::{DateTime, Duration, Utc};

use billing_core::customer::SavedCard;
use billing_core::money::Money;
use billing_core::payment::Failure;
use billing_core::ports::{
    GatewayError, GatewayPayment, GatewayRefund, GatewayStatus, RefundStatus,
};
use stripe_shared::{ApiErrors, PaymentIntent, PaymentIntentStatus, PaymentMethod, Refund};

use crate::amounts::{self, AmountError};

/// How long Stripe keeps an online card authorization when it does not say (its documented
/// default).
pub(crate) const DEFAULT_HOLD_DAYS: i64 = 7;

/// An amount from Stripe, or the unknown outcome of an answer we cannot read.
pub(crate) fn money(amount: i64, currency: &stripe_types::Currency) -> Result<Money, GatewayError> {
    amounts::from_stripe(amount, currency).map_err(|e: AmountError| {
        GatewayError::UnknownOutcome(format!("Stripe's answer could not be read: {e}"))
    })
}

pub(crate) fn timestamp(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// A failure worded for the business's staff, from Stripe's error and decline codes. Lost,
/// stolen and fraud declines read as a plain decline: Stripe advises not to say more to anyone
/// who might hold the card, and the decline code stays on record for the business.
pub fn business_failure(code: &str, decline_code: Option<&str>) -> Failure {
    let message = match (code, decline_code) {
        (_, Some("insufficient_funds")) => {
            "The card was declined for insufficient funds. Ask the customer for another card, or try again later."
        }
        ("expired_card", _) | (_, Some("expired_card")) => {
            "The card has expired. Ask the customer for a current card."
        }
        ("incorrect_cvc", _) | (_, Some("incorrect_cvc")) => {
            "The card's security code was incorrect. Ask the customer to enter the card again."
        }
        ("incorrect_number", _) | ("invalid_number", _) => {
            "The card number is not valid. Ask the customer to enter the card again."
        }
        ("processing_error", _) | (_, Some("processing_error")) => {
            "The card could not be processed because of an error at the card network. Try again in a little while."
        }
        ("authentication_required", _) | (_, Some("authentication_required")) => {
            "The customer's bank asks them to confirm this payment themselves. Send them a payment link."
        }
        (_, Some("card_velocity_exceeded" | "withdrawal_count_limit_exceeded")) => {
            "The card was declined: the customer has reached a limit on this card. Ask for another card."
        }
        _ => {
            "The card was declined by its issuer. Ask the customer to contact their bank or to use another card."
        }
    };
    Failure {
        code: code.to_owned(),
        decline_code: decline_code.map(str::to_owned),
        message: message.to_owned(),
    }
}

/// The failure a Stripe error (a card error, or an intent's `last_payment_error`) stands for.
pub(crate) fn failure_of(error: &ApiErrors) -> Failure {
    let code = error
        .code
        .as_ref()
        .map_or("card_declined", |c| c.as_str())
        .to_owned();
    business_failure(&code, error.decline_code.as_deref())
}

fn is_authentication_required(error: &ApiErrors) -> bool {
    error.code.as_ref().map(|c| c.as_str()) == Some("authentication_required")
        || error.decline_code.as_deref() == Some("authentication_required")
}

/// The port's status of an intent. `card_error` is the error a confirmation answered with,
/// when there was one (it is more precise than the intent's own last error).
pub(crate) fn status_of(intent: &PaymentIntent, card_error: Option<&ApiErrors>) -> GatewayStatus {
    match &intent.status {
        PaymentIntentStatus::Succeeded => GatewayStatus::Succeeded,
        PaymentIntentStatus::RequiresCapture => GatewayStatus::RequiresCapture,
        PaymentIntentStatus::RequiresAction => GatewayStatus::RequiresAction,
        PaymentIntentStatus::Processing => GatewayStatus::Processing,
        PaymentIntentStatus::Canceled => GatewayStatus::Canceled,
        PaymentIntentStatus::RequiresPaymentMethod => {
            match card_error.or(intent.last_payment_error.as_deref()) {
                // Off-session, a card that demands 3-D Secure is declined with
                // `authentication_required`: the customer has to come back and confirm.
                Some(error) if is_authentication_required(error) => GatewayStatus::RequiresAction,
                Some(error) => GatewayStatus::Failed(failure_of(error)),
                None => GatewayStatus::Failed(Failure {
                    code: "payment_incomplete".into(),
                    decline_code: None,
                    message: "The payment was not completed: it has no card to charge.".into(),
                }),
            }
        }
        // Our intents are confirmed when created; one waiting for confirmation is still open.
        PaymentIntentStatus::RequiresConfirmation => GatewayStatus::Processing,
        // A status newer than this adapter: still open, for the reconciler to look at again.
        _ => GatewayStatus::Processing,
    }
}

/// The hold expiry Stripe reports on the intent's charge (`capture_before`), when the charge
/// came expanded; `None` when it has to be fetched.
pub(crate) fn capture_before(intent: &PaymentIntent) -> Option<DateTime<Utc>> {
    let charge = intent.latest_charge.as_ref()?.as_object()?;
    charge
        .payment_method_details
        .as_ref()?
        .card
        .as_ref()?
        .capture_before
        .and_then(timestamp)
}

/// Stripe's default hold when the charge does not say.
pub(crate) fn default_hold_expiry(intent: &PaymentIntent) -> Option<DateTime<Utc>> {
    timestamp(intent.created).map(|created| created + Duration::days(DEFAULT_HOLD_DAYS))
}

/// The port's view of an intent; `hold_expires_at` is filled in by the caller for holds.
pub(crate) fn payment_of(
    intent: &PaymentIntent,
    card_error: Option<&ApiErrors>,
) -> Result<GatewayPayment, GatewayError> {
    Ok(GatewayPayment {
        reference: intent.id.to_string(),
        status: status_of(intent, card_error),
        amount: money(intent.amount, &intent.currency)?,
        amount_received: money(intent.amount_received, &intent.currency)?,
        amount_capturable: money(intent.amount_capturable, &intent.currency)?,
        hold_expires_at: None,
    })
}

/// The port's view of a refund.
pub(crate) fn refund_of(refund: &Refund) -> Result<GatewayRefund, GatewayError> {
    let status = match refund.status.as_deref() {
        Some("succeeded") => RefundStatus::Succeeded,
        Some("failed" | "canceled") => RefundStatus::Failed(Failure {
            code: "refund_failed".into(),
            decline_code: refund.failure_reason.clone(),
            message: match refund.failure_reason.as_deref() {
                Some("expired_or_canceled_card") => {
                    "The refund failed: the card was canceled or has expired. Refund the customer another way."
                }
                Some("lost_or_stolen_card") => {
                    "The refund failed: the card was reported lost or stolen. Refund the customer another way."
                }
                _ => "The refund failed at the card network. Refund the customer another way.",
            }
            .into(),
        }),
        // `pending`, `requires_action` and anything newer: not settled yet.
        _ => RefundStatus::Pending,
    };
    Ok(GatewayRefund {
        reference: refund.id.to_string(),
        status,
        amount: money(refund.amount, &refund.currency)?,
    })
}

/// A saved card from a card payment method.
pub(crate) fn saved_card(
    method: &PaymentMethod,
    is_default: bool,
) -> Result<SavedCard, GatewayError> {
    let card = method
        .card
        .as_ref()
        .ok_or_else(|| GatewayError::InvalidRequest {
            message: format!("the payment method {} is not a card", method.id),
            request_id: None,
        })?;
    Ok(SavedCard {
        payment_method: method.id.to_string(),
        brand: card.brand.clone(),
        last4: card.last4.clone(),
        exp_month: u32::try_from(card.exp_month).unwrap_or(0),
        exp_year: u32::try_from(card.exp_year).unwrap_or(0),
        is_default,
    })
}
