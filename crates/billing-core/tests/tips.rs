//! Tips on a payment link's page, through the core on the in-memory store and the scripted
//! gateway: a preset percentage or an amount of the customer's own, charged with the link in
//! one payment, on the link's first booking, and a line of the booking only once the money
//! moved — never after a decline, a failed authentication or a payment left unfinished.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use billing_core::automation::Percent;
use billing_core::billing::{CreatePaymentLink, PayLink, Sending};
use billing_core::link::LinkState;
use billing_core::prelude::*;
use billing_core::testkit::ScriptedGateway;
use billing_core::tip::Tip;
use common::{World, usd};

async fn world() -> World {
    common::world_with(
        |clock| ScriptedGateway::with_clock(clock),
        &[("b-1", 9_550), ("b-2", 2_250)],
    )
    .await
}

fn pay(method: &str) -> PayLink {
    PayLink {
        payment_method: method.into(),
        save_card: false,
    }
}

fn percent(p: &str) -> Option<Tip> {
    Some(Tip::Percent(Percent::parse(p).unwrap()))
}

impl World {
    async fn link(&self, bookings: &[&str]) -> (String, billing_core::ids::LinkId) {
        let issued = self
            .billing
            .create_payment_link(
                &self.business,
                CreatePaymentLink {
                    customer: self.customer.clone(),
                    bookings: bookings
                        .iter()
                        .map(|b| BookingId::new(*b).unwrap())
                        .collect(),
                    amount: None,
                    send: Sending::NOT,
                },
            )
            .await
            .unwrap();
        let token = issued.url.rsplit('/').next().unwrap().to_owned();
        (token, issued.link.id)
    }

    async fn view(&self, booking: &str) -> BookingView {
        self.billing
            .booking(&self.business, &BookingId::new(booking).unwrap())
            .await
            .unwrap()
    }

    async fn tips(&self, booking: &str) -> Vec<Money> {
        self.view(booking)
            .await
            .lines()
            .into_iter()
            .filter(|l| l.kind == LineItemKind::Tip)
            .map(|l| l.amount)
            .collect()
    }
}

#[tokio::test]
async fn a_preset_percentage_is_charged_with_the_link_and_kept_as_a_line() {
    let w = world().await;
    let (token, link) = w.link(&["b-1"]).await;
    let paid = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_visa"), percent("15"))
        .await
        .unwrap();
    // 15 % of 95.50 is 14.325: 14.33, half away from zero.
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(paid.receipt.payment.amount, usd(10_983));
    assert_eq!(paid.receipt.payment.tips(), Ok(usd(1_433)));
    assert_eq!(w.gateway.total_received(Currency::USD), usd(10_983));
    assert_eq!(w.tips("b-1").await, vec![usd(1_433)]);
    let summary = w.view("b-1").await.summary;
    assert_eq!(summary.balance.price, usd(10_983));
    assert_eq!(summary.balance.balance_due, usd(0));
    assert_eq!(summary.status.status, PaymentStatus::ChargedInFull);
    assert!(matches!(
        w.billing.link(&w.business, &link).await.unwrap().state,
        LinkState::Completed { .. }
    ));
}

#[tokio::test]
async fn a_link_over_several_bookings_puts_the_tip_on_the_first() {
    let w = world().await;
    let (token, _) = w.link(&["b-1", "b-2"]).await;
    let tip = Some(Tip::Amount(Amount::parse("10.00").unwrap()));
    let paid = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_visa"), tip)
        .await
        .unwrap();
    let payment = &paid.receipt.payment;
    assert_eq!(payment.amount, usd(9_550 + 2_250 + 1_000));
    let shares: Vec<(String, Money, Option<Money>)> = payment
        .allocations
        .iter()
        .map(|a| (a.booking.to_string(), a.amount, a.tip))
        .collect();
    assert_eq!(
        shares,
        vec![
            ("b-1".to_owned(), usd(10_550), Some(usd(1_000))),
            ("b-2".to_owned(), usd(2_250), None),
        ]
    );
    assert_eq!(
        Money::sum(Currency::USD, payment.allocations.iter().map(|a| &a.amount)).unwrap(),
        payment.amount
    );
    assert_eq!(w.tips("b-1").await, vec![usd(1_000)]);
    assert!(w.tips("b-2").await.is_empty());
    for booking in ["b-1", "b-2"] {
        assert_eq!(
            w.view(booking).await.summary.status.status,
            PaymentStatus::ChargedInFull
        );
    }
}

#[tokio::test]
async fn a_declined_card_leaves_no_tip_and_the_link_open_for_another_try() {
    let w = world().await;
    let (token, link) = w.link(&["b-1"]).await;
    let declined = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_chargeDeclined"), percent("20"))
        .await
        .unwrap();
    assert!(matches!(declined.receipt.outcome(), Outcome::Declined(_)));
    assert!(w.tips("b-1").await.is_empty());
    assert_eq!(w.view("b-1").await.summary.balance.balance_due, usd(9_550));
    assert_eq!(
        w.billing.link(&w.business, &link).await.unwrap().state,
        LinkState::Open
    );
    // Another card, another tip: only this one is kept.
    let paid = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_visa"), percent("18"))
        .await
        .unwrap();
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(w.tips("b-1").await, vec![usd(1_719)]);
}

