//! Conversions between the core's types and the database's columns, and the mapping of sqlx
//! errors to the ports' errors.

use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::ports::{BusinessesError, DirectoryError, LedgerError};
use billing_core::status::{Balance, BookingStatus, BookingSummary, PaymentStatus};
use chrono::{DateTime, Utc};

/// A storage failure of the ledger: unreadable rows are `Corrupt`, everything else (I/O, pool,
/// locks, a failed transaction) is `Unavailable`.
pub(crate) fn ledger_error(error: sqlx::Error) -> LedgerError {
    match error {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => LedgerError::Corrupt(error.to_string()),
        other => LedgerError::Unavailable(other.to_string()),
    }
}

/// A storage failure of the customer directory.
pub(crate) fn directory_error(error: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(error.to_string())
}

/// A storage failure of the business store.
pub(crate) fn businesses_error(error: impl std::fmt::Display) -> BusinessesError {
    BusinessesError::Unavailable(error.to_string())
}

/// A value read back that does not parse: the row is corrupt (or from an unknown version).
pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt(format!("{what}: {error}"))
}

/// JSON of a stored body.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, LedgerError> {
    // Serializing the core's types cannot fail (no maps with non-string keys); kept typed anyway.
    serde_json::to_string(value).map_err(|e| corrupt("cannot serialize", e))
}

/// A stored JSON body.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    body: &str,
) -> Result<T, LedgerError> {
    serde_json::from_str(body).map_err(|e| corrupt(what, e))
}

/// Money in integer minor units (never floating point).
pub(crate) fn minor(money: &Money) -> Result<i64, LedgerError> {
    money
        .to_minor()
        .map_err(|e| LedgerError::Corrupt(format!("{money} cannot be stored: {e}")))
}

/// A booking summary's columns.
#[derive(Debug)]
pub(crate) struct SummaryColumns {
    pub(crate) booking_id: String,
    pub(crate) customer_id: String,
    pub(crate) currency: String,
    pub(crate) price: i64,
    pub(crate) paid: i64,
    pub(crate) refunded: i64,
    pub(crate) in_flight: i64,
    pub(crate) held: i64,
    pub(crate) refunds_in_flight: i64,
    pub(crate) balance_due: i64,
    pub(crate) status: &'static str,
    pub(crate) pending: bool,
    pub(crate) last_failed: bool,
    pub(crate) as_of: DateTime<Utc>,
}

impl SummaryColumns {
    pub(crate) fn of(summary: &BookingSummary) -> Result<Self, LedgerError> {
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
            as_of: summary.as_of,
        })
    }
}

/// A booking summary row as read.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SummaryRow {
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
    as_of: DateTime<Utc>,
}

/// The columns [`SummaryRow`] reads, in a SELECT list.
pub(crate) const SUMMARY_COLUMNS: &str = "booking_id, customer_id, currency, price_minor, \
    paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor, \
    balance_due_minor, status, pending, last_failed, as_of";

impl SummaryRow {
    pub(crate) fn into_summary(self) -> Result<BookingSummary, LedgerError> {
        let currency = currency(&self.currency)?;
        let money = |minor| Money::from_minor(minor, currency);
        Ok(BookingSummary {
            booking: booking_id(self.booking_id)?,
            customer: customer_id(self.customer_id)?,
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
                status: PaymentStatus::parse(&self.status)
                    .ok_or_else(|| corrupt("unknown payment status", &self.status))?,
                pending: self.pending,
                last_failed: self.last_failed,
            },
            as_of: self.as_of,
        })
    }
}

/// A stored currency code.
pub(crate) fn currency(code: &str) -> Result<Currency, LedgerError> {
    Currency::from_code(code).map_err(|e| corrupt("stored currency", e))
}

/// A stored booking id.
pub(crate) fn booking_id(id: String) -> Result<BookingId, LedgerError> {
    BookingId::new(id).map_err(|e| corrupt("stored booking id", e))
}

/// A stored customer id.
pub(crate) fn customer_id(id: String) -> Result<CustomerId, LedgerError> {
    CustomerId::new(id).map_err(|e| corrupt("stored customer id", e))
}

/// Ids sorted and without duplicates (the order in which results are returned).
pub(crate) fn sorted_ids(ids: &[BookingId]) -> Vec<BookingId> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    ids
}

/// Ids as a text array parameter (one statement for any number of ids).
pub(crate) fn id_array(ids: &[BookingId]) -> Vec<String> {
    ids.iter().map(|id| id.as_str().to_owned()).collect()
}
