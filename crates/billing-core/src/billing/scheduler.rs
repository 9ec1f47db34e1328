//! The scheduler's run: bookings whose time came are taken from the store under a lease,
//! planned again from the booking as it is now ([`next_action`]), and acted on.
//!
//! A money move's idempotency key is derived from the booking, the step, the attempt and the
//! version of the booking's ledger it was decided from. Two schedulers (or one restarted after
//! a crash) that decide from the same ledger make the same key, so the core's idempotency
//! lets one move through; one that decides after the other's payment opened sees it in flight
//! and waits. Neither a second process nor a restart can act twice.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::Billing;
use super::commands::{CardPayment, PaymentSource};
use super::holds::CaptureHold;
use super::ledgers::Ledgers;
use super::links::{CreatePaymentLink, Sending};
use crate::automation::{
    Action, BookingFacts, DeclineKind, FailedAttempts, PaymentSettings, Planned, Reason,
    card_expired_by, next_action,
};
use crate::customer::{Business, Customer};
use crate::email::{
    AutomationConcern, AutomationNoticeData, CardLabel, EmailContent, PaymentFailedData,
    UpcomingChargeData,
};
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, BusinessId, PaymentId};
use crate::money::Amount;
use crate::payment::{KindName, Origin, Payment, PaymentState};
use crate::phone::PhoneNumber;
use crate::ports::{AutomationRun, BookingSchedule, RunFilter, RunOutcome};
use crate::receipt::{Outcome, Receipt};

/// What one run of the scheduler did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerReport {
    /// Bookings taken because their time came.
    pub taken: usize,
    /// Runs made (money moves and notices), as recorded in the history.
    pub runs: Vec<(BusinessId, AutomationRun)>,
    /// Bookings that could not be looked at (the store or a business unreachable): taken again
    /// when their lease runs out.
    pub errors: Vec<(BusinessId, BookingId, String)>,
}

/// What acting did, before it is recorded.
struct Acted {
    outcome: RunOutcome,
    payment: Option<PaymentId>,
}

impl Acted {
    fn of(receipt: &Receipt) -> Acted {
        let outcome = match receipt.outcome() {
            Outcome::Settled => RunOutcome::Succeeded,
            Outcome::Pending => RunOutcome::Pending,
            Outcome::Declined(failure) => RunOutcome::Declined {
                code: failure
                    .decline_code
                    .clone()
                    .unwrap_or_else(|| failure.code.clone()),
                kind: DeclineKind::of(failure),
            },
        };
        Acted {
            outcome,
            payment: Some(receipt.payment.id.clone()),
        }
    }

    fn notified() -> Acted {
        Acted {
            outcome: RunOutcome::Notified,
            payment: None,
        }
    }
}

/// The key of an automatic money move (see the module's docs).
fn move_key(
    booking: &BookingId,
    planned: &Planned,
    attempt: u32,
    version: u64,
) -> Result<IdempotencyKey, BillingError> {
    let action = match planned.action {
        Action::Charge(_) => "charge",
        Action::Hold(_) => "hold",
        Action::Capture => "capture",
        Action::RenewHold => "renew",
        Action::HoldRunningOut => "told",
        Action::GiveUp => "give-up",
    };
    let reason = match planned.reason {
        Reason::Deposit => "deposit",
        Reason::Policy => "policy",
        Reason::HoldExpiry => "hold-expiry",
        Reason::Retry => "retry",
        Reason::RetriesSpent => "retries-spent",
    };
    IdempotencyKey::new(format!(
        "auto:{booking}:{reason}:{action}:{attempt}:v{version}"
    ))
    .map_err(|_| BillingError::InvalidInput("an automation key could not be made"))
}

/// The booking's open holds, the one running out first first.
fn open_holds<'a>(ledgers: &'a Ledgers, booking: &BookingId) -> Vec<&'a Payment> {
    let mut holds: Vec<&Payment> = ledgers
        .payments
        .iter()
        .filter(|p| {
            p.kind.name() == KindName::Authorization
                && matches!(
                    p.state,
                    PaymentState::Authorized | PaymentState::PartiallyCaptured
                )
                && p.hold_expires_at.is_none_or(|at| ledgers.now < at)
                && p.allocations.iter().any(|a| &a.booking == booking)
        })
        .collect();
    holds.sort_by_key(|p| p.hold_expires_at);
    holds
}

