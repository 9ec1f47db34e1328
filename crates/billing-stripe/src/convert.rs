//! Stripe's objects in the port's terms.

use chrono::{DateTime, Duration, Utc};

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::payment::{AUTHENTICATION_REQUIRED, Failure};
use billing_core::ports::{
    DisputeStatus, GatewayDispute, GatewayError, GatewayPayment, GatewayRefund, GatewayStatus,
    NextAction, RefundStatus, SetupState, SetupStatus,
};
use stripe_shared::{
    ApiErrors, Charge, Dispute,
    PaymentFlowsPrivatePaymentMethodsCardDetailsApiResourceMulticaptureStatus as MulticaptureStatus,
    PaymentIntent, PaymentIntentCancellationReason, PaymentIntentCaptureMethod,
    PaymentIntentStatus, PaymentMethod, Refund, SetupIntent, SetupIntentStatus,
};

use crate::amounts::{self, AmountError};
use crate::gateway::{PAYMENT_ID_KEY, REFUND_ID_KEY};

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

/// Our payment id kept in an object's metadata, when it is one of ours.
pub(crate) fn our_payment(
    metadata: &std::collections::HashMap<String, String>,
) -> Option<PaymentId> {
    metadata
        .get(PAYMENT_ID_KEY)
        .and_then(|id| PaymentId::new(id).ok())
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
        (AUTHENTICATION_REQUIRED, _) | (_, Some(AUTHENTICATION_REQUIRED)) => {
            "The customer's bank asks them to confirm this payment themselves. Send them a payment link."
        }
        ("payment_intent_authentication_failure" | "setup_intent_authentication_failure", _) => {
            "The customer did not complete the card's authentication (3-D Secure). They can try again, or use another card."
        }
        (_, Some("card_velocity_exceeded" | "withdrawal_count_limit_exceeded")) => {
            "The card was declined: the customer has reached a limit on this card. Ask for another card."
        }
        _ => {
            "The card was declined by its issuer. Ask the customer to contact their bank or to use another card."
        }
    };
    // An authentication demand always carries its decline code: the core reads it to suggest
    // a payment link.
    let decline_code = if code == AUTHENTICATION_REQUIRED {
        Some(AUTHENTICATION_REQUIRED)
    } else {
        decline_code
    };
    Failure {
        code: code.to_owned(),
        decline_code: decline_code.map(str::to_owned),
        message: message.to_owned(),
    }
}

/// The failure a Stripe error (a card error, or an intent's last error) stands for.
pub(crate) fn failure_of(error: &ApiErrors) -> Failure {
    let code = error
        .code
        .as_ref()
        .map_or("card_declined", |c| c.as_str())
        .to_owned();
    business_failure(&code, error.decline_code.as_deref())
}

/// What a payment with no card to charge says.
fn incomplete() -> Failure {
    Failure {
        code: "payment_incomplete".into(),
        decline_code: None,
        message: "The payment was not completed: it has no card to charge.".into(),
    }
}

/// The port's status of an intent. `card_error` is the error a confirmation answered with,
/// when there was one (it is more precise than the intent's own last error).
///
/// Off-session, a card that asks for authentication leaves the intent waiting for another
/// card, with `authentication_required`: a decline (nobody is there to authenticate), which
/// the core answers with a payment link. After a failed attempt on-session, the same status
/// is the failure of that attempt.
pub(crate) fn status_of(intent: &PaymentIntent, card_error: Option<&ApiErrors>) -> GatewayStatus {
    match &intent.status {
        PaymentIntentStatus::Succeeded => GatewayStatus::Succeeded,
        PaymentIntentStatus::RequiresCapture => GatewayStatus::RequiresCapture,
        PaymentIntentStatus::RequiresAction => GatewayStatus::RequiresAction,
        PaymentIntentStatus::Processing => GatewayStatus::Processing,
        PaymentIntentStatus::Canceled
            if intent.cancellation_reason == Some(PaymentIntentCancellationReason::Automatic)
                && intent.capture_method == PaymentIntentCaptureMethod::Manual =>
        {
            GatewayStatus::Expired
        }
        PaymentIntentStatus::Canceled => GatewayStatus::Canceled,
        PaymentIntentStatus::RequiresPaymentMethod => {
            match card_error.or(intent.last_payment_error.as_deref()) {
                Some(error) => GatewayStatus::Failed(failure_of(error)),
                None => GatewayStatus::Failed(incomplete()),
            }
        }
        // Our intents are confirmed when created; one waiting for confirmation is still open.
        PaymentIntentStatus::RequiresConfirmation => GatewayStatus::Processing,
        // A status newer than this adapter: still open, for the reconciler to look at again.
        _ => GatewayStatus::Processing,
    }
}

