//! The sandbox's own 3-D Secure challenge page, where a next action sends the customer in
//! place of their card issuer's: two buttons, complete or fail. No script; everything shown is
//! escaped; a challenge unknown, answered already or named with the wrong token is a plain 404.

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::SandboxGateway;
use crate::gateway::{ChallengeAnswer, ChallengePage};

const TITLE: &str = "Sandbox 3-D Secure challenge";

impl SandboxGateway {
    /// The challenge page, as a router to mount where
    /// [`SandboxConfig::challenge_base`](crate::SandboxConfig::challenge_base) says (by
    /// default: `app.nest("/sandbox", sandbox.challenge_pages())`).
    ///
    /// - `GET /authenticate/{id}?token=...` shows the payment's amount (or that a card is being
    ///   saved) and the card, with **Complete authentication** (`#approve`) and **Fail
    ///   authentication** (`#fail`).
    /// - `POST` to the same address with `result=approve` or `result=fail` records the answer
    ///   and sends the browser (303) to the return URL given when the payment or set-up was
    ///   confirmed, with Stripe's parameters: `payment_intent=pi_...` or
    ///   `setup_intent=seti_...`, and `redirect_status=succeeded|failed`.
    /// - `/connect/onboarding/{token}`: the onboarding page of a connected account (see
    ///   `billing_core::ports::AccountOnboarding` on the sandbox).
    pub fn challenge_pages(&self) -> Router {
        Router::new()
            .route("/authenticate/{id}", get(show).post(answer))
            .with_state(self.clone())
            .merge(self.onboarding_pages())
    }
}

#[derive(Debug, Deserialize)]
struct Token {
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Answer {
    result: Option<String>,
}

async fn show(
    State(gateway): State<SandboxGateway>,
    Path(id): Path<String>,
    query: Result<Query<Token>, QueryRejection>,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    match gateway.challenge(&id, &token) {
        Some(page) => html(StatusCode::OK, &challenge(&page)),
        None => not_found(),
    }
}

async fn answer(
    State(gateway): State<SandboxGateway>,
    Path(id): Path<String>,
    query: Result<Query<Token>, QueryRejection>,
    form: Result<Form<Answer>, FormRejection>,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    let approve = match form.ok().and_then(|Form(f)| f.result).as_deref() {
        Some("approve") => true,
        Some("fail") => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                "<p id=\"error\">Choose <strong>Complete authentication</strong> or \
                 <strong>Fail authentication</strong>.</p>",
            );
        }
    };
    match gateway.answer_challenge(&id, &token, approve) {
        Ok(Some(ChallengeAnswer::Return(location))) => see_other(&location),
        Ok(Some(ChallengeAnswer::Done { approved })) => {
            let said = if approved {
                "Authentication completed."
            } else {
                "Authentication failed."
            };
            html(
                StatusCode::OK,
                &format!("<p id=\"status\">{said} You can close this page.</p>"),
            )
        }
        Ok(None) => not_found(),
        Err(_) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<p id=\"error\">Your answer could not be recorded just now. Go back and try again \
             in a moment.</p>",
        ),
    }
}

/// The challenge itself.
fn challenge(page: &ChallengePage) -> String {
    let what = match &page.amount {
        Some(amount) => format!(
            "Confirm a payment of <strong id=\"amount\">{}</strong>",
            escape(&amount.to_string())
        ),
        None => "Confirm saving your card for later payments".to_owned(),
    };
    let card = match &page.card {
        Some((brand, last4)) if !last4.is_empty() => {
            format!(" with the {} card ending {}", escape(brand), escape(last4))
        }
        _ => String::new(),
    };
    // No action: the form posts back to this very address, token included, wherever the
    // page is mounted.
    format!(
        "<p id=\"what\">{what}{card}.</p>\n\
         <p>This page stands in for the card issuer's check while the sandbox plays the \
         gateway: no money moves.</p>\n\
         <form method=\"post\">\n\
         <button id=\"approve\" type=\"submit\" name=\"result\" value=\"approve\">Complete authentication</button>\n\
         <button id=\"fail\" type=\"submit\" name=\"result\" value=\"fail\">Fail authentication</button>\n\
         </form>\n\
         <p class=\"ref\">{}</p>",
        escape(&page.id)
    )
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<p id=\"error\">There is no challenge waiting here: it was answered already, or the \
         address is wrong.</p>",
    )
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        // A return address that is not a valid header: give the customer the link instead.
        Err(_) => html(
            StatusCode::OK,
            &format!(
                "<p id=\"status\">Done. <a href=\"{}\">Continue</a>.</p>",
                escape(location)
            ),
        ),
    }
}

/// A whole page around `body`, with headers that keep it out of caches, frames and
/// referrers (its address carries the challenge's token).
fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{TITLE}</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\n\
         button{{font:inherit;padding:.6rem 1rem;margin:.5rem .5rem 0 0;cursor:pointer}}\n\
         .ref{{color:#777;font-size:.8rem}}\n</style>\n</head>\n<body>\n<main>\n\
         <h1>{TITLE}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ),
        ],
        page,
    )
        .into_response()
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let page = challenge(&ChallengePage {
            id: "pi_<1>".into(),
            amount: None,
            card: Some(("<b>".into(), "4242".into())),
        });
        assert!(page.contains("pi_&lt;1&gt;"), "{page}");
        assert!(page.contains("&lt;b&gt;"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
    }
}
