//! The records one account keeps, as Stripe names them: customers, payment methods (cards),
//! payment intents (charges and holds, with their refunds), set-up intents, and events.

use chrono::{DateTime, Utc};

use billing_core::customer::SavedCard;
use billing_core::ids::{BusinessId, CustomerId, PaymentId};
use billing_core::money::{Money, MoneyError};
use billing_core::payment::Failure;
use billing_core::ports::{
    EventSubject, GatewayError, GatewayEvent, GatewayPayment, GatewayRefund, GatewayStatus,
    NextAction, RefundStatus, SetupState, SetupStatus,
};

use crate::cards::{Behavior, TestCard};

/// A saved (or savable) card. Only what a gateway keeps is here: never the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Method {
    pub(crate) id: String,
    pub(crate) brand: String,
    pub(crate) last4: String,
    pub(crate) exp_month: u32,
    pub(crate) exp_year: u32,
    /// The Stripe test card it is, if it is one (its behaviour); any other card succeeds.
    pub(crate) test: Option<&'static TestCard>,
    /// The customer it is attached to.
    pub(crate) customer: Option<String>,
    /// Detached (or used once without being saved): Stripe refuses to use it again.
    pub(crate) spent: bool,
    /// Set up for payments without the customer: by a card set-up, or a payment that saved it
    /// after the customer authenticated.
    pub(crate) set_up: bool,
    pub(crate) seq: u64,
}

impl Method {
    pub(crate) fn behavior(&self) -> Behavior {
        self.test.map_or(Behavior::Succeed, |card| card.behavior)
    }

    /// Stripe refuses to save a card that declines (except its `chargeCustomerFail` card).
    pub(crate) fn attachable(&self) -> bool {
        self.test.is_none_or(|card| card.attachable)
    }

    pub(crate) fn saved_card(&self, is_default: bool) -> SavedCard {
        SavedCard {
            payment_method: self.id.clone(),
            brand: self.brand.clone(),
            last4: self.last4.clone(),
            exp_month: self.exp_month,
            exp_year: self.exp_year,
            is_default,
        }
    }
}

/// Who a gateway customer is on our side: what the Stripe adapter's idempotency key for
/// customers is derived from, so the sandbox makes one customer per these.
pub(crate) type OurCustomer = (BusinessId, CustomerId, String, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomerRecord {
    pub(crate) id: String,
    pub(crate) ours: OurCustomer,
    pub(crate) default_method: Option<String>,
}

/// A charge or a hold: Stripe's PaymentIntent, with its refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Intent {
    pub(crate) id: String,
    /// Our payment id (Stripe keeps it in the metadata).
    pub(crate) payment: PaymentId,
    pub(crate) customer: String,
    /// The payment method as the request named it.
    pub(crate) payment_method: String,
    /// The card charged, as the gateway describes it; once kept for the customer, the saved
    /// card.
    pub(crate) card: Option<SavedCard>,
    /// A hold (manual capture) rather than a charge.
    pub(crate) hold: bool,
    pub(crate) amount: Money,
    pub(crate) received: Money,
    pub(crate) capturable: Money,
    pub(crate) status: GatewayStatus,
    pub(crate) hold_expires_at: Option<DateTime<Utc>>,
    /// For a hold: whether it can be captured in several parts.
    pub(crate) multicapture: bool,
    pub(crate) created: DateTime<Utc>,
    pub(crate) seq: u64,
    /// The customer asked for the card to be kept (an on-session payment).
    pub(crate) save_card: bool,
    /// Handed to the customer's page; never logged.
    pub(crate) client_secret: String,
    /// Names the challenge page of this intent, so that only the page the customer was sent
    /// to can complete it (ids are sequential, hence guessable).
    pub(crate) challenge: String,
    /// Where the challenge page sends the customer's browser back.
    pub(crate) return_url: Option<String>,
    pub(crate) refunds: Vec<GatewayRefund>,
}

impl Intent {
    /// What refunds took back (succeeded or pending).
    pub(crate) fn refunded(&self) -> Result<Money, MoneyError> {
        let mut total = Money::zero(self.amount.currency());
        for refund in &self.refunds {
            if !matches!(refund.status, RefundStatus::Failed(_)) {
                total = total.checked_add(&refund.amount)?;
            }
        }
        Ok(total)
    }

    /// Releases a hold whose time ran out, as Stripe does on its own; true when it did now. A
    /// hold captured in part ends succeeded with what was captured, as Stripe's multicapture
    /// holds do.
    pub(crate) fn expire(&mut self, now: DateTime<Utc>) -> bool {
        let ran_out = self.hold_expires_at.is_some_and(|at| now >= at);
        if !ran_out || self.status != GatewayStatus::RequiresCapture {
            return false;
        }
        self.status = if self.received.is_positive() {
            GatewayStatus::Succeeded
        } else {
            GatewayStatus::Expired
        };
        self.capturable = Money::zero(self.amount.currency());
        true
    }

