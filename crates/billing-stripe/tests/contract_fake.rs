//! The shared gateway contract, run on the Stripe adapter against the fake Stripe server,
//! with `require_account` on and a connected account: when each case ends, every request the
//! fake recorded must have carried `Stripe-Account`, and every POST an `Idempotency-Key`.

use std::time::Duration;

use async_trait::async_trait;
use billing_core::testkit::gateway_contract::GatewayFixture;
use billing_stripe::{StripeConfig, StripeGateway};
use billing_stripe_fake::FakeStripe;
use chrono::{DateTime, Utc};

const ACCOUNT: &str = "acct_contract_venue";

struct Fixture {
    fake: FakeStripe,
    gateway: StripeGateway,
}

impl Fixture {
    async fn start() -> Self {
        let fake = FakeStripe::start().await;
        fake.require_account(true);
        let config = StripeConfig::new(fake.secret_key())
            .with_base_url(fake.base_url())
            .with_timeout(Duration::from_secs(5))
            .with_retries(2, Duration::from_millis(10));
        let gateway = StripeGateway::new(config).expect("client");
        Fixture { fake, gateway }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let requests = self.fake.requests();
        assert!(!requests.is_empty());
        for request in &requests {
            assert!(
                request.stripe_account.is_some(),
                "{} {} was sent without Stripe-Account",
                request.method,
                request.path
            );
            if request.method == "POST" {
                assert!(
                    request.idempotency_key.is_some(),
                    "POST {} was sent without an Idempotency-Key",
                    request.path
                );
            }
        }
    }
}

#[async_trait]
impl GatewayFixture for Fixture {
    type Gateway = StripeGateway;

    fn gateway(&self) -> &StripeGateway {
        &self.gateway
    }

    fn account(&self) -> Option<String> {
        Some(ACCOUNT.into())
    }

    fn other_account(&self) -> Option<String> {
        // The fake takes any `acct_...` and keeps accounts apart, as Stripe does.
        Some("acct_contract_other".into())
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.fake.now(), 0).expect("the fake's clock is valid")
    }
}

billing_core::gateway_contract!(async { Fixture::start().await });
