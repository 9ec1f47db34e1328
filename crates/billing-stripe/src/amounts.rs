//! Amounts as Stripe takes them: integers in Stripe's own minor unit per currency, which is
//! not always ISO 4217's (docs.stripe.com/currencies):
//!
//! - **Zero-decimal** currencies are sent in whole units: BIF, CLP, DJF, GNF, JPY, KMF, KRW,
//!   MGA, PYG, RWF, VND, VUV, XAF, XOF, XPF. MGA has two decimals in ISO 4217, so a fraction of
//!   an ariary cannot be charged.
//! - **ISK and UGX** became zero-decimal, but Stripe keeps them two-decimal for backwards
//!   compatibility: 5 ISK is sent as `500`, and the amount must be a multiple of 100 (whole
//!   units). ISO 4217 gives them no decimals, so a `Money` in ISK is always whole.
//! - **HUF and TWD** are zero-decimal for Stripe *payouts* only; charges take two decimals as
//!   usual, so they are sent like any two-decimal currency.
//! - **Three-decimal** currencies (BHD, JOD, KWD, OMR, TND) are sent in thousandths, and the
//!   last digit must be 0 for card networks: 5.124 KWD cannot be charged, 5.120 can.
//! - Four-decimal units of account (CLF, UYW) cannot be charged on Stripe.
//!
//! Nothing is ever rounded: an amount Stripe cannot represent exactly is refused before any
//! request is sent.

use std::str::FromStr;

use billing_core::money::{Currency, Money};

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
    /// Far beyond any real amount.
    #[error("amount out of range")]
    Overflow,
}

const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
    "XOF", "XPF",
];
const TWO_DECIMAL_WHOLE_UNITS: &[&str] = &["ISK", "UGX"];
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// How Stripe writes one currency's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StripeUnit {
    /// Decimal places of Stripe's integer amount.
    digits: u32,
    /// Stripe's integer amount must be a multiple of this.
    step: i64,
    /// Stripe's rule, for messages.
    rule: &'static str,
}

fn unit(currency: Currency) -> Result<StripeUnit, AmountError> {
    let code = currency.code();
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
    } else if currency.minor_unit_digits() <= 2 {
        StripeUnit {
            digits: 2,
            step: 1,
            rule: "Stripe takes this currency with two decimals",
        }
    } else {
        return Err(AmountError::Unsupported(code.to_owned()));
    })
}

fn pow10(exp: u32) -> Result<i64, AmountError> {
    10_i64.checked_pow(exp).ok_or(AmountError::Overflow)
}

/// The integer amount and currency to send to Stripe.
pub fn to_stripe(money: &Money) -> Result<(i64, stripe_types::Currency), AmountError> {
    let currency = money.currency();
    let unit = unit(currency)?;
    let minor = money.to_minor().map_err(|_| AmountError::Overflow)?;
    let ours = currency.minor_unit_digits();
    let not_representable = || AmountError::NotRepresentable {
        amount: money.to_string(),
        rule: unit.rule,
    };
    let amount = if unit.digits >= ours {
        minor
            .checked_mul(pow10(unit.digits - ours)?)
            .ok_or(AmountError::Overflow)?
    } else {
        let scale = pow10(ours - unit.digits)?;
        if minor % scale != 0 {
            return Err(not_representable());
        }
        minor / scale
    };
    if amount % unit.step != 0 {
        return Err(not_representable());
    }
    Ok((amount, stripe_currency(currency)))
}

/// Stripe's currency for ours (always known: the parse is infallible, unknown codes are kept).
pub fn stripe_currency(currency: Currency) -> stripe_types::Currency {
    // Parsing never fails: a code async-stripe does not list is kept as `Unknown`.
    let Ok(parsed) = stripe_types::Currency::from_str(&currency.code().to_ascii_lowercase());
    parsed
}

/// The money an amount from Stripe stands for.
pub fn from_stripe(amount: i64, currency: &stripe_types::Currency) -> Result<Money, AmountError> {
    from_stripe_code(amount, &currency.to_string())
}

/// Like [`from_stripe`], with the currency as Stripe's lower-case code (webhook payloads).
pub fn from_stripe_code(amount: i64, code: &str) -> Result<Money, AmountError> {
    let unreadable = || AmountError::Unreadable {
        amount,
        currency: code.to_owned(),
    };
    let currency = Currency::from_code(code).map_err(|_| AmountError::Unsupported(code.into()))?;
    let unit = unit(currency)?;
    if amount % unit.step != 0 {
        return Err(unreadable());
    }
    let ours = currency.minor_unit_digits();
    let minor = if unit.digits >= ours {
        let scale = pow10(unit.digits - ours)?;
        if amount % scale != 0 {
            return Err(unreadable());
        }
        amount / scale
    } else {
        amount
            .checked_mul(pow10(ours - unit.digits)?)
            .ok_or(AmountError::Overflow)?
    };
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
    }

    #[test]
    fn every_known_currency_round_trips() {
        for currency in Currency::all() {
            let Ok(unit) = unit(currency) else { continue };
            // A whole number of units is representable everywhere Stripe takes the currency.
            let amount =
                Money::from_minor(1234 * 10_i64.pow(currency.minor_unit_digits()), currency);
            let (stripe_amount, stripe_code) = to_stripe(&amount).expect("representable");
            assert_eq!(stripe_amount % unit.step, 0, "{currency}");
            assert_eq!(
                from_stripe(stripe_amount, &stripe_code),
                Ok(amount),
                "{currency}"
            );
        }
    }
}
