//! The payment policy form: the business's payment settings as text fields (what the owner
//! typed is shown again when it is refused), read into the core's settings, and saved.

use axum::Form;
use axum::extract::State;
use axum::response::Response;
use billing_core::automation::{
    CancellationFee, HoldRenewal, PaymentPolicy, PaymentSettings, Percent, Share,
};
use billing_core::error::BillingError;
use billing_core::money::{Currency, Money};
use chrono::Duration;
use serde::Deserialize;

use super::{Drawn, Owner, done, settings_page};
use crate::Console;
use crate::pages::failed;
use crate::pages::forbidden;

/// The longest lead, delay or window the form reads, in hours (90 days: the core refuses
/// more in its own words; this bound only keeps the arithmetic in range).
const MAX_HOURS: i64 = 90 * 24;

/// The form's fields, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PolicyFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub(crate) policy: String,
    #[serde(default)]
    pub(crate) offset_hours: String,
    #[serde(default)]
    pub(crate) deposit: String,
    #[serde(default)]
    pub(crate) deposit_percent: String,
    #[serde(default)]
    pub(crate) deposit_amount: String,
    #[serde(default)]
    pub(crate) deposit_currency: String,
    #[serde(default)]
    pub(crate) hold_renewal: String,
    #[serde(default)]
    pub(crate) hold_margin_hours: String,
    #[serde(default)]
    pub(crate) fee: String,
    #[serde(default)]
    pub(crate) fee_percent: String,
    #[serde(default)]
    pub(crate) fee_amount: String,
    #[serde(default)]
    pub(crate) fee_currency: String,
    #[serde(default)]
    pub(crate) fee_window_hours: String,
    #[serde(default)]
    pub(crate) no_show: String,
    #[serde(default)]
    pub(crate) no_show_percent: String,
    #[serde(default)]
    pub(crate) no_show_amount: String,
    #[serde(default)]
    pub(crate) no_show_currency: String,
    #[serde(default)]
    pub(crate) notice_hours: String,
}

/// An option of a select.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) selected: bool,
}

fn choices(options: &[(&'static str, &'static str)], chosen: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            selected: value == chosen,
        })
        .collect()
}

const POLICIES: [(&str, &str); 6] = [
    ("manual", "Manual: only when staff charge"),
    ("charge_at_booking", "Charge in full at booking"),
    (
        "authorize_at_booking",
        "Hold at booking, capture after the service",
    ),
    (
        "authorize_before_service",
        "Hold before the service, capture after it",
    ),
    ("charge_before_service", "Charge before the service"),
    (
        "charge_after_completion",
        "Charge after the service is completed",
    ),
];

const SHARES: [(&str, &str); 3] = [
    ("none", "None"),
    ("percent", "A percentage of the price"),
    ("fixed", "A fixed amount"),
];

const RENEWALS: [(&str, &str); 3] = [
    ("renew", "Place a new hold, then release the old one"),
    (
        "capture_if_done",
        "Capture it if the service is done, else tell staff",
    ),
    ("tell_staff", "Tell staff and do nothing on the card"),
];

/// The form as drawn: the fields and the options of its selects.
#[derive(Debug)]
pub(crate) struct PolicyForm {
    pub(crate) fields: PolicyFields,
    pub(crate) policies: Vec<Choice>,
    pub(crate) deposits: Vec<Choice>,
    pub(crate) renewals: Vec<Choice>,
    pub(crate) fees: Vec<Choice>,
    pub(crate) no_show_fees: Vec<Choice>,
    /// Why the last submission was refused.
    pub(crate) error: Option<String>,
}

impl PolicyForm {
    pub(crate) fn of(fields: PolicyFields, error: Option<String>) -> PolicyForm {
        PolicyForm {
            policies: choices(&POLICIES, &fields.policy),
            deposits: choices(&SHARES, &fields.deposit),
            renewals: choices(&RENEWALS, &fields.hold_renewal),
            fees: choices(&SHARES, &fields.fee),
            no_show_fees: choices(&SHARES, &fields.no_show),
            fields,
            error,
        }
    }
}

