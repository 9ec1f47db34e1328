//! What automation does next for a booking, and when: decided from the booking as it is, so
//! that a price changed, a payment made by hand or a hold placed by staff since the last plan
//! is taken into account at the next one.

use chrono::{DateTime, Utc};

use super::retry::{DeclineKind, RetrySchedule};
use super::settings::{HoldRenewal, PaymentPolicy, PaymentSettings};
use crate::money::{Money, MoneyError};
use crate::status::Balance;

/// What automation knows of a booking when it plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFacts {
    /// The booking's amounts as they stand.
    pub balance: Balance,
    /// When the earliest open hold runs out, if one is open.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// When the customer booked.
    pub booked_at: DateTime<Utc>,
    /// When the service is planned.
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was marked completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Canceled: nothing more is taken (its fee is the cancellation's own business).
    pub canceled: bool,
    /// Automation paused for the booking or its customer.
    pub paused: bool,
    /// Automation gave up on it: staff were told, and act first.
    pub needs_attention: bool,
    /// The failed attempts of the current automatic step, if its last attempt failed.
    pub failures: Option<FailedAttempts>,
    /// A checkout is open until then: the customer is paying on its page, and no charge or
    /// hold is made before.
    pub checkout_until: Option<DateTime<Utc>>,
}

/// The failed attempts of an automatic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAttempts {
    /// How many attempts failed (1 or more).
    pub count: u32,
    /// When the first failed.
    pub first_at: DateTime<Utc>,
    /// When the last failed.
    pub last_at: DateTime<Utc>,
    /// The kind of the last decline.
    pub last: DeclineKind,
}

/// A money move or a notice that automation makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Charge the card on file this amount.
    Charge(Money),
    /// Place a hold of this amount on the card on file.
    Hold(Money),
    /// Capture the open hold (at most the balance due).
    Capture,
    /// Place a new hold for what is held, then release the old one.
    RenewHold,
    /// Tell staff that a hold will run out before it can be captured.
    HoldRunningOut,
    /// The last attempt failed and no other will be made: the customer is sent a payment
    /// link, the business is told, the booking needs attention.
    GiveUp,
}

/// Why an action is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The deposit, taken as the customer books.
    Deposit,
    /// The payment policy.
    Policy,
    /// A hold would run out before its capture.
    HoldExpiry,
    /// A failed attempt, tried again.
    Retry,
    /// A failed attempt that will not be tried again.
    RetriesSpent,
}

/// An action due at a time (possibly already past: due now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// When it is due.
    pub at: DateTime<Utc>,
    /// What is done.
    pub action: Action,
    /// Why.
    pub reason: Reason,
}

impl Planned {
    fn new(at: DateTime<Utc>, action: Action, reason: Reason) -> Option<Planned> {
        Some(Planned { at, action, reason })
    }
}

/// The next thing automation does for a booking under `settings`, or `None` when nothing is
/// left for it to do (paid, manual, waiting for a service time or a completion it has no date
/// for, canceled, paused, a payment in flight, or given up until staff act).
///
/// # Errors
/// [`MoneyError`] when the amounts or a fixed deposit are in different currencies.
pub fn next_action(
    settings: &PaymentSettings,
    retries: &RetrySchedule,
    facts: &BookingFacts,
) -> Result<Option<Planned>, MoneyError> {
    if facts.canceled || facts.paused || facts.needs_attention {
        return Ok(None);
    }
    let balance = &facts.balance;
    // A payment being settled decides what is left: plan again once it has ended.
    if balance.in_flight.is_positive() {
        return Ok(None);
    }
    let Some(mut step) = policy_step(settings, facts)? else {
        return Ok(None);
    };
    if let Some(until) = facts.checkout_until
        && matches!(step.action, Action::Charge(_) | Action::Hold(_))
    {
        step.at = step.at.max(until);
    }
    let Some(failed) = facts.failures else {
        return Ok(Some(step));
    };
    if !matches!(step.action, Action::Charge(_) | Action::Hold(_)) {
        return Ok(Some(step));
    }
    Ok(Some(
        match retries.next_attempt(failed.first_at, failed.count, failed.last) {
            Some(at) => Planned {
                at: at.max(step.at),
                reason: Reason::Retry,
                ..step
            },
            None => Planned {
                at: failed.last_at,
                action: Action::GiveUp,
                reason: Reason::RetriesSpent,
            },
        },
    ))
}