    /// The intent as the port describes it; a challenge is served under `challenge_base`.
    pub(crate) fn view(&self, challenge_base: &str) -> GatewayPayment {
        let next_action = (self.status == GatewayStatus::RequiresAction).then(|| NextAction {
            client_secret: self.client_secret.clone(),
            redirect_url: Some(challenge_url(challenge_base, &self.id, &self.challenge)),
        });
        GatewayPayment {
            reference: self.id.clone(),
            status: self.status.clone(),
            amount: self.amount,
            amount_received: self.received,
            amount_capturable: self.capturable,
            hold_expires_at: self.hold_expires_at,
            payment: Some(self.payment.clone()),
            next_action,
            multicapture: self.multicapture,
            card: self.card.clone(),
        }
    }
}

/// Where a card set-up stands: Stripe's SetupIntent statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetupStage {
    /// Started; no card confirmed yet (`requires_payment_method`).
    AwaitingCard,
    /// The card asks the customer to authenticate (`requires_action`).
    AwaitingAuthentication,
    /// The card is saved on the customer.
    Saved(SavedCard),
    /// The card was refused; another can be confirmed.
    Refused(Failure),
}

/// A card set-up: Stripe's SetupIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setup {
    pub(crate) id: String,
    pub(crate) customer: String,
    pub(crate) client_secret: String,
    pub(crate) challenge: String,
    pub(crate) stage: SetupStage,
    /// The payment method last confirmed.
    pub(crate) payment_method: Option<String>,
    pub(crate) return_url: Option<String>,
}

impl Setup {
    pub(crate) fn view(&self, challenge_base: &str) -> SetupState {
        let status = match &self.stage {
            // Stripe says `requires_payment_method`; to the page it means "ask again".
            SetupStage::AwaitingCard => SetupStatus::Processing,
            SetupStage::AwaitingAuthentication => SetupStatus::RequiresAction(NextAction {
                client_secret: self.client_secret.clone(),
                redirect_url: Some(challenge_url(challenge_base, &self.id, &self.challenge)),
            }),
            SetupStage::Saved(card) => SetupStatus::Succeeded(card.clone()),
            SetupStage::Refused(failure) => SetupStatus::Failed(failure.clone()),
        };
        SetupState {
            reference: self.id.clone(),
            gateway_customer: self.customer.clone(),
            status,
        }
    }
}

/// The page where the customer authenticates `id`.
pub(crate) fn challenge_url(base: &str, id: &str, token: &str) -> String {
    let base = base.trim_end_matches('/');
    format!("{base}/authenticate/{id}?token={token}")
}

/// Something that changed at the gateway without an API call answering it (the customer's
/// challenge, a hold's expiry): what a webhook would have said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) id: String,
    pub(crate) at: DateTime<Utc>,
    pub(crate) event_type: String,
    pub(crate) business: Option<BusinessId>,
    /// Our payment it is about.
    pub(crate) payment: PaymentId,
}

impl Event {
    pub(crate) fn view(&self, account: &Option<String>) -> GatewayEvent {
        GatewayEvent {
            id: self.id.clone(),
            event_type: self.event_type.clone(),
            account: account.clone(),
            business: self.business.clone(),
            subject: EventSubject::Payment(self.payment.clone()),
        }
    }
}

/// The event Stripe sends when a payment comes to `status`.
pub(crate) fn event_type(status: &GatewayStatus) -> &'static str {
    match status {
        GatewayStatus::Succeeded => "payment_intent.succeeded",
        GatewayStatus::RequiresCapture => "payment_intent.amount_capturable_updated",
        GatewayStatus::RequiresAction => "payment_intent.requires_action",
        GatewayStatus::Processing => "payment_intent.processing",
        GatewayStatus::Failed(_) => "payment_intent.payment_failed",
        GatewayStatus::Canceled | GatewayStatus::Expired => "payment_intent.canceled",
    }
}

/// Stripe's name of a status, for error messages worded like Stripe's.
pub(crate) fn status_name(status: &GatewayStatus) -> &'static str {
    match status {
        GatewayStatus::Succeeded => "succeeded",
        GatewayStatus::RequiresCapture => "requires_capture",
        GatewayStatus::RequiresAction => "requires_action",
        GatewayStatus::Processing => "processing",
        GatewayStatus::Failed(_) => "requires_payment_method",
        GatewayStatus::Canceled | GatewayStatus::Expired => "canceled",
    }
}

/// Money arithmetic that cannot fail between amounts of one intent; were it to, it is a
/// refused request, not a panic.
pub(crate) fn arithmetic(error: MoneyError) -> GatewayError {
    GatewayError::InvalidRequest {
        message: error.to_string(),
        request_id: None,
    }
}
