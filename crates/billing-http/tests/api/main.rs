//! The API and the hosted pages through the router, in process (see `common`), one module per
//! resource.
#![allow(clippy::unwrap_used)] // tests: a failed set-up should panic loudly

mod common;
mod gateways;

mod automation;
mod bookings;
mod bulk;
mod card_page;
mod card_page_authentication;
mod charges;
mod checkouts;
mod connect;
mod customers;
mod endings;
mod idempotency;
mod links;
mod malformed;
mod no_show;
mod notifications;
mod ops;
mod page_guards;
mod pay_page;
mod pay_page_authentication;
mod payments;
mod portal;
mod problems;
mod reports;
mod sync;
mod tenants;
mod texts;
mod tips;
mod webhooks;
