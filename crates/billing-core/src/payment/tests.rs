//! The lifecycle as a table, and folds.

use super::*;
use KindName as K;
use PaymentEvent as E;
use PaymentState as S;

fn failure() -> Failure {
    Failure {
        code: "card_declined".into(),
        decline_code: Some("generic_decline".into()),
        message: "The card was declined.".into(),
    }
}

fn states() -> Vec<PaymentState> {
    vec![
        S::Pending,
        S::RequiresAction,
        S::Succeeded,
        S::Authorized,
        S::PartiallyCaptured,
        S::Captured,
        S::Canceled,
        S::Expired,
        S::Failed(failure()),
    ]
}

/// The whole lifecycle, written out as a table: (kind, from, event) -> to. Every pair not
/// listed must be refused.
fn allowed() -> Vec<(KindName, PaymentState, PaymentEvent, PaymentState)> {
    let f = || E::Failed(failure());
    let failed = || S::Failed(failure());
    vec![
        (K::Charge, S::Pending, E::Succeeded, S::Succeeded),
        (K::Charge, S::Pending, E::ActionRequired, S::RequiresAction),
        (K::Charge, S::Pending, E::Canceled, S::Canceled),
        (K::Charge, S::Pending, f(), failed()),
        (K::Charge, S::RequiresAction, E::Succeeded, S::Succeeded),
        (K::Charge, S::RequiresAction, E::Canceled, S::Canceled),
        (K::Charge, S::RequiresAction, f(), failed()),
        (K::Collection, S::Pending, E::Succeeded, S::Succeeded),
        (K::Collection, S::Pending, E::Canceled, S::Canceled),
        (K::Collection, S::Pending, f(), failed()),
        (K::Collection, S::RequiresAction, f(), failed()),
        (K::Authorization, S::Pending, E::HoldPlaced, S::Authorized),
        (
            K::Authorization,
            S::Pending,
            E::ActionRequired,
            S::RequiresAction,
        ),
        (K::Authorization, S::Pending, E::Canceled, S::Canceled),
        (K::Authorization, S::Pending, f(), failed()),
        (
            K::Authorization,
            S::RequiresAction,
            E::HoldPlaced,
            S::Authorized,
        ),
        (
            K::Authorization,
            S::RequiresAction,
            E::Canceled,
            S::Canceled,
        ),
        (K::Authorization, S::RequiresAction, f(), failed()),
        (
            K::Authorization,
            S::Authorized,
            E::PartlyCaptured,
            S::PartiallyCaptured,
        ),
        (
            K::Authorization,
            S::Authorized,
            E::CaptureClosed,
            S::Captured,
        ),
        (K::Authorization, S::Authorized, E::Canceled, S::Canceled),
        (K::Authorization, S::Authorized, E::Expired, S::Expired),
        (
            K::Authorization,
            S::PartiallyCaptured,
            E::PartlyCaptured,
            S::PartiallyCaptured,
        ),
        (
            K::Authorization,
            S::PartiallyCaptured,
            E::CaptureClosed,
            S::Captured,
        ),
        (
            K::Authorization,
            S::PartiallyCaptured,
            E::Canceled,
            S::Captured,
        ),
        (
            K::Authorization,
            S::PartiallyCaptured,
            E::Expired,
            S::Captured,
        ),
        (K::Capture, S::Pending, E::Succeeded, S::Succeeded),
        (K::Capture, S::Pending, f(), failed()),
        (K::Capture, S::RequiresAction, f(), failed()),
        (K::Refund, S::Pending, E::Succeeded, S::Succeeded),
        (K::Refund, S::Pending, f(), failed()),
        (K::Refund, S::RequiresAction, f(), failed()),
        (K::Dispute, S::Pending, E::Succeeded, S::Succeeded),
        (K::Dispute, S::Pending, E::Canceled, S::Canceled),
    ]
}

#[test]
fn every_state_and_event_pair_follows_the_table() {
    let table = allowed();
    let mut checked = 0;
    for kind in KindName::ALL {
        for from in states() {
            for event in PaymentEvent::all() {
                let expected = table
                    .iter()
                    .find(|(k, s, e, _)| *k == kind && *s == from && *e == event)
                    .map(|(_, _, _, to)| to.clone());
                let got = transition(kind, &from, &event).ok();
                assert_eq!(got, expected, "{kind:?} {from:?} + {event:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * 9 * 8);
}

#[test]
fn terminal_states_never_move() {
    for kind in KindName::ALL {
        for from in states().into_iter().filter(PaymentState::is_terminal) {
            for event in PaymentEvent::all() {
                assert!(
                    transition(kind, &from, &event).is_err(),
                    "{kind:?} {from:?} moved"
                );
            }
        }
    }
}

#[test]
fn only_authentication_failures_suggest_a_payment_link() {
    assert!(Failure::authentication_required().suggests_payment_link());
    // The Stripe adapter reports the decline code with its own code.
    let from_stripe = Failure {
        code: "card_declined".into(),
        decline_code: Some(AUTHENTICATION_REQUIRED.into()),
        message: "Your card was declined.".into(),
    };
    assert!(from_stripe.suggests_payment_link());
    assert!(!failure().suggests_payment_link());
    assert!(!Failure::not_at_gateway().suggests_payment_link());
}

#[test]
fn a_fold_keeps_the_origin_and_what_the_hold_placement_said() {
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let id = PaymentId::new("pay_1").expect("id");
    let booking = BookingId::new("b-1").expect("id");
    let amount = Money::from_minor(1000, crate::money::Currency::USD);
    let link = LinkId::new("lnk_1").expect("id");
    let opening = Entry {
        payment: id.clone(),
        seq: 0,
        bookings: vec![booking.clone()],
        at,
        gateway_reference: None,
        hold_expires_at: None,
        multicapture: None,
        change: Change::Opened(Box::new(Opening {
            customer: CustomerId::new("c").expect("id"),
            kind: PaymentKind::Authorization {
                card: CardRef {
                    gateway_customer: "cus_1".into(),
                    payment_method: "pm_card_visa".into(),
                },
            },
            amount,
            allocations: vec![Allocation::of(booking, amount)],
            state: S::Pending,
            origin: Origin::PaymentLink(link.clone()),
        })),
    };
    let [opened] = fold(std::slice::from_ref(&opening))
        .expect("fold")
        .try_into()
        .expect("one");
    assert!(!opened.multicapture, "never said: not in parts");
    assert!(opened.customer_present());
    let mut placed = opened
        .move_entry(E::HoldPlaced, at, Some("pi_1".into()), None)
        .expect("placed");
    placed.multicapture = Some(true);
    let later = {
        let mut p = opened.clone();
        p.apply(&placed).expect("apply");
        p.move_entry(E::PartlyCaptured, at, None, None)
            .expect("moved")
    };
    let [held] = fold(&[later, opening, placed])
        .expect("fold")
        .try_into()
        .expect("one");
    assert!(held.multicapture, "a later move that says nothing keeps it");
    assert_eq!(held.origin, Origin::PaymentLink(link));
    assert_eq!(held.state, S::PartiallyCaptured);
}