impl Billing {
    /// Runs what is due now: takes at most `limit` bookings whose time came (of every
    /// business), plans each again from the booking as it is, and acts — charges, holds,
    /// captures, renews holds, tells the customer and the business — recording each run. A
    /// booking that cannot be looked at is left to be taken again when its lease runs out.
    ///
    /// # Errors
    /// Only when the store cannot be asked what is due; a booking's own failure is in the
    /// report.
    pub async fn run_due(&self, limit: u32) -> Result<SchedulerReport, BillingError> {
        let now = self.now();
        let taken = self
            .store
            .take_due(now, now + self.policy.automation_lease, limit)
            .await?;
        let mut businesses: BTreeMap<BusinessId, Option<Business>> = BTreeMap::new();
        for due in &taken {
            if !businesses.contains_key(&due.business) {
                let found = self.store.business(&due.business).await?;
                businesses.insert(due.business.clone(), found);
            }
        }
        let mut report = SchedulerReport {
            taken: taken.len(),
            ..SchedulerReport::default()
        };
        let businesses = &businesses;
        let results: Vec<_> = futures_util::stream::iter(taken)
            .map(|due| async move {
                let outcome = match businesses.get(&due.business).and_then(Option::as_ref) {
                    Some(business) => self.run_booking(business, due.schedule.clone()).await,
                    None => Err(BillingError::InvalidInput("no such business")),
                };
                (due, outcome)
            })
            .buffer_unordered(self.policy.bulk.concurrency.max(1))
            .collect()
            .await;
        for (due, outcome) in results {
            match outcome {
                Ok(runs) => report
                    .runs
                    .extend(runs.into_iter().map(|run| (due.business.clone(), run))),
                Err(error) => {
                    report
                        .errors
                        .push((due.business, due.schedule.booking, error.to_string()));
                }
            }
        }
        Ok(report)
    }

