//! The read side: bookings with their balance, status and history; payments; what customers owe.

use std::collections::BTreeMap;

use super::Billing;
use super::moves::Locked;
use crate::booking::{BookingAccount, LineItem};
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::{Currency, Money};
use crate::payment::{KindName, Payment, PaymentState, fold};
use crate::ports::{
    BookingFilter, CustomerDirectory, CustomerOutstanding, Ledger, LedgerTx, PaymentGateway,
    StoredResponse,
};
use crate::status::{BookingSummary, captures_of, hold_remaining, refundable, summarize};

/// The result of a money-moving command: the payment and the bookings it touched, as they
/// stand after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The payment opened (or found, on a replay).
    pub payment: Payment,
    /// The touched bookings' summaries.
    pub bookings: Vec<BookingSummary>,
    /// True when an earlier command under the same idempotency key made this payment.
    pub replayed: bool,
    /// On a replay, what the adapter answered the first time (saved with
    /// [`Billing::save_response`]): the adapter answers it again, exactly, rather than the
    /// payment as it stands now. When set, the payment may be a failed one: a replayed decline
    /// whose answer was stored comes back as this receipt, not as
    /// [`BillingError::Declined`]. `None` on a first run, and on a replay whose first answer
    /// was not stored.
    pub first_response: Option<StoredResponse>,
    /// Every payment of the touched bookings (holds, refunded payments...).
    pub(super) related: Vec<Payment>,
}

/// A booking with its balance, status and payment history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingView {
    /// The billing view.
    pub account: BookingAccount,
    /// Balance and status, computed now.
    pub summary: BookingSummary,
    /// Every payment touching it, oldest first.
    pub payments: Vec<Payment>,
}

/// A payment with what can still be done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    /// The payment.
    pub payment: Payment,
    /// What can still be refunded (zero when nothing).
    pub refundable: Money,
    /// For an open hold: what it can still capture.
    pub capturable: Money,
    /// For a hold: its captures; for a payment: its refunds.
    pub children: Vec<Payment>,
}

/// What customers owe: per customer and currency, and the totals per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingReport {
    /// One row per (customer, currency) with a positive balance.
    pub customers: Vec<CustomerOutstanding>,
    /// The total owed by all customers, one amount per currency.
    pub totals: Vec<Money>,
}

