//! What a payment counts in the payments report, and on which day: the one rule that both the
//! report's tally and the per-day totals the stores keep follow.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{CollectionMethod, Payment, PaymentKind, PaymentState};
use crate::money::{Currency, Money, MoneyError};

/// What was taken and given back in one currency. Only money that moved counts: succeeded
/// payments, as they stand when the report is read (a charge still pending or declined counts
/// nothing, and a hold counts only through its captures).
///
/// As a change of totals (a [`PaymentDayTotals`] of a commit), an amount may be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentTotals {
    /// Taken by card: succeeded charges and captures of holds.
    pub charged: Money,
    /// Collected in cash.
    pub cash: Money,
    /// Collected by check.
    pub check: Money,
    /// Collected another way (an e-transfer, or the business's own label).
    pub other: Money,
    /// Given back: succeeded refunds (of card payments and of collections alike).
    pub refunded: Money,
}

impl PaymentTotals {
    /// Nothing, in a currency.
    pub fn zero(currency: Currency) -> PaymentTotals {
        let zero = Money::zero(currency);
        PaymentTotals {
            charged: zero,
            cash: zero,
            check: zero,
            other: zero,
            refunded: zero,
        }
    }

    /// The currency of every amount.
    pub fn currency(&self) -> Currency {
        self.charged.currency()
    }

    /// Everything taken: by card and collected.
    pub fn taken(&self) -> Result<Money, MoneyError> {
        Money::sum(
            self.currency(),
            [&self.charged, &self.cash, &self.check, &self.other],
        )
    }

    /// What was taken less what was given back.
    pub fn net(&self) -> Result<Money, MoneyError> {
        self.taken()?.checked_sub(&self.refunded)
    }

    /// True when nothing moved.
    pub fn is_zero(&self) -> bool {
        self.columns().iter().all(Money::is_zero)
    }

    /// The amounts in column order: charged, cash, check, other, refunded.
    pub fn columns(&self) -> [Money; 5] {
        [
            self.charged,
            self.cash,
            self.check,
            self.other,
            self.refunded,
        ]
    }

    /// Totals from amounts in minor units of `currency`, in [`PaymentTotals::columns`] order.
    pub fn from_minor(
        currency: Currency,
        [charged, cash, check, other, refunded]: [i64; 5],
    ) -> Self {
        let money = |minor| Money::from_minor(minor, currency);
        PaymentTotals {
            charged: money(charged),
            cash: money(cash),
            check: money(check),
            other: money(other),
            refunded: money(refunded),
        }
    }

    /// The amounts in minor units, in [`PaymentTotals::columns`] order.
    pub fn to_minor(&self) -> Result<[i64; 5], MoneyError> {
        let [charged, cash, check, other, refunded] = self.columns();
        Ok([
            charged.to_minor()?,
            cash.to_minor()?,
            check.to_minor()?,
            other.to_minor()?,
            refunded.to_minor()?,
        ])
    }

    /// These totals plus `other`'s (both in the same currency).
    pub fn checked_add(&self, other: &PaymentTotals) -> Result<PaymentTotals, MoneyError> {
        Ok(PaymentTotals {
            charged: self.charged.checked_add(&other.charged)?,
            cash: self.cash.checked_add(&other.cash)?,
            check: self.check.checked_add(&other.check)?,
            other: self.other.checked_add(&other.other)?,
            refunded: self.refunded.checked_add(&other.refunded)?,
        })
    }

    /// Every amount negated: what taking these totals back changes.
    pub fn negated(&self) -> PaymentTotals {
        PaymentTotals {
            charged: self.charged.negated(),
            cash: self.cash.negated(),
            check: self.check.negated(),
            other: self.other.negated(),
            refunded: self.refunded.negated(),
        }
    }

    /// The totals of one payment: its amount in the column it counts in, or nothing.
    pub fn of(payment: &Payment) -> PaymentTotals {
        let mut totals = PaymentTotals::zero(payment.amount.currency());
        if payment.state != PaymentState::Succeeded {
            return totals;
        }
        let column = match &payment.kind {
            PaymentKind::Charge { .. } | PaymentKind::Capture { .. } => &mut totals.charged,
            PaymentKind::Collection { method, .. } => match method {
                CollectionMethod::Cash => &mut totals.cash,
                CollectionMethod::Check => &mut totals.check,
                CollectionMethod::ETransfer | CollectionMethod::Other(_) => &mut totals.other,
            },
            PaymentKind::Refund { .. } => &mut totals.refunded,
            PaymentKind::Authorization { .. } | PaymentKind::Dispute { .. } => return totals,
        };
        *column = payment.amount;
        totals
    }
}

/// The totals of the payments created on one day (UTC) in one currency, as they stand; or, in
/// a commit ([`LedgerWrite::payment_days`](crate::ports::LedgerWrite::payment_days)), what the
/// commit changes in them (amounts then may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentDayTotals {
    /// The day (UTC) the payments were created on.
    pub day: NaiveDate,
    /// Their totals, or the change of them.
    pub totals: PaymentTotals,
}

impl PaymentDayTotals {
    /// What payments count, each by [`PaymentTotals::of`] on the day (UTC) it was created, one
    /// row per (day, currency) that comes to something, ordered by day then currency code.
    pub fn of(payments: &[Payment]) -> Result<Vec<PaymentDayTotals>, MoneyError> {
        PaymentDayTotals::changes(&[], payments)
    }

    /// What moving payments from how `before` has them to how `after` has them changes in the
    /// per-day totals: for each payment of `after`, what it counts now less what it counted
    /// before (nothing, when `before` lacks it: it is new), on the day it was created. One row
    /// per (day, currency) that changes, ordered by day then currency code. A payment only in
    /// `before` is left out (payments never disappear: `after` lists those that moved).
    pub fn changes(
        before: &[Payment],
        after: &[Payment],
    ) -> Result<Vec<PaymentDayTotals>, MoneyError> {
        let mut rows = Vec::new();
        for now in after {
            rows.push(PaymentDayTotals {
                day: now.created_at.date_naive(),
                totals: PaymentTotals::of(now),
            });
            if let Some(was) = before.iter().find(|p| p.id == now.id) {
                // Taken back on the day it counted on, so that a payment whose record
                // changed in any way still leaves the sums exact.
                rows.push(PaymentDayTotals {
                    day: was.created_at.date_naive(),
                    totals: PaymentTotals::of(was).negated(),
                });
            }
        }
        PaymentDayTotals::sum(&rows)
    }

    /// Rows (totals or changes of them) added up per (day, currency), ordered by day then
    /// currency code; a (day, currency) that comes to nothing is left out.
    pub fn sum<'a>(
        rows: impl IntoIterator<Item = &'a PaymentDayTotals>,
    ) -> Result<Vec<PaymentDayTotals>, MoneyError> {
        // Currencies order by their code.
        let mut sums: BTreeMap<(NaiveDate, Currency), PaymentDayTotals> = BTreeMap::new();
        for row in rows {
            match sums.entry((row.day, row.totals.currency())) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(*row);
                }
                std::collections::btree_map::Entry::Occupied(mut slot) => {
                    let sum = slot.get().totals.checked_add(&row.totals)?;
                    slot.get_mut().totals = sum;
                }
            }
        }
        Ok(sums
            .into_values()
            .filter(|row| !row.totals.is_zero())
            .collect())
    }
}

#[cfg(test)]
mod tests;
