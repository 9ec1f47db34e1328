//! # billing-sandbox
//!
//! [`SandboxGateway`]: an in-process [`PaymentGateway`](billing_core::ports::PaymentGateway)
//! that behaves like Stripe's test mode — test cards, 3-D Secure with its own challenge page
//! ([`SandboxGateway::challenge_pages`]), holds that expire, captures in several parts where
//! the account allows it, refunds, Stripe's amount rules, idempotency keys, connected accounts
//! — for the service's embedded default, demos, tests and benchmarks. [`SandboxConfig`] adds
//! latency, a rate limit, and [`Fault`]s on demand. [`SandboxGateway::open`] keeps it in a
//! data folder, so that it survives restarts.
//!
//! ```
//! use std::sync::Arc;
//! use billing_core::prelude::*;
//! use billing_core::ports::{
//!     GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence,
//! };
//! use billing_core::payment::CardRef;
//! use billing_core::testkit::FixedClock;
//! use billing_sandbox::SandboxGateway;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let sandbox = SandboxGateway::new(Arc::new(FixedClock::default()));
//! let customer = sandbox.create_customer(&NewGatewayCustomer {
//!     business: "acme".parse()?, account: None, customer: CustomerId::new("c-1")?, name: "Ada".into(), email: None,
//! }).await?;
//! let card = sandbox.attach_card(None, &customer, "pm_card_visa").await?;
//! let paid = sandbox.charge(&PaymentRequest {
//!     account: None,
//!     payment: PaymentId::new("pay_1")?,
//!     idempotency_key: "pay_1:attempt".into(),
//!     card: CardRef { gateway_customer: customer, payment_method: card.payment_method },
//!     amount: Money::parse("42.00", Currency::USD)?,
//!     description: None,
//!     presence: Presence::OffSession,
//! }).await?;
//! assert_eq!(paid.status, GatewayStatus::Succeeded);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cards;
mod challenge;
mod config;
mod connect;
mod gateway;
mod journal;
mod state;

pub use cards::CardError;
pub use config::{Fault, MulticaptureAccounts, Operation, SandboxConfig};
pub use connect::ACCOUNTS_FILE;
pub use gateway::SandboxGateway;
pub use journal::{JOURNAL_FILE, JournalError};
pub use state::SandboxCall;
