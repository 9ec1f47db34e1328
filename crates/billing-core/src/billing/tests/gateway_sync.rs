//! Changes made at the gateway reach the ledger: dashboard captures, releases and refunds,
//! disputes, holds that ran out; by syncing a payment, by its events, and by the sweep.

use super::*;
use crate::payment::Origin;
use crate::ports::{EventSubject, GatewayEvent};

fn event(id: &str, subject: EventSubject) -> GatewayEvent {
    GatewayEvent {
        id: id.into(),
        event_type: "charge.dispute.created".into(),
        account: None,
        business: None,
        subject,
    }
}

impl World {
    async fn payments(&self, booking: &str) -> Vec<crate::payment::Payment> {
        self.billing
            .booking(&self.business, &booking_id(booking))
            .await
            .expect("booking")
            .payments
    }

    async fn placed(&self, booking: &str) -> Receipt {
        self.billing
            .authorize(&self.business, hold(booking, None))
            .await
            .expect("hold")
    }
}

fn reference(receipt: &Receipt) -> String {
    receipt
        .payment
        .gateway_reference
        .clone()
        .expect("a reference")
}

#[tokio::test]
async fn a_capture_made_in_the_dashboard_is_recorded_once() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00")]).await;
    let held = w.placed("b-1").await;
    gateway
        .dashboard_capture(None, &reference(&held), usd("60.00"), false)
        .expect("captured there");
    let synced = w
        .billing
        .sync_payment(&w.business, &held.payment.id)
        .await
        .expect("synced");
    assert_eq!(synced.payment.state, PaymentState::PartiallyCaptured);
    let payments = w.payments("b-1").await;
    let external: Vec<_> = payments
        .iter()
        .filter(|p| p.origin == Origin::Gateway)
        .collect();
    assert_eq!(external.len(), 1);
    assert_eq!(external[0].amount, usd("60.00"));
    assert_eq!(external[0].state, PaymentState::Succeeded);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("40.00"))
    );
    // Syncing again, or the rest captured by staff, records nothing twice.
    w.billing
        .sync_payment(&w.business, &held.payment.id)
        .await
        .expect("synced again");
    assert_eq!(w.payments("b-1").await.len(), payments.len());
    let rest = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: held.payment.id.clone(),
                amount: None,
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await
        .expect("the rest");
    assert_eq!(rest.payment.amount, usd("40.00"));
    w.billing
        .sync_payment(&w.business, &held.payment.id)
        .await
        .expect("synced");
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    assert_eq!(gateway.total_received(Currency::USD), usd("100.00"));
}

#[tokio::test]
async fn holds_released_in_the_dashboard_or_run_out_are_recorded() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00"), ("b-2", "80.00")]).await;
    let released = w.placed("b-1").await;
    gateway
        .dashboard_cancel(None, &reference(&released))
        .expect("released there");
    let synced = w
        .billing
        .sync_payment(&w.business, &released.payment.id)
        .await
        .expect("synced");
    assert_eq!(synced.payment.state, PaymentState::Canceled);
    let expiring = w.placed("b-2").await;
    w.clock.advance(Duration::days(7));
    let report = w.billing.sweep(&w.business).await.expect("swept");
    assert_eq!(report.holds.len(), 1, "{report:?}");
    let (id, result) = &report.holds[0];
    assert_eq!(id, &expiring.payment.id);
    assert_eq!(
        result.as_ref().map(|r| r.payment.state.clone()),
        Ok(PaymentState::Expired)
    );
    assert_eq!(
        w.status("b-2").await,
        (PaymentStatus::NotCharged, usd("80.00"))
    );
    // Nothing holds any more: the next sweep finds no hold to check.
    let again = w.billing.sweep(&w.business).await.expect("swept");
    assert!(again.holds.is_empty(), "{again:?}");
}

#[tokio::test]
async fn a_refund_made_in_the_dashboard_is_recorded_and_bounds_what_staff_refund() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00")]).await;
    let charged = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charged");
    let made = gateway
        .dashboard_refund(None, &reference(&charged), usd("30.00"))
        .expect("refunded there");
    let about = event("evt_r", EventSubject::RefundsOf(charged.payment.id.clone()));
    assert_eq!(
        w.billing.handle_event(&about).await,
        Ok(EventHandled::Reconciled)
    );
    let view = w
        .billing
        .payment(&w.business, &charged.payment.id)
        .await
        .expect("view");
    assert_eq!(view.refundable, usd("70.00"));
    let [refund] = view.children.as_slice() else {
        panic!("one refund: {view:?}");
    };
    assert_eq!(refund.origin, Origin::Gateway);
    assert_eq!(
        refund.gateway_reference.as_deref(),
        Some(made.reference.as_str())
    );
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("30.00"))
    );
    let too_much = w
        .billing
        .refund(
            &w.business,
            RefundPayment {
                payment: charged.payment.id.clone(),
                amount: Some(usd("70.01").into()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await;
    assert_eq!(
        too_much.map(|_| ()).map_err(|e| e.code()),
        Err("refund_exceeds_refundable")
    );
}

#[tokio::test]
async fn a_refund_of_a_hold_made_in_the_dashboard_falls_on_its_captures_newest_first() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00")]).await;
    let held = w.placed("b-1").await;
    for (amount, last) in [("30.00", false), ("50.00", true)] {
        w.billing
            .capture(
                &w.business,
                CaptureHold {
                    authorization: held.payment.id.clone(),
                    amount: Some(usd(amount).into()),
                    final_capture: last,
                    idempotency_key: None,
                },
            )
            .await
            .expect("captured");
    }
    gateway
        .dashboard_refund(None, &reference(&held), usd("60.00"))
        .expect("refunded there");
    w.billing
        .sync_payment(&w.business, &held.payment.id)
        .await
        .expect("synced");
    let payments = w.payments("b-1").await;
    let refunded = |capture: &str| -> Money {
        let capture = payments
            .iter()
            .find(|p| {
                p.kind.name() == crate::payment::KindName::Capture && p.amount == usd(capture)
            })
            .expect("capture");
        payments
            .iter()
            .filter(|p| matches!(&p.kind, PaymentKind::Refund { of, .. } if of == &capture.id))
            .map(|p| p.amount)
            .fold(usd("0"), |t, m| t.checked_add(&m).expect("usd"))
    };
    assert_eq!(refunded("50.00"), usd("50.00"), "the newest first, in full");
    assert_eq!(refunded("30.00"), usd("10.00"), "then the older one");
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("80.00"))
    );
}

