//! # billing-http
//!
//! The JSON API of the billing engine, on axum: [`router`] serves the core's use cases under
//! `/v1` for any store and gateway, with API-key auth per business, idempotency over HTTP,
//! RFC 9457 problem+json errors, an OpenAPI 3.1 document (`/openapi.json`, `/docs`), health,
//! readiness and Prometheus metrics.
//!
//! It also serves the hosted pages customers reach from a payment link or card request
//! (`/pay/{token}`, `/cards/{token}`, HTML, no login), with a strict Content-Security-Policy and
//! a rate limit per client address. For the rate limit to see client addresses, serve the
//! router with `into_make_service_with_connect_info::<SocketAddr>()`; behind a load balancer,
//! name it in [`HttpConfig::trusted_proxies`] so that the address it forwards is used.
//!
//! The crate depends on the core only, and drives it through one
//! [`Billing`](billing_core::billing::Billing) service (over whatever store and gateway it was
//! given). A money move is answered from the core's receipt alone; idempotent replays are
//! decided by the core, which keeps a command's first settled receipt, and answered the same
//! way, byte for byte. What differs between deployments is injected: the webhook verifier
//! ([`WebhookVerifier`](billing_core::ports::WebhookVerifier), the gateway adapter's), the
//! readiness check ([`Readiness`]), the hosted pages' card form ([`CardForm`]) and the settings
//! ([`HttpConfig`]). The hosted pages' URL layout is this crate's: give the core a [`PageUrls`]
//! built from the public base URL.
//!
//! ```
//! use std::sync::Arc;
//! use billing_core::billing::{HostedPages, NewBusiness};
//! use billing_core::prelude::*;
//! use billing_core::testkit::{
//!     FixedClock, MemoryStore, PlainTemplates, ScriptedGateway, SequentialIds, SequentialSecrets,
//! };
//! use billing_http::{AppState, PageUrls, router};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let billing = Billing::new(
//!     Arc::new(MemoryStore::new()),
//!     Arc::new(ScriptedGateway::new()),
//!     Arc::new(FixedClock::default()),
//!     Arc::new(SequentialIds::default()),
//!     Arc::new(SequentialSecrets::default()),
//! )
//! .with_hosted_pages(HostedPages {
//!     addresses: Arc::new(PageUrls::new("https://pay.example.com")),
//!     link_lifetime: HostedPages::default_lifetime(),
//!     templates: Arc::new(PlainTemplates),
//! });
//! // A business and its API key (`Authorization: Bearer <key>`), shown once.
//! let issued = billing
//!     .create_business(NewBusiness { name: "Acme".into(), id: None, gateway_account: None, email: None, live: false })
//!     .await?;
//! assert!(issued.key.expose().starts_with("bk_test_"));
//! let app: axum::Router = router(AppState::new(billing));
//! // axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cards;
mod docs;
mod extract;
pub mod openapi;
mod pages;
pub mod problem;
mod routes;
mod state;
mod telemetry;
pub mod wire;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::{delete, get, post, put};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;

pub use cards::{CardForm, CardTokenizer};
pub use pages::client::{InvalidTrustedProxy, TrustedProxy};
pub use pages::urls::PageUrls;
pub use problem::{Problem, ProblemDetails};
pub use state::{AlwaysReady, AppState, HttpConfig, Readiness, ReadinessFn};

use routes::{
    automation, bookings, bulk, connect, customers, links, notifications, ops, payments, reports,
    webhooks,
};

/// The OpenAPI document as JSON, built once.
fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        openapi::ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
}

