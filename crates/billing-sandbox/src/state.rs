//! The sandbox's records: one set per connected account, like Stripe's, so that what one
//! account makes is not found from another.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use billing_core::customer::SavedCard;
use billing_core::ids::{BusinessId, CustomerId, PaymentId};
use billing_core::money::Money;
use billing_core::ports::{CardSetup, GatewayError, GatewayPayment, GatewayRefund, GatewayStatus};

use crate::cards::Behavior;
use crate::config::{Fault, Operation};

/// A saved (or savable) card. Only what a gateway keeps is here: never the number.
#[derive(Debug, Clone)]
pub(crate) struct Method {
    pub(crate) id: String,
    pub(crate) brand: String,
    pub(crate) last4: String,
    pub(crate) exp_month: u32,
    pub(crate) exp_year: u32,
    pub(crate) behavior: Behavior,
    pub(crate) attachable: bool,
    /// The customer it is attached to.
    pub(crate) customer: Option<String>,
    /// Detached (or used once without being saved): Stripe refuses to use it again.
    pub(crate) spent: bool,
    pub(crate) seq: u64,
}

impl Method {
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

#[derive(Debug, Clone)]
pub(crate) struct CustomerRecord {
    pub(crate) default_method: Option<String>,
}

/// A charge or a hold: Stripe's PaymentIntent.
#[derive(Debug, Clone)]
pub(crate) struct Intent {
    pub(crate) id: String,
    pub(crate) amount: Money,
    pub(crate) received: Money,
    pub(crate) capturable: Money,
    pub(crate) refunded: Money,
    pub(crate) status: GatewayStatus,
    pub(crate) hold_expires_at: Option<DateTime<Utc>>,
}

impl Intent {
    /// Releases a hold whose time ran out, as Stripe does on its own: the intent is canceled
    /// (or, when part was captured already, closed as succeeded with what was captured).
    pub(crate) fn expire(&mut self, now: DateTime<Utc>) {
        let ran_out = self.hold_expires_at.is_some_and(|at| now >= at);
        if self.status == GatewayStatus::RequiresCapture && ran_out {
            self.status = if self.received.is_positive() {
                GatewayStatus::Succeeded
            } else {
                GatewayStatus::Canceled
            };
            self.capturable = Money::zero(self.amount.currency());
        }
    }

    /// True when the hold ran out (it was released without being captured in full).
    pub(crate) fn expired(&self, now: DateTime<Utc>) -> bool {
        self.hold_expires_at.is_some_and(|at| now >= at)
    }

    pub(crate) fn view(&self) -> GatewayPayment {
        GatewayPayment {
            reference: self.id.clone(),
            status: self.status.clone(),
            amount: self.amount,
            amount_received: self.received,
            amount_capturable: self.capturable,
            hold_expires_at: self.hold_expires_at,
        }
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
        GatewayStatus::Canceled => "canceled",
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RefundRecord {
    pub(crate) refund: PaymentId,
    pub(crate) intent: String,
    pub(crate) answer: GatewayRefund,
}

#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) customer: String,
    pub(crate) payment_method: Option<String>,
}

/// A saved answer to an idempotent request.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Payment(GatewayPayment),
    Refund(GatewayRefund),
    Setup(CardSetup),
}

#[derive(Debug, Clone)]
pub(crate) struct Saved {
    pub(crate) fingerprint: String,
    pub(crate) reply: Reply,
    pub(crate) at: DateTime<Utc>,
}

/// How long Stripe keeps an idempotency key's answer (keys may be pruned after 24 hours).
pub(crate) const KEY_LIFETIME_HOURS: i64 = 24;

/// Everything one account (or the platform) holds.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub(crate) customers: BTreeMap<String, CustomerRecord>,
    /// Customers by our id, name and email: what the Stripe adapter's idempotency key for
    /// customers is derived from.
    pub(crate) by_our_customer: BTreeMap<(BusinessId, CustomerId, String, Option<String>), String>,
    pub(crate) methods: BTreeMap<String, Method>,
    pub(crate) intents: BTreeMap<String, Intent>,
    /// Our payment id to the intents made for it, oldest first (the metadata search).
    pub(crate) by_our_payment: BTreeMap<PaymentId, Vec<String>>,
    pub(crate) refunds: Vec<RefundRecord>,
    pub(crate) setups: BTreeMap<String, Setup>,
    pub(crate) keys: BTreeMap<String, Saved>,
}

