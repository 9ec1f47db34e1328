//! Marking a booking as a no-show: automation stops, holds are released, the business's fee is
//! charged to the card on file once, and what cannot be marked is refused with nothing changed.

use super::automation::{automated, run, status};
use super::*;
use crate::automation::{Action, PaymentPolicy, PaymentSettings, Percent, Share};
use crate::money::Amount;
use crate::payment::Origin;
use crate::ports::{RunOutcome, Schedules};
use crate::receipt::Outcome;

async fn with_fee(w: &World, fee: Option<Share>) {
    let settings = PaymentSettings {
        no_show_fee: fee,
        ..w.billing.payment_settings(&w.business).await.expect("s")
    };
    w.billing
        .set_payment_settings(&w.business, settings)
        .await
        .expect("settings");
}

#[tokio::test]
async fn a_no_show_releases_the_hold_stops_automation_and_charges_the_fee_once() {
    let (w, gateway) = automated(PaymentPolicy::AuthorizeAtBooking, &[("b-1", "200.00")]).await;
    with_fee(&w, Some(Share::Percent(Percent::parse("25").expect("25")))).await;
    super::automation::past_grace(&w);
    assert_eq!(
        run(&w).await,
        [(Action::Hold(usd("200.00")), RunOutcome::Succeeded)]
    );
    let marked = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-1"))
        .await
        .expect("marked");
    assert!(!marked.already_marked);
    assert_eq!(marked.released.len(), 1);
    assert!(marked.schedule.no_show_at.is_some());
    assert!(marked.schedule.canceled_at.is_some());
    let fee = marked.fee.expect("a fee");
    assert_eq!(fee.outcome(), Outcome::Settled);
    assert_eq!(fee.payment.amount, usd("50.00"));
    assert_eq!(fee.payment.origin, Origin::Automation);

    let again = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-1"))
        .await
        .expect("again");
    assert!(again.already_marked);
    assert!(again.released.is_empty());
    let replayed = again.fee.expect("the first fee");
    assert!(replayed.replayed);
    assert_eq!(replayed.payment.id, fee.payment.id);
    assert_eq!(gateway.total_received(Currency::USD), usd("50.00"));
    assert_eq!(gateway.count("charge"), 1);
    assert_eq!(status(&w, "b-1").await, PaymentStatus::PartiallyCharged);
    w.clock.advance(Duration::days(3));
    assert_eq!(run(&w).await, [], "a no-show is left alone");
}

#[tokio::test]
async fn a_no_show_fee_is_taken_from_the_price_without_tips_and_never_beyond_the_balance() {
    let (w, gateway) = automated(PaymentPolicy::Manual, &[("b-1", "100.00")]).await;
    with_fee(&w, Some(Share::fixed(usd("80.00")).expect("fixed"))).await;
    // 30.00 charged with a 10.00 tip: 70.00 left to pay, the tip never part of a fee.
    w.billing
        .charge_with_tip_as(
            &w.business,
            charge("b-1", Some("30.00")),
            Some(Amount::parse("10.00").expect("tip")),
            Origin::Command,
        )
        .await
        .expect("charged");
    let marked = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-1"))
        .await
        .expect("marked");
    assert_eq!(marked.fee.expect("a fee").payment.amount, usd("70.00"));
    assert_eq!(gateway.total_received(Currency::USD), usd("110.00"));
}

#[tokio::test]
async fn a_no_show_is_refused_without_a_fee_a_card_or_once_completed_or_canceled() {
    let (w, gateway) = automated(
        PaymentPolicy::Manual,
        &[("b-1", "100.00"), ("b-2", "100.00"), ("b-3", "100.00")],
    )
    .await;
    let refused = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-1"))
        .await;
    assert!(
        matches!(refused, Err(BillingError::InvalidInput(m)) if m.contains("no no-show fee")),
        "{refused:?}"
    );
    with_fee(&w, Some(Share::fixed(usd("20.00")).expect("fixed"))).await;

    let mut done = w
        .billing
        .booking(&w.business, &booking_id("b-2"))
        .await
        .expect("b-2")
        .account;
    done.completed_at = Some(w.billing.now());
    w.billing.put_booking(&w.business, done).await.expect("put");
    let refused = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-2"))
        .await;
    assert!(
        matches!(refused, Err(BillingError::InvalidInput(m)) if m.contains("completed")),
        "{refused:?}"
    );

    w.billing
        .cancel_booking(
            &w.business,
            CancelBooking {
                booking: booking_id("b-3"),
                charge_fee: false,
            },
        )
        .await
        .expect("canceled");
    let refused = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-3"))
        .await;
    assert!(matches!(refused, Err(BillingError::BookingCanceled(_))));

    // A customer without a card.
    let ada = CustomerId::new("ada").expect("id");
    w.billing
        .put_customer(
            &w.business,
            crate::customer::Customer {
                id: ada.clone(),
                name: "Ada".into(),
                email: None,
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    let account = BookingAccount::new(
        booking_id("b-4"),
        ada,
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Clean", usd("100.00")).expect("line")],
    )
    .expect("booking");
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put");
    let refused = w
        .billing
        .mark_no_show(&w.business, &booking_id("b-4"))
        .await;
    assert!(matches!(refused, Err(BillingError::NoCardOnFile(_))));

    // Nothing was charged, and none of them was marked.
    assert_eq!(gateway.count("charge"), 0);
    for booking in ["b-1", "b-2", "b-4"] {
        let schedule = w
            .store
            .schedule(&w.business.id, &booking_id(booking))
            .await
            .expect("read")
            .expect("a record");
        assert_eq!(schedule.no_show_at, None, "{booking}");
        assert_eq!(schedule.canceled_at, None, "{booking}");
    }
}
