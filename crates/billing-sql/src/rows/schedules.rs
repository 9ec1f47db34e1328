//! Payment automation's rows: a business's payment settings (`payment_settings`), its
//! bookings' schedules (`booking_schedules`) and the history of runs (`automation_runs`).
//!
//! Each row keeps its body's format version in a `format` column; the columns beside the body
//! are the ones queries filter and sort on.

use billing_core::automation::PaymentSettings;
use billing_core::ids::{BookingId, BusinessId, CustomerId, RunId};
use billing_core::ports::{AutomationRun, BookingSchedule, DueSchedule};
use chrono::{DateTime, Utc};

use super::id;
use crate::StoredRowError;
use crate::formats::{
    RUN_VERSION, RunBody, SCHEDULE_VERSION, SETTINGS_VERSION, ScheduleBody, decode_run,
    decode_schedule, decode_settings, encode_run, encode_schedule, encode_settings,
};

const SCHEDULE: &str = "stored booking schedule";
const RUN: &str = "stored automation run";

/// The columns [`ScheduleRow`] reads, in a SELECT list (Postgres casts `body` to text).
pub const SCHEDULE_COLUMNS: &str = "business_id, booking_id, customer_id, due_at, \
    needs_attention, canceled_at, version, format, body";

/// The columns [`RunRow`] reads, in a SELECT list (Postgres casts `body` to text).
pub const RUN_COLUMNS: &str = "id, booking_id, customer_id, at, outcome, format, body";

/// A body as stored: its format version (the `format` column) and its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBody {
    /// `format`.
    pub format: i32,
    /// `body`.
    pub body: String,
}

fn format_column(what: &'static str, version: u32) -> Result<i32, StoredRowError> {
    i32::try_from(version).map_err(|e| StoredRowError::new(what, e))
}

fn version_read(what: &'static str, format: i32) -> Result<u32, StoredRowError> {
    u32::try_from(format).map_err(|_| StoredRowError::new(what, format!("format {format}")))
}

impl StoredBody {
    /// A business's payment settings as stored.
    pub fn settings(settings: &PaymentSettings) -> Result<Self, StoredRowError> {
        Ok(StoredBody {
            format: format_column("payment settings to store", SETTINGS_VERSION)?,
            body: encode_settings(settings)?,
        })
    }

    /// A run's body as stored.
    pub fn run(run: &AutomationRun) -> Result<Self, StoredRowError> {
        Ok(StoredBody {
            format: format_column(RUN, RUN_VERSION)?,
            body: encode_run(&RunBody::of(run))?,
        })
    }
}

/// The columns a booking's schedule is written with (beside its business, booking and
/// customer ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleColumns {
    /// `due_at`.
    pub due_at: Option<DateTime<Utc>>,
    /// `needs_attention`.
    pub needs_attention: bool,
    /// `canceled_at`.
    pub canceled_at: Option<DateTime<Utc>>,
    /// The version the record was decided from: the stored row must still be at it.
    pub read_version: i64,
    /// `format` and `body`.
    pub body: StoredBody,
}

impl ScheduleColumns {
    /// The columns of a record.
    pub fn of(schedule: &BookingSchedule) -> Result<Self, StoredRowError> {
        Ok(ScheduleColumns {
            due_at: schedule.due_at,
            needs_attention: schedule.needs_attention,
            canceled_at: schedule.canceled_at,
            read_version: i64::try_from(schedule.version)
                .map_err(|e| StoredRowError::new(SCHEDULE, e))?,
            body: StoredBody {
                format: format_column(SCHEDULE, SCHEDULE_VERSION)?,
                body: encode_schedule(&ScheduleBody::of(schedule))?,
            },
        })
    }
}

/// A business's payment settings as read: `format, body`.
#[derive(Debug, sqlx::FromRow)]
pub struct SettingsRow {
    format: i32,
    body: String,
}

impl SettingsRow {
    /// The settings.
    pub fn settings(&self) -> Result<PaymentSettings, StoredRowError> {
        let what = "stored payment settings";
        decode_settings(version_read(what, self.format)?, &self.body)
    }
}

/// A booking's schedule as read.
#[derive(Debug, sqlx::FromRow)]
pub struct ScheduleRow {
    business_id: String,
    booking_id: String,
    customer_id: String,
    due_at: Option<DateTime<Utc>>,
    needs_attention: bool,
    canceled_at: Option<DateTime<Utc>>,
    version: i64,
    format: i32,
    body: String,
}

impl ScheduleRow {
    /// Whose and which booking's record it is.
    pub fn key(&self) -> (&str, &str) {
        (&self.business_id, &self.booking_id)
    }

    /// The record.
    pub fn schedule(&self) -> Result<BookingSchedule, StoredRowError> {
        let body = decode_schedule(version_read(SCHEDULE, self.format)?, &self.body)?;
        Ok(BookingSchedule {
            booking: id::<BookingId>(SCHEDULE, &self.booking_id)?,
            customer: id::<CustomerId>(SCHEDULE, &self.customer_id)?,
            policy: body.policy,
            booked_at: body.booked_at,
            canceled_at: self.canceled_at,
            no_show_at: body.no_show_at,
            paused: body.paused,
            needs_attention: self.needs_attention,
            failures: body.failures,
            next: body.next,
            due_at: self.due_at,
            card_flagged: body.card_flagged,
            checkout_until: body.checkout_until,
            version: u64::try_from(self.version).map_err(|e| StoredRowError::new(SCHEDULE, e))?,
        })
    }

    /// The record with whose it is, for a scheduler serving every business.
    pub fn due(&self) -> Result<DueSchedule, StoredRowError> {
        Ok(DueSchedule {
            business: id::<BusinessId>(SCHEDULE, &self.business_id)?,
            schedule: self.schedule()?,
        })
    }
}

/// A record taken by a scheduler, as the take left it, with when it was due before (the take
/// moved its due time to the lease's end, and answers the earliest due first).
#[derive(Debug, sqlx::FromRow)]
pub struct TakenRow {
    #[sqlx(flatten)]
    row: ScheduleRow,
    was_due: DateTime<Utc>,
}

impl TakenRow {
    /// The order a take answers in: the earliest due first, then by business and booking.
    pub fn order_key(&self) -> (DateTime<Utc>, &str, &str) {
        (self.was_due, &self.row.business_id, &self.row.booking_id)
    }

    /// The record with whose it is.
    pub fn due(&self) -> Result<DueSchedule, StoredRowError> {
        self.row.due()
    }
}

/// A run as read.
#[derive(Debug, sqlx::FromRow)]
pub struct RunRow {
    id: String,
    booking_id: String,
    customer_id: String,
    at: DateTime<Utc>,
    outcome: String,
    format: i32,
    body: String,
}

impl RunRow {
    /// The run.
    pub fn run(&self) -> Result<AutomationRun, StoredRowError> {
        let body = decode_run(version_read(RUN, self.format)?, &self.body)?;
        // The column is what filters read: one that says otherwise than the body is corrupt.
        if body.outcome.name() != self.outcome {
            return Err(StoredRowError::new(
                RUN,
                format!(
                    "outcome column {:?}, body {:?}",
                    self.outcome,
                    body.outcome.name()
                ),
            ));
        }
        Ok(AutomationRun {
            id: id::<RunId>(RUN, &self.id)?,
            booking: id::<BookingId>(RUN, &self.booking_id)?,
            customer: id::<CustomerId>(RUN, &self.customer_id)?,
            at: self.at,
            action: body.action,
            reason: body.reason,
            attempt: body.attempt,
            payment: body.payment,
            outcome: body.outcome,
        })
    }
}