    /// Plans one booking again and acts if something is due; saves its record.
    async fn run_booking(
        &self,
        business: &Business,
        mut schedule: BookingSchedule,
    ) -> Result<Vec<AutomationRun>, BillingError> {
        let now = self.now();
        let booking = schedule.booking.clone();
        let ledgers = match self.ledgers(business, std::slice::from_ref(&booking)).await {
            Ok(ledgers) => ledgers,
            Err(BillingError::BookingNotFound(_)) => {
                schedule.next = None;
                schedule.due_at = None;
                self.save_run_result(business, schedule, |_| {}).await?;
                return Ok(Vec::new());
            }
            Err(error) => return Err(error),
        };
        let summary = ledgers.summary(&booking)?.clone();
        if schedule.canceled_at.is_some() {
            schedule.next = None;
            schedule.due_at = None;
            self.save_run_result(business, schedule, |_| {}).await?;
            return Ok(Vec::new());
        }
        // Settled some other way (staff charged, the customer paid the link): the flag goes.
        if schedule.needs_attention
            && !summary.balance.balance_due.is_positive()
            && !summary.balance.held.is_positive()
        {
            schedule.needs_attention = false;
            schedule.failures = None;
        }
        let (effective, facts) = self.facts(business, &schedule, &ledgers).await?;
        if summary.balance.in_flight.is_positive() {
            // A payment being settled decides what is left: looked at again after the sweep
            // had its chance to settle it.
            schedule.next = None;
            schedule.due_at = Some(now + self.policy.reconcile_after);
            self.save_run_result(business, schedule, |_| {}).await?;
            return Ok(Vec::new());
        }
        let planned = next_action(&effective, &self.policy.retries, &facts)?;
        let Some(planned) = planned else {
            schedule.next = None;
            schedule.due_at = schedule
                .needs_attention
                .then(|| now + self.policy.automation_recheck);
            self.save_run_result(business, schedule, |_| {}).await?;
            return Ok(Vec::new());
        };
        let mut runs = Vec::new();
        let attempt = schedule.failures.map_or(1, |f| f.count + 1);
        if matches!(planned.action, Action::Charge(_) | Action::Hold(_))
            && let Some(run) = self
                .flag_expiring_card(business, &mut schedule, &ledgers, &planned, attempt)
                .await?
        {
            runs.push(run);
        }
        if planned.at > now {
            let notice_at = effective
                .upcoming_notice
                .filter(|_| {
                    matches!(planned.action, Action::Charge(_) | Action::Hold(_))
                        && matches!(planned.reason, Reason::Policy)
                })
                .map(|lead| planned.at - lead);
            let mut wake = planned.at;
            if let Some(notice_at) = notice_at {
                if notice_at > now {
                    wake = notice_at;
                } else if let Some(run) = self
                    .notify_upcoming(business, &schedule, &ledgers, &planned, attempt)
                    .await?
                {
                    runs.push(run);
                }
            }
            schedule.next = Some(planned);
            schedule.due_at = Some(wake);
            self.save_run_result(business, schedule, |_| {}).await?;
            return Ok(runs);
        }
        let key = move_key(&booking, &planned, attempt, ledgers.version(&booking))?;
        let acted = match self
            .act(business, &schedule, &ledgers, &planned, &key)
            .await
        {
            Ok(acted) => acted,
            // Just booked with no card yet: the booking page may be about to start its
            // checkout (between storing the booking and starting it, the scheduler may run).
            // Tried again later, by when the checkout holds automation back or has ended.
            Err(BillingError::NoCardOnFile(_))
                if now < schedule.booked_at + super::checkout_lifetime() =>
            {
                Acted {
                    outcome: RunOutcome::Failed(
                        "no card on file yet: the customer may be checking out".to_owned(),
                    ),
                    payment: None,
                }
            }
            // No card to charge is a decline no retry mends: the customer gets a link.
            Err(BillingError::NoCardOnFile(_)) => Acted {
                outcome: RunOutcome::Declined {
                    code: "no_card_on_file".to_owned(),
                    kind: DeclineKind::Hard,
                },
                payment: None,
            },
            Err(
                error @ (BillingError::Ledger(_)
                | BillingError::Schedules(_)
                | BillingError::Businesses(_)),
            ) => return Err(error),
            Err(error) => Acted {
                outcome: RunOutcome::Failed(error.to_string()),
                payment: None,
            },
        };
        let run = AutomationRun {
            id: self.ids.run_id(),
            booking: booking.clone(),
            customer: schedule.customer.clone(),
            at: now,
            action: planned.action,
            reason: planned.reason,
            attempt,
            payment: acted.payment.clone(),
            outcome: acted.outcome.clone(),
        };
        self.store.record_run(&business.id, &run).await?;
        runs.push(run);
        let recheck = self.policy.automation_recheck;
        let reconcile_after = self.policy.reconcile_after;
        let outcome = acted.outcome;
        self.save_run_result(business, schedule, move |s| {
            s.next = None;
            match &outcome {
                // Plan again at once: a deposit is followed by the rest, a renewed hold by
                // its capture.
                RunOutcome::Succeeded => {
                    s.failures = None;
                    s.due_at = Some(now);
                }
                RunOutcome::Pending => s.due_at = Some(now + reconcile_after),
                RunOutcome::Declined { kind, .. } => {
                    s.failures = Some(match s.failures {
                        Some(f) => FailedAttempts {
                            count: f.count + 1,
                            last_at: now,
                            last: *kind,
                            ..f
                        },
                        None => FailedAttempts {
                            count: 1,
                            first_at: now,
                            last_at: now,
                            last: *kind,
                        },
                    });
                    s.due_at = Some(now);
                }
                RunOutcome::Notified => {
                    s.needs_attention = true;
                    s.due_at = Some(now + recheck);
                }
                RunOutcome::Failed(_) => s.due_at = Some(now + recheck),
            }
        })
        .await?;
        Ok(runs)
    }

    /// The settings in force for a booking, and what automation knows of it.
    pub(super) async fn facts(
        &self,
        business: &Business,
        schedule: &BookingSchedule,
        ledgers: &Ledgers,
    ) -> Result<(PaymentSettings, BookingFacts), BillingError> {
        let booking = &schedule.booking;
        let summary = ledgers.summary(booking)?;
        let account = ledgers.account(booking)?;
        let settings = self.payment_settings(business).await?;
        let effective = PaymentSettings {
            policy: schedule.policy.unwrap_or(settings.policy),
            ..settings
        };
        let customer_paused = self
            .store
            .customer_paused(&business.id, &schedule.customer)
            .await?;
        let facts = BookingFacts {
            balance: summary.balance,
            hold_expires_at: open_holds(ledgers, booking)
                .first()
                .and_then(|h| h.hold_expires_at),
            booked_at: schedule.booked_at,
            service_at: account.service_at,
            completed_at: account.completed_at,
            canceled: schedule.canceled_at.is_some(),
            paused: schedule.paused || customer_paused,
            needs_attention: schedule.needs_attention,
            failures: schedule.failures,
            // Until the grace has passed, the booking page may be about to start a checkout.
            checkout_until: schedule
                .checkout_until
                .max(Some(schedule.booked_at + self.policy.checkout_grace)),
        };
        Ok((effective, facts))
    }

