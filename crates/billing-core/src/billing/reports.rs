//! Reports over a period: what was taken, by card and by each way of collecting, and what was
//! given back, per day and in total, per currency. What customers owe is
//! [`Billing::outstanding`].

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::money::{Currency, Money, MoneyError};
use crate::payment::{CollectionMethod, Payment, PaymentKind, PaymentState};
use crate::ports::PaymentsQuery;

/// The longest period a payments report covers: a year, leap or not.
pub const MAX_REPORT_DAYS: i64 = 366;

/// How many payments a report reads from the store at a time.
const PAGE: u32 = 500;

/// What was taken and given back in one currency. Only money that moved counts: succeeded
/// payments, as they stand when the report is read (a charge still pending or declined counts
/// nothing, and a hold counts only through its captures).
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
        [
            self.charged,
            self.cash,
            self.check,
            self.other,
            self.refunded,
        ]
        .iter()
        .all(Money::is_zero)
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

/// Adds `totals` to the row of its currency.
fn add_to(
    rows: &mut BTreeMap<Currency, PaymentTotals>,
    totals: &PaymentTotals,
) -> Result<(), MoneyError> {
    let row = rows
        .entry(totals.currency())
        .or_insert_with(|| PaymentTotals::zero(totals.currency()));
    *row = row.checked_add(totals)?;
    Ok(())
}

/// The rows of a map, by currency code.
fn by_code(rows: BTreeMap<Currency, PaymentTotals>) -> Vec<PaymentTotals> {
    let mut rows: Vec<PaymentTotals> = rows.into_values().collect();
    rows.sort_by(|a, b| a.currency().code().cmp(b.currency().code()));
    rows
}

/// One day (UTC) of a payments report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsDay {
    /// The day, in UTC.
    pub day: NaiveDate,
    /// Its totals, one row per currency in which something moved that day, by currency code
    /// (empty on a day when nothing moved).
    pub totals: Vec<PaymentTotals>,
}

/// What was taken and given back over a period, per day and in total, per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsReport {
    /// The period's start (included).
    pub from: DateTime<Utc>,
    /// The period's end (excluded).
    pub until: DateTime<Utc>,
    /// Every day (UTC) the period covers, in order, each with the payments created in the
    /// period on that day.
    pub days: Vec<PaymentsDay>,
    /// The whole period's totals, one row per currency in which something moved, by currency
    /// code. Each is the sum of the days' rows in its currency.
    pub totals: Vec<PaymentTotals>,
}

impl PaymentsReport {
    /// The report of `[from, until)` from payments, counted by the day (UTC) they were
    /// created on. Payments created outside the period are left out.
    pub fn tally(
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        payments: &[Payment],
    ) -> Result<PaymentsReport, MoneyError> {
        let mut per_day: BTreeMap<NaiveDate, BTreeMap<Currency, PaymentTotals>> = days(from, until)
            .map(|day| (day, BTreeMap::new()))
            .collect();
        let mut totals = BTreeMap::new();
        for payment in payments {
            if payment.created_at < from || payment.created_at >= until {
                continue;
            }
            let counted = PaymentTotals::of(payment);
            if counted.is_zero() {
                continue;
            }
            let day = per_day.entry(payment.created_at.date_naive()).or_default();
            add_to(day, &counted)?;
            add_to(&mut totals, &counted)?;
        }
        Ok(PaymentsReport {
            from,
            until,
            days: per_day
                .into_iter()
                .map(|(day, totals)| PaymentsDay {
                    day,
                    totals: by_code(totals),
                })
                .collect(),
            totals: by_code(totals),
        })
    }
}

/// The days (UTC) that `[from, until)` covers, in order (none when it is empty).
fn days(from: DateTime<Utc>, until: DateTime<Utc>) -> impl Iterator<Item = NaiveDate> {
    let first = from.date_naive();
    let last = (until > from).then(|| (until - TimeDelta::nanoseconds(1)).date_naive());
    std::iter::successors(last.map(|_| first), move |day| {
        day.checked_add_days(Days::new(1))
            .filter(|next| last.is_some_and(|last| *next <= last))
    })
}

impl Billing {
    /// What was taken (by card: succeeded charges and captures; collected: cash, check,
    /// other) and given back (succeeded refunds) over `[from, until)`, per day (UTC) and in
    /// total, per currency, counting each payment on the day it was created, as it stands
    /// now. Refused with [`BillingError::InvalidInput`] when the period ends before it starts
    /// or is longer than [`MAX_REPORT_DAYS`].
    pub async fn payments_report(
        &self,
        business: &Business,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<PaymentsReport, BillingError> {
        if until < from {
            return Err(BillingError::InvalidInput(
                "a report's period must not end before it starts",
            ));
        }
        if until - from > TimeDelta::days(MAX_REPORT_DAYS) {
            return Err(BillingError::InvalidInput(
                "a report's period is at most a year",
            ));
        }
        let mut query = PaymentsQuery {
            limit: PAGE,
            ..PaymentsQuery::between(from, until)
        };
        let mut payments = Vec::new();
        loop {
            let page = self.store.payments_created(&business.id, &query).await?;
            let full = page.len() >= PAGE as usize;
            query.after = page.last().map(|p| (p.created_at, p.id.clone()));
            payments.extend(page);
            if !full {
                break;
            }
        }
        PaymentsReport::tally(from, until, &payments)
            .map_err(|e| BillingError::Inconsistent(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
