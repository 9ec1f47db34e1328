//! # billing-stripe
//!
//! The Stripe adapter: [`StripeGateway`] implements the core's
//! [`PaymentGateway`](billing_core::ports::PaymentGateway) port on async-stripe 1.0, and
//! [`StripeWebhooks`] checks and reads Stripe's webhook deliveries.
//!
//! - Every call acts on the business's connected account (`Stripe-Account`) when one is given.
//! - Every mutating call carries an idempotency key: the core's (derived from our payment ids)
//!   for money moves and card set-ups, one derived from our customer id for customers.
//! - Failed calls are retried by the adapter under the same key, with exponential backoff and
//!   jitter, on 409, 424, 429, 5xx and broken connections. A timeout or a reset leaves the
//!   outcome unknown ([`GatewayError::UnknownOutcome`](billing_core::ports::GatewayError)),
//!   never a failure, and so does any refusal that follows it, or a refused idempotency key:
//!   the core's reconciler settles it through `find_payment`, which searches Stripe by our
//!   payment id kept in `metadata[payment_id]`.
//! - Off-session (staff charging a saved card), a card that asks for 3-D Secure is a decline
//!   (`authentication_required`), which the core answers with a payment link; on-session (the
//!   customer on a hosted page), it is `RequiresAction` with what the page must do.
//! - Holds ask for multicapture where the account allows it; the charge says if it was given.
//! - Declines are answers: `Ok` with a `Failed` status, worded for the business.
//! - Amounts follow Stripe's own currency rules ([`amounts`], on `billing-stripe-rules`), and
//!   an amount Stripe can never charge is refused before any request is sent.
//! - What happens at Stripe (Dashboard captures, cancellations and refunds, disputes, expired
//!   holds) is read back whole by `payment_record`, and its events by `events_since`.
//! - Connect: [`StripeGateway`] also implements the core's
//!   [`AccountOnboarding`](billing_core::ports::AccountOnboarding): a Standard account made by
//!   the platform (`POST /v1/accounts`, keyed per business), Account Links to Stripe's hosted
//!   onboarding, and the account read back; `account.updated` events carry its new state.
//! - The secret key is never logged ([`SecretKey`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amounts;
mod call;
mod config;
mod connect;
mod convert;
mod customers;
mod gateway;
mod payments;
mod records;
mod setups;
pub mod webhooks;

pub use config::{SecretKey, StripeConfig};
pub use convert::business_failure;
pub use gateway::{BUSINESS_ID_KEY, CUSTOMER_ID_KEY, PAYMENT_ID_KEY, REFUND_ID_KEY, StripeGateway};
pub use webhooks::{EmptyWebhookSecret, GatewayEvent, StripeWebhooks, WebhookError, verify_event};
