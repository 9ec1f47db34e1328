//! A booking's summary (`booking_summaries`): its amounts in minor units, status and flags,
//! and its dates.

use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::status::{Balance, BookingStatus, BookingSummary, PaymentStatus};
use chrono::{DateTime, Utc};

use super::{id, minor};
use crate::StoredRowError;

const WHAT: &str = "stored summary";

/// A booking summary's columns, to write. Serialized under the columns' names, for a store that
/// writes rows from JSON (Postgres's `billing_commit`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SummaryColumns {
    /// `booking_id`
    pub booking_id: String,
    /// `customer_id`
    pub customer_id: String,
    /// `currency`
    pub currency: String,
    /// `price_minor`
    #[serde(rename = "price_minor")]
    pub price: i64,
    /// `paid_minor`
    #[serde(rename = "paid_minor")]
    pub paid: i64,
    /// `refunded_minor`
    #[serde(rename = "refunded_minor")]
    pub refunded: i64,
    /// `in_flight_minor`
    #[serde(rename = "in_flight_minor")]
    pub in_flight: i64,
    /// `held_minor`
    #[serde(rename = "held_minor")]
    pub held: i64,
    /// `refunds_in_flight_minor`
    #[serde(rename = "refunds_in_flight_minor")]
    pub refunds_in_flight: i64,
    /// `balance_due_minor`
    #[serde(rename = "balance_due_minor")]
    pub balance_due: i64,
    /// `status`
    pub status: &'static str,
    /// `pending`
    pub pending: bool,
    /// `last_failed`
    pub last_failed: bool,
    /// `disputed`
    pub disputed: bool,
    /// `service_at`
    pub service_at: Option<DateTime<Utc>>,
    /// `completed_at`
    pub completed_at: Option<DateTime<Utc>>,
    /// `as_of`
    pub as_of: DateTime<Utc>,
}

impl SummaryColumns {
    /// The columns of a summary.
    pub fn of(summary: &BookingSummary) -> Result<Self, StoredRowError> {
        let b = &summary.balance;
        Ok(SummaryColumns {
            booking_id: summary.booking.as_str().to_owned(),
            customer_id: summary.customer.as_str().to_owned(),
            currency: summary.currency.code().to_owned(),
            price: minor(&b.price)?,
            paid: minor(&b.paid)?,
            refunded: minor(&b.refunded)?,
            in_flight: minor(&b.in_flight)?,
            held: minor(&b.held)?,
            refunds_in_flight: minor(&b.refunds_in_flight)?,
            balance_due: minor(&b.balance_due)?,
            status: summary.status.status.as_str(),
            pending: summary.status.pending,
            last_failed: summary.status.last_failed,
            disputed: summary.status.disputed,
            service_at: summary.service_at,
            completed_at: summary.completed_at,
            as_of: summary.as_of,
        })
    }

    /// The last summary of each booking (a write may carry several of one booking; one
    /// statement cannot touch a row twice).
    pub fn last_of_each(summaries: &[BookingSummary]) -> Result<Vec<Self>, StoredRowError> {
        let mut columns: Vec<Self> = Vec::with_capacity(summaries.len());
        for summary in summaries.iter().rev() {
            if !columns
                .iter()
                .any(|c| c.booking_id == summary.booking.as_str())
            {
                columns.push(Self::of(summary)?);
            }
        }
        columns.reverse();
        Ok(columns)
    }
}

/// The columns [`SummaryRow`] reads, in a SELECT list.
pub const SUMMARY_COLUMNS: &str = "booking_id, customer_id, currency, price_minor, \
    paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor, \
    balance_due_minor, status, pending, last_failed, disputed, service_at, completed_at, as_of";

/// A booking summary row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct SummaryRow {
    booking_id: String,
    customer_id: String,
    currency: String,
    price_minor: i64,
    paid_minor: i64,
    refunded_minor: i64,
    in_flight_minor: i64,
    held_minor: i64,
    refunds_in_flight_minor: i64,
    balance_due_minor: i64,
    status: String,
    pending: bool,
    last_failed: bool,
    disputed: bool,
    service_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    as_of: DateTime<Utc>,
}

impl SummaryRow {
    /// The summary.
    pub fn into_summary(self) -> Result<BookingSummary, StoredRowError> {
        let currency =
            Currency::from_code(&self.currency).map_err(|e| StoredRowError::new(WHAT, e))?;
        let money = |minor| Money::from_minor(minor, currency);
        Ok(BookingSummary {
            booking: id::<BookingId>(WHAT, &self.booking_id)?,
            customer: id::<CustomerId>(WHAT, &self.customer_id)?,
            currency,
            balance: Balance {
                price: money(self.price_minor),
                paid: money(self.paid_minor),
                refunded: money(self.refunded_minor),
                in_flight: money(self.in_flight_minor),
                held: money(self.held_minor),
                refunds_in_flight: money(self.refunds_in_flight_minor),
                balance_due: money(self.balance_due_minor),
            },
            status: BookingStatus {
                status: PaymentStatus::parse(&self.status).ok_or_else(|| {
                    StoredRowError::new(WHAT, format!("unknown status {:?}", self.status))
                })?,
                pending: self.pending,
                last_failed: self.last_failed,
                disputed: self.disputed,
            },
            service_at: self.service_at,
            completed_at: self.completed_at,
            as_of: self.as_of,
        })
    }
}
