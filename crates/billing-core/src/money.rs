//! Money: an exact decimal amount in an ISO 4217 currency.
//!
//! An amount never has more digits after the point than its currency's minor unit allows (USD 2,
//! JPY 0, KWD 3, CLF 4). Anything else is refused, never rounded: rounding money silently is how
//! cents go missing.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The code is not an ISO 4217 currency this engine knows.
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
    /// The amount has more decimal places than the currency's minor unit.
    #[error("{amount} has more than {digits} decimal places allowed for {currency}")]
    TooManyDecimals {
        /// The amount as given.
        amount: String,
        /// The currency's code.
        currency: Currency,
        /// How many digits the currency allows.
        digits: u32,
    },
    /// The text is not a decimal number.
    #[error("{0:?} is not a decimal amount")]
    NotANumber(String),
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// Currency of the left operand.
        left: Currency,
        /// Currency of the right operand.
        right: Currency,
    },
    /// The result does not fit the representation (far beyond any real amount).
    #[error("amount out of range")]
    Overflow,
    /// An allocation was asked with no parts or weights that add up to zero.
    #[error("cannot allocate across weights that sum to zero")]
    NoWeights,
}

/// An ISO 4217 currency and the number of digits of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    digits: u8,
}

// ISO 4217 currencies whose minor unit is not two digits; every other listed code has two.
const ZERO_DIGITS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DIGITS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const FOUR_DIGITS: &[&str] = &["CLF", "UYW"];
const TWO_DIGITS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR",
    "ZMW", "ZWG",
];

impl Currency {
    /// US dollar (2 digits).
    pub const USD: Currency = Currency::known(*b"USD", 2);
    /// Euro (2 digits).
    pub const EUR: Currency = Currency::known(*b"EUR", 2);
    /// Canadian dollar (2 digits).
    pub const CAD: Currency = Currency::known(*b"CAD", 2);
    /// Pound sterling (2 digits).
    pub const GBP: Currency = Currency::known(*b"GBP", 2);
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency::known(*b"JPY", 0);
    /// Kuwaiti dinar (3 digits).
    pub const KWD: Currency = Currency::known(*b"KWD", 3);
    /// Unidad de Fomento (4 digits).
    pub const CLF: Currency = Currency::known(*b"CLF", 4);

    const fn known(code: [u8; 3], digits: u8) -> Currency {
        Currency { code, digits }
    }

    /// Looks up an ISO 4217 code (upper or lower case). Unknown codes are refused.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.to_ascii_uppercase();
        let digits = if TWO_DIGITS.contains(&upper.as_str()) {
            2
        } else if ZERO_DIGITS.contains(&upper.as_str()) {
            0
        } else if THREE_DIGITS.contains(&upper.as_str()) {
            3
        } else if FOUR_DIGITS.contains(&upper.as_str()) {
            4
        } else {
            return Err(MoneyError::UnknownCurrency(code.to_owned()));
        };
        let bytes = upper.as_bytes();
        Ok(Currency {
            code: [bytes[0], bytes[1], bytes[2]],
            digits,
        })
    }

    /// The three-letter upper-case code.
    pub fn code(&self) -> &str {
        // The bytes come from the ASCII tables above.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// How many digits the minor unit has (USD 2, JPY 0, KWD 3).
    pub fn minor_unit_digits(&self) -> u32 {
        u32::from(self.digits)
    }

    /// Every currency this engine knows.
    pub fn all() -> impl Iterator<Item = Currency> {
        TWO_DIGITS
            .iter()
            .chain(ZERO_DIGITS)
            .chain(THREE_DIGITS)
            .chain(FOUR_DIGITS)
            .filter_map(|code| Currency::from_code(code).ok())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

/// A plain decimal such as `"215.50"` or `"-3"`: digits, at most one point, an optional
/// leading minus; no exponent, separator or sign other than that.
fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let trimmed = text.trim();
    let plain = !trimmed.is_empty()
        && trimmed
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'));
    if !plain {
        return Err(MoneyError::NotANumber(text.to_owned()));
    }
    Decimal::from_str_exact(trimmed).map_err(|_| MoneyError::NotANumber(text.to_owned()))
}

/// An amount a command asks for: money in a currency the caller knows, or a decimal that the
/// core reads in the currency of what it applies to (the booking's, the payment's). A driving
/// adapter hands over what a client typed without reading the booking to learn its currency;
/// the digits are checked against that currency when the command is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Amount {
    /// Money, whose currency must be the one the command applies to.
    Money(Money),
    /// A decimal, read in the currency the command applies to.
    Decimal(Decimal),
}

