//! The API and the hosted pages through the router, in process (see `common`), one module per
//! resource.
#![allow(clippy::unwrap_used)] // tests: a failed set-up should panic loudly

mod common;

mod bookings;
mod bulk;
mod card_page;
mod charges;
mod customers;
mod idempotency;
mod links;
mod malformed;
mod notifications;
mod ops;
mod page_guards;
mod pay_page;
mod payments;
mod reports;
mod tenants;
mod webhooks;
