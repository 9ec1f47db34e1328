//! The use cases: [`Billing`], a service generic over its storage and gateway ports.
//!
//! Money-moving commands follow one pattern, so that no command can charge twice:
//! 1. In one short transaction: lock the bookings, claim the idempotency key, check the amount
//!    against the balance less what is in flight, and open the payment as *pending* (which
//!    counts as in flight for every later command).
//! 2. Call the gateway with a key derived from the payment's id, outside any transaction.
//! 3. In a second transaction: record the outcome. An unknown outcome leaves the payment pending
//!    for the reconciler, which settles it from the gateway's own record.

mod commands;
mod customers;
mod links;
mod moves;
mod reads;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

pub use commands::{
    AuthorizeBooking, BulkCharge, BulkChargeResult, CaptureHold, ChargeBooking, PaymentSource,
    RecordCollection, RefundPayment,
};
pub use links::{
    CreatePaymentLink, HostedPages, IssuedLink, LinkPage, LinkPaid, MAX_LINK_BOOKINGS, PayLink,
};
pub use reads::{BookingView, OutstandingReport, PaymentView, Receipt};

use crate::ports::{Clock, CustomerDirectory, IdGenerator, Ledger, PaymentGateway};

/// Tunable rules of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Without an idempotency key, the same charge of the same booking within this window is
    /// refused as a probable duplicate unless the command says it is intended.
    pub duplicate_window: Duration,
    /// A command whose gateway call has not finished after this long is taken as abandoned
    /// (its process died): a replay reconciles it instead of answering "in progress".
    pub in_progress_timeout: Duration,
    /// How long a hold lasts when the gateway does not say (Stripe: 7 days).
    pub default_hold: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            duplicate_window: Duration::minutes(5),
            in_progress_timeout: Duration::seconds(60),
            default_hold: Duration::days(7),
        }
    }
}

/// The billing service: every use case, over a store `S` (a [`Ledger`] and a
/// [`CustomerDirectory`]) and a [`PaymentGateway`] `G`.
pub struct Billing<S, G> {
    store: S,
    gateway: G,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    policy: Policy,
    pages: Option<HostedPages>,
}

impl<S, G> std::fmt::Debug for Billing<S, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("policy", &self.policy)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl<S, G> Billing<S, G>
where
    S: Ledger + CustomerDirectory,
    G: PaymentGateway,
{
    /// A service over its ports, with the default [`Policy`].
    pub fn new(store: S, gateway: G, clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>) -> Self {
        Billing {
            store,
            gateway,
            clock,
            ids,
            policy: Policy::default(),
            pages: None,
        }
    }

    /// The same service with another policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The same service with payment links and card requests, served at `pages.base_url`.
    pub fn with_hosted_pages(mut self, pages: HostedPages) -> Self {
        self.pages = Some(pages);
        self
    }

    /// The hosted pages' settings, when configured.
    pub fn hosted_pages(&self) -> Option<&HostedPages> {
        self.pages.as_ref()
    }

    /// The store, for adapters that share it.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The gateway, for adapters that share it.
    pub fn gateway(&self) -> &G {
        &self.gateway
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
