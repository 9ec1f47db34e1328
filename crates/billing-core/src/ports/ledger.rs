use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::booking::BookingAccount;
use crate::customer::{Customer, SavedCard};
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use crate::money::{Currency, Money};
use crate::payment::{Entry, Payment, PaymentDayTotals};
use crate::receipt::Receipt;
use crate::status::{BookingSummary, PaymentStatus};

/// Why the ledger failed. Whatever the error, a failed commit wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// What the write was decided from changed since it was read: a booking's version moved,
    /// or an entry with the same (payment, seq) exists. The caller reads again and decides
    /// again.
    #[error("concurrent write: {0}")]
    Conflict(String),
    /// The store could not be reached, or the operation failed.
    #[error("ledger unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt or from an unknown version).
    #[error("ledger data unreadable: {0}")]
    Corrupt(String),
}

/// A booking's billing view, its version and every entry of every payment touching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingLedger {
    /// The billing view.
    pub account: BookingAccount,
    /// How many commits wrote the booking: a commit decided from this read lands only while
    /// the booking is still at this version.
    pub version: u64,
    /// The entries, in (payment, seq) order or any order: the core folds them.
    pub entries: Vec<Entry>,
}

/// What a use case reads before it decides, in one call: bookings with their entries and,
/// when asked, the record under an idempotency key and the paying customer with their cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerRead<'a> {
    /// The bookings (unknown ones are left out of the answer).
    pub bookings: &'a [BookingId],
    /// The idempotency key whose record to read.
    pub key: Option<&'a IdempotencyKey>,
    /// Also read the customer of the first booking, with their saved cards.
    pub payer: bool,
}

impl<'a> LedgerRead<'a> {
    /// A read of these bookings only.
    pub fn bookings(bookings: &'a [BookingId]) -> Self {
        LedgerRead {
            bookings,
            key: None,
            payer: false,
        }
    }

    /// The same read, with the record under `key` when there is one.
    pub fn with_key(mut self, key: Option<&'a IdempotencyKey>) -> Self {
        self.key = key;
        self
    }

    /// The same read, with the first booking's customer and their cards.
    pub fn with_payer(mut self) -> Self {
        self.payer = true;
        self
    }
}

/// What a [`LedgerRead`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerSnapshot {
    /// The bookings found, ordered by id.
    pub ledgers: Vec<BookingLedger>,
    /// The record under the key asked for, if any.
    pub key: Option<IdempotencyRecord>,
    /// The first booking's customer and their cards (default first), when asked and found.
    pub payer: Option<(Customer, Vec<SavedCard>)>,
}

/// An idempotency record: one per (business, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The client's key.
    pub key: IdempotencyKey,
    /// What was asked under it.
    pub fingerprint: Fingerprint,
    /// The payment the command opened.
    pub payment: PaymentId,
    /// False while the command is still at the gateway.
    pub completed: bool,
    /// When the key was first used.
    pub created_at: DateTime<Utc>,
    /// The settled answer the command first gave (charged or declined, with the bookings as
    /// they stood then), kept so that every replay answers it again exactly, however the
    /// payment and its bookings changed since. `None` while the command has no settled answer.
    pub first_answer: Option<Box<Receipt>>,
}

/// What a commit does to an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUpdate {
    /// The command under the key is done. The answer is kept only when the record has none
    /// yet: the first one kept never changes.
    Complete {
        /// The key.
        key: IdempotencyKey,
        /// The settled answer to keep for replays, when the command has one.
        first_answer: Option<Box<Receipt>>,
    },
    /// The command certainly did nothing at the gateway: the key is forgotten, so the client
    /// may try again under it.
    Release(IdempotencyKey),
}

