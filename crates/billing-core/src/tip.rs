//! Tips: what a customer adds for the people who did the work, on the pay page (a preset
//! percentage or an amount of their own) or through staff charging them.
//!
//! A tip is part of a card charge, never of the booking's own lines: the charge's allocation
//! says how much of it is a tip ([`Allocation::tip`](crate::payment::Allocation::tip)), and
//! the tip joins the booking's price (as a line of its own) only once the charge succeeded.
//! A percentage is taken of what is paid for the service (the payment's amount without the
//! tip), rounded half away from zero to the currency's minor unit; an amount given with more
//! digits than the currency has is refused, never rounded.

use crate::automation::Percent;
use crate::money::{Amount, Money, MoneyError};

/// The percentages the pay page offers, beside "no tip" and an amount of the customer's own.
pub const PRESET_PERCENTS: [u32; 3] = [15, 18, 20];

/// A tip as it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tip {
    /// A percentage of what is paid for the service.
    Percent(Percent),
    /// An amount, read in the payment's currency.
    Amount(Amount),
}

/// Why a tip was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TipError {
    /// The amount is negative.
    #[error("a tip cannot be negative")]
    Negative,
    /// The tip is more than what it is given on: a slip of the finger, most likely.
    #[error("a tip of {tip} is more than the {base} it is given on")]
    TooLarge {
        /// The tip asked.
        tip: Money,
        /// What is paid for the service.
        base: Money,
    },
    /// The amount could not be read in the currency (too many digits, another currency).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl Tip {
    /// The tip in money on `base`, what is paid for the service: `None` for a tip of zero
    /// (a percentage of a tiny amount may round to zero). Refused when negative, when an
    /// amount has more digits than the currency allows or is in another currency, and when it
    /// is more than `base` itself.
    pub fn on(&self, base: &Money) -> Result<Option<Money>, TipError> {
        let tip = match self {
            Tip::Percent(percent) => percent.of(base)?,
            Tip::Amount(amount) => amount.in_currency(base.currency())?,
        };
        if tip.is_negative() {
            return Err(TipError::Negative);
        }
        if tip.checked_cmp(base)?.is_gt() {
            return Err(TipError::TooLarge { tip, base: *base });
        }
        Ok(tip.is_positive().then_some(tip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn percent(text: &str) -> Tip {
        Tip::Percent(Percent::parse(text).expect("percent"))
    }

    #[test]
    fn a_percentage_is_rounded_half_away_from_zero_to_the_minor_unit() {
        // 15 % of 95.50 is 14.325: 14.33.
        assert_eq!(percent("15").on(&usd(9550)), Ok(Some(usd(1433))));
        assert_eq!(percent("18").on(&usd(10000)), Ok(Some(usd(1800))));
        // 15 % of 0.03 is 0.0045: no tip at all.
        assert_eq!(percent("15").on(&usd(3)), Ok(None));
        let yen = Money::from_minor(1234, Currency::JPY);
        assert_eq!(
            percent("15").on(&yen),
            Ok(Some(Money::from_minor(185, Currency::JPY)))
        );
    }

    #[test]
    fn an_amount_is_read_exactly_or_refused() {
        let amount = |text| Tip::Amount(Amount::parse(text).expect("amount"));
        assert_eq!(amount("5.25").on(&usd(2000)), Ok(Some(usd(525))));
        assert_eq!(amount("0").on(&usd(2000)), Ok(None));
        assert!(matches!(
            amount("5.255").on(&usd(2000)),
            Err(TipError::Money(MoneyError::TooManyDecimals { .. }))
        ));
        assert_eq!(amount("-1").on(&usd(2000)), Err(TipError::Negative));
        assert!(matches!(
            amount("20.01").on(&usd(2000)),
            Err(TipError::TooLarge { .. })
        ));
        let yen = Money::from_minor(1000, Currency::JPY);
        assert!(amount("1.5").on(&yen).is_err());
    }

    proptest! {
        /// A percentage tip never has more digits than the currency allows, is never more than
        /// what it is given on, and is the exact share rounded half away from zero.
        #[test]
        fn a_percentage_tip_fits_the_currency(
            minor in 0i64..10_000_000,
            basis_points in 1u32..=10_000,
            code in prop::sample::select(vec!["USD", "JPY", "KWD"]),
        ) {
            let currency = Currency::from_code(code).expect("currency");
            let base = Money::from_minor(minor, currency);
            let percent = Percent::from_basis_points(basis_points).expect("in range");
            let tip = Tip::Percent(percent).on(&base).expect("a tip");
            let tip = tip.unwrap_or(Money::zero(currency));
            prop_assert!(tip.amount().scale() <= currency.minor_unit_digits());
            prop_assert!(tip.checked_cmp(&base).expect("same currency").is_le());
            let exact = base.amount() * rust_decimal::Decimal::from(basis_points)
                / rust_decimal::Decimal::from(10_000);
            let off = (exact - tip.amount()).abs();
            let half_unit = rust_decimal::Decimal::new(5, currency.minor_unit_digits() + 1);
            prop_assert!(off <= half_unit);
        }
    }
}
