//! Drives the fake with async-stripe itself: every response must parse as async-stripe
//! parses the real API's.
//!
//! One module per area of the API; the helpers they share are here.

mod amounts;
mod customers;
mod dashboard_events;
mod disputes;
mod holds_refunds;
mod multicapture;
mod payments;
mod requests;
mod three_d_secure;
mod webhooks;

use billing_stripe_fake::FakeStripe;
use stripe::{AccountId, Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_shared::ApiErrors;
use stripe_types::Currency;

fn client(fake: &FakeStripe) -> Client {
    ClientBuilder::new(fake.secret_key())
        .url(fake.base_url())
        .build()
        .expect("client")
}

fn connect_client(fake: &FakeStripe, account: &str) -> Client {
    ClientBuilder::new(fake.secret_key())
        .url(fake.base_url())
        .account_id(AccountId::from(account))
        .build()
        .expect("client")
}

/// The Stripe error and HTTP status of a failed call.
fn stripe_error<T: std::fmt::Debug>(result: Result<T, StripeError>) -> (ApiErrors, u16) {
    match result {
        Err(StripeError::Stripe(err, status)) => (*err, status),
        other => panic!("expected a Stripe error, got {other:?}"),
    }
}

fn idempotent(key: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(key).expect("valid key"))
}

async fn new_customer(client: &Client) -> String {
    CreateCustomer::new()
        .email("guest@example.com")
        .send(client)
        .await
        .expect("customer")
        .id
        .to_string()
}

/// An off-session charge of a saved card, the adapter's main call.
fn off_session_payment(amount: i64, customer: &str, pm: &str) -> CreatePaymentIntent {
    CreatePaymentIntent::new(amount, Currency::EUR)
        .customer(customer)
        .payment_method(pm)
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
}

/// A fresh fake, a client of the platform and a customer: where most cases start. Keep the
/// fake bound (`_fake`, not `_`): dropping it stops the server.
async fn fake_with_customer() -> (FakeStripe, Client, String) {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    (fake, client, customer)
}