/// Hours as the form shows them: whole, or with up to two decimals (read back to the same
/// minute).
pub(crate) fn hours_text(duration: Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    let hundredths = (minutes * 100 + 30) / 60;
    match hundredths % 100 {
        0 => (hundredths / 100).to_string(),
        rest if rest % 10 == 0 => format!("{}.{}", hundredths / 100, rest / 10),
        rest => format!("{}.{rest:02}", hundredths / 100),
    }
}

/// Hours as typed (`48`, `1.5`, `0.25`) to the nearest minute; `None` for anything else.
fn hours(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 5 || fraction.len() > 2 || !digits(whole) {
        return None;
    }
    if !digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let hundredths = whole * 100 + fraction;
    (hundredths <= MAX_HOURS * 100).then(|| Duration::minutes((hundredths * 60 + 50) / 100))
}

fn required_hours(text: &str, what: &str) -> Result<Duration, String> {
    hours(text).ok_or_else(|| {
        format!(
            "{what}: a number of hours such as 48 or 1.5 (at most {MAX_HOURS}), with at most two decimals."
        )
    })
}

fn share(
    kind: &str,
    percent: &str,
    amount: &str,
    currency: &str,
    what: &str,
) -> Result<Option<Share>, String> {
    match kind {
        "" | "none" => Ok(None),
        "percent" => Percent::parse(percent.trim())
            .map(|p| Some(Share::Percent(p)))
            .map_err(|_| {
                format!("{what}: a percentage above 0 and at most 100, with at most two decimals.")
            }),
        "fixed" => {
            let currency = Currency::from_code(&currency.trim().to_uppercase()).map_err(|_| {
                format!("{what}: a currency is a three-letter code such as USD or EUR.")
            })?;
            Money::parse(amount.trim(), currency)
                .ok()
                .and_then(|money| Share::fixed(money).ok())
                .map(Some)
                .ok_or_else(|| format!("{what}: an amount above zero, such as 25.00."))
        }
        _ => Err(format!(
            "{what}: choose none, a percentage or a fixed amount."
        )),
    }
}

impl PolicyFields {
    /// The fields of the business's settings, as the form shows them.
    pub(crate) fn of(settings: &PaymentSettings) -> PolicyFields {
        let (offset, policy) = match settings.policy {
            PaymentPolicy::AuthorizeBeforeService { lead }
            | PaymentPolicy::ChargeBeforeService { lead } => (Some(lead), settings.policy.name()),
            PaymentPolicy::ChargeAfterCompletion { delay } => (Some(delay), settings.policy.name()),
            _ => (None, settings.policy.name()),
        };
        let share_fields = |share: Option<&Share>| match share {
            None => ("none", String::new(), String::new(), "USD".to_owned()),
            Some(Share::Percent(p)) => ("percent", p.to_string(), String::new(), "USD".to_owned()),
            Some(Share::Fixed(m)) => (
                "fixed",
                String::new(),
                m.amount().to_string(),
                m.currency().code().to_owned(),
            ),
        };
        let (deposit, deposit_percent, deposit_amount, deposit_currency) =
            share_fields(settings.deposit.as_ref());
        let (fee, fee_percent, fee_amount, fee_currency) =
            share_fields(settings.cancellation_fee.as_ref().map(|f| &f.fee));
        let (no_show, no_show_percent, no_show_amount, no_show_currency) =
            share_fields(settings.no_show_fee.as_ref());
        PolicyFields {
            csrf: String::new(),
            policy: policy.to_owned(),
            offset_hours: offset.map(hours_text).unwrap_or_default(),
            deposit: deposit.to_owned(),
            deposit_percent,
            deposit_amount,
            deposit_currency,
            hold_renewal: match settings.hold_renewal {
                HoldRenewal::Renew => "renew",
                HoldRenewal::CaptureIfDone => "capture_if_done",
                HoldRenewal::TellStaff => "tell_staff",
            }
            .to_owned(),
            hold_margin_hours: hours_text(settings.hold_margin),
            fee: fee.to_owned(),
            fee_percent,
            fee_amount,
            fee_currency,
            fee_window_hours: settings
                .cancellation_fee
                .as_ref()
                .map(|f| hours_text(f.window))
                .unwrap_or_default(),
            no_show: no_show.to_owned(),
            no_show_percent,
            no_show_amount,
            no_show_currency,
            notice_hours: settings.upcoming_notice.map(hours_text).unwrap_or_default(),
        }
    }