impl Amount {
    /// Reads a plain decimal such as `"30.00"` (no exponent, no separators).
    pub fn parse(text: &str) -> Result<Amount, MoneyError> {
        parse_decimal(text).map(Amount::Decimal)
    }

    /// The amount as money of `currency`: a decimal with more digits than the currency allows
    /// is refused ([`MoneyError::TooManyDecimals`]), and so is money of another currency
    /// ([`MoneyError::CurrencyMismatch`]).
    pub fn in_currency(&self, currency: Currency) -> Result<Money, MoneyError> {
        match self {
            Amount::Money(money) if money.currency() == currency => Ok(*money),
            Amount::Money(money) => Err(MoneyError::CurrencyMismatch {
                left: currency,
                right: money.currency(),
            }),
            Amount::Decimal(decimal) => Money::new(*decimal, currency),
        }
    }
}

impl From<Money> for Amount {
    fn from(money: Money) -> Amount {
        Amount::Money(money)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Money(money) => write!(f, "{money}"),
            Amount::Decimal(decimal) => write!(f, "{decimal}"),
        }
    }
}

/// An exact amount of a currency. Built only through checked constructors, so an amount always
/// fits its currency's minor unit. It may be negative (a balance can be, after a price cut).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Checks that `amount` fits the currency's minor unit and builds the money.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.minor_unit_digits() {
            return Err(MoneyError::TooManyDecimals {
                amount: amount.to_string(),
                currency,
                digits: currency.minor_unit_digits(),
            });
        }
        let mut amount = normalized;
        amount.rescale(currency.minor_unit_digits());
        Ok(Money { amount, currency })
    }

    /// Parses a decimal string such as `"215.50"`; exponents and separators are not accepted.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        Money::new(parse_decimal(amount)?, currency)
    }

    /// Builds money from integer minor units (cents for USD, yen for JPY).
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money {
            amount: Decimal::new(minor, currency.minor_unit_digits()),
            currency,
        }
    }

    /// Zero in a currency.
    pub fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// The amount in integer minor units, as gateways take it.
    pub fn to_minor(&self) -> Result<i64, MoneyError> {
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10_i64.pow(self.currency.minor_unit_digits())))
            .ok_or(MoneyError::Overflow)?;
        i64::try_from(scaled).map_err(|_| MoneyError::Overflow)
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when strictly above zero.
    pub fn is_positive(&self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
    }

    /// True when zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// True when strictly below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`, refusing mixed currencies.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    /// `self - other`, refusing mixed currencies.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    /// Compares two amounts of the same currency.
    pub fn checked_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// The negated amount.
    pub fn negated(&self) -> Money {
        Money {
            amount: -self.amount,
            currency: self.currency,
        }
    }

    /// The smaller of two amounts of the same currency.
    pub fn checked_min(&self, other: &Money) -> Result<Money, MoneyError> {
        Ok(match self.checked_cmp(other)? {
            Ordering::Greater => *other,
            _ => *self,
        })
    }

    /// The amount, or zero when it is negative.
    pub fn clamp_at_zero(&self) -> Money {
        if self.is_negative() {
            Money::zero(self.currency)
        } else {
            *self
        }
    }

    /// Sums amounts of one currency; an empty list sums to zero of `currency`.
    pub fn sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |total, m| total.checked_add(m))
    }

    /// Splits this amount across parts in proportion to `weights` by the largest-remainder method,
    /// in whole minor units. The parts always add up to the whole, exactly; remainders go to the
    /// parts with the largest fractional share (ties to the earlier part).
    pub fn allocate(&self, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
        let total_weight: u128 = weights.iter().map(|w| u128::from(*w)).sum();
        if total_weight == 0 {
            return Err(MoneyError::NoWeights);
        }
        let whole = self.to_minor()?;
        let negative = whole < 0;
        let whole_abs = u128::from(whole.unsigned_abs());
        let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
        for (index, weight) in weights.iter().enumerate() {
            let product = whole_abs * u128::from(*weight);
            parts.push(product / total_weight);
            remainders.push((product % total_weight, index));
        }
        let assigned: u128 = parts.iter().sum();
        let mut left = whole_abs - assigned;
        // Largest remainder first; on ties the earlier part wins, so the result is deterministic.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, index) in remainders {
            if left == 0 {
                break;
            }
            parts[index] += 1;
            left -= 1;
        }
        parts
            .into_iter()
            .map(|minor| {
                let minor = i64::try_from(minor).map_err(|_| MoneyError::Overflow)?;
                Ok(Money::from_minor(
                    if negative { -minor } else { minor },
                    self.currency,
                ))
            })
            .collect()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currencies_know_their_minor_units() {
        assert_eq!(
            Currency::from_code("usd").map(|c| c.minor_unit_digits()),
            Ok(2)
        );
        assert_eq!(
            Currency::from_code("JPY").map(|c| c.minor_unit_digits()),
            Ok(0)
        );
        assert_eq!(
            Currency::from_code("KWD").map(|c| c.minor_unit_digits()),
            Ok(3)
        );
        assert_eq!(
            Currency::from_code("CLF").map(|c| c.minor_unit_digits()),
            Ok(4)
        );
        assert_eq!(
            Currency::from_code("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
        assert!(Currency::from_code("US").is_err());
        assert!(Currency::all().count() > 150);
    }

    #[test]
    fn amounts_beyond_the_minor_unit_are_refused_not_rounded() {
        assert!(matches!(
            Money::parse("10.005", Currency::USD),
            Err(MoneyError::TooManyDecimals { digits: 2, .. })
        ));
        assert!(Money::parse("1.5", Currency::JPY).is_err());
        assert_eq!(
            Money::parse("10.500", Currency::USD).map(|m| m.to_minor()),
            Ok(Ok(1050))
        );
        assert_eq!(
            Money::parse("1.234", Currency::KWD).map(|m| m.to_minor()),
            Ok(Ok(1234))
        );
    }

    #[test]
    fn parse_rejects_what_is_not_a_plain_decimal() {
        for text in ["", "abc", "1e3", "1,00", "+5", " - 1", "1.2.3", "NaN"] {
            assert!(
                Money::parse(text, Currency::USD).is_err(),
                "{text:?} accepted"
            );
        }
        assert_eq!(
            Money::parse("-3.10", Currency::USD).map(|m| m.amount()),
            Ok(dec!(-3.10))
        );
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies() {
        let usd = Money::from_minor(100, Currency::USD);
        let eur = Money::from_minor(100, Currency::EUR);
        assert!(matches!(
            usd.checked_add(&eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert!(usd.checked_sub(&eur).is_err());
        assert!(usd.checked_cmp(&eur).is_err());
        assert_eq!(
            usd.checked_add(&usd),
            Ok(Money::from_minor(200, Currency::USD))
        );
    }

    #[test]
    fn display_shows_every_minor_digit() {
        assert_eq!(
            Money::from_minor(21550, Currency::USD).to_string(),
            "215.50 USD"
        );
        assert_eq!(Money::from_minor(5, Currency::JPY).to_string(), "5 JPY");
        assert_eq!(Money::from_minor(1, Currency::KWD).to_string(), "0.001 KWD");
    }

    #[test]
    fn allocation_splits_a_cent_by_largest_remainder() {
        let total = Money::from_minor(100, Currency::USD);
        let parts = total.allocate(&[1, 1, 1]).unwrap_or_default();
        let minors: Vec<i64> = parts.iter().filter_map(|m| m.to_minor().ok()).collect();
        assert_eq!(minors, vec![34, 33, 33]);
        assert_eq!(total.allocate(&[0, 0]), Err(MoneyError::NoWeights));
        let negative = Money::from_minor(-5, Currency::USD)
            .allocate(&[1, 1])
            .unwrap_or_default();
        let minors: Vec<i64> = negative.iter().filter_map(|m| m.to_minor().ok()).collect();
        assert_eq!(minors, vec![-3, -2]);
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(Currency::all().collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000, currency in currency()) {
            let money = Money::from_minor(minor, currency);
            prop_assert_eq!(money.to_minor(), Ok(minor));
            prop_assert_eq!(Money::parse(&money.amount().to_string(), currency), Ok(money));
        }

        #[test]
        fn allocation_always_sums_to_the_whole(
            minor in -10_000_000_000i64..10_000_000_000,
            weights in prop::collection::vec(0u64..1_000_000, 1..20),
            currency in currency(),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let whole = Money::from_minor(minor, currency);
            let parts = whole.allocate(&weights).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(Money::sum(currency, &parts), Ok(whole));
            // No part strays more than one minor unit from its exact share.
            let total: u128 = weights.iter().map(|w| u128::from(*w)).sum();
            for (part, weight) in parts.iter().zip(&weights) {
                let exact = i128::from(minor) * i128::from(*weight) / total as i128;
                let got = i128::from(part.to_minor().unwrap_or(i64::MAX));
                prop_assert!((got - exact).abs() <= 1);
                if *weight == 0 { prop_assert!(part.is_zero()); }
            }
        }

        #[test]
        fn addition_and_subtraction_are_inverse(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            let x = Money::from_minor(a, Currency::USD);
            let y = Money::from_minor(b, Currency::USD);
            let sum = x.checked_add(&y).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(sum.checked_sub(&y), Ok(x));
            prop_assert_eq!(sum.to_minor(), Ok(a + b));
        }
    }
}
