//! The card form of the hosted pages, injected by the embedder: in sandbox mode the page posts
//! the card's details to this service, which turns them into a payment method through a
//! [`CardTokenizer`]; in Stripe mode Stripe.js does that in the customer's browser and the page
//! posts only the payment method id.
//!
//! A card number is only ever passed to the tokenizer: it is never logged, stored or shown
//! again (a re-rendered form leaves the card fields empty).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};

/// Turns card details typed on a hosted page into a payment method id (sandbox mode).
pub trait CardTokenizer: Send + Sync {
    /// The payment method id of this card, or a message worded for the customer ("Your card
    /// number is incomplete.") when the details are refused.
    ///
    /// # Errors
    /// The message to show next to the form.
    fn tokenize(
        &self,
        number: &str,
        exp_month: u32,
        exp_year: u32,
        cvc: &str,
    ) -> Result<String, String>;
}

/// How the hosted pages take a card.
#[derive(Clone)]
pub enum CardForm {
    /// Plain card fields posted to this service, which tokenizes them (the sandbox gateway;
    /// never with real cards).
    Sandbox(Arc<dyn CardTokenizer>),
    /// Stripe Elements: the card is typed into Stripe's own field and never reaches this
    /// service.
    Stripe {
        /// The platform's publishable key (`pk_live_...`, `pk_test_...`); public by design.
        publishable_key: String,
    },
}

impl fmt::Debug for CardForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardForm::Sandbox(_) => f.write_str("CardForm::Sandbox"),
            CardForm::Stripe { publishable_key } => f
                .debug_struct("CardForm::Stripe")
                .field("publishable_key", publishable_key)
                .finish(),
        }
    }
}

/// Card details as typed, checked enough to hand to a tokenizer.
pub(crate) struct TypedCard {
    pub(crate) number: String,
    pub(crate) exp_month: u32,
    pub(crate) exp_year: u32,
    pub(crate) cvc: String,
}

impl fmt::Debug for TypedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the number or the code, even in a debug log.
        f.write_str("TypedCard(<redacted>)")
    }
}

impl TypedCard {
    /// The card of the sandbox form's fields, or the message that says what to fix. `now`
    /// dates the expiry check.
    pub(crate) fn parse(
        number: &str,
        expiry: &str,
        cvc: &str,
        now: DateTime<Utc>,
    ) -> Result<TypedCard, &'static str> {
        let number = card_number(number)?;
        let (exp_month, exp_year) = card_expiry(expiry, now)?;
        let cvc = cvc.trim();
        if cvc.is_empty() || cvc.len() < 3 {
            return Err("Your card's security code is incomplete.");
        }
        if cvc.len() > 4 || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Your card's security code is invalid.");
        }
        Ok(TypedCard {
            number,
            exp_month,
            exp_year,
            cvc: cvc.to_owned(),
        })
    }
}

/// The digits of a card number typed with or without spaces or dashes.
fn card_number(typed: &str) -> Result<String, &'static str> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.is_empty() {
        return Err("Please enter your card number.");
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 19 {
        return Err("Your card number is invalid.");
    }
    if digits.len() < 12 {
        return Err("Your card number is incomplete.");
    }
    if !luhn(&digits) {
        return Err("Your card number is invalid.");
    }
    Ok(digits)
}

/// The Luhn checksum every card number carries: catches a mistyped digit before any gateway
/// call.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if !i.is_multiple_of(2) {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `MM/YY`, `MM / YY` or `MM/YYYY`, not in the past.
fn card_expiry(typed: &str, now: DateTime<Utc>) -> Result<(u32, u32), &'static str> {
    const INCOMPLETE: &str = "Your card's expiration date is incomplete.";
    const INVALID: &str = "Your card's expiration date is invalid.";
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(INCOMPLETE);
    }
    let (month, year) = typed.split_once('/').ok_or(INCOMPLETE)?;
    let (month, year) = (month.trim(), year.trim());
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(month) || !numeric(year) {
        return Err(if year.is_empty() { INCOMPLETE } else { INVALID });
    }
    let month: u32 = month.parse().map_err(|_| INVALID)?;
    if !(1..=12).contains(&month) {
        return Err(INVALID);
    }
    let year: u32 = match year.len() {
        2 => 2000 + year.parse::<u32>().map_err(|_| INVALID)?,
        4 => year.parse().map_err(|_| INVALID)?,
        1 | 3 => return Err(INCOMPLETE),
        _ => return Err(INVALID),
    };
    let this_year = u32::try_from(now.year()).unwrap_or(0);
    if (year, month) < (this_year, now.month()) {
        return Err("Your card's expiration date is in the past.");
    }
    if year > this_year + 50 {
        return Err(INVALID);
    }
    Ok((month, year))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn card_numbers_are_digits_with_a_valid_checksum() {
        assert_eq!(
            card_number("4242 4242 4242 4242").as_deref(),
            Ok("4242424242424242")
        );
        assert_eq!(
            card_number("4000-0000-0000-0002").as_deref(),
            Ok("4000000000000002")
        );
        assert_eq!(card_number(""), Err("Please enter your card number."));
        assert_eq!(
            card_number("4242 4242"),
            Err("Your card number is incomplete.")
        );
        assert_eq!(
            card_number("4242424242424241"),
            Err("Your card number is invalid.")
        );
        assert_eq!(
            card_number("4242x4242"),
            Err("Your card number is invalid.")
        );
    }

    #[test]
    fn expiry_dates_take_the_usual_forms_and_not_the_past() {
        assert_eq!(card_expiry("12/34", now()), Ok((12, 2034)));
        assert_eq!(card_expiry("04 / 28", now()), Ok((4, 2028)));
        assert_eq!(card_expiry("1/2026", now()), Ok((1, 2026)));
        assert!(card_expiry("12/25", now()).is_err());
        assert!(card_expiry("13/30", now()).is_err());
        assert!(card_expiry("12/", now()).is_err());
        assert!(card_expiry("1234", now()).is_err());
        assert!(card_expiry("ab/cd", now()).is_err());
    }

    #[test]
    fn security_codes_are_three_or_four_digits_and_never_shown() {
        assert!(TypedCard::parse("4242424242424242", "12/34", "123", now()).is_ok());
        assert!(TypedCard::parse("4242424242424242", "12/34", "1234", now()).is_ok());
        assert!(TypedCard::parse("4242424242424242", "12/34", "12", now()).is_err());
        assert!(TypedCard::parse("4242424242424242", "12/34", "12a", now()).is_err());
        let card = TypedCard::parse("4242424242424242", "12/34", "123", now());
        assert!(!format!("{card:?}").contains("4242"));
    }
}
