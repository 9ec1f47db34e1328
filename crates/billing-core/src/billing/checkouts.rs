//! A booking page's checkout: the customer books on the business's own page, which starts a
//! checkout for the booking and sends them (or frames) the hosted page it answers. The page
//! does what the booking's payment policy asks at booking — charge what is due now (the
//! deposit, or all of it), place a hold, or only keep the card for the charges the policy
//! makes later — then returns to the business's page.
//!
//! A checkout is a link (a payment link for one booking, or a card request) that also carries
//! the booking, what the page does and the return URL. While it is open, automation takes
//! nothing for the booking: the customer is paying on the page. Once it is completed, or once
//! it has run out, automation goes on with what is left.

use chrono::Duration;

use super::Billing;
use crate::automation::{Action, BookingFacts, Planned, next_action};
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{BookingId, LinkId};
use crate::link::{Checkout, CheckoutStep, LinkPurpose, LinkedBooking, PaymentLink, ReturnUrl};
use crate::money::Money;
use crate::ports::BookingSchedule;

/// How long a checkout's page works: the customer is booking now.
pub fn checkout_lifetime() -> Duration {
    Duration::hours(1)
}

/// Start a checkout for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartCheckout {
    /// The booking the customer just made.
    pub booking: BookingId,
    /// The business's page to go back to (an absolute `https` URL; see [`ReturnUrl`]).
    pub return_url: String,
}

/// A checkout just started: the only time its page's URL (with the token) exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedCheckout {
    /// The checkout's link (its `checkout` is set).
    pub link: PaymentLink,
    /// Its page, to open or frame.
    pub url: String,
    /// What the page does.
    pub step: CheckoutStep,
    /// What it charges or holds (none when it only keeps the card).
    pub amount: Option<Money>,
}

/// A checkout as its pages need it: whose it is, and where it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutOfToken {
    /// The business's name.
    pub business_name: String,
    /// The checkout's link.
    pub link: LinkId,
    /// The checkout.
    pub checkout: Checkout,
}

impl Billing {
    /// The checkout of a token's link, whatever the link's state (its pages may be framed by
    /// the return URL's origin, and its last page returns there); `None` for any token that
    /// names no checkout.
    pub async fn checkout_of_token(&self, token: &str) -> Option<CheckoutOfToken> {
        let (business, link) = self.link_of_token(token).await.ok()?;
        Some(CheckoutOfToken {
            business_name: business.name,
            link: link.id,
            checkout: link.checkout?,
        })
    }

    /// Where staff go back to from a token's link that they opened at the desk, whatever the
    /// link's state; `None` for any other token.
    pub async fn desk_return_of_token(&self, token: &str) -> Option<crate::link::DeskReturn> {
        let (_, link) = self.link_of_token(token).await.ok()?;
        link.desk_return
    }

    /// Starts a checkout for a booking: decides what its page does from the booking's payment
    /// policy as the booking stands, and makes its link (working for an hour at most). Refused
    /// for a canceled booking ([`BillingError::BookingCanceled`]) or one with a payment in
    /// flight ([`BillingError::PaymentInFlight`]).
    pub async fn start_checkout(
        &self,
        business: &Business,
        command: StartCheckout,
    ) -> Result<StartedCheckout, BillingError> {
        self.pages()?;
        let return_url = ReturnUrl::parse(&command.return_url)?;
        let booking = &command.booking;
        let ledgers = self
            .ledgers(business, std::slice::from_ref(booking))
            .await?;
        let summary = ledgers.summary(booking)?.clone();
        let customer = self.customer(business, &summary.customer).await?;
        let now = self.now();
        let schedule = self
            .store
            .schedule(&business.id, booking)
            .await?
            .unwrap_or_else(|| BookingSchedule::new(booking.clone(), customer.id.clone(), now));
        if schedule.canceled_at.is_some() {
            return Err(BillingError::BookingCanceled(booking.clone()));
        }
        if summary.balance.in_flight.is_positive() {
            return Err(BillingError::PaymentInFlight(booking.clone()));
        }
        let (settings, facts) = self.facts(business, &schedule, &ledgers).await?;
        // The customer is here and paying themselves: what staff paused, or what automation
        // gave up on, does not stop them.
        let facts = BookingFacts {
            paused: false,
            needs_attention: false,
            failures: None,
            checkout_until: None,
            ..facts
        };
        let (step, amount) = due_at_booking(&facts, |facts| {
            next_action(&settings, &self.policy.retries, facts)
                .map(|planned| planned.filter(|p| p.at <= now))
        })?;
        let purpose = match amount {
            Some(amount) => {
                self.gateway.check_amount(&amount)?;
                LinkPurpose::Payment {
                    amount,
                    bookings: vec![LinkedBooking {
                        booking: booking.clone(),
                        amount,
                        balance_due: summary.balance.balance_due,
                    }],
                }
            }
            None => LinkPurpose::CardRequest,
        };
        let checkout = Checkout {
            booking: booking.clone(),
            step,
            return_url,
        };
        let issued = self
            .issue_checkout(business, &customer, purpose, checkout)
            .await?;
        let until = issued.link.expires_at;
        let account = ledgers.account(booking)?.clone();
        self.change_schedule(business, &account, |s| {
            s.checkout_until = Some(until);
            Ok(())
        })
        .await?;
        Ok(StartedCheckout {
            link: issued.link,
            url: issued.url,
            step,
            amount,
        })
    }

