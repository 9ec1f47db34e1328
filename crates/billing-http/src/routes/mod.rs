//! The handlers, one module per resource, and what money-moving handlers share: running the
//! command in its own task, and turning its result into 201/202, a problem, and the replay
//! header.

pub(crate) mod bookings;
pub(crate) mod customers;
pub(crate) mod links;
pub(crate) mod notifications;
pub(crate) mod ops;
pub(crate) mod payments;
pub(crate) mod reports;
pub(crate) mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing_core::billing::Receipt;
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, PaymentId};
use billing_core::payment::{Payment, PaymentState};
use billing_core::ports::{GatewayError, StoredResponse};

use crate::problem::{PROBLEM_JSON, Problem};
use crate::state::Api;
use crate::telemetry::count_payment;
use crate::wire::{BookingSummaryJson, PaymentJson, ReceiptJson};

/// The header saying an answer repeats an earlier one under the same idempotency key.
pub(crate) const REPLAYED: &str = "idempotent-replayed";

/// Whether an idempotency key was already used by this business (so the answer is a replay).
pub(crate) async fn key_was_used(
    api: &Api,
    business: &Business,
    key: Option<&IdempotencyKey>,
) -> Result<bool, Problem> {
    match key {
        Some(key) => Ok(api.engine.key_used(business, key).await?),
        None => Ok(false),
    }
}

/// Runs a command to its end in its own task: a client that disconnects (or a request
/// timeout) must not cut a money move between the gateway call and the recording of its
/// outcome.
pub(crate) async fn run_to_end<T, F>(command: F) -> Result<T, Problem>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // The task keeps the request's span, so its logs carry the request id.
    let command = tracing::Instrument::instrument(command, tracing::Span::current());
    tokio::spawn(command).await.map_err(|error| {
        tracing::error!(%error, "a command's task failed");
        Problem::internal()
    })
}

/// 201 for a payment whose outcome is known, 202 while the gateway's outcome is open (pending,
/// or waiting for the customer to authenticate).
pub(crate) fn created_status(payment: &Payment) -> StatusCode {
    if payment.state.is_in_flight() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    }
}

/// A receipt as JSON, the bookings with their dates.
pub(crate) async fn receipt_json(
    api: &Api,
    business: &Business,
    receipt: &Receipt,
) -> Result<ReceiptJson, Problem> {
    let ids: Vec<BookingId> = receipt.bookings.iter().map(|s| s.booking.clone()).collect();
    let accounts = api.engine.accounts(business, &ids).await?;
    Ok(ReceiptJson {
        payment: PaymentJson::from(&receipt.payment),
        bookings: BookingSummaryJson::many(&receipt.bookings, &accounts),
    })
}

/// The receipt of a payment read back (when the command's own answer was an error that still
/// leaves the payment to show).
pub(crate) async fn read_back(
    api: &Api,
    business: &Business,
    payment: &PaymentId,
) -> Result<ReceiptJson, Problem> {
    let view = api.engine.payment(business, payment).await?;
    let mut bookings = Vec::new();
    for allocation in &view.payment.allocations {
        let booking = api.engine.booking(business, &allocation.booking).await?;
        bookings.push(BookingSummaryJson::new(
            &booking.summary,
            Some(&booking.account),
        ));
    }
    Ok(ReceiptJson {
        payment: PaymentJson::from(&view.payment),
        bookings,
    })
}

/// How a money-moving command's result is answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    /// 201, or 202 while the outcome is open.
    Created,
    /// 200 whatever the payment's state (cancel, reconcile).
    Ok,
}

fn kind_name(payment: &Payment) -> &'static str {
    use billing_core::payment::KindName;
    match payment.kind.name() {
        KindName::Charge => "charge",
        KindName::Collection => "collection",
        KindName::Authorization => "authorization",
        KindName::Capture => "capture",
        KindName::Refund => "refund",
    }
}

/// The media type of a JSON answer.
pub(crate) const JSON: &str = "application/json";

/// The media type a bulk charge stores its parts' first answers under: one element of the bulk
/// answer's `results`, never answered on its own. It tells them apart from a single command's
/// answers (a client's own key can be the bulk key's part for a booking).
pub(crate) const BULK_RESULT: &str = "application/vnd.billing.bulk-result+json";

/// A stored first answer, answered again exactly, with the replay header; `None` when it is
/// not a single command's answer or cannot be sent (so the caller answers from the receipt).
fn stored_answer(stored: &StoredResponse) -> Option<Response> {
    if stored.content_type != JSON && stored.content_type != PROBLEM_JSON {
        return None;
    }
    let status = StatusCode::from_u16(stored.status).ok()?;
    let content_type = HeaderValue::from_str(&stored.content_type).ok()?;
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    Some(response)
}

