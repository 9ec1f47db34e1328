//! The changes of totals a commit carries add up, over any history of payments, to the tally
//! of the payments as they end.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::billing::PaymentsReport;
use crate::ids::{CustomerId, PaymentId};
use crate::payment::{CardRef, Failure, Origin, PaymentEvent};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .expect("a time")
}

fn card() -> CardRef {
    CardRef {
        gateway_customer: "cus_1".into(),
        payment_method: "pm_card_visa".into(),
    }
}

fn kind() -> impl Strategy<Value = PaymentKind> {
    let collection = |method| PaymentKind::Collection {
        method,
        reference: None,
    };
    prop_oneof![
        Just(PaymentKind::Charge { card: card() }),
        Just(PaymentKind::Authorization { card: card() }),
        Just(PaymentKind::Capture {
            authorization: PaymentId::new("pay_h").expect("id"),
            final_capture: false,
        }),
        Just(collection(CollectionMethod::Cash)),
        Just(collection(CollectionMethod::Check)),
        Just(collection(CollectionMethod::ETransfer)),
        Just(collection(CollectionMethod::Other("Venmo".into()))),
        Just(PaymentKind::Refund {
            of: PaymentId::new("pay_c").expect("id"),
            reason: None,
        }),
        Just(PaymentKind::Dispute {
            of: PaymentId::new("pay_c").expect("id"),
            reason: None,
        }),
    ]
}

/// A payment as it opens: pending (gateway work), succeeded (a collection, or what the
/// gateway already did), waiting for authentication or placed (a hold).
fn opening() -> impl Strategy<Value = (PaymentKind, PaymentState, Money, i64)> {
    let state = prop_oneof![
        3 => Just(PaymentState::Pending),
        2 => Just(PaymentState::Succeeded),
        1 => Just(PaymentState::RequiresAction),
        1 => Just(PaymentState::Authorized),
    ];
    let amount = (1..100_000_i64, prop::bool::ANY).prop_map(|(minor, yen)| {
        Money::from_minor(minor, if yen { Currency::JPY } else { Currency::USD })
    });
    (kind(), state, amount, 0..5 * 24 * 60_i64)
}

/// One commit: a payment opened, or moves of payments already there (by position, modulo
/// how many there are), several of one payment perhaps, as a commit may carry.
#[derive(Debug, Clone)]
enum Commit {
    Open((PaymentKind, PaymentState, Money, i64)),
    Moves(Vec<(usize, usize)>),
}

fn commit() -> impl Strategy<Value = Commit> {
    let events = PaymentEvent::all().len();
    prop_oneof![
        1 => opening().prop_map(Commit::Open),
        2 => prop::collection::vec((0..64_usize, 0..events), 1..4).prop_map(Commit::Moves),
    ]
}

proptest! {
    /// Whatever the payments and whatever happens to them, the changes the commits carry add
    /// up, per day and currency, to what the payments count as they end: the kept totals are
    /// the tally.
    #[test]
    fn the_changes_of_every_commit_add_up_to_the_tally(
        commits in prop::collection::vec(commit(), 0..80),
    ) {
        let mut payments: Vec<Payment> = Vec::new();
        let mut kept: Vec<PaymentDayTotals> = Vec::new();
        let events = PaymentEvent::all();
        for (n, commit) in commits.into_iter().enumerate() {
            let at = start() + TimeDelta::minutes(i64::try_from(n).expect("small"));
            match commit {
                Commit::Open((kind, state, amount, minute)) => {
                    let created_at = start() + TimeDelta::minutes(minute);
                    let payment = Payment {
                        id: PaymentId::new(format!("pay_{n}")).expect("id"),
                        customer: CustomerId::new("cust-1").expect("id"),
                        kind,
                        amount,
                        allocations: Vec::new(),
                        state,
                        gateway_reference: None,
                        hold_expires_at: None,
                        multicapture: false,
                        origin: Origin::Command,
                        created_at,
                        updated_at: created_at,
                        entries: 1,
                    };
                    kept.extend(PaymentDayTotals::changes(&[], std::slice::from_ref(&payment))?);
                    payments.push(payment);
                }
                Commit::Moves(moves) if !payments.is_empty() => {
                    let count = payments.len();
                    let moved: Vec<usize> = moves.iter().map(|(which, _)| which % count).collect();
                    let before: Vec<Payment> = payments
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| moved.contains(i))
                        .map(|(_, p)| p.clone())
                        .collect();
                    for (which, event) in &moves {
                        let payment = &mut payments[which % count];
                        // A move its state cannot take is not made, as in the service.
                        if let Ok(entry) = payment.move_entry(events[*event].clone(), at, None, None) {
                            payment.apply(&entry).expect("a move the lifecycle allows");
                        }
                    }
                    let after: Vec<Payment> = payments
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| moved.contains(i))
                        .map(|(_, p)| p.clone())
                        .collect();
                    kept.extend(PaymentDayTotals::changes(&before, &after)?);
                }
                Commit::Moves(_) => {}
            }
        }
        let kept = PaymentDayTotals::sum(&kept)?;
        prop_assert_eq!(&kept, &PaymentDayTotals::of(&payments)?);
        // The report read from the kept totals is the tally of the payments.
        let (from, until) = (start(), start() + TimeDelta::days(6));
        prop_assert_eq!(
            PaymentsReport::of_days(from, until, &kept)?,
            PaymentsReport::tally(from, until, &payments)?
        );
    }
}

#[test]
fn a_charge_that_succeeds_counts_and_one_that_fails_is_taken_back_from_nothing() {
    let made = start() + TimeDelta::hours(30);
    let pending = Payment {
        id: PaymentId::new("pay_1").expect("id"),
        customer: CustomerId::new("cust-1").expect("id"),
        kind: PaymentKind::Charge { card: card() },
        amount: Money::from_minor(2_500, Currency::USD),
        allocations: Vec::new(),
        state: PaymentState::Pending,
        gateway_reference: None,
        hold_expires_at: None,
        multicapture: false,
        origin: Origin::Command,
        created_at: made,
        updated_at: made,
        entries: 1,
    };
    assert_eq!(
        PaymentDayTotals::changes(&[], std::slice::from_ref(&pending)),
        Ok(vec![])
    );
    let failed = Payment {
        state: PaymentState::Failed(Failure::marked_failed()),
        ..pending.clone()
    };
    assert_eq!(
        PaymentDayTotals::changes(
            std::slice::from_ref(&pending),
            std::slice::from_ref(&failed)
        ),
        Ok(vec![])
    );
    let succeeded = Payment {
        state: PaymentState::Succeeded,
        ..pending.clone()
    };
    let counted = PaymentDayTotals {
        day: made.date_naive(),
        totals: PaymentTotals::from_minor(Currency::USD, [2_500, 0, 0, 0, 0]),
    };
    assert_eq!(
        PaymentDayTotals::changes(
            std::slice::from_ref(&pending),
            std::slice::from_ref(&succeeded)
        ),
        Ok(vec![counted])
    );
    // Taken back (a record corrected by hand, say): the change is negative.
    assert_eq!(
        PaymentDayTotals::changes(
            std::slice::from_ref(&succeeded),
            std::slice::from_ref(&failed)
        ),
        Ok(vec![PaymentDayTotals {
            totals: counted.totals.negated(),
            ..counted
        }])
    );
}