/// What the customer's page must do for an intent waiting for them: Stripe.js takes the
/// client secret; the redirect, when Stripe gave one, is a page of Stripe's (or its bank's).
pub(crate) fn next_action_of(intent: &PaymentIntent) -> Option<NextAction> {
    if intent.status != PaymentIntentStatus::RequiresAction {
        return None;
    }
    let redirect_url = intent
        .next_action
        .as_ref()
        .and_then(|n| n.redirect_to_url.as_ref())
        .and_then(|r| r.url.clone());
    Some(NextAction {
        client_secret: intent.client_secret.clone()?,
        redirect_url,
    })
}

/// The intent's charge, when it came expanded.
pub(crate) fn charge_of(intent: &PaymentIntent) -> Option<&Charge> {
    intent.latest_charge.as_ref()?.as_object()
}

/// The hold expiry Stripe reports on a charge (`capture_before`).
pub(crate) fn capture_before(charge: &Charge) -> Option<DateTime<Utc>> {
    charge
        .payment_method_details
        .as_ref()?
        .card
        .as_ref()?
        .capture_before
        .and_then(timestamp)
}

/// Whether a charge's authorization can be captured in several parts.
pub(crate) fn multicapture(charge: &Charge) -> bool {
    charge
        .payment_method_details
        .as_ref()
        .and_then(|d| d.card.as_ref())
        .and_then(|c| c.multicapture.as_ref())
        .is_some_and(|m| m.status == MulticaptureStatus::Available)
}

/// The card a charge was made on, as the charge describes it.
pub(crate) fn card_of_charge(charge: &Charge) -> Option<SavedCard> {
    let card = charge.payment_method_details.as_ref()?.card.as_ref()?;
    Some(SavedCard {
        payment_method: charge.payment_method.clone()?,
        brand: card.brand.clone()?,
        last4: card.last4.clone()?,
        exp_month: u32::try_from(card.exp_month).unwrap_or(0),
        exp_year: u32::try_from(card.exp_year).unwrap_or(0),
        is_default: false,
    })
}

/// The card of an intent: its payment method when it came expanded, else its charge's.
pub(crate) fn card_of(intent: &PaymentIntent) -> Option<SavedCard> {
    intent
        .payment_method
        .as_ref()
        .and_then(|pm| pm.as_object())
        .and_then(|pm| saved_card(pm, false).ok())
        .or_else(|| charge_of(intent).and_then(card_of_charge))
}

/// Stripe's default hold when the charge does not say.
pub(crate) fn default_hold_expiry(intent: &PaymentIntent) -> Option<DateTime<Utc>> {
    timestamp(intent.created).map(|created| created + Duration::days(DEFAULT_HOLD_DAYS))
}

