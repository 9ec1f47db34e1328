//! Every payment ends: the reconciler looks up before it sends again, never sends after the
//! gateway may have forgotten the key, ends what the gateway refuses outright, and a storage
//! failure after a gateway call says so. Precise answer sequences through a mocked gateway.

use mockall::Sequence;

use super::mocked::mock;
use super::*;
use crate::ids::PaymentId;
use crate::ports::{GatewayRecord, GatewayRefund, RefundStatus};

fn usd_minor(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn lost() -> Result<GatewayPayment, GatewayError> {
    Err(GatewayError::UnknownOutcome("timed out".into()))
}

fn paid(amount: Money) -> GatewayPayment {
    GatewayPayment {
        reference: "pi_1".into(),
        status: GatewayStatus::Succeeded,
        amount,
        amount_received: amount,
        amount_capturable: Money::zero(amount.currency()),
        hold_expires_at: None,
        payment: None,
        next_action: None,
        multicapture: false,
        card: None,
    }
}

/// A hold of `amount` that can be captured in parts, with `received` captured and `status`.
fn held(amount: Money, received: Money, status: GatewayStatus) -> GatewayPayment {
    let capturable = if status == GatewayStatus::RequiresCapture {
        amount.checked_sub(&received).expect("same currency")
    } else {
        Money::zero(amount.currency())
    };
    GatewayPayment {
        status,
        amount_received: received,
        amount_capturable: capturable,
        multicapture: true,
        ..paid(amount)
    }
}

fn record(payment: GatewayPayment) -> GatewayRecord {
    GatewayRecord {
        payment,
        refunds: Vec::new(),
        disputes: Vec::new(),
    }
}

async fn pending_charge(w: &World) -> Receipt {
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    assert_eq!(receipt.payment.state, PaymentState::Pending);
    receipt
}

#[tokio::test]
async fn a_lost_charge_is_looked_up_before_it_is_sent_again_under_the_same_key() {
    let mut gateway = mock();
    let mut order = Sequence::new();
    gateway
        .expect_charge()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| lost());
    gateway
        .expect_find_payment()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(None));
    gateway
        .expect_charge()
        .times(1)
        .in_sequence(&mut order)
        .returning(|request| Ok(paid(request.amount)));
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = pending_charge(&w).await;
    let settled = w
        .billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
}

#[tokio::test]
async fn a_charge_the_gateway_may_have_forgotten_is_never_sent_again() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|_| lost());
    gateway.expect_find_payment().returning(|_, _| Ok(None));
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = pending_charge(&w).await;
    // A day's window less an hour's margin.
    w.clock.advance(Duration::hours(23));
    let ended = w
        .billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(
        ended.payment.state,
        PaymentState::Failed(Failure::not_at_gateway())
    );
    assert_eq!(ended.bookings[0].balance.chargeable(), usd("100.00"));
}

#[tokio::test]
async fn a_resend_refused_outright_ends_the_payment_with_the_refusal() {
    for (refusal, code) in [
        (
            GatewayError::InvalidRequest {
                message: "No such PaymentMethod: 'pm_gone'".into(),
                request_id: None,
            },
            "gateway_invalid_request",
        ),
        (
            GatewayError::NotFound("No such customer".into()),
            "gateway_not_found",
        ),
    ] {
        let mut gateway = mock();
        let mut calls = 0;
        gateway.expect_charge().times(2).returning(move |_| {
            calls += 1;
            if calls == 1 {
                lost()
            } else {
                Err(refusal.clone())
            }
        });
        gateway.expect_find_payment().returning(|_, _| Ok(None));
        let w = world(gateway, &[("b-1", "100.00")]).await;
        let pending = pending_charge(&w).await;
        let ended = w
            .billing
            .reconcile(&w.business, &pending.payment.id)
            .await
            .expect("reconciled");
        let PaymentState::Failed(failure) = &ended.payment.state else {
            panic!("ended failed: {ended:?}");
        };
        assert_eq!(failure.code, code);
    }
}

