//! Setting a password through an invitation (`billingd staff add` prints its link).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use billing_core::error::BillingError;
use serde::Deserialize;

use crate::session::{COOKIE, cookie};
use crate::views::{InvitationPage, message, page};
use crate::{Console, invitation_path};

fn used_or_expired() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "This invitation no longer works",
        "It was used already, or it expired. Ask an owner of your business for a new one.",
    )
}

/// `GET /console/invitations/{token}`: the form (whether the invitation still works is told
/// when it is used: looking it up here would not use it).
pub(crate) async fn show(Path(token): Path<String>) -> Response {
    page(
        StatusCode::OK,
        &InvitationPage {
            header: None,
            action: invitation_path(&token),
            error: None,
        },
    )
}

/// The form.
#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    password: String,
}

/// `POST /console/invitations/{token}`: the password set, the member signed in.
pub(crate) async fn submit(
    State(console): State<Console>,
    Path(token): Path<String>,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Response {
    let accepted = console
        .billing
        .accept_invitation(&*console.passwords, &token, &form.password)
        .await;
    match accepted {
        Ok(signed) => {
            if let Some(old) = jar.get(COOKIE).map(|c| c.value().to_owned()) {
                let _ended = console.billing.sign_out(&old).await;
            }
            let jar = jar.add(cookie(&console, signed.token.expose().to_owned()));
            (jar, Redirect::to("/console/bookings")).into_response()
        }
        Err(BillingError::InvalidStaff(error)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &InvitationPage {
                header: None,
                action: invitation_path(&token),
                error: Some(error.to_string()),
            },
        ),
        Err(BillingError::InvitationUnavailable) => used_or_expired(),
        Err(error) => {
            tracing::error!(%error, "an invitation could not be used");
            super::failed()
        }
    }
}
