//! # billing-stripe
//!
//! The Stripe adapter: [`StripeGateway`] implements the core's
//! [`PaymentGateway`](billing_core::ports::PaymentGateway) port on async-stripe 1.0, and
//! [`webhooks::verify_event`] checks and reads Stripe's webhook deliveries.
//!
//! - Every call acts on the business's connected account (`Stripe-Account`) when one is given.
//! - Every mutating call carries an idempotency key: the core's (derived from our payment ids)
//!   for money moves and card set-ups, one derived from our customer id for customers.
//! - Failed calls are retried by the adapter under the same key, with exponential backoff and
//!   jitter, on 409, 424, 429, 5xx and broken connections. A timeout or a reset leaves the
//!   outcome unknown ([`GatewayError::UnknownOutcome`](billing_core::ports::GatewayError)),
//!   never a failure: the core's reconciler settles it through `find_payment`, which searches
//!   Stripe by our payment id kept in `metadata[payment_id]`.
//! - Declines and demands for authentication are answers: `Ok` with a `Failed` or
//!   `RequiresAction` status, with messages worded for the business.
//! - Amounts follow Stripe's own currency rules ([`amounts`]).
//! - The secret key is never logged ([`SecretKey`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amounts;
mod call;
mod config;
mod convert;
mod gateway;
pub mod webhooks;

pub use config::{SecretKey, StripeConfig};
pub use convert::business_failure;
pub use gateway::{BUSINESS_ID_KEY, CUSTOMER_ID_KEY, PAYMENT_ID_KEY, REFUND_ID_KEY, StripeGateway};
pub use webhooks::{GatewayEvent, StripeWebhooks, WebhookError, verify_event};
