//! Payment automation's rows: a business's payment settings (`payment_settings.body`), a
//! booking's schedule (`booking_schedules.body`) and a run of automation
//! (`automation_runs.body`).
//!
//! Unlike the ledger's bodies, these carry no `"v"`: their rows keep the version in a `format`
//! column beside the body, and the body is read by the decoder of that version. A schedule's
//! and a run's bodies hold only what their rows' other columns do not (the columns are what
//! queries filter and sort on).
//!
//! Durations are whole seconds (a sub-second duration is refused rather than cut), a
//! percentage is in basis points, money is `MoneyV1`.

use billing_core::automation::{
    Action, CancellationFee, DeclineKind, FailedAttempts, HoldRenewal, PaymentPolicy,
    PaymentSettings, Percent, Planned, Reason, Share,
};
use billing_core::ids::PaymentId;
use billing_core::ports::{AutomationRun, BookingSchedule, RunOutcome};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::parts::{MoneyV1, id};
use super::unknown;
use crate::StoredRowError;

/// The version payment settings are written with today.
pub const SETTINGS_VERSION: u32 = 2;

/// The version a booking schedule's body is written with today.
pub const SCHEDULE_VERSION: u32 = 3;

/// The version a run's body is written with today.
pub const RUN_VERSION: u32 = 1;

