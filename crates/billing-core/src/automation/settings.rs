//! A business's payment settings: when money is taken (the payment policy), a deposit, what
//! is done with a hold that would run out, and the cancellation fee.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{Money, MoneyError};

/// When a booking's money is taken, for a business by default or for one booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentPolicy {
    /// Only when staff charge (or a customer pays a link).
    Manual,
    /// Charged in full as the customer books ("charge instantly").
    ChargeAtBooking,
    /// Held in full as the customer books ("pre-authorize"), captured once the service is done.
    AuthorizeAtBooking,
    /// Held `lead` before the service (a hold lasts days, a booking may be weeks out),
    /// captured once the service is done.
    AuthorizeBeforeService {
        /// How long before the service the hold is placed.
        lead: Duration,
    },
    /// Charged `lead` before the service.
    ChargeBeforeService {
        /// How long before the service the charge is made.
        lead: Duration,
    },
    /// Charged `delay` after the service is marked completed.
    ChargeAfterCompletion {
        /// How long after completion the charge is made.
        delay: Duration,
    },
}

impl PaymentPolicy {
    /// The policy's name on the wire and in the store.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentPolicy::Manual => "manual",
            PaymentPolicy::ChargeAtBooking => "charge_at_booking",
            PaymentPolicy::AuthorizeAtBooking => "authorize_at_booking",
            PaymentPolicy::AuthorizeBeforeService { .. } => "authorize_before_service",
            PaymentPolicy::ChargeBeforeService { .. } => "charge_before_service",
            PaymentPolicy::ChargeAfterCompletion { .. } => "charge_after_completion",
        }
    }

    /// True when the policy takes the money by a hold, captured later.
    pub fn holds(&self) -> bool {
        matches!(
            self,
            PaymentPolicy::AuthorizeAtBooking | PaymentPolicy::AuthorizeBeforeService { .. }
        )
    }
}

/// A percentage with at most two decimals, above 0 and at most 100 (`12.5` %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent {
    /// In hundredths of a percent: 1 to 10,000.
    basis_points: u32,
}

/// Why a percentage or a share was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Not a number with at most two decimals, above 0 and at most 100.
    #[error("a percentage is a number above 0 and at most 100, with at most two decimals: {0:?}")]
    Percent(String),
    /// A fixed amount that is not positive.
    #[error("a fixed amount must be positive")]
    NotPositive,
}

impl Percent {
    /// Reads `"12.5"`, `"30"`, `"100"`; refuses 0, more than 100, more than two decimals,
    /// signs and exponents.
    pub fn parse(text: &str) -> Result<Percent, ShareError> {
        let refused = || ShareError::Percent(text.to_owned());
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(refused());
        }
        let value: Decimal = text.parse().map_err(|_| refused())?;
        let hundredths = value * Decimal::ONE_HUNDRED;
        if hundredths.fract() != Decimal::ZERO {
            return Err(refused());
        }
        let basis_points: u32 = hundredths.try_into().map_err(|_| refused())?;
        Percent::from_basis_points(basis_points).ok_or_else(refused)
    }

    /// From hundredths of a percent (1 to 10,000).
    pub fn from_basis_points(basis_points: u32) -> Option<Percent> {
        (1..=10_000)
            .contains(&basis_points)
            .then_some(Percent { basis_points })
    }

    /// In hundredths of a percent.
    pub fn basis_points(&self) -> u32 {
        self.basis_points
    }

    /// This share of `money`, to the currency's minor unit, half away from zero (12.5 % of
    /// 0.99 USD is 0.12375, taken as 0.12). Never more than `money`.
    pub fn of(&self, money: &Money) -> Result<Money, MoneyError> {
        let digits = money.currency().minor_unit_digits();
        let exact = money.amount() * Decimal::from(self.basis_points) / Decimal::from(10_000);
        let rounded = exact.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
        Money::new(rounded, money.currency())
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = Decimal::from(self.basis_points) / Decimal::ONE_HUNDRED;
        write!(f, "{}", value.normalize())
    }
}

