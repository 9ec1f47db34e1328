//! The sandbox as a remote gateway can be: lost answers, connection and server errors, rate
//! limits, latency, Stripe's idempotency keys, and the call log.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use billing_core::ports::{GatewayError, GatewayStatus, PaymentGateway};
use billing_core::testkit::FixedClock;
use billing_sandbox::{Fault, Operation, SandboxConfig, SandboxGateway};

use common::{ACCT, acct, capture, customer, pid, refund, request, sandbox, usd, visa_customer};

#[tokio::test]
async fn a_replay_answers_the_first_result_not_the_current_state() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let hold = request("pay_1", &customer, &pm, usd(2_000));
    let first = gateway.authorize(&hold).await.expect("hold");
    gateway
        .capture(&capture(&first.reference, "cap_1", usd(2_000), true))
        .await
        .expect("captured");
    let replay = gateway.authorize(&hold).await.expect("replay");
    assert_eq!(replay, first, "Stripe replays the saved response");
    assert_eq!(gateway.payment_attempts(ACCT), 1);
    let calls = gateway.calls();
    let last = calls.last().expect("calls");
    assert!(last.replayed);
    assert_eq!(last.idempotency_key.as_deref(), Some("pay_1:attempt"));
    // The same key for another endpoint is another request, refused — as an unknown outcome,
    // since the key's first request was carried out and may have moved money.
    let mut as_charge = hold.clone();
    as_charge.amount = usd(2_000);
    assert!(matches!(
        gateway.charge(&as_charge).await,
        Err(GatewayError::UnknownOutcome(_))
    ));
    // Keys are per account.
    let mut elsewhere = hold.clone();
    elsewhere.account = Some("acct_other".into());
    assert!(matches!(
        gateway.authorize(&elsewhere).await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn timeout_after_charge_does_the_charge_and_loses_the_answer() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    gateway.inject(Fault::TimeoutAfterCharge, 1);
    assert_eq!(gateway.pending_faults(), 1);
    let charge = request("pay_1", &customer, &pm, usd(2_500));
    assert!(matches!(
        gateway.charge(&charge).await,
        Err(GatewayError::UnknownOutcome(_))
    ));
    assert_eq!(gateway.pending_faults(), 0);
    assert_eq!(gateway.payment_attempts(ACCT), 1, "the charge was made");
    let found = gateway
        .find_payment(acct(), &charge.payment)
        .await
        .expect("found")
        .expect("present");
    assert_eq!(found.status, GatewayStatus::Succeeded);
    let again = gateway.charge(&charge).await.expect("replayed");
    assert_eq!(again.reference, found.reference);
    assert_eq!(gateway.payment_attempts(ACCT), 1, "and only once");
}

#[tokio::test]
async fn connection_and_server_errors_do_nothing() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    gateway.inject(Fault::ConnectionError, 1);
    gateway.inject(Fault::ServerError, 1);
    let charge = request("pay_1", &customer, &pm, usd(2_500));
    let refused = gateway.charge(&charge).await;
    assert!(
        matches!(&refused, Err(e @ GatewayError::Unavailable(_)) if e.nothing_done()),
        "{refused:?}"
    );
    let server = gateway.charge(&charge).await;
    assert!(
        matches!(&server, Err(e @ GatewayError::UnknownOutcome(_)) if !e.nothing_done()),
        "a 5xx leaves the caller unsure: {server:?}"
    );
    assert_eq!(gateway.payment_attempts(ACCT), 0, "nothing was done");
    let paid = gateway.charge(&charge).await.expect("through");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    let faults: Vec<_> = gateway.calls().iter().filter_map(|c| c.fault).collect();
    assert_eq!(faults, vec![Fault::ConnectionError, Fault::ServerError]);
}

#[tokio::test]
async fn faults_can_be_aimed_at_one_operation() {
    let (gateway, _) = sandbox();
    gateway.inject_on(Operation::Refund, Fault::ServerError, 2);
    // Customers, cards and charges are not affected.
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let paid = gateway
        .charge(&request("pay_1", &customer, &pm, usd(2_500)))
        .await
        .expect("charge");
    assert_eq!(gateway.pending_faults(), 2);
    for _ in 0..2 {
        assert!(matches!(
            gateway
                .refund(&refund(&paid.reference, "re_1", usd(100)))
                .await,
            Err(GatewayError::UnknownOutcome(_))
        ));
    }
    gateway
        .refund(&refund(&paid.reference, "re_1", usd(100)))
        .await
        .expect("refund after the faults");
}

#[tokio::test]
async fn rate_limit_answers_rate_limited_past_the_rate() {
    let clock = Arc::new(FixedClock::default());
    let rate = NonZeroU32::new(5).expect("non-zero");
    let gateway =
        SandboxGateway::with_config(clock, SandboxConfig::default().with_rate_limit(rate));
    let mut served = 0;
    let mut limited = 0;
    for _ in 0..20 {
        match gateway.list_cards(None, "cus_none").await {
            Err(GatewayError::RateLimited) => limited += 1,
            _ => served += 1,
        }
    }
    // A burst of 20 within far less than a second: the bucket of 5 (maybe one refilled).
    assert!((5..=6).contains(&served), "served {served}");
    assert_eq!(served + limited, 20);
    assert!(
        gateway
            .calls()
            .iter()
            .filter(|c| c.error == Some(GatewayError::RateLimited))
            .count()
            == limited
    );
    // After a pause the bucket has refilled.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(!matches!(
        gateway.list_cards(None, "cus_none").await,
        Err(GatewayError::RateLimited)
    ));
}

#[tokio::test]
async fn latency_delays_every_call() {
    let clock = Arc::new(FixedClock::default());
    let gateway = SandboxGateway::with_config(
        clock,
        SandboxConfig::default().with_latency(Duration::from_millis(40)),
    );
    let started = Instant::now();
    let customer = customer(&gateway, None, "c1").await;
    gateway.list_cards(None, &customer).await.expect("list");
    assert!(started.elapsed() >= Duration::from_millis(80));
}

#[tokio::test]
async fn idempotency_keys_are_kept_24_hours() {
    let (gateway, clock) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let charge = request("pay_1", &customer, &pm, usd(1_000));
    let first = gateway.charge(&charge).await.expect("charged");
    clock.advance(chrono::Duration::hours(23));
    assert_eq!(
        gateway.charge(&charge).await.map(|p| p.reference),
        Ok(first.reference.clone())
    );
    clock.advance(chrono::Duration::hours(1));
    let later = gateway.charge(&charge).await.expect("charged again");
    assert_ne!(
        later.reference, first.reference,
        "an expired key is a new key"
    );
    assert_eq!(gateway.payment_attempts(ACCT), 2);
}

#[tokio::test]
async fn the_call_log_is_bounded() {
    let clock = Arc::new(FixedClock::default());
    let gateway =
        SandboxGateway::with_config(clock, SandboxConfig::default().with_call_log_limit(3));
    for _ in 0..5 {
        let _ = gateway.list_cards(None, "cus_none").await;
    }
    let _ = gateway.find_payment(None, &pid("pay_1")).await;
    let calls = gateway.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[2].operation, Operation::FindPayment);
    assert!(matches!(calls[0].error, Some(GatewayError::NotFound(_))));
}
