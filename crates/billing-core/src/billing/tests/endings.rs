//! Staff ending payments (cancel one waiting for the customer, mark failed one the gateway
//! never had), cards and holds that a payment in flight still needs, holds in parts, and
//! amounts the gateway can never charge.

use super::mocked::mock;
use super::*;
use crate::ids::PaymentId;
use crate::payment::{PaymentEvent, fold};
use crate::ports::{CancelRequest, LedgerRead, LedgerWrite};

fn lost() -> Result<GatewayPayment, GatewayError> {
    Err(GatewayError::UnknownOutcome("timed out".into()))
}

fn at_gateway(status: GatewayStatus, amount: Money) -> GatewayPayment {
    GatewayPayment {
        reference: "pi_1".into(),
        amount_received: if status == GatewayStatus::Succeeded {
            amount
        } else {
            Money::zero(amount.currency())
        },
        amount_capturable: Money::zero(amount.currency()),
        status,
        amount,
        hold_expires_at: None,
        payment: None,
        next_action: None,
        multicapture: false,
        card: None,
    }
}

/// Moves a payment to `RequiresAction` as builds before this one recorded an off-session
/// charge whose card asked for authentication.
async fn as_recorded_before(w: &World, payment: &PaymentId) {
    let ids = vec![booking_id("b-1")];
    let read = w
        .store
        .read(&w.business.id, &LedgerRead::bookings(&ids))
        .await
        .expect("read");
    let ledger = &read.ledgers[0];
    let [record] = fold(&ledger.entries)
        .expect("fold")
        .into_iter()
        .filter(|p| &p.id == payment)
        .collect::<Vec<_>>()
        .try_into()
        .expect("the payment");
    let entry = record
        .move_entry(
            PaymentEvent::ActionRequired,
            record.created_at,
            Some("pi_1".into()),
            None,
        )
        .expect("then allowed");
    let write = LedgerWrite {
        read: vec![(booking_id("b-1"), ledger.version)],
        entries: vec![entry],
        ..LedgerWrite::default()
    };
    w.store
        .commit(&w.business.id, &write)
        .await
        .expect("written");
}

async fn legacy_waiting_charge(gateway: MockPaymentGateway) -> (World, PaymentId) {
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    as_recorded_before(&w, &pending.payment.id).await;
    let view = w
        .billing
        .payment(&w.business, &pending.payment.id)
        .await
        .expect("view");
    assert_eq!(view.payment.state, PaymentState::RequiresAction);
    (w, pending.payment.id)
}

#[tokio::test]
async fn an_old_off_session_charge_waiting_for_authentication_is_ended_by_the_reconciler() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|_| lost());
    gateway.expect_find_payment().times(1).returning(|_, _| {
        Ok(Some(at_gateway(
            GatewayStatus::RequiresAction,
            Money::from_minor(10_000, Currency::USD),
        )))
    });
    let (w, payment) = legacy_waiting_charge(gateway).await;
    let ended = w
        .billing
        .reconcile(&w.business, &payment)
        .await
        .expect("reconciled");
    assert_eq!(
        ended.payment.state,
        PaymentState::Failed(Failure::authentication_required())
    );
    assert_eq!(ended.bookings[0].balance.chargeable(), usd("100.00"));
}

#[tokio::test]
async fn staff_cancel_a_payment_waiting_for_authentication() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|_| lost());
    gateway
        .expect_cancel()
        .times(1)
        .withf(|request: &CancelRequest| {
            request.payment_reference == "pi_1" && request.idempotency_key.ends_with(":cancel")
        })
        .returning(|_| {
            Ok(at_gateway(
                GatewayStatus::Canceled,
                Money::from_minor(10_000, Currency::USD),
            ))
        });
    let (w, payment) = legacy_waiting_charge(gateway).await;
    let canceled = w
        .billing
        .cancel_payment(&w.business, &payment)
        .await
        .expect("canceled");
    assert_eq!(canceled.payment.state, PaymentState::Canceled);
    assert!(!canceled.bookings[0].status.pending);
    assert_eq!(canceled.bookings[0].balance.chargeable(), usd("100.00"));
    let again = w.billing.cancel_payment(&w.business, &payment).await;
    assert!(
        matches!(
            again,
            Err(BillingError::PaymentNotCancelable {
                state: "canceled",
                ..
            })
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn cancel_payment_releases_an_open_hold_and_refuses_a_settled_charge() {
    let (w, gateway) = scripted(&[("b-1", "100.00"), ("b-2", "50.00")]).await;
    let charged = w
        .billing
        .charge(&w.business, charge("b-2", None))
        .await
        .expect("charged");
    let refused = w
        .billing
        .cancel_payment(&w.business, &charged.payment.id)
        .await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.code()),
        Err("payment_not_cancelable")
    );
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
    let released = w
        .billing
        .cancel_payment(&w.business, &hold.payment.id)
        .await
        .expect("released");
    assert_eq!(released.payment.state, PaymentState::Canceled);
    assert_eq!(gateway.count("cancel"), 1);
}