/// Part of a booking's price: a percentage of it, or a fixed amount (never more than the
/// price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// A percentage of the price.
    Percent(Percent),
    /// A fixed amount, in the booking's currency.
    Fixed(Money),
}

impl Share {
    /// A fixed share, refused unless positive.
    pub fn fixed(amount: Money) -> Result<Share, ShareError> {
        if amount.is_positive() {
            Ok(Share::Fixed(amount))
        } else {
            Err(ShareError::NotPositive)
        }
    }

    /// This share of `price`: at most the price, zero for a price of zero or below.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when a fixed share is in another currency.
    pub fn of(&self, price: &Money) -> Result<Money, MoneyError> {
        let price = price.clamp_at_zero();
        match self {
            Share::Percent(percent) => percent.of(&price),
            Share::Fixed(amount) => amount.checked_min(&price),
        }
    }
}

/// What automation does with a hold that would run out before it is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HoldRenewal {
    /// Place a new hold, then release the old one (the customer may see both for a moment).
    #[default]
    Renew,
    /// Capture it if the service is done; otherwise tell staff.
    CaptureIfDone,
    /// Tell staff, and do nothing on the card.
    TellStaff,
}

/// The fee charged when a booking is canceled late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancellationFee {
    /// How much of the price.
    pub fee: Share,
    /// Canceled within this long before the service: the fee is due. Earlier: nothing.
    pub window: Duration,
}

impl CancellationFee {
    /// The fee due for a booking of `price` whose service was at `service_at`, canceled at
    /// `canceled_at`: none when canceled before the window opened, or for a booking with no
    /// service time (nothing to be late for).
    pub fn due(
        &self,
        price: &Money,
        service_at: Option<DateTime<Utc>>,
        canceled_at: DateTime<Utc>,
    ) -> Result<Option<Money>, MoneyError> {
        let Some(service_at) = service_at else {
            return Ok(None);
        };
        if canceled_at < service_at - self.window {
            return Ok(None);
        }
        let fee = self.fee.of(price)?;
        Ok(fee.is_positive().then_some(fee))
    }
}

/// How automation takes a business's money, by default for all its bookings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    /// When the money is taken.
    pub policy: PaymentPolicy,
    /// Taken as the customer books, the rest by the policy.
    pub deposit: Option<Share>,
    /// What is done with a hold that would run out before its capture.
    pub hold_renewal: HoldRenewal,
    /// How long before a hold runs out automation acts on it.
    pub hold_margin: Duration,
    /// Charged when a booking is canceled late.
    pub cancellation_fee: Option<CancellationFee>,
    /// Charged to the card on file when staff mark a booking as a no-show (the customer was
    /// not there for the service): a percentage of the booking's price without tips, or a
    /// fixed amount, never more than what the booking still owes.
    pub no_show_fee: Option<Share>,
    /// When set, the customer is told this long before an automatic charge or hold.
    pub upcoming_notice: Option<Duration>,
}

impl Default for PaymentSettings {
    /// Manual: nothing happens on its own until a business chooses otherwise.
    fn default() -> Self {
        PaymentSettings {
            policy: PaymentPolicy::Manual,
            deposit: None,
            hold_renewal: HoldRenewal::Renew,
            hold_margin: Duration::hours(12),
            cancellation_fee: None,
            no_show_fee: None,
            upcoming_notice: None,
        }
    }
}

/// How long a card hold lasts at the card networks, when the gateway does not say: about 7
/// days, and 4 days 18 hours for a Visa hold the merchant placed without the customer there.
pub fn hold_lifetime(brand: &str, merchant_initiated: bool) -> Duration {
    if merchant_initiated && brand.eq_ignore_ascii_case("visa") {
        Duration::days(4) + Duration::hours(18)
    } else {
        Duration::days(7)
    }
}

