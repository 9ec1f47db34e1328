//! The session cookie and the CSRF token that goes with it.

use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use billing_core::billing::StaffVisit;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Console;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "console_session";

/// A signed-in request: who, and the session's token (for its CSRF token).
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub(crate) visit: StaffVisit,
    token: String,
}

impl SignedIn {
    /// The CSRF token of this session, for its forms.
    pub(crate) fn csrf(&self) -> String {
        csrf_of(&self.token)
    }

    /// True when a form's CSRF token is this session's.
    pub(crate) fn checks(&self, submitted: &str) -> bool {
        self.csrf().as_bytes().ct_eq(submitted.as_bytes()).into()
    }
}

/// A session's CSRF token: a hash of its secret token, so that it needs no storage and tells
/// nothing of the token.
fn csrf_of(token: &str) -> String {
    Sha256::digest(format!("console csrf|{token}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session cookie for a new session.
pub(crate) fn cookie(console: &Console, token: String) -> Cookie<'static> {
    Cookie::build((COOKIE, token))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(console.secure_cookies())
        .build()
}

/// The cookie that removes the session's.
pub(crate) fn removal(console: &Console) -> Cookie<'static> {
    let mut gone = cookie(console, String::new());
    gone.make_removal();
    gone
}

/// The signed-in member of a request, or the answer that sends them to sign in (an unknown
/// or ended session's cookie removed).
pub(crate) async fn signed_in(console: &Console, jar: &CookieJar) -> Result<SignedIn, Response> {
    let to_sign_in = || Redirect::to("/console/sign-in").into_response();
    let Some(token) = jar.get(COOKIE).map(|c| c.value().to_owned()) else {
        return Err(to_sign_in());
    };
    match console
        .billing
        .staff_visit(&token, console.config.sessions)
        .await
    {
        Ok(Some(visit)) => Ok(SignedIn { visit, token }),
        Ok(None) => Err((jar.clone().add(removal(console)), to_sign_in()).into_response()),
        Err(error) => {
            tracing::error!(%error, "a console session could not be read");
            Err(crate::pages::failed())
        }
    }
}

/// A handler that takes a [`SignedIn`] serves members only: anyone else is sent to sign in
/// before the request's body is read.
impl axum::extract::FromRequestParts<Console> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        console: &Console,
    ) -> Result<Self, Response> {
        signed_in(console, &CookieJar::from_headers(&parts.headers)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_reveal_nothing() {
        let one = csrf_of("token-one");
        assert_eq!(one.len(), 64);
        assert_ne!(one, csrf_of("token-two"));
        assert!(!one.contains("token-one"));
    }
}
