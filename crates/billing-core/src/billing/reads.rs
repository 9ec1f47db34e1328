//! Bookings and payments: their billing views, balances, statuses and histories, price
//! adjustments, and what customers owe.

use super::Billing;
use super::commands::resolve;
use super::ledgers::Ledgers;
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::{Amount, Currency, Money};
use crate::payment::{KindName, Payment, PaymentKind, PaymentState};
use crate::ports::{
    BookingFilter, Committed, CustomerOutstanding, LedgerError, LedgerRead, LedgerWrite,
    OutstandingQuery, OutstandingTotal,
};
use crate::status::{
    BookingSummary, captures_of, hold_remaining, refundable, summarize, tip_lines,
};

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

impl BookingView {
    /// The booking's lines as its customer and staff read them: its own lines, then a tip
    /// line for each succeeded charge that carried a tip for it. They add up to
    /// [`Balance::price`](crate::status::Balance::price).
    pub fn lines(&self) -> Vec<LineItem> {
        let mut lines = self.account.line_items.clone();
        lines.extend(tip_lines(&self.account.id, &self.payments));
        lines
    }
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
    /// For a hold: its captures; for a payment: its refunds; then for either, its disputes.
    pub children: Vec<Payment>,
}

/// A line item added to a booking's price: an extra raises it, a discount lowers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceAdjustment {
    /// What the line is.
    pub kind: LineItemKind,
    /// What the customer reads: 1 to 200 characters.
    pub label: String,
    /// Its amount (never negative: a discount's kind subtracts it), in the booking's currency.
    pub amount: Amount,
}

impl From<LineItem> for PriceAdjustment {
    fn from(item: LineItem) -> Self {
        PriceAdjustment {
            kind: item.kind,
            label: item.label,
            amount: item.amount.into(),
        }
    }
}

/// A page of what customers owe, and what all of them owe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingPage {
    /// One row per (customer, currency) with a positive balance, by customer then currency.
    pub customers: Vec<CustomerOutstanding>,
    /// The row to read the next page after, when this page is full.
    pub next_after: Option<(CustomerId, Currency)>,
    /// What all customers owe, one row per currency.
    pub totals: Vec<OutstandingTotal>,
}

/// How many times a booking write reads and decides again when the booking moved meanwhile.
const MAX_WRITE_ATTEMPTS: u32 = 16;

impl Billing {
    /// A booking with its balance, status (computed now, so expired holds no longer count) and
    /// payment history.
    pub async fn booking(
        &self,
        business: &Business,
        id: &BookingId,
    ) -> Result<BookingView, BillingError> {
        let ledgers = self.ledgers(business, std::slice::from_ref(id)).await?;
        Ok(BookingView {
            account: ledgers.account(id)?.clone(),
            summary: ledgers.summary(id)?.clone(),
            payments: ledgers.payments,
        })
    }

