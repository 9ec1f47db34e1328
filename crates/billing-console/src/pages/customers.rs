//! The customers list and a customer's profile: cards on file (make default, remove), what
//! they owe, the emails sent about them with their delivery state, and "Send Email" (a card
//! request).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use billing_core::billing::Sending;
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::ids::CustomerId;
use billing_core::notification::{Channel, DeliveryState, Notification, NotificationKind};
use billing_core::phone::PhoneNumber;
use billing_core::ports::TextStatus;
use serde::Deserialize;

use super::bookings::form_key;
use super::{failed, forbidden, header_of, missing};
use crate::Console;
use crate::session::SignedIn;
use crate::views::{
    CardRow, CustomerPage, CustomerRow, CustomersPage, Flash, NotificationRow, OwingRow, page,
};
use billing_core::ports::BookingFilter;

const PAGE: u32 = 50;

/// The most bookings "Charge Customer" on a profile lists.
const OWING: u32 = 100;

/// `?after=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    after: Option<String>,
}

/// `GET /console/customers`.
pub(crate) async fn list(
    State(console): State<Console>,
    member: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let after = query.after.and_then(|a| CustomerId::new(a).ok());
    let customers = match console
        .billing
        .customers(&member.visit.business, after.as_ref(), PAGE)
        .await
    {
        Ok(customers) => customers,
        Err(error) => {
            tracing::error!(%error, "the console's customers list failed");
            return failed();
        }
    };
    let next = (customers.len() == PAGE as usize)
        .then(|| customers.last())
        .flatten()
        .map(|last| format!("/console/customers?after={}", last.id));
    let rows = customers
        .iter()
        .map(|c| CustomerRow {
            id: c.id.to_string(),
            href: format!("/console/customers/{}", c.id),
            name: c.name.clone(),
            email: c.email.clone().unwrap_or_default(),
        })
        .collect();
    page(
        StatusCode::OK,
        &CustomersPage {
            header: Some(header_of(&member)),
            rows,
            next,
        },
    )
}

fn kind_label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::PaymentLink => "Payment link",
        NotificationKind::CardRequest => "Card request",
        NotificationKind::Receipt => "Receipt",
        NotificationKind::BusinessPaymentNotice => "Payment notice to the business",
        NotificationKind::BusinessCardSavedNotice => "Card saved notice to the business",
        NotificationKind::PaymentFailed => "Payment failed",
        NotificationKind::UpcomingCharge => "Upcoming charge",
        NotificationKind::BusinessAutomationNotice => "Automation notice to the business",
        NotificationKind::PortalLink => "Portal link",
    }
}

/// Where a notification stands: for a text the provider took, what the carrier said since.
fn delivery(notification: &Notification) -> String {
    let carrier = notification.carrier.as_ref().map(|report| {
        let status = match report.status {
            TextStatus::Queued | TextStatus::Sent => "on its way",
            TextStatus::Delivered => "delivered",
            TextStatus::Undelivered => "not delivered",
            TextStatus::Failed => "failed",
        };
        match &report.error_code {
            Some(code) => format!("{status} (carrier error {code})"),
            None => status.to_owned(),
        }
    });
    match (&notification.delivery, carrier) {
        (DeliveryState::Queued, _) => "Queued".to_owned(),
        (DeliveryState::Sent { at, .. }, None) => format!("Sent {}", at.format("%-d %b %H:%M UTC")),
        (DeliveryState::Sent { at, .. }, Some(carrier)) => {
            format!("Sent {}, {carrier}", at.format("%-d %b %H:%M UTC"))
        }
        (DeliveryState::Failed { reason, .. }, _) => format!("Failed: {reason}"),
    }
}

