//! Payment automation: the business's payment settings, a booking's automation (its policy,
//! pause, next action and runs), canceling a booking, pausing a customer, and the runs across
//! the business.

use axum::Json;
use axum::extract::State;
use billing_core::billing::CancelBooking;
use billing_core::ids::RunId;
use billing_core::ports::{RunFilter, RunOutcome};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::run_to_end;
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson, Tenant};
use crate::problem::{Problem, ProblemDetails, ReadProblems, WriteProblems};
use crate::state::Api;
use crate::wire::{
    BookingAutomationJson, CancelRequest, CancellationJson, CustomerAutomationJson, NoShowJson,
    PaymentSettingsJson, PutBookingAutomation, RunJson, RunList, booking_id, customer_id,
};

/// The most runs one page lists.
const MAX_PAGE: u32 = 500;

/// The business's payment settings (manual until set).
#[utoipa::path(
    get, path = "/v1/settings/payments", tag = "automation",
    responses((status = 200, description = "The settings", body = PaymentSettingsJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_settings(
    State(api): State<Api>,
    Tenant(business): Tenant,
) -> Result<Json<PaymentSettingsJson>, Problem> {
    let settings = api.billing.payment_settings(&business).await?;
    Ok(Json(PaymentSettingsJson::from(&settings)))
}

/// Set the business's payment settings. Every open booking is planned again under them at the
/// scheduler's next run; a charge already made is not undone.
#[utoipa::path(
    put, path = "/v1/settings/payments", tag = "automation",
    request_body = PaymentSettingsJson,
    responses((status = 200, description = "The settings, as stored", body = PaymentSettingsJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn put_settings(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<PaymentSettingsJson>,
) -> Result<Json<PaymentSettingsJson>, Problem> {
    let settings = body.settings()?;
    let stored = api
        .billing
        .set_payment_settings(&business, settings)
        .await?;
    Ok(Json(PaymentSettingsJson::from(&stored)))
}

/// A booking's automation: the policy in force, whether it is paused or needs attention, its
/// next scheduled action, and its runs with their outcomes.
#[utoipa::path(
    get, path = "/v1/bookings/{id}/automation", tag = "automation",
    params(("id" = String, Path, description = "The booking id")),
    responses((status = 200, description = "The booking's automation", body = BookingAutomationJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_booking_automation(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BookingAutomationJson>, Problem> {
    let booking = booking_id(&id)?;
    let automation = api.billing.booking_automation(&business, &booking).await?;
    Ok(Json(BookingAutomationJson::of(&id, &automation)))
}

/// Set a booking's own policy (`null`: the business's) and pause or resume its automation.
/// Resuming clears "needs attention" and the failed attempts. A canceled booking is 409
/// `booking_canceled`.
#[utoipa::path(
    put, path = "/v1/bookings/{id}/automation", tag = "automation",
    params(("id" = String, Path, description = "The booking id")),
    request_body = PutBookingAutomation,
    responses((status = 200, description = "The booking's automation", body = BookingAutomationJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn put_booking_automation(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PutBookingAutomation>,
) -> Result<Json<BookingAutomationJson>, Problem> {
    let booking = booking_id(&id)?;
    let policy = body.policy.as_ref().map(|p| p.policy()).transpose()?;
    api.billing
        .set_booking_policy(&business, &booking, policy)
        .await?;
    let automation = api
        .billing
        .pause_booking(&business, &booking, body.paused)
        .await?;
    Ok(Json(BookingAutomationJson::of(&id, &automation)))
}

/// Cancel a booking: automation stops for it, its open holds are released, and the business's
/// cancellation fee is charged to the card on file when it is due (canceled within its window
/// before the service) unless `charge_fee` is false. Canceling again does nothing more (the
/// fee's charge is keyed by the booking); the answer says `already_canceled`.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/cancel", tag = "automation",
    params(("id" = String, Path, description = "The booking id")),
    request_body(content = Option<CancelRequest>, description = "Optional: `{\"charge_fee\": false}` waives the fee"),
    responses((status = 200, description = "Canceled", body = CancellationJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn cancel_booking(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<Option<CancelRequest>>,
) -> Result<Json<CancellationJson>, Problem> {
    let booking = booking_id(&id)?;
    let command = CancelBooking {
        booking: booking.clone(),
        charge_fee: body.is_none_or(|b| b.charge_fee),
    };
    let billing = api.billing.clone();
    let scoped = business.clone();
    // Holds are released and a fee charged at the gateway: finished even if the client goes.
    let cancellation =
        run_to_end(async move { billing.cancel_booking(&scoped, command).await }).await??;
    let automation = api.billing.booking_automation(&business, &booking).await?;
    Ok(Json(CancellationJson::of(
        &cancellation,
        BookingAutomationJson::of(&id, &automation),
    )))
}

/// Mark a booking as a no-show (the customer was not there for the service): automation stops
/// for it (it is canceled), its open holds are released, and the business's no-show fee is
/// charged to the card on file, at most what the booking still owes. Marking it again charges
/// nothing more: the answer says `already_marked` and repeats the first fee. 422
/// `invalid_input` when the business has no no-show fee or the service was completed, 422
/// `no_card_on_file` without a card, 409 `booking_canceled` for a canceled booking; nothing
/// changes then.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/no-show", tag = "automation",
    params(("id" = String, Path, description = "The booking id")),
    responses((status = 200, description = "Marked a no-show", body = NoShowJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn mark_no_show(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NoShowJson>, Problem> {
    let booking = booking_id(&id)?;
    let billing = api.billing.clone();
    let scoped = business.clone();
    let marking = booking.clone();
    // Holds are released and a fee charged at the gateway: finished even if the client goes.
    let no_show =
        run_to_end(async move { billing.mark_no_show(&scoped, &marking).await }).await??;
    let automation = api.billing.booking_automation(&business, &booking).await?;
    Ok(Json(NoShowJson::of(
        &no_show,
        BookingAutomationJson::of(&id, &automation),
    )))
}

/// Pause or resume automation for every booking of a customer.
#[utoipa::path(
    put, path = "/v1/customers/{id}/automation", tag = "automation",
    params(("id" = String, Path, description = "The customer id")),
    request_body = CustomerAutomationJson,
    responses((status = 200, description = "As stored", body = CustomerAutomationJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn put_customer_automation(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CustomerAutomationJson>,
) -> Result<Json<CustomerAutomationJson>, Problem> {
    let customer = customer_id(&id)?;
    api.billing
        .pause_customer(&business, &customer, body.paused)
        .await?;
    Ok(Json(body))
}

/// Filters of the runs list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsQuery {
    /// Only runs with this outcome: `succeeded`, `pending`, `declined`, `notified`, `failed`.
    outcome: Option<String>,
    /// Only this booking's runs.
    booking: Option<String>,
    /// The `next_before` of the previous page.
    before: Option<String>,
    /// At most this many (1 to 500, default 100).
    limit: Option<u32>,
}

/// A page's cursor: the last run's time and id.
fn run_cursor(run: &RunJson) -> String {
    format!("{}~{}", run.at.to_rfc3339(), run.id)
}

fn parse_run_cursor(text: &str) -> Result<(DateTime<Utc>, RunId), Problem> {
    let refused = || Problem::invalid_query(format!("unknown cursor {text:?}"));
    let (at, id) = text.split_once('~').ok_or_else(refused)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| refused())?
        .with_timezone(&Utc);
    Ok((at, RunId::new(id).map_err(|_| refused())?))
}

/// Automation's runs across the business, newest first: by outcome (the declined ones, say),
/// by booking, a page at a time.
#[utoipa::path(
    get, path = "/v1/automation/runs", tag = "automation",
    params(RunsQuery),
    responses(
        (status = 200, description = "A page of runs", body = RunList),
        (status = 400, description = "`invalid_query`", body = ProblemDetails, content_type = "application/problem+json"),
        ReadProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_runs(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<RunList>, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_query(format!("limit is 1 to {MAX_PAGE}")));
    }
    let outcome = query
        .outcome
        .as_deref()
        .map(|o| {
            RunOutcome::NAMES
                .into_iter()
                .find(|name| *name == o)
                .ok_or_else(|| Problem::invalid_query(format!("unknown outcome {o:?}")))
        })
        .transpose()?;
    let filter = RunFilter {
        booking: query.booking.as_deref().map(booking_id).transpose()?,
        outcome,
        before: query.before.as_deref().map(parse_run_cursor).transpose()?,
        limit,
    };
    let runs = api.billing.automation_runs(&business, &filter).await?;
    let data: Vec<RunJson> = runs.iter().map(RunJson::from).collect();
    let full_page = u32::try_from(data.len()).unwrap_or(u32::MAX) >= limit;
    Ok(Json(RunList {
        next_before: data.last().filter(|_| full_page).map(run_cursor),
        data,
    }))
}
