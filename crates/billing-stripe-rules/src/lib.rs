//! # billing-stripe-rules
//!
//! Stripe's published rules for amounts (docs.stripe.com/currencies), in one place for the two
//! crates that must follow them: the Stripe adapter, which refuses before sending what Stripe
//! would refuse, and the sandbox, which stands in for Stripe and must refuse the same.
//!
//! Amounts are given as ISO 4217 minor units (what the core's `Money` holds) with the
//! currency's ISO digits; the answer is Stripe's integer amount, or the rule it breaks.
//!
//! - **Supported currencies**: Stripe's presentment currencies for card payments. Anything else
//!   (and the four-decimal units of account) is refused.
//! - **Zero-decimal** currencies are sent in whole units: BIF, CLP, DJF, GNF, JPY, KMF, KRW,
//!   MGA, PYG, RWF, VND, VUV, XAF, XOF, XPF. MGA has two decimals in ISO 4217, so a fraction of
//!   an ariary cannot be charged.
//! - **ISK and UGX** became zero-decimal, but Stripe keeps them two-decimal for backwards
//!   compatibility: 5 ISK is sent as `500`, a multiple of 100.
//! - **HUF and TWD** are zero-decimal for payouts only; charges take two decimals.
//! - **Three-decimal** currencies (BHD, JOD, KWD, OMR, TND) are sent in thousandths whose last
//!   digit is 0, as card networks require: 5.124 KWD cannot be charged, 5.120 can.
//! - **Maximum**: eight digits in Stripe's integer amount (999,999.99 USD).
//! - **Minimum charge**: Stripe's table for the currencies it publishes one for (USD 0.50,
//!   GBP 0.30, JPY 50...). For the others Stripe requires the equivalent of USD 0.50 at the
//!   day's rate, which no table can say: those are left to Stripe.
//!
//! ```
//! use billing_stripe_rules::{charge_amount, stripe_amount};
//!
//! assert_eq!(stripe_amount("KWD", 3, 5_120), Ok(5_120));
//! assert!(stripe_amount("KWD", 3, 5_124).is_err());
//! assert!(charge_amount("USD", 2, 49).is_err()); // under Stripe's 0.50 minimum
//! assert_eq!(charge_amount("USD", 2, 50), Ok(50));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Why Stripe cannot take an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountRule {
    /// Stripe does not take card payments in this currency.
    #[error("Stripe does not take card payments in {0}")]
    UnsupportedCurrency(String),
    /// Stripe's unit for the currency is coarser than the amount.
    #[error("{0}")]
    NotRepresentable(&'static str),
    /// Under Stripe's minimum charge for the currency.
    #[error("Stripe's smallest charge in {currency} is {minimum}")]
    BelowMinimum {
        /// The currency.
        currency: String,
        /// Stripe's minimum, written in the currency's units (`0.50`).
        minimum: String,
    },
    /// Over Stripe's largest amount (eight digits in Stripe's integer amount).
    #[error("Stripe's largest charge is 99,999,999 in the currency's smallest unit")]
    AboveMaximum,
    /// Far beyond any real amount.
    #[error("the amount is out of range")]
    Overflow,
}

/// Stripe's largest amount, in its integer unit: eight digits.
pub const MAXIMUM: i64 = 99_999_999;

/// How Stripe writes one currency's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripeUnit {
    /// Decimal places of Stripe's integer amount.
    pub digits: u32,
    /// Stripe's integer amount must be a multiple of this.
    pub step: i64,
    /// Stripe's rule, for messages.
    pub rule: &'static str,
}

const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
    "XOF", "XPF",
];
const TWO_DECIMAL_WHOLE_UNITS: &[&str] = &["ISK", "UGX"];
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// Stripe's presentment currencies for card payments (docs.stripe.com/currencies).
const SUPPORTED: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLP", "CNY", "COP", "CRC", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
    "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SZL", "THB", "TJS",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VND", "VUV",
    "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
];

