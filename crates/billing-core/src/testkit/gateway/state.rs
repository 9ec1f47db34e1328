//! What the scripted gateway keeps: per connected account, its customers, payments (with their
//! refunds and disputes), card set-ups and idempotency keys; and the events it would send.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::{GatewayCall, Scripted};
use crate::customer::SavedCard;
use crate::ids::PaymentId;
use crate::money::Money;
use crate::ports::{
    CardSetup, EventSubject, GatewayDispute, GatewayError, GatewayEvent, GatewayPayment,
    GatewayRefund, GatewayStatus, SetupStatus,
};

/// How long an idempotency key's answer is kept (Stripe may prune keys after 24 hours).
pub(super) const KEY_LIFETIME_HOURS: i64 = 24;

/// A charge or a hold, with everything done to it since.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub(super) payment: GatewayPayment,
    /// The gateway customer and payment method it was made with.
    pub(super) customer: String,
    pub(super) payment_method: String,
    /// Whether the customer asked for the card to be kept (an on-session payment).
    pub(super) save_card: bool,
    /// A hold (manual capture) rather than a charge.
    pub(super) hold: bool,
    pub(super) created: Option<DateTime<Utc>>,
    pub(super) refunds: Vec<GatewayRefund>,
    pub(super) disputes: Vec<GatewayDispute>,
}

impl Held {
    /// Releases a hold whose time ran out, as Stripe does on its own; true when it did now.
    pub(super) fn expire(&mut self, now: Option<DateTime<Utc>>) -> bool {
        let ran_out = matches!(
            (now, self.payment.hold_expires_at),
            (Some(now), Some(at)) if now >= at
        );
        if ran_out && self.payment.status == GatewayStatus::RequiresCapture {
            self.payment.status = GatewayStatus::Expired;
            self.payment.amount_capturable = Money::zero(self.payment.amount.currency());
            return true;
        }
        false
    }

    /// What refunds (succeeded or pending) and disputes (open or lost) took back.
    pub(super) fn taken_back(&self) -> Result<Money, GatewayError> {
        let mut taken = Money::zero(self.payment.amount.currency());
        for refund in &self.refunds {
            if !matches!(refund.status, crate::ports::RefundStatus::Failed(_)) {
                taken = taken.checked_add(&refund.amount).map_err(arithmetic)?;
            }
        }
        for dispute in &self.disputes {
            if dispute.status != crate::ports::DisputeStatus::Won {
                taken = taken.checked_add(&dispute.amount).map_err(arithmetic)?;
            }
        }
        Ok(taken)
    }

    /// What the events about it name it by: our id when we made it.
    pub(super) fn subject(&self) -> EventSubject {
        match &self.payment.payment {
            Some(ours) => EventSubject::Payment(ours.clone()),
            None => EventSubject::GatewayPayment(self.payment.reference.clone()),
        }
    }
}

/// A saved answer to an idempotent request.
#[derive(Debug, Clone)]
pub(super) enum Reply {
    Payment(GatewayPayment),
    Refund(GatewayRefund),
    Setup(CardSetup),
}

/// An idempotency key's first request (its fingerprint) and answer.
#[derive(Debug, Clone)]
struct Saved {
    fingerprint: String,
    reply: Reply,
    at: Option<DateTime<Utc>>,
}

/// A customer at the gateway.
#[derive(Debug, Default)]
pub(super) struct Customer {
    /// Attached cards, oldest first (`is_default` is read from `default`).
    pub(super) cards: Vec<SavedCard>,
    pub(super) default: Option<String>,
}

impl Customer {
    pub(super) fn listed(&self, card: &SavedCard) -> SavedCard {
        SavedCard {
            is_default: self.default.as_deref() == Some(card.payment_method.as_str()),
            ..card.clone()
        }
    }

    /// Attaches a card (once).
    pub(super) fn attach(&mut self, card: &SavedCard) -> SavedCard {
        if let Some(attached) = self
            .cards
            .iter()
            .find(|c| c.payment_method == card.payment_method)
        {
            return self.listed(attached);
        }
        self.cards.push(card.clone());
        self.listed(card)
    }
}

/// A card set-up: `None` until confirmed.
#[derive(Debug, Clone)]
pub(super) struct Setup {
    pub(super) customer: String,
    pub(super) status: Option<SetupStatus>,
    /// The payment method confirmed, while it waits for authentication.
    pub(super) payment_method: Option<String>,
}

/// Everything one connected account (or the platform, `None`) holds: what one makes is not
/// found from another.
#[derive(Debug, Default)]
pub(super) struct Account {
    pub(super) customers: BTreeMap<String, Customer>,
    pub(super) payments: BTreeMap<String, Held>,
    /// Our payment id to its latest attempt's reference.
    pub(super) ours: BTreeMap<PaymentId, String>,
    pub(super) setups: BTreeMap<String, Setup>,
    /// (customer, payment method) of cards set up for charges without the customer.
    pub(super) set_up: BTreeSet<(String, String)>,
    /// The account does not allow holds captured in several parts.
    pub(super) no_multicapture: bool,
    keys: BTreeMap<String, Saved>,
}

