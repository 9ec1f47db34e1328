//! The hosted pages: where a customer pays a payment link (`/pay/{token}`) or saves a card
//! (`/cards/{token}`), with no login — the token in the URL is the only key. HTML, not JSON:
//! these routes answer their own errors as pages, never as problem+json, and need no API key.
//!
//! Every answer (pages, assets, errors) carries a strict Content-Security-Policy (own assets
//! and Stripe.js only; no inline script or style), `no-referrer` (the token must not leak to
//! another site through `Referer`), `no-store`, `nosniff` and `DENY` framing — except a booking
//! page's checkout, which the origin of its return URL alone may frame. Requests to the token
//! routes are rate limited per client address (behind a trusted proxy, the address it
//! forwards).
//!
//! Payments and card set-ups are confirmed on the server with the customer present: when their
//! bank asks them to authenticate (3-D Secure), the page hands them to the bank's challenge
//! (Stripe.js, or the sandbox's own page), which brings them back to a return route
//! (`/pay/{token}/return`, `/cards/{token}/return`) that reads the outcome from the gateway.

mod answers;
pub(crate) mod card_request;
pub(crate) mod client;
mod form;
pub(crate) mod limit;
pub(crate) mod pay;
pub(crate) mod portal;
mod tip;
pub(crate) mod urls;
mod views;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::state::Api;
use limit::ClientKey;
use views::{MessagePage, page};

/// The pages' Content-Security-Policy: scripts from this origin and Stripe.js only, Stripe's
/// frames and API, styles from this origin, forms posted to this origin, never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
script-src 'self' https://js.stripe.com https://*.js.stripe.com; \
style-src 'self'; img-src 'self' data:; \
frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; \
connect-src 'self' https://api.stripe.com; form-action 'self'; base-uri 'none'; \
frame-ancestors 'none'";

/// The policy of a checkout's pages: the same, but framed by the business's page alone.
fn framed_policy(origin: &str) -> Option<HeaderValue> {
    let policy = CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {origin}"),
    );
    HeaderValue::from_str(&policy).ok()
}

/// The largest form accepted: a card form is a few hundred bytes.
const PAGE_BODY_LIMIT: usize = 16 * 1024;

const PAGES_CSS: &str = include_str!("../../assets/pages.css");
const CARD_FORM_JS: &str = include_str!("../../assets/card-form.js");
const CHECKOUT_JS: &str = include_str!("../../assets/checkout.js");

/// The hosted pages' routes, with their own layers: rate limit (token routes), body limit,
/// timeout, HTML for bare errors, security headers.
pub(crate) fn routes(api: Api) -> Router {
    Router::new()
        .route("/pay/{token}", get(pay::pay_page).post(pay::pay))
        .route("/pay/{token}/return", get(pay::payment_returned))
        .route(
            "/cards/{token}",
            get(card_request::card_page).post(card_request::save_card),
        )
        .route("/cards/{token}/return", get(card_request::card_returned))
        .route("/portal", get(portal::overview))
        .route("/portal/{token}", get(portal::open_link))
        .route("/portal/pay", post(portal::pay))
        .route("/portal/cards", post(portal::add_card))
        .route("/portal/cards/remove", post(portal::remove_card))
        .route("/portal/sign-out", post(portal::sign_out))
        // Anything else under the pages' paths (a link cut short, or with something appended
        // by a mail client) is no link: the same page, rather than the API's problem+json.
        .route("/pay", any(answers::no_link))
        .route("/pay/", any(answers::no_link))
        .route("/pay/{token}/{*rest}", any(answers::no_link))
        .route("/cards", any(answers::no_link))
        .route("/cards/", any(answers::no_link))
        .route("/cards/{token}/{*rest}", any(answers::no_link))
        // The assets are the same for everyone and reveal nothing: not worth a client's tokens
        // (a page view would otherwise cost three).
        .route_layer(middleware::from_fn_with_state(api.clone(), rate_limit))
        .route("/assets/pages.css", get(css))
        .route("/assets/card-form.js", get(script))
        .route("/assets/checkout.js", get(checkout_script))
        .layer(DefaultBodyLimit::max(PAGE_BODY_LIMIT))
        .layer(middleware::from_fn_with_state(api.clone(), guard))
        .with_state(api)
}

