//! Payment automation as staff and the API see it: the business's payment settings, a
//! booking's own policy, pausing and resuming, a booking's next action and its runs, and
//! canceling a booking (its holds released, its fee charged).

use chrono::Duration;

use super::Billing;
use super::commands::{CardPayment, PaymentSource};
use crate::automation::{PaymentPolicy, PaymentSettings, Planned, Share};
use crate::booking::BookingAccount;
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::Amount;
use crate::payment::{KindName, Origin, PaymentState};
use crate::ports::{AutomationRun, BookingSchedule, RunFilter, ScheduleFilter};
use crate::receipt::Receipt;

/// How many times a change of a booking's record is tried against concurrent changes.
const MAX_SCHEDULE_WRITES: usize = 8;

/// The longest lead or delay a policy may have: a hold or a charge planned further out than
/// this is a mistake in the setting.
const MAX_POLICY_OFFSET_DAYS: i64 = 90;

/// A booking's automation: its policy, where it stands, what comes next, and its last runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingAutomation {
    /// The policy in force: the booking's own, else the business's.
    pub policy: PaymentPolicy,
    /// True when the booking has a policy of its own.
    pub own_policy: bool,
    /// Paused for the customer as a whole.
    pub customer_paused: bool,
    /// The booking's record (`None` for a booking stored before automation knew it), its
    /// `next` planned from the booking as it stands now.
    pub schedule: Option<BookingSchedule>,
    /// Its runs, newest first (at most 50).
    pub runs: Vec<AutomationRun>,
}

impl BookingAutomation {
    /// The next scheduled action, if any.
    pub fn next(&self) -> Option<&Planned> {
        self.schedule.as_ref().and_then(|s| s.next.as_ref())
    }
}

/// Cancel a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelBooking {
    /// The booking.
    pub booking: BookingId,
    /// Charge the business's cancellation fee when it is due (the default); staff may waive it.
    pub charge_fee: bool,
}

/// What canceling a booking did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// The booking's record, canceled.
    pub schedule: BookingSchedule,
    /// The holds released (each one's receipt).
    pub released: Vec<Receipt>,
    /// The fee charged, if one was due and asked: its receipt (settled, pending or declined).
    pub fee: Option<Receipt>,
    /// True when the booking had been canceled before: nothing was done again.
    pub already_canceled: bool,
}

/// A canceled booking's automation is over: its settings no longer change.
fn refuse_canceled(schedule: &BookingSchedule) -> Result<(), BillingError> {
    match schedule.canceled_at {
        Some(_) => Err(BillingError::BookingCanceled(schedule.booking.clone())),
        None => Ok(()),
    }
}

/// Refuses settings a business cannot mean: leads and delays out of range, a margin longer
/// than a hold lasts, a negative window.
fn check_settings(settings: &PaymentSettings) -> Result<(), BillingError> {
    let offset = match settings.policy {
        PaymentPolicy::AuthorizeBeforeService { lead }
        | PaymentPolicy::ChargeBeforeService { lead } => Some(lead),
        PaymentPolicy::ChargeAfterCompletion { delay } => Some(delay),
        _ => None,
    };
    if offset.is_some_and(|o| o < Duration::zero() || o > Duration::days(MAX_POLICY_OFFSET_DAYS)) {
        return Err(BillingError::InvalidInput(
            "a policy's lead or delay is 0 to 90 days",
        ));
    }
    if let PaymentPolicy::AuthorizeBeforeService { lead } = settings.policy
        && lead > Duration::days(6)
    {
        return Err(BillingError::InvalidInput(
            "a hold placed more than 6 days before the service would run out before it",
        ));
    }
    if settings.hold_margin < Duration::zero() || settings.hold_margin > Duration::days(2) {
        return Err(BillingError::InvalidInput(
            "the hold margin is 0 to 48 hours",
        ));
    }
    if let Some(fee) = &settings.cancellation_fee
        && (fee.window < Duration::zero() || fee.window > Duration::days(MAX_POLICY_OFFSET_DAYS))
    {
        return Err(BillingError::InvalidInput(
            "a cancellation fee's window is 0 to 90 days",
        ));
    }
    if settings
        .upcoming_notice
        .is_some_and(|n| n <= Duration::zero() || n > Duration::days(14))
    {
        return Err(BillingError::InvalidInput(
            "an upcoming charge notice is sent 1 second to 14 days before",
        ));
    }
    let fixed_positive = |share: &Option<Share>| match share {
        Some(Share::Fixed(amount)) => amount.is_positive(),
        _ => true,
    };
    if !fixed_positive(&settings.deposit)
        || !fixed_positive(&settings.cancellation_fee.map(|f| f.fee))
        || !fixed_positive(&settings.no_show_fee)
    {
        return Err(BillingError::InvalidInput(
            "a fixed amount must be positive",
        ));
    }
    Ok(())
}

