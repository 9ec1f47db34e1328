//! "Charge Customer" and "Record a collection" on a booking's page. Each form carries an
//! idempotency key made when the page was drawn: a double click, a resubmitted form or a
//! reload sends the same key, and the core answers the first charge again instead of making a
//! second. The answer is a redirect to the booking (post, redirect, get), whose page says how
//! it went in the top-right corner.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use billing_core::billing::{ChargeBooking, PaymentSource, RecordCollection};
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::BookingId;
use billing_core::money::Amount;
use billing_core::payment::{CollectionMethod, Origin};
use billing_core::receipt::Outcome;
use serde::Deserialize;

use super::{failed, forbidden, missing};
use crate::Console;
use crate::session::SignedIn;

/// The form.
#[derive(Debug, Deserialize)]
pub(crate) struct ChargeFields {
    csrf: String,
    key: String,
    /// `card:{payment method}`, `cash`, `check` or `other`.
    source: String,
    amount: String,
    #[serde(default)]
    reference: String,
    /// A tip on top of a card charge (empty: none).
    #[serde(default)]
    tip: String,
}

/// How it went, as the booking's page names it (`?result=`): only these words travel in the
/// address, never a text of the request's.
pub(crate) fn result_message(result: &str) -> Option<(&'static str, &'static str)> {
    Some(match result {
        "charged" => ("success", "The charge was successful."),
        "collected" => ("success", "The collection was recorded."),
        "pending" => (
            "success",
            "The charge was sent; the card processor has not answered yet.",
        ),
        "declined" => ("error", "The card was declined. Nothing was charged."),
        "amount" => (
            "error",
            "That amount cannot be charged: it is more than the balance, or not an amount.",
        ),
        "nothing" => ("error", "There is nothing left to charge on this booking."),
        "no-card" => ("error", "The customer has no card on file."),
        "busy" => (
            "error",
            "This charge is still being made. Reload the page in a moment.",
        ),
        "gateway" => (
            "error",
            "The card processor could not be reached. Nothing was charged; try again.",
        ),
        "refused" => ("error", "The charge was refused. Nothing was charged."),
        "tip" => (
            "error",
            "That tip cannot be added: a tip is an amount above zero, at most the amount charged, and is charged to a card. Nothing was charged.",
        ),
        "captured" => ("success", "The hold was captured."),
        "released" => ("success", "The hold was released."),
        "refunded" => ("success", "The refund was made."),
        "refund-pending" => (
            "success",
            "The refund was sent; the card processor has not answered yet.",
        ),
        "not-owner" => ("error", "Only an owner of the business can refund."),
        "not-done" => ("error", "That could not be done. Nothing changed."),
        "line-added" => ("success", "The line was added; the price is adjusted."),
        "line-changed" => (
            "error",
            "The booking changed since this page was drawn: nothing more was added. Check its line items.",
        ),
        "line-invalid" => (
            "error",
            "That line cannot be added: it needs a label (up to 200 characters) and an amount above zero, and a discount cannot make the price negative.",
        ),
        "link-sent" => ("success", "The payment link was emailed to the customer."),
        "no-email" => (
            "error",
            "The customer has no email address: nothing was sent.",
        ),
        _ => return None,
    })
}

pub(crate) fn back(booking: &BookingId, result: &str) -> Response {
    Redirect::to(&format!("/console/bookings/{booking}?result={result}")).into_response()
}

/// `POST /console/bookings/{id}/charges`.
pub(crate) async fn charge(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ChargeFields>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(booking) = BookingId::new(id) else {
        return missing();
    };
    let Ok(key) = IdempotencyKey::new(format!("console:{}", form.key.trim())) else {
        return forbidden();
    };
    let Ok(amount) = Amount::parse(form.amount.trim()) else {
        return back(&booking, "amount");
    };
    let tip = match form.tip.trim() {
        "" => None,
        typed => match Amount::parse(typed) {
            Ok(tip) => Some(tip),
            Err(_) => return back(&booking, "tip"),
        },
    };
    let reference = Some(form.reference.trim().to_owned()).filter(|r| !r.is_empty());
    let collected = match form.source.as_str() {
        "cash" => Some(CollectionMethod::Cash),
        "check" => Some(CollectionMethod::Check),
        "other" => Some(CollectionMethod::Other(
            reference.clone().unwrap_or_else(|| "Other".to_owned()),
        )),
        _ => None,
    };
    let billing = console.billing.clone();
    let business = member.visit.business.clone();
    // Recorded as this member's: the history says who.
    let by = Origin::Staff(member.visit.member.id.clone());
    // In its own task: a closed tab cannot cut a charge between the gateway and the ledger.
    let made = match collected.clone() {
        // A tip is a card charge's: a collection's form has no tip field.
        Some(_) if tip.is_some() => return back(&booking, "tip"),
        Some(method) => {
            let command = RecordCollection {
                booking: booking.clone(),
                amount: Some(amount),
                method,
                reference,
                idempotency_key: Some(key),
                allow_duplicate: true,
            };
            tokio::spawn(async move { billing.record_collection_as(&business, command, by).await })
                .await
        }
        None => {
            let Some(method) = form.source.strip_prefix("card:").filter(|m| !m.is_empty()) else {
                return back(&booking, "refused");
            };
            let command = ChargeBooking {
                booking: booking.clone(),
                amount: Some(amount),
                source: PaymentSource::Card(method.to_owned()),
                idempotency_key: Some(key),
                allow_duplicate: true,
            };
            tokio::spawn(async move {
                billing
                    .charge_with_tip_as(&business, command, tip, by)
                    .await
            })
            .await
        }
    };
    let Ok(made) = made else {
        return failed();
    };
    match made {
        Ok(receipt) => {
            let result = match receipt.outcome() {
                Outcome::Settled if collected.is_some() => "collected",
                Outcome::Settled => "charged",
                Outcome::Pending => "pending",
                Outcome::Declined(_) => "declined",
            };
            tracing::info!(
                staff = %member.visit.member.id,
                payment = %receipt.payment.id,
                replayed = receipt.replayed,
                "console charge"
            );
            back(&booking, result)
        }
        Err(BillingError::BookingNotFound(_)) => missing(),
        // The tip's own rules: not negative, at most the amount charged.
        Err(BillingError::InvalidInput(_)) if tip.is_some() => back(&booking, "tip"),
        Err(
            BillingError::AmountExceedsBalance { .. }
            | BillingError::NonPositiveAmount(_)
            | BillingError::InvalidAmount(_)
            | BillingError::WrongCurrency { .. }
            | BillingError::AmountNotChargeable(_),
        ) => back(&booking, "amount"),
        Err(BillingError::NothingToCharge { .. }) => back(&booking, "nothing"),
        Err(BillingError::NoCardOnFile(_) | BillingError::CardNotFound(_)) => {
            back(&booking, "no-card")
        }
        Err(BillingError::RequestInProgress(_)) => back(&booking, "busy"),
        Err(BillingError::Gateway { .. }) => back(&booking, "gateway"),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console charge was refused");
            back(&booking, "refused")
        }
    }
}