/// A request path fit for the log: a hosted page's token is a secret (the query, which the
/// gateway's return may fill with a client secret, is never logged).
pub(crate) fn loggable_path(path: &str) -> &str {
    match path {
        p if p.starts_with("/pay/") && p.ends_with("/return") => "/pay/{token}/return",
        p if p.starts_with("/pay/") => "/pay/{token}",
        p if p.starts_with("/cards/") && p.ends_with("/return") => "/cards/{token}/return",
        p if p.starts_with("/cards/") => "/cards/{token}",
        "/portal/pay" | "/portal/cards" | "/portal/cards/remove" | "/portal/sign-out" => path,
        p if p.starts_with("/portal/") => "/portal/{token}",
        p => p,
    }
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", PAGES_CSS)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", CARD_FORM_JS)
}

async fn checkout_script() -> Response {
    asset("text/javascript; charset=utf-8", CHECKOUT_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// One token from the client's bucket, or a 429 page with `Retry-After`. The client is the
/// connection's peer address (`ConnectInfo`); `X-Forwarded-For`, which anyone can write, is
/// believed only from a trusted proxy (see [`client::client_address`]).
async fn rate_limit(State(api): State<Api>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let client = client::client_address(peer, request.headers(), &api.config.trusted_proxies);
    match api
        .page_limiter
        .check(ClientKey::of(client), Instant::now())
    {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::warn!(
                route = "hosted page",
                "a client is over the pages' rate limit"
            );
            let mut response = page(StatusCode::TOO_MANY_REQUESTS, &MessagePage::RATE_LIMITED);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(whole_seconds(wait)));
            response
        }
    }
}

/// A wait in whole seconds, rounded up, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Around every hosted route: the request timeout (a payment goes on in its own task), an HTML
/// page for any bare error status made outside the handlers, and the security headers.
async fn guard(State(api): State<Api>, request: Request, next: Next) -> Response {
    let token = page_token(request.uri().path()).map(str::to_owned);
    let mut response =
        match tokio::time::timeout(api.config.request_timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => page(StatusCode::SERVICE_UNAVAILABLE, &MessagePage::TIMEOUT),
        };
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_html {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = page(status, &MessagePage::for_status(status));
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    secure(response.headers_mut());
    // A checkout's pages may be framed by the business's page (and no other).
    if let Some(token) = token
        && let Some(found) = api.billing.checkout_of_token(&token).await
        && let Some(policy) = framed_policy(&found.checkout.return_url.origin())
    {
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        headers.remove(header::X_FRAME_OPTIONS);
    }
    response
}

/// The token of a hosted page's path (`/pay/{token}`, `/cards/{token}/return`...), when it
/// can be one.
fn page_token(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/pay/")
        .or_else(|| path.strip_prefix("/cards/"))?;
    let token = rest.split('/').next()?;
    billing_core::link::LinkToken::parse(token).map(|_| token)
}

/// The security headers of every hosted answer.
fn secure(headers: &mut HeaderMap) {
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    for (name, value) in set {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_stay_out_of_the_log() {
        assert_eq!(loggable_path("/pay/abc"), "/pay/{token}");
        assert_eq!(loggable_path("/cards/abc"), "/cards/{token}");
        assert_eq!(loggable_path("/pay/abc/return"), "/pay/{token}/return");
        assert_eq!(loggable_path("/cards/abc/return"), "/cards/{token}/return");
        assert_eq!(loggable_path("/v1/links/lnk_1"), "/v1/links/lnk_1");
    }

    #[test]
    fn page_tokens_are_read_from_the_token_routes_only() {
        let token = "A".repeat(billing_core::link::TOKEN_CHARS);
        assert_eq!(page_token(&format!("/pay/{token}")), Some(token.as_str()));
        assert_eq!(
            page_token(&format!("/cards/{token}/return")),
            Some(token.as_str())
        );
        assert_eq!(page_token("/pay/short"), None);
        assert_eq!(page_token("/assets/pages.css"), None);
        assert_eq!(page_token(&format!("/v1/links/{token}")), None);
    }

    #[test]
    fn a_checkout_is_framed_by_its_business_alone() {
        let policy = framed_policy("https://shop.example").expect("a header value");
        let policy = policy.to_str().expect("ascii");
        assert!(
            policy.contains("frame-ancestors https://shop.example"),
            "{policy}"
        );
        assert!(!policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1_500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_no_framing() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(HeaderValue::from_str(CONTENT_SECURITY_POLICY).is_ok());
    }
}
