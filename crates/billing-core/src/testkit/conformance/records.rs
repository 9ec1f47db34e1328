//! What the gateway did and who made each record: entries keep their origin (staff, a payment
//! link's page, the gateway), a hold's multicapture, and disputes; summaries keep the
//! `disputed` flag.

use super::{StoreFixture, business, id, seed, service};
use crate::billing::{AuthorizeBooking, PaymentSource};
use crate::ids::{BookingId, LinkId};
use crate::payment::{
    Allocation, CardRef, Change, Entry, KindName, Opening, Origin, PaymentKind, PaymentState, fold,
};
use crate::ports::{Clock, LedgerRead, LedgerWrite};
use crate::testkit::FixedClock;

/// Records made at the gateway (a capture in its dashboard, a dispute opened then lost) are
/// stored with their origin, reference and kind, a hold with what its placement said of
/// multicapture, a link's payment with its link; and the booking's summary says it is
/// disputed.
pub async fn entries_keep_their_origin_multicapture_and_disputes<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, gateway) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    seed(&billing, &acme, "b-2", 5000).await;
    let hold = billing
        .authorize(
            &acme,
            AuthorizeBooking {
                booking: id("b-1"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    let reference = hold.payment.gateway_reference.clone().expect("reference");
    gateway
        .dashboard_capture(None, &reference, super::usd(7000), true)
        .expect("captured at the gateway");
    let dispute = gateway
        .open_dispute(None, &reference, super::usd(2500), "fraudulent")
        .expect("disputed");
    gateway
        .close_dispute(None, &dispute.reference, false)
        .expect("lost");
    billing
        .sync_payment(&acme, &hold.payment.id)
        .await
        .expect("synced");
    let ids: Vec<BookingId> = vec![id("b-1")];
    let read = store
        .read(&acme.id, &LedgerRead::bookings(&ids))
        .await
        .expect("read");
    let payments = fold(&read.ledgers[0].entries).expect("a valid history");
    let held = payments
        .iter()
        .find(|p| p.id == hold.payment.id)
        .expect("the hold");
    assert!(held.multicapture, "what the placement said");
    assert_eq!(held.origin, Origin::Command);
    assert_eq!(held.state, PaymentState::Captured);
    let captured = payments
        .iter()
        .find(|p| p.kind.name() == KindName::Capture)
        .expect("the capture");
    assert_eq!(captured.origin, Origin::Gateway);
    assert_eq!(captured.state, PaymentState::Succeeded);
    assert_eq!(
        captured.gateway_reference.as_deref(),
        Some(reference.as_str())
    );
    let disputed = payments
        .iter()
        .find(|p| p.kind.name() == KindName::Dispute)
        .expect("the dispute");
    assert_eq!(
        disputed.kind,
        PaymentKind::Dispute {
            of: hold.payment.id.clone(),
            reason: Some("fraudulent".into()),
        }
    );
    assert_eq!(disputed.origin, Origin::Gateway);
    assert_eq!(disputed.state, PaymentState::Succeeded);
    assert_eq!(
        disputed.gateway_reference.as_deref(),
        Some(dispute.reference.as_str())
    );
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert!(view.summary.status.disputed);
    let stored = billing
        .list_bookings(&acme, &Default::default())
        .await
        .expect("list")
        .into_iter()
        .find(|s| s.booking.as_str() == "b-1")
        .expect("stored");
    assert_eq!(stored.status, view.summary.status);
    assert_eq!(stored.balance, view.summary.balance);

    // A link's payment, written as the core writes it, reads back exactly.
    let before = store
        .read(&acme.id, &LedgerRead::bookings(&[id("b-2")]))
        .await
        .expect("read");
    let amount = super::usd(5000);
    let opening = Entry {
        payment: id("pay_link_1"),
        seq: 0,
        bookings: vec![id("b-2")],
        at: FixedClock::default().now(),
        gateway_reference: None,
        hold_expires_at: None,
        multicapture: None,
        change: Change::Opened(Box::new(Opening {
            customer: id("cust-1"),
            kind: PaymentKind::Charge {
                card: CardRef {
                    gateway_customer: "cus_page".into(),
                    payment_method: "pm_from_the_page".into(),
                },
            },
            amount,
            allocations: vec![Allocation::of(id("b-2"), amount)],
            state: PaymentState::Pending,
            origin: Origin::PaymentLink(LinkId::new("lnk_1").expect("id")),
        })),
    };
    let write = LedgerWrite {
        read: vec![(id("b-2"), before.ledgers[0].version)],
        entries: vec![opening.clone()],
        ..LedgerWrite::default()
    };
    store.commit(&acme.id, &write).await.expect("written");
    let after = store
        .read(&acme.id, &LedgerRead::bookings(&[id("b-2")]))
        .await
        .expect("read");
    assert_eq!(after.ledgers[0].entries, vec![opening]);
}

/// A charge and a collection made by a member of staff (in the console) are stored with who
/// made them.
pub async fn staff_moves_keep_who_made_them<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _gateway) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let grace = Origin::Staff(crate::ids::StaffId::new("stf_grace").expect("id"));
    let charged = billing
        .charge_as(
            &acme,
            crate::billing::ChargeBooking {
                booking: id("b-1"),
                amount: Some(crate::money::Amount::parse("30.00").expect("amount")),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
                allow_duplicate: false,
            },
            grace.clone(),
        )
        .await
        .expect("charged");
    let collected = billing
        .record_collection_as(
            &acme,
            crate::billing::RecordCollection {
                booking: id("b-1"),
                amount: None,
                method: crate::payment::CollectionMethod::Check,
                reference: Some("1234".into()),
                idempotency_key: None,
                allow_duplicate: false,
            },
            grace.clone(),
        )
        .await
        .expect("collected");
    let ids: Vec<BookingId> = vec![id("b-1")];
    let read = store
        .read(&acme.id, &LedgerRead::bookings(&ids))
        .await
        .expect("read");
    let payments = fold(&read.ledgers[0].entries).expect("a valid history");
    for made in [&charged.payment.id, &collected.payment.id] {
        let payment = payments
            .iter()
            .find(|p| &p.id == made)
            .expect("the payment");
        assert_eq!(payment.origin, grace, "{payment:?}");
    }
}

