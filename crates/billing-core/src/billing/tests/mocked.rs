//! The gateway's awkward answers, through a mocked `PaymentGateway`.

use super::*;

// --- A mocked gateway -------------------------------------------------------------------------

/// A mocked gateway that takes every amount, keeps idempotency keys a day and whose search
/// lags a minute, as Stripe's; each test says what its calls answer.
pub(super) fn mock() -> MockPaymentGateway {
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_check_amount().returning(|_| Ok(()));
    gateway
        .expect_idempotency_window()
        .returning(|| Duration::hours(24));
    gateway
        .expect_search_lag()
        .returning(|| Duration::minutes(1));
    gateway
}

fn answer(reference: &str, status: GatewayStatus, amount: Money) -> GatewayPayment {
    let zero = Money::zero(amount.currency());
    GatewayPayment {
        reference: reference.into(),
        amount_received: if status == GatewayStatus::Succeeded {
            amount
        } else {
            zero
        },
        amount_capturable: zero,
        status,
        amount,
        hold_expires_at: None,
        payment: None,
        next_action: None,
        multicapture: false,
        card: None,
    }
}

#[tokio::test]
async fn mocked_decline_is_recorded_and_returned_with_its_code() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|request| {
        Ok(answer(
            "pi_1",
            GatewayStatus::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "Your card has insufficient funds.".into(),
            }),
            request.amount,
        ))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let result = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("a decline is an answer");
    let Outcome::Declined(failure) = result.outcome() else {
        panic!("expected a decline, got {result:?}")
    };
    assert_eq!(failure.decline_code.as_deref(), Some("insufficient_funds"));
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(
        (view.summary.status.status, view.summary.status.last_failed),
        (PaymentStatus::NotCharged, true)
    );
    assert_eq!(view.summary.balance.in_flight, usd("0"));
}

#[tokio::test]
async fn mocked_requires_action_off_session_is_a_failed_attempt_that_suggests_a_link() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|request| {
        Ok(answer(
            "pi_1",
            GatewayStatus::RequiresAction,
            request.amount,
        ))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("an answer");
    let Outcome::Declined(failure) = receipt.outcome() else {
        panic!("a failed attempt, got {receipt:?}");
    };
    assert_eq!(failure, &Failure::authentication_required());
    assert!(failure.suggests_payment_link());
    let summary = &receipt.bookings[0];
    assert!(!summary.status.pending, "nothing waits");
    assert!(summary.status.last_failed);
    assert_eq!(summary.balance.in_flight, usd("0"));
    assert_eq!(
        summary.balance.chargeable(),
        usd("100.00"),
        "the balance is free again"
    );
}

#[tokio::test]
async fn mocked_timeout_stays_pending_then_reconciles_to_succeeded() {
    let mut gateway = mock();
    gateway
        .expect_charge()
        .times(1)
        .returning(|_| Err(GatewayError::UnknownOutcome("timed out".into())));
    gateway.expect_find_payment().times(1).returning(|_, _| {
        Ok(Some(answer(
            "pi_1",
            GatewayStatus::Succeeded,
            Money::from_minor(10000, Currency::USD),
        )))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    assert_eq!(pending.payment.state, PaymentState::Pending);
    let settled = w
        .billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(settled.payment.gateway_reference.as_deref(), Some("pi_1"));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
}

#[tokio::test]
async fn mocked_timeout_then_reconciled_to_failed() {
    let mut gateway = mock();
    gateway
        .expect_charge()
        .times(1)
        .returning(|_| Err(GatewayError::UnknownOutcome("connection reset".into())));
    gateway.expect_find_payment().times(1).returning(|_, _| {
        Ok(Some(answer(
            "pi_1",
            GatewayStatus::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("generic_decline".into()),
                message: "Declined.".into(),
            }),
            Money::from_minor(10000, Currency::USD),
        )))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    let settled = w
        .billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("reconciled");
    assert!(matches!(settled.payment.state, PaymentState::Failed(_)));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::NotCharged, usd("100.00"))
    );
}

#[tokio::test]
async fn mocked_retry_after_a_timeout_sends_the_same_idempotency_key() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let mut gateway = mock();
    let seen = keys.clone();
    let mut calls = 0;
    gateway.expect_charge().times(2).returning(move |request| {
        seen.lock()
            .expect("lock")
            .push(request.idempotency_key.clone());
        calls += 1;
        if calls == 1 {
            Err(GatewayError::UnknownOutcome("timed out".into()))
        } else {
            Ok(answer("pi_1", GatewayStatus::Succeeded, request.amount))
        }
    });
    // The gateway has no record of the first attempt: the reconciler sends it again.
    gateway
        .expect_find_payment()
        .times(1)
        .returning(|_, _| Ok(None));
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, keyed("b-1", None, "client-key"))
        .await
        .expect("pending");
    // The client retries under its key after the in-progress window: the core reconciles.
    w.clock.advance(Duration::minutes(2));
    let replay = w
        .billing
        .charge(&w.business, keyed("b-1", None, "client-key"))
        .await
        .expect("replay");
    assert_eq!(replay.payment.id, pending.payment.id);
    assert_eq!(replay.payment.state, PaymentState::Succeeded);
    let keys = keys.lock().expect("lock").clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the same idempotency key on the retry");
    assert_eq!(keys[0], pending.payment.gateway_idempotency_key());
}

#[tokio::test]
async fn mocked_gateway_echoing_another_amount_is_not_trusted() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|_| {
        Ok(answer(
            "pi_1",
            GatewayStatus::Succeeded,
            Money::from_minor(1, Currency::USD),
        ))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    assert_eq!(
        receipt.payment.state,
        PaymentState::Pending,
        "left for the reconciler, never guessed"
    );
}
