//! Tips staff add when they charge: one charge of the amount and the tip, the tip a line of the
//! booking only once the money moved, replays that never add it twice.

use proptest::prelude::*;

use super::mocked::mock;
use super::*;
use crate::booking::LineItemKind;
use crate::money::Amount;
use crate::payment::Origin;
use crate::receipt::{Outcome, Receipt};
use crate::testkit::Scripted;

fn tip(text: &str) -> Option<Amount> {
    Some(Amount::parse(text).expect("amount"))
}

async fn charge_tipped(w: &World, command: ChargeBooking, tipped: &str) -> Receipt {
    w.billing
        .charge_with_tip_as(&w.business, command, tip(tipped), Origin::Command)
        .await
        .expect("an answer")
}

async fn view(w: &World, booking: &str) -> BookingView {
    w.billing
        .booking(&w.business, &booking_id(booking))
        .await
        .expect("booking")
}

fn tip_lines(view: &BookingView) -> Vec<Money> {
    view.lines()
        .into_iter()
        .filter(|l| l.kind == LineItemKind::Tip)
        .map(|l| l.amount)
        .collect()
}

#[tokio::test]
async fn a_tip_is_charged_with_the_balance_and_becomes_a_line_of_its_own() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    let receipt = charge_tipped(&w, charge("b-1", None), "15.00").await;
    assert_eq!(receipt.outcome(), Outcome::Settled);
    assert_eq!(receipt.payment.amount, usd("115.00"));
    assert_eq!(receipt.payment.allocations[0].tip, Some(usd("15.00")));
    assert_eq!(gateway.total_received(Currency::USD), usd("115.00"));
    let view = view(&w, "b-1").await;
    assert_eq!(tip_lines(&view), vec![usd("15.00")]);
    assert_eq!(view.summary.balance.price, usd("115.00"));
    assert_eq!(view.summary.balance.paid, usd("115.00"));
    assert_eq!(view.summary.balance.balance_due, usd("0.00"));
    assert_eq!(view.summary.status.status, PaymentStatus::ChargedInFull);
    // The booking's own lines are untouched: the platform's price stays its own.
    assert_eq!(view.account.line_items.len(), 1);
}

#[tokio::test]
async fn a_tip_on_part_of_the_balance_leaves_the_rest_due() {
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    charge_tipped(&w, charge("b-1", Some("30.00")), "5.00").await;
    let view = view(&w, "b-1").await;
    assert_eq!(view.summary.balance.price, usd("105.00"));
    assert_eq!(view.summary.balance.balance_due, usd("70.00"));
    assert_eq!(view.summary.status.status, PaymentStatus::PartiallyCharged);
}

#[tokio::test]
async fn a_declined_charge_leaves_no_tip() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.script(Scripted::Decline("insufficient_funds".into()));
    let receipt = charge_tipped(&w, charge("b-1", None), "15.00").await;
    assert!(matches!(receipt.outcome(), Outcome::Declined(_)));
    let view = view(&w, "b-1").await;
    assert!(tip_lines(&view).is_empty());
    assert_eq!(view.summary.balance.price, usd("100.00"));
    assert_eq!(view.summary.balance.balance_due, usd("100.00"));
    // A card that asks for authentication while the customer is away is a decline too.
    gateway.script(Scripted::RequiresAction);
    let receipt = charge_tipped(&w, charge("b-1", None), "15.00").await;
    assert!(matches!(receipt.outcome(), Outcome::Declined(_)));
    assert_eq!(
        view_balance(&w).await,
        (usd("100.00"), usd("100.00"), usd("0"))
    );
}

/// Price, balance due and what is in flight.
async fn view_balance(w: &World) -> (Money, Money, Money) {
    let b = view(w, "b-1").await.summary.balance;
    (b.price, b.balance_due, b.in_flight)
}

#[tokio::test]
async fn a_tip_waits_with_its_charge_and_joins_the_price_when_the_gateway_says_it_succeeded() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.script(Scripted::LostAnswer);
    let receipt = charge_tipped(&w, keyed("b-1", None, "k-1"), "10.00").await;
    assert_eq!(receipt.outcome(), Outcome::Pending);
    // Pending, the tip is owed by no one: only the service part counts in flight.
    assert_eq!(
        view_balance(&w).await,
        (usd("100.00"), usd("100.00"), usd("100.00"))
    );
    let settled = w
        .billing
        .reconcile(&w.business, &receipt.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(
        view_balance(&w).await,
        (usd("110.00"), usd("0.00"), usd("0"))
    );
}

#[tokio::test]
async fn a_replay_adds_the_tip_once_and_another_tip_under_the_key_is_refused() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    let first = charge_tipped(&w, keyed("b-1", None, "k-1"), "12.00").await;
    let again = charge_tipped(&w, keyed("b-1", None, "k-1"), "12.00").await;
    assert!(again.replayed);
    assert_eq!(again.payment.id, first.payment.id);
    assert_eq!(gateway.count("charge"), 1);
    assert_eq!(tip_lines(&view(&w, "b-1").await), vec![usd("12.00")]);
    let other = w
        .billing
        .charge_with_tip_as(
            &w.business,
            keyed("b-1", None, "k-1"),
            tip("13.00"),
            Origin::Command,
        )
        .await;
    assert!(matches!(other, Err(BillingError::IdempotencyKeyReused(_))));
    let untipped = w
        .billing
        .charge(&w.business, keyed("b-1", None, "k-1"))
        .await;
    assert!(matches!(
        untipped,
        Err(BillingError::IdempotencyKeyReused(_))
    ));
}