/// The port's view of an intent, with what its expanded charge and payment method say;
/// the caller fills in what needs another call (a hold's expiry, when the charge did not
/// come along).
pub(crate) fn payment_of(
    intent: &PaymentIntent,
    card_error: Option<&ApiErrors>,
) -> Result<GatewayPayment, GatewayError> {
    let charge = charge_of(intent);
    Ok(GatewayPayment {
        reference: intent.id.to_string(),
        status: status_of(intent, card_error),
        amount: money(intent.amount, &intent.currency)?,
        amount_received: money(intent.amount_received, &intent.currency)?,
        amount_capturable: money(intent.amount_capturable, &intent.currency)?,
        hold_expires_at: None,
        payment: our_payment(&intent.metadata),
        next_action: next_action_of(intent),
        multicapture: charge.is_some_and(multicapture),
        card: card_of(intent).or_else(|| {
            card_error
                .and_then(|e| e.payment_method.as_ref())
                .and_then(|pm| saved_card(pm, false).ok())
        }),
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
        refund: refund
            .metadata
            .as_ref()
            .and_then(|m| m.get(REFUND_ID_KEY))
            .and_then(|id| PaymentId::new(id).ok()),
    })
}

/// Where a dispute stands for the business. An inquiry closed without a chargeback, and a
/// dispute prevented, took no money (a refund that prevented it shows as a refund).
pub(crate) fn dispute_status(status: &stripe_shared::DisputeStatus) -> DisputeStatus {
    use stripe_shared::DisputeStatus as S;
    match status {
        S::Won | S::WarningClosed | S::Prevented => DisputeStatus::Won,
        S::Lost => DisputeStatus::Lost,
        // needs_response, under_review, their warning_ forms and anything newer.
        _ => DisputeStatus::Open,
    }
}

/// The port's view of a dispute.
pub(crate) fn dispute_of(dispute: &Dispute) -> Result<GatewayDispute, GatewayError> {
    Ok(GatewayDispute {
        reference: dispute.id.to_string(),
        amount: money(dispute.amount, &dispute.currency)?,
        status: dispute_status(&dispute.status),
        reason: Some(dispute.reason.clone()).filter(|r| !r.is_empty()),
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

/// The port's view of a card set-up. `card_error` is the error a confirmation answered with.
///
/// # Errors
/// [`GatewayError::UnknownOutcome`] when Stripe says the card is saved but not which card, or
/// the set-up has no customer (ours always have one).
pub(crate) fn setup_state(
    setup: &SetupIntent,
    card_error: Option<&ApiErrors>,
) -> Result<SetupState, GatewayError> {
    let unreadable = |what: &str| {
        GatewayError::UnknownOutcome(format!(
            "Stripe's card set-up {} could not be read: {what}",
            setup.id
        ))
    };
    let gateway_customer = setup
        .customer
        .as_ref()
        .map(|c| c.id().to_string())
        .ok_or_else(|| unreadable("it has no customer"))?;
    let failed = |fallback: Failure| {
        SetupStatus::Failed(
            card_error
                .or(setup.last_setup_error.as_deref())
                .map_or(fallback, failure_of),
        )
    };
    let status = match &setup.status {
        SetupIntentStatus::Succeeded => {
            let method = setup
                .payment_method
                .as_ref()
                .and_then(|pm| pm.as_object())
                .ok_or_else(|| unreadable("the card saved did not come with it"))?;
            SetupStatus::Succeeded(saved_card(method, false)?)
        }
        SetupIntentStatus::RequiresAction => {
            let client_secret = setup
                .client_secret
                .clone()
                .ok_or_else(|| unreadable("it waits for the customer but has no client secret"))?;
            let redirect_url = setup
                .next_action
                .as_ref()
                .and_then(|n| n.redirect_to_url.as_ref())
                .and_then(|r| r.url.clone());
            SetupStatus::RequiresAction(NextAction {
                client_secret,
                redirect_url,
            })
        }
        SetupIntentStatus::RequiresPaymentMethod => failed(Failure {
            code: "setup_incomplete".into(),
            decline_code: None,
            message: "No card was saved: the customer has not given one yet.".into(),
        }),
        SetupIntentStatus::Canceled => SetupStatus::Failed(Failure {
            code: "setup_canceled".into(),
            decline_code: None,
            message: "The card set-up was canceled; start a new one.".into(),
        }),
        // Confirmed by the page and not finished yet, or a status newer than this adapter.
        _ => SetupStatus::Processing,
    };
    Ok(SetupState {
        reference: setup.id.to_string(),
        gateway_customer,
        status,
    })
}