const SETTINGS: &str = "stored payment settings";
const SCHEDULE: &str = "stored booking schedule";
const RUN: &str = "stored automation run";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
enum PolicyV1 {
    Manual,
    ChargeAtBooking,
    AuthorizeAtBooking,
    AuthorizeBeforeService { lead_seconds: i64 },
    ChargeBeforeService { lead_seconds: i64 },
    ChargeAfterCompletion { delay_seconds: i64 },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
enum ShareV1 {
    Percent { basis_points: u32 },
    Fixed { amount: MoneyV1 },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum HoldRenewalV1 {
    Renew,
    CaptureIfDone,
    TellStaff,
}

#[derive(Debug, Serialize, Deserialize)]
struct CancellationFeeV1 {
    fee: ShareV1,
    window_seconds: i64,
}

/// Version 1 of a business's payment settings.
#[derive(Debug, Serialize, Deserialize)]
struct SettingsV1 {
    policy: PolicyV1,
    deposit: Option<ShareV1>,
    hold_renewal: HoldRenewalV1,
    hold_margin_seconds: i64,
    cancellation_fee: Option<CancellationFeeV1>,
    upcoming_notice_seconds: Option<i64>,
}

/// Version 2 of a business's payment settings: version 1 and the no-show fee. A version 1 row
/// has none: builds of then knew no no-show fee.
#[derive(Debug, Serialize, Deserialize)]
struct SettingsV2 {
    #[serde(flatten)]
    v1: SettingsV1,
    no_show_fee: Option<ShareV1>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DeclineKindV1 {
    Soft,
    Hard,
}

#[derive(Debug, Serialize, Deserialize)]
struct FailedAttemptsV1 {
    count: u32,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    last: DeclineKindV1,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
enum ActionV1 {
    Charge { amount: MoneyV1 },
    Hold { amount: MoneyV1 },
    Capture,
    RenewHold,
    HoldRunningOut,
    GiveUp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReasonV1 {
    Deposit,
    Policy,
    HoldExpiry,
    Retry,
    RetriesSpent,
}

#[derive(Debug, Serialize, Deserialize)]
struct PlannedV1 {
    at: DateTime<Utc>,
    action: ActionV1,
    reason: ReasonV1,
}

/// Version 1 of a booking schedule's body: what its row's columns (booking, customer, due
/// time, needs attention, canceled, version) do not hold.
#[derive(Debug, Serialize, Deserialize)]
struct ScheduleV1 {
    policy: Option<PolicyV1>,
    booked_at: DateTime<Utc>,
    paused: bool,
    failures: Option<FailedAttemptsV1>,
    next: Option<PlannedV1>,
    card_flagged: Option<String>,
}

/// Version 2 of a booking schedule's body: version 1 and when an open checkout ends.
#[derive(Debug, Serialize, Deserialize)]
struct ScheduleV2 {
    #[serde(flatten)]
    v1: ScheduleV1,
    checkout_until: Option<DateTime<Utc>>,
}

/// Version 3 of a booking schedule's body: version 2 and when staff marked the booking as a
/// no-show. Earlier rows have none: builds of then could not mark one.
#[derive(Debug, Serialize, Deserialize)]
struct ScheduleV3 {
    #[serde(flatten)]
    v2: ScheduleV2,
    no_show_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
enum OutcomeV1 {
    Succeeded,
    Pending,
    Declined { code: String, kind: DeclineKindV1 },
    Notified,
    Failed { message: String },
}

/// Version 1 of a run's body: what its row's columns (id, booking, customer, time, outcome's
/// name) do not hold.
#[derive(Debug, Serialize, Deserialize)]
struct RunV1 {
    action: ActionV1,
    reason: ReasonV1,
    attempt: u32,
    payment: Option<String>,
    outcome: OutcomeV1,
}

/// A booking schedule's body, read back: the record but for its row's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleBody {
    /// The booking's own policy.
    pub policy: Option<PaymentPolicy>,
    /// When the customer booked.
    pub booked_at: DateTime<Utc>,
    /// Paused for this booking by staff.
    pub paused: bool,
    /// The failed attempts of the current step.
    pub failures: Option<FailedAttempts>,
    /// What automation plans next.
    pub next: Option<Planned>,
    /// The card last flagged as running out.
    pub card_flagged: Option<String>,
    /// When the open checkout of the booking ends (version 2).
    pub checkout_until: Option<DateTime<Utc>>,
    /// When staff marked the booking as a no-show (version 3).
    pub no_show_at: Option<DateTime<Utc>>,
}

impl ScheduleBody {
    /// The body of a record.
    pub fn of(schedule: &BookingSchedule) -> Self {
        ScheduleBody {
            policy: schedule.policy,
            booked_at: schedule.booked_at,
            paused: schedule.paused,
            failures: schedule.failures,
            next: schedule.next,
            card_flagged: schedule.card_flagged.clone(),
            checkout_until: schedule.checkout_until,
            no_show_at: schedule.no_show_at,
        }
    }
}

/// A run's body, read back: the run but for its row's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunBody {
    /// What it did.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Which attempt of its step.
    pub attempt: u32,
    /// The payment it made.
    pub payment: Option<PaymentId>,
    /// How it ended.
    pub outcome: RunOutcome,
}

impl RunBody {
    /// The body of a run.
    pub fn of(run: &AutomationRun) -> Self {
        RunBody {
            action: run.action,
            reason: run.reason,
            attempt: run.attempt,
            payment: run.payment.clone(),
            outcome: run.outcome.clone(),
        }
    }
}

/// A duration in whole seconds; one with a fraction of a second is refused, not cut.
fn seconds(what: &'static str, duration: Duration) -> Result<i64, StoredRowError> {
    if duration.subsec_nanos() != 0 {
        return Err(StoredRowError::new(
            what,
            format!("{duration} is not a whole number of seconds"),
        ));
    }
    Ok(duration.num_seconds())
}

fn duration(what: &'static str, seconds: i64) -> Result<Duration, StoredRowError> {
    Duration::try_seconds(seconds)
        .ok_or_else(|| StoredRowError::new(what, format!("{seconds} s is out of range")))
}

fn to_json<T: Serialize>(what: &'static str, row: &T) -> Result<String, StoredRowError> {
    serde_json::to_string(row).map_err(|e| StoredRowError::new(what, e))
}

/// The body of `what` at `version`, which must be one this build reads.
fn from_json<'a, T: Deserialize<'a>>(
    what: &'static str,
    version: u32,
    text: &'a str,
) -> Result<T, StoredRowError> {
    match version {
        1 => serde_json::from_str(text).map_err(|e| StoredRowError::new(what, e)),
        other => Err(unknown(what, other)),
    }
}

impl PolicyV1 {
    fn of(what: &'static str, policy: &PaymentPolicy) -> Result<Self, StoredRowError> {
        Ok(match *policy {
            PaymentPolicy::Manual => PolicyV1::Manual,
            PaymentPolicy::ChargeAtBooking => PolicyV1::ChargeAtBooking,
            PaymentPolicy::AuthorizeAtBooking => PolicyV1::AuthorizeAtBooking,
            PaymentPolicy::AuthorizeBeforeService { lead } => PolicyV1::AuthorizeBeforeService {
                lead_seconds: seconds(what, lead)?,
            },
            PaymentPolicy::ChargeBeforeService { lead } => PolicyV1::ChargeBeforeService {
                lead_seconds: seconds(what, lead)?,
            },
            PaymentPolicy::ChargeAfterCompletion { delay } => PolicyV1::ChargeAfterCompletion {
                delay_seconds: seconds(what, delay)?,
            },
        })
    }

