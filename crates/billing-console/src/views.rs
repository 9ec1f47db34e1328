//! The console's HTML, from askama templates in `templates/` (compiled into the binary). Every
//! value is escaped by the templates: names and labels are typed by people.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing_core::status::{BookingStatus, PaymentStatus};

/// Who is signed in, for the page's header (`None` on the sign-in pages).
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) business: String,
    pub(crate) member: String,
    pub(crate) csrf: String,
    /// Owners also see Settings.
    pub(crate) owner: bool,
}

/// A status as the brief words and colours it.
#[derive(Debug, Clone)]
pub(crate) struct Badge {
    pub(crate) label: &'static str,
    /// The CSS class: its colour.
    pub(crate) tone: &'static str,
}

impl Badge {
    pub(crate) fn of(status: &BookingStatus) -> Badge {
        if status.pending {
            return Badge {
                label: "Pending",
                tone: "pending",
            };
        }
        let (label, tone) = match status.status {
            PaymentStatus::NotCharged => ("Not charged", "neutral"),
            PaymentStatus::PreAuthorized => ("Authorized", "held"),
            PaymentStatus::PartiallyCharged => ("Partially charged", "partial"),
            PaymentStatus::ChargedInFull => ("Charged in full", "paid"),
            PaymentStatus::Overpaid => ("Overpaid", "attention"),
            PaymentStatus::Refunded => ("Refunded", "refunded"),
        };
        Badge { label, tone }
    }
}

/// Signing in.
#[derive(Debug, Template)]
#[template(path = "sign_in.html")]
pub(crate) struct SignInPage {
    pub(crate) header: Option<Header>,
    pub(crate) email: String,
    pub(crate) error: Option<&'static str>,
}

/// Setting a password through an invitation.
#[derive(Debug, Template)]
#[template(path = "invitation.html")]
pub(crate) struct InvitationPage {
    pub(crate) header: Option<Header>,
    pub(crate) action: String,
    pub(crate) error: Option<String>,
}

/// One row of the bookings list.
#[derive(Debug)]
pub(crate) struct BookingRow {
    pub(crate) id: String,
    pub(crate) href: String,
    pub(crate) customer: String,
    pub(crate) service: String,
    pub(crate) price: String,
    pub(crate) paid: String,
    pub(crate) due: String,
    pub(crate) badge: Badge,
    /// Automation gave up on it, or its card runs out before a charge: staff act.
    pub(crate) attention: bool,
}

/// A status filter's option.
#[derive(Debug)]
pub(crate) struct StatusOption {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) selected: bool,
}

/// The bookings list.
#[derive(Debug, Template)]
#[template(path = "bookings.html")]
pub(crate) struct BookingsPage {
    pub(crate) header: Option<Header>,
    pub(crate) rows: Vec<BookingRow>,
    pub(crate) statuses: Vec<StatusOption>,
    pub(crate) filters: crate::pages::bookings::Filters,
    /// The next page's address, when there is one.
    pub(crate) next: Option<String>,
}

/// A line of a booking.
#[derive(Debug)]
pub(crate) struct LineRow {
    pub(crate) label: String,
    pub(crate) kind: &'static str,
    pub(crate) amount: String,
}

/// A payment of a booking's history.
#[derive(Debug)]
pub(crate) struct PaymentRow {
    pub(crate) id: String,
    pub(crate) when: String,
    pub(crate) what: String,
    pub(crate) amount: String,
    pub(crate) state: String,
    pub(crate) by: String,
    /// An open hold: what can still be captured (a form to capture, a button to release).
    pub(crate) capturable: Option<String>,
    /// What can still be refunded, when the member may refund.
    pub(crate) refundable: Option<String>,
    /// The idempotency key of this row's form.
    pub(crate) key: String,
    /// "See in Stripe", when the gateway is Stripe and the payment is known there.
    pub(crate) stripe: Option<String>,
}

