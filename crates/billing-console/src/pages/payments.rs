//! A payment's actions on a booking's page: capture a hold (all or part), release it, refund
//! a payment (all or part; owners only). Each form carries its own idempotency key, like the
//! charge form's; the answer is a redirect to the booking, which says how it went.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use billing_core::billing::{CaptureHold, RefundPayment};
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, PaymentId};
use billing_core::money::Amount;
use billing_core::payment::Origin;
use billing_core::receipt::{Outcome, Receipt};
use billing_core::staff::StaffRole;
use serde::Deserialize;

use super::charge::back;
use super::{failed, forbidden, missing};
use crate::Console;
use crate::session::SignedIn;

/// A payment action's form.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionFields {
    csrf: String,
    /// The booking whose page the form is on (where the answer goes back to).
    booking: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    amount: String,
}

/// The payment and booking an action's form names, once the form is this session's. `Err`
/// is the page that refuses it: forbidden, or not found.
fn action(
    member: &SignedIn,
    id: String,
    form: &ActionFields,
) -> Result<(PaymentId, BookingId), fn() -> Response> {
    if !member.checks(&form.csrf) {
        return Err(forbidden);
    }
    match (PaymentId::new(id), BookingId::new(form.booking.clone())) {
        (Ok(payment), Ok(booking)) => Ok((payment, booking)),
        _ => Err(missing),
    }
}

fn key_of(form: &ActionFields) -> Option<IdempotencyKey> {
    IdempotencyKey::new(format!("console:{}", form.key.trim())).ok()
}

/// What a refused action answers.
fn refused(booking: &BookingId, error: &BillingError) -> Response {
    match error {
        BillingError::PaymentNotFound(_) => missing(),
        BillingError::CaptureExceedsHold { .. }
        | BillingError::RefundExceedsRefundable { .. }
        | BillingError::NonPositiveAmount(_)
        | BillingError::InvalidAmount(_)
        | BillingError::AmountNotChargeable(_) => back(booking, "amount"),
        BillingError::RequestInProgress(_) => back(booking, "busy"),
        BillingError::Gateway { .. } => back(booking, "gateway"),
        other => {
            tracing::warn!(code = other.code(), %other, "a console action was refused");
            back(booking, "not-done")
        }
    }
}

/// The booking's page again, saying how an action ended: `settled` or `pending` as its receipt
/// says, or why it was refused.
fn answer(
    booking: &BookingId,
    done: Result<Result<Receipt, BillingError>, tokio::task::JoinError>,
    settled: &str,
    pending: &str,
) -> Response {
    match done {
        Ok(Ok(receipt)) => back(
            booking,
            match receipt.outcome() {
                Outcome::Settled => settled,
                Outcome::Pending => pending,
                Outcome::Declined(_) => "not-done",
            },
        ),
        Ok(Err(error)) => refused(booking, &error),
        Err(_) => failed(),
    }
}

/// `POST /console/payments/{id}/capture`.
pub(crate) async fn capture(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ActionFields>,
) -> Response {
    let (hold, booking) = match action(&member, id, &form) {
        Ok(found) => found,
        Err(refusal) => return refusal(),
    };
    let (Some(key), Ok(amount)) = (key_of(&form), Amount::parse(form.amount.trim())) else {
        return back(&booking, "amount");
    };
    let command = CaptureHold {
        authorization: hold,
        amount: Some(amount),
        final_capture: true,
        idempotency_key: Some(key),
    };
    let (billing, business) = (console.billing.clone(), member.visit.business.clone());
    let by = Origin::Staff(member.visit.member.id.clone());
    let done = tokio::spawn(async move { billing.capture_as(&business, command, by).await }).await;
    match done {
        Ok(Ok(receipt)) => back(
            &booking,
            match receipt.outcome() {
                Outcome::Settled => "captured",
                Outcome::Pending => "pending",
                Outcome::Declined(_) => "not-done",
            },
        ),
        Ok(Err(error)) => refused(&booking, &error),
        Err(_) => failed(),
    }
}

/// `POST /console/payments/{id}/release`.
pub(crate) async fn release(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ActionFields>,
) -> Response {
    let (hold, booking) = match action(&member, id, &form) {
        Ok(found) => found,
        Err(refusal) => return refusal(),
    };
    let (billing, business) = (console.billing.clone(), member.visit.business.clone());
    let done = tokio::spawn(async move { billing.cancel_hold(&business, &hold).await }).await;
    match done {
        Ok(Ok(_)) => back(&booking, "released"),
        Ok(Err(error)) => refused(&booking, &error),
        Err(_) => failed(),
    }
}

/// `POST /console/payments/{id}/refund`: owners only.
pub(crate) async fn refund(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ActionFields>,
) -> Response {
    let (payment, booking) = match action(&member, id, &form) {
        Ok(found) => found,
        Err(refusal) => return refusal(),
    };
    if member.visit.member.role != StaffRole::Owner {
        return back(&booking, "not-owner");
    }
    let (Some(key), Ok(amount)) = (key_of(&form), Amount::parse(form.amount.trim())) else {
        return back(&booking, "amount");
    };
    let command = RefundPayment {
        payment,
        amount: Some(amount),
        reason: None,
        idempotency_key: Some(key),
    };
    let (billing, business) = (console.billing.clone(), member.visit.business.clone());
    let by = Origin::Staff(member.visit.member.id.clone());
    let done = tokio::spawn(async move { billing.refund_as(&business, command, by).await }).await;
    answer(&booking, done, "refunded", "refund-pending")
}