    fn read(self, what: &'static str) -> Result<PaymentPolicy, StoredRowError> {
        Ok(match self {
            PolicyV1::Manual => PaymentPolicy::Manual,
            PolicyV1::ChargeAtBooking => PaymentPolicy::ChargeAtBooking,
            PolicyV1::AuthorizeAtBooking => PaymentPolicy::AuthorizeAtBooking,
            PolicyV1::AuthorizeBeforeService { lead_seconds } => {
                PaymentPolicy::AuthorizeBeforeService {
                    lead: duration(what, lead_seconds)?,
                }
            }
            PolicyV1::ChargeBeforeService { lead_seconds } => PaymentPolicy::ChargeBeforeService {
                lead: duration(what, lead_seconds)?,
            },
            PolicyV1::ChargeAfterCompletion { delay_seconds } => {
                PaymentPolicy::ChargeAfterCompletion {
                    delay: duration(what, delay_seconds)?,
                }
            }
        })
    }
}

impl ShareV1 {
    fn of(share: &Share) -> Self {
        match share {
            Share::Percent(percent) => ShareV1::Percent {
                basis_points: percent.basis_points(),
            },
            Share::Fixed(amount) => ShareV1::Fixed {
                amount: MoneyV1::of(amount),
            },
        }
    }

    fn read(self, what: &'static str) -> Result<Share, StoredRowError> {
        match self {
            ShareV1::Percent { basis_points } => Percent::from_basis_points(basis_points)
                .map(Share::Percent)
                .ok_or_else(|| StoredRowError::new(what, format!("{basis_points} basis points"))),
            // Kept as written, not checked again (like a booking's prices): a rule tightened
            // since must not make stored settings unreadable.
            ShareV1::Fixed { amount } => Ok(Share::Fixed(amount.read(what)?)),
        }
    }
}

impl HoldRenewalV1 {
    fn of(renewal: HoldRenewal) -> Self {
        match renewal {
            HoldRenewal::Renew => HoldRenewalV1::Renew,
            HoldRenewal::CaptureIfDone => HoldRenewalV1::CaptureIfDone,
            HoldRenewal::TellStaff => HoldRenewalV1::TellStaff,
        }
    }

