//! Stripe's test cards: by test payment method id (`pm_card_visa`) and by number
//! (`4242424242424242`), with the behaviour Stripe's test mode gives each one, plus the checks a
//! card form makes on a number typed in.

use billing_core::payment::Failure;

/// How a card answers an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    /// Authorizes.
    Succeed,
    /// Declined by the issuer.
    Decline {
        /// Stripe's error code (`card_declined`, `expired_card`...).
        code: &'static str,
        /// The issuer's decline code.
        decline_code: &'static str,
    },
    /// The issuer demands 3-D Secure for every payment and set-up, however the card was set
    /// up (`4000 0027 6000 3184`, `4000 0000 0000 3220`).
    AlwaysAuthenticate,
    /// The issuer demands 3-D Secure on-session and when the card is set up; once set up (by a
    /// card set-up, or a payment that saved it after authenticating), off-session payments go
    /// through without it (`4000 0025 0000 3155`).
    AuthenticateUntilSetUp,
}

impl Behavior {
    /// True for a card whose issuer asks for 3-D Secure.
    pub(crate) fn authenticates(self) -> bool {
        matches!(
            self,
            Behavior::AlwaysAuthenticate | Behavior::AuthenticateUntilSetUp
        )
    }
}

/// One test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TestCard {
    /// Name used in `pm_card_<name>`.
    pub(crate) name: &'static str,
    pub(crate) number: &'static str,
    pub(crate) brand: &'static str,
    pub(crate) behavior: Behavior,
    /// Whether the card can be saved on a customer. Stripe refuses to attach a card that
    /// declines, except its `chargeCustomerFail` card (saved fine, declined when charged).
    pub(crate) attachable: bool,
}

impl TestCard {
    pub(crate) fn last4(&self) -> &'static str {
        &self.number[self.number.len() - 4..]
    }
}

const fn ok(name: &'static str, number: &'static str, brand: &'static str) -> TestCard {
    TestCard {
        name,
        number,
        brand,
        behavior: Behavior::Succeed,
        attachable: true,
    }
}

const fn declined(
    name: &'static str,
    number: &'static str,
    code: &'static str,
    decline_code: &'static str,
) -> TestCard {
    TestCard {
        name,
        number,
        brand: "visa",
        behavior: Behavior::Decline { code, decline_code },
        attachable: false,
    }
}

const fn authentication(name: &'static str, number: &'static str, behavior: Behavior) -> TestCard {
    TestCard {
        name,
        number,
        brand: "visa",
        behavior,
        attachable: true,
    }
}

/// Stripe's documented test cards (docs.stripe.com/testing).
pub(crate) const CARDS: &[TestCard] = &[
    ok("visa", "4242424242424242", "visa"),
    ok("visa_debit", "4000056655665556", "visa"),
    ok("mastercard", "5555555555554444", "mastercard"),
    ok("mastercard_debit", "5200828282828210", "mastercard"),
    ok("amex", "378282246310005", "amex"),
    ok("discover", "6011111111111117", "discover"),
    declined(
        "chargeDeclined",
        "4000000000000002",
        "card_declined",
        "generic_decline",
    ),
    declined(
        "chargeDeclinedInsufficientFunds",
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
    ),
    declined(
        "chargeDeclinedLostCard",
        "4000000000009987",
        "card_declined",
        "lost_card",
    ),
    declined(
        "chargeDeclinedStolenCard",
        "4000000000009979",
        "card_declined",
        "stolen_card",
    ),
    declined(
        "chargeDeclinedFraudulent",
        "4100000000000019",
        "card_declined",
        "fraudulent",
    ),
    declined(
        "chargeDeclinedExpiredCard",
        "4000000000000069",
        "expired_card",
        "expired_card",
    ),
    declined(
        "chargeDeclinedIncorrectCvc",
        "4000000000000127",
        "incorrect_cvc",
        "incorrect_cvc",
    ),
    declined(
        "chargeDeclinedProcessingError",
        "4000000000000119",
        "processing_error",
        "processing_error",
    ),
    TestCard {
        attachable: true,
        ..declined(
            "chargeCustomerFail",
            "4000000000000341",
            "card_declined",
            "generic_decline",
        )
    },
    authentication(
        "authenticationRequired",
        "4000002760003184",
        Behavior::AlwaysAuthenticate,
    ),
    authentication(
        "authenticationRequiredOnSetup",
        "4000002500003155",
        Behavior::AuthenticateUntilSetUp,
    ),
    authentication(
        "threeDSecure2Required",
        "4000000000003220",
        Behavior::AlwaysAuthenticate,
    ),
];

/// The test card behind a test payment method id: `pm_card_visa`, and Stripe's other spelling
/// `pm_card_visa_chargeDeclined` of the decline cards.
pub(crate) fn by_test_payment_method(id: &str) -> Option<&'static TestCard> {
    let name = id.strip_prefix("pm_card_")?;
    let name = name
        .strip_prefix("visa_")
        .filter(|rest| rest.starts_with("charge"))
        .unwrap_or(name);
    CARDS.iter().find(|c| c.name == name)
}

/// The test card with this number, if it is one.
pub(crate) fn by_number(digits: &str) -> Option<&'static TestCard> {
    CARDS.iter().find(|c| c.number == digits)
}

/// The test card of this name (`visa`, `authenticationRequired`), as the journal keeps it.
pub(crate) fn by_name(name: &str) -> Option<&'static TestCard> {
    CARDS.iter().find(|c| c.name == name)
}

/// The card brands whose networks allow a hold to be captured in several parts, as Stripe
/// lists them for multicapture.
pub(crate) const MULTICAPTURE_BRANDS: &[&str] = &["visa", "mastercard", "amex", "discover"];

