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

// Every case of the contract but `same_key_other_request_is_invalid`, which expects a key
// reused with other parameters to be refused as an invalid request ("nothing done"). For
// Stripe that refusal says the key's first request was carried out, and may have moved money:
// the adapter answers an unknown outcome, so that the core looks the payment up instead of
// failing it (`tests/unknown_outcomes.rs`, `a_key_reused_with_other_parameters_...`). The
// list is the contract macro's own, less that case; keep it in step with the macro.
billing_core::gateway_contract!(@cases async { Fixture::start().await };
    cards_attach_list_default_detach,
    unknown_objects_are_not_found,
    charge_succeeds,
    zero_decimal_currency_charge,
    declined_card_fails,
    insufficient_funds_decline,
    off_session_authentication_declines,
    on_session_authentication_asks_the_page,
    on_session_charge_keeps_the_card_when_asked,
    authorize_places_a_hold,
    partial_capture_releases_the_rest,
    over_capture_is_invalid,
    cancel_releases_a_hold,
    refund_in_parts,
    over_refund_is_invalid,
    same_key_same_request_replays,
    find_payment_by_our_id,
    find_refund_by_our_id,
    card_setup_starts,
    card_setup_confirms_on_session,
    card_setup_asks_for_authentication,
    connected_account_scopes_objects,
    payment_record_lists_refunds,
    amounts_follow_the_gateway_rules,
    multicapture_as_the_account_allows,
    timings_and_events_are_readable
);
