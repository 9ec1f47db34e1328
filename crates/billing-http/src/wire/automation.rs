//! Payment automation on the wire: a business's payment settings, a booking's automation (its
//! policy, next action and runs), cancellations, and the runs across the business.

use billing_core::automation::{
    Action, CancellationFee, DeclineKind, FailedAttempts, HoldRenewal, PaymentPolicy,
    PaymentSettings, Percent, Planned, Reason, Share,
};
use billing_core::billing::{BookingAutomation, Cancellation, NoShow};
use billing_core::money::{Currency, Money};
use billing_core::ports::{AutomationRun, RunOutcome};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MoneyJson, ReceiptJson};
use crate::problem::Problem;

/// The longest a duration in minutes may be (90 days): the core refuses policies past it
/// with its own words; this bound only keeps the arithmetic in range.
const MAX_MINUTES: u32 = 90 * 24 * 60;

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        detail.into(),
    )
}

fn minutes(value: u32, what: &str) -> Result<Duration, Problem> {
    if value > MAX_MINUTES {
        return Err(invalid(format!("{what} is at most {MAX_MINUTES} minutes")));
    }
    Ok(Duration::minutes(i64::from(value)))
}

fn whole_minutes(duration: Duration) -> u32 {
    u32::try_from(duration.num_minutes()).unwrap_or(u32::MAX)
}

/// When a booking's money is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyNameJson {
    /// Only when staff charge (or the customer pays a link).
    Manual,
    /// Charged in full as the customer books.
    ChargeAtBooking,
    /// Held in full as the customer books, captured once the service is done.
    AuthorizeAtBooking,
    /// Held `minutes` before the service, captured once it is done.
    AuthorizeBeforeService,
    /// Charged `minutes` before the service.
    ChargeBeforeService,
    /// Charged `minutes` after the service is marked completed.
    ChargeAfterCompletion,
}

/// A payment policy: its name, and for the timed ones how many minutes before the service
/// (or after its completion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "authorize_before_service", "minutes": 2880}))]
pub struct PolicyJson {
    /// The policy.
    pub name: PolicyNameJson,
    /// The lead (before the service) or delay (after completion), in minutes; required by the
    /// timed policies, refused by the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
}

impl From<&PaymentPolicy> for PolicyJson {
    fn from(policy: &PaymentPolicy) -> Self {
        let (name, offset) = match *policy {
            PaymentPolicy::Manual => (PolicyNameJson::Manual, None),
            PaymentPolicy::ChargeAtBooking => (PolicyNameJson::ChargeAtBooking, None),
            PaymentPolicy::AuthorizeAtBooking => (PolicyNameJson::AuthorizeAtBooking, None),
            PaymentPolicy::AuthorizeBeforeService { lead } => {
                (PolicyNameJson::AuthorizeBeforeService, Some(lead))
            }
            PaymentPolicy::ChargeBeforeService { lead } => {
                (PolicyNameJson::ChargeBeforeService, Some(lead))
            }
            PaymentPolicy::ChargeAfterCompletion { delay } => {
                (PolicyNameJson::ChargeAfterCompletion, Some(delay))
            }
        };
        PolicyJson {
            name,
            minutes: offset.map(whole_minutes),
        }
    }
}

impl PolicyJson {
    /// The core's policy, or why not.
    pub fn policy(&self) -> Result<PaymentPolicy, Problem> {
        let offset = || {
            self.minutes
                .ok_or_else(|| invalid("this policy needs its minutes"))
                .and_then(|m| minutes(m, "a policy's minutes"))
        };
        let untimed = |policy| match self.minutes {
            Some(_) => Err(invalid("this policy takes no minutes")),
            None => Ok(policy),
        };
        match self.name {
            PolicyNameJson::Manual => untimed(PaymentPolicy::Manual),
            PolicyNameJson::ChargeAtBooking => untimed(PaymentPolicy::ChargeAtBooking),
            PolicyNameJson::AuthorizeAtBooking => untimed(PaymentPolicy::AuthorizeAtBooking),
            PolicyNameJson::AuthorizeBeforeService => {
                Ok(PaymentPolicy::AuthorizeBeforeService { lead: offset()? })
            }
            PolicyNameJson::ChargeBeforeService => {
                Ok(PaymentPolicy::ChargeBeforeService { lead: offset()? })
            }
            PolicyNameJson::ChargeAfterCompletion => {
                Ok(PaymentPolicy::ChargeAfterCompletion { delay: offset()? })
            }
        }
    }
}