/// A charge with a tip keeps the tip on its share through the store, and with it the tip line
/// and the price; its first answer, replayed, carries it too.
pub async fn tips_are_kept_with_their_charge<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _gateway) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let command = crate::billing::ChargeBooking {
        booking: id("b-1"),
        amount: None,
        source: PaymentSource::CardOnFile,
        idempotency_key: Some(crate::idempotency::IdempotencyKey::new("tip-1").expect("key")),
        allow_duplicate: false,
    };
    let tip = Some(crate::money::Amount::parse("12.50").expect("tip"));
    let charged = billing
        .charge_with_tip_as(&acme, command.clone(), tip, Origin::Command)
        .await
        .expect("charged");
    let usd = |minor| crate::money::Money::from_minor(minor, crate::money::Currency::USD);
    let ids: Vec<BookingId> = vec![id("b-1")];
    let read = store
        .read(&acme.id, &LedgerRead::bookings(&ids))
        .await
        .expect("read");
    let payments = fold(&read.ledgers[0].entries).expect("a valid history");
    assert_eq!(payments[0].allocations[0].tip, Some(usd(1_250)));
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert_eq!(view.summary.balance.price, usd(11_250));
    assert_eq!(view.summary.balance.balance_due, usd(0));
    let tips: Vec<_> = view
        .lines()
        .into_iter()
        .filter(|l| l.kind == crate::booking::LineItemKind::Tip)
        .map(|l| l.amount)
        .collect();
    assert_eq!(tips, vec![usd(1_250)]);
    let again = billing
        .charge_with_tip_as(&acme, command, tip, Origin::Command)
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.payment, charged.payment);
    assert_eq!(again.payment.allocations[0].tip, Some(usd(1_250)));
}