impl Billing {
    /// The business's payment settings (manual until it sets them).
    pub async fn payment_settings(
        &self,
        business: &Business,
    ) -> Result<PaymentSettings, BillingError> {
        Ok(self
            .store
            .payment_settings(&business.id)
            .await?
            .unwrap_or_default())
    }

    /// Sets the business's payment settings; every open booking is planned again under them
    /// at the scheduler's next run.
    pub async fn set_payment_settings(
        &self,
        business: &Business,
        settings: PaymentSettings,
    ) -> Result<PaymentSettings, BillingError> {
        check_settings(&settings)?;
        self.store
            .put_payment_settings(&business.id, &settings, self.now())
            .await?;
        Ok(settings)
    }

    /// A booking's automation: its policy, its record, and its last runs.
    pub async fn booking_automation(
        &self,
        business: &Business,
        booking: &BookingId,
    ) -> Result<BookingAutomation, BillingError> {
        let view = self.booking(business, booking).await?;
        let settings = self.payment_settings(business).await?;
        let schedule = self.store.schedule(&business.id, booking).await?;
        let customer_paused = self
            .store
            .customer_paused(&business.id, &view.account.customer)
            .await?;
        let runs = self
            .store
            .runs(
                &business.id,
                &RunFilter {
                    booking: Some(booking.clone()),
                    limit: 50,
                    ..RunFilter::default()
                },
            )
            .await?;
        let own = schedule.as_ref().and_then(|s| s.policy);
        // The plan as the booking stands now, rather than as last planned.
        let schedule = match schedule {
            Some(mut schedule) => {
                schedule.next = self.plan_now(business, &schedule).await?;
                Some(schedule)
            }
            None => None,
        };
        Ok(BookingAutomation {
            policy: own.unwrap_or(settings.policy),
            own_policy: own.is_some(),
            customer_paused,
            schedule,
            runs,
        })
    }

    /// Gives a booking a policy of its own (`None`: the business's again); it is planned
    /// again at the scheduler's next run.
    pub async fn set_booking_policy(
        &self,
        business: &Business,
        booking: &BookingId,
        policy: Option<PaymentPolicy>,
    ) -> Result<BookingAutomation, BillingError> {
        if let Some(policy) = policy {
            check_settings(&PaymentSettings {
                policy,
                ..PaymentSettings::default()
            })?;
        }
        let account = self.booking(business, booking).await?.account;
        self.change_schedule(business, &account, |s| {
            refuse_canceled(s)?;
            s.policy = policy;
            Ok(())
        })
        .await?;
        self.booking_automation(business, booking).await
    }

    /// Pauses automation for a booking, or resumes it. Resuming also clears "needs
    /// attention" and the failed attempts: staff acted, and automation starts the step afresh.
    pub async fn pause_booking(
        &self,
        business: &Business,
        booking: &BookingId,
        paused: bool,
    ) -> Result<BookingAutomation, BillingError> {
        let account = self.booking(business, booking).await?.account;
        self.change_schedule(business, &account, |s| {
            refuse_canceled(s)?;
            s.paused = paused;
            if !paused {
                s.needs_attention = false;
                s.failures = None;
            }
            Ok(())
        })
        .await?;
        self.booking_automation(business, booking).await
    }

