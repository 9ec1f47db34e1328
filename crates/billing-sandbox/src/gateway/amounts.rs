//! Stripe's rules for amounts (`billing-stripe-rules`, shared with the Stripe adapter), as the
//! sandbox applies them: told in advance ([`chargeable`]), and refused with Stripe's wording
//! when a request breaks them anyway.

use billing_core::money::Money;
use billing_core::ports::{AmountRefused, GatewayError};
use billing_stripe_rules::{AmountRule, MAXIMUM, charge_amount, stripe_amount};

use super::invalid;

/// Stripe's integer amount of a charge or hold, with its minimum; or the rule it breaks.
fn charge_rule(amount: &Money) -> Result<i64, AmountRule> {
    let currency = amount.currency();
    let minor = amount.to_minor().map_err(|_| AmountRule::Overflow)?;
    charge_amount(currency.code(), currency.minor_unit_digits(), minor)
}

/// Stripe's integer amount of a capture or refund (no minimum); or the rule it breaks.
fn any_rule(amount: &Money) -> Result<i64, AmountRule> {
    let currency = amount.currency();
    let minor = amount.to_minor().map_err(|_| AmountRule::Overflow)?;
    stripe_amount(currency.code(), currency.minor_unit_digits(), minor)
}

/// Whether a charge or hold of `amount` can be made at all.
pub(super) fn chargeable(amount: &Money) -> Result<(), AmountRefused> {
    let refused = |reason: String| AmountRefused {
        amount: *amount,
        reason,
    };
    if !amount.is_positive() {
        return Err(refused("the amount must be more than zero".to_owned()));
    }
    charge_rule(amount).map_err(|rule| refused(rule.to_string()))?;
    Ok(())
}

/// Refuses a charge or hold Stripe would refuse for its amount.
pub(super) fn check_charge(amount: &Money) -> Result<(), GatewayError> {
    check(amount, charge_rule(amount))
}

/// Refuses a capture or refund Stripe would refuse for its amount.
pub(super) fn check_part(amount: &Money) -> Result<(), GatewayError> {
    check(amount, any_rule(amount))
}

fn check(amount: &Money, rule: Result<i64, AmountRule>) -> Result<(), GatewayError> {
    let code = amount.currency().code().to_lowercase();
    if !amount.is_positive() {
        return Err(invalid("This value must be greater than or equal to 1."));
    }
    match rule {
        Ok(sent) if sent > MAXIMUM => Err(invalid(format!(
            "Amount must be no more than {MAXIMUM} (amount_too_large)."
        ))),
        Ok(_) => Ok(()),
        Err(AmountRule::UnsupportedCurrency(_)) => Err(invalid(format!(
            "Invalid currency: {code}. Stripe does not take card payments in {}.",
            amount.currency()
        ))),
        Err(AmountRule::NotRepresentable(rule)) => {
            Err(invalid(format!("Invalid amount: {amount}. {rule}.")))
        }
        Err(AmountRule::BelowMinimum { minimum, .. }) => Err(invalid(format!(
            "Amount must be at least {minimum} {code} (amount_too_small)."
        ))),
        Err(AmountRule::AboveMaximum | AmountRule::Overflow) => Err(invalid(format!(
            "Amount must be no more than {MAXIMUM} (amount_too_large)."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::money::Currency;

    #[test]
    fn charges_follow_stripe_and_parts_have_no_minimum() {
        let usd = |minor| Money::from_minor(minor, Currency::USD);
        assert!(chargeable(&usd(49)).is_err());
        assert!(chargeable(&usd(50)).is_ok());
        assert!(chargeable(&usd(MAXIMUM)).is_ok());
        assert!(chargeable(&usd(MAXIMUM + 1)).is_err());
        assert!(chargeable(&usd(0)).is_err());
        assert!(check_charge(&usd(49)).is_err());
        assert!(check_part(&usd(1)).is_ok());
        assert!(check_part(&usd(0)).is_err());
        let kwd = Money::from_minor(10_125, Currency::KWD);
        assert!(check_part(&kwd).is_err(), "three decimals end in 0");
        let refused = chargeable(&Money::from_minor(10_000, Currency::CLF)).expect_err("CLF");
        assert!(refused.reason.contains("CLF"), "{}", refused.reason);
    }
}