#[tokio::test]
async fn staff_mark_failed_only_what_the_gateway_confirms_it_never_had() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|_| lost());
    gateway
        .expect_find_payment()
        .times(1)
        .returning(|_, _| Ok(None));
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    let id = &pending.payment.id;
    let early = w.billing.mark_failed(&w.business, id).await;
    let Err(BillingError::TooRecentToJudge { retry_at, .. }) = early else {
        panic!("too recent: {early:?}");
    };
    assert_eq!(retry_at, pending.payment.created_at + Duration::minutes(1));
    w.clock.advance(Duration::minutes(2));
    let ended = w.billing.mark_failed(&w.business, id).await.expect("ended");
    assert_eq!(
        ended.payment.state,
        PaymentState::Failed(Failure::marked_failed())
    );
    assert_eq!(ended.bookings[0].balance.chargeable(), usd("100.00"));
    let twice = w.billing.mark_failed(&w.business, id).await;
    assert_eq!(
        twice.map(|_| ()).map_err(|e| e.code()),
        Err("payment_not_pending")
    );
}

#[tokio::test]
async fn a_payment_the_gateway_has_is_settled_instead_of_marked_failed() {
    let mut gateway = mock();
    gateway.expect_charge().times(1).returning(|_| lost());
    gateway.expect_find_payment().times(1).returning(|_, _| {
        Ok(Some(at_gateway(
            GatewayStatus::Succeeded,
            Money::from_minor(10_000, Currency::USD),
        )))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    w.clock.advance(Duration::minutes(2));
    let found = w
        .billing
        .mark_failed(&w.business, &pending.payment.id)
        .await;
    let Err(BillingError::PaymentExistsAtGateway(receipt)) = found else {
        panic!("expected the payment found: {found:?}");
    };
    assert_eq!(receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
}

#[tokio::test]
async fn a_card_with_a_charge_in_flight_cannot_be_removed() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.script(Scripted::LostRequest);
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    let customer = CustomerId::new("cust-1").expect("id");
    let refused = w
        .billing
        .remove_card(&w.business, &customer, "pm_card_visa")
        .await;
    assert_eq!(
        refused,
        Err(BillingError::CardInUse {
            payment_method: "pm_card_visa".into(),
            payment: pending.payment.id.clone(),
        })
    );
    w.billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("settled by a resend");
    w.billing
        .remove_card(&w.business, &customer, "pm_card_visa")
        .await
        .expect("removed once nothing needs it");
}

#[tokio::test]
async fn a_hold_with_a_capture_in_flight_is_not_released() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
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
    gateway.script(Scripted::LostRequest);
    let capture = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: Some(usd("30.00").into()),
                final_capture: false,
                idempotency_key: None,
            },
        )
        .await
        .expect("pending");
    assert_eq!(capture.payment.state, PaymentState::Pending);
    for refused in [
        w.billing.cancel_hold(&w.business, &hold.payment.id).await,
        w.billing
            .cancel_payment(&w.business, &hold.payment.id)
            .await,
    ] {
        assert_eq!(
            refused,
            Err(BillingError::CaptureInFlight(hold.payment.id.clone()))
        );
    }
    assert_eq!(gateway.count("cancel"), 0);
    w.billing
        .reconcile(&w.business, &capture.payment.id)
        .await
        .expect("captured by a resend");
    let released = w
        .billing
        .cancel_hold(&w.business, &hold.payment.id)
        .await
        .expect("released");
    assert_eq!(released.payment.state, PaymentState::Captured);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("70.00"))
    );
}

#[tokio::test]
async fn a_hold_without_multicapture_is_only_captured_as_final() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.set_multicapture(None, false);
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
    assert!(!hold.payment.multicapture);
    let capture = |final_capture| CaptureHold {
        authorization: hold.payment.id.clone(),
        amount: Some(usd("30.00").into()),
        final_capture,
        idempotency_key: None,
    };
    let refused = w.billing.capture(&w.business, capture(false)).await;
    assert_eq!(
        refused,
        Err(BillingError::MulticaptureUnavailable(
            hold.payment.id.clone()
        ))
    );
    assert_eq!(gateway.count("capture"), 0, "nothing sent");
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(view.payments.len(), 1, "nothing written");
    let captured = w
        .billing
        .capture(&w.business, capture(true))
        .await
        .expect("final");
    assert_eq!(captured.payment.state, PaymentState::Succeeded);
}

#[tokio::test]
async fn amounts_the_gateway_can_never_charge_open_nothing() {
    let (w, gateway) = scripted(&[("b-1", "100.00"), ("b-2", "0.30"), ("b-3", "20.00")]).await;
    let small = w
        .billing
        .charge(&w.business, charge("b-1", Some("0.49")))
        .await;
    let Err(BillingError::AmountNotChargeable(refused)) = &small else {
        panic!("refused: {small:?}");
    };
    assert_eq!(refused.amount, usd("0.49"));
    assert_eq!(
        small.as_ref().map_err(BillingError::code).err(),
        Some("amount_not_chargeable")
    );
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-2"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await;
    assert!(
        matches!(hold, Err(BillingError::AmountNotChargeable(_))),
        "{hold:?}"
    );
    let bulk = w
        .billing
        .charge_many(
            &w.business,
            BulkCharge {
                bookings: vec![booking_id("b-2"), booking_id("b-3")],
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("bulk");
    assert!(matches!(
        bulk[0].result,
        Err(BillingError::AmountNotChargeable(_))
    ));
    assert!(bulk[1].result.is_ok());
    assert_eq!(gateway.count("charge"), 1, "only the chargeable booking");
    assert_eq!(gateway.count("authorize"), 0);
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert!(view.payments.is_empty(), "nothing written");
    // Cash is not the gateway's business.
    w.billing
        .record_collection(
            &w.business,
            RecordCollection {
                booking: booking_id("b-2"),
                amount: None,
                method: CollectionMethod::Cash,
                reference: None,
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await
        .expect("collected");
}