/// `?result=` on a profile: only these words travel in the address.
fn result_message(result: &str) -> Option<Flash> {
    let (tone, text) = match result {
        "card-request-sent" => ("success", "The card request was emailed."),
        "card-request-texted" => ("success", "The card request was texted."),
        "no-email" => ("error", "This customer has no email address."),
        "no-phone" => ("error", "This customer has no mobile number."),
        "texts-refused" => (
            "error",
            "This customer replied STOP to texts: no text can go to them until they reply START.",
        ),
        "link-texted" => ("success", "The payment link was texted to the customer."),
        "default" => ("success", "The default card was changed."),
        "removed" => ("success", "The card was removed."),
        "card-in-use" => (
            "error",
            "A payment in progress uses this card: it cannot be removed yet.",
        ),
        "not-done" => ("error", "That could not be done. Nothing changed."),
        "link-sent" => ("success", "The payment link was emailed to the customer."),
        "portal-link-sent" => (
            "success",
            "A link to their bookings was emailed to the customer (it works once, for 30 minutes).",
        ),
        "portal-link-texted" => (
            "success",
            "A link to their bookings was texted to the customer (it works once, for 30 minutes).",
        ),
        "none-chosen" => ("error", "Choose at least one of the customer's bookings."),
        _ => return None,
    };
    Some(Flash { tone, text })
}

/// `?result=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProfileQuery {
    #[serde(default)]
    result: Option<String>,
}

/// `GET /console/customers/{id}`.
pub(crate) async fn profile(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<ProfileQuery>,
) -> Response {
    let Ok(id) = CustomerId::new(id) else {
        return missing();
    };
    let business = &member.visit.business;
    let billing = &console.billing;
    let customer = match billing.customer(business, &id).await {
        Ok(customer) => customer,
        Err(BillingError::CustomerNotFound(_)) => return missing(),
        Err(error) => {
            tracing::error!(%error, "the console's customer page failed");
            return failed();
        }
    };
    let theirs = BookingFilter {
        customer: Some(id.clone()),
        limit: OWING,
        ..BookingFilter::default()
    };
    let (cards, owes, log, bookings) = match (
        billing.cards(business, &id).await,
        billing.customer_balance(business, &id).await,
        billing.customer_notifications(business, &id, 50).await,
        billing.list_bookings(business, &theirs).await,
    ) {
        (Ok(cards), Ok(owes), Ok(log), Ok(bookings)) => (cards, owes, log, bookings),
        _ => return failed(),
    };
    let owing = bookings
        .iter()
        .filter(|b| b.balance.balance_due.is_positive())
        .map(|b| OwingRow {
            id: b.booking.to_string(),
            service: b.service_at.map_or_else(
                || "not scheduled".to_owned(),
                |at| at.format("%-d %b %Y").to_string(),
            ),
            due: b.balance.balance_due.to_string(),
        })
        .collect();
    let owes = if owes.is_empty() {
        "nothing".to_owned()
    } else {
        owes.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" + ")
    };
    page(
        StatusCode::OK,
        &CustomerPage {
            header: Some(header_of(&member)),
            flash: query.result.as_deref().and_then(result_message),
            id: id.to_string(),
            name: customer.name.clone(),
            email: customer
                .email
                .clone()
                .unwrap_or_else(|| "no email".to_owned()),
            phone: customer.phone.as_ref().map(PhoneNumber::international),
            owes,
            bookings_href: format!("/console/bookings?customer={id}"),
            cards: cards
                .iter()
                .map(|card| CardRow {
                    label: CardLabel::from(card).describe(),
                    expires: format!("{:02}/{}", card.exp_month, card.exp_year),
                    payment_method: card.payment_method.clone(),
                    default: card.is_default,
                })
                .collect(),
            stripe: console.config.stripe_dashboard.and_then(|dashboard| {
                customer.gateway_customer.as_deref().map(|c| {
                    dashboard.url(
                        business.gateway_account.as_deref(),
                        &format!("customers/{c}"),
                    )
                })
            }),
            owing,
            charge_key: form_key(),
            notifications: log
                .iter()
                .map(|n| NotificationRow {
                    when: n.created_at.format("%-d %b %Y %H:%M UTC").to_string(),
                    kind: kind_label(n.kind),
                    channel: match n.channel {
                        Channel::Email => "Email",
                        Channel::Text => "Text",
                    },
                    to: n.to.clone(),
                    subject: n.subject.clone(),
                    delivery: delivery(n),
                })
                .collect(),
        },
    )
}

