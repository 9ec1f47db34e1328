//! "Charge Customer" and "Create Payment Option" on a customer's profile: the card on file for
//! the chosen bookings, a new card or a payment link for them, or a card kept for later. A new
//! card is entered on the hosted pages' own card form (the pay page, the card page), so that
//! with Stripe the card goes from the browser to Stripe and never through this service.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use billing_core::billing::{BulkCharge, CreatePaymentLink, PaymentSource, Sending};
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, CustomerId};
use billing_core::link::DeskReturn;
use billing_core::payment::Origin;
use billing_core::ports::BookingFilter;
use serde::Deserialize;

use super::bulk::results_page;
use super::{failed, forbidden, missing};
use crate::Console;
use crate::session::SignedIn;

/// The profile's "Charge Customer" form (its three buttons send the same fields).
#[derive(Debug, Deserialize)]
pub(crate) struct ChargeCustomer {
    csrf: String,
    #[serde(default)]
    key: String,
    /// `card:{payment method}`.
    #[serde(default)]
    source: String,
    #[serde(default)]
    booking: Vec<String>,
}

fn back(customer: &CustomerId, result: &str) -> Response {
    Redirect::to(&format!("/console/customers/{customer}?result={result}")).into_response()
}

/// The member and the customer, or the answer to give instead.
async fn customer_of(
    console: &Console,
    member: SignedIn,
    id: String,
    csrf: &str,
) -> Result<(SignedIn, CustomerId), Response> {
    if !member.checks(csrf) {
        return Err(forbidden());
    }
    let Ok(id) = CustomerId::new(id) else {
        return Err(missing());
    };
    match console.billing.customer(&member.visit.business, &id).await {
        Ok(_) => Ok((member, id)),
        Err(BillingError::CustomerNotFound(_)) => Err(missing()),
        Err(error) => {
            tracing::error!(%error, "the console could not read a customer");
            Err(failed())
        }
    }
}

/// The chosen bookings, each the customer's own: none of another customer's is charged with
/// this customer's card, or put on their link.
async fn chosen(
    console: &Console,
    business: &Business,
    customer: &CustomerId,
    asked: &[String],
) -> Result<Vec<BookingId>, BillingError> {
    let theirs = console
        .billing
        .list_bookings(
            business,
            &BookingFilter {
                customer: Some(customer.clone()),
                limit: 1000,
                ..BookingFilter::default()
            },
        )
        .await?;
    let mut ids: Vec<BookingId> = Vec::new();
    for raw in asked {
        if let Some(summary) = theirs.iter().find(|s| s.booking.as_str() == raw.trim())
            && !ids.contains(&summary.booking)
        {
            ids.push(summary.booking.clone());
        }
    }
    Ok(ids)
}