/// The service: the `/v1` API, `/openapi.json`, `/docs`, `/healthz`, `/readyz`, `/metrics`,
/// behind request ids, tracing, a body limit, a timeout and metrics; and the hosted pages
/// (`/pay/{token}`, `/cards/{token}`, their `/return` routes, `/assets/...`), which answer HTML
/// with their own layers.
pub fn router(state: AppState) -> Router {
    // Installed before the first request, so that the first one is counted.
    telemetry::prometheus();
    let api = state.into_shared();
    let body_limit = api.config.body_limit;
    let timeout = api.config.request_timeout;
    let api_routes = Router::new()
        .route("/v1/customers", post(customers::put_customer))
        .route("/v1/customers/{id}", get(customers::get_customer))
        .route(
            "/v1/customers/{id}/payment-methods",
            get(customers::list_cards).post(customers::attach_card),
        )
        .route(
            "/v1/customers/{id}/payment-methods/{pm}",
            delete(customers::remove_card),
        )
        .route(
            "/v1/customers/{id}/payment-methods/{pm}/default",
            post(customers::set_default_card),
        )
        .route("/v1/customers/{id}/balance", get(customers::balance))
        .route("/v1/customers/{id}/links", get(links::customer_links))
        .route(
            "/v1/customers/{id}/notifications",
            get(notifications::customer_notifications),
        )
        .route("/v1/payment-links", post(links::create_payment_link))
        .route("/v1/card-requests", post(links::create_card_request))
        .route(
            "/v1/customers/{id}/portal-link",
            post(links::send_portal_link),
        )
        .route("/v1/checkouts", post(links::start_checkout))
        .route("/v1/links/{id}", get(links::get_link))
        .route("/v1/links/{id}/cancel", post(links::cancel_link))
        .route(
            "/v1/notifications/{id}",
            get(notifications::get_notification),
        )
        .route("/v1/bookings", get(bookings::list_bookings))
        .route(
            "/v1/bookings/{id}",
            put(bookings::put_booking).get(bookings::get_booking),
        )
        .route(
            "/v1/bookings/{id}/line-items",
            post(bookings::add_line_item),
        )
        .route("/v1/bookings/{id}/charges", post(bookings::charge))
        .route("/v1/bookings/{id}/collections", post(bookings::collect))
        .route(
            "/v1/bookings/{id}/authorizations",
            post(bookings::authorize),
        )
        .route(
            "/v1/settings/payments",
            get(automation::get_settings).put(automation::put_settings),
        )
        .route(
            "/v1/bookings/{id}/automation",
            get(automation::get_booking_automation).put(automation::put_booking_automation),
        )
        .route("/v1/bookings/{id}/cancel", post(automation::cancel_booking))
        .route("/v1/bookings/{id}/no-show", post(automation::mark_no_show))
        .route(
            "/v1/customers/{id}/automation",
            put(automation::put_customer_automation),
        )
        .route("/v1/automation/runs", get(automation::list_runs))
        .route("/v1/payments/{id}", get(payments::get_payment))
        .route("/v1/payments/{id}/captures", post(payments::capture))
        .route("/v1/payments/{id}/cancel", post(payments::cancel))
        .route("/v1/payments/{id}/refunds", post(payments::refund))
        .route("/v1/payments/{id}/reconcile", post(payments::reconcile))
        .route("/v1/payments/{id}/mark-failed", post(payments::mark_failed))
        .route("/v1/payments/{id}/sync", post(payments::sync))
        .route("/v1/reports/outstanding", get(reports::outstanding))
        .route("/v1/connect/onboarding", post(connect::start_onboarding))
        .route(
            "/v1/connect/onboarding/return",
            post(connect::onboarding_returned),
        )
        .route("/v1/connect/account", get(connect::get_account))
        .route("/v1/webhooks/stripe", post(webhooks::stripe))
        .route("/v1/webhooks/texts", post(webhooks::texts))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    openapi_json(),
                )
            }),
        )
        // Every route so far answers within the request timeout (a money move goes on in its
        // own task when it does not); a bulk charge takes as long as its pacing needs.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .route("/v1/charges/bulk", post(bulk::bulk_charge))
        .fallback(|| async { Problem::for_status(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async {
            Problem::for_status(StatusCode::METHOD_NOT_ALLOWED)
        })
        .with_state(api.clone());
    api_routes
        .merge(docs::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(telemetry::problem_everywhere))
        // The hosted pages answer their errors as HTML pages: merged after the problem layer,
        // which (like every `Router::layer`) wraps only the routes already there.
        .merge(pages::routes(api))
        // Router layers wrap each route, so these see the matched route.
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<axum::body::Body>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        // A hosted page's path holds its secret token.
                        path = %pages::loggable_path(request.uri().path()),
                        request_id = %request_id,
                        business = tracing::field::Empty,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