#[tokio::test]
async fn a_resend_that_did_nothing_for_now_leaves_the_payment_pending() {
    let mut gateway = mock();
    let mut calls = 0;
    gateway.expect_charge().times(2).returning(move |_| {
        calls += 1;
        if calls == 1 {
            lost()
        } else {
            Err(GatewayError::RateLimited)
        }
    });
    gateway.expect_find_payment().returning(|_, _| Ok(None));
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = pending_charge(&w).await;
    let result = w.billing.reconcile(&w.business, &pending.payment.id).await;
    assert!(
        matches!(
            result,
            Err(BillingError::Gateway {
                error: GatewayError::RateLimited,
                ..
            })
        ),
        "{result:?}"
    );
    let view = w
        .billing
        .payment(&w.business, &pending.payment.id)
        .await
        .expect("payment");
    assert_eq!(view.payment.state, PaymentState::Pending);
}

/// A hold of 100.00 placed through the mock, and a capture of 60.00 whose answer was lost.
async fn lost_capture(gateway: MockPaymentGateway) -> (World, PaymentId, Receipt) {
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-1"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    assert_eq!(hold.payment.state, PaymentState::Authorized);
    assert!(hold.payment.multicapture);
    let capture = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: Some(usd("60.00").into()),
                final_capture: false,
                idempotency_key: None,
            },
        )
        .await
        .expect("pending");
    assert_eq!(capture.payment.state, PaymentState::Pending);
    (w, hold.payment.id, capture)
}

fn holding(gateway: &mut MockPaymentGateway) {
    gateway.expect_authorize().times(1).returning(|request| {
        Ok(held(
            request.amount,
            Money::zero(request.amount.currency()),
            GatewayStatus::RequiresCapture,
        ))
    });
}

