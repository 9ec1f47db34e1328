//! Bulk charges: many bookings charged at once, each for what can be charged. The core runs
//! them in parallel, paced under the gateway's rate limit, and sends again a charge the gateway
//! refused as rate limited; the API answers one result per booking.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use billing_core::billing::{BulkCharge, BulkChargeResult};
use billing_core::receipt::Outcome;

use super::bookings::source;
use super::{kind_name, outcome_name, run_to_end};
use crate::extract::{ApiJson, IdemKey, Tenant};
use crate::problem::{MoneyProblems, Problem};
use crate::state::Api;
use crate::telemetry::count_payment;
use crate::wire::{BulkRequest, BulkResponse, BulkResultJson, PaymentJson, booking_id};

/// Charge several bookings, each for what can be charged.
///
/// The bookings (each named once) are charged in parallel, a bounded number at once and paced
/// under the gateway's rate limit; a charge the gateway refused as rate limited is sent again.
/// The results come back one per booking, in the order asked, each with the status a single
/// charge would have answered (201, 202, 402 with the declined payment, or the problem's
/// status). One decline does not stop the others. With an `Idempotency-Key`, each booking's
/// charge runs under `{key}/{booking}`, and the same batch sent again answers each booking's
/// settled result (charged or declined) exactly as the first time.
#[utoipa::path(
    post, path = "/v1/charges/bulk", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters")),
    request_body = BulkRequest,
    responses((status = 200, description = "One result per booking", body = BulkResponse), MoneyProblems),
    security(("api_key" = []))
)]
pub(crate) async fn bulk_charge(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<Json<BulkResponse>, Problem> {
    let most = api.billing.policy().bulk.max_bookings;
    if body.bookings.is_empty() || body.bookings.len() > most {
        return Err(Problem::invalid_request(format!(
            "a bulk charge takes 1 to {most} bookings"
        )));
    }
    let bookings = body
        .bookings
        .iter()
        .map(|b| booking_id(b))
        .collect::<Result<Vec<_>, _>>()?;
    let command = BulkCharge {
        bookings,
        source: source(body.payment_method)?,
        idempotency_key: key,
    };
    // The whole batch runs in its own task: a client that goes away does not stop it half-way.
    let billing = api.billing.clone();
    let results = run_to_end(async move { billing.charge_many(&business, command).await })
        .await?
        .map_err(|error| {
            count_payment("charge", error.code());
            Problem::from(error)
        })?;
    Ok(Json(BulkResponse {
        results: results.into_iter().map(bulk_result).collect(),
    }))
}

/// One booking's result, as a single charge of it would have answered: made from its receipt
/// (or refusal) alone, so that a replayed batch answers the same bytes.
fn bulk_result(result: BulkChargeResult) -> BulkResultJson {
    let booking = result.booking.to_string();
    match result.result {
        Ok(receipt) => {
            count_payment(kind_name(&receipt.payment), outcome_name(&receipt));
            let payment = Some(PaymentJson::from(&receipt.payment));
            let (status, error) = match receipt.outcome() {
                Outcome::Settled => (StatusCode::CREATED, None),
                Outcome::Pending => (StatusCode::ACCEPTED, None),
                Outcome::Declined(failure) => {
                    let problem = Problem::declined(&receipt.payment.id, failure);
                    (problem.status(), Some(problem.into_details()))
                }
            };
            BulkResultJson {
                booking,
                status: status.as_u16(),
                payment,
                error,
            }
        }
        Err(error) => {
            count_payment("charge", error.code());
            let problem = Problem::from(error);
            BulkResultJson {
                booking,
                status: problem.status,
                payment: None,
                error: Some(problem.into_details()),
            }
        }
    }
}
