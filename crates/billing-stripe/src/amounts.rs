//! Amounts as Stripe takes them: integers in Stripe's own unit per currency, which is not always
//! ISO 4217's. The rules themselves (which currencies, which unit, the minimum charge) live in
//! `billing-stripe-rules`, shared with the sandbox; this module puts them in the core's terms
//! (`Money`) and async-stripe's (`Currency`).
//!
//! Nothing is ever rounded: an amount Stripe cannot represent exactly is refused before any
//! request is sent.

use std::str::FromStr;

use billing_core::money::{Currency, Money};
use billing_core::ports::AmountRefused;
use billing_stripe_rules::{AmountRule, charge_amount, iso_minor, stripe_amount};

/// Why an amount cannot go to Stripe, or an amount from Stripe cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Stripe's unit for this currency is coarser than the amount.
    #[error("{amount} cannot be charged on Stripe: {rule}")]
    NotRepresentable {
        /// The amount asked.
        amount: String,
        /// Stripe's rule it breaks.
        rule: &'static str,
    },
    /// Under Stripe's minimum charge for the currency.
    #[error("{amount} cannot be charged on Stripe: its smallest charge in {currency} is {minimum}")]
    BelowMinimum {
        /// The amount asked.
        amount: String,
        /// The currency.
        currency: String,
        /// Stripe's minimum, in the currency's units.
        minimum: String,
    },
    /// Stripe does not take payments in this currency.
    #[error("Stripe does not take payments in {0}")]
    Unsupported(String),
    /// An amount Stripe sent back is not a valid amount of its currency.
    #[error("Stripe answered {amount} {currency}, which is not a valid amount of it")]
    Unreadable {
        /// Stripe's integer amount.
        amount: i64,
        /// Stripe's currency code.
        currency: String,
    },
    /// Over Stripe's largest amount (eight digits).
    #[error("{0} is over Stripe's largest amount (eight digits in its smallest unit)")]
    AboveMaximum(String),
    /// Far beyond any real amount.
    #[error("amount out of range")]
    Overflow,
}

impl AmountError {
    fn of_rule(rule: AmountRule, money: &Money) -> AmountError {
        match rule {
            AmountRule::UnsupportedCurrency(code) => AmountError::Unsupported(code),
            AmountRule::NotRepresentable(rule) => AmountError::NotRepresentable {
                amount: money.to_string(),
                rule,
            },
            AmountRule::BelowMinimum { currency, minimum } => AmountError::BelowMinimum {
                amount: money.to_string(),
                currency,
                minimum,
            },
            AmountRule::AboveMaximum => AmountError::AboveMaximum(money.to_string()),
            AmountRule::Overflow => AmountError::Overflow,
        }
    }
}

fn minor(money: &Money) -> Result<i64, AmountError> {
    money.to_minor().map_err(|_| AmountError::Overflow)
}

/// The integer amount and currency to send to Stripe for a capture or a refund (no minimum).
///
/// # Errors
/// [`AmountError`] when Stripe cannot take the amount.
pub fn to_stripe(money: &Money) -> Result<(i64, stripe_types::Currency), AmountError> {
    let currency = money.currency();
    let amount = stripe_amount(currency.code(), currency.minor_unit_digits(), minor(money)?)
        .map_err(|rule| AmountError::of_rule(rule, money))?;
    Ok((amount, stripe_currency(currency)))
}

/// Like [`to_stripe`], for a new charge or hold, which must also reach Stripe's published
/// minimum for the currency.
///
/// # Errors
/// [`AmountError`] when Stripe cannot charge the amount.
pub fn charge_to_stripe(money: &Money) -> Result<(i64, stripe_types::Currency), AmountError> {
    let currency = money.currency();
    let amount = charge_amount(currency.code(), currency.minor_unit_digits(), minor(money)?)
        .map_err(|rule| AmountError::of_rule(rule, money))?;
    Ok((amount, stripe_currency(currency)))
}

/// Whether Stripe can charge `money` at all, worded for the business when not.
///
/// # Errors
/// [`AmountRefused`] with the rule the amount breaks.
pub fn check_charge(money: &Money) -> Result<(), AmountRefused> {
    charge_to_stripe(money).map(|_| ()).map_err(|error| {
        let currency = money.currency();
        let reason = match error {
            AmountError::Unsupported(code) => {
                format!("Stripe does not take card payments in {code}.")
            }
            AmountError::NotRepresentable { rule, .. } => format!("{rule}."),
            AmountError::BelowMinimum { minimum, .. } => {
                format!("the smallest amount Stripe charges in {currency} is {minimum} {currency}.")
            }
            AmountError::AboveMaximum(_) => {
                "the largest amount Stripe charges has eight digits in the currency's smallest unit.".to_owned()
            }
            AmountError::Unreadable { .. } | AmountError::Overflow => {
                "the amount is far beyond what a card payment can be.".to_owned()
            }
        };
        AmountRefused {
            amount: *money,
            reason,
        }
    })
}

/// Stripe's currency for ours (always known: the parse is infallible, unknown codes are kept).
pub fn stripe_currency(currency: Currency) -> stripe_types::Currency {
    // Parsing never fails: a code async-stripe does not list is kept as `Unknown`.
    let Ok(parsed) = stripe_types::Currency::from_str(&currency.code().to_ascii_lowercase());
    parsed
}

