//! The reports page's HTML (`templates/reports.html`). Every value is escaped by the template:
//! customers' names are typed by people.

use askama::Template;

use super::chart::{Chart, Key};
use crate::views::Header;

/// What one customer owes in one currency.
#[derive(Debug)]
pub(crate) struct OwingRow {
    /// `owes-{customer}-{currency}`.
    pub(crate) id: String,
    pub(crate) customer: String,
    pub(crate) href: String,
    pub(crate) name: String,
    pub(crate) bookings: u64,
    pub(crate) amount: String,
}

/// What all customers owe in one currency.
#[derive(Debug)]
pub(crate) struct OwingTotal {
    /// `owed-{currency}`.
    pub(crate) id: String,
    pub(crate) currency: String,
    pub(crate) bookings: u64,
    pub(crate) amount: String,
}

/// A row of amounts taken and given back: a currency's whole period, or a day's.
#[derive(Debug)]
pub(crate) struct TotalsRow {
    /// `totals-{currency}`, or `day-{date}-{currency}`.
    pub(crate) id: String,
    /// The currency, or the day and the currency.
    pub(crate) label: String,
    pub(crate) charged: String,
    pub(crate) cash: String,
    pub(crate) check: String,
    pub(crate) other: String,
    pub(crate) refunded: String,
    pub(crate) net: String,
}

/// The payments of the period, when it was a valid one.
#[derive(Debug)]
pub(crate) struct PaymentsView {
    /// "1 Jan 2026 to 30 Jan 2026".
    pub(crate) label: String,
    pub(crate) totals: Vec<TotalsRow>,
    pub(crate) days: Vec<TotalsRow>,
    pub(crate) charts: Vec<Chart>,
    pub(crate) legend: Vec<Key>,
}

/// The reports page.
#[derive(Debug, Template)]
#[template(path = "reports.html")]
pub(crate) struct ReportsPage {
    pub(crate) header: Option<Header>,
    pub(crate) owing: Vec<OwingRow>,
    pub(crate) owing_totals: Vec<OwingTotal>,
    /// The next page of balances, when there is one.
    pub(crate) next: Option<String>,
    /// The period's dates as the form shows them.
    pub(crate) from: String,
    pub(crate) until: String,
    /// Why the period was refused.
    pub(crate) error: Option<&'static str>,
    pub(crate) payments: Option<PaymentsView>,
}
