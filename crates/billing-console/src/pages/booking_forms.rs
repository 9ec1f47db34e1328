//! A booking's other forms: adding an extra or a discount (the price is adjusted), and
//! sending the customer a payment link for what is due.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use billing_core::billing::{CreatePaymentLink, PriceAdjustment, Sending};
use billing_core::booking::LineItemKind;
use billing_core::error::BillingError;
use billing_core::ids::BookingId;
use billing_core::money::Amount;
use serde::Deserialize;

use super::charge::back;
use super::{forbidden, missing};
use crate::Console;
use crate::session::SignedIn;

/// "Add an extra or a discount".
#[derive(Debug, Deserialize)]
pub(crate) struct LineFields {
    csrf: String,
    /// How many line items the booking had when the form was drawn.
    lines: usize,
    /// `extra` or `discount`.
    kind: String,
    label: String,
    amount: String,
}

/// `POST /console/bookings/{id}/line-items`.
pub(crate) async fn add_line(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<LineFields>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(booking) = BookingId::new(id) else {
        return missing();
    };
    let kind = match form.kind.as_str() {
        "extra" => LineItemKind::Extra,
        "discount" => LineItemKind::Discount,
        _ => return back(&booking, "line-invalid"),
    };
    let Ok(amount) = Amount::parse(form.amount.trim()) else {
        return back(&booking, "line-invalid");
    };
    let adjustment = PriceAdjustment {
        kind,
        label: form.label.trim().to_owned(),
        amount,
    };
    match console
        .billing
        .adjust_price_once(&member.visit.business, &booking, adjustment, form.lines)
        .await
    {
        Ok(_) => {
            tracing::info!(staff = %member.visit.member.id, %booking, "console line item added");
            back(&booking, "line-added")
        }
        Err(BillingError::BookingNotFound(_)) => missing(),
        Err(BillingError::BookingChanged(_)) => back(&booking, "line-changed"),
        Err(error) => {
            tracing::info!(code = error.code(), %error, "a console line item was refused");
            back(&booking, "line-invalid")
        }
    }
}

/// "Send a payment link".
#[derive(Debug, Deserialize)]
pub(crate) struct LinkFields {
    csrf: String,
    /// Empty: all that is due.
    #[serde(default)]
    amount: String,
}

/// `POST /console/bookings/{id}/payment-link`: emails the customer a link to pay the booking.
pub(crate) async fn send_link(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<LinkFields>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(booking) = BookingId::new(id) else {
        return missing();
    };
    let business = &member.visit.business;
    let amount = match form.amount.trim() {
        "" => None,
        text => match Amount::parse(text) {
            Ok(amount) => Some(amount),
            Err(_) => return back(&booking, "amount"),
        },
    };
    let customer = match console.billing.booking(business, &booking).await {
        Ok(view) => view.account.customer,
        Err(BillingError::BookingNotFound(_)) => return missing(),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console payment link was refused");
            return back(&booking, "not-done");
        }
    };
    let request = CreatePaymentLink {
        customer,
        bookings: vec![booking.clone()],
        amount,
        send: Sending::EMAIL,
    };
    match console.billing.create_payment_link(business, request).await {
        Ok(issued) => {
            tracing::info!(staff = %member.visit.member.id, link = %issued.link.id, "console payment link sent");
            back(&booking, "link-sent")
        }
        Err(BillingError::NoEmailAddress(_)) => back(&booking, "no-email"),
        Err(BillingError::NothingToCharge { .. }) => back(&booking, "nothing"),
        Err(
            BillingError::AmountExceedsBalance { .. }
            | BillingError::NonPositiveAmount(_)
            | BillingError::InvalidAmount(_)
            | BillingError::AmountNotChargeable(_),
        ) => back(&booking, "amount"),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console payment link was refused");
            back(&booking, "not-done")
        }
    }
}