/// `POST /console/customers/{id}/charge-card`: the chosen bookings on a card on file, each
/// with its result.
pub(crate) async fn charge_card(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ChargeCustomer>,
) -> Response {
    let (member, customer) = match customer_of(&console, member, id, &form.csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Ok(key) = IdempotencyKey::new(format!("console:{}", form.key.trim())) else {
        return forbidden();
    };
    let Some(card) = form.source.strip_prefix("card:").filter(|c| !c.is_empty()) else {
        return back(&customer, "not-done");
    };
    let business = member.visit.business.clone();
    let bookings = match chosen(&console, &business, &customer, &form.booking).await {
        Ok(ids) if ids.is_empty() => return back(&customer, "none-chosen"),
        Ok(ids) => ids,
        Err(error) => {
            tracing::error!(%error, "the console could not read a customer's bookings");
            return failed();
        }
    };
    let command = BulkCharge {
        bookings,
        source: PaymentSource::Card(card.to_owned()),
        idempotency_key: Some(key),
    };
    let billing = console.billing.clone();
    let by = Origin::Staff(member.visit.member.id.clone());
    // In its own task: a closed tab cannot cut a charge between the gateway and the ledger.
    let made =
        tokio::spawn(async move { billing.charge_many_as(&business, command, by).await }).await;
    match made {
        Ok(Ok(results)) => results_page(&member, &results),
        Ok(Err(error)) => {
            tracing::warn!(code = error.code(), %error, "a console profile charge was refused");
            back(&customer, "not-done")
        }
        Err(_) => failed(),
    }
}

/// The profile, for the pay and card pages' "Back to the Ops Console" when staff typed the
/// card themselves.
/// (A customer id is a plain token, letters, digits and `_.:-`, so the path always parses.)
fn desk_return(customer: &CustomerId) -> Option<DeskReturn> {
    DeskReturn::parse(&format!("/console/customers/{customer}"))
}

/// A payment link for the chosen bookings: emailed, or opened here for a new card.
async fn link_for(
    console: Console,
    member: SignedIn,
    id: String,
    form: ChargeCustomer,
    send: Sending,
) -> Response {
    let (member, customer) = match customer_of(&console, member, id, &form.csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let business = &member.visit.business;
    let bookings = match chosen(&console, business, &customer, &form.booking).await {
        Ok(ids) if ids.is_empty() => return back(&customer, "none-chosen"),
        Ok(ids) => ids,
        Err(error) => {
            tracing::error!(%error, "the console could not read a customer's bookings");
            return failed();
        }
    };
    let request = CreatePaymentLink {
        customer: customer.clone(),
        bookings,
        amount: None,
        send,
    };
    let made = match desk_return(&customer) {
        Some(desk) if send == Sending::NOT => {
            console
                .billing
                .create_payment_link_at_desk(business, request, desk)
                .await
        }
        _ => console.billing.create_payment_link(business, request).await,
    };
    match made {
        Ok(issued) => {
            tracing::info!(staff = %member.visit.member.id, link = %issued.link.id, email = send.email, text = send.text, "console payment link");
            if send.text {
                back(&customer, "link-texted")
            } else if send.email {
                back(&customer, "link-sent")
            } else {
                // The hosted pay page's card form, for the member to type the new card into.
                Redirect::to(&issued.url).into_response()
            }
        }
        Err(BillingError::NoEmailAddress(_)) => back(&customer, "no-email"),
        Err(BillingError::NoPhoneNumber(_)) => back(&customer, "no-phone"),
        Err(BillingError::TextsRefused(_)) => back(&customer, "texts-refused"),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console payment link was refused");
            back(&customer, "not-done")
        }
    }
}

/// `POST /console/customers/{id}/payment-link`: emailed for the chosen bookings.
pub(crate) async fn payment_link(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ChargeCustomer>,
) -> Response {
    link_for(console, member, id, form, Sending::EMAIL).await
}

/// `POST /console/customers/{id}/payment-link-text`: texted for the chosen bookings.
pub(crate) async fn payment_link_text(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ChargeCustomer>,
) -> Response {
    let by_text = Sending {
        email: false,
        text: true,
    };
    link_for(console, member, id, form, by_text).await
}

/// `POST /console/customers/{id}/new-card`: the chosen bookings paid by a new card, typed
/// into the pay page's card form.
pub(crate) async fn new_card(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ChargeCustomer>,
) -> Response {
    link_for(console, member, id, form, Sending::NOT).await
}

/// "Create Payment Option".
#[derive(Debug, Deserialize)]
pub(crate) struct PaymentOption {
    csrf: String,
}

/// `POST /console/customers/{id}/payment-option`: a card kept on file, typed by the member
/// into the card page's form.
pub(crate) async fn payment_option(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PaymentOption>,
) -> Response {
    let (member, customer) = match customer_of(&console, member, id, &form.csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(desk) = desk_return(&customer) else {
        return failed();
    };
    match console
        .billing
        .request_card_at_desk(&member.visit.business, &customer, desk)
        .await
    {
        Ok(issued) => Redirect::to(&issued.url).into_response(),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console payment option was refused");
            back(&customer, "not-done")
        }
    }
}
