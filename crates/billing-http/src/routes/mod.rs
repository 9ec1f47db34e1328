//! The handlers, one module per resource, and what money-moving handlers share: running the
//! command in its own task, and rendering its receipt as 201/202, a 402 decline, or 200, with
//! the replay header.
//!
//! A money move is answered from its receipt alone — no second read of the store — so that the
//! answer is a function of the receipt. The core keeps the first settled receipt of a command
//! made under an idempotency key and hands it back on a replay; rendered the same way, the
//! replay's status and body are the first answer's, byte for byte.

pub(crate) mod automation;
pub(crate) mod bookings;
pub(crate) mod bulk;
pub(crate) mod connect;
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
use billing_core::error::BillingError;
use billing_core::payment::{KindName, Payment};
use billing_core::receipt::{Outcome, Receipt};

use crate::problem::Problem;
use crate::telemetry::count_payment;
use crate::wire::ReceiptJson;

/// The header saying an answer repeats an earlier one under the same idempotency key.
pub(crate) const REPLAYED: &str = "idempotent-replayed";

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

/// How a money-moving command's receipt is answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    /// 201 when settled, 202 while the gateway's outcome is open (pending, or waiting for the
    /// customer to authenticate), a 402 `card_declined` problem when declined.
    Created,
    /// 200 with the receipt whatever the outcome (cancel, reconcile: the payment as it stands
    /// is the answer).
    Ok,
}

/// The payment kind's name, for the metrics.
pub(crate) fn kind_name(payment: &Payment) -> &'static str {
    match payment.kind.name() {
        KindName::Charge => "charge",
        KindName::Collection => "collection",
        KindName::Authorization => "authorization",
        KindName::Capture => "capture",
        KindName::Refund => "refund",
        KindName::Dispute => "dispute",
    }
}

/// How a receipt ended, for the metrics: `declined`, or the payment's state.
pub(crate) fn outcome_name(receipt: &Receipt) -> &'static str {
    match receipt.outcome() {
        Outcome::Declined(_) => "declined",
        Outcome::Settled | Outcome::Pending => receipt.payment.state.name(),
    }
}

/// A receipt as a command's answer: its status and body depend on the receipt only (and on
/// how the route answers), so that a replay, which hands back the first receipt, answers the
/// same bytes.
pub(crate) fn receipt_response(receipt: &Receipt, answer: Answer) -> Response {
    let (status, mut response) = match (answer, receipt.outcome()) {
        (Answer::Created, Outcome::Declined(failure)) => (
            StatusCode::PAYMENT_REQUIRED,
            Problem::declined(&receipt.payment.id, failure).into_response(),
        ),
        (Answer::Created, Outcome::Pending) => (
            StatusCode::ACCEPTED,
            Json(ReceiptJson::from(receipt)).into_response(),
        ),
        (Answer::Created, Outcome::Settled) => (
            StatusCode::CREATED,
            Json(ReceiptJson::from(receipt)).into_response(),
        ),
        (Answer::Ok, _) => (
            StatusCode::OK,
            Json(ReceiptJson::from(receipt)).into_response(),
        ),
    };
    *response.status_mut() = status;
    if receipt.replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

/// Turns a command's result into the HTTP answer: the receipt (see [`receipt_response`]), or
/// the refusal as a problem. `kind` names the command in the metrics when it was refused.
pub(crate) fn answer_receipt(
    kind: &'static str,
    result: Result<Receipt, BillingError>,
    answer: Answer,
) -> Response {
    match result {
        Ok(receipt) => {
            count_payment(kind_name(&receipt.payment), outcome_name(&receipt));
            receipt_response(&receipt, answer)
        }
        Err(error) => {
            count_payment(kind, error.code());
            Problem::from(error).into_response()
        }
    }
}

/// [`answer_receipt`] for a use case that settles payments from the gateway's record, in
/// several steps (reconcile, sync, cancel, mark failed): 200 with the payment as it now stands,
/// or the refusal, whose storage failure never says that nothing was written.
pub(crate) fn answer_settled(
    kind: &'static str,
    result: Result<Receipt, BillingError>,
) -> Response {
    match result {
        Ok(receipt) => answer_receipt(kind, Ok(receipt), Answer::Ok),
        Err(error) => {
            count_payment(kind, error.code());
            Problem::settling(error).into_response()
        }
    }
}
