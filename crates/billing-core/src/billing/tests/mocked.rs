//! The gateway's awkward answers, through a mocked `PaymentGateway`.

use super::*;

// --- A mocked gateway -------------------------------------------------------------------------

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
    }
}

#[tokio::test]
async fn mocked_decline_is_recorded_and_returned_with_its_code() {
    let mut gateway = MockPaymentGateway::new();
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
async fn mocked_requires_action_leaves_the_charge_open() {
    let mut gateway = MockPaymentGateway::new();
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
        .expect("open");
    assert_eq!(receipt.payment.state, PaymentState::RequiresAction);
    assert!(receipt.bookings[0].status.pending);
    assert_eq!(receipt.bookings[0].balance.in_flight, usd("100.00"));
}

#[tokio::test]
async fn mocked_timeout_stays_pending_then_reconciles_to_succeeded() {
    let mut gateway = MockPaymentGateway::new();
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
    let mut gateway = MockPaymentGateway::new();
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
    let mut gateway = MockPaymentGateway::new();
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
    let mut gateway = MockPaymentGateway::new();
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
