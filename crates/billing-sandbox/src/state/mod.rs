//! The sandbox's records: one set per connected account, like Stripe's, so that what one
//! account makes is not found from another. Every change to a record is noted, so that a
//! sandbox kept in a data folder writes what a call changed before it answers.

mod records;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use billing_core::ids::PaymentId;
use billing_core::ports::{CardSetup, GatewayError, GatewayPayment, GatewayRefund};

use crate::config::{Fault, Operation};
use crate::journal::Journal;

pub(crate) use records::{
    CustomerRecord, Event, Intent, Method, OurCustomer, Setup, SetupStage, arithmetic, event_type,
    status_name,
};

/// A saved answer to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Payment(GatewayPayment),
    Refund(GatewayRefund),
    Setup(CardSetup),
}

/// An idempotency key's first request (its fingerprint) and answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Saved {
    pub(crate) fingerprint: String,
    pub(crate) reply: Reply,
    pub(crate) at: DateTime<Utc>,
}

/// How long Stripe keeps an idempotency key's answer (keys may be pruned after 24 hours).
pub(crate) const KEY_LIFETIME_HOURS: i64 = 24;

/// How many keys an account saves between two prunings of the expired ones, so that a
/// long-running sandbox does not keep every key it ever saw.
const SAVES_BETWEEN_PRUNINGS: u32 = 4096;

/// A record that changed during a call, to be written to the journal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Change {
    Customer(String),
    Method(String),
    Intent(String),
    Setup(String),
    Key(String),
    Event(String),
}

/// Everything one account (or the platform) holds.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub(crate) customers: BTreeMap<String, CustomerRecord>,
    /// Customers by who they are on our side.
    pub(crate) by_our_customer: BTreeMap<OurCustomer, String>,
    pub(crate) methods: BTreeMap<String, Method>,
    pub(crate) intents: BTreeMap<String, Intent>,
    /// Our payment id to the intents made for it, oldest first (the metadata search).
    pub(crate) by_our_payment: BTreeMap<PaymentId, Vec<String>>,
    pub(crate) setups: BTreeMap<String, Setup>,
    pub(crate) keys: BTreeMap<String, Saved>,
    /// What changed at the gateway outside the API calls, oldest first.
    pub(crate) events: Vec<Event>,
    /// The records changed since the journal was last written.
    pub(crate) changes: Vec<Change>,
    saves_since_pruning: u32,
}

fn no_such_intent(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("No such payment_intent: '{id}'"))
}

impl Account {
    pub(crate) fn customer(&self, id: &str) -> Result<&CustomerRecord, GatewayError> {
        self.customers
            .get(id)
            .ok_or_else(|| GatewayError::NotFound(format!("No such customer: '{id}'")))
    }

    pub(crate) fn insert_customer(&mut self, customer: CustomerRecord) {
        self.by_our_customer
            .insert(customer.ours.clone(), customer.id.clone());
        self.changes.push(Change::Customer(customer.id.clone()));
        self.customers.insert(customer.id.clone(), customer);
    }

    /// A customer, to change.
    pub(crate) fn customer_mut(&mut self, id: &str) -> Option<&mut CustomerRecord> {
        let customer = self.customers.get_mut(id)?;
        self.changes.push(Change::Customer(id.to_owned()));
        Some(customer)
    }

    pub(crate) fn insert_method(&mut self, method: Method) {
        self.changes.push(Change::Method(method.id.clone()));
        self.methods.insert(method.id.clone(), method);
    }

    /// A payment method, to change.
    pub(crate) fn method_mut(&mut self, id: &str) -> Option<&mut Method> {
        let method = self.methods.get_mut(id)?;
        self.changes.push(Change::Method(id.to_owned()));
        Some(method)
    }

    pub(crate) fn insert_intent(&mut self, intent: Intent) {
        self.by_our_payment
            .entry(intent.payment.clone())
            .or_default()
            .push(intent.id.clone());
        self.changes.push(Change::Intent(intent.id.clone()));
        self.intents.insert(intent.id.clone(), intent);
    }

    /// An intent as it stands now: a hold past its time is released first.
    pub(crate) fn intent(&mut self, id: &str, now: DateTime<Utc>) -> Result<&Intent, GatewayError> {
        self.expire(id, now);
        self.intents.get(id).ok_or_else(|| no_such_intent(id))
    }

