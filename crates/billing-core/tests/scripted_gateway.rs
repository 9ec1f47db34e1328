//! The gateway contract suite run against the testkit's scripted gateway, so that the double
//! used by the core's own tests answers as the sandbox and Stripe do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_core::ports::Clock;
use billing_core::testkit::gateway_contract::GatewayFixture;
use billing_core::testkit::{FixedClock, ScriptedGateway};
use chrono::{DateTime, Utc};

struct Scripted {
    gateway: ScriptedGateway,
    clock: FixedClock,
}

impl GatewayFixture for Scripted {
    type Gateway = ScriptedGateway;

    fn gateway(&self) -> &ScriptedGateway {
        &self.gateway
    }

    fn account(&self) -> Option<String> {
        Some("acct_contract".into())
    }

    fn other_account(&self) -> Option<String> {
        Some("acct_other".into())
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

billing_core::gateway_contract!(async {
    Scripted {
        gateway: ScriptedGateway::new(),
        clock: FixedClock::default(),
    }
});
