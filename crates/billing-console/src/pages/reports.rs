//! The reports page, for every signed-in member of a business: what customers owe (a page at
//! a time, with the totals per currency, and the whole list as a CSV download), and what was
//! taken and refunded over a period (totals per currency, and a bar chart per day drawn on the
//! server as SVG).

mod chart;
mod period;
mod view;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use billing_core::billing::{PaymentTotals, PaymentsReport};
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::ids::CustomerId;
use billing_core::money::{Currency, Money};
use billing_core::ports::CustomerOutstanding;
use serde::Deserialize;

use super::{failed, header_of};
use crate::Console;
use crate::session::SignedIn;
use crate::views::page;
use period::Period;
use view::{OwingRow, OwingTotal, PaymentsView, ReportsPage, TotalsRow};

/// Balances on a page.
const PAGE: u32 = 50;
/// Balances read at a time for the CSV file.
const CSV_PAGE: u32 = 1000;

/// The reports pages' routes.
pub(crate) fn routes() -> Router<Console> {
    Router::new()
        .route("/console/reports", get(show))
        .route("/console/reports/outstanding.csv", get(outstanding_csv))
}

/// `?from=&until=&after_customer=&after_currency=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReportsQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    after_customer: Option<String>,
    #[serde(default)]
    after_currency: Option<String>,
}

/// The names of the customers of some balances (a customer not found has none).
async fn names(
    console: &Console,
    business: &Business,
    rows: &[CustomerOutstanding],
) -> Result<HashMap<CustomerId, String>, BillingError> {
    let mut names = HashMap::new();
    for row in rows {
        if names.contains_key(&row.customer) {
            continue;
        }
        let name = match console.billing.customer(business, &row.customer).await {
            Ok(customer) => customer.name,
            Err(BillingError::CustomerNotFound(_)) => String::new(),
            Err(error) => return Err(error),
        };
        names.insert(row.customer.clone(), name);
    }
    Ok(names)
}

/// A row of amounts.
fn totals_row(id: String, label: String, totals: &PaymentTotals) -> TotalsRow {
    let text = |money: Result<Money, _>| money.map_or_else(|_| "—".to_owned(), |m| m.to_string());
    TotalsRow {
        id,
        label,
        charged: totals.charged.to_string(),
        cash: totals.cash.to_string(),
        check: totals.check.to_string(),
        other: totals.other.to_string(),
        refunded: totals.refunded.to_string(),
        net: text(totals.net()),
    }
}

/// The payments section of a report.
fn payments_view(period: &Period, report: &PaymentsReport) -> PaymentsView {
    let code = |totals: &PaymentTotals| totals.currency().code().to_owned();
    PaymentsView {
        label: format!(
            "{} to {} (UTC)",
            period.from.format("%-d %b %Y"),
            period.until.format("%-d %b %Y")
        ),
        totals: report
            .totals
            .iter()
            .map(|t| totals_row(format!("totals-{}", code(t)), code(t), t))
            .collect(),
        days: report
            .days
            .iter()
            .flat_map(|day| {
                day.totals.iter().map(move |t| {
                    totals_row(
                        format!("day-{}-{}", day.day, code(t)),
                        format!("{} · {}", day.day.format("%a %-d %b %Y"), code(t)),
                        t,
                    )
                })
            })
            .collect(),
        charts: chart::charts(report),
        legend: chart::legend(),
    }
}