    fn read(self) -> HoldRenewal {
        match self {
            HoldRenewalV1::Renew => HoldRenewal::Renew,
            HoldRenewalV1::CaptureIfDone => HoldRenewal::CaptureIfDone,
            HoldRenewalV1::TellStaff => HoldRenewal::TellStaff,
        }
    }
}

impl SettingsV1 {
    fn of(settings: &PaymentSettings) -> Result<Self, StoredRowError> {
        Ok(SettingsV1 {
            policy: PolicyV1::of(SETTINGS, &settings.policy)?,
            deposit: settings.deposit.as_ref().map(ShareV1::of),
            hold_renewal: HoldRenewalV1::of(settings.hold_renewal),
            hold_margin_seconds: seconds(SETTINGS, settings.hold_margin)?,
            cancellation_fee: settings
                .cancellation_fee
                .as_ref()
                .map(|fee| {
                    Ok::<_, StoredRowError>(CancellationFeeV1 {
                        fee: ShareV1::of(&fee.fee),
                        window_seconds: seconds(SETTINGS, fee.window)?,
                    })
                })
                .transpose()?,
            upcoming_notice_seconds: settings
                .upcoming_notice
                .map(|notice| seconds(SETTINGS, notice))
                .transpose()?,
        })
    }

    fn read(self) -> Result<PaymentSettings, StoredRowError> {
        Ok(PaymentSettings {
            policy: self.policy.read(SETTINGS)?,
            deposit: self.deposit.map(|d| d.read(SETTINGS)).transpose()?,
            hold_renewal: self.hold_renewal.read(),
            hold_margin: duration(SETTINGS, self.hold_margin_seconds)?,
            cancellation_fee: self
                .cancellation_fee
                .map(|fee| {
                    Ok::<_, StoredRowError>(CancellationFee {
                        fee: fee.fee.read(SETTINGS)?,
                        window: duration(SETTINGS, fee.window_seconds)?,
                    })
                })
                .transpose()?,
            no_show_fee: None,
            upcoming_notice: self
                .upcoming_notice_seconds
                .map(|s| duration(SETTINGS, s))
                .transpose()?,
        })
    }
}

impl DeclineKindV1 {
    fn of(kind: DeclineKind) -> Self {
        match kind {
            DeclineKind::Soft => DeclineKindV1::Soft,
            DeclineKind::Hard => DeclineKindV1::Hard,
        }
    }

    fn read(self) -> DeclineKind {
        match self {
            DeclineKindV1::Soft => DeclineKind::Soft,
            DeclineKindV1::Hard => DeclineKind::Hard,
        }
    }
}

impl ActionV1 {
    fn of(action: &Action) -> Self {
        match action {
            Action::Charge(amount) => ActionV1::Charge {
                amount: MoneyV1::of(amount),
            },
            Action::Hold(amount) => ActionV1::Hold {
                amount: MoneyV1::of(amount),
            },
            Action::Capture => ActionV1::Capture,
            Action::RenewHold => ActionV1::RenewHold,
            Action::HoldRunningOut => ActionV1::HoldRunningOut,
            Action::GiveUp => ActionV1::GiveUp,
        }
    }

    fn read(self, what: &'static str) -> Result<Action, StoredRowError> {
        Ok(match self {
            ActionV1::Charge { amount } => Action::Charge(amount.read(what)?),
            ActionV1::Hold { amount } => Action::Hold(amount.read(what)?),
            ActionV1::Capture => Action::Capture,
            ActionV1::RenewHold => Action::RenewHold,
            ActionV1::HoldRunningOut => Action::HoldRunningOut,
            ActionV1::GiveUp => Action::GiveUp,
        })
    }
}

impl ReasonV1 {
    fn of(reason: Reason) -> Self {
        match reason {
            Reason::Deposit => ReasonV1::Deposit,
            Reason::Policy => ReasonV1::Policy,
            Reason::HoldExpiry => ReasonV1::HoldExpiry,
            Reason::Retry => ReasonV1::Retry,
            Reason::RetriesSpent => ReasonV1::RetriesSpent,
        }
    }

