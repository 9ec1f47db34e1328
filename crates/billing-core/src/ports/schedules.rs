use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::automation::{
    Action, DeclineKind, FailedAttempts, PaymentPolicy, PaymentSettings, Reason,
};
use crate::ids::{BookingId, BusinessId, CustomerId, PaymentId, RunId};

/// Why the schedule store failed. A failed call wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The store could not be reached, or the operation failed.
    #[error("schedule store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt or from an unknown version).
    #[error("schedule data unreadable: {0}")]
    Corrupt(String),
}

/// Payment automation's record of one booking: its own policy, where it stands, and when the
/// scheduler looks at it next. A booking has one as soon as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSchedule {
    /// The booking.
    pub booking: BookingId,
    /// Who pays for it (a customer's automation can be paused as a whole).
    pub customer: CustomerId,
    /// The booking's own policy, when it differs from the business's.
    pub policy: Option<PaymentPolicy>,
    /// When the customer booked: a deposit and the "at booking" policies count from it.
    pub booked_at: DateTime<Utc>,
    /// When the booking was canceled: nothing more is planned for it.
    pub canceled_at: Option<DateTime<Utc>>,
    /// When staff marked the booking as a no-show (it is canceled then too).
    pub no_show_at: Option<DateTime<Utc>>,
    /// Automation paused for this booking by staff.
    pub paused: bool,
    /// Automation gave up (or a card runs out before a charge): staff act first.
    pub needs_attention: bool,
    /// The failed attempts of the step automation is on, if its last attempt failed.
    pub failures: Option<FailedAttempts>,
    /// What automation plans to do next, as last planned (for people to read: the scheduler
    /// plans again from the booking as it is when `due_at` comes).
    pub next: Option<crate::automation::Planned>,
    /// When the scheduler looks at the booking next; `None`: not until something changes.
    pub due_at: Option<DateTime<Utc>>,
    /// The saved card this booking was last flagged for, as running out before a charge: the
    /// customer is asked for a new card once per card.
    pub card_flagged: Option<String>,
    /// A checkout for the booking is open until then: the customer is paying (or saving a
    /// card) on its page, so automation charges and holds nothing before.
    pub checkout_until: Option<DateTime<Utc>>,
    /// How many writes made the record (0: not stored yet). A write lands only on the version
    /// it was decided from: see [`Schedules::save_schedule`].
    pub version: u64,
}

impl BookingSchedule {
    /// A new record for a booking made at `booked_at`, due for planning at once.
    pub fn new(booking: BookingId, customer: CustomerId, booked_at: DateTime<Utc>) -> Self {
        BookingSchedule {
            booking,
            customer,
            policy: None,
            booked_at,
            canceled_at: None,
            no_show_at: None,
            paused: false,
            needs_attention: false,
            failures: None,
            next: None,
            due_at: Some(booked_at),
            card_flagged: None,
            checkout_until: None,
            version: 0,
        }
    }
}

/// A record whose time came, taken by one scheduler (see [`Schedules::take_due`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    /// Whose booking it is (a scheduler serves every business).
    pub business: BusinessId,
    /// The record as the take left it: its `due_at` is the lease's end, its version one
    /// further.
    pub schedule: BookingSchedule,
}

/// Which booking records to list, ordered by booking id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleFilter {
    /// Only this customer's bookings.
    pub customer: Option<CustomerId>,
    /// Only those that need attention (true) or do not (false).
    pub needs_attention: Option<bool>,
    /// Only bookings whose id sorts after this one (the next page).
    pub after: Option<BookingId>,
    /// At most this many.
    pub limit: u32,
}

impl Default for ScheduleFilter {
    fn default() -> Self {
        ScheduleFilter {
            customer: None,
            needs_attention: None,
            after: None,
            limit: 100,
        }
    }
}

/// How a run of automation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The money move was made (a charge, a hold, a capture, a renewed hold, a release).
    Succeeded,
    /// The gateway has not said yet (the customer must authenticate, or the answer was lost):
    /// the payment ends like any other, and automation plans again once it has.
    Pending,
    /// The card was declined.
    Declined {
        /// The decline code (or the failure's code when the gateway gave none).
        code: String,
        /// Whether it is tried again.
        kind: DeclineKind,
    },
    /// People were told (a hold running out, retries spent, a card running out).
    Notified,
    /// The run could not be made (no card on file, the gateway unreachable...): tried again at
    /// the next planning.
    Failed(String),
}