    /// The core's settings, or what to tell the owner.
    pub(crate) fn settings(&self) -> Result<PaymentSettings, String> {
        let offset = || required_hours(&self.offset_hours, "Hours before the service, or after it");
        let policy = match self.policy.as_str() {
            "manual" => PaymentPolicy::Manual,
            "charge_at_booking" => PaymentPolicy::ChargeAtBooking,
            "authorize_at_booking" => PaymentPolicy::AuthorizeAtBooking,
            "authorize_before_service" => PaymentPolicy::AuthorizeBeforeService { lead: offset()? },
            "charge_before_service" => PaymentPolicy::ChargeBeforeService { lead: offset()? },
            "charge_after_completion" => PaymentPolicy::ChargeAfterCompletion { delay: offset()? },
            _ => return Err("Choose when the money is taken.".to_owned()),
        };
        let deposit = share(
            &self.deposit,
            &self.deposit_percent,
            &self.deposit_amount,
            &self.deposit_currency,
            "Deposit",
        )?;
        let hold_renewal = match self.hold_renewal.as_str() {
            "renew" => HoldRenewal::Renew,
            "capture_if_done" => HoldRenewal::CaptureIfDone,
            "tell_staff" => HoldRenewal::TellStaff,
            _ => return Err("Choose what is done with a hold that would run out.".to_owned()),
        };
        let hold_margin = required_hours(
            &self.hold_margin_hours,
            "Act on a hold this long before it runs out",
        )?;
        let cancellation_fee = match share(
            &self.fee,
            &self.fee_percent,
            &self.fee_amount,
            &self.fee_currency,
            "Cancellation fee",
        )? {
            Some(fee) => Some(CancellationFee {
                fee,
                window: required_hours(&self.fee_window_hours, "Cancellation window")?,
            }),
            None => None,
        };
        let no_show_fee = share(
            &self.no_show,
            &self.no_show_percent,
            &self.no_show_amount,
            &self.no_show_currency,
            "No-show fee",
        )?;
        let upcoming_notice = match self.notice_hours.trim() {
            "" => None,
            text => Some(required_hours(text, "Notice before an automatic charge")?),
        };
        Ok(PaymentSettings {
            policy,
            deposit,
            hold_renewal,
            hold_margin,
            cancellation_fee,
            no_show_fee,
            upcoming_notice,
        })
    }
}

/// A refusal's words with a capital and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let rest: String = chars.collect();
    let end = if rest.ends_with('.') { "" } else { "." };
    format!("{first}{rest}{end}")
}