/// A way to take the money, in the charge form.
#[derive(Debug)]
pub(crate) struct SourceOption {
    /// `card:{payment method}`, `cash`, `check` or `other`.
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

/// The "Charge Customer" form: the balance filled in, and the idempotency key made when the
/// page was drawn (a double click, a resubmit or a reload sends it again: one charge).
#[derive(Debug)]
pub(crate) struct ChargeForm {
    pub(crate) action: String,
    /// The card charge's key.
    pub(crate) key: String,
    /// The collection's key.
    pub(crate) collect_key: String,
    pub(crate) amount: String,
    /// The customer's saved cards, the default first.
    pub(crate) cards: Vec<SourceOption>,
    /// Said before charging a booking charged in the last minutes.
    pub(crate) recent: Option<String>,
}

/// The message in the top-right corner after an action.
#[derive(Debug)]
pub(crate) struct Flash {
    /// `success` or `error`: its colour.
    pub(crate) tone: &'static str,
    pub(crate) text: &'static str,
}

/// A booking.
#[derive(Debug, Template)]
#[template(path = "booking.html")]
pub(crate) struct BookingPage {
    pub(crate) header: Option<Header>,
    pub(crate) flash: Option<Flash>,
    pub(crate) charge: ChargeForm,
    pub(crate) id: String,
    pub(crate) customer: String,
    pub(crate) badge: Badge,
    pub(crate) service_at: String,
    pub(crate) lines: Vec<LineRow>,
    pub(crate) price: String,
    pub(crate) paid: String,
    pub(crate) held: String,
    pub(crate) refunded: String,
    pub(crate) due: String,
    pub(crate) payments: Vec<PaymentRow>,
    /// How many line items the page shows (the line form sends it back).
    pub(crate) lines_seen: usize,
    /// The customer's profile.
    pub(crate) customer_href: String,
}

/// One row of the customers list.
#[derive(Debug)]
pub(crate) struct CustomerRow {
    pub(crate) id: String,
    pub(crate) href: String,
    pub(crate) name: String,
    pub(crate) email: String,
}

/// The customers list.
#[derive(Debug, Template)]
#[template(path = "customers.html")]
pub(crate) struct CustomersPage {
    pub(crate) header: Option<Header>,
    pub(crate) rows: Vec<CustomerRow>,
    pub(crate) next: Option<String>,
}

/// A card on file, on a customer's profile.
#[derive(Debug)]
pub(crate) struct CardRow {
    pub(crate) label: String,
    pub(crate) expires: String,
    pub(crate) payment_method: String,
    pub(crate) default: bool,
}

/// An email of a customer's notifications log.
#[derive(Debug)]
pub(crate) struct NotificationRow {
    pub(crate) when: String,
    pub(crate) kind: &'static str,
    /// `Email` or `Text`.
    pub(crate) channel: &'static str,
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) delivery: String,
}

/// A customer's profile.
#[derive(Debug, Template)]
#[template(path = "customer.html")]
pub(crate) struct CustomerPage {
    pub(crate) header: Option<Header>,
    pub(crate) flash: Option<Flash>,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    /// Their mobile number, written for people; none when they gave none.
    pub(crate) phone: Option<String>,
    pub(crate) owes: String,
    pub(crate) bookings_href: String,
    pub(crate) cards: Vec<CardRow>,
    pub(crate) notifications: Vec<NotificationRow>,
    /// "See in Stripe", when the gateway is Stripe and the customer is known there.
    pub(crate) stripe: Option<String>,
    /// The customer's bookings with a balance due, for "Charge Customer".
    pub(crate) owing: Vec<OwingRow>,
    /// The card charge's idempotency key, made when the page was drawn.
    pub(crate) charge_key: String,
}

/// A booking with a balance due, on its customer's profile.
#[derive(Debug)]
pub(crate) struct OwingRow {
    pub(crate) id: String,
    pub(crate) service: String,
    pub(crate) due: String,
}

/// A title and a sentence.
#[derive(Debug, Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub(crate) header: Option<Header>,
    pub(crate) title: &'static str,
    pub(crate) message: &'static str,
}

/// A message page with its status.
pub(crate) fn message(status: StatusCode, title: &'static str, message: &'static str) -> Response {
    page(
        status,
        &MessagePage {
            header: None,
            title,
            message,
        },
    )
}

/// A page as a response with its status.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "a console page failed to render");
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p>Something went wrong.</p>",
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
    }
}