impl RunOutcome {
    /// The outcome's name on the wire and in the store.
    pub fn name(&self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Pending => "pending",
            RunOutcome::Declined { .. } => "declined",
            RunOutcome::Notified => "notified",
            RunOutcome::Failed(_) => "failed",
        }
    }

    /// Every outcome name, for a filter to check against.
    pub const NAMES: [&'static str; 5] = ["succeeded", "pending", "declined", "notified", "failed"];
}

/// One run of automation on a booking: what it did, why, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationRun {
    /// The run's id.
    pub id: RunId,
    /// The booking.
    pub booking: BookingId,
    /// Who pays for it.
    pub customer: CustomerId,
    /// When it ran.
    pub at: DateTime<Utc>,
    /// What it did.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Which attempt of its step (1 for the first).
    pub attempt: u32,
    /// The payment it made, if any.
    pub payment: Option<PaymentId>,
    /// How it ended.
    pub outcome: RunOutcome,
}

/// Which runs to list, newest first (runs at the same instant by id, descending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this booking's runs.
    pub booking: Option<BookingId>,
    /// Only runs with this outcome (by [`RunOutcome::name`]).
    pub outcome: Option<&'static str>,
    /// Only runs older than this one (the next page): its time and id.
    pub before: Option<(DateTime<Utc>, RunId)>,
    /// At most this many.
    pub limit: u32,
}

impl Default for RunFilter {
    fn default() -> Self {
        RunFilter {
            booking: None,
            outcome: None,
            before: None,
            limit: 100,
        }
    }
}

/// Payment automation's store, scoped per business (only [`Schedules::take_due`] serves every
/// business, for a scheduler, and says whose each record is): the business's payment settings,
/// one record per booking with the time the scheduler looks at it next, customers whose
/// automation is paused, and the history of runs.
///
/// Taking due records moves their due time forward by a lease and their version one further,
/// in one step, so that two schedulers never take the same record at once, and a scheduler
/// that dies mid-run leaves the record to be taken again when the lease runs out. What keeps a
/// money move from being made twice is its idempotency key, which the core derives from the
/// booking's ledger: the lease only keeps schedulers from doing the same work twice.
#[async_trait]
pub trait Schedules: Send + Sync {
    /// The business's payment settings, or `None` when it never set them.
    async fn payment_settings(
        &self,
        business: &BusinessId,
    ) -> Result<Option<PaymentSettings>, ScheduleError>;

    /// Stores the business's payment settings and, in the same step, makes every record of
    /// the business that is not canceled due at `replan_at` (at most then), so that each is
    /// planned again under the new settings.
    async fn put_payment_settings(
        &self,
        business: &BusinessId,
        settings: &PaymentSettings,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError>;

    /// A booking's record, or `None` when the business has none for it.
    async fn schedule(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSchedule>, ScheduleError>;

    /// Writes a booking's record if the stored one is still at `schedule.version` (0: none
    /// stored), storing it at the next version: `Ok(true)`; `Ok(false)` when it moved (read
    /// again and decide again), with nothing written.
    async fn save_schedule(
        &self,
        business: &BusinessId,
        schedule: &BookingSchedule,
    ) -> Result<bool, ScheduleError>;

    /// Takes at most `limit` records due at `now`, of every business, the earliest due first
    /// (then by business and booking), and moves their due time to `lease_until` and their
    /// version one further, all at once: a concurrent take gets other ones. Must not read
    /// every record: an index on the due time serves it, so that taking costs the same with
    /// a million records waiting as with a thousand.
    async fn take_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueSchedule>, ScheduleError>;

    /// The business's records matching the filter, ordered by booking id.
    async fn list_schedules(
        &self,
        business: &BusinessId,
        filter: &ScheduleFilter,
    ) -> Result<Vec<BookingSchedule>, ScheduleError>;

    /// Pauses (or resumes) automation for every booking of a customer. Resuming makes the
    /// customer's records that are not canceled due at `replan_at` (at most then).
    async fn set_customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        paused: bool,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError>;

    /// Whether automation is paused for the customer.
    async fn customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<bool, ScheduleError>;

    /// Adds a run to the history. A run already recorded under its id is left as it is.
    async fn record_run(
        &self,
        business: &BusinessId,
        run: &AutomationRun,
    ) -> Result<(), ScheduleError>;

    /// The business's runs matching the filter, newest first.
    async fn runs(
        &self,
        business: &BusinessId,
        filter: &RunFilter,
    ) -> Result<Vec<AutomationRun>, ScheduleError>;
}
