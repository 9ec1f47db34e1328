//! The amounts the scripted gateway can charge, by Stripe's published rules: the currencies it
//! takes, its unit for each (three-decimal currencies in tens of thousandths), and its minimum
//! charge. Kept here apart from the Stripe adapter's copy, so that each checks the other.

use crate::money::Money;
use crate::ports::AmountRefused;

/// ISO currencies Stripe does not take for card payments (the rest of the engine's list it
/// does).
const UNSUPPORTED: &[&str] = &[
    "BTN", "CLF", "CUP", "ERN", "IQD", "IRR", "KPW", "LYD", "MRU", "SDG", "SSP", "STN", "SVC",
    "SYP", "TMT", "UYI", "UYW", "VES", "ZWG",
];

/// Stripe's three-decimal currencies: amounts in thousandths whose last digit is 0.
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// Stripe's minimum charge, in the currency's ISO minor units, where it publishes one.
const MINIMUMS: &[(&str, i64)] = &[
    ("USD", 50),
    ("EUR", 50),
    ("GBP", 30),
    ("JPY", 50),
    ("CAD", 50),
    ("AUD", 50),
    ("CHF", 50),
    ("NZD", 50),
    ("SGD", 50),
    ("BRL", 50),
    ("INR", 50),
    ("DKK", 250),
    ("NOK", 300),
    ("SEK", 300),
    ("HKD", 400),
    ("MXN", 1000),
];

/// Whether the gateway can charge `amount` at all.
pub(super) fn check(amount: &Money) -> Result<(), AmountRefused> {
    let currency = amount.currency();
    let code = currency.code();
    let refused = |reason: String| AmountRefused {
        amount: *amount,
        reason,
    };
    if UNSUPPORTED.contains(&code) {
        return Err(refused(format!(
            "the gateway does not take card payments in {code}"
        )));
    }
    let minor = amount
        .to_minor()
        .map_err(|_| refused("the amount is out of range".into()))?;
    if THREE_DECIMAL.contains(&code) && minor % 10 != 0 {
        return Err(refused(format!(
            "{code} is charged in amounts whose last decimal is 0"
        )));
    }
    if let Some((_, minimum)) = MINIMUMS.iter().find(|(c, _)| *c == code)
        && minor < *minimum
    {
        let minimum = Money::from_minor(*minimum, currency);
        return Err(refused(format!(
            "the smallest charge in {code} is {minimum}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn stripe_minimums_units_and_currencies() {
        let ok = |minor, currency| check(&Money::from_minor(minor, currency)).is_ok();
        assert!(!ok(49, Currency::USD));
        assert!(ok(50, Currency::USD));
        assert!(!ok(29, Currency::GBP));
        assert!(ok(30, Currency::GBP));
        assert!(!ok(49, Currency::JPY));
        assert!(ok(50, Currency::JPY));
        assert!(!ok(10_125, Currency::KWD), "10.125 KWD");
        assert!(ok(10_120, Currency::KWD));
        assert!(!ok(100_000, Currency::CLF));
        let refused = check(&Money::from_minor(49, Currency::EUR)).expect_err("refused");
        assert!(refused.reason.contains("0.50"), "{}", refused.reason);
    }
}
