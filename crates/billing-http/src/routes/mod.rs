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

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use billing_core::billing::Receipt;
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::ids::{BookingId, PaymentId};
use billing_core::payment::Payment;
use billing_core::ports::GatewayError;

use crate::problem::Problem;
use crate::state::Api;
use crate::telemetry::count_payment;
use crate::wire::{BookingSummaryJson, PaymentJson, ReceiptJson};

/// The header saying an answer repeats an earlier one under the same idempotency key.
pub(crate) const REPLAYED: &str = "idempotent-replayed";

/// Whether an idempotency key was already used by this business (so the answer is a replay).
pub(crate) async fn key_was_used(
    api: &Api,
    business: &Business,
    key: Option<&billing_core::idempotency::IdempotencyKey>,
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

/// Turns a command's result into the HTTP answer: the receipt with 201/202 (or 200), the
/// `Idempotent-Replayed` header on a replay, a decline as a 402 problem, an unknown gateway
/// outcome as the pending payment with 202.
pub(crate) async fn answer_receipt(
    api: &Api,
    business: &Business,
    kind: &'static str,
    result: Result<Receipt, BillingError>,
    answer: Answer,
    key_was_used: bool,
) -> Response {
    let (replayed, response) = match result {
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
            (receipt.replayed, (status, Json(body)).into_response())
        }
        // The gateway may have acted: the payment is pending, not failed, and the reconciler
        // settles it. The client sees it as accepted.
        Err(BillingError::Gateway {
            payment: Some(payment),
            error: GatewayError::UnknownOutcome(_),
        }) => {
            count_payment(kind, "pending");
            match read_back(api, business, &payment).await {
                Ok(body) => {
                    let status = match answer {
                        Answer::Created => StatusCode::ACCEPTED,
                        Answer::Ok => StatusCode::OK,
                    };
                    (key_was_used, (status, Json(body)).into_response())
                }
                Err(problem) => return problem.into_response(),
            }
        }
        Err(error) => {
            let outcome = match &error {
                BillingError::Declined { .. } => "declined",
                other => other.code(),
            };
            count_payment(kind, outcome);
            let declined = matches!(error, BillingError::Declined { .. });
            (
                declined && key_was_used,
                Problem::from(error).into_response(),
            )
        }
    };
    let mut response = response;
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}