/// Part of a price: a percentage (`"percent": "25"`), or a fixed amount with its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"percent": "25"}))]
pub struct ShareJson {
    /// A percentage above 0 and at most 100, at most two decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    /// A fixed amount (with `currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The fixed amount's ISO 4217 currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl From<&Share> for ShareJson {
    fn from(share: &Share) -> Self {
        match share {
            Share::Percent(percent) => ShareJson {
                percent: Some(percent.to_string()),
                amount: None,
                currency: None,
            },
            Share::Fixed(money) => {
                let money = MoneyJson::from(money);
                ShareJson {
                    percent: None,
                    amount: Some(money.amount),
                    currency: Some(money.currency),
                }
            }
        }
    }
}

impl ShareJson {
    fn share(&self) -> Result<Share, Problem> {
        match (&self.percent, &self.amount, &self.currency) {
            (Some(percent), None, None) => Percent::parse(percent)
                .map(Share::Percent)
                .map_err(|e| invalid(e.to_string())),
            (None, Some(amount), Some(currency)) => {
                let currency =
                    Currency::from_code(currency).map_err(|e| invalid(format!("currency: {e}")))?;
                let money =
                    Money::parse(amount, currency).map_err(|e| invalid(format!("amount: {e}")))?;
                Share::fixed(money).map_err(|e| invalid(e.to_string()))
            }
            _ => Err(invalid(
                "a share is a percent, or an amount with its currency",
            )),
        }
    }
}

/// What is done with a hold that would run out before its capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldRenewalJson {
    /// Place a new hold, then release the old one (the customer may see both for a moment).
    Renew,
    /// Capture it if the service is done, else tell staff.
    CaptureIfDone,
    /// Tell staff; nothing is done on the card.
    TellStaff,
}

/// The fee charged when a booking is canceled within `window_minutes` before its service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancellationFeeJson {
    /// How much of the price.
    pub fee: ShareJson,
    /// Canceled this close to the service (or later): the fee is due.
    pub window_minutes: u32,
}

/// A business's payment settings: when money is taken, a deposit, holds that would run out,
/// the cancellation fee, the notice before an automatic charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSettingsJson {
    /// When money is taken, for every booking without a policy of its own.
    pub policy: PolicyJson,
    /// Taken as the customer books; the rest by the policy.
    #[serde(default)]
    pub deposit: Option<ShareJson>,
    /// What is done with a hold that would run out before its capture (default `renew`).
    #[serde(default = "renew")]
    pub hold_renewal: HoldRenewalJson,
    /// How long before a hold runs out automation acts on it (default 720: 12 hours).
    #[serde(default = "twelve_hours")]
    pub hold_margin_minutes: u32,
    /// The fee charged on a late cancellation.
    #[serde(default)]
    pub cancellation_fee: Option<CancellationFeeJson>,
    /// Tell the customer this many minutes before an automatic charge or hold.
    #[serde(default)]
    pub upcoming_notice_minutes: Option<u32>,
    /// The fee charged to the card on file when staff mark a booking as a no-show
    /// (`POST /v1/bookings/{id}/no-show`): a percentage of the price without tips, or a fixed
    /// amount, never more than the booking still owes. Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_show_fee: Option<ShareJson>,
}

fn renew() -> HoldRenewalJson {
    HoldRenewalJson::Renew
}

fn twelve_hours() -> u32 {
    720
}