    fn read(self) -> Reason {
        match self {
            ReasonV1::Deposit => Reason::Deposit,
            ReasonV1::Policy => Reason::Policy,
            ReasonV1::HoldExpiry => Reason::HoldExpiry,
            ReasonV1::Retry => Reason::Retry,
            ReasonV1::RetriesSpent => Reason::RetriesSpent,
        }
    }
}

impl ScheduleV1 {
    fn of(body: &ScheduleBody) -> Result<Self, StoredRowError> {
        Ok(ScheduleV1 {
            policy: body
                .policy
                .as_ref()
                .map(|p| PolicyV1::of(SCHEDULE, p))
                .transpose()?,
            booked_at: body.booked_at,
            paused: body.paused,
            failures: body.failures.map(|f| FailedAttemptsV1 {
                count: f.count,
                first_at: f.first_at,
                last_at: f.last_at,
                last: DeclineKindV1::of(f.last),
            }),
            next: body.next.map(|planned| PlannedV1 {
                at: planned.at,
                action: ActionV1::of(&planned.action),
                reason: ReasonV1::of(planned.reason),
            }),
            card_flagged: body.card_flagged.clone(),
        })
    }

    fn read(self) -> Result<ScheduleBody, StoredRowError> {
        Ok(ScheduleBody {
            policy: self.policy.map(|p| p.read(SCHEDULE)).transpose()?,
            booked_at: self.booked_at,
            paused: self.paused,
            failures: self.failures.map(|f| FailedAttempts {
                count: f.count,
                first_at: f.first_at,
                last_at: f.last_at,
                last: f.last.read(),
            }),
            next: self
                .next
                .map(|planned| {
                    Ok::<_, StoredRowError>(Planned {
                        at: planned.at,
                        action: planned.action.read(SCHEDULE)?,
                        reason: planned.reason.read(),
                    })
                })
                .transpose()?,
            card_flagged: self.card_flagged,
            checkout_until: None,
            no_show_at: None,
        })
    }
}

impl OutcomeV1 {
    fn of(outcome: &RunOutcome) -> Self {
        match outcome {
            RunOutcome::Succeeded => OutcomeV1::Succeeded,
            RunOutcome::Pending => OutcomeV1::Pending,
            RunOutcome::Declined { code, kind } => OutcomeV1::Declined {
                code: code.clone(),
                kind: DeclineKindV1::of(*kind),
            },
            RunOutcome::Notified => OutcomeV1::Notified,
            RunOutcome::Failed(message) => OutcomeV1::Failed {
                message: message.clone(),
            },
        }
    }

    fn read(self) -> RunOutcome {
        match self {
            OutcomeV1::Succeeded => RunOutcome::Succeeded,
            OutcomeV1::Pending => RunOutcome::Pending,
            OutcomeV1::Declined { code, kind } => RunOutcome::Declined {
                code,
                kind: kind.read(),
            },
            OutcomeV1::Notified => RunOutcome::Notified,
            OutcomeV1::Failed { message } => RunOutcome::Failed(message),
        }
    }
}

impl RunV1 {
    fn of(body: &RunBody) -> Self {
        RunV1 {
            action: ActionV1::of(&body.action),
            reason: ReasonV1::of(body.reason),
            attempt: body.attempt,
            payment: body.payment.as_ref().map(ToString::to_string),
            outcome: OutcomeV1::of(&body.outcome),
        }
    }