#[tokio::test]
async fn a_failed_authentication_leaves_no_tip_and_a_completed_one_keeps_it() {
    let w = world().await;
    let (token, _) = w.link(&["b-1"]).await;
    let asked = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_authenticationRequired"), percent("15"))
        .await
        .unwrap();
    assert_eq!(asked.receipt.payment.state, PaymentState::RequiresAction);
    // Waiting for the customer, the tip is owed by no one, and nothing else can be charged.
    let waiting = w.view("b-1").await.summary;
    assert!(w.tips("b-1").await.is_empty());
    assert_eq!(waiting.balance.price, usd(9_550));
    assert_eq!(waiting.balance.in_flight, usd(9_550));
    let reference = asked.receipt.payment.gateway_reference.clone().unwrap();
    w.gateway.authenticate(None, &reference, false).unwrap();
    let back = w.billing.link_payment_returned(&token).await.unwrap();
    assert!(matches!(back.receipt.outcome(), Outcome::Declined(_)));
    assert!(w.tips("b-1").await.is_empty());
    assert_eq!(w.view("b-1").await.summary.balance.balance_due, usd(9_550));

    let asked = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_authenticationRequired"), percent("15"))
        .await
        .unwrap();
    let reference = asked.receipt.payment.gateway_reference.clone().unwrap();
    w.gateway.authenticate(None, &reference, true).unwrap();
    let back = w.billing.link_payment_returned(&token).await.unwrap();
    assert_eq!(back.receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(w.tips("b-1").await, vec![usd(1_433)]);
    assert_eq!(w.view("b-1").await.summary.balance.balance_due, usd(0));
}

#[tokio::test]
async fn a_tip_larger_than_the_payment_or_too_precise_charges_nothing() {
    let w = world().await;
    let (token, _) = w.link(&["b-1"]).await;
    for tip in ["95.51", "1.001"] {
        let result = w
            .billing
            .pay_link_with_tip(
                &token,
                pay("pm_card_visa"),
                Some(Tip::Amount(Amount::parse(tip).unwrap())),
            )
            .await;
        assert!(result.is_err(), "{tip}: {result:?}");
    }
    assert_eq!(w.gateway.count("charge"), 0);
    assert!(w.tips("b-1").await.is_empty());
}

#[tokio::test]
async fn a_refund_gives_back_the_service_first_and_then_the_tip_which_is_never_owed_again() {
    use billing_core::billing::RefundPayment;
    let w = world().await;
    let (token, _) = w.link(&["b-1"]).await;
    let tip = Some(Tip::Amount(Amount::parse("15.00").unwrap()));
    let paid = w
        .billing
        .pay_link_with_tip(&token, pay("pm_card_visa"), tip)
        .await
        .unwrap();
    // 95.50 for the clean, 15.00 of tip.
    assert_eq!(paid.receipt.payment.amount, usd(11_050));
    let refund = |amount: &str, key: &str| RefundPayment {
        payment: paid.receipt.payment.id.clone(),
        amount: Some(Amount::parse(amount).unwrap()),
        reason: None,
        idempotency_key: Some(billing_core::idempotency::IdempotencyKey::new(key).unwrap()),
    };
    // A partial refund is of the service: the tip stays, and the booking owes the refund.
    w.billing
        .refund(&w.business, refund("10.00", "r-1"))
        .await
        .unwrap();
    assert_eq!(w.tips("b-1").await, vec![usd(1_500)]);
    let balance = w.view("b-1").await.summary.balance;
    assert_eq!(balance.price, usd(11_050));
    assert_eq!(balance.balance_due, usd(1_000));
    // Beyond the service, the tip comes back: refunded in full, the booking owes its own
    // price, never the tip.
    w.billing
        .refund(&w.business, refund("90.50", "r-2"))
        .await
        .unwrap();
    assert_eq!(w.tips("b-1").await, vec![usd(1_000)]);
    let balance = w.view("b-1").await.summary.balance;
    assert_eq!(balance.price, usd(10_550));
    // What is left paid (10.00) is the tip kept: the clean is owed again, whole.
    assert_eq!(balance.balance_due, usd(9_550));
    w.billing
        .refund(&w.business, refund("10.00", "r-3"))
        .await
        .unwrap();
    assert!(w.tips("b-1").await.is_empty());
    let view = w.view("b-1").await;
    assert_eq!(view.summary.balance.price, usd(9_550));
    assert_eq!(view.summary.balance.paid, usd(0));
    assert_eq!(view.summary.balance.balance_due, usd(9_550));
    assert_eq!(view.summary.balance.refunded, usd(11_050));
    // The lines still add up to the price.
    let lines = view.lines();
    let total = Money::sum(Currency::USD, lines.iter().map(|l| &l.amount)).unwrap();
    assert_eq!(total, view.summary.balance.price);
}