#[tokio::test]
async fn a_capture_the_hold_received_is_settled_without_being_sent_again() {
    let mut gateway = mock();
    holding(&mut gateway);
    gateway.expect_capture().times(1).returning(|_| lost());
    gateway.expect_payment_record().times(1).returning(|_, _| {
        Ok(record(held(
            usd_minor(10_000),
            usd_minor(6_000),
            GatewayStatus::RequiresCapture,
        )))
    });
    let (w, hold, capture) = lost_capture(gateway).await;
    let settled = w
        .billing
        .reconcile(&w.business, &capture.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    let hold = w.billing.payment(&w.business, &hold).await.expect("hold");
    assert_eq!(hold.payment.state, PaymentState::PartiallyCaptured);
    assert_eq!(hold.capturable, usd("40.00"));
}

#[tokio::test]
async fn a_capture_the_hold_never_received_is_sent_again_while_it_can_be() {
    let mut gateway = mock();
    holding(&mut gateway);
    let mut calls = 0;
    gateway.expect_capture().times(2).returning(move |request| {
        calls += 1;
        if calls == 1 {
            return lost();
        }
        Ok(held(
            usd_minor(10_000),
            request.amount,
            GatewayStatus::RequiresCapture,
        ))
    });
    gateway.expect_payment_record().times(1).returning(|_, _| {
        Ok(record(held(
            usd_minor(10_000),
            usd_minor(0),
            GatewayStatus::RequiresCapture,
        )))
    });
    let (w, _, capture) = lost_capture(gateway).await;
    let settled = w
        .billing
        .reconcile(&w.business, &capture.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
}

#[tokio::test]
async fn a_capture_of_a_hold_released_meanwhile_fails_and_the_hold_follows() {
    let mut gateway = mock();
    holding(&mut gateway);
    gateway.expect_capture().times(1).returning(|_| lost());
    gateway.expect_payment_record().times(1).returning(|_, _| {
        Ok(record(held(
            usd_minor(10_000),
            usd_minor(0),
            GatewayStatus::Canceled,
        )))
    });
    let (w, hold, capture) = lost_capture(gateway).await;
    let ended = w
        .billing
        .reconcile(&w.business, &capture.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(
        ended.payment.state,
        PaymentState::Failed(Failure::hold_canceled())
    );
    let hold = w.billing.payment(&w.business, &hold).await.expect("hold");
    assert_eq!(hold.payment.state, PaymentState::Canceled);
}

#[tokio::test]
async fn a_capture_the_hold_record_cannot_explain_stays_pending() {
    let mut gateway = mock();
    holding(&mut gateway);
    gateway.expect_capture().times(1).returning(|_| lost());
    gateway.expect_payment_record().times(1).returning(|_, _| {
        Ok(record(held(
            usd_minor(10_000),
            usd_minor(2_500),
            GatewayStatus::RequiresCapture,
        )))
    });
    let (w, _, capture) = lost_capture(gateway).await;
    let result = w.billing.reconcile(&w.business, &capture.payment.id).await;
    assert!(
        matches!(
            result,
            Err(BillingError::Gateway {
                error: GatewayError::UnknownOutcome(_),
                ..
            })
        ),
        "never guessed: {result:?}"
    );
    let view = w
        .billing
        .payment(&w.business, &capture.payment.id)
        .await
        .expect("capture");
    assert_eq!(view.payment.state, PaymentState::Pending);
}

#[tokio::test]
async fn a_lost_refund_is_found_before_anything_is_sent_again() {
    let mut gateway = mock();
    gateway
        .expect_charge()
        .times(1)
        .returning(|request| Ok(paid(request.amount)));
    gateway
        .expect_refund()
        .times(1)
        .returning(|_| Err(GatewayError::UnknownOutcome("reset".into())));
    gateway.expect_find_refund().times(1).returning(|_, _, id| {
        Ok(Some(GatewayRefund {
            reference: "re_1".into(),
            status: RefundStatus::Succeeded,
            amount: usd_minor(2_500),
            refund: Some(id.clone()),
        }))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let charged = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charged");
    let refund = w
        .billing
        .refund(
            &w.business,
            RefundPayment {
                payment: charged.payment.id,
                amount: Some(usd("25.00").into()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .expect("pending");
    assert_eq!(refund.payment.state, PaymentState::Pending);
    let settled = w
        .billing
        .reconcile(&w.business, &refund.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(settled.payment.gateway_reference.as_deref(), Some("re_1"));
}

#[tokio::test]
async fn a_storage_failure_after_the_gateway_call_says_the_outcome_was_not_recorded() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    // Before any gateway call: nothing was written, nothing sent.
    w.store.fail_commits(0, 1);
    let refused = w.billing.charge(&w.business, charge("b-1", None)).await;
    assert!(
        matches!(refused, Err(BillingError::Ledger(_))),
        "{refused:?}"
    );
    assert_eq!(gateway.count("charge"), 0);
    // The payment opens, the gateway charges, recording its answer fails.
    w.store.fail_commits(1, 1);
    let unrecorded = w.billing.charge(&w.business, charge("b-1", None)).await;
    let Err(error) = unrecorded else {
        panic!("expected a failure, got {unrecorded:?}");
    };
    assert_eq!(error.code(), "outcome_not_recorded");
    assert!(error.to_string().contains("reconciler"), "{error}");
    let BillingError::OutcomeNotRecorded { payment, .. } = error else {
        panic!("expected outcome_not_recorded");
    };
    assert_eq!(gateway.count("charge"), 1);
    let view = w
        .billing
        .payment(&w.business, &payment)
        .await
        .expect("view");
    assert_eq!(
        view.payment.state,
        PaymentState::Pending,
        "left for the reconciler"
    );
    let settled = w
        .billing
        .reconcile(&w.business, &payment)
        .await
        .expect("settled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(gateway.payments_made(), 1, "charged once");
}
