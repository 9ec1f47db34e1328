//! The use cases: [`Billing`], one service over the ports, driven the same way by every driving
//! adapter (the HTTP API, a console, a scheduler, a service that embeds the core).
//!
//! Money-moving commands follow one pattern, so that no command can charge twice:
//! 1. Read the bookings (and the command's idempotency key), decide, and commit the payment as
//!    *pending* (which counts as in flight for every later command) — only if the bookings did
//!    not move since they were read; otherwise read again and decide again.
//! 2. Call the gateway with a key derived from the payment's id, outside any transaction.
//! 3. Commit the outcome. An unknown outcome leaves the payment pending for the reconciler,
//!    which settles it from the gateway's own record.
//!
//! A command answers a [`Receipt`]: settled, pending or declined, and whether it replays an
//! earlier command under the same key. Refusals (nothing written) are [`BillingError`](crate::error::BillingError)s.
//!
//! Every payment ends. A pending payment is settled from the gateway's record — looked up
//! before anything is sent again, never sent again once the gateway may have forgotten its key
//! or when its customer (on a link's page) is gone — by the command's replay, a webhook, the
//! customer's return from authenticating, staff ([`Billing::reconcile`],
//! [`Billing::mark_failed`], [`Billing::cancel_payment`]) or the periodic [`Billing::sweep`].
//! What happens at the gateway outside our commands (captures, refunds and releases in its
//! dashboard, disputes, holds that run out) is brought into the ledger as records of the
//! gateway's ([`Billing::sync_payment`]).

mod automation;
mod bulk;
mod businesses;
mod card_requests;
mod checkouts;
mod commands;
mod connect;
mod customers;
mod endings;
mod events;
mod gateway_calls;
mod gateway_changes;
mod gateway_sync;
mod holds;
mod lanes;
mod ledgers;
mod link_pages;
mod links;
mod moves;
mod no_show;
mod notifications;
mod portal;
mod reads;
mod reconcile;
mod refunds;
mod reports;
mod scheduler;
mod staff;
mod sweep;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

pub use automation::{BookingAutomation, CancelBooking, Cancellation};
pub use bulk::{BulkCharge, BulkChargeResult, BulkPacing};
pub use businesses::{
    ApiKey, CreatedApiKey, FIRST_KEY_LABEL, IssuedApiKey, MAX_KEY_LABEL_CHARS, NewApiKey,
    NewBusiness,
};
pub use card_requests::CardRequestAnswer;
pub use checkouts::{CheckoutOfToken, StartCheckout, StartedCheckout, checkout_lifetime};
pub use commands::{AuthorizeBooking, ChargeBooking, PaymentSource, RecordCollection};
pub use connect::Onboarding;
pub use events::EventHandled;
pub use holds::CaptureHold;
pub use link_pages::{LinkPage, LinkPaid, PayLink};
pub use links::{CreatePaymentLink, HostedPages, IssuedLink, MAX_LINK_BOOKINGS, Sending};
pub use no_show::NoShow;
pub use portal::{
    MAX_PORTAL_BOOKINGS, PORTAL_PATH, PortalBooking, PortalEntry, PortalLinkSent, PortalOverview,
    PortalReceipt, PortalVisit, ReceiptKind,
};
pub use reads::{BookingView, OutstandingPage, PaymentView, PriceAdjustment};
pub use refunds::RefundPayment;
pub use reports::{MAX_REPORT_DAYS, PaymentTotals, PaymentsDay, PaymentsReport};
pub use scheduler::SchedulerReport;
pub use staff::{Invited, NewStaff, SignedIn, StaffVisit, invitation_lifetime};
pub use sweep::SweepReport;

use crate::automation::RetrySchedule;
use crate::ports::{Clock, IdGenerator, PaymentGateway, SecretSource, Store};
pub use crate::receipt::{Outcome, Receipt};

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
    /// How bulk charges share the gateway.
    pub bulk: BulkPacing,
    /// How long a link's payment may wait for its customer to authenticate (3-D Secure): past
    /// it, the reconciler gives the attempt up, so that the link can be paid again.
    pub authentication_timeout: Duration,
    /// How long a payment may stay pending before the sweep reconciles it.
    pub reconcile_after: Duration,
    /// How far back the sweep reads the gateway's events, for what webhooks missed.
    pub event_lookback: Duration,
    /// How long a scheduler keeps a booking it took: past it, another may take it again.
    pub automation_lease: Duration,
    /// When failed automatic charges and holds are tried again.
    pub retries: RetrySchedule,
    /// How often a booking that needs attention is looked at again (to clear the flag once it
    /// is settled some other way), and a run that could not be made is tried again.
    pub automation_recheck: Duration,
    /// How long after a booking is stored automation waits before charging or holding it: the
    /// business's booking page stores the booking, then starts its checkout, and a returning
    /// customer's saved card must not be charged in between.
    pub checkout_grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            duplicate_window: Duration::minutes(5),
            in_progress_timeout: Duration::seconds(60),
            default_hold: Duration::days(7),
            bulk: BulkPacing::default(),
            authentication_timeout: Duration::hours(1),
            reconcile_after: Duration::minutes(5),
            event_lookback: Duration::days(3),
            automation_lease: Duration::minutes(5),
            retries: RetrySchedule::default(),
            automation_recheck: Duration::hours(1),
            checkout_grace: Duration::minutes(2),
        }
    }
}

/// The billing service: every use case, over a [`Store`] and a [`PaymentGateway`]. Cheap to
/// clone: clones share everything, so each driving adapter can keep its own.
#[derive(Clone)]
pub struct Billing {
    store: Arc<dyn Store>,
    gateway: Arc<dyn PaymentGateway>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    secrets: Arc<dyn SecretSource>,
    policy: Policy,
    pages: Option<HostedPages>,
    onboarding: Option<Arc<dyn crate::ports::AccountOnboarding>>,
    pacer: Arc<bulk::Pacer>,
    seen_events: Arc<events::SeenEvents>,
    lanes: Arc<lanes::Lanes>,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("policy", &self.policy)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl Billing {
    /// A service over its ports, with the default [`Policy`]: where it keeps things, the card
    /// gateway, the time, new ids, and random secrets (link tokens, API keys).
    pub fn new(
        store: Arc<dyn Store>,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secrets: Arc<dyn SecretSource>,
    ) -> Self {
        let policy = Policy::default();
        Billing {
            pacer: Arc::new(bulk::Pacer::new(&policy.bulk)),
            seen_events: Arc::new(events::SeenEvents::default()),
            lanes: Arc::new(lanes::Lanes::default()),
            store,
            gateway,
            clock,
            ids,
            secrets,
            policy,
            pages: None,
            onboarding: None,
        }
    }

    /// The same service with another policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.pacer = Arc::new(bulk::Pacer::new(&policy.bulk));
        self.policy = policy;
        self
    }

    /// The same service with payment links and card requests.
    pub fn with_hosted_pages(mut self, pages: HostedPages) -> Self {
        self.pages = Some(pages);
        self
    }

    /// The same service with the gateway's onboarding of connected accounts, so that a
    /// business can connect its own account ([`Billing::start_onboarding`]).
    pub fn with_onboarding(mut self, onboarding: Arc<dyn crate::ports::AccountOnboarding>) -> Self {
        self.onboarding = Some(onboarding);
        self
    }

    /// The service's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The time, as the service reads it.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
