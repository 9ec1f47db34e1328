//! A stateful fake of the Stripe HTTP API, for the tests of the Stripe adapter.
//!
//! ```no_run
//! # async fn demo() {
//! use billing_stripe_fake::{FakeStripe, Fault};
//!
//! let fake = FakeStripe::start().await;
//! // async-stripe: ClientBuilder::new(fake.secret_key()).url(fake.base_url()).build()
//! fake.inject(Fault::RateLimited, 1); // the next request gets a 429
//! let (payload, signature) = fake.signed_event("payment_intent.succeeded", serde_json::json!({}));
//! # let _ = (payload, signature);
//! # }
//! ```
//!
//! # Faithful to Stripe
//! - Objects in full Stripe shape (every field of Stripe's example objects, `object`,
//!   `livemode: false`, nulls where Stripe has null, Stripe id prefixes), so that
//!   async-stripe parses exactly what it parses from the real API.
//! - Form-encoded parameters with nested keys (`metadata[k]`, `card[token]`,
//!   `expand[]` / `expand[0]`); unknown top-level parameters are refused with
//!   `parameter_unknown`, as Stripe does; metadata merge/unset semantics.
//! - Customers, card PaymentMethods (test ids `pm_card_visa`, tokens `tok_visa`, test
//!   numbers), PaymentIntents (confirm, manual capture with partial capture, cancel,
//!   declines answered with HTTP 402 `card_error` carrying `decline_code`, the charge
//!   and the PaymentIntent), Refunds (bounded by what remains, with Stripe's
//!   `charge_already_refunded` / `amount_too_large` errors), SetupIntents, Charges,
//!   Events, list pagination and `GET /v1/payment_intents/search`.
//! - Test cards behave as documented: decline cards cannot be attached (use
//!   `pm_card_chargeCustomerFail` to attach a card whose charges then fail);
//!   authentication cards give `requires_action` on session and an
//!   `authentication_required` decline off session.
//! - `Authorization: Bearer` checked (401), `Stripe-Account` scoping (objects of one
//!   account are `resource_missing` from any other), `Idempotency-Key` per account
//!   (same parameters: replay with `Idempotent-Replayed: true`; different: 400
//!   `idempotency_error`; only successes and card errors are saved).
//! - Uncaptured authorizations expire at `capture_before` = created + 7 days
//!   (shown on the charge's `payment_method_details.card.capture_before`); move the
//!   clock with [`FakeStripe::advance_clock`] to see them canceled as `automatic`.
//! - Webhook events in full shape, signed like Stripe (`t=...,v1=hmac_sha256`).
//!
//! # Not faithful
//! - Cards only; no Checkout, invoices, subscriptions, disputes, transfers, payouts.
//! - No asynchronous processing: everything settles within the request, and search
//!   is immediately consistent (Stripe's search lags up to a minute).
//! - Events are recorded ([`FakeStripe::events`]) but not delivered: tests hand them
//!   to the webhook handler themselves.
//! - Error messages follow Stripe's wording where it is known, but not every
//!   validation of the real API is made (e.g. minimum charge amounts per currency,
//!   statement descriptor rules); parameters that are valid on Stripe but that the
//!   fake does not model are accepted and ignored.
//! - Any `acct_...` is a valid connected account; there is no account object.
//! - 3-D Secure is completed by [`FakeStripe::complete_authentication`] instead of
//!   a browser.

#![forbid(unsafe_code)]
// `json!` of the full Stripe objects nests deeper than the default limit.
#![recursion_limit = "256"]

mod api;
mod cards;
mod conn;
mod error;
mod form;
mod params;
mod render;
mod search;
mod server;
mod state;
mod webhook;

pub use server::{DEFAULT_API_VERSION, FakeStripe, Fault, RecordedRequest, RequestFilter};
pub use webhook::signature_header;