impl From<&PaymentSettings> for PaymentSettingsJson {
    fn from(settings: &PaymentSettings) -> Self {
        PaymentSettingsJson {
            policy: PolicyJson::from(&settings.policy),
            deposit: settings.deposit.as_ref().map(ShareJson::from),
            hold_renewal: match settings.hold_renewal {
                HoldRenewal::Renew => HoldRenewalJson::Renew,
                HoldRenewal::CaptureIfDone => HoldRenewalJson::CaptureIfDone,
                HoldRenewal::TellStaff => HoldRenewalJson::TellStaff,
            },
            hold_margin_minutes: whole_minutes(settings.hold_margin),
            cancellation_fee: settings
                .cancellation_fee
                .as_ref()
                .map(|fee| CancellationFeeJson {
                    fee: ShareJson::from(&fee.fee),
                    window_minutes: whole_minutes(fee.window),
                }),
            upcoming_notice_minutes: settings.upcoming_notice.map(whole_minutes),
            no_show_fee: settings.no_show_fee.as_ref().map(ShareJson::from),
        }
    }
}

impl PaymentSettingsJson {
    /// The core's settings, or why not.
    pub fn settings(&self) -> Result<PaymentSettings, Problem> {
        Ok(PaymentSettings {
            policy: self.policy.policy()?,
            deposit: self.deposit.as_ref().map(ShareJson::share).transpose()?,
            hold_renewal: match self.hold_renewal {
                HoldRenewalJson::Renew => HoldRenewal::Renew,
                HoldRenewalJson::CaptureIfDone => HoldRenewal::CaptureIfDone,
                HoldRenewalJson::TellStaff => HoldRenewal::TellStaff,
            },
            hold_margin: minutes(self.hold_margin_minutes, "the hold margin")?,
            cancellation_fee: self
                .cancellation_fee
                .as_ref()
                .map(|fee| {
                    Ok::<_, Problem>(CancellationFee {
                        fee: fee.fee.share()?,
                        window: minutes(fee.window_minutes, "the cancellation window")?,
                    })
                })
                .transpose()?,
            upcoming_notice: self
                .upcoming_notice_minutes
                .map(|m| minutes(m, "the upcoming charge notice"))
                .transpose()?,
            no_show_fee: self
                .no_show_fee
                .as_ref()
                .map(ShareJson::share)
                .transpose()?,
        })
    }
}

/// What automation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionJson {
    /// Charge the card on file (`amount`).
    Charge,
    /// Place a hold on the card on file (`amount`).
    Hold,
    /// Capture the open hold.
    Capture,
    /// Place a new hold and release the old one.
    RenewHold,
    /// Tell staff a hold will run out.
    HoldRunningOut,
    /// Retries spent: send the customer a payment link, tell the business.
    GiveUp,
}

/// Why automation acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonJson {
    /// The deposit.
    Deposit,
    /// The payment policy.
    Policy,
    /// A hold would run out.
    HoldExpiry,
    /// A failed attempt, tried again.
    Retry,
    /// No attempt left.
    RetriesSpent,
}

fn action(action: &Action) -> (ActionJson, Option<MoneyJson>) {
    match action {
        Action::Charge(amount) => (ActionJson::Charge, Some(amount.into())),
        Action::Hold(amount) => (ActionJson::Hold, Some(amount.into())),
        Action::Capture => (ActionJson::Capture, None),
        Action::RenewHold => (ActionJson::RenewHold, None),
        Action::HoldRunningOut => (ActionJson::HoldRunningOut, None),
        Action::GiveUp => (ActionJson::GiveUp, None),
    }
}

fn reason(reason: Reason) -> ReasonJson {
    match reason {
        Reason::Deposit => ReasonJson::Deposit,
        Reason::Policy => ReasonJson::Policy,
        Reason::HoldExpiry => ReasonJson::HoldExpiry,
        Reason::Retry => ReasonJson::Retry,
        Reason::RetriesSpent => ReasonJson::RetriesSpent,
    }
}

