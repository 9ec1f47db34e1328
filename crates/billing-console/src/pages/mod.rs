//! The console's pages.

pub(crate) mod booking_forms;
pub(crate) mod bookings;
pub(crate) mod bulk;
pub(crate) mod charge;
pub(crate) mod customers;
pub(crate) mod invitation;
pub(crate) mod no_show;
pub(crate) mod payments;
pub(crate) mod profile_payments;
pub(crate) mod reports;
pub(crate) mod settings;
pub(crate) mod sign_in;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use crate::Console;
use crate::session::{SignedIn, signed_in};
use crate::views::{Header, MessagePage, message, page};

const CONSOLE_CSS: &str = include_str!("../../assets/console.css");

/// `/console`: the bookings, or signing in first.
pub(crate) async fn home(State(console): State<Console>, jar: CookieJar) -> Response {
    match signed_in(&console, &jar).await {
        Ok(_) => Redirect::to("/console/bookings").into_response(),
        Err(to_sign_in) => to_sign_in,
    }
}

/// The stylesheet: the same for everyone, cached for an hour.
pub(crate) async fn css() -> Response {
    let mut response = CONSOLE_CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// Any other path under `/console`.
pub(crate) async fn not_found() -> Response {
    missing()
}

/// The page header of a signed-in member.
pub(crate) fn header_of(signed_in: &SignedIn) -> Header {
    Header {
        business: signed_in.visit.business.name.clone(),
        member: signed_in.visit.member.name.clone(),
        csrf: signed_in.csrf(),
        owner: signed_in.visit.member.role == billing_core::staff::StaffRole::Owner,
    }
}

/// 404: no such page, or nothing of this business by that id (the same page: another
/// business's ids are never told apart from unknown ones). Marked [`Missing`], so that the
/// guard gives it a signed-in member's header.
pub(crate) fn missing() -> Response {
    let mut response = missing_page(None);
    response.extensions_mut().insert(Missing);
    response
}

/// Marks a response as the not-found page, to be drawn again with the member's header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Missing;

/// The not-found page, with the header of the member who asked when they are signed in.
pub(crate) fn missing_page(header: Option<Header>) -> Response {
    page(
        StatusCode::NOT_FOUND,
        &MessagePage {
            header,
            title: "Not found",
            message: "There is nothing here, or nothing of your business.",
        },
    )
}

/// 403: a form posted from another site, or without this session's CSRF token.
pub(crate) fn forbidden() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this console's page, or it is too old. Go back, reload the page and try again.",
    )
}

/// 500/503: something failed on our side.
pub(crate) fn failed() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong",
        "This page could not be shown. Please try again in a moment.",
    )
}