/// A receipt as the command's outcome, as the core gives it without a stored answer: a failed
/// payment is its decline.
pub(crate) fn as_outcome(receipt: Receipt) -> Result<Receipt, BillingError> {
    match &receipt.payment.state {
        PaymentState::Failed(failure) => Err(BillingError::Declined {
            payment: receipt.payment.id.clone(),
            failure: failure.clone(),
        }),
        _ => Ok(receipt),
    }
}

/// Keeps the first final answer to a command made under an idempotency key, so that its
/// replays answer it again byte for byte. Runs to its end in its own task, before the answer
/// goes out (a replay sent once the client has it finds it). A failure is logged, not
/// answered: the command is done, and a replay then answers from the payment as it stands.
pub(crate) async fn keep_first_answer(
    api: &Api,
    business: &Business,
    key: &IdempotencyKey,
    response: StoredResponse,
) {
    let engine = Arc::clone(&api.engine);
    let (tenant, key) = (business.clone(), key.clone());
    let saved =
        run_to_end(async move { engine.save_response(&tenant, &key, response).await }).await;
    if let Ok(Err(error)) = saved {
        tracing::warn!(%error, "the first answer was not kept; a replay answers from the payment");
    }
}

/// Turns a command's result into the HTTP answer: the receipt with 201/202 (or 200), the
/// `Idempotent-Replayed` header on a replay, a decline as a 402 problem, an unknown gateway
/// outcome as the pending payment with 202.
///
/// With an idempotency key, a final answer (the receipt of a settled payment, or a decline) is
/// kept as the key's first answer; a replay whose first answer was kept answers it again, the
/// same status and body byte for byte, whatever happened to the payment since. A "still
/// pending" answer (202) and refusals are not kept: a later replay answers anew.
pub(crate) async fn answer_receipt(
    api: &Api,
    business: &Business,
    kind: &'static str,
    result: Result<Receipt, BillingError>,
    answer: Answer,
    key: Option<&IdempotencyKey>,
    key_was_used: bool,
) -> Response {
    let mut keep = key;
    let result = match result {
        Ok(mut receipt) => match receipt.first_response.take() {
            Some(stored) => {
                let outcome = match &receipt.payment.state {
                    PaymentState::Failed(_) => "declined",
                    state => state.name(),
                };
                count_payment(kind_name(&receipt.payment), outcome);
                if let Some(response) = stored_answer(&stored) {
                    return response;
                }
                // Another shape of answer was kept under the key (a bulk charge's part):
                // answered from the payment, as before answers were kept, and not kept again.
                keep = None;
                as_outcome(receipt)
            }
            None => Ok(receipt),
        },
        other => other,
    };
    let (replayed, status, content_type, body, settled) = match result {
        Ok(receipt) => {
            count_payment(kind_name(&receipt.payment), receipt.payment.state.name());
            let status = match answer {
                Answer::Created => created_status(&receipt.payment),
                Answer::Ok => StatusCode::OK,
            };
            let body = match receipt_json(api, business, &receipt).await {
                Ok(body) => body,
                Err(problem) => return problem.into_response(),
            };
            let body = match serde_json::to_string(&body) {
                Ok(body) => body,
                Err(error) => {
                    tracing::error!(%error, "a receipt could not be written as JSON");
                    return Problem::internal().into_response();
                }
            };
            let settled = !receipt.payment.state.is_in_flight();
            (receipt.replayed, status, JSON, body, settled)
        }
        // The gateway may have acted: the payment is pending, not failed, and the reconciler
        // settles it. The client sees it as accepted.
        Err(BillingError::Gateway {
            payment: Some(payment),
            error: GatewayError::UnknownOutcome(_),
        }) => {
            count_payment(kind, "pending");
            let mut response = match read_back(api, business, &payment).await {
                Ok(body) => {
                    let status = match answer {
                        Answer::Created => StatusCode::ACCEPTED,
                        Answer::Ok => StatusCode::OK,
                    };
                    (status, Json(body)).into_response()
                }
                Err(problem) => return problem.into_response(),
            };
            if key_was_used {
                mark_replayed(&mut response);
            }
            return response;
        }
        Err(error) => {
            let declined = matches!(error, BillingError::Declined { .. });
            count_payment(kind, if declined { "declined" } else { error.code() });
            let problem = Problem::from(error);
            if !declined {
                return problem.into_response();
            }
            let body = problem.body_text();
            (key_was_used, problem.status(), PROBLEM_JSON, body, true)
        }
    };
    if let Some(key) = keep.filter(|_| settled) {
        let response = StoredResponse {
            status: status.as_u16(),
            content_type: content_type.to_owned(),
            body: body.clone(),
        };
        keep_first_answer(api, business, key, response).await;
    }
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if replayed {
        mark_replayed(&mut response);
    }
    response
}

/// Adds the `Idempotent-Replayed: true` header.
fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
}