fn kind(kind: DeclineKind) -> DeclineKindJson {
    match kind {
        DeclineKind::Soft => DeclineKindJson::Soft,
        DeclineKind::Hard => DeclineKindJson::Hard,
    }
}

/// Whether a decline is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclineKindJson {
    /// Tried again on the schedule (`insufficient_funds`...).
    Soft,
    /// Never tried again (`stolen_card`, `incorrect_number`...).
    Hard,
}

/// The next thing automation plans for a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlannedJson {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub action: ActionJson,
    /// How much, for a charge or a hold (as it stands now: taken as it stands then).
    pub amount: Option<MoneyJson>,
    /// Why.
    pub reason: ReasonJson,
}

impl From<&Planned> for PlannedJson {
    fn from(planned: &Planned) -> Self {
        let (action, amount) = action(&planned.action);
        PlannedJson {
            at: planned.at,
            action,
            amount,
            reason: reason(planned.reason),
        }
    }
}

/// The failed attempts of the current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailuresJson {
    /// How many attempts failed.
    pub count: u32,
    /// When the first failed.
    pub first_at: DateTime<Utc>,
    /// When the last failed.
    pub last_at: DateTime<Utc>,
    /// The last decline's kind.
    pub last_kind: DeclineKindJson,
}

impl From<&FailedAttempts> for FailuresJson {
    fn from(f: &FailedAttempts) -> Self {
        FailuresJson {
            count: f.count,
            first_at: f.first_at,
            last_at: f.last_at,
            last_kind: kind(f.last),
        }
    }
}

/// One run of automation on a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunJson {
    /// The run's id.
    pub id: String,
    /// The booking.
    pub booking: String,
    /// Its customer.
    pub customer: String,
    /// When it ran.
    pub at: DateTime<Utc>,
    /// What it did.
    pub action: ActionJson,
    /// How much, for a charge or a hold.
    pub amount: Option<MoneyJson>,
    /// Why.
    pub reason: ReasonJson,
    /// Which attempt of its step.
    pub attempt: u32,
    /// The payment it made, if any.
    pub payment: Option<String>,
    /// `succeeded`, `pending`, `declined`, `notified` or `failed`.
    pub outcome: String,
    /// A decline's code.
    pub decline_code: Option<String>,
    /// A decline's kind.
    pub decline_kind: Option<DeclineKindJson>,
    /// Why a run failed.
    pub message: Option<String>,
}

impl From<&AutomationRun> for RunJson {
    fn from(run: &AutomationRun) -> Self {
        let (action, amount) = action(&run.action);
        let (decline_code, decline_kind, message) = match &run.outcome {
            RunOutcome::Declined { code, kind: k } => (Some(code.clone()), Some(kind(*k)), None),
            RunOutcome::Failed(message) => (None, None, Some(message.clone())),
            _ => (None, None, None),
        };
        RunJson {
            id: run.id.to_string(),
            booking: run.booking.to_string(),
            customer: run.customer.to_string(),
            at: run.at,
            action,
            amount,
            reason: reason(run.reason),
            attempt: run.attempt,
            payment: run.payment.as_ref().map(ToString::to_string),
            outcome: run.outcome.name().to_owned(),
            decline_code,
            decline_kind,
            message,
        }
    }
}

/// A page of runs, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunList {
    /// The runs.
    pub data: Vec<RunJson>,
    /// Pass as `before` for the next page; absent on the last one.
    pub next_before: Option<String>,
}

/// A booking's automation: its policy, where it stands, its next action and its runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingAutomationJson {
    /// The booking.
    pub booking: String,
    /// The policy in force.
    pub policy: PolicyJson,
    /// True when it is the booking's own (else the business's).
    pub own_policy: bool,
    /// Paused for this booking.
    pub paused: bool,
    /// Paused for the customer's every booking.
    pub customer_paused: bool,
    /// Automation gave up or a hold runs out: staff act first.
    pub needs_attention: bool,
    /// When the customer booked.
    pub booked_at: Option<DateTime<Utc>>,
    /// When it was canceled.
    pub canceled_at: Option<DateTime<Utc>>,
    /// The saved card flagged as running out before a charge (a new one was asked for).
    pub card_expiring: Option<String>,
    /// The failed attempts of the current step.
    pub failures: Option<FailuresJson>,
    /// The next scheduled action.
    pub next: Option<PlannedJson>,
    /// Its runs, newest first (the last 50).
    pub runs: Vec<RunJson>,
}