    /// What automation would do next for a booking as it stands now (for people to read: the
    /// scheduler plans again when the time comes).
    pub(super) async fn plan_now(
        &self,
        business: &Business,
        schedule: &BookingSchedule,
    ) -> Result<Option<Planned>, BillingError> {
        let ledgers = self
            .ledgers(business, std::slice::from_ref(&schedule.booking))
            .await?;
        let (settings, facts) = self.facts(business, schedule, &ledgers).await?;
        Ok(next_action(&settings, &self.policy.retries, &facts)?)
    }

    /// Makes the planned move or notice.
    async fn act(
        &self,
        business: &Business,
        schedule: &BookingSchedule,
        ledgers: &Ledgers,
        planned: &Planned,
        key: &IdempotencyKey,
    ) -> Result<Acted, BillingError> {
        let booking = &schedule.booking;
        let card_payment = |amount, hold, replacing| CardPayment {
            booking,
            amount,
            source: &PaymentSource::CardOnFile,
            key: Some(key),
            hold,
            refuse_duplicates: false,
            origin: Origin::Automation,
            replacing,
            tip: None,
        };
        match planned.action {
            Action::Charge(amount) => {
                let payment = card_payment(Some(Amount::from(amount)), false, None);
                Ok(Acted::of(&self.send_paced(business, &payment).await?))
            }
            Action::Hold(amount) => {
                let payment = card_payment(Some(Amount::from(amount)), true, None);
                Ok(Acted::of(&self.send_paced(business, &payment).await?))
            }
            Action::Capture => {
                let Some(hold) = open_holds(ledgers, booking).first().map(|h| h.id.clone()) else {
                    return Err(BillingError::InvalidInput("no open hold to capture"));
                };
                let command = CaptureHold {
                    authorization: hold,
                    amount: None,
                    final_capture: true,
                    idempotency_key: Some(key.clone()),
                };
                let receipt = self
                    .capture_as(business, command, Origin::Automation)
                    .await?;
                Ok(Acted::of(&receipt))
            }
            Action::RenewHold => {
                let Some(old) = open_holds(ledgers, booking).first().map(|h| h.id.clone()) else {
                    return Err(BillingError::InvalidInput("no open hold to renew"));
                };
                let remaining = crate::status::hold_remaining(
                    ledgers.payment(&old)?,
                    booking,
                    &ledgers.payments,
                )?;
                let payment = card_payment(Some(Amount::from(remaining)), true, Some(&old));
                let receipt = self.send_paced(business, &payment).await?;
                if matches!(receipt.outcome(), Outcome::Settled) {
                    // The new hold is placed: the old one goes. Should the release fail, the old
                    // hold simply runs out (the sweep records it); the new one is what
                    // automation captures, since it runs out last.
                    let _released = self.cancel_hold(business, &old).await;
                }
                Ok(Acted::of(&receipt))
            }
            Action::HoldRunningOut => {
                let expires_at = open_holds(ledgers, booking)
                    .first()
                    .and_then(|h| h.hold_expires_at)
                    .unwrap_or(planned.at);
                self.tell_business(
                    business,
                    schedule,
                    ledgers,
                    AutomationConcern::HoldRunningOut { expires_at },
                )
                .await?;
                Ok(Acted::notified())
            }
            Action::GiveUp => {
                self.give_up(business, schedule, ledgers).await?;
                Ok(Acted::notified())
            }
        }
    }