impl<S, G> Billing<S, G>
where
    S: Ledger + CustomerDirectory,
    G: PaymentGateway,
{
    /// Bookings read without a lock, for the read side.
    pub(super) async fn load_unlocked(
        &self,
        business: &Business,
        bookings: &[BookingId],
    ) -> Result<Locked, BillingError> {
        let ledgers = self.store.load(&business.id, bookings).await?;
        Locked::from_ledgers(ledgers, self.now())
    }

    /// The payment and every payment of the bookings it touches.
    pub(super) async fn receipt(
        &self,
        business: &Business,
        id: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        let bookings = self
            .store
            .payment_bookings(&business.id, id)
            .await?
            .ok_or_else(|| BillingError::PaymentNotFound(id.clone()))?;
        let locked = self.load_unlocked(business, &bookings).await?;
        let payment = locked.payment(id)?.clone();
        let summaries = bookings
            .iter()
            .filter_map(|b| locked.summaries.get(b).cloned())
            .collect();
        Ok(Receipt {
            payment,
            bookings: summaries,
            replayed: false,
            first_response: None,
            related: locked.payments,
        })
    }

    /// A booking with its balance, status (computed now, so expired holds no longer count) and
    /// payment history.
    pub async fn booking(
        &self,
        business: &Business,
        id: &BookingId,
    ) -> Result<BookingView, BillingError> {
        let locked = self
            .load_unlocked(business, std::slice::from_ref(id))
            .await?;
        let summary = locked.summary(id)?.clone();
        let account = locked
            .accounts
            .get(id)
            .cloned()
            .ok_or_else(|| BillingError::BookingNotFound(id.clone()))?;
        Ok(BookingView {
            account,
            summary,
            payments: locked.payments,
        })
    }

    /// A payment, with what is still refundable or capturable.
    pub async fn payment(
        &self,
        business: &Business,
        id: &PaymentId,
    ) -> Result<PaymentView, BillingError> {
        let receipt = self.receipt(business, id).await?;
        let payment = receipt.payment;
        let all = receipt.related;
        let refundable = refundable(&payment, &all)?;
        let open_hold = matches!(
            payment.state,
            PaymentState::Authorized | PaymentState::PartiallyCaptured
        ) && payment.hold_expires_at.is_none_or(|at| self.now() < at);
        let mut capturable = Money::zero(payment.amount.currency());
        if open_hold {
            for booking in payment.bookings() {
                capturable = capturable.checked_add(&hold_remaining(&payment, &booking, &all)?)?;
            }
        }
        let children = if payment.kind.name() == KindName::Authorization {
            captures_of(&payment.id, &all).cloned().collect()
        } else {
            all.iter()
                .filter(|p| matches!(&p.kind, crate::payment::PaymentKind::Refund { of, .. } if of == &payment.id))
                .cloned()
                .collect()
        };
        Ok(PaymentView {
            payment,
            refundable,
            capturable,
            children,
        })
    }

    /// Booking summaries matching a filter (as stored at their last change).
    pub async fn list_bookings(
        &self,
        business: &Business,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, BillingError> {
        Ok(self.store.list_summaries(&business.id, filter).await?)
    }

    /// What one customer owes, one amount per currency (empty when nothing).
    pub async fn customer_balance(
        &self,
        business: &Business,
        customer: &CustomerId,
    ) -> Result<Vec<Money>, BillingError> {
        let rows = self.store.outstanding(&business.id, Some(customer)).await?;
        Ok(rows.into_iter().map(|row| row.balance_due).collect())
    }

    /// What every customer owes, and the totals per currency.
    pub async fn outstanding(
        &self,
        business: &Business,
    ) -> Result<OutstandingReport, BillingError> {
        let customers = self.store.outstanding(&business.id, None).await?;
        let mut totals: BTreeMap<Currency, Money> = BTreeMap::new();
        for row in &customers {
            let currency = row.balance_due.currency();
            let total = totals
                .entry(currency)
                .or_insert_with(|| Money::zero(currency));
            *total = total.checked_add(&row.balance_due)?;
        }
        Ok(OutstandingReport {
            customers,
            totals: totals.into_values().collect(),
        })
    }

    /// Creates or replaces a booking's billing view. The customer must exist; once a booking has
    /// payments its customer and currency cannot change.
    pub async fn put_booking(
        &self,
        business: &Business,
        account: BookingAccount,
    ) -> Result<BookingView, BillingError> {
        account.price()?;
        if self
            .store
            .customer(&business.id, &account.customer)
            .await?
            .is_none()
        {
            return Err(BillingError::CustomerNotFound(account.customer.clone()));
        }
        self.write_booking(business, &account.id.clone(), |existing| {
            if let Some((current, has_payments)) = existing
                && has_payments
                && (current.customer != account.customer || current.currency != account.currency)
            {
                return Err(BillingError::BookingHasPayments(account.id.clone()));
            }
            Ok(account)
        })
        .await
    }

    /// Adjusts a booking's price by appending a line item (an extra raises it, a discount lowers
    /// it). The balance and status follow.
    pub async fn adjust_price(
        &self,
        business: &Business,
        booking: &BookingId,
        item: LineItem,
    ) -> Result<BookingView, BillingError> {
        self.write_booking(business, booking, |existing| match existing {
            Some((current, _)) => Ok(current.with_line_item(item)?),
            None => Err(BillingError::BookingNotFound(booking.clone())),
        })
        .await
    }

    async fn write_booking<F>(
        &self,
        business: &Business,
        id: &BookingId,
        change: F,
    ) -> Result<BookingView, BillingError>
    where
        F: FnOnce(Option<(&BookingAccount, bool)>) -> Result<BookingAccount, BillingError> + Send,
    {
        let now = self.now();
        let mut tx = self.store.begin(&business.id).await?;
        let ledgers = tx.lock(std::slice::from_ref(id)).await?;
        let entries: Vec<_> = ledgers
            .iter()
            .flat_map(|l| l.entries.iter().cloned())
            .collect();
        let payments = fold(&entries)?;
        let existing = ledgers.first().map(|l| (&l.account, !payments.is_empty()));
        let account = change(existing)?;
        let summary = summarize(&account, &payments, now)?;
        tx.put_booking(&account).await?;
        tx.append(&[], std::slice::from_ref(&summary)).await?;
        tx.commit().await?;
        Ok(BookingView {
            account,
            summary,
            payments,
        })
    }
}