    fn read(self) -> Result<RunBody, StoredRowError> {
        Ok(RunBody {
            action: self.action.read(RUN)?,
            reason: self.reason.read(),
            attempt: self.attempt,
            payment: self.payment.map(|p| id::<PaymentId>(RUN, &p)).transpose()?,
            outcome: self.outcome.read(),
        })
    }
}

/// A business's payment settings as stored, in [`SETTINGS_VERSION`].
pub fn encode_settings(settings: &PaymentSettings) -> Result<String, StoredRowError> {
    let v2 = SettingsV2 {
        v1: SettingsV1::of(settings)?,
        no_show_fee: settings.no_show_fee.as_ref().map(ShareV1::of),
    };
    to_json(SETTINGS, &v2)
}

/// A business's payment settings read back from a body of `version`.
pub fn decode_settings(version: u32, text: &str) -> Result<PaymentSettings, StoredRowError> {
    match version {
        1 => from_json::<SettingsV1>(SETTINGS, version, text)?.read(),
        2 => {
            let v2: SettingsV2 =
                serde_json::from_str(text).map_err(|e| StoredRowError::new(SETTINGS, e))?;
            Ok(PaymentSettings {
                no_show_fee: v2.no_show_fee.map(|f| f.read(SETTINGS)).transpose()?,
                ..v2.v1.read()?
            })
        }
        other => Err(unknown(SETTINGS, other)),
    }
}

/// A booking schedule's body as stored, in [`SCHEDULE_VERSION`].
pub fn encode_schedule(body: &ScheduleBody) -> Result<String, StoredRowError> {
    let v3 = ScheduleV3 {
        v2: ScheduleV2 {
            v1: ScheduleV1::of(body)?,
            checkout_until: body.checkout_until,
        },
        no_show_at: body.no_show_at,
    };
    to_json(SCHEDULE, &v3)
}

/// A booking schedule's body read back from a body of `version`.
pub fn decode_schedule(version: u32, text: &str) -> Result<ScheduleBody, StoredRowError> {
    match version {
        1 => from_json::<ScheduleV1>(SCHEDULE, version, text)?.read(),
        2 => {
            let v2: ScheduleV2 =
                serde_json::from_str(text).map_err(|e| StoredRowError::new(SCHEDULE, e))?;
            Ok(ScheduleBody {
                checkout_until: v2.checkout_until,
                ..v2.v1.read()?
            })
        }
        3 => {
            let v3: ScheduleV3 =
                serde_json::from_str(text).map_err(|e| StoredRowError::new(SCHEDULE, e))?;
            Ok(ScheduleBody {
                checkout_until: v3.v2.checkout_until,
                no_show_at: v3.no_show_at,
                ..v3.v2.v1.read()?
            })
        }
        other => Err(unknown(SCHEDULE, other)),
    }
}

/// A run's body as stored, in [`RUN_VERSION`].
pub fn encode_run(body: &RunBody) -> Result<String, StoredRowError> {
    to_json(RUN, &RunV1::of(body))
}

/// A run's body read back from a body of `version`.
pub fn decode_run(version: u32, text: &str) -> Result<RunBody, StoredRowError> {
    from_json::<RunV1>(RUN, version, text)?.read()
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::money::{Currency, Money};

    #[test]
    fn a_duration_with_a_fraction_of_a_second_is_refused_not_cut() {
        let settings = PaymentSettings {
            hold_margin: Duration::milliseconds(1_500),
            ..PaymentSettings::default()
        };
        let refused = encode_settings(&settings).expect_err("a fraction of a second");
        assert!(
            refused.to_string().contains("whole number of seconds"),
            "{refused}"
        );
        let whole = PaymentSettings {
            hold_margin: Duration::seconds(-90),
            ..PaymentSettings::default()
        };
        let text = encode_settings(&whole).expect("whole seconds");
        assert_eq!(decode_settings(SETTINGS_VERSION, &text), Ok(whole));
    }

    #[test]
    fn bodies_of_an_unknown_version_or_out_of_range_are_refused() {
        let text = encode_settings(&PaymentSettings::default()).expect("encode");
        let newer = decode_settings(3, &text).expect_err("version 3 is unknown");
        assert!(
            newer.to_string().contains("unknown format version 3"),
            "{newer}"
        );
        let zero = text.replace(
            r#""deposit":null"#,
            r#""deposit":{"type":"percent","basis_points":0}"#,
        );
        assert!(decode_settings(2, &zero).is_err(), "0 % is no percentage");
        let run = RunBody {
            action: Action::Charge(Money::from_minor(100, Currency::USD)),
            reason: Reason::Policy,
            attempt: 1,
            payment: None,
            outcome: RunOutcome::Succeeded,
        };
        let text = encode_run(&run).expect("encode");
        assert!(decode_run(0, &text).is_err());
        let bad_id = text.replace(r#""payment":null"#, r#""payment":"not an id""#);
        assert!(decode_run(1, &bad_id).is_err());
    }
}