/// Writes that land together, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerWrite {
    /// Every booking the write was decided from, at the version read (0 for a booking not
    /// stored yet). The write lands only if none of them moved (a booking not stored is at
    /// version 0); each one stored, or made by this write, is then one version further. Every
    /// booking the write touches (accounts, entries, summaries) is among them.
    pub read: Vec<(BookingId, u64)>,
    /// An idempotency key to claim: when the business already has a record under it, nothing
    /// is written and the commit answers [`Committed::KeyTaken`].
    pub claim: Option<IdempotencyRecord>,
    /// Billing views created or replaced.
    pub bookings: Vec<BookingAccount>,
    /// Entries appended. [`LedgerError::Conflict`] when one's (payment, seq) exists.
    pub entries: Vec<Entry>,
    /// The summaries of the bookings the write changes (the last one of a booking wins).
    pub summaries: Vec<BookingSummary>,
    /// What happens to the command's key.
    pub key: Option<KeyUpdate>,
    /// What the entries change in the per-day payment totals
    /// ([`Ledger::payment_day_totals`]): per (day, currency), each moved payment's totals after
    /// less before, on the day it was created ([`PaymentDayTotals::changes`]). Amounts may be
    /// negative. The store adds them to the totals it keeps, in the same transaction; the core
    /// computes them, so that what counts is decided in one place.
    pub payment_days: Vec<PaymentDayTotals>,
}

impl LedgerWrite {
    /// True when the write changes nothing.
    pub fn is_empty(&self) -> bool {
        self.claim.is_none()
            && self.bookings.is_empty()
            && self.entries.is_empty()
            && self.payment_days.is_empty()
            && self.summaries.is_empty()
            && self.key.is_none()
    }
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Everything was written.
    Written,
    /// The key to claim was taken: here is its record, and nothing was written.
    KeyTaken(Box<IdempotencyRecord>),
}

/// Which booking summaries to list. Results are ordered by booking id. The default lists
/// every booking, 100 at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFilter {
    /// Only this customer's bookings.
    pub customer: Option<CustomerId>,
    /// Only bookings in this status.
    pub status: Option<PaymentStatus>,
    /// Only bookings with (true) or without (false) something in flight.
    pub pending: Option<bool>,
    /// Only bookings whose summary counts a hold (`held` above zero: true) or none (false), as
    /// the summary was last written: the sweep finds holds whose time ran out this way.
    pub holding: Option<bool>,
    /// Only bookings whose service is scheduled at or after this time (on the summary's
    /// `service_at`). A booking with no service date is left out when either bound is set.
    pub service_from: Option<DateTime<Utc>>,
    /// Only bookings whose service is scheduled before this time (exclusive). A booking with no
    /// service date is left out when either bound is set.
    pub service_until: Option<DateTime<Utc>>,
    /// Only bookings whose id or customer id contains this text, ignoring ASCII case (ids are
    /// ASCII). An empty text filters nothing.
    pub search: Option<String>,
    /// Only bookings whose id sorts after this one (the next page).
    pub after: Option<BookingId>,
    /// At most this many.
    pub limit: u32,
}

impl Default for BookingFilter {
    fn default() -> Self {
        BookingFilter {
            customer: None,
            status: None,
            pending: None,
            holding: None,
            service_from: None,
            service_until: None,
            search: None,
            after: None,
            limit: 100,
        }
    }
}

impl BookingFilter {
    /// True when a summary passes the filter's conditions (all but the page: `after` and
    /// `limit`). The stores' reference: the in-memory store lists with it, and the SQL stores
    /// say the same in SQL.
    pub fn matches(&self, summary: &BookingSummary) -> bool {
        let dated = (self.service_from.is_none() && self.service_until.is_none())
            || summary.service_at.is_some_and(|at| {
                self.service_from.is_none_or(|from| at >= from)
                    && self.service_until.is_none_or(|until| at < until)
            });
        let found = self.search.as_deref().is_none_or(|text| {
            let text = text.to_ascii_lowercase();
            summary
                .booking
                .as_str()
                .to_ascii_lowercase()
                .contains(&text)
                || summary
                    .customer
                    .as_str()
                    .to_ascii_lowercase()
                    .contains(&text)
        });
        dated
            && found
            && self
                .customer
                .as_ref()
                .is_none_or(|c| &summary.customer == c)
            && self.status.is_none_or(|s| summary.status.status == s)
            && self.pending.is_none_or(|p| summary.status.pending == p)
            && self
                .holding
                .is_none_or(|h| summary.balance.held.is_positive() == h)
    }
}

/// Which payments of a business to read by when they were created: those created in
/// `[from, until)`, ordered by creation time then payment id, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsQuery {
    /// Created at or after this time.
    pub from: DateTime<Utc>,
    /// Created before this time.
    pub until: DateTime<Utc>,
    /// Only payments after this (creation time, payment id): the last payment of the previous
    /// page (its `created_at` and `id`).
    pub after: Option<(DateTime<Utc>, PaymentId)>,
    /// At most this many.
    pub limit: u32,
}