    /// An intent, to change (a hold past its time is released first).
    pub(crate) fn intent_mut(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<&mut Intent, GatewayError> {
        self.expire(id, now);
        let intent = self.intents.get_mut(id).ok_or_else(|| no_such_intent(id))?;
        self.changes.push(Change::Intent(id.to_owned()));
        Ok(intent)
    }

    /// Releases the hold `id` if its time ran out, recording the event Stripe sends then.
    pub(crate) fn expire(&mut self, id: &str, now: DateTime<Utc>) {
        let Some(intent) = self.intents.get_mut(id) else {
            return;
        };
        if !intent.expire(now) {
            return;
        }
        let at = intent.hold_expires_at.unwrap_or(now);
        let event_type = event_type(&intent.status);
        let payment = intent.payment.clone();
        let customer = intent.customer.clone();
        self.changes.push(Change::Intent(id.to_owned()));
        self.emit(id, "expired", event_type, &customer, payment, at);
    }

    /// Releases every hold of the account whose time ran out.
    pub(crate) fn expire_due(&mut self, now: DateTime<Utc>) {
        let due: Vec<String> = self
            .intents
            .values()
            .filter(|i| i.hold_expires_at.is_some_and(|at| now >= at))
            .filter(|i| i.status == billing_core::ports::GatewayStatus::RequiresCapture)
            .map(|i| i.id.clone())
            .collect();
        for id in due {
            self.expire(&id, now);
        }
    }

    /// Records an event about the intent `intent` (one of each `what` per intent, which names
    /// it).
    pub(crate) fn emit(
        &mut self,
        intent: &str,
        what: &str,
        event_type: &str,
        customer: &str,
        payment: PaymentId,
        at: DateTime<Utc>,
    ) {
        let suffix = intent.split_once('_').map_or(intent, |(_, rest)| rest);
        let event = Event {
            id: format!("evt_{suffix}_{what}"),
            at,
            event_type: event_type.to_owned(),
            business: self.customers.get(customer).map(|c| c.ours.0.clone()),
            payment,
        };
        self.changes.push(Change::Event(event.id.clone()));
        self.events.push(event);
    }

    pub(crate) fn insert_setup(&mut self, setup: Setup) {
        self.changes.push(Change::Setup(setup.id.clone()));
        self.setups.insert(setup.id.clone(), setup);
    }

    /// A card set-up, to change.
    pub(crate) fn setup_mut(&mut self, id: &str) -> Result<&mut Setup, GatewayError> {
        let setup = self
            .setups
            .get_mut(id)
            .ok_or_else(|| GatewayError::NotFound(format!("No such setupintent: '{id}'")))?;
        self.changes.push(Change::Setup(id.to_owned()));
        Ok(setup)
    }

    /// The saved answer for `key`, when the same request was made with it before; a
    /// different request under a used key is refused, as Stripe does.
    pub(crate) fn replay(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, GatewayError> {
        match self.keys.get(key) {
            None => Ok(None),
            // A key older than Stripe keeps them is a new key.
            Some(saved) if expired(saved, now) => Ok(None),
            Some(saved) if saved.fingerprint == fingerprint => Ok(Some(saved.reply.clone())),
            // The key's first request was carried out and may have moved money: not a
            // refusal that did nothing.
            Some(_) => Err(GatewayError::UnknownOutcome(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ))),
        }
    }

    pub(crate) fn save(
        &mut self,
        key: &str,
        fingerprint: String,
        reply: Reply,
        now: DateTime<Utc>,
    ) {
        self.saves_since_pruning += 1;
        if self.saves_since_pruning >= SAVES_BETWEEN_PRUNINGS {
            self.saves_since_pruning = 0;
            // Forgotten as Stripe forgets them; the journal drops them when it is compacted.
            self.keys.retain(|_, saved| !expired(saved, now));
        }
        let saved = Saved {
            fingerprint,
            reply,
            at: now,
        };
        self.changes.push(Change::Key(key.to_owned()));
        self.keys.insert(key.to_owned(), saved);
    }
}

/// True when Stripe would have forgotten the key by `now`.
pub(crate) fn expired(saved: &Saved, now: DateTime<Utc>) -> bool {
    now - saved.at >= chrono::Duration::hours(KEY_LIFETIME_HOURS)
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
    /// Card-form methods made or taken by an account since the journal was last written.
    pub(crate) loose_changes: Vec<String>,
    /// The accounts reached since the journal was last written (whose changes to look at).
    pub(crate) touched: Vec<Option<String>>,
    pub(crate) next: u64,
    pub(crate) faults: Vec<FaultRule>,
    /// The latest calls, oldest first, at most `SandboxConfig::call_log_limit`.
    pub(crate) calls: VecDeque<SandboxCall>,
    /// Set by a call answered from a saved reply, for the call log.
    pub(crate) replayed: bool,
    /// Where changes are written, for a sandbox kept in a data folder.
    pub(crate) journal: Option<Journal>,
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
        if !self.touched.contains(account) {
            self.touched.push(account.clone());
        }
        self.accounts.entry(account.clone()).or_default()
    }

    /// A card-form method made now, not yet used by any account.
    pub(crate) fn insert_loose_method(&mut self, method: Method) {
        self.loose_changes.push(method.id.clone());
        self.loose_methods.insert(method.id.clone(), method);
    }

    /// Moves a card-form method to the first account that uses it.
    pub(crate) fn take_loose_method(&mut self, account: &Option<String>, id: &str) {
        if let Some(method) = self.loose_methods.remove(id) {
            self.loose_changes.push(id.to_owned());
            self.account(account).insert_method(method);
        }
    }

    /// The account holding the intent or set-up `id` (ids are unique across accounts).
    pub(crate) fn account_holding(&self, id: &str) -> Option<Option<String>> {
        self.accounts
            .iter()
            .find(|(_, a)| a.intents.contains_key(id) || a.setups.contains_key(id))
            .map(|(account, _)| account.clone())
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