/// `POST /console/settings/payments`: saved, then the settings page again (post, redirect,
/// get); refused, the form again with what was typed, why, and a 400: nothing changed.
pub(crate) async fn save(
    State(console): State<Console>,
    Owner(member): Owner,
    Form(fields): Form<PolicyFields>,
) -> Response {
    if !member.checks(&fields.csrf) {
        return forbidden();
    }
    let refused = |error: String| Drawn {
        policy: Some(PolicyForm::of(fields.clone(), Some(error))),
        ..Drawn::default()
    };
    let settings = match fields.settings() {
        Ok(settings) => settings,
        Err(error) => return settings_page(&console, &member, refused(error)).await,
    };
    match console
        .billing
        .set_payment_settings(&member.visit.business, settings)
        .await
    {
        Ok(_) => {
            tracing::info!(staff = %member.visit.member.id, "payment settings saved in the console");
            done("policy-saved")
        }
        Err(BillingError::InvalidInput(why)) => {
            settings_page(&console, &member, refused(sentence(why))).await
        }
        Err(error) => {
            tracing::error!(%error, "payment settings could not be saved");
            failed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_read_to_the_minute_and_show_again_the_same() {
        assert_eq!(hours("48"), Some(Duration::hours(48)));
        assert_eq!(hours(" 1.5 "), Some(Duration::minutes(90)));
        assert_eq!(hours("0.25"), Some(Duration::minutes(15)));
        assert_eq!(hours("0"), Some(Duration::zero()));
        for refused in ["", "-1", "1.", ".5", "1.234", "abc", "1e3", "99999", "2161"] {
            assert_eq!(hours(refused), None, "{refused:?}");
        }
        for minutes in [0, 1, 15, 59, 60, 90, 100, 2880, 129_600] {
            let duration = Duration::minutes(minutes);
            assert_eq!(hours(&hours_text(duration)), Some(duration), "{minutes}");
        }
        assert_eq!(hours_text(Duration::minutes(90)), "1.5");
        assert_eq!(hours_text(Duration::hours(48)), "48");
    }

    #[test]
    fn the_business_settings_show_in_the_form_and_read_back() {
        let settings = PaymentSettings {
            policy: PaymentPolicy::AuthorizeBeforeService {
                lead: Duration::hours(48),
            },
            deposit: Some(Share::Fixed(Money::from_minor(2_500, Currency::USD))),
            hold_renewal: HoldRenewal::TellStaff,
            hold_margin: Duration::hours(6),
            cancellation_fee: Some(CancellationFee {
                fee: Share::Percent(Percent::parse("12.5").expect("percent")),
                window: Duration::hours(24),
            }),
            no_show_fee: Some(Share::Fixed(Money::from_minor(4_000, Currency::USD))),
            upcoming_notice: Some(Duration::minutes(90)),
        };
        let fields = PolicyFields::of(&settings);
        assert_eq!(fields.no_show, "fixed");
        assert_eq!(fields.no_show_amount, "40.00");
        assert_eq!(fields.policy, "authorize_before_service");
        assert_eq!(fields.offset_hours, "48");
        assert_eq!(fields.deposit_amount, "25.00");
        assert_eq!(fields.fee_percent, "12.5");
        assert_eq!(fields.settings(), Ok(settings));
        assert_eq!(
            PolicyFields::of(&PaymentSettings::default()).settings(),
            Ok(PaymentSettings::default())
        );
    }

    #[test]
    fn bad_fields_say_what_is_wrong() {
        let fields = |edit: fn(&mut PolicyFields)| {
            let mut fields = PolicyFields::of(&PaymentSettings::default());
            edit(&mut fields);
            fields.settings()
        };
        let refused = [
            fields(|f| f.policy = "whenever".into()),
            fields(|f| {
                f.policy = "charge_before_service".into();
                f.offset_hours = "soon".into();
            }),
            fields(|f| {
                f.deposit = "percent".into();
                f.deposit_percent = "150".into();
            }),
            fields(|f| {
                f.deposit = "fixed".into();
                f.deposit_amount = "25.00".into();
                f.deposit_currency = "XX".into();
            }),
            fields(|f| {
                f.fee = "fixed".into();
                f.fee_amount = "-3".into();
            }),
            fields(|f| f.notice_hours = "tomorrow".into()),
        ];
        for refusal in refused {
            assert!(
                matches!(&refusal, Err(why) if why.ends_with('.')),
                "{refusal:?}"
            );
        }
        assert_eq!(
            sentence("a hold margin is 0 to 48 hours"),
            "A hold margin is 0 to 48 hours."
        );
    }
}
