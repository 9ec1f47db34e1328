//! What a use case decides from: bookings read from the store with their versions, their
//! payments folded, and their summaries as of now.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::booking::BookingAccount;
use crate::error::BillingError;
use crate::ids::{BookingId, PaymentId};
use crate::payment::{Entry, Payment, PaymentDayTotals, fold};
use crate::ports::BookingLedger;
use crate::receipt::Receipt;
use crate::status::{BookingSummary, summarize};

/// Bookings as read, with every payment touching them folded and their summaries.
#[derive(Debug, Clone)]
pub(super) struct Ledgers {
    pub(super) accounts: BTreeMap<BookingId, BookingAccount>,
    /// The version each booking was read at; a booking not stored yet is at 0.
    versions: BTreeMap<BookingId, u64>,
    pub(super) payments: Vec<Payment>,
    pub(super) summaries: BTreeMap<BookingId, BookingSummary>,
    pub(super) now: DateTime<Utc>,
}

impl Ledgers {
    /// Folds what the store read.
    pub(super) fn new(
        ledgers: Vec<BookingLedger>,
        now: DateTime<Utc>,
    ) -> Result<Self, BillingError> {
        let mut entries = Vec::new();
        let mut accounts = BTreeMap::new();
        let mut versions = BTreeMap::new();
        for ledger in ledgers {
            entries.extend(ledger.entries);
            versions.insert(ledger.account.id.clone(), ledger.version);
            accounts.insert(ledger.account.id.clone(), ledger.account);
        }
        let payments = fold(&entries)?;
        let mut summaries = BTreeMap::new();
        for (id, account) in &accounts {
            summaries.insert(id.clone(), summarize(account, &payments, now)?);
        }
        Ok(Ledgers {
            accounts,
            versions,
            payments,
            summaries,
            now,
        })
    }

    /// A booking's summary, or [`BillingError::BookingNotFound`].
    pub(super) fn summary(&self, booking: &BookingId) -> Result<&BookingSummary, BillingError> {
        self.summaries
            .get(booking)
            .ok_or_else(|| BillingError::BookingNotFound(booking.clone()))
    }

    /// A booking's billing view, or [`BillingError::BookingNotFound`].
    pub(super) fn account(&self, booking: &BookingId) -> Result<&BookingAccount, BillingError> {
        self.accounts
            .get(booking)
            .ok_or_else(|| BillingError::BookingNotFound(booking.clone()))
    }

    /// A payment touching the bookings, or [`BillingError::PaymentNotFound`].
    pub(super) fn payment(&self, id: &PaymentId) -> Result<&Payment, BillingError> {
        self.payments
            .iter()
            .find(|p| &p.id == id)
            .ok_or_else(|| BillingError::PaymentNotFound(id.clone()))
    }

    /// The versions a commit decided from these bookings must find (0 for one not stored).
    pub(super) fn read_versions(&self, bookings: &[BookingId]) -> Vec<(BookingId, u64)> {
        let mut read: Vec<(BookingId, u64)> = bookings
            .iter()
            .map(|b| (b.clone(), self.versions.get(b).copied().unwrap_or(0)))
            .collect();
        read.sort();
        read.dedup();
        read
    }

    /// The version a booking was read at (0 for one not stored).
    pub(super) fn version(&self, booking: &BookingId) -> u64 {
        self.versions.get(booking).copied().unwrap_or(0)
    }

    /// Records that a commit decided from `read` landed: each booking is one version further.
    pub(super) fn committed(&mut self, read: &[(BookingId, u64)]) {
        for (booking, version) in read {
            self.versions.insert(booking.clone(), version + 1);
        }
    }

    /// Applies new entries (an opened payment, or moves) and recomputes the summaries of the
    /// bookings they touch.
    pub(super) fn apply(&mut self, entries: &[Entry]) -> Result<(), BillingError> {
        for entry in entries {
            if let Some(payment) = self.payments.iter_mut().find(|p| p.id == entry.payment) {
                payment.apply(entry)?;
            } else {
                self.payments.extend(fold(std::slice::from_ref(entry))?);
            }
        }
        let touched: Vec<BookingId> = entries.iter().flat_map(|e| e.bookings.clone()).collect();
        for summary in self.resummarize(&touched)? {
            self.summaries.insert(summary.booking.clone(), summary);
        }
        Ok(())
    }

    /// The payments that `entries` move, as these ledgers have them (none for those they open).
    pub(super) fn moved_by(&self, entries: &[Entry]) -> Vec<Payment> {
        self.payments
            .iter()
            .filter(|p| entries.iter().any(|e| e.payment == p.id))
            .cloned()
            .collect()
    }

    /// What `entries` change in the per-day payment totals, for the commit that writes them
    /// ([`LedgerWrite::payment_days`](crate::ports::LedgerWrite::payment_days)): these ledgers
    /// are after them, `before` is what [`Ledgers::moved_by`] gave before they were applied.
    /// The ledgers hold every entry of every payment on the bookings read, so `before` is the
    /// store's state as long as the commit lands.
    pub(super) fn payment_days(
        &self,
        before: &[Payment],
        entries: &[Entry],
    ) -> Result<Vec<PaymentDayTotals>, BillingError> {
        Ok(PaymentDayTotals::changes(before, &self.moved_by(entries))?)
    }

    /// Summaries of the given bookings (the ones read), recomputed over the current payments.
    pub(super) fn resummarize(
        &self,
        bookings: &[BookingId],
    ) -> Result<Vec<BookingSummary>, BillingError> {
        let mut ids = bookings.to_vec();
        ids.sort();
        ids.dedup();
        ids.iter()
            .filter_map(|b| self.accounts.get(b))
            .map(|account| summarize(account, &self.payments, self.now).map_err(BillingError::from))
            .collect()
    }

    /// The receipt of one payment: it, and the summaries of the bookings it touches, in the
    /// order of its allocations.
    pub(super) fn receipt(&self, id: &PaymentId) -> Result<Receipt, BillingError> {
        let payment = self.payment(id)?.clone();
        let bookings = payment
            .allocations
            .iter()
            .filter_map(|a| self.summaries.get(&a.booking).cloned())
            .collect();
        Ok(Receipt {
            payment,
            bookings,
            replayed: false,
        })
    }
}
