//! Failed automatic charges: which declines are worth trying again, and when.

use chrono::{DateTime, Duration, Utc};

use crate::payment::{AUTHENTICATION_REQUIRED, Failure};

/// Whether a declined card may succeed later with nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineKind {
    /// It may (`insufficient_funds`, `try_again_later`, an issuer's generic refusal): tried
    /// again on the schedule.
    Soft,
    /// It will not until someone acts (`stolen_card`, `incorrect_number`, an expired card, a
    /// card that asks the customer to authenticate): never tried again automatically.
    Hard,
}

/// Decline codes (Stripe's, which the sandbox shares) that trying again cannot turn into a
/// payment. Any other code is soft: issuers use generic codes for passing refusals too, and
/// the schedule is short.
const HARD_DECLINES: &[&str] = &[
    AUTHENTICATION_REQUIRED,
    "card_not_supported",
    "currency_not_supported",
    "do_not_try_again",
    "expired_card",
    "fraudulent",
    "incorrect_cvc",
    "incorrect_number",
    "invalid_account",
    "invalid_cvc",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "invalid_number",
    "lost_card",
    "merchant_blacklist",
    "new_account_information_available",
    "pickup_card",
    "restricted_card",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "security_violation",
    "stolen_card",
    "stop_payment_order",
    "transaction_not_allowed",
];

impl DeclineKind {
    /// The kind of a failed attempt, from its decline code (or its code when the gateway gave
    /// none).
    pub fn of(failure: &Failure) -> DeclineKind {
        let code = failure.decline_code.as_deref().unwrap_or(&failure.code);
        if HARD_DECLINES.contains(&code) {
            DeclineKind::Hard
        } else {
            DeclineKind::Soft
        }
    }
}

/// When a failed automatic charge is tried again: each delay counts from the first failure,
/// so a slow attempt does not push the later ones back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The delays after the first failure, in increasing order.
    after_first_failure: Vec<Duration>,
}

/// Why a retry schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retry delays must be positive and increasing, at most ten of them")]
pub struct RetryScheduleError;

impl Default for RetrySchedule {
    /// One, three and five days after the first failure.
    fn default() -> Self {
        RetrySchedule {
            after_first_failure: vec![Duration::days(1), Duration::days(3), Duration::days(5)],
        }
    }
}

impl RetrySchedule {
    /// A schedule of positive, increasing delays (none: never tried again).
    pub fn new(after_first_failure: Vec<Duration>) -> Result<RetrySchedule, RetryScheduleError> {
        let increasing = after_first_failure.windows(2).all(|w| w[0] < w[1]);
        let positive = after_first_failure.iter().all(|d| *d > Duration::zero());
        if !increasing || !positive || after_first_failure.len() > 10 {
            return Err(RetryScheduleError);
        }
        Ok(RetrySchedule {
            after_first_failure,
        })
    }

    /// The delays after the first failure.
    pub fn delays(&self) -> &[Duration] {
        &self.after_first_failure
    }

    /// When to try again after `failures` failed attempts (the first at `first_failed_at`),
    /// the last with `last`: `None` when the decline is hard or the schedule is spent.
    pub fn next_attempt(
        &self,
        first_failed_at: DateTime<Utc>,
        failures: u32,
        last: DeclineKind,
    ) -> Option<DateTime<Utc>> {
        if last == DeclineKind::Hard || failures == 0 {
            return None;
        }
        let index = usize::try_from(failures - 1).ok()?;
        self.after_first_failure
            .get(index)
            .map(|delay| first_failed_at + *delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn declined(code: &str) -> Failure {
        Failure {
            code: "card_declined".into(),
            decline_code: Some(code.into()),
            message: String::new(),
        }
    }

    #[test]
    fn declines_are_soft_unless_known_hard() {
        assert_eq!(
            DeclineKind::of(&declined("insufficient_funds")),
            DeclineKind::Soft
        );
        assert_eq!(
            DeclineKind::of(&declined("generic_decline")),
            DeclineKind::Soft
        );
        assert_eq!(DeclineKind::of(&declined("stolen_card")), DeclineKind::Hard);
        assert_eq!(
            DeclineKind::of(&declined("incorrect_number")),
            DeclineKind::Hard
        );
        assert_eq!(
            DeclineKind::of(&Failure::authentication_required()),
            DeclineKind::Hard
        );
        let expired = Failure {
            code: "expired_card".into(),
            decline_code: None,
            message: String::new(),
        };
        assert_eq!(DeclineKind::of(&expired), DeclineKind::Hard);
    }

    #[test]
    fn a_soft_decline_is_tried_one_three_and_five_days_after_the_first_failure() {
        let schedule = RetrySchedule::default();
        let first = DateTime::<Utc>::UNIX_EPOCH;
        let next = |failures| schedule.next_attempt(first, failures, DeclineKind::Soft);
        assert_eq!(next(1), Some(first + Duration::days(1)));
        assert_eq!(next(2), Some(first + Duration::days(3)));
        assert_eq!(next(3), Some(first + Duration::days(5)));
        assert_eq!(next(4), None, "spent");
        assert_eq!(next(0), None, "nothing failed yet");
        assert_eq!(schedule.next_attempt(first, 1, DeclineKind::Hard), None);
    }

    #[test]
    fn a_schedule_must_increase() {
        assert!(RetrySchedule::new(vec![Duration::days(2), Duration::days(1)]).is_err());
        assert!(RetrySchedule::new(vec![Duration::zero()]).is_err());
        assert!(RetrySchedule::new(vec![]).is_ok());
    }

    proptest! {
        /// Attempts come later and later, and stop after the schedule's length.
        #[test]
        fn attempts_move_forward_and_end(delays in proptest::collection::btree_set(1_i64..10_000, 0..6)) {
            let schedule = RetrySchedule::new(delays.iter().map(|m| Duration::minutes(*m)).collect())
                .expect("increasing");
            let first = DateTime::<Utc>::UNIX_EPOCH;
            let mut last = first;
            for failures in 1..=u32::try_from(delays.len()).expect("small") {
                let next = schedule.next_attempt(first, failures, DeclineKind::Soft).expect("scheduled");
                prop_assert!(next > last);
                last = next;
            }
            let spent = u32::try_from(delays.len() + 1).expect("small");
            prop_assert_eq!(schedule.next_attempt(first, spent, DeclineKind::Soft), None);
        }
    }
}
