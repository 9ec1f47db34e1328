//! Signing in and out.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use billing_core::error::BillingError;
use serde::Deserialize;

use crate::Console;
use crate::session::{COOKIE, cookie, removal, signed_in};
use crate::views::{SignInPage, page};

const REFUSED: &str = "That email address and password do not match.";
const TOO_MANY: &str = "Too many attempts. Wait a few minutes, then try again.";

/// `GET /console/sign-in`.
pub(crate) async fn show(State(console): State<Console>, jar: CookieJar) -> Response {
    // Already signed in: straight to work.
    if signed_in(&console, &jar).await.is_ok() {
        return Redirect::to("/console/bookings").into_response();
    }
    page(
        StatusCode::OK,
        &SignInPage {
            header: None,
            email: String::new(),
            error: None,
        },
    )
}

/// The client's address, when the server knows it (the connection's peer).
#[derive(Debug)]
pub(crate) struct Client(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    email: String,
    password: String,
}

/// `POST /console/sign-in`: a new session (whatever cookie came with the form: no session
/// is ever taken over), or the form again.
pub(crate) async fn submit(
    State(console): State<Console>,
    Client(client): Client,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let again = |status, error| {
        page(
            status,
            &SignInPage {
                header: None,
                email: form.email.clone(),
                error: Some(error),
            },
        )
    };
    let now = Instant::now();
    if !console.sign_in_limit.allows(&form.email, client, now) {
        tracing::warn!("console sign-in attempts over the limit");
        return again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY);
    }
    let signed = console
        .billing
        .sign_in(&*console.passwords, &form.email, &form.password)
        .await;
    match signed {
        Ok(signed) => {
            console.sign_in_limit.succeeded(&form.email);
            // The session a stale cookie named (if any) is ended: a new one replaces it.
            if let Some(old) = jar.get(COOKIE).map(|c| c.value().to_owned()) {
                let _ended = console.billing.sign_out(&old).await;
            }
            tracing::info!(staff = %signed.member.id, business = %signed.business.id, "console sign-in");
            let jar = jar.add(cookie(&console, signed.token.expose().to_owned()));
            (jar, Redirect::to("/console/bookings")).into_response()
        }
        Err(BillingError::SignInRefused) => {
            console.sign_in_limit.failed(&form.email, client, now);
            again(StatusCode::UNAUTHORIZED, REFUSED)
        }
        Err(error) => {
            tracing::error!(%error, "console sign-in failed");
            super::failed()
        }
    }
}

/// The sign-out form: its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

/// `POST /console/sign-out`: the session ended, its cookie removed.
pub(crate) async fn sign_out(
    State(console): State<Console>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    let member = match signed_in(&console, &jar).await {
        Ok(member) => member,
        Err(to_sign_in) => return to_sign_in,
    };
    if !member.checks(&form.csrf) {
        return super::forbidden();
    }
    if let Some(token) = jar.get(COOKIE).map(|c| c.value().to_owned())
        && let Err(error) = console.billing.sign_out(&token).await
    {
        tracing::error!(%error, "a console session could not be ended");
        return super::failed();
    }
    let jar = jar.add(removal(&console));
    (jar, Redirect::to("/console/sign-in")).into_response()
}