/// Stripe's published minimum charge per currency, in Stripe's integer amount.
const MINIMUMS: &[(&str, i64)] = &[
    ("USD", 50),
    ("AED", 200),
    ("AUD", 50),
    ("BGN", 100),
    ("BRL", 50),
    ("CAD", 50),
    ("CHF", 50),
    ("CZK", 1500),
    ("DKK", 250),
    ("EUR", 50),
    ("GBP", 30),
    ("HKD", 400),
    ("HUF", 17500),
    ("INR", 50),
    ("JPY", 50),
    ("MXN", 1000),
    ("MYR", 200),
    ("NOK", 300),
    ("NZD", 50),
    ("PLN", 200),
    ("RON", 200),
    ("SEK", 300),
    ("SGD", 50),
    ("THB", 1000),
];

/// How Stripe writes `code`'s amounts, or [`AmountRule::UnsupportedCurrency`].
pub fn unit(code: &str) -> Result<StripeUnit, AmountRule> {
    if !SUPPORTED.contains(&code) {
        return Err(AmountRule::UnsupportedCurrency(code.to_owned()));
    }
    Ok(if ZERO_DECIMAL.contains(&code) {
        StripeUnit {
            digits: 0,
            step: 1,
            rule: "Stripe takes this currency in whole units",
        }
    } else if TWO_DECIMAL_WHOLE_UNITS.contains(&code) {
        StripeUnit {
            digits: 2,
            step: 100,
            rule: "Stripe takes this currency as two-decimal amounts of whole units",
        }
    } else if THREE_DECIMAL.contains(&code) {
        StripeUnit {
            digits: 3,
            step: 10,
            rule: "Stripe takes three-decimal amounts whose last digit is 0",
        }
    } else {
        StripeUnit {
            digits: 2,
            step: 1,
            rule: "Stripe takes this currency with two decimals",
        }
    })
}

fn pow10(exp: u32) -> Result<i64, AmountRule> {
    10_i64.checked_pow(exp).ok_or(AmountRule::Overflow)
}

/// Stripe's integer amount for `minor` ISO minor units of `code` (which has `iso_digits`
/// decimals), or the rule that makes it impossible. Nothing is ever rounded.
pub fn stripe_amount(code: &str, iso_digits: u32, minor: i64) -> Result<i64, AmountRule> {
    let unit = unit(code)?;
    let amount = if unit.digits >= iso_digits {
        minor
            .checked_mul(pow10(unit.digits - iso_digits)?)
            .ok_or(AmountRule::Overflow)?
    } else {
        let scale = pow10(iso_digits - unit.digits)?;
        if minor % scale != 0 {
            return Err(AmountRule::NotRepresentable(unit.rule));
        }
        minor / scale
    };
    if amount % unit.step != 0 {
        return Err(AmountRule::NotRepresentable(unit.rule));
    }
    Ok(amount)
}

/// ISO minor units for Stripe's integer `amount` of `code`, or `None` when it is not a valid
/// amount of the currency in Stripe's unit.
pub fn iso_minor(code: &str, iso_digits: u32, amount: i64) -> Option<i64> {
    let unit = unit(code).ok()?;
    if amount % unit.step != 0 {
        return None;
    }
    if unit.digits >= iso_digits {
        let scale = pow10(unit.digits - iso_digits).ok()?;
        (amount % scale == 0).then_some(amount / scale)
    } else {
        amount.checked_mul(pow10(iso_digits - unit.digits).ok()?)
    }
}

/// [`stripe_amount`] for a new charge or hold, which must also reach Stripe's published minimum
/// for the currency. Captures and refunds have no minimum: use [`stripe_amount`] for them.
pub fn charge_amount(code: &str, iso_digits: u32, minor: i64) -> Result<i64, AmountRule> {
    let amount = stripe_amount(code, iso_digits, minor)?;
    if amount > MAXIMUM {
        return Err(AmountRule::AboveMaximum);
    }
    if let Some((_, minimum)) = MINIMUMS.iter().find(|(c, _)| *c == code)
        && amount < *minimum
    {
        let digits = unit(code)?.digits;
        return Err(AmountRule::BelowMinimum {
            currency: code.to_owned(),
            minimum: written(*minimum, digits),
        });
    }
    Ok(amount)
}