    /// Retries spent: the customer is sent the failed-payment email with a payment link, the
    /// business is told.
    async fn give_up(
        &self,
        business: &Business,
        schedule: &BookingSchedule,
        ledgers: &Ledgers,
    ) -> Result<(), BillingError> {
        let booking = &schedule.booking;
        let last_failure = ledgers
            .payments
            .iter()
            .filter(|p| {
                p.origin == Origin::Automation
                    && p.allocations.iter().any(|a| &a.booking == booking)
            })
            .filter_map(|p| match &p.state {
                PaymentState::Failed(failure) => Some((p, failure)),
                _ => None,
            })
            .max_by_key(|(p, _)| p.created_at);
        let reason = last_failure.map_or_else(
            || "No card on file.".to_owned(),
            |(_, failure)| failure.message.clone(),
        );
        let customer = self.customer(business, &schedule.customer).await?;
        let summary = ledgers.summary(booking)?;
        let phone = self.textable(&customer).await?;
        if (customer.email.is_some() || phone.is_some())
            && summary.balance.chargeable().is_positive()
        {
            let link = self
                .create_payment_link(
                    business,
                    CreatePaymentLink {
                        customer: customer.id.clone(),
                        bookings: vec![booking.clone()],
                        amount: None,
                        send: Sending::NOT,
                    },
                )
                .await?;
            let tried = last_failure.and_then(|(p, _)| match &p.kind {
                crate::payment::PaymentKind::Charge { card }
                | crate::payment::PaymentKind::Authorization { card } => {
                    Some(card.payment_method.clone())
                }
                _ => None,
            });
            let cards = self.store.cards(&business.id, &customer.id).await?;
            let card = cards
                .iter()
                .find(|c| Some(&c.payment_method) == tried.as_ref())
                .map(CardLabel::from);
            let content = EmailContent::PaymentFailed(PaymentFailedData {
                business_name: business.name.clone(),
                customer_name: customer.name.clone(),
                amount: summary.balance.chargeable(),
                card,
                reason: reason.clone(),
                bookings: Self::lines(ledgers, std::slice::from_ref(booking)),
                url: Some(link.url),
            });
            self.notify_customer(business, &customer, phone, &content)
                .await?;
        }
        self.tell_business(
            business,
            schedule,
            ledgers,
            AutomationConcern::RetriesSpent { reason },
        )
        .await
    }

    /// Queues a notice to the customer by email, when they have an address, and by text to
    /// `phone` (their number, when it takes texts).
    async fn notify_customer(
        &self,
        business: &Business,
        customer: &Customer,
        phone: Option<PhoneNumber>,
        content: &EmailContent,
    ) -> Result<(), BillingError> {
        if let Some(to) = &customer.email {
            self.queue_email(&business.id, &customer.id, to, content)
                .await?;
        }
        if let Some(phone) = phone {
            self.queue_text(&business.id, &customer.id, &phone, content)
                .await?;
        }
        Ok(())
    }

    /// Tells the business about a booking, when it has an address.
    async fn tell_business(
        &self,
        business: &Business,
        schedule: &BookingSchedule,
        ledgers: &Ledgers,
        concern: AutomationConcern,
    ) -> Result<(), BillingError> {
        let Some(to) = business.email.clone() else {
            return Ok(());
        };
        let customer = self.customer(business, &schedule.customer).await?;
        let content = EmailContent::AutomationNotice(AutomationNoticeData {
            business_name: business.name.clone(),
            customer_name: customer.name,
            booking: schedule.booking.to_string(),
            bookings: Self::lines(ledgers, std::slice::from_ref(&schedule.booking)),
            concern,
        });
        self.queue_email(&business.id, &schedule.customer, &to, &content)
            .await?;
        Ok(())
    }

