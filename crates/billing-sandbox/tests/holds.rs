//! Holds: expiry on the core's clock, captures in several parts, releases.

mod common;

use std::sync::Arc;

use billing_core::ports::{CancelRequest, Clock, GatewayError, GatewayStatus, PaymentGateway};
use billing_core::testkit::FixedClock;
use billing_sandbox::{SandboxConfig, SandboxGateway};

use common::{ACCT, acct, capture, pid, refund, request, sandbox, usd, visa_customer};

#[tokio::test]
async fn holds_expire_by_the_core_clock() {
    let (gateway, clock) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(10_000)))
        .await
        .expect("hold");
    assert_eq!(
        held.hold_expires_at,
        Some(clock.now() + chrono::Duration::days(7))
    );
    let early = gateway
        .authorize(&request("pay_2", &customer, &pm, usd(5_000)))
        .await
        .expect("hold");

    // Six days on: still capturable.
    clock.advance(chrono::Duration::days(6));
    gateway
        .capture(&capture(&early.reference, "pay_2c", usd(5_000), true))
        .await
        .expect("captured in time");

    // Past seven days: released by the gateway (expired), and no longer capturable.
    clock.advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let found = gateway
        .find_payment(acct(), &pid("pay_1"))
        .await
        .expect("found")
        .expect("present");
    assert_eq!(found.status, GatewayStatus::Expired);
    assert_eq!(found.amount_capturable, usd(0));
    let late = gateway
        .capture(&capture(&held.reference, "pay_1c", usd(10_000), true))
        .await;
    match late {
        Err(GatewayError::InvalidRequest { message, .. }) => {
            assert!(message.contains("expired"), "{message}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert_eq!(
        gateway
            .payment(ACCT, &early.reference)
            .map(|p| (p.status, p.amount_received)),
        Some((GatewayStatus::Succeeded, usd(5_000))),
        "a captured hold is not touched by expiry"
    );
}

#[tokio::test]
async fn hold_duration_is_configurable() {
    let clock = Arc::new(FixedClock::default());
    let gateway = SandboxGateway::with_config(
        clock.clone(),
        SandboxConfig::default().with_hold_duration(chrono::Duration::hours(1)),
    );
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(1_000)))
        .await
        .expect("hold");
    assert_eq!(
        held.hold_expires_at,
        Some(clock.now() + chrono::Duration::hours(1))
    );
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        gateway.payment(ACCT, &held.reference).map(|p| p.status),
        Some(GatewayStatus::Expired)
    );
}

#[tokio::test]
async fn several_partial_captures_then_a_final_one() {
    let (gateway, clock) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(10_000)))
        .await
        .expect("hold");
    let first = gateway
        .capture(&capture(&held.reference, "cap_1", usd(3_000), false))
        .await
        .expect("first part");
    assert_eq!(first.status, GatewayStatus::RequiresCapture);
    assert_eq!(
        (first.amount_received, first.amount_capturable),
        (usd(3_000), usd(7_000))
    );
    let second = gateway
        .capture(&capture(&held.reference, "cap_2", usd(2_000), false))
        .await
        .expect("second part");
    assert_eq!(
        (second.amount_received, second.amount_capturable),
        (usd(5_000), usd(5_000))
    );
    assert!(matches!(
        gateway
            .capture(&capture(&held.reference, "cap_x", usd(5_001), false))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let last = gateway
        .capture(&capture(&held.reference, "cap_3", usd(1_000), true))
        .await
        .expect("final");
    assert_eq!(last.status, GatewayStatus::Succeeded);
    assert_eq!(
        (last.amount_received, last.amount_capturable),
        (usd(6_000), usd(0)),
        "the final capture released the remaining 4000"
    );
    // Refunds are bounded by the 6000 captured.
    assert!(matches!(
        gateway
            .refund(&refund(&held.reference, "re_1", usd(6_001)))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    gateway
        .refund(&refund(&held.reference, "re_2", usd(6_000)))
        .await
        .expect("refund all captured");

    // A partly captured hold that runs out closes with what was captured.
    let other = gateway
        .authorize(&request("pay_2", &customer, &pm, usd(4_000)))
        .await
        .expect("hold");
    gateway
        .capture(&capture(&other.reference, "cap_4", usd(1_500), false))
        .await
        .expect("part");
    clock.advance(chrono::Duration::days(8));
    let closed = gateway.payment(ACCT, &other.reference).expect("present");
    assert_eq!(closed.status, GatewayStatus::Succeeded);
    assert_eq!(
        (closed.amount_received, closed.amount_capturable),
        (usd(1_500), usd(0))
    );
}

#[tokio::test]
async fn cancel_twice_is_refused_and_a_charge_cannot_be_canceled() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(1_000)))
        .await
        .expect("hold");
    let cancel = |key: &str| CancelRequest {
        account: acct(),
        payment_reference: held.reference.clone(),
        idempotency_key: key.into(),
    };
    gateway.cancel(&cancel("k1")).await.expect("canceled");
    // The same key replays the answer; a new key meets a canceled intent.
    assert_eq!(
        gateway.cancel(&cancel("k1")).await.map(|p| p.status),
        Ok(GatewayStatus::Canceled)
    );
    assert!(matches!(
        gateway.cancel(&cancel("k2")).await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let charged = gateway
        .charge(&request("pay_2", &customer, &pm, usd(1_000)))
        .await
        .expect("charge");
    assert!(matches!(
        gateway
            .cancel(&CancelRequest {
                account: acct(),
                payment_reference: charged.reference,
                idempotency_key: "k3".into(),
            })
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
}