/// The step the policy asks for, before failures are taken into account.
fn policy_step(
    settings: &PaymentSettings,
    facts: &BookingFacts,
) -> Result<Option<Planned>, MoneyError> {
    let balance = &facts.balance;
    let due = balance.balance_due.clamp_at_zero();
    let uncovered = due.checked_sub(&balance.held)?.clamp_at_zero();
    let policy = settings.policy;
    if policy != PaymentPolicy::Manual
        && let Some(deposit) = settings.deposit
    {
        let deposit = deposit.of(&balance.price)?;
        let covered = balance.paid.checked_add(&balance.held)?;
        let missing = deposit.checked_sub(&covered)?.checked_min(&uncovered)?;
        if missing.is_positive() {
            return Ok(Planned::new(
                facts.booked_at,
                Action::Charge(missing),
                Reason::Deposit,
            ));
        }
    }
    if balance.held.is_positive() {
        return hold_step(settings, facts);
    }
    if !uncovered.is_positive() {
        return Ok(None);
    }
    let charge = |at| Planned::new(at, Action::Charge(uncovered), Reason::Policy);
    let not_before_booking = |at: DateTime<Utc>| at.max(facts.booked_at);
    Ok(match policy {
        PaymentPolicy::Manual => None,
        PaymentPolicy::ChargeAtBooking => charge(facts.booked_at),
        PaymentPolicy::ChargeBeforeService { lead } => facts
            .service_at
            .and_then(|service| charge(not_before_booking(service - lead))),
        PaymentPolicy::ChargeAfterCompletion { delay } => facts
            .completed_at
            .and_then(|done| charge(not_before_booking(done + delay))),
        PaymentPolicy::AuthorizeAtBooking | PaymentPolicy::AuthorizeBeforeService { .. } => {
            match facts.completed_at {
                // Done and nothing held (a capture left some, or the price rose): charge it.
                Some(done) => charge(not_before_booking(done)),
                None => {
                    let hold_at = match policy {
                        PaymentPolicy::AuthorizeBeforeService { lead } => {
                            facts.service_at.map(|service| service - lead)
                        }
                        _ => Some(facts.booked_at),
                    };
                    hold_at.and_then(|at| {
                        Planned::new(
                            not_before_booking(at),
                            Action::Hold(uncovered),
                            Reason::Policy,
                        )
                    })
                }
            }
        }
    })
}