    /// The card on file runs out before a planned charge or hold: the customer is asked for
    /// a new card and the business told, once per card.
    async fn flag_expiring_card(
        &self,
        business: &Business,
        schedule: &mut BookingSchedule,
        ledgers: &Ledgers,
        planned: &Planned,
        attempt: u32,
    ) -> Result<Option<AutomationRun>, BillingError> {
        let cards = self.store.cards(&business.id, &schedule.customer).await?;
        let card = cards
            .iter()
            .find(|c| c.is_default)
            .or(match cards.as_slice() {
                [only] => Some(only),
                _ => None,
            });
        let Some(card) = card else {
            return Ok(None);
        };
        if !card_expired_by(card.exp_month, card.exp_year, planned.at)
            || schedule.card_flagged.as_deref() == Some(card.payment_method.as_str())
        {
            return Ok(None);
        }
        let customer = self.customer(business, &schedule.customer).await?;
        let send = Sending {
            email: customer.email.is_some(),
            text: self.textable(&customer).await?.is_some(),
        };
        let outcome = if send != Sending::NOT && self.pages.is_some() {
            self.request_card(business, &customer.id, send).await?;
            RunOutcome::Notified
        } else {
            RunOutcome::Failed("the customer could not be asked for a new card".to_owned())
        };
        self.tell_business(
            business,
            schedule,
            ledgers,
            AutomationConcern::CardExpiring {
                card: CardLabel::from(card),
                due_at: planned.at,
            },
        )
        .await?;
        schedule.card_flagged = Some(card.payment_method.clone());
        let run = AutomationRun {
            id: self.ids.run_id(),
            booking: schedule.booking.clone(),
            customer: schedule.customer.clone(),
            at: self.now(),
            action: planned.action,
            reason: planned.reason,
            attempt,
            payment: None,
            outcome,
        };
        self.store.record_run(&business.id, &run).await?;
        Ok(Some(run))
    }

    /// The customer is told of an automatic charge or hold coming, once for it.
    async fn notify_upcoming(
        &self,
        business: &Business,
        schedule: &BookingSchedule,
        ledgers: &Ledgers,
        planned: &Planned,
        attempt: u32,
    ) -> Result<Option<AutomationRun>, BillingError> {
        let (amount, hold) = match planned.action {
            Action::Charge(amount) => (amount, false),
            Action::Hold(amount) => (amount, true),
            _ => return Ok(None),
        };
        // Told already for this step (a replan wakes the booking again within the window).
        let told = self
            .store
            .runs(
                &business.id,
                &RunFilter {
                    booking: Some(schedule.booking.clone()),
                    outcome: Some("notified"),
                    limit: 5,
                    ..RunFilter::default()
                },
            )
            .await?
            .iter()
            .any(|r| r.action == planned.action && r.reason == planned.reason);
        let customer = self.customer(business, &schedule.customer).await?;
        let phone = self.textable(&customer).await?;
        if told || (customer.email.is_none() && phone.is_none()) {
            return Ok(None);
        }
        let cards = self.store.cards(&business.id, &customer.id).await?;
        let content = EmailContent::UpcomingCharge(UpcomingChargeData {
            business_name: business.name.clone(),
            customer_name: customer.name.clone(),
            amount,
            hold,
            card: cards.iter().find(|c| c.is_default).map(CardLabel::from),
            at: planned.at,
            bookings: Self::lines(ledgers, std::slice::from_ref(&schedule.booking)),
        });
        self.notify_customer(business, &customer, phone, &content)
            .await?;
        let run = AutomationRun {
            id: self.ids.run_id(),
            booking: schedule.booking.clone(),
            customer: customer.id,
            at: self.now(),
            action: planned.action,
            reason: planned.reason,
            attempt,
            payment: None,
            outcome: RunOutcome::Notified,
        };
        self.store.record_run(&business.id, &run).await?;
        Ok(Some(run))
    }

    /// Saves a booking's record after a run. When staff changed it meanwhile (paused it, gave
    /// it a policy), the run's result is applied to their version, which is due at once.
    async fn save_run_result<F>(
        &self,
        business: &Business,
        mut schedule: BookingSchedule,
        apply: F,
    ) -> Result<(), BillingError>
    where
        F: Fn(&mut BookingSchedule) + Send + Sync,
    {
        apply(&mut schedule);
        for _ in 0..8 {
            if self.store.save_schedule(&business.id, &schedule).await? {
                return Ok(());
            }
            let Some(mut fresh) = self.store.schedule(&business.id, &schedule.booking).await?
            else {
                return Ok(());
            };
            let flagged = schedule.card_flagged.clone();
            apply(&mut fresh);
            fresh.card_flagged = flagged.or(fresh.card_flagged);
            if fresh.canceled_at.is_none() {
                fresh.due_at = Some(self.now());
            }
            schedule = fresh;
        }
        Err(BillingError::Ledger(crate::ports::LedgerError::Conflict(
            format!(
                "booking {}'s automation record kept changing",
                schedule.booking
            ),
        )))
    }
}
