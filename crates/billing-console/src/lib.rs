//! The Ops Console: the web pages where a business's staff sign in and work — server-rendered
//! HTML (askama templates, assets compiled into the binary, no JavaScript), served by
//! `billingd serve` under `/console`.
//!
//! It drives the same `Billing` service as the JSON API. Staff sign in with their email address
//! and password (argon2id: [`Argon2Passwords`]); a session lives in the store, its secret token
//! in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` behind HTTPS), a new one at each sign-in,
//! ended after two idle hours or twelve in all. Every form carries a CSRF token derived from
//! the session's, and sign-in attempts are limited per address and per client. Every answer
//! carries a Content-Security-Policy with no inline script or style, and refuses framing.
//!
//! Built so far: signing in and out, setting a password through an invitation
//! (`billingd staff add`), the bookings list (status in the brief's words, a status filter,
//! paging), a booking's page (its amounts, line items and payment history, naming the member
//! who made each move) with "Charge Customer" (a card on file), "Record a collection" (cash,
//! check, other), capture (all or part) and release of a hold, and refunds (all or part,
//! owners only); the customers list and a customer's profile (cards on file, what they owe,
//! the notifications log with delivery states, "Send Email" for a card request), each scoped
//! to the signed-in member's business; and for owners only, the settings (the Stripe
//! connection, the payment policy, staff added, invited again and removed, API keys made and
//! revoked).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod guard;
mod limit;
mod pages;
mod passwords;
mod session;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};
use billing_core::billing::Billing;
use billing_core::ports::PasswordHasher;
use billing_core::staff::SessionLimits;

pub use passwords::Argon2Passwords;

/// How the console runs.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The service's public address (`https://billing.example`): its scheme decides whether
    /// cookies are `Secure`.
    pub public_url: String,
    /// How long sessions live.
    pub sessions: SessionLimits,
    /// "See in Stripe" links, when the gateway is Stripe.
    pub stripe_dashboard: Option<StripeDashboard>,
}

/// Where "See in Stripe" leads: a payment or a customer in Stripe's dashboard, in the
/// business's connected account when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripeDashboard {
    /// The service runs on a test-mode key: the dashboard's test data.
    pub test_mode: bool,
}

impl StripeDashboard {
    /// The dashboard page of `object` (`payments/pi_…`, `customers/cus_…`).
    pub(crate) fn url(self, account: Option<&str>, object: &str) -> String {
        let account = account.map_or_else(String::new, |a| format!("{a}/"));
        let mode = if self.test_mode { "test/" } else { "" };
        format!("https://dashboard.stripe.com/{account}{mode}{object}")
    }
}

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    billing: Billing,
    passwords: Arc<dyn PasswordHasher>,
    config: Arc<ConsoleConfig>,
    sign_in_limit: Arc<limit::SignInLimit>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// The console over an engine, hashing passwords with `passwords`.
    pub fn new(
        billing: Billing,
        passwords: Arc<dyn PasswordHasher>,
        config: ConsoleConfig,
    ) -> Console {
        Console {
            billing,
            passwords,
            config: Arc::new(config),
            sign_in_limit: Arc::new(limit::SignInLimit::default()),
        }
    }

    /// True when cookies must be `Secure` (the service is reached over HTTPS).
    fn secure_cookies(&self) -> bool {
        self.config.public_url.starts_with("https://")
    }
}

/// The path of an invitation's page, for `billingd staff add` to print under the public URL.
pub fn invitation_path(token: &str) -> String {
    format!("/console/invitations/{token}")
}

/// The console's routes, under `/console`, with their own guard (security headers, HTML for
/// bare errors).
pub fn routes(console: Console) -> Router {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route(
            "/console/sign-in",
            get(pages::sign_in::show).post(pages::sign_in::submit),
        )
        .route("/console/sign-out", post(pages::sign_in::sign_out))
        .route(
            "/console/invitations/{token}",
            get(pages::invitation::show).post(pages::invitation::submit),
        )
        .route("/console/bookings", get(pages::bookings::list))
        .route("/console/bookings/bulk", post(pages::bulk::preview))
        .route("/console/bookings/bulk/charge", post(pages::bulk::charge))
        .route("/console/bookings/{id}", get(pages::bookings::one))
        .route(
            "/console/bookings/{id}/charges",
            post(pages::charge::charge),
        )
        .route(
            "/console/bookings/{id}/line-items",
            post(pages::booking_forms::add_line),
        )
        .route(
            "/console/bookings/{id}/payment-link",
            post(pages::booking_forms::send_link),
        )
        .route("/console/bookings/{id}/no-show", post(pages::no_show::mark))
        .route(
            "/console/payments/{id}/capture",
            post(pages::payments::capture),
        )
        .route(
            "/console/payments/{id}/release",
            post(pages::payments::release),
        )
        .route(
            "/console/payments/{id}/refund",
            post(pages::payments::refund),
        )
        .route("/console/customers", get(pages::customers::list))
        .route("/console/customers/{id}", get(pages::customers::profile))
        .route(
            "/console/customers/{id}/card-request",
            post(pages::customers::card_request),
        )
        .route(
            "/console/customers/{id}/charge-card",
            post(pages::profile_payments::charge_card),
        )
        .route(
            "/console/customers/{id}/payment-link",
            post(pages::profile_payments::payment_link),
        )
        .route(
            "/console/customers/{id}/payment-link-text",
            post(pages::profile_payments::payment_link_text),
        )
        .route(
            "/console/customers/{id}/card-request-text",
            post(pages::customers::card_request_text),
        )
        .route(
            "/console/customers/{id}/portal-link",
            post(pages::customers::portal_link),
        )
        .route(
            "/console/customers/{id}/portal-link-text",
            post(pages::customers::portal_link_text),
        )
        .route(
            "/console/customers/{id}/new-card",
            post(pages::profile_payments::new_card),
        )
        .route(
            "/console/customers/{id}/payment-option",
            post(pages::profile_payments::payment_option),
        )
        .route(
            "/console/customers/{id}/cards/default",
            post(pages::customers::make_default),
        )
        .route(
            "/console/customers/{id}/cards/remove",
            post(pages::customers::remove),
        )
        .merge(pages::reports::routes())
        .merge(pages::settings::routes())
        .route("/console/assets/console.css", get(pages::css))
        .route("/console/{*rest}", any(pages::not_found))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            guard::guard,
        ))
        .with_state(console)
}
