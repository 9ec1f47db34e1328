//! Reports: what customers owe.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use billing_core::billing::OutstandingReport;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::{ApiQuery, Tenant};
use crate::problem::{Problem, ReportProblems};
use crate::state::Api;
use crate::wire::{MoneyJson, OutstandingJson, OutstandingRowJson};

/// The report's format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV.
    format: Option<String>,
}

/// What every customer owes, per currency, and the totals.
///
/// As CSV (`?format=csv` or `Accept: text/csv`): the header
/// `customer,currency,balance_due,bookings`, one row per customer and currency, and a final
/// `TOTAL` row per currency.
#[utoipa::path(
    get, path = "/v1/reports/outstanding", tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", content(
            (OutstandingJson = "application/json"),
            (String = "text/csv"),
        )),
        ReportProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn outstanding(
    State(api): State<Api>,
    Tenant(business): Tenant,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Response, Problem> {
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(Problem::invalid_query(format!(
                "unknown format {other:?}: json or csv"
            )));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv")),
    };
    let report = api.engine.outstanding(&business).await?;
    if csv {
        let mut response = to_csv(&report).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"outstanding.csv\""),
        );
        return Ok(response);
    }
    Ok(Json(OutstandingJson {
        customers: report
            .customers
            .iter()
            .map(OutstandingRowJson::from)
            .collect(),
        totals: report.totals.iter().map(MoneyJson::from).collect(),
    })
    .into_response())
}

/// The report as CSV. Ids and currency codes have no commas or quotes (the core restricts
/// them), so no field needs quoting.
fn to_csv(report: &OutstandingReport) -> String {
    let mut out = String::from("customer,currency,balance_due,bookings\n");
    let mut bookings: BTreeMap<String, u64> = BTreeMap::new();
    for row in &report.customers {
        let currency = row.balance_due.currency().code().to_owned();
        let _ = writeln!(
            out,
            "{},{},{},{}",
            row.customer,
            currency,
            row.balance_due.amount(),
            row.bookings
        );
        *bookings.entry(currency).or_default() += row.bookings;
    }
    for total in &report.totals {
        let currency = total.currency();
        let currency = currency.code();
        let count = bookings.get(currency).copied().unwrap_or(0);
        let _ = writeln!(out, "TOTAL,{currency},{},{count}", total.amount());
    }
    out
}
