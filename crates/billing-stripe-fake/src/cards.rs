//! Stripe's test cards, reachable as test PaymentMethods (`pm_card_visa`), tokens
//! (`tok_visa`) or raw numbers (`4242424242424242`), and how each one behaves.

/// How a card answers an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    /// Authorizes.
    Succeed,
    /// Declined by the issuer. `attachable` tells whether the card can still be saved
    /// on a customer (Stripe's `chargeCustomerFail` card) or is refused at attach time
    /// too (the other decline cards).
    Decline {
        code: &'static str,
        decline_code: Option<&'static str>,
        message: &'static str,
        attachable: bool,
    },
    /// 3-D Secure is required for every payment, on or off session.
    RequireAuthentication,
    /// 3-D Secure is required on session and to set the card up; once set up (by a
    /// SetupIntent, or saved by an authenticated payment with `setup_future_usage=off_session`)
    /// off-session payments go through without it.
    AuthenticateUnlessSetUp,
}

/// One test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TestCard {
    /// Name used in `pm_card_<name>` and `tok_<name>`.
    pub name: &'static str,
    pub number: &'static str,
    pub brand: &'static str,
    pub funding: &'static str,
    pub country: &'static str,
    pub behavior: Behavior,
}

impl TestCard {
    pub fn last4(&self) -> &'static str {
        &self.number[self.number.len() - 4..]
    }

    /// Stable per card number, like Stripe's fingerprint.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.number.as_bytes());
        let hex = hex::encode(digest);
        // Stripe fingerprints are 16 alphanumerics.
        hex.chars().take(16).collect()
    }
}

const GENERIC_DECLINE: &str = "Your card was declined.";

const fn decline(
    code: &'static str,
    decline_code: Option<&'static str>,
    message: &'static str,
) -> Behavior {
    Behavior::Decline {
        code,
        decline_code,
        message,
        attachable: false,
    }
}

const fn card(
    name: &'static str,
    number: &'static str,
    brand: &'static str,
    behavior: Behavior,
) -> TestCard {
    TestCard {
        name,
        number,
        brand,
        funding: "credit",
        country: "US",
        behavior,
    }
}

pub(crate) const CARDS: &[TestCard] = &[
    card("visa", "4242424242424242", "visa", Behavior::Succeed),
    TestCard {
        funding: "debit",
        ..card("visa_debit", "4000056655665556", "visa", Behavior::Succeed)
    },
    card(
        "mastercard",
        "5555555555554444",
        "mastercard",
        Behavior::Succeed,
    ),
    card("amex", "378282246310005", "amex", Behavior::Succeed),
    card(
        "chargeDeclined",
        "4000000000000002",
        "visa",
        decline("card_declined", Some("generic_decline"), GENERIC_DECLINE),
    ),
    card(
        "chargeDeclinedInsufficientFunds",
        "4000000000009995",
        "visa",
        decline(
            "card_declined",
            Some("insufficient_funds"),
            "Your card has insufficient funds.",
        ),
    ),
    card(
        "chargeDeclinedLostCard",
        "4000000000009987",
        "visa",
        decline("card_declined", Some("lost_card"), GENERIC_DECLINE),
    ),
    card(
        "chargeDeclinedStolenCard",
        "4000000000009979",
        "visa",
        decline("card_declined", Some("stolen_card"), GENERIC_DECLINE),
    ),
    card(
        "chargeDeclinedExpiredCard",
        "4000000000000069",
        "visa",
        decline("expired_card", None, "Your card has expired."),
    ),
    card(
        "chargeDeclinedIncorrectCvc",
        "4000000000000127",
        "visa",
        decline(
            "incorrect_cvc",
            None,
            "Your card's security code is incorrect.",
        ),
    ),
    card(
        "chargeDeclinedProcessingError",
        "4000000000000119",
        "visa",
        decline(
            "processing_error",
            None,
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ),
    card(
        "chargeCustomerFail",
        "4000000000000341",
        "visa",
        Behavior::Decline {
            code: "card_declined",
            decline_code: Some("generic_decline"),
            message: GENERIC_DECLINE,
            attachable: true,
        },
    ),
    card(
        "authenticationRequired",
        "4000002760003184",
        "visa",
        Behavior::RequireAuthentication,
    ),
    card(
        "authenticationRequiredOnSetup",
        "4000002500003155",
        "visa",
        Behavior::AuthenticateUnlessSetUp,
    ),
    card(
        "threeDSecure2Required",
        "4000000000003220",
        "visa",
        Behavior::RequireAuthentication,
    ),
    card(
        "threeDSecureRequired",
        "4000000000003063",
        "visa",
        Behavior::RequireAuthentication,
    ),
    card(
        "threeDSecureOptional",
        "4000000000003055",
        "visa",
        Behavior::Succeed,
    ),
];

/// Card brands Stripe offers multicapture on.
pub(crate) const MULTICAPTURE_BRANDS: &[&str] = &["visa", "mastercard", "amex", "discover"];

/// Finds a test card by its test PaymentMethod id (`pm_card_visa`, also Stripe's
/// `pm_card_visa_chargeDeclined` spelling).
pub(crate) fn by_test_payment_method(id: &str) -> Option<&'static TestCard> {
    let name = id.strip_prefix("pm_card_")?;
    by_name(name)
}

/// Finds a test card by its test token (`tok_visa`, `tok_chargeDeclined`).
pub(crate) fn by_token(token: &str) -> Option<&'static TestCard> {
    let name = token.strip_prefix("tok_")?;
    by_name(name)
}

fn by_name(name: &str) -> Option<&'static TestCard> {
    let name = name
        .strip_prefix("visa_")
        .filter(|n| n.starts_with("charge"))
        .unwrap_or(name);
    CARDS.iter().find(|c| c.name == name)
}

/// Finds a test card by number (spaces ignored).
pub(crate) fn by_number(number: &str) -> Option<&'static TestCard> {
    let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    CARDS.iter().find(|c| c.number == digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            by_test_payment_method("pm_card_visa").map(|c| c.last4()),
            Some("4242")
        );
        assert_eq!(
            by_test_payment_method("pm_card_visa_chargeDeclined").map(|c| c.name),
            Some("chargeDeclined")
        );
        assert_eq!(
            by_token("tok_mastercard").map(|c| c.brand),
            Some("mastercard")
        );
        assert_eq!(
            by_number("4000 0000 0000 9995").map(|c| c.name),
            Some("chargeDeclinedInsufficientFunds")
        );
        assert!(by_test_payment_method("pm_123").is_none());
        assert_eq!(
            by_test_payment_method("pm_card_authenticationRequiredOnSetup").map(|c| c.behavior),
            Some(Behavior::AuthenticateUnlessSetUp)
        );
        assert_eq!(by_name("visa").map(|c| c.fingerprint().len()), Some(16));
    }
}