/// A profile form: its CSRF token (and a card's payment method, for the card forms).
#[derive(Debug, Deserialize)]
pub(crate) struct ProfileForm {
    csrf: String,
    #[serde(default)]
    payment_method: String,
}

fn back(customer: &CustomerId, result: &str) -> Response {
    Redirect::to(&format!("/console/customers/{customer}?result={result}")).into_response()
}

/// Which action a profile form asks for.
#[derive(Debug, Clone, Copy)]
enum ProfileAction {
    CardRequest,
    CardRequestText,
    PortalLink,
    PortalLinkText,
    MakeDefault,
    Remove,
}

async fn act(
    console: Console,
    member: SignedIn,
    id: String,
    form: ProfileForm,
    action: ProfileAction,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(id) = CustomerId::new(id) else {
        return missing();
    };
    let business = &member.visit.business;
    let billing = &console.billing;
    let done = match action {
        ProfileAction::CardRequest => billing
            .request_card(business, &id, Sending::EMAIL)
            .await
            .map(|_| "card-request-sent"),
        ProfileAction::CardRequestText => billing
            .request_card(
                business,
                &id,
                Sending {
                    email: false,
                    text: true,
                },
            )
            .await
            .map(|_| "card-request-texted"),
        ProfileAction::PortalLink => billing
            .send_portal_link(business, &id, Sending::EMAIL)
            .await
            .map(|_| "portal-link-sent"),
        ProfileAction::PortalLinkText => billing
            .send_portal_link(
                business,
                &id,
                Sending {
                    email: false,
                    text: true,
                },
            )
            .await
            .map(|_| "portal-link-texted"),
        ProfileAction::MakeDefault => billing
            .set_default_card(business, &id, &form.payment_method)
            .await
            .map(|_| "default"),
        ProfileAction::Remove => billing
            .remove_card(business, &id, &form.payment_method)
            .await
            .map(|()| "removed"),
    };
    match done {
        Ok(result) => back(&id, result),
        Err(BillingError::CustomerNotFound(_)) => missing(),
        Err(BillingError::NoEmailAddress(_)) => back(&id, "no-email"),
        Err(BillingError::NoPhoneNumber(_)) => back(&id, "no-phone"),
        Err(BillingError::TextsRefused(_)) => back(&id, "texts-refused"),
        Err(BillingError::CardInUse { .. }) => back(&id, "card-in-use"),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "a console customer action was refused");
            back(&id, "not-done")
        }
    }
}

/// `POST /console/customers/{id}/card-request`: "Send Email".
pub(crate) async fn card_request(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    act(console, member, id, form, ProfileAction::CardRequest).await
}

/// `POST /console/customers/{id}/card-request-text`: "Send Text".
pub(crate) async fn card_request_text(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    act(console, member, id, form, ProfileAction::CardRequestText).await
}

/// `POST /console/customers/{id}/portal-link`: email the customer a link to their portal.
pub(crate) async fn portal_link(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    act(console, member, id, form, ProfileAction::PortalLink).await
}

/// `POST /console/customers/{id}/portal-link-text`: text it.
pub(crate) async fn portal_link_text(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    act(console, member, id, form, ProfileAction::PortalLinkText).await
}

/// `POST /console/customers/{id}/cards/default`.
pub(crate) async fn make_default(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    act(console, member, id, form, ProfileAction::MakeDefault).await
}

/// `POST /console/customers/{id}/cards/remove`.
pub(crate) async fn remove(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    act(console, member, id, form, ProfileAction::Remove).await
}
