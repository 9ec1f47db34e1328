//! # billing-core
//!
//! The money rules and use cases of a billing engine for booking businesses: charge a booking
//! in full or in part, adjust its price, hold and capture, record cash or check collections,
//! refund, charge many bookings at once — exact to the cent, and never twice.
//!
//! It also queues the emails about payments (payment links, card requests, receipts, notices to
//! the business) and delivers them apart from any payment, retrying with backoff ([`notifier`]).
//! Customers pay links and save cards on hosted pages with the card's authentication (3-D
//! Secure) when it asks; every pending payment ends, settled from the gateway's own record; and
//! what is done at the gateway itself (a capture or refund in its dashboard, a dispute, a hold
//! that runs out) reaches the ledger.
//!
//! The crate does no I/O. Storage, the card gateway, the mailer, the clock, id generation and
//! randomness are ports ([`ports`]); adapters implement them, and [`billing::Billing`] holds each
//! as a trait object, so that every driving adapter drives the same service the same way. A
//! money move answers a [`receipt::Receipt`]: settled, pending or declined, and whether it
//! replays an earlier command. The `testkit` feature brings an in-memory store, a scripted
//! gateway and a scripted mailer that embedders can test against.
//!
//! ```
//! use std::sync::Arc;
//! use billing_core::prelude::*;
//! use billing_core::testkit::{FixedClock, MemoryStore, ScriptedGateway, SequentialIds, SequentialSecrets};
//!
//! # tokio_test_block_on(async {
//! let billing = Billing::new(
//!     Arc::new(MemoryStore::new()),     // or Postgres, SQLite, your own store
//!     Arc::new(ScriptedGateway::new()), // or Stripe, the sandbox
//!     Arc::new(FixedClock::default()),
//!     Arc::new(SequentialIds::default()),
//!     Arc::new(SequentialSecrets::default()),
//! );
//! let business = Business { id: BusinessId::new("acme-cleaning")?, name: "Acme Cleaning".into(), gateway_account: None, email: None };
//!
//! // A customer with a card on file, and a 215.50 booking.
//! let customer = CustomerId::new("c-1")?;
//! billing.put_customer(&business, Customer { id: customer.clone(), name: "Ada".into(), email: None, phone: None, gateway_customer: None }).await?;
//! billing.attach_card(&business, &customer, "pm_card_visa").await?;
//! let booking = BookingAccount::new(BookingId::new("b-1")?, customer, Currency::USD, vec![
//!     LineItem::new(LineItemKind::Service, "Deep clean", Money::parse("215.50", Currency::USD)?)?,
//! ])?;
//! billing.put_booking(&business, booking).await?;
//!
//! // Charge an advance (an amount as a client typed it, read in the booking's currency), then
//! // the rest (no amount: the balance due).
//! let charge = |amount| ChargeBooking {
//!     booking: BookingId::new("b-1").unwrap(), amount, source: PaymentSource::CardOnFile,
//!     idempotency_key: None, allow_duplicate: false,
//! };
//! billing.charge(&business, charge(Some(Amount::parse("30.00")?))).await?;
//! let receipt = billing.charge(&business, charge(None)).await?;
//! assert_eq!(receipt.outcome(), Outcome::Settled);
//! assert_eq!(receipt.payment.amount, Money::parse("185.50", Currency::USD)?);
//! assert_eq!(receipt.bookings[0].status.status, PaymentStatus::ChargedInFull);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod automation;
pub mod billing;
pub mod booking;
pub mod connect;
pub mod customer;
pub mod email;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod link;
pub mod money;
pub mod notification;
pub mod notifier;
pub mod payment;
pub mod phone;
pub mod portal;
pub mod ports;
pub mod receipt;
pub mod staff;
pub mod status;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text_message;
pub mod tip;

/// The names most embedders need.
pub mod prelude {
    pub use crate::billing::{
        AuthorizeBooking, Billing, BookingView, BulkCharge, BulkChargeResult, CaptureHold,
        CardRequestAnswer, ChargeBooking, OutstandingPage, PaymentSource, PaymentView, Policy,
        RecordCollection, RefundPayment, SweepReport,
    };
    pub use crate::booking::{BookingAccount, BookingError, LineItem, LineItemKind};
    pub use crate::customer::{Business, Customer, SavedCard};
    pub use crate::error::BillingError;
    pub use crate::idempotency::IdempotencyKey;
    pub use crate::ids::{BookingId, BusinessId, CustomerId, NotificationId, PaymentId};
    pub use crate::money::{Amount, Currency, Money, MoneyError};
    pub use crate::notification::{DeliveryState, Notification, NotificationKind, OutboundMessage};
    pub use crate::notifier::{DeliveryPolicy, DeliveryReport, Notifier, NotifyError};
    pub use crate::payment::{
        CollectionMethod, Failure, Origin, Payment, PaymentKind, PaymentState,
    };
    pub use crate::receipt::{Outcome, Receipt};
    pub use crate::status::{Balance, BookingStatus, BookingSummary, PaymentStatus};
}