    /// Pauses automation for every booking of a customer, or resumes it.
    pub async fn pause_customer(
        &self,
        business: &Business,
        customer: &CustomerId,
        paused: bool,
    ) -> Result<(), BillingError> {
        self.customer(business, customer).await?;
        self.store
            .set_customer_paused(&business.id, customer, paused, self.now())
            .await?;
        Ok(())
    }

    /// The business's automation runs, newest first.
    pub async fn automation_runs(
        &self,
        business: &Business,
        filter: &RunFilter,
    ) -> Result<Vec<AutomationRun>, BillingError> {
        Ok(self.store.runs(&business.id, filter).await?)
    }

    /// The business's bookings' automation records (those that need attention, say).
    pub async fn booking_schedules(
        &self,
        business: &Business,
        filter: &ScheduleFilter,
    ) -> Result<Vec<BookingSchedule>, BillingError> {
        Ok(self.store.list_schedules(&business.id, filter).await?)
    }

    /// Summaries of the bookings that need attention (`needs` true) or do not, by booking id,
    /// that also match the rest of `filter` (customer, status, dates, search), a page of at
    /// most `filter.limit` after `filter.after`. Records are read a page at a time until the
    /// page is full, so a short page means there are no more.
    pub async fn bookings_by_attention(
        &self,
        business: &Business,
        needs: bool,
        filter: &crate::ports::BookingFilter,
    ) -> Result<Vec<crate::status::BookingSummary>, BillingError> {
        let mut found = Vec::new();
        let mut after = filter.after.clone();
        while found.len() < filter.limit as usize {
            let schedules = self
                .store
                .list_schedules(
                    &business.id,
                    &ScheduleFilter {
                        customer: filter.customer.clone(),
                        needs_attention: Some(needs),
                        after: after.clone(),
                        limit: filter.limit,
                    },
                )
                .await?;
            let last_page = schedules.len() < filter.limit as usize;
            let Some(last) = schedules.last() else {
                break;
            };
            after = Some(last.booking.clone());
            let ids: Vec<BookingId> = schedules.into_iter().map(|s| s.booking).collect();
            let ledgers = self.ledgers(business, &ids).await?;
            found.extend(
                ids.iter()
                    .filter_map(|id| ledgers.summaries.get(id).cloned())
                    .filter(|s| filter.matches(s)),
            );
            if last_page {
                break;
            }
        }
        found.truncate(filter.limit as usize);
        Ok(found)
    }

    /// Cancels a booking: automation stops for it, its open holds are released, and the
    /// business's cancellation fee is charged to the card on file when it is due (canceled
    /// within its window before the service) and `charge_fee` says so. Canceling again does
    /// nothing more. The fee's charge is keyed by the booking, so a retried cancellation never
    /// charges it twice.
    pub async fn cancel_booking(
        &self,
        business: &Business,
        command: CancelBooking,
    ) -> Result<Cancellation, BillingError> {
        let booking = &command.booking;
        let account = self.booking(business, booking).await?.account;
        let now = self.now();
        let mut already_canceled = false;
        let schedule = self
            .change_schedule(business, &account, |s| {
                if s.canceled_at.is_some() {
                    already_canceled = true;
                } else {
                    s.canceled_at = Some(now);
                }
                s.next = None;
                s.due_at = None;
                Ok(())
            })
            .await?;
        let released = self.release_open_holds(business, booking).await?;
        let fee = if command.charge_fee {
            self.charge_cancellation_fee(business, &account, &schedule)
                .await?
        } else {
            None
        };
        Ok(Cancellation {
            schedule,
            released,
            fee,
            already_canceled,
        })
    }