    /// A checkout's link was completed (paid, held, or a card kept): automation goes on with
    /// what is left for its booking at once, rather than when the checkout would have run out.
    pub(super) async fn checkout_completed(
        &self,
        business: &Business,
        link: &PaymentLink,
    ) -> Result<(), BillingError> {
        let Some(checkout) = &link.checkout else {
            return Ok(());
        };
        let ledgers = self
            .ledgers(business, std::slice::from_ref(&checkout.booking))
            .await?;
        let account = ledgers.account(&checkout.booking)?.clone();
        let now = self.now();
        self.change_schedule(business, &account, |s| {
            s.checkout_until = None;
            if s.canceled_at.is_none() {
                s.due_at = Some(s.due_at.map_or(now, |due| due.min(now)));
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }
}

/// What a checkout does for a booking whose facts are `facts`, given `due_now` (the policy's
/// next step when it is due now): charge all the charges due now in one payment (a deposit
/// and, under `charge_at_booking`, the rest), else place the hold due now, else only keep the
/// card. A hold due after a charge is left to automation, with the card the checkout kept.
fn due_at_booking<E>(
    facts: &BookingFacts,
    due_now: impl Fn(&BookingFacts) -> Result<Option<Planned>, E>,
) -> Result<(CheckoutStep, Option<Money>), BillingError>
where
    BillingError: From<E>,
{
    let mut facts = facts.clone();
    let mut charged: Option<Money> = None;
    // A policy has at most a deposit and one step at booking; the bound only guards the loop.
    for _ in 0..4 {
        match due_now(&facts)? {
            Some(Planned {
                action: Action::Charge(amount),
                ..
            }) if amount.is_positive() => {
                charged = Some(match charged {
                    Some(so_far) => so_far.checked_add(&amount)?,
                    None => amount,
                });
                // As if paid: what would be due next.
                facts.balance.paid = facts.balance.paid.checked_add(&amount)?;
                facts.balance.balance_due = facts.balance.balance_due.checked_sub(&amount)?;
            }
            Some(Planned {
                action: Action::Hold(amount),
                ..
            }) if charged.is_none() && amount.is_positive() => {
                return Ok((CheckoutStep::Hold, Some(amount)));
            }
            _ => break,
        }
    }
    Ok(match charged {
        Some(amount) => (CheckoutStep::Charge, Some(amount)),
        None => (CheckoutStep::SaveCard, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::{PaymentPolicy, PaymentSettings, RetrySchedule, Share};
    use crate::money::{Currency, MoneyError};
    use crate::status::Balance;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn t0() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
    }

    fn facts(price: i64, paid: i64, service_in_days: i64) -> BookingFacts {
        BookingFacts {
            balance: Balance {
                price: usd(price),
                paid: usd(paid),
                refunded: usd(0),
                in_flight: usd(0),
                held: usd(0),
                refunds_in_flight: usd(0),
                balance_due: usd(price - paid),
            },
            hold_expires_at: None,
            booked_at: t0(),
            service_at: Some(t0() + Duration::days(service_in_days)),
            completed_at: None,
            canceled: false,
            paused: false,
            needs_attention: false,
            failures: None,
            checkout_until: None,
        }
    }

    fn step(settings: &PaymentSettings, facts: &BookingFacts) -> (CheckoutStep, Option<Money>) {
        due_at_booking(facts, |f| {
            next_action(settings, &RetrySchedule::default(), f).map(|p| p.filter(|p| p.at <= t0()))
        })
        .expect("one currency")
    }

    fn settings(policy: PaymentPolicy, deposit: Option<Share>) -> PaymentSettings {
        PaymentSettings {
            policy,
            deposit,
            ..PaymentSettings::default()
        }
    }

    #[test]
    fn each_policy_asks_the_checkout_for_what_it_takes_at_booking() {
        let lead = Duration::days(2);
        let open = facts(20_000, 0, 21);
        let fixed = Some(Share::Fixed(usd(5_000)));
        let cases = [
            (
                settings(PaymentPolicy::Manual, None),
                (CheckoutStep::SaveCard, None),
            ),
            (
                settings(PaymentPolicy::ChargeAtBooking, None),
                (CheckoutStep::Charge, Some(usd(20_000))),
            ),
            (
                settings(PaymentPolicy::AuthorizeAtBooking, None),
                (CheckoutStep::Hold, Some(usd(20_000))),
            ),
            (
                settings(PaymentPolicy::AuthorizeBeforeService { lead }, None),
                (CheckoutStep::SaveCard, None),
            ),
            (
                settings(PaymentPolicy::ChargeBeforeService { lead }, None),
                (CheckoutStep::SaveCard, None),
            ),
            // The deposit now, the rest later (the card is kept for it).
            (
                settings(PaymentPolicy::ChargeBeforeService { lead }, fixed),
                (CheckoutStep::Charge, Some(usd(5_000))),
            ),
            // The deposit and the hold are both due now: the deposit here, the hold by
            // automation right after, on the card kept.
            (
                settings(PaymentPolicy::AuthorizeAtBooking, fixed),
                (CheckoutStep::Charge, Some(usd(5_000))),
            ),
            // Everything at booking anyway: one charge for it all.
            (
                settings(PaymentPolicy::ChargeAtBooking, fixed),
                (CheckoutStep::Charge, Some(usd(20_000))),
            ),
        ];
        for (settings, expected) in cases {
            assert_eq!(step(&settings, &open), expected, "{settings:?}");
        }
        // A service sooner than the lead: charged now, while the customer is here.
        let tomorrow = facts(20_000, 0, 1);
        assert_eq!(
            step(
                &settings(PaymentPolicy::ChargeBeforeService { lead }, None),
                &tomorrow
            ),
            (CheckoutStep::Charge, Some(usd(20_000)))
        );
        // Nothing owed: only the card.
        let paid = facts(20_000, 20_000, 21);
        assert_eq!(
            step(&settings(PaymentPolicy::ChargeAtBooking, None), &paid),
            (CheckoutStep::SaveCard, None)
        );
    }

    #[test]
    fn a_planner_that_fails_fails_the_checkout() {
        let refused = due_at_booking(&facts(100, 0, 1), |_| {
            Err::<Option<Planned>, _>(MoneyError::CurrencyMismatch {
                left: Currency::USD,
                right: Currency::EUR,
            })
        });
        assert!(matches!(refused, Err(BillingError::InvalidAmount(_))));
    }

    proptest! {
        /// Whatever the policy and the deposit, a checkout never charges or holds more than
        /// the booking owes, nor nothing.
        #[test]
        fn a_checkout_takes_no_more_than_the_balance_due(
            price in 1_i64..1_000_000,
            paid_part in 0_u32..=100,
            deposit_minor in 0_i64..1_200_000,
            percent in 0_u32..=100,
            use_percent in any::<bool>(),
            policy in 0_usize..6,
            service_in_days in 0_i64..30,
        ) {
            let paid = price * i64::from(paid_part) / 100;
            let lead = Duration::days(2);
            let policy = [
                PaymentPolicy::Manual,
                PaymentPolicy::ChargeAtBooking,
                PaymentPolicy::AuthorizeAtBooking,
                PaymentPolicy::AuthorizeBeforeService { lead },
                PaymentPolicy::ChargeBeforeService { lead },
                PaymentPolicy::ChargeAfterCompletion { delay: lead },
            ][policy];
            let deposit = if use_percent {
                crate::automation::Percent::parse(&percent.to_string()).ok().map(Share::Percent)
            } else {
                Share::fixed(usd(deposit_minor)).ok()
            };
            let facts = facts(price, paid, service_in_days);
            let (step, amount) = step(&settings(policy, deposit), &facts);
            match amount {
                Some(amount) => {
                    prop_assert!(amount.is_positive());
                    prop_assert!(
                        amount.checked_cmp(&usd(price - paid)).is_ok_and(|o| o.is_le()),
                        "{amount} of {}", price - paid
                    );
                    prop_assert!(step != CheckoutStep::SaveCard);
                }
                None => prop_assert_eq!(step, CheckoutStep::SaveCard),
            }
        }
    }
}