impl Account {
    pub(crate) fn customer(&self, id: &str) -> Result<&CustomerRecord, GatewayError> {
        self.customers
            .get(id)
            .ok_or_else(|| GatewayError::NotFound(format!("No such customer: '{id}'")))
    }

    pub(crate) fn intent_mut(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<&mut Intent, GatewayError> {
        let intent = self
            .intents
            .get_mut(id)
            .ok_or_else(|| GatewayError::NotFound(format!("No such payment_intent: '{id}'")))?;
        intent.expire(now);
        Ok(intent)
    }

    /// The saved answer for `key`, when the same request was made with it before; a
    /// different request under a used key is refused, as Stripe does.
    pub(crate) fn replay(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, GatewayError> {
        let lifetime = chrono::Duration::hours(KEY_LIFETIME_HOURS);
        match self.keys.get(key) {
            None => Ok(None),
            // A key older than Stripe keeps them is a new key.
            Some(saved) if now - saved.at >= lifetime => Ok(None),
            Some(saved) if saved.fingerprint == fingerprint => Ok(Some(saved.reply.clone())),
            Some(_) => Err(GatewayError::InvalidRequest {
                message: format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                ),
                request_id: None,
            }),
        }
    }

    pub(crate) fn save(
        &mut self,
        key: &str,
        fingerprint: String,
        reply: Reply,
        now: DateTime<Utc>,
    ) {
        let saved = Saved {
            fingerprint,
            reply,
            at: now,
        };
        self.keys.insert(key.to_owned(), saved);
    }
}

/// A fault waiting for its calls.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub(crate) operation: Option<Operation>,
    pub(crate) fault: Fault,
    pub(crate) remaining: usize,
}

/// One call the sandbox received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCall {
    /// Which operation.
    pub operation: Operation,
    /// The connected account it acted on.
    pub account: Option<String>,
    /// The idempotency key it carried, if the call takes one.
    pub idempotency_key: Option<String>,
    /// The fault injected into it, if any.
    pub fault: Option<Fault>,
    /// True when it was answered from an earlier call with the same idempotency key.
    pub replayed: bool,
    /// The error it returned, if any.
    pub error: Option<GatewayError>,
}

/// The whole sandbox.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) accounts: BTreeMap<Option<String>, Account>,
    /// Cards typed into the card form, not yet used by any account: the first account to use
    /// one keeps it, like a token.
    pub(crate) loose_methods: BTreeMap<String, Method>,
    pub(crate) next: u64,
    pub(crate) faults: Vec<FaultRule>,
    /// The latest calls, oldest first, at most `SandboxConfig::call_log_limit`.
    pub(crate) calls: VecDeque<SandboxCall>,
    /// Set by a call answered from a saved reply, for the call log.
    pub(crate) replayed: bool,
}

impl State {
    /// A new id with a Stripe prefix (`pi`, `cus`, `pm`, `re`, `seti`).
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_sbx{:014}", self.next)
    }

    pub(crate) fn seq(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub(crate) fn account(&mut self, account: &Option<String>) -> &mut Account {
        self.accounts.entry(account.clone()).or_default()
    }

    /// Takes the first pending fault aimed at `operation` (or at every operation).
    pub(crate) fn take_fault(&mut self, operation: Operation) -> Option<Fault> {
        let rule = self
            .faults
            .iter_mut()
            .find(|r| r.remaining > 0 && r.operation.is_none_or(|op| op == operation))?;
        rule.remaining -= 1;
        let fault = rule.fault;
        self.faults.retain(|r| r.remaining > 0);
        Some(fault)
    }
}
