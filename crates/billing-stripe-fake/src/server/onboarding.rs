//! The fake's Connect onboarding page, where an account link sends the account's owner.
//! **Complete onboarding** provides every requirement (charges and payouts enabled,
//! `account.updated` recorded) and returns to the link's `return_url`; **Leave for now**
//! returns without changing anything, as an owner who closes Stripe's form does. A link
//! works once and for five minutes: used or expired, it sends the owner to its
//! `refresh_url`, where the platform makes a new one, as Stripe does.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::{DEFAULT_API_VERSION, FakeStripe, Shared};
use crate::api::{Ctx, accounts};
use crate::connect::AccountLink;
use crate::error::ApiError;
use crate::form;
use crate::state::random_alnum;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stripe onboarding test page</title></head>\n<body>\n<h1>Stripe onboarding test page</h1>\n{body}\n</body></html>\n"
    );
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn see_other(location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Where a link stands: usable, or where to send the owner instead.
enum LinkState {
    Unknown,
    Stale(String),
    Usable(AccountLink),
}

fn link_state(shared: &Shared, token: &str) -> LinkState {
    shared.with_state(|state| {
        let now = state.now();
        match state.connect.links.get(token) {
            None => LinkState::Unknown,
            Some(link) if link.used || link.expires_at < now => {
                LinkState::Stale(link.refresh_url.clone())
            }
            Some(link) => LinkState::Usable(link.clone()),
        }
    })
}

/// `GET /_fake/connect/onboarding/{token}`.
pub(super) async fn page(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(token): Path<String>,
) -> Response {
    let link = match link_state(&shared, &token) {
        LinkState::Unknown => {
            return html(StatusCode::NOT_FOUND, "<p>This link is not valid.</p>");
        }
        LinkState::Stale(refresh_url) => return see_other(&refresh_url),
        LinkState::Usable(link) => link,
    };
    let action = format!("/_fake/connect/onboarding/{}", escape(&token));
    html(
        StatusCode::OK,
        &format!(
            "<p>FakeStripe asks the owner of {} for its details ({}).</p>\n\
             <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"result\" value=\"complete\">\
             <button id=\"complete\" type=\"submit\">Complete onboarding</button></form>\n\
             <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"result\" value=\"leave\">\
             <button id=\"leave\" type=\"submit\">Leave for now</button></form>",
            escape(&link.account),
            escape(&link.link_type),
        ),
    )
}

/// `POST /_fake/connect/onboarding/{token}` with `result=complete` or `result=leave`.
pub(super) async fn finish(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let complete = match form::parse(&String::from_utf8_lossy(&body))["result"].as_str() {
        Some("complete") => true,
        Some("leave") => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                "<p>Send result=complete or result=leave.</p>",
            );
        }
    };
    let link = match link_state(&shared, &token) {
        LinkState::Unknown => {
            return html(StatusCode::NOT_FOUND, "<p>This link is not valid.</p>");
        }
        LinkState::Stale(refresh_url) => return see_other(&refresh_url),
        LinkState::Usable(link) => link,
    };
    shared.with_state(|state| {
        if let Some(stored) = state.connect.links.get_mut(&token) {
            stored.used = true;
        }
    });
    if complete && let Err(err) = shared.change_account(&link.account, |a| a.complete()) {
        return html(
            StatusCode::BAD_REQUEST,
            &format!("<p id=\"error\">{}</p>", escape(&err.message)),
        );
    }
    see_other(&link.return_url)
}

impl Shared {
    /// Changes a connected account outside the API (onboarding, Stripe's review), recording
    /// `account.updated` when anything changed. Answers the account.
    pub(super) fn change_account(
        &self,
        account: &str,
        apply: impl FnOnce(&mut crate::connect::ConnectAccount),
    ) -> Result<Value, ApiError> {
        self.with_state(|state| {
            let mut ctx = Ctx::new(
                state,
                None,
                format!("req_{}", random_alnum(14)),
                None,
                DEFAULT_API_VERSION.into(),
            );
            accounts::change(&mut ctx, account, apply)
        })
    }
}

/// Connect accounts, changed as their owner or Stripe would.
impl FakeStripe {
    /// Completes a connected account's onboarding, as its owner would on Stripe's form
    /// (the fake's page is where an account link leads): every requirement provided,
    /// charges and payouts enabled, `account.updated` recorded. Returns the account.
    ///
    /// # Errors
    /// Stripe's message when the platform made no such account.
    pub fn complete_onboarding(&self, account: &str) -> Result<Value, String> {
        self.shared
            .change_account(account, |a| a.complete())
            .map_err(|e| e.message)
    }

    /// Takes charges and payouts away from a connected account, as Stripe does when
    /// requirements pass their deadline: `past_due` become due, `disabled_reason` says why
    /// (`requirements.past_due`, `rejected.fraud`...), `account.updated` is recorded.
    ///
    /// # Errors
    /// Stripe's message when the platform made no such account.
    pub fn restrict_account(
        &self,
        account: &str,
        disabled_reason: &str,
        past_due: &[&str],
    ) -> Result<Value, String> {
        let past_due: Vec<String> = past_due.iter().map(|r| (*r).to_owned()).collect();
        self.shared
            .change_account(account, |a| a.restrict(disabled_reason, &past_due))
            .map_err(|e| e.message)
    }
}