    /// Releases a booking's open holds (canceled, or a no-show): each one's receipt. A hold
    /// released meanwhile (by a retry, say) is passed over.
    pub(super) async fn release_open_holds(
        &self,
        business: &Business,
        booking: &BookingId,
    ) -> Result<Vec<Receipt>, BillingError> {
        let now = self.now();
        let mut released = Vec::new();
        let view = self.booking(business, booking).await?;
        let open_holds: Vec<PaymentId> = view
            .payments
            .iter()
            .filter(|p| {
                p.kind.name() == KindName::Authorization
                    && matches!(
                        p.state,
                        PaymentState::Authorized | PaymentState::PartiallyCaptured
                    )
                    && p.hold_expires_at.is_none_or(|at| now < at)
            })
            .map(|p| p.id.clone())
            .collect();
        for hold in open_holds {
            match self.cancel_hold(business, &hold).await {
                Ok(receipt) => released.push(receipt),
                // Released meanwhile (by a retry of this cancellation, say): nothing to do.
                Err(BillingError::HoldNotOpen { .. } | BillingError::HoldExpired(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(released)
    }

    /// Charges the cancellation fee when one is due: at most what the booking still owes.
    async fn charge_cancellation_fee(
        &self,
        business: &Business,
        account: &BookingAccount,
        schedule: &BookingSchedule,
    ) -> Result<Option<Receipt>, BillingError> {
        let settings = self.payment_settings(business).await?;
        let (Some(fee), Some(canceled_at)) = (settings.cancellation_fee, schedule.canceled_at)
        else {
            return Ok(None);
        };
        let price = account.price()?;
        let Some(amount) = fee.due(&price, account.service_at, canceled_at)? else {
            return Ok(None);
        };
        self.charge_fee(business, account, amount, "cancel-fee")
            .await
    }

    /// Charges a fee (a cancellation's, a no-show's) to the card on file: at most what the
    /// booking still owes, nothing when that is nothing. Keyed by the fee and the booking, so
    /// that charging it again replays the first charge and never charges twice.
    pub(super) async fn charge_fee(
        &self,
        business: &Business,
        account: &BookingAccount,
        amount: crate::money::Money,
        fee: &str,
    ) -> Result<Option<Receipt>, BillingError> {
        let summary = self.booking(business, &account.id).await?.summary;
        let amount = amount.checked_min(&summary.balance.chargeable())?;
        if !amount.is_positive() {
            return Ok(None);
        }
        let key = IdempotencyKey::new(format!("{fee}:{}", account.id))
            .map_err(|_| BillingError::InvalidInput("a booking id too long for a fee's key"))?;
        let payment = CardPayment {
            booking: &account.id,
            amount: Some(Amount::from(amount)),
            source: &PaymentSource::CardOnFile,
            key: Some(&key),
            hold: false,
            refuse_duplicates: false,
            origin: Origin::Automation,
            replacing: None,
            tip: None,
        };
        let opened = self.open_card_payment(business, &payment).await?;
        Ok(Some(self.proceed(business, opened, Some(&key)).await?))
    }

    /// Makes sure a booking has its record (new ones are booked now) and makes it due now, so
    /// that the scheduler plans it again: called when a booking is stored or its price changes.
    pub(super) async fn replan_booking(
        &self,
        business: &Business,
        account: &BookingAccount,
    ) -> Result<(), BillingError> {
        let now = self.now();
        self.change_schedule(business, account, |s| {
            s.customer = account.customer.clone();
            if s.canceled_at.is_none() {
                s.due_at = Some(s.due_at.map_or(now, |due| due.min(now)));
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Reads a booking's record (a new one when it has none), changes it and saves it at the
    /// version read, again on a concurrent change. The change is due for planning at once.
    pub(super) async fn change_schedule<F>(
        &self,
        business: &Business,
        account: &BookingAccount,
        mut change: F,
    ) -> Result<BookingSchedule, BillingError>
    where
        F: FnMut(&mut BookingSchedule) -> Result<(), BillingError> + Send,
    {
        let now = self.now();
        for _ in 0..MAX_SCHEDULE_WRITES {
            let mut schedule = self
                .store
                .schedule(&business.id, &account.id)
                .await?
                .unwrap_or_else(|| {
                    BookingSchedule::new(account.id.clone(), account.customer.clone(), now)
                });
            change(&mut schedule)?;
            if schedule.canceled_at.is_none() && schedule.due_at.is_none() {
                schedule.due_at = Some(now);
            }
            if self.store.save_schedule(&business.id, &schedule).await? {
                schedule.version += 1;
                return Ok(schedule);
            }
        }
        Err(BillingError::Ledger(crate::ports::LedgerError::Conflict(
            format!("booking {}'s automation record kept changing", account.id),
        )))
    }
}