/// `GET /console/reports`.
pub(crate) async fn show(
    State(console): State<Console>,
    member: SignedIn,
    Query(query): Query<ReportsQuery>,
) -> Response {
    let business = &member.visit.business;
    let billing = &console.billing;
    let after = query
        .after_customer
        .and_then(|c| CustomerId::new(c).ok())
        .zip(
            query
                .after_currency
                .and_then(|c| Currency::from_code(&c).ok()),
        );
    let owing = match billing.outstanding(business, after.as_ref(), PAGE).await {
        Ok(owing) => owing,
        Err(error) => {
            tracing::error!(%error, "the console's outstanding report failed");
            return failed();
        }
    };
    let names = match names(&console, business, &owing.customers).await {
        Ok(names) => names,
        Err(error) => {
            tracing::error!(%error, "the console's outstanding report failed");
            return failed();
        }
    };
    let today = billing.now().date_naive();
    let asked = Period::parse(query.from.as_deref(), query.until.as_deref(), today);
    let (status, error, payments, from, until) = match asked {
        Ok(period) => {
            let report = billing
                .payments_report(business, period.start(), period.end())
                .await;
            let report = match report {
                Ok(report) => report,
                Err(error) => {
                    tracing::error!(%error, "the console's payments report failed");
                    return failed();
                }
            };
            (
                StatusCode::OK,
                None,
                Some(payments_view(&period, &report)),
                period.from.to_string(),
                period.until.to_string(),
            )
        }
        Err(message) => (
            StatusCode::BAD_REQUEST,
            Some(message),
            None,
            query.from.unwrap_or_default(),
            query.until.unwrap_or_default(),
        ),
    };
    let period = if error.is_none() {
        format!("from={from}&until={until}&")
    } else {
        String::new()
    };
    let next = owing.next_after.as_ref().map(|(customer, currency)| {
        format!("/console/reports?{period}after_customer={customer}&after_currency={currency}")
    });
    let owing_rows = owing
        .customers
        .iter()
        .map(|row| OwingRow {
            id: format!("owes-{}-{}", row.customer, row.balance_due.currency()),
            customer: row.customer.to_string(),
            href: format!("/console/customers/{}", row.customer),
            name: names.get(&row.customer).cloned().unwrap_or_default(),
            bookings: row.bookings,
            amount: row.balance_due.to_string(),
        })
        .collect();
    let owing_totals = owing
        .totals
        .iter()
        .map(|total| OwingTotal {
            id: format!("owed-{}", total.balance_due.currency()),
            currency: total.balance_due.currency().to_string(),
            bookings: total.bookings,
            amount: total.balance_due.to_string(),
        })
        .collect();
    page(
        status,
        &ReportsPage {
            header: Some(header_of(&member)),
            owing: owing_rows,
            owing_totals,
            next,
            from,
            until,
            error,
            payments,
        },
    )
}

/// A text a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first) gets a `'` before it, so that opening the file runs nothing.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Every balance of the business as CSV: a header row, then one row per (customer, currency).
async fn outstanding_rows(console: &Console, business: &Business) -> Result<Vec<u8>, String> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "customer_id",
        "customer_name",
        "currency",
        "bookings",
        "balance_due",
    ])
    .map_err(|e| e.to_string())?;
    let mut after = None;
    loop {
        let owing = console
            .billing
            .outstanding(business, after.as_ref(), CSV_PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let names = names(console, business, &owing.customers)
            .await
            .map_err(|e| e.to_string())?;
        for row in &owing.customers {
            let name = names.get(&row.customer).map_or("", String::as_str);
            csv.write_record([
                row.customer.as_str(),
                &inert(name),
                row.balance_due.currency().code(),
                &row.bookings.to_string(),
                &row.balance_due.amount().to_string(),
            ])
            .map_err(|e| e.to_string())?;
        }
        match owing.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    csv.into_inner().map_err(|e| e.to_string())
}

/// `GET /console/reports/outstanding.csv`: what every customer owes, as a download.
pub(crate) async fn outstanding_csv(State(console): State<Console>, member: SignedIn) -> Response {
    let body = match outstanding_rows(&console, &member.visit.business).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "the console's outstanding CSV failed");
            return failed();
        }
    };
    let file = format!(
        "attachment; filename=\"outstanding-{}.csv\"",
        console.billing.now().format("%Y-%m-%d")
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    match HeaderValue::from_str(&file) {
        Ok(value) => {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        Err(_) => return failed(),
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_a_spreadsheet_would_run_are_made_inert() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("-1+2"), "'-1+2");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Smith, \"Jo\""), "Smith, \"Jo\"");
        assert_eq!(inert(""), "");
    }
}
