//! Reports over a period: what was taken, by card and by each way of collecting, and what was
//! given back, per day and in total, per currency. What customers owe is
//! [`Billing::outstanding`].

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::money::{Currency, MoneyError};
use crate::payment::{Payment, PaymentDayTotals};

pub use crate::payment::PaymentTotals;

/// The longest period a payments report covers: a year, leap or not.
pub const MAX_REPORT_DAYS: i64 = 366;

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
    /// Every day (UTC) the period covers, in order, each with the payments created on that
    /// day ([`Billing::payments_report`] counts the first and last days whole; a tally of
    /// payments, only those created within the period).
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
        let within: Vec<Payment> = payments
            .iter()
            .filter(|p| p.created_at >= from && p.created_at < until)
            .cloned()
            .collect();
        PaymentsReport::of_days(from, until, &PaymentDayTotals::of(&within)?)
    }

    /// The report of `[from, until)` from per-day totals, each row counted whole on its day;
    /// rows of days the period does not cover are left out.
    pub fn of_days(
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        rows: &[PaymentDayTotals],
    ) -> Result<PaymentsReport, MoneyError> {
        let mut per_day: BTreeMap<NaiveDate, Vec<PaymentTotals>> =
            days(from, until).map(|day| (day, Vec::new())).collect();
        let mut totals: BTreeMap<Currency, PaymentTotals> = BTreeMap::new();
        for row in PaymentDayTotals::sum(rows)? {
            let Some(day) = per_day.get_mut(&row.day) else {
                continue;
            };
            // Sums come ordered by day then currency code: each day's rows stay in that order.
            day.push(row.totals);
            let total = totals
                .entry(row.totals.currency())
                .or_insert_with(|| PaymentTotals::zero(row.totals.currency()));
            *total = total.checked_add(&row.totals)?;
        }
        Ok(PaymentsReport {
            from,
            until,
            days: per_day
                .into_iter()
                .map(|(day, totals)| PaymentsDay { day, totals })
                .collect(),
            // Currencies order by their code.
            totals: totals.into_values().collect(),
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
    /// other) and given back (succeeded refunds) over the days (UTC) that `[from, until)`
    /// covers, per day and in total, per currency, counting each payment on the day it was
    /// created, as it stands now ([`PaymentTotals::of`]).
    ///
    /// The report works in whole UTC days: it reads the totals the store keeps per day
    /// ([`Ledger::payment_day_totals`](crate::ports::Ledger::payment_day_totals)), so that its
    /// cost grows with the days, not with the payments. A period that starts or ends within a
    /// day counts that whole day (the console asks for whole days). Refused with
    /// [`BillingError::InvalidInput`] when the period ends before it starts or is longer than
    /// [`MAX_REPORT_DAYS`].
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
        let covered: Vec<NaiveDate> = days(from, until).collect();
        let rows = match (covered.first(), covered.last()) {
            (Some(first), Some(last)) => {
                let after =
                    last.checked_add_days(Days::new(1))
                        .ok_or(BillingError::InvalidInput(
                            "a report's period ends too far ahead",
                        ))?;
                self.store
                    .payment_day_totals(&business.id, *first, after)
                    .await?
            }
            _ => Vec::new(),
        };
        PaymentsReport::of_days(from, until, &rows)
            .map_err(|e| BillingError::Inconsistent(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