/// A card that asked for authentication while the customer was away: Stripe's decline
/// (`authentication_required`), which tells staff to send the customer a payment link.
pub(crate) fn authentication_required() -> Failure {
    failure("authentication_required", Some("authentication_required"))
}

/// The customer failed (or gave up) the 3-D Secure challenge of a payment.
pub(crate) fn payment_authentication_failed() -> Failure {
    Failure {
        code: "payment_intent_authentication_failure".to_owned(),
        decline_code: None,
        message: "The customer did not complete the card's authentication (3-D Secure). They can try again, or use another card.".to_owned(),
    }
}

/// The customer failed (or gave up) the 3-D Secure challenge of a card set-up.
pub(crate) fn setup_authentication_failed() -> Failure {
    Failure {
        code: "setup_intent_authentication_failure".to_owned(),
        decline_code: None,
        message: "The customer did not complete the card's authentication (3-D Secure), so the card was not saved. They can try again, or use another card.".to_owned(),
    }
}

/// Why a card typed into the card form was refused. The messages are for the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not a card number (wrong length, not digits, or a failed check digit).
    #[error("Your card number is invalid.")]
    InvalidNumber,
    /// The month is not 1 to 12 or the year is not a four-digit year.
    #[error("Your card's expiration date is invalid.")]
    InvalidExpiry,
    /// The card expired before today.
    #[error("Your card has expired.")]
    Expired,
    /// The security code is not 3 digits (4 for American Express).
    #[error("Your card's security code is invalid.")]
    InvalidCvc,
    /// The sandbox could not keep the card (its data folder could not be written).
    #[error("Your card could not be saved just now. Please try again in a moment.")]
    Unavailable,
}

/// The digits of a typed card number, spaces and dashes removed, checked by length and by the
/// Luhn check digit.
pub(crate) fn normalize_number(number: &str) -> Result<String, CardError> {
    let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardError::InvalidNumber);
    }
    if !luhn(&digits) {
        return Err(CardError::InvalidNumber);
    }
    Ok(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The brand of a card number, from its issuer prefix.
pub(crate) fn brand_of(digits: &str) -> &'static str {
    let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
    match (prefix(1), prefix(2), prefix(4)) {
        (Some(4), _, _) => "visa",
        (_, Some(34 | 37), _) => "amex",
        (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => "mastercard",
        (_, Some(65), _) | (_, _, Some(6011)) => "discover",
        (_, Some(36 | 38 | 39 | 30), _) => "diners",
        (_, _, Some(3528..=3589)) => "jcb",
        (_, Some(62), _) => "unionpay",
        _ => "unknown",
    }
}

/// A failure worded for the business's staff, from Stripe's error and decline codes. Lost,
/// stolen and fraud declines are worded as a plain decline: that is what Stripe advises telling
/// anyone who might be holding the card, and the decline code stays on record.
pub(crate) fn failure(code: &str, decline_code: Option<&str>) -> Failure {
    let message = match (code, decline_code) {
        (_, Some("insufficient_funds")) => {
            "The card was declined for insufficient funds. Ask the customer for another card, or try again later."
        }
        ("expired_card", _) | (_, Some("expired_card")) => {
            "The card has expired. Ask the customer for a current card."
        }
        ("incorrect_cvc", _) | (_, Some("incorrect_cvc")) => {
            "The card's security code was incorrect. Ask the customer to enter the card again."
        }
        ("processing_error", _) | (_, Some("processing_error")) => {
            "The card could not be processed because of an error at the card network. Try again in a little while."
        }
        ("authentication_required", _) | (_, Some("authentication_required")) => {
            "The customer's bank asks them to confirm this payment themselves (3-D Secure). Send them a payment link: they can pay on its page."
        }
        _ => {
            "The card was declined by its issuer. Ask the customer to contact their bank or to use another card."
        }
    };
    Failure {
        code: code.to_owned(),
        decline_code: decline_code.map(str::to_owned),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_are_found_by_id_and_number() {
        assert_eq!(
            by_test_payment_method("pm_card_visa").map(|c| c.last4()),
            Some("4242")
        );
        assert_eq!(
            by_test_payment_method("pm_card_visa_chargeDeclinedExpiredCard").map(|c| c.behavior),
            Some(Behavior::Decline {
                code: "expired_card",
                decline_code: "expired_card"
            })
        );
        assert_eq!(by_test_payment_method("pm_card_nope"), None);
        assert_eq!(by_test_payment_method("pm_123"), None);
        assert_eq!(
            by_number("4000002500003155").map(|c| c.behavior),
            Some(Behavior::AuthenticateUntilSetUp)
        );
        assert_eq!(
            by_number("4000002760003184").map(|c| c.behavior),
            Some(Behavior::AlwaysAuthenticate)
        );
        assert_eq!(
            by_test_payment_method("pm_card_threeDSecure2Required").map(|c| c.number),
            Some("4000000000003220")
        );
        assert_eq!(by_name("visa").map(|c| c.number), Some("4242424242424242"));
    }

    #[test]
    fn every_test_card_number_passes_the_check_digit() {
        for card in CARDS {
            assert_eq!(
                normalize_number(card.number).as_deref(),
                Ok(card.number),
                "{}",
                card.name
            );
            assert_eq!(brand_of(card.number), card.brand, "{}", card.name);
        }
    }

    #[test]
    fn typed_numbers_are_checked() {
        assert_eq!(
            normalize_number("4242 4242 4242 4242").as_deref(),
            Ok("4242424242424242")
        );
        assert_eq!(
            normalize_number("4242424242424241"),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(normalize_number("4242"), Err(CardError::InvalidNumber));
        assert_eq!(
            normalize_number("4242x42424242424"),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(brand_of("2223003122003222"), "mastercard");
    }
}