/// True when a card valid through the end of `exp_month`/`exp_year` has expired by `at`.
pub fn card_expired_by(exp_month: u32, exp_year: u32, at: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    let (year, month) = (at.year(), at.month());
    i64::from(year) * 12 + i64::from(month) > i64::from(exp_year) * 12 + i64::from(exp_month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn percentages_read_as_written() {
        assert_eq!(Percent::parse("12.5").map(|p| p.basis_points()), Ok(1250));
        assert_eq!(Percent::parse("100").map(|p| p.basis_points()), Ok(10_000));
        assert_eq!(Percent::parse("0.01").map(|p| p.basis_points()), Ok(1));
        for refused in ["0", "100.01", "12.345", "-5", "1e2", "", " 5", "abc", "5%"] {
            assert!(Percent::parse(refused).is_err(), "{refused}");
        }
        assert_eq!(
            Percent::parse("12.50").map(|p| p.to_string()),
            Ok("12.5".into())
        );
    }

    #[test]
    fn a_percentage_rounds_half_away_from_zero_to_the_minor_unit() {
        let percent = |text| Percent::parse(text).expect("percent");
        assert_eq!(percent("12.5").of(&usd(99)), Ok(usd(12)));
        assert_eq!(percent("50").of(&usd(1)), Ok(usd(1)));
        assert_eq!(percent("30").of(&usd(21_550)), Ok(usd(6_465)));
        let yen = Money::from_minor(1_001, Currency::from_code("JPY").expect("JPY"));
        assert_eq!(percent("50").of(&yen).map(|m| m.to_minor()), Ok(Ok(501)));
    }

    #[test]
    fn a_late_cancellation_owes_its_fee_and_an_early_one_nothing() {
        let service = Utc
            .with_ymd_and_hms(2026, 12, 20, 9, 0, 0)
            .single()
            .expect("date");
        let fee = CancellationFee {
            fee: Share::Percent(Percent::parse("25").expect("percent")),
            window: Duration::hours(24),
        };
        let price = usd(20_000);
        let late = service - Duration::hours(2);
        let early = service - Duration::hours(30);
        assert_eq!(fee.due(&price, Some(service), late), Ok(Some(usd(5_000))));
        assert_eq!(fee.due(&price, Some(service), early), Ok(None));
        assert_eq!(fee.due(&price, None, late), Ok(None));
        let after = service + Duration::hours(1);
        assert_eq!(fee.due(&price, Some(service), after), Ok(Some(usd(5_000))));
    }

    #[test]
    fn visa_holds_placed_by_the_merchant_last_less() {
        assert_eq!(hold_lifetime("visa", true), Duration::hours(4 * 24 + 18));
        assert_eq!(hold_lifetime("visa", false), Duration::days(7));
        assert_eq!(hold_lifetime("mastercard", true), Duration::days(7));
    }

    #[test]
    fn a_card_is_valid_through_its_expiry_month() {
        let at = |y, m, d| {
            Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
                .single()
                .expect("date")
        };
        assert!(!card_expired_by(12, 2026, at(2026, 12, 31)));
        assert!(card_expired_by(12, 2026, at(2027, 1, 1)));
        assert!(card_expired_by(1, 2026, at(2026, 2, 1)));
    }

    proptest! {
        /// A share is never negative and never more than the price, in the price's currency.
        #[test]
        fn a_share_never_exceeds_the_price(
            price in -1_000_000_i64..100_000_000,
            basis_points in 1_u32..=10_000,
            fixed in 1_i64..100_000_000,
        ) {
            let price = usd(price);
            let shares = [
                Share::Percent(Percent::from_basis_points(basis_points).expect("in range")),
                Share::fixed(usd(fixed)).expect("positive"),
            ];
            for share in shares {
                let taken = share.of(&price).expect("same currency");
                prop_assert!(!taken.is_negative());
                prop_assert!(taken.checked_cmp(&price.clamp_at_zero()).expect("same") != std::cmp::Ordering::Greater);
            }
        }

        /// A percentage of a price is within half a minor unit of the exact share.
        #[test]
        fn a_percentage_is_exact_to_half_a_cent(price in 0_i64..100_000_000, basis_points in 1_u32..=10_000) {
            let taken = Percent::from_basis_points(basis_points).expect("in range").of(&usd(price)).expect("money");
            let exact = Decimal::from(price) * Decimal::from(basis_points) / Decimal::from(10_000);
            let taken = Decimal::from(taken.to_minor().expect("minor"));
            prop_assert!((taken - exact).abs() <= Decimal::new(5, 1));
        }
    }
}
