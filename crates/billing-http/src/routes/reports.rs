//! Reports: what customers owe, a page at a time, or all of it as CSV.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use billing_core::billing::OutstandingPage;
use billing_core::customer::Business;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::{ApiQuery, Tenant};
use crate::problem::{Problem, ReportProblems};
use crate::state::Api;
use crate::wire::{OutstandingJson, parse_cursor};

/// The default page of the report.
const DEFAULT_LIMIT: u32 = 100;
/// The largest page of the report (and the page the CSV export reads at a time).
const MAX_LIMIT: u32 = 1000;

/// The report's page and format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV.
    format: Option<String>,
    /// The `next_after` of the previous page: a customer id, `:`, a currency code
    /// (`c-ada:USD`). JSON only: the CSV export has every row.
    #[param(example = "c-ada:USD")]
    after: Option<String>,
    /// At most this many rows (1 to 1000, default 100). JSON only.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// What customers owe, per customer and currency, a page at a time, and the totals.
///
/// As JSON: up to `limit` rows by customer then currency, after the `after` cursor; the
/// `next_after` to pass for the next page (absent on the last page); and what every customer
/// owes in all, per currency. As CSV (`?format=csv` or `Accept: text/csv`): every row of every
/// page, under the header `customer,currency,balance_due,bookings`, and a final `TOTAL` row per
/// currency.
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
    let after = query
        .after
        .as_deref()
        .map(|text| {
            parse_cursor(text).ok_or_else(|| {
                Problem::invalid_query(format!(
                    "after {text:?} is not a cursor: a customer id, ':', a currency code"
                ))
            })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::invalid_query(format!("limit is 1 to {MAX_LIMIT}")));
    }
    if csv {
        let mut response = to_csv(&api, &business).await?.into_response();
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
    let page = api
        .billing
        .outstanding(&business, after.as_ref(), limit)
        .await?;
    Ok(Json(OutstandingJson::from(&page)).into_response())
}

/// The whole report as CSV, read a page at a time. Ids and currency codes have no commas or
/// quotes (the core restricts them), so no field needs quoting.
async fn to_csv(api: &Api, business: &Business) -> Result<String, Problem> {
    let mut out = String::from("customer,currency,balance_due,bookings\n");
    let mut after = None;
    let totals = loop {
        let page: OutstandingPage = api
            .billing
            .outstanding(business, after.as_ref(), MAX_LIMIT)
            .await?;
        for row in &page.customers {
            let _ = writeln!(
                out,
                "{},{},{},{}",
                row.customer,
                row.balance_due.currency().code(),
                row.balance_due.amount(),
                row.bookings
            );
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break page.totals,
        }
    };
    for total in &totals {
        let money = total.balance_due;
        let _ = writeln!(
            out,
            "TOTAL,{},{},{}",
            money.currency().code(),
            money.amount(),
            total.bookings
        );
    }
    Ok(out)
}
