//! Reports: what customers owe.

use billing_core::billing::OutstandingPage;
use billing_core::ids::CustomerId;
use billing_core::money::Currency;
use billing_core::ports::CustomerOutstanding;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::MoneyJson;

/// What one customer owes in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutstandingRowJson {
    /// The customer.
    pub customer: String,
    /// What they owe.
    pub balance_due: MoneyJson,
    /// How many of their bookings have a balance due.
    pub bookings: u64,
}

impl From<&CustomerOutstanding> for OutstandingRowJson {
    fn from(row: &CustomerOutstanding) -> Self {
        OutstandingRowJson {
            customer: row.customer.to_string(),
            balance_due: row.balance_due.into(),
            bookings: row.bookings,
        }
    }
}

/// A page of what customers owe, and the totals per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutstandingJson {
    /// One row per customer and currency owed, by customer then currency.
    pub customers: Vec<OutstandingRowJson>,
    /// What every customer owes in all (not only this page's), one amount per currency.
    pub totals: Vec<MoneyJson>,
    /// Pass as `after` for the next page (`customer:CURRENCY`, e.g. `c-ada:USD`); absent on
    /// the last page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(example = "c-ada:USD", nullable = false)]
    pub next_after: Option<String>,
}

impl From<&OutstandingPage> for OutstandingJson {
    fn from(page: &OutstandingPage) -> Self {
        OutstandingJson {
            customers: page
                .customers
                .iter()
                .map(OutstandingRowJson::from)
                .collect(),
            totals: page
                .totals
                .iter()
                .map(|total| MoneyJson::from(total.balance_due))
                .collect(),
            next_after: page
                .next_after
                .as_ref()
                .map(|(customer, currency)| cursor(customer, *currency)),
        }
    }
}

/// The text of a page's cursor: the last row's customer and currency, `c-ada:USD`.
pub fn cursor(customer: &CustomerId, currency: Currency) -> String {
    format!("{customer}:{}", currency.code())
}

/// Reads a cursor written by [`cursor`]: split at the last `:` (a customer id may hold `:`
/// itself; a currency code never does). `None` when it is not one.
pub fn parse_cursor(text: &str) -> Option<(CustomerId, Currency)> {
    let (customer, currency) = text.rsplit_once(':')?;
    let customer = CustomerId::new(customer).ok()?;
    let currency = Currency::from_code(currency).ok()?;
    Some((customer, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_split_at_the_last_colon() {
        let customer = CustomerId::new("org:acme:c-1").ok();
        let written = customer.as_ref().map(|c| cursor(c, Currency::USD));
        assert_eq!(written.as_deref(), Some("org:acme:c-1:USD"));
        assert_eq!(
            written.as_deref().and_then(parse_cursor),
            customer.map(|c| (c, Currency::USD))
        );
        for bad in ["", "c-ada", "c-ada:", ":USD", "c-ada:XYZ", "c ada:USD"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }
}