    /// A payment, with what is still refundable or capturable.
    pub async fn payment(
        &self,
        business: &Business,
        id: &PaymentId,
    ) -> Result<PaymentView, BillingError> {
        let (_, ledgers) = self.ledgers_of(business, id).await?;
        let payment = ledgers.payment(id)?.clone();
        let all = &ledgers.payments;
        let refundable = refundable(&payment, all)?;
        let open_hold = matches!(
            payment.state,
            PaymentState::Authorized | PaymentState::PartiallyCaptured
        ) && payment.hold_expires_at.is_none_or(|at| ledgers.now < at);
        let mut capturable = Money::zero(payment.amount.currency());
        if open_hold {
            for booking in payment.bookings() {
                capturable = capturable.checked_add(&hold_remaining(&payment, &booking, all)?)?;
            }
        }
        let disputes = all
            .iter()
            .filter(|p| matches!(&p.kind, PaymentKind::Dispute { of, .. } if of == &payment.id));
        let children = if payment.kind.name() == KindName::Authorization {
            captures_of(&payment.id, all)
                .chain(disputes)
                .cloned()
                .collect()
        } else {
            all.iter()
                .filter(|p| matches!(&p.kind, PaymentKind::Refund { of, .. } if of == &payment.id))
                .chain(disputes)
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

    /// Booking summaries matching a filter (as stored at their last change), with their dates.
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
        self.customer(business, customer).await?;
        let query = OutstandingQuery {
            customer: Some(customer.clone()),
            after: None,
            limit: 1000,
        };
        let rows = self.store.outstanding(&business.id, &query).await?;
        Ok(rows.into_iter().map(|row| row.balance_due).collect())
    }

    /// A page of what customers owe (by customer and currency, after `after`, at most `limit`
    /// rows of 1 to 1,000), and what all of them owe.
    pub async fn outstanding(
        &self,
        business: &Business,
        after: Option<&(CustomerId, Currency)>,
        limit: u32,
    ) -> Result<OutstandingPage, BillingError> {
        let limit = limit.clamp(1, 1000);
        let query = OutstandingQuery {
            customer: None,
            after: after.cloned(),
            limit,
        };
        let customers = self.store.outstanding(&business.id, &query).await?;
        let totals = self.store.outstanding_totals(&business.id).await?;
        let full = customers.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(OutstandingPage {
            next_after: customers
                .last()
                .filter(|_| full)
                .map(|row| (row.customer.clone(), row.balance_due.currency())),
            customers,
            totals,
        })
    }

    /// Creates or replaces a booking's billing view, and says whether it is new. The customer
    /// must exist; once a booking has payments its customer and currency cannot change.
    pub async fn put_booking(
        &self,
        business: &Business,
        account: BookingAccount,
    ) -> Result<(BookingView, bool), BillingError> {
        // A tip comes with the charge that pays it, never as a line given here.
        if account
            .line_items
            .iter()
            .any(|i| i.kind == LineItemKind::Tip)
        {
            return Err(crate::booking::BookingError::TipLine.into());
        }
        account.price()?;
        self.customer(business, &account.customer).await?;
        let id = account.id.clone();
        let written = self
            .write_booking(business, &id, |existing| {
                if let Some((current, has_payments)) = existing
                    && has_payments
                    && (current.customer != account.customer
                        || current.currency != account.currency)
                {
                    return Err(BillingError::BookingHasPayments(account.id.clone()));
                }
                Ok(account.clone())
            })
            .await?;
        // A new date, completion or price may change what automation does, and when.
        self.replan_booking(business, &written.0.account).await?;
        Ok(written)
    }

    /// Adjusts a booking's price by appending a line item (an extra raises it, a discount lowers
    /// it), its amount read in the booking's currency. The balance and status follow.
    pub async fn adjust_price(
        &self,
        business: &Business,
        booking: &BookingId,
        adjustment: PriceAdjustment,
    ) -> Result<BookingView, BillingError> {
        self.append_line(business, booking, adjustment, None).await
    }

    /// [`Billing::adjust_price`] from a form drawn when the booking had `lines_seen` line
    /// items: refused with [`BillingError::BookingChanged`] when it has another number by the
    /// time the line is written, so that a form sent twice (a double click, a reload) adds
    /// its line once.
    pub async fn adjust_price_once(
        &self,
        business: &Business,
        booking: &BookingId,
        adjustment: PriceAdjustment,
        lines_seen: usize,
    ) -> Result<BookingView, BillingError> {
        self.append_line(business, booking, adjustment, Some(lines_seen))
            .await
    }

    async fn append_line(
        &self,
        business: &Business,
        booking: &BookingId,
        adjustment: PriceAdjustment,
        lines_seen: Option<usize>,
    ) -> Result<BookingView, BillingError> {
        let (view, _) = self
            .write_booking(business, booking, |existing| match existing {
                Some((current, _))
                    if lines_seen.is_some_and(|seen| seen != current.line_items.len()) =>
                {
                    Err(BillingError::BookingChanged(booking.clone()))
                }
                Some((current, _)) => {
                    let amount = resolve(Some(&adjustment.amount), current.currency)?
                        .ok_or(BillingError::InvalidInput("a line item needs an amount"))?;
                    let item = LineItem::new(adjustment.kind, adjustment.label.clone(), amount)?;
                    Ok(current.with_line_item(item)?)
                }
                None => Err(BillingError::BookingNotFound(booking.clone())),
            })
            .await?;
        self.replan_booking(business, &view.account).await?;
        Ok(view)
    }

    /// Writes a booking's billing view as `change` makes it from the stored one (with whether
    /// it has payments), and its summary; says whether the booking is new.
    async fn write_booking<F>(
        &self,
        business: &Business,
        id: &BookingId,
        change: F,
    ) -> Result<(BookingView, bool), BillingError>
    where
        F: Fn(Option<(&BookingAccount, bool)>) -> Result<BookingAccount, BillingError>
            + Send
            + Sync,
    {
        let ids = std::slice::from_ref(id);
        let _turn = self.lanes.turn(&business.id, ids).await;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let snapshot = self
                .store
                .read(&business.id, &LedgerRead::bookings(ids))
                .await?;
            let ledgers = Ledgers::new(snapshot.ledgers, self.now())?;
            let existing = ledgers.accounts.get(id);
            let has_payments = !ledgers.payments.is_empty();
            let account = change(existing.map(|a| (a, has_payments)))?;
            let summary = summarize(&account, &ledgers.payments, ledgers.now)?;
            let write = LedgerWrite {
                read: ledgers.read_versions(ids),
                bookings: vec![account.clone()],
                summaries: vec![summary.clone()],
                ..LedgerWrite::default()
            };
            match self.store.commit(&business.id, &write).await {
                Ok(Committed::Written | Committed::KeyTaken(_)) => {
                    let view = BookingView {
                        account,
                        summary,
                        payments: ledgers.payments,
                    };
                    return Ok((view, existing.is_none()));
                }
                Err(LedgerError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(BillingError::Ledger(LedgerError::Conflict(
            "the booking kept changing while it was written; try again".into(),
        )))
    }
}