impl Account {
    pub(super) fn customer_mut(&mut self, id: &str) -> Result<&mut Customer, GatewayError> {
        self.customers
            .get_mut(id)
            .ok_or_else(|| GatewayError::NotFound(format!("No such customer: '{id}'")))
    }

    pub(super) fn payment_mut(&mut self, reference: &str) -> Result<&mut Held, GatewayError> {
        self.payments
            .get_mut(reference)
            .ok_or_else(|| GatewayError::NotFound(format!("No such payment_intent: '{reference}'")))
    }

    /// The saved answer when the same request was made with `key` before; another request
    /// under a used key is refused, as Stripe does.
    pub(super) fn replay(
        &self,
        key: &str,
        fingerprint: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Option<Reply>, GatewayError> {
        let Some(saved) = self.keys.get(key) else {
            return Ok(None);
        };
        let lifetime = Duration::hours(KEY_LIFETIME_HOURS);
        if let (Some(now), Some(at)) = (now, saved.at)
            && now - at >= lifetime
        {
            // A key older than Stripe keeps them is a new key.
            return Ok(None);
        }
        if saved.fingerprint == fingerprint {
            Ok(Some(saved.reply.clone()))
        } else {
            // The key's first request was carried out and may have moved money: not a
            // refusal that did nothing.
            Err(GatewayError::UnknownOutcome(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            )))
        }
    }

    pub(super) fn save(
        &mut self,
        key: &str,
        fingerprint: String,
        reply: Reply,
        at: Option<DateTime<Utc>>,
    ) {
        let saved = Saved {
            fingerprint,
            reply,
            at,
        };
        self.keys.insert(key.to_owned(), saved);
    }
}

/// The events the gateway would send, in order, with when it recorded them.
#[derive(Debug, Default)]
pub(super) struct Events {
    pub(super) list: Vec<(Option<DateTime<Utc>>, GatewayEvent)>,
    next: u64,
}

impl Events {
    pub(super) fn emit(
        &mut self,
        account: &Option<String>,
        event_type: &str,
        subject: EventSubject,
        at: Option<DateTime<Utc>>,
    ) {
        self.next += 1;
        let event = GatewayEvent {
            id: format!("evt_{:06}", self.next),
            event_type: event_type.to_owned(),
            account: account.clone(),
            business: None,
            subject,
        };
        self.list.push((at, event));
    }
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) calls: Vec<GatewayCall>,
    pub(super) script: VecDeque<Scripted>,
    next: u64,
    pub(super) accounts: BTreeMap<Option<String>, Account>,
    pub(super) events: Events,
    /// How long a new payment stays out of searches.
    pub(super) search_lag: Duration,
}

impl State {
    pub(super) fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{:06}", self.next)
    }

    /// The next scripted outcome; a scripted failure or lost request is returned as the error.
    pub(super) fn take_script(&mut self) -> Result<Option<Scripted>, GatewayError> {
        match self.script.pop_front() {
            Some(Scripted::Fail(error)) => Err(error),
            Some(Scripted::LostRequest) => Err(GatewayError::UnknownOutcome(
                "timed out before the request arrived".into(),
            )),
            other => Ok(other),
        }
    }

    pub(super) fn account(&mut self, account: &Option<String>) -> &mut Account {
        self.accounts.entry(account.clone()).or_default()
    }

    /// An account and the event list, to change one and record the other.
    pub(super) fn account_and_events(
        &mut self,
        account: &Option<String>,
    ) -> (&mut Account, &mut Events) {
        (
            self.accounts.entry(account.clone()).or_default(),
            &mut self.events,
        )
    }

    /// Releases every hold whose time ran out, recording the event Stripe sends then.
    pub(super) fn expire_due(&mut self, now: Option<DateTime<Utc>>) {
        let State {
            accounts, events, ..
        } = self;
        for (account, held) in accounts
            .iter_mut()
            .flat_map(|(id, a)| a.payments.values_mut().map(move |h| (id, h)))
        {
            if held.expire(now) {
                events.emit(account, "payment_intent.canceled", held.subject(), now);
            }
        }
    }
}

pub(super) fn invalid(message: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.to_owned(),
        request_id: None,
    }
}

pub(super) fn arithmetic(error: crate::money::MoneyError) -> GatewayError {
    invalid(&error.to_string())
}

/// A key already used by another kind of request: that request was carried out and may have
/// moved money, so this is never "nothing done".
pub(super) fn another_kind_of_request() -> GatewayError {
    GatewayError::UnknownOutcome(
        "This idempotency key was used for another kind of request.".into(),
    )
}

pub(super) fn payment_reply(reply: Reply) -> Result<GatewayPayment, GatewayError> {
    match reply {
        Reply::Payment(payment) => Ok(payment),
        Reply::Refund(_) | Reply::Setup(_) => Err(another_kind_of_request()),
    }
}