#[tokio::test]
async fn a_dispute_shows_on_its_booking_and_counts_once_lost() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00")]).await;
    let charged = w
        .billing
        .charge(&w.business, charge("b-1", Some("60.00")))
        .await
        .expect("charged");
    let dispute = gateway
        .open_dispute(None, &reference(&charged), usd("40.00"), "fraudulent")
        .expect("disputed");
    let about = event("evt_d1", EventSubject::GatewayPayment(reference(&charged)));
    assert_eq!(
        w.billing.handle_event(&about).await,
        Ok(EventHandled::Reconciled)
    );
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    let summary = &view.summary;
    assert!(summary.status.disputed);
    assert!(!summary.status.pending, "an open dispute blocks nothing");
    assert_eq!(summary.balance.paid, usd("60.00"), "not lost yet");
    let open = w
        .billing
        .payment(&w.business, &charged.payment.id)
        .await
        .expect("view");
    assert_eq!(
        open.refundable,
        usd("20.00"),
        "the disputed part cannot be refunded"
    );
    // The rest of the booking can still be charged while the dispute is open.
    w.billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charged the rest");
    gateway
        .close_dispute(None, &dispute.reference, false)
        .expect("lost");
    let closed = event("evt_d2", EventSubject::GatewayPayment(reference(&charged)));
    w.billing.handle_event(&closed).await.expect("handled");
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert!(view.summary.status.disputed);
    assert_eq!(view.summary.balance.paid, usd("60.00"));
    assert_eq!(view.summary.balance.refunded, usd("40.00"));
    assert_eq!(view.summary.balance.balance_due, usd("40.00"));
    let unknown = event("evt_d3", EventSubject::GatewayPayment("pi_unknown".into()));
    assert_eq!(
        w.billing.handle_event(&unknown).await,
        Ok(EventHandled::Ignored)
    );
}

#[tokio::test]
async fn a_dispute_won_gives_everything_back() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00")]).await;
    let charged = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charged");
    let dispute = gateway
        .open_dispute(
            None,
            &reference(&charged),
            usd("100.00"),
            "product_not_received",
        )
        .expect("disputed");
    gateway
        .close_dispute(None, &dispute.reference, true)
        .expect("won");
    let synced = w
        .billing
        .sync_payment(&w.business, &charged.payment.id)
        .await
        .expect("synced");
    assert!(!synced.bookings[0].status.disputed);
    assert_eq!(synced.bookings[0].balance.paid, usd("100.00"));
    let view = w
        .billing
        .payment(&w.business, &charged.payment.id)
        .await
        .expect("view");
    assert_eq!(view.refundable, usd("100.00"));
    assert_eq!(view.children.len(), 1);
    assert_eq!(view.children[0].state, PaymentState::Canceled);
}

#[tokio::test]
async fn the_sweep_reconciles_stale_payments_and_reads_what_webhooks_missed() {
    let (w, gateway) = scripted_on_clock(&[("b-1", "100.00"), ("b-2", "50.00")]).await;
    // Never reached the gateway: no event will tell; the sweep sends it again once stale.
    gateway.script(Scripted::LostRequest);
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    let charged = w
        .billing
        .charge(&w.business, charge("b-2", None))
        .await
        .expect("charged");
    gateway
        .dashboard_refund(None, &reference(&charged), usd("50.00"))
        .expect("refunded there, its webhook lost");
    let young = w.billing.sweep(&w.business).await.expect("swept");
    assert!(young.reconciled.is_empty(), "too young: {young:?}");
    assert!(!young.events.is_empty(), "the refund's event, read back");
    assert_eq!(
        w.status("b-2").await,
        (PaymentStatus::Refunded, usd("50.00"))
    );
    w.clock.advance(Duration::minutes(6));
    let report = w.billing.sweep(&w.business).await.expect("swept");
    assert_eq!(report.reconciled.len(), 1, "{report:?}");
    assert_eq!(report.reconciled[0].0, pending.payment.id);
    assert!(report.events_unread.is_none());
    assert!(
        report.events.iter().all(|(_, handled)| handled.is_ok()),
        "{report:?}"
    );
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    assert_eq!(
        w.status("b-2").await,
        (PaymentStatus::Refunded, usd("50.00"))
    );
}