impl PaymentsQuery {
    /// The first page (of at most 100) of the payments created in `[from, until)`.
    pub fn between(from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        PaymentsQuery {
            from,
            until,
            after: None,
            limit: 100,
        }
    }
}

/// What one customer owes in one currency: the sum of their bookings' positive balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerOutstanding {
    /// The customer.
    pub customer: CustomerId,
    /// What they owe (positive).
    pub balance_due: Money,
    /// How many of their bookings have a balance due.
    pub bookings: u64,
}

/// Which rows of the outstanding report to read, ordered by customer then currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingQuery {
    /// Only this customer.
    pub customer: Option<CustomerId>,
    /// Only rows after this (customer, currency) (the next page).
    pub after: Option<(CustomerId, Currency)>,
    /// At most this many rows.
    pub limit: u32,
}

impl Default for OutstandingQuery {
    fn default() -> Self {
        OutstandingQuery {
            customer: None,
            after: None,
            limit: 100,
        }
    }
}

/// What all customers of a business owe in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingTotal {
    /// The sum of every booking's positive balance.
    pub balance_due: Money,
    /// How many bookings have a balance due.
    pub bookings: u64,
}

/// Durable storage of bookings, payment entries, booking summaries and idempotency records,
/// scoped per business: no method can read or write another business's rows.
///
/// Concurrency is optimistic. A use case reads what it decides from ([`Ledger::read`]), then
/// commits its writes with the versions it read ([`Ledger::commit`]); a commit lands only if
/// none of those bookings moved meanwhile, so two processes can never both decide to charge
/// the same balance, and no lock is held while the use case decides or waits for the gateway.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Reads bookings with their entries and versions, and what else the read asks for,
    /// without locking.
    async fn read(
        &self,
        business: &BusinessId,
        read: &LedgerRead<'_>,
    ) -> Result<LedgerSnapshot, LedgerError>;

    /// Writes everything or nothing: the key is claimed first (a taken key writes nothing),
    /// then every booking read must still be at its version ([`LedgerError::Conflict`]
    /// otherwise), then the bookings, entries, summaries and key update are written.
    async fn commit(
        &self,
        business: &BusinessId,
        write: &LedgerWrite,
    ) -> Result<Committed, LedgerError>;

    /// The bookings a payment touches, or `None` when the business has no such payment.
    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError>;

    /// Booking summaries matching the filter, ordered by booking id.
    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError>;

    /// The payments created in the query's period (`[from, until)`, by the creation time of
    /// their opening entry), as they stand now, ordered by creation time then id, after the
    /// query's cursor and at most its limit. A store that keeps times to the microsecond
    /// (Postgres) compares the period and the cursor at that precision. Must not read the business's whole ledger: an index in creation order serves it.
    async fn payments_created(
        &self,
        business: &BusinessId,
        query: &PaymentsQuery,
    ) -> Result<Vec<Payment>, LedgerError>;

    /// What customers owe, one row per (customer, currency) with a positive balance, ordered
    /// by customer then currency. Must not read every booking of the business: an index in
    /// (customer, currency) order over the bookings that owe something (or a maintained
    /// aggregate) serves it, so that a page costs the same whatever the number of bookings.
    async fn outstanding(
        &self,
        business: &BusinessId,
        query: &OutstandingQuery,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError>;

    /// What all customers owe, one row per currency with a positive total, ordered by
    /// currency code. Kept as it goes: its cost does not grow with the bookings or customers.
    async fn outstanding_totals(
        &self,
        business: &BusinessId,
    ) -> Result<Vec<OutstandingTotal>, LedgerError>;

    /// The payment totals of the days (UTC) in `[from, until)`: one row per (day, currency)
    /// that comes to something, ordered by day then currency code, each the sum of
    /// [`PaymentTotals::of`](crate::payment::PaymentTotals::of) over the payments created that
    /// day, as they stand now. Kept as it goes (each commit adds its
    /// [`LedgerWrite::payment_days`]): its cost grows with the days asked for, not with the
    /// payments. Whole days only: a day is the unit the totals are kept in.
    async fn payment_day_totals(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<PaymentDayTotals>, LedgerError>;
}
