use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::booking::BookingAccount;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use crate::money::Money;
use crate::payment::Entry;
use crate::status::{BookingSummary, PaymentStatus};

/// Why the ledger failed. Whatever the error, a failed transaction wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A concurrent writer got there first: an entry with the same (payment, seq) exists. The
    /// caller may reload and try again.
    #[error("concurrent write: {0}")]
    Conflict(String),
    /// The store could not be reached, or the transaction failed.
    #[error("ledger unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt or from an unknown version).
    #[error("ledger data unreadable: {0}")]
    Corrupt(String),
}

/// A booking's billing view and every entry of every payment touching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingLedger {
    /// The billing view.
    pub account: BookingAccount,
    /// The entries, in (payment, seq) order or any order: the core folds them.
    pub entries: Vec<Entry>,
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
    /// What the adapter answered the first time the command completed, once it saved it with
    /// [`Ledger::save_response`]; `None` until then (and for every key that is not completed).
    pub response: Option<StoredResponse>,
}

/// The first answer an adapter gave for a completed idempotent command, kept so that a replay
/// answers the very same status and body rather than the payment as it stands now (it may have
/// been refunded since, or its bookings' balances changed).
///
/// Opaque to the core: it stores the response and hands it back on a replay, and never reads
/// it. Only the adapter that wrote it knows what the body is; `content_type` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status answered (for HTTP: 201, 402...).
    pub status: u16,
    /// The media type of `body` (for HTTP: `application/json`, `application/problem+json`).
    pub content_type: String,
    /// The body answered, exactly.
    pub body: String,
}

/// Which booking summaries to list. Results are ordered by booking id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFilter {
    /// Only this customer's bookings.
    pub customer: Option<CustomerId>,
    /// Only bookings in this status.
    pub status: Option<PaymentStatus>,
    /// Only bookings with (true) or without (false) something in flight.
    pub pending: Option<bool>,
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

/// Durable storage of bookings, payment entries, booking summaries and idempotency records,
/// scoped per business: no method can read or write another business's rows.
///
/// Money-moving work happens in a [`LedgerTx`] that locks the bookings it touches, so that two
/// processes can never both decide to charge the same balance.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// A transaction of one business.
    type Tx: LedgerTx;

    /// Starts a transaction for `business`. [`LedgerError::Unavailable`] when the store cannot
    /// be reached.
    async fn begin(&self, business: &BusinessId) -> Result<Self::Tx, LedgerError>;

    /// Reads bookings and their entries without locking; unknown ids are left out.
    async fn load(
        &self,
        business: &BusinessId,
        bookings: &[BookingId],
    ) -> Result<Vec<BookingLedger>, LedgerError>;

    /// The bookings a payment touches, or `None` when the business has no such payment.
    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError>;

    /// A booking's stored summary (as of its last write), or `None` when unknown.
    async fn summary(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSummary>, LedgerError>;

    /// Booking summaries matching the filter, ordered by booking id.
    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError>;

    /// What each customer owes, one row per (customer, currency) with a positive balance,
    /// ordered by customer then currency; only `customer` when given. Must not scan every
    /// booking of the business: an index or a maintained aggregate serves it.
    async fn outstanding(
        &self,
        business: &BusinessId,
        customer: Option<&CustomerId>,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError>;

    /// The idempotency record under a key, if any, with its stored response.
    async fn idempotency(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, LedgerError>;

    /// Stores the first response to the command under a key, outside any transaction. Stores
    /// only when the business has a record under the key, the record is completed and it has
    /// no response yet: the first writer wins, and a stored response never changes. Returns
    /// whether it stored.
    async fn save_response(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<bool, LedgerError>;
}

/// One transaction of one business. Dropping it without [`LedgerTx::commit`] writes nothing.
#[async_trait]
pub trait LedgerTx: Send {
    /// Locks the bookings (in a fixed order, so that two transactions cannot deadlock) and reads
    /// them with their entries; unknown ids are left out. Until commit or drop, no other
    /// transaction can lock them.
    async fn lock(&mut self, bookings: &[BookingId]) -> Result<Vec<BookingLedger>, LedgerError>;

    /// Claims an idempotency key: stores the record and returns `None`, or, when the key is
    /// already taken, returns the existing record (with its stored response) and stores nothing.
    async fn claim(
        &mut self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, LedgerError>;

    /// Marks a claimed key's command as completed.
    async fn complete(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError>;

    /// Forgets a claimed key (its command certainly did nothing at the gateway, so the client
    /// may try again under it).
    async fn release(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError>;

    /// Creates or replaces a booking's billing view.
    async fn put_booking(&mut self, account: &BookingAccount) -> Result<(), LedgerError>;

    /// Appends entries and stores the summaries of the bookings they change.
    /// [`LedgerError::Conflict`] when an entry's (payment, seq) already exists.
    async fn append(
        &mut self,
        entries: &[Entry],
        summaries: &[BookingSummary],
    ) -> Result<(), LedgerError>;

    /// Makes every write of the transaction durable at once.
    async fn commit(self) -> Result<(), LedgerError>;
}