/// With a hold open: captured once the service is done, and handled as the business says if
/// it would run out first. A hold under the manual policy is staff's: they are only told.
fn hold_step(
    settings: &PaymentSettings,
    facts: &BookingFacts,
) -> Result<Option<Planned>, MoneyError> {
    let holding_policy = settings.policy.holds();
    let capture_at = facts.completed_at.filter(|_| holding_policy);
    let running_out = facts
        .hold_expires_at
        .map(|expires| expires - settings.hold_margin)
        .filter(|act_at| capture_at.is_none_or(|capture| capture > *act_at));
    if let Some(act_at) = running_out {
        let action = match (holding_policy, settings.hold_renewal) {
            (true, HoldRenewal::Renew) => Action::RenewHold,
            (true, HoldRenewal::CaptureIfDone)
                if facts.completed_at.is_some_and(|done| done <= act_at) =>
            {
                Action::Capture
            }
            _ => Action::HoldRunningOut,
        };
        return Ok(Planned::new(act_at, action, Reason::HoldExpiry));
    }
    Ok(capture_at.and_then(|at| Planned::new(at, Action::Capture, Reason::Policy)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::settings::{Percent, Share};
    use crate::money::Currency;
    use chrono::Duration;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn t0() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
    }

    fn balance(price: i64, paid: i64, held: i64, in_flight: i64) -> Balance {
        Balance {
            price: usd(price),
            paid: usd(paid),
            refunded: usd(0),
            in_flight: usd(in_flight),
            held: usd(held),
            refunds_in_flight: usd(0),
            balance_due: usd(price - paid),
        }
    }

    fn facts(balance: Balance) -> BookingFacts {
        BookingFacts {
            balance,
            hold_expires_at: None,
            booked_at: t0(),
            service_at: Some(t0() + Duration::days(21)),
            completed_at: None,
            canceled: false,
            paused: false,
            needs_attention: false,
            failures: None,
            checkout_until: None,
        }
    }

    fn settings(policy: PaymentPolicy) -> PaymentSettings {
        PaymentSettings {
            policy,
            ..PaymentSettings::default()
        }
    }

    fn plan(settings: &PaymentSettings, facts: &BookingFacts) -> Option<Planned> {
        next_action(settings, &RetrySchedule::default(), facts).expect("one currency")
    }

    #[test]
    fn each_policy_takes_the_balance_at_its_time() {
        let open = facts(balance(20_000, 0, 0, 0));
        let service = t0() + Duration::days(21);
        let lead = Duration::days(2);
        let cases = [
            (PaymentPolicy::Manual, None),
            (
                PaymentPolicy::ChargeAtBooking,
                Some((t0(), Action::Charge(usd(20_000)))),
            ),
            (
                PaymentPolicy::AuthorizeAtBooking,
                Some((t0(), Action::Hold(usd(20_000)))),
            ),
            (
                PaymentPolicy::AuthorizeBeforeService { lead },
                Some((service - lead, Action::Hold(usd(20_000)))),
            ),
            (
                PaymentPolicy::ChargeBeforeService { lead },
                Some((service - lead, Action::Charge(usd(20_000)))),
            ),
            // Not completed yet: nothing planned.
            (
                PaymentPolicy::ChargeAfterCompletion {
                    delay: Duration::hours(3),
                },
                None,
            ),
        ];
        for (policy, expected) in cases {
            let planned = plan(&settings(policy), &open).map(|p| (p.at, p.action));
            assert_eq!(planned, expected, "{}", policy.name());
        }
        let done = BookingFacts {
            completed_at: Some(service + Duration::hours(2)),
            ..open
        };
        let after = PaymentPolicy::ChargeAfterCompletion {
            delay: Duration::hours(3),
        };
        assert_eq!(
            plan(&settings(after), &done).map(|p| (p.at, p.action)),
            Some((service + Duration::hours(5), Action::Charge(usd(20_000))))
        );
    }

    #[test]
    fn an_open_checkout_defers_charges_and_holds_but_not_captures() {
        let until = t0() + Duration::hours(1);
        let checking_out = BookingFacts {
            checkout_until: Some(until),
            ..facts(balance(20_000, 0, 0, 0))
        };
        for (policy, action) in [
            (PaymentPolicy::ChargeAtBooking, Action::Charge(usd(20_000))),
            (PaymentPolicy::AuthorizeAtBooking, Action::Hold(usd(20_000))),
        ] {
            let planned = plan(&settings(policy), &checking_out).map(|p| (p.at, p.action));
            assert_eq!(planned, Some((until, action)), "{}", policy.name());
        }
        // A step already later than the checkout keeps its time.
        let lead = Duration::days(2);
        let service = t0() + Duration::days(21);
        let before = PaymentPolicy::ChargeBeforeService { lead };
        assert_eq!(
            plan(&settings(before), &checking_out).map(|p| p.at),
            Some(service - lead)
        );
        // A capture is the business's money already held: not the customer's checkout's.
        let held_and_done = BookingFacts {
            completed_at: Some(t0()),
            ..BookingFacts {
                checkout_until: Some(until),
                ..facts(balance(20_000, 0, 20_000, 0))
            }
        };
        assert_eq!(
            plan(&settings(PaymentPolicy::AuthorizeAtBooking), &held_and_done)
                .map(|p| (p.at, p.action)),
            Some((t0(), Action::Capture))
        );
    }

    #[test]
    fn a_booking_three_weeks_out_is_held_before_its_service_and_captured_after() {
        let lead = Duration::days(2);
        let policy = settings(PaymentPolicy::AuthorizeBeforeService { lead });
        let service = t0() + Duration::days(21);
        let held = BookingFacts {
            hold_expires_at: Some(service - lead + Duration::days(7)),
            ..facts(balance(20_000, 0, 20_000, 0))
        };
        // Until the service is done, the next thing is the hold's renewal, should the
        // completion not come before it.
        assert_eq!(
            plan(&policy, &held).map(|p| (p.at, p.action)),
            Some((
                service - lead + Duration::days(7) - Duration::hours(12),
                Action::RenewHold
            ))
        );
        let done = BookingFacts {
            completed_at: Some(service + Duration::hours(3)),
            ..held
        };
        assert_eq!(
            plan(&policy, &done).map(|p| (p.at, p.action)),
            Some((service + Duration::hours(3), Action::Capture))
        );
        let paid = BookingFacts {
            hold_expires_at: None,
            ..facts(balance(20_000, 20_000, 0, 0))
        };
        assert_eq!(plan(&policy, &paid), None);
    }

    #[test]
    fn a_hold_that_would_run_out_is_renewed_captured_or_told_as_the_business_says() {
        let expires = t0() + Duration::days(7);
        let held = BookingFacts {
            hold_expires_at: Some(expires),
            ..facts(balance(20_000, 0, 20_000, 0))
        };
        let act_at = expires - Duration::hours(12);
        let with = |renewal| PaymentSettings {
            hold_renewal: renewal,
            ..settings(PaymentPolicy::AuthorizeAtBooking)
        };
        let action = |s: &PaymentSettings, f: &BookingFacts| plan(s, f).map(|p| (p.at, p.action));
        assert_eq!(
            action(&with(HoldRenewal::Renew), &held),
            Some((act_at, Action::RenewHold))
        );
        assert_eq!(
            action(&with(HoldRenewal::CaptureIfDone), &held),
            Some((act_at, Action::HoldRunningOut)),
            "not done: staff are told"
        );
        let done_late = BookingFacts {
            completed_at: Some(act_at + Duration::hours(1)),
            ..held.clone()
        };
        assert_eq!(
            action(&with(HoldRenewal::CaptureIfDone), &done_late),
            Some((act_at, Action::HoldRunningOut)),
            "completed only after the hold must be acted on"
        );
        let done_early = BookingFacts {
            completed_at: Some(act_at + Duration::hours(1) - Duration::days(1)),
            ..held.clone()
        };
        assert_eq!(
            action(&with(HoldRenewal::CaptureIfDone), &done_early),
            Some((
                act_at - Duration::days(1) + Duration::hours(1),
                Action::Capture
            )),
            "done before the margin: captured at completion"
        );
        assert_eq!(
            action(&with(HoldRenewal::TellStaff), &held),
            Some((act_at, Action::HoldRunningOut))
        );
        // Staff's own hold under the manual policy: never touched, only told.
        assert_eq!(
            action(&settings(PaymentPolicy::Manual), &held),
            Some((act_at, Action::HoldRunningOut))
        );
    }

    #[test]
    fn a_deposit_comes_first_and_the_rest_by_the_policy() {
        let policy = PaymentSettings {
            deposit: Some(Share::Percent(Percent::parse("30").expect("percent"))),
            ..settings(PaymentPolicy::ChargeAfterCompletion {
                delay: Duration::zero(),
            })
        };
        let open = facts(balance(21_550, 0, 0, 0));
        assert_eq!(
            plan(&policy, &open).map(|p| (p.at, p.action, p.reason)),
            Some((t0(), Action::Charge(usd(6_465)), Reason::Deposit))
        );
        let deposit_paid = facts(balance(21_550, 6_465, 0, 0));
        assert_eq!(
            plan(&policy, &deposit_paid),
            None,
            "the rest after completion"
        );
        // A deposit larger than the price asks only the price.
        let fixed = PaymentSettings {
            deposit: Some(Share::fixed(usd(10_000)).expect("positive")),
            ..policy
        };
        let small = facts(balance(4_000, 0, 0, 0));
        assert_eq!(
            plan(&fixed, &small).map(|p| p.action),
            Some(Action::Charge(usd(4_000)))
        );
    }

    #[test]
    fn a_soft_decline_is_retried_and_a_hard_one_gives_up() {
        let policy = settings(PaymentPolicy::ChargeAtBooking);
        let failed = |count, last| BookingFacts {
            failures: Some(FailedAttempts {
                count,
                first_at: t0(),
                last_at: t0() + Duration::hours(i64::from(count)),
                last,
            }),
            ..facts(balance(20_000, 0, 0, 0))
        };
        let planned = |f: &BookingFacts| plan(&policy, f).map(|p| (p.at, p.action, p.reason));
        assert_eq!(
            planned(&failed(1, DeclineKind::Soft)),
            Some((
                t0() + Duration::days(1),
                Action::Charge(usd(20_000)),
                Reason::Retry
            ))
        );
        assert_eq!(
            planned(&failed(3, DeclineKind::Soft)).map(|p| p.0),
            Some(t0() + Duration::days(5))
        );
        assert_eq!(
            planned(&failed(4, DeclineKind::Soft)),
            Some((
                t0() + Duration::hours(4),
                Action::GiveUp,
                Reason::RetriesSpent
            ))
        );
        assert_eq!(
            planned(&failed(1, DeclineKind::Hard)),
            Some((
                t0() + Duration::hours(1),
                Action::GiveUp,
                Reason::RetriesSpent
            ))
        );
    }

    #[test]
    fn nothing_is_planned_while_canceled_paused_given_up_or_in_flight() {
        let policy = settings(PaymentPolicy::ChargeAtBooking);
        let open = facts(balance(20_000, 0, 0, 0));
        for stopped in [
            BookingFacts {
                canceled: true,
                ..open.clone()
            },
            BookingFacts {
                paused: true,
                ..open.clone()
            },
            BookingFacts {
                needs_attention: true,
                ..open.clone()
            },
            facts(balance(20_000, 0, 0, 5_000)),
        ] {
            assert_eq!(plan(&policy, &stopped), None, "{stopped:?}");
        }
    }

    fn any_policy() -> impl Strategy<Value = PaymentPolicy> {
        let hours = (0_i64..24 * 14).prop_map(Duration::hours);
        prop_oneof![
            Just(PaymentPolicy::Manual),
            Just(PaymentPolicy::ChargeAtBooking),
            Just(PaymentPolicy::AuthorizeAtBooking),
            hours
                .clone()
                .prop_map(|lead| PaymentPolicy::AuthorizeBeforeService { lead }),
            hours
                .clone()
                .prop_map(|lead| PaymentPolicy::ChargeBeforeService { lead }),
            hours.prop_map(|delay| PaymentPolicy::ChargeAfterCompletion { delay }),
        ]
    }

    proptest! {
        /// Whatever the policy, deposit and state, automation never asks for more than is due
        /// and not yet held, never for nothing, and never before the customer booked.
        #[test]
        fn automation_never_takes_more_than_is_uncovered(
            policy in any_policy(),
            deposit in proptest::option::of(1_u32..=10_000),
            price in 0_i64..1_000_000,
            paid in 0_i64..1_000_000,
            held in 0_i64..1_000_000,
            service_in in proptest::option::of(-100_i64..1_000),
            completed_after in proptest::option::of(0_i64..100),
            hold_days in proptest::option::of(0_i64..8),
        ) {
            let settings = PaymentSettings {
                deposit: deposit.and_then(Percent::from_basis_points).map(Share::Percent),
                ..settings(policy)
            };
            let service_at = service_in.map(|h| t0() + Duration::hours(h));
            let facts = BookingFacts {
                service_at,
                completed_at: service_at.zip(completed_after).map(|(s, h)| s + Duration::hours(h)),
                hold_expires_at: hold_days.filter(|_| held > 0).map(|d| t0() + Duration::days(d)),
                ..facts(balance(price, paid, held, 0))
            };
            let uncovered = (price - paid - held).max(0);
            if let Some(planned) = plan(&settings, &facts) {
                match planned.action {
                    Action::Charge(amount) | Action::Hold(amount) => {
                        let minor = amount.to_minor().expect("minor");
                        prop_assert!(minor > 0 && minor <= uncovered, "{planned:?} of {uncovered}");
                        prop_assert!(planned.at >= t0(), "{planned:?}");
                    }
                    Action::Capture | Action::RenewHold | Action::HoldRunningOut => {
                        prop_assert!(held > 0, "{planned:?}");
                    }
                    Action::GiveUp => prop_assert!(false, "no failure, no giving up"),
                }
                if planned.reason == Reason::HoldExpiry {
                    let expires = facts.hold_expires_at.expect("a hold that expires");
                    prop_assert!(planned.at < expires);
                }
            }
        }
    }
}