/// An integer amount with `digits` decimals, written out (`50`, 2 → `0.50`).
fn written(amount: i64, digits: u32) -> String {
    if digits == 0 {
        return amount.to_string();
    }
    let text = format!("{amount:0>width$}", width = digits as usize + 1);
    let (units, fraction) = text.split_at(text.len() - digits as usize);
    format!("{units}.{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimal_currencies_are_sent_in_cents() {
        assert_eq!(stripe_amount("USD", 2, 21_550), Ok(21_550));
        assert_eq!(stripe_amount("HUF", 2, 123_456), Ok(123_456));
        assert_eq!(stripe_amount("TWD", 2, 9_999), Ok(9_999));
    }

    #[test]
    fn zero_decimal_currencies_are_sent_in_whole_units() {
        assert_eq!(stripe_amount("JPY", 0, 1_500), Ok(1_500));
        // MGA has two decimals in ISO 4217 but none on Stripe.
        assert_eq!(stripe_amount("MGA", 2, 300_000), Ok(3_000));
        assert!(matches!(
            stripe_amount("MGA", 2, 300_050),
            Err(AmountRule::NotRepresentable(_))
        ));
        assert_eq!(iso_minor("MGA", 2, 3_000), Some(300_000));
    }

    #[test]
    fn isk_and_ugx_are_two_decimal_whole_units() {
        assert_eq!(stripe_amount("ISK", 0, 5), Ok(500));
        assert_eq!(iso_minor("ISK", 0, 500), Some(5));
        assert_eq!(iso_minor("ISK", 0, 550), None);
    }

    #[test]
    fn three_decimal_currencies_end_in_zero() {
        assert_eq!(stripe_amount("KWD", 3, 5_120), Ok(5_120));
        assert!(matches!(
            stripe_amount("KWD", 3, 10_125),
            Err(AmountRule::NotRepresentable(_))
        ));
        assert_eq!(iso_minor("KWD", 3, 5_120), Some(5_120));
        assert_eq!(iso_minor("KWD", 3, 5_125), None);
    }

    #[test]
    fn unsupported_currencies_and_units_of_account_are_refused() {
        for code in ["CLF", "UYW", "XAU", "IRR", "KPW"] {
            assert_eq!(
                stripe_amount(code, 2, 100),
                Err(AmountRule::UnsupportedCurrency(code.to_owned())),
                "{code}"
            );
        }
    }

    #[test]
    fn charges_reach_the_published_minimum() {
        assert!(matches!(
            charge_amount("USD", 2, 49),
            Err(AmountRule::BelowMinimum { ref minimum, .. }) if minimum == "0.50"
        ));
        assert_eq!(charge_amount("USD", 2, 50), Ok(50));
        assert_eq!(charge_amount("GBP", 2, 30), Ok(30));
        assert!(charge_amount("GBP", 2, 29).is_err());
        assert!(matches!(
            charge_amount("JPY", 0, 49),
            Err(AmountRule::BelowMinimum { ref minimum, .. }) if minimum == "50"
        ));
        // No published minimum: left to Stripe.
        assert_eq!(charge_amount("KWD", 3, 10), Ok(10));
        // Captures and refunds have none.
        assert_eq!(stripe_amount("USD", 2, 1), Ok(1));
    }

    #[test]
    fn charges_stay_within_eight_digits() {
        assert_eq!(charge_amount("USD", 2, MAXIMUM), Ok(MAXIMUM));
        assert_eq!(
            charge_amount("USD", 2, MAXIMUM + 1),
            Err(AmountRule::AboveMaximum)
        );
    }

    #[test]
    fn every_supported_currency_round_trips_whole_amounts() {
        for code in SUPPORTED {
            let Ok(unit) = unit(code) else { continue };
            let iso_digits = if ZERO_DECIMAL.contains(code) && *code != "MGA" {
                0
            } else if THREE_DECIMAL.contains(code) {
                3
            } else if TWO_DECIMAL_WHOLE_UNITS.contains(code) {
                0
            } else {
                2
            };
            let minor = 1_234 * 10_i64.pow(iso_digits);
            let sent = stripe_amount(code, iso_digits, minor).expect("representable");
            assert_eq!(sent % unit.step, 0, "{code}");
            assert_eq!(iso_minor(code, iso_digits, sent), Some(minor), "{code}");
        }
    }

    #[test]
    fn minimums_are_written_in_units() {
        assert_eq!(written(50, 2), "0.50");
        assert_eq!(written(17_500, 2), "175.00");
        assert_eq!(written(50, 0), "50");
    }
}