/// The money an amount from Stripe stands for.
///
/// # Errors
/// [`AmountError`] when the amount is not a valid amount of its currency in Stripe's unit.
pub fn from_stripe(amount: i64, currency: &stripe_types::Currency) -> Result<Money, AmountError> {
    from_stripe_code(amount, &currency.to_string())
}

/// Like [`from_stripe`], with the currency as Stripe's lower-case code (webhook payloads).
///
/// # Errors
/// As [`from_stripe`].
pub fn from_stripe_code(amount: i64, code: &str) -> Result<Money, AmountError> {
    let currency = Currency::from_code(code).map_err(|_| AmountError::Unsupported(code.into()))?;
    if let Err(AmountRule::UnsupportedCurrency(code)) = billing_stripe_rules::unit(currency.code())
    {
        return Err(AmountError::Unsupported(code));
    }
    let minor =
        iso_minor(currency.code(), currency.minor_unit_digits(), amount).ok_or_else(|| {
            AmountError::Unreadable {
                amount,
                currency: code.to_owned(),
            }
        })?;
    Ok(Money::from_minor(minor, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str, code: &str) -> Money {
        Money::parse(text, Currency::from_code(code).expect("known")).expect("valid")
    }

    fn sent(text: &str, code: &str) -> Result<i64, AmountError> {
        to_stripe(&money(text, code)).map(|(amount, _)| amount)
    }

    #[test]
    fn two_decimal_currencies_are_sent_in_cents() {
        assert_eq!(sent("215.50", "USD"), Ok(21550));
        assert_eq!(sent("0.01", "EUR"), Ok(1));
        // HUF and TWD: zero-decimal for payouts only; charges keep their decimals.
        assert_eq!(sent("1234.56", "HUF"), Ok(123_456));
        assert_eq!(sent("99.99", "TWD"), Ok(9999));
        assert_eq!(
            to_stripe(&money("1", "USD")).map(|(_, c)| c),
            Ok(stripe_types::Currency::USD)
        );
    }

    #[test]
    fn zero_decimal_currencies_are_sent_in_whole_units() {
        assert_eq!(sent("1500", "JPY"), Ok(1500));
        assert_eq!(sent("25000", "KRW"), Ok(25000));
        // MGA has two decimals in ISO 4217 but none on Stripe.
        assert_eq!(sent("3000", "MGA"), Ok(3000));
        assert!(matches!(
            sent("3000.50", "MGA"),
            Err(AmountError::NotRepresentable { .. })
        ));
    }

    #[test]
    fn isk_and_ugx_are_sent_as_two_decimal_whole_units() {
        assert_eq!(sent("5", "ISK"), Ok(500));
        assert_eq!(sent("12000", "UGX"), Ok(1_200_000));
        assert_eq!(from_stripe_code(500, "isk"), Ok(money("5", "ISK")));
        assert!(matches!(
            from_stripe_code(550, "isk"),
            Err(AmountError::Unreadable { .. })
        ));
    }

    #[test]
    fn three_decimal_currencies_must_end_in_zero() {
        assert_eq!(sent("5.120", "KWD"), Ok(5120));
        assert_eq!(sent("12.5", "BHD"), Ok(12500));
        assert!(matches!(
            sent("5.124", "KWD"),
            Err(AmountError::NotRepresentable { .. })
        ));
        assert_eq!(from_stripe_code(5120, "kwd"), Ok(money("5.12", "KWD")));
    }

    #[test]
    fn four_decimal_units_of_account_are_refused() {
        assert!(matches!(
            sent("1.2345", "CLF"),
            Err(AmountError::Unsupported(_))
        ));
        assert!(matches!(
            from_stripe_code(12_345, "clf"),
            Err(AmountError::Unsupported(_))
        ));
    }

    #[test]
    fn charges_must_reach_the_minimum_but_captures_and_refunds_need_not() {
        let small = money("0.49", "USD");
        assert!(matches!(
            charge_to_stripe(&small),
            Err(AmountError::BelowMinimum { ref minimum, .. }) if minimum == "0.50"
        ));
        assert_eq!(to_stripe(&small).map(|(a, _)| a), Ok(49));
        assert_eq!(
            charge_to_stripe(&money("0.50", "USD")).map(|(a, _)| a),
            Ok(50)
        );
    }

    #[test]
    fn refusals_are_worded_for_the_business() {
        let refused = check_charge(&money("0.49", "EUR")).expect_err("under the minimum");
        assert_eq!(refused.amount, money("0.49", "EUR"));
        assert!(refused.reason.contains("0.50 EUR"), "{}", refused.reason);
        let kwd = check_charge(&money("10.125", "KWD")).expect_err("last digit");
        assert!(kwd.reason.contains("last digit is 0"), "{}", kwd.reason);
        let clf = check_charge(&money("100", "CLF")).expect_err("not a currency to charge");
        assert!(clf.reason.contains("CLF"), "{}", clf.reason);
        assert_eq!(check_charge(&money("10.120", "KWD")), Ok(()));
    }

    #[test]
    fn every_known_currency_round_trips() {
        for currency in Currency::all() {
            if billing_stripe_rules::unit(currency.code()).is_err() {
                continue;
            }
            // A whole number of units is representable everywhere Stripe takes the currency.
            let amount =
                Money::from_minor(1234 * 10_i64.pow(currency.minor_unit_digits()), currency);
            let (stripe_amount, stripe_code) = to_stripe(&amount).expect("representable");
            assert_eq!(
                from_stripe(stripe_amount, &stripe_code),
                Ok(amount),
                "{currency}"
            );
        }
    }
}
