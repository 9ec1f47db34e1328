//! The shared gateway contract, run on the sandbox: once on a connected account (with a
//! second account to check isolation) and once on the platform.

use std::sync::Arc;

use async_trait::async_trait;
use billing_core::ports::Clock;
use billing_core::testkit::FixedClock;
use billing_core::testkit::gateway_contract::GatewayFixture;
use billing_sandbox::SandboxGateway;
use chrono::{DateTime, Utc};

struct Fixture {
    gateway: SandboxGateway,
    clock: Arc<FixedClock>,
    account: Option<String>,
}

impl Fixture {
    fn new(account: Option<&str>) -> Self {
        let clock = Arc::new(FixedClock::default());
        Fixture {
            gateway: SandboxGateway::new(clock.clone()),
            clock,
            account: account.map(str::to_owned),
        }
    }
}

#[async_trait]
impl GatewayFixture for Fixture {
    type Gateway = SandboxGateway;

    fn gateway(&self) -> &SandboxGateway {
        &self.gateway
    }

    fn account(&self) -> Option<String> {
        self.account.clone()
    }

    fn other_account(&self) -> Option<String> {
        Some("acct_sandbox_other".into())
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

mod connected {
    use super::Fixture;
    billing_core::gateway_contract!(async { Fixture::new(Some("acct_sandbox_venue")) });
}

mod platform {
    use super::Fixture;
    billing_core::gateway_contract!(async { Fixture::new(None) });
}