#[tokio::test]
async fn tips_with_too_many_digits_negative_or_larger_than_the_charge_are_refused() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    for (given, refused) in [
        ("1.005", "too many digits"),
        ("-1.00", "negative"),
        ("100.01", "more than the charge"),
    ] {
        let result = w
            .billing
            .charge_with_tip_as(
                &w.business,
                charge("b-1", None),
                tip(given),
                Origin::Command,
            )
            .await;
        assert!(result.is_err(), "{refused}: {result:?}");
    }
    assert!(matches!(
        w.billing
            .charge_with_tip_as(
                &w.business,
                charge("b-1", None),
                tip("1.005"),
                Origin::Command
            )
            .await,
        Err(BillingError::InvalidAmount(
            crate::money::MoneyError::TooManyDecimals { .. }
        ))
    ));
    assert_eq!(gateway.count("charge"), 0);
    assert!(tip_lines(&view(&w, "b-1").await).is_empty());
    // A tip of zero is no tip.
    let receipt = charge_tipped(&w, charge("b-1", None), "0").await;
    assert_eq!(receipt.payment.allocations[0].tip, None);
}

#[tokio::test]
async fn a_tip_is_refused_on_a_booking_line_given_by_the_platform() {
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    let mut account = view(&w, "b-1").await.account;
    account.line_items.push(crate::booking::LineItem {
        kind: LineItemKind::Tip,
        label: "Tip".into(),
        amount: usd("5.00"),
    });
    assert!(matches!(
        w.billing.put_booking(&w.business, account).await,
        Err(BillingError::InvalidBooking(
            crate::booking::BookingError::TipLine
        ))
    ));
}

#[tokio::test]
async fn mocked_the_gateway_is_asked_for_the_amount_with_the_tip_and_a_failure_leaves_none() {
    let mut gateway = mock();
    gateway
        .expect_charge()
        .withf(|request| request.amount == usd("57.50"))
        .times(1)
        .returning(|_| Err(GatewayError::Unavailable("connection refused".into())));
    let w = world(gateway, &[("b-1", "50.00")]).await;
    let result = w
        .billing
        .charge_with_tip_as(
            &w.business,
            charge("b-1", None),
            tip("7.50"),
            Origin::Command,
        )
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        view_balance(&w).await,
        (usd("50.00"), usd("50.00"), usd("0"))
    );
}

#[derive(Debug, Clone)]
enum Step {
    /// A charge of part of the balance (in cents, at most what can be charged), a tip, and
    /// whether the card declines.
    Charge {
        cents: i64,
        tip: i64,
        declines: bool,
    },
    /// An extra line.
    Extra(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (50i64..5_000, 0i64..2_000, any::<bool>())
            .prop_map(|(cents, tip, declines)| Step::Charge { cents, tip, declines }),
        1 => (1i64..3_000).prop_map(Step::Extra),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever charges with tips succeed or decline: the price is the booking's lines plus
    /// the tips of succeeded charges, the balance due is the price less what was paid, and
    /// every payment's shares add up to it exactly.
    #[test]
    fn tips_keep_the_balance_consistent(steps in prop::collection::vec(step(), 1..8)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
            let mut own_lines = usd("100.00");
            let mut tips = usd("0");
            for step in steps {
                match step {
                    Step::Extra(cents) => {
                        let amount = Money::from_minor(cents, Currency::USD);
                        w.billing
                            .adjust_price(&w.business, &booking_id("b-1"), PriceAdjustment {
                                kind: LineItemKind::Extra,
                                label: "Extra".into(),
                                amount: amount.into(),
                            })
                            .await
                            .expect("adjusted");
                        own_lines = own_lines.checked_add(&amount).expect("sum");
                    }
                    Step::Charge { cents, tip: tip_cents, declines } => {
                        let chargeable = view(&w, "b-1").await.summary.balance.chargeable();
                        let cents = cents.min(chargeable.to_minor().expect("minor"));
                        // The gateway's smallest charge in USD is 0.50.
                        if cents < 50 {
                            continue;
                        }
                        let tip_cents = tip_cents.min(cents);
                        if declines {
                            gateway.script(Scripted::Decline("insufficient_funds".into()));
                        }
                        let amount = Money::from_minor(cents, Currency::USD);
                        let given = Money::from_minor(tip_cents, Currency::USD);
                        let receipt = w
                            .billing
                            .charge_with_tip_as(
                                &w.business,
                                charge("b-1", Some(&amount.amount().to_string())),
                                Some(given.into()),
                                Origin::Command,
                            )
                            .await
                            .expect("an answer");
                        let allocated = Money::sum(
                            Currency::USD,
                            receipt.payment.allocations.iter().map(|a| &a.amount),
                        )
                        .expect("sum");
                        prop_assert_eq!(allocated, receipt.payment.amount);
                        if receipt.outcome() == Outcome::Settled {
                            tips = tips.checked_add(&given).expect("sum");
                        }
                    }
                }
                let view = view(&w, "b-1").await;
                let balance = view.summary.balance;
                let lines = Money::sum(
                    Currency::USD,
                    view.lines().iter().map(|l| l.contribution()).collect::<Vec<_>>().iter(),
                )
                .expect("sum");
                prop_assert_eq!(balance.price, own_lines.checked_add(&tips).expect("sum"));
                prop_assert_eq!(lines, balance.price);
                prop_assert_eq!(
                    balance.balance_due,
                    balance.price.checked_sub(&balance.paid).expect("sub")
                );
                prop_assert!(!balance.in_flight.is_negative());
            }
            Ok(())
        })?;
    }
}
