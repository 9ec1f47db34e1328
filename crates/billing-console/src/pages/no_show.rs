//! "Mark as a no-show" on a booking's page: the customer was not there for the service. The
//! core stops the booking's automation, releases its holds and charges the business's no-show
//! fee to the card on file, once however often the form is sent (the fee's charge is keyed by
//! the booking). The answer is a redirect to the booking, whose page says how it went.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use billing_core::error::BillingError;
use billing_core::ids::BookingId;
use billing_core::receipt::Outcome;
use serde::Deserialize;

use super::charge::back;
use super::{failed, forbidden, missing};
use crate::Console;
use crate::session::SignedIn;

/// The form: only its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct NoShowFields {
    csrf: String,
}

/// How it went, as the booking's page names it (`?result=`).
pub(crate) fn result_message(result: &str) -> Option<(&'static str, &'static str)> {
    Some(match result {
        "no-show" => (
            "success",
            "Marked as a no-show: the no-show fee was charged and automation stopped.",
        ),
        "no-show-nothing" => (
            "success",
            "Marked as a no-show: nothing was left to charge, and automation stopped.",
        ),
        "no-show-declined" => (
            "error",
            "Marked as a no-show, but the card was declined: the fee was not charged.",
        ),
        "no-show-pending" => (
            "success",
            "Marked as a no-show: the fee was sent; the card processor has not answered yet.",
        ),
        "no-show-no-fee" => (
            "error",
            "The business has no no-show fee: nothing was done. Set one in the payment settings.",
        ),
        "no-show-refused" => (
            "error",
            "A booking completed or canceled cannot be marked a no-show. Nothing was done.",
        ),
        _ => return None,
    })
}

/// `POST /console/bookings/{id}/no-show`.
pub(crate) async fn mark(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NoShowFields>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(booking) = BookingId::new(id) else {
        return missing();
    };
    let billing = console.billing.clone();
    let business = member.visit.business.clone();
    let marking = booking.clone();
    // In its own task: a closed tab cannot cut the fee's charge in half.
    let made = tokio::spawn(async move { billing.mark_no_show(&business, &marking).await }).await;
    let Ok(made) = made else {
        return failed();
    };
    match made {
        Ok(no_show) => {
            tracing::info!(staff = %member.visit.member.id, booking = %booking, "console no-show");
            let result = match no_show.fee.as_ref().map(|fee| fee.outcome()) {
                None => "no-show-nothing",
                Some(Outcome::Settled) => "no-show",
                Some(Outcome::Pending) => "no-show-pending",
                Some(Outcome::Declined(_)) => "no-show-declined",
            };
            back(&booking, result)
        }
        Err(BillingError::BookingNotFound(_)) => missing(),
        Err(BillingError::NoCardOnFile(_)) => back(&booking, "no-card"),
        Err(BillingError::InvalidInput(why)) if why.contains("no-show fee") => {
            back(&booking, "no-show-no-fee")
        }
        Err(BillingError::InvalidInput(_) | BillingError::BookingCanceled(_)) => {
            back(&booking, "no-show-refused")
        }
        Err(BillingError::Gateway { .. }) => back(&booking, "gateway"),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console no-show was refused");
            back(&booking, "not-done")
        }
    }
}