impl BookingAutomationJson {
    /// The view of a booking's automation.
    pub fn of(booking: &str, automation: &BookingAutomation) -> Self {
        let schedule = automation.schedule.as_ref();
        BookingAutomationJson {
            booking: booking.to_owned(),
            policy: PolicyJson::from(&automation.policy),
            own_policy: automation.own_policy,
            paused: schedule.is_some_and(|s| s.paused),
            customer_paused: automation.customer_paused,
            needs_attention: schedule.is_some_and(|s| s.needs_attention),
            booked_at: schedule.map(|s| s.booked_at),
            canceled_at: schedule.and_then(|s| s.canceled_at),
            card_expiring: schedule.and_then(|s| s.card_flagged.clone()),
            failures: schedule
                .and_then(|s| s.failures.as_ref())
                .map(FailuresJson::from),
            next: automation.next().map(PlannedJson::from),
            runs: automation.runs.iter().map(RunJson::from).collect(),
        }
    }
}

/// A booking's own automation controls (a full replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PutBookingAutomation {
    /// The booking's own policy; `null` for the business's.
    #[serde(default)]
    pub policy: Option<PolicyJson>,
    /// Pause automation for the booking. Resuming clears "needs attention" and the failed
    /// attempts.
    #[serde(default)]
    pub paused: bool,
}

/// Pause or resume automation for a customer's every booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerAutomationJson {
    /// True: paused.
    pub paused: bool,
}

/// Cancel a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancelRequest {
    /// Charge the business's cancellation fee when it is due (default true).
    #[serde(default = "super::yes")]
    pub charge_fee: bool,
}

/// What a cancellation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancellationJson {
    /// The booking's automation, canceled.
    pub automation: BookingAutomationJson,
    /// The holds released.
    pub released: Vec<ReceiptJson>,
    /// The fee's charge, when one was due.
    pub fee: Option<ReceiptJson>,
    /// True when it had been canceled before: nothing was done again.
    pub already_canceled: bool,
}

impl CancellationJson {
    /// The view of a cancellation, with the booking's automation after it.
    pub fn of(cancellation: &Cancellation, automation: BookingAutomationJson) -> Self {
        CancellationJson {
            automation,
            released: cancellation
                .released
                .iter()
                .map(ReceiptJson::from)
                .collect(),
            fee: cancellation.fee.as_ref().map(ReceiptJson::from),
            already_canceled: cancellation.already_canceled,
        }
    }
}

/// What marking a booking as a no-show did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoShowJson {
    /// The booking's automation: stopped (the booking is canceled), with `no_show_at`.
    pub automation: BookingAutomationJson,
    /// When it was marked a no-show.
    pub no_show_at: Option<DateTime<Utc>>,
    /// The holds released.
    pub released: Vec<ReceiptJson>,
    /// The fee's charge (its `payment.state` says whether it went through); `null` when the
    /// booking owed nothing more.
    pub fee: Option<ReceiptJson>,
    /// True when it had been marked before: nothing was done again, and `fee` is the first
    /// charge's answer.
    pub already_marked: bool,
}

impl NoShowJson {
    /// The view of a no-show, with the booking's automation after it.
    pub fn of(no_show: &NoShow, automation: BookingAutomationJson) -> Self {
        NoShowJson {
            automation,
            no_show_at: no_show.schedule.no_show_at,
            released: no_show.released.iter().map(ReceiptJson::from).collect(),
            fee: no_show.fee.as_ref().map(ReceiptJson::from),
            already_marked: no_show.already_marked,
        }
    }
}
