//! What a text message says, for the notices that may go by text as well as by email.
//!
//! A text is short and plain: who it is from, what it is about, the amount, and the link.
//! Receipts and notices to the business stay emails only: they are records to keep, not
//! prompts to act. The wording lives here, not in a template adapter, because it is a few
//! plain sentences with nothing to escape or lay out.

use crate::email::EmailContent;

/// A text's wording: what the notifications log calls it, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextWording {
    /// The log's name for it (`Payment link`).
    pub label: &'static str,
    /// What the text says.
    pub body: String,
}

/// The text for `content`, or `None` for notices that are never texted (receipts, notices
/// to the business, a failed payment without a link to pay).
pub fn text_for(content: &EmailContent) -> Option<TextWording> {
    let (label, body) = match content {
        EmailContent::PaymentLink(data) => (
            "Payment link",
            format!(
                "{}: you have {} to pay. Pay securely here: {} (link valid until {}).",
                data.business_name,
                data.amount,
                data.url,
                data.expires_at.format("%b %-d")
            ),
        ),
        EmailContent::CardRequest(data) => (
            "Card request",
            format!(
                "{}: please save a card for your bookings, securely, here: {} (link valid \
                 until {}).",
                data.business_name,
                data.url,
                data.expires_at.format("%b %-d")
            ),
        ),
        EmailContent::PaymentFailed(data) => (
            "Payment failed",
            format!(
                "{}: your payment of {} did not go through. Pay securely here: {}",
                data.business_name,
                data.amount,
                data.url.as_deref()?
            ),
        ),
        EmailContent::UpcomingCharge(data) => (
            "Upcoming charge",
            format!(
                "{}: {} {} will be {} on {}.",
                data.business_name,
                data.amount,
                data.card.as_ref().map_or_else(
                    || "on your card".to_owned(),
                    |card| format!("on your card ending {}", card.last4)
                ),
                if data.hold { "held" } else { "charged" },
                data.at.format("%b %-d")
            ),
        ),
        EmailContent::PortalLink(data) => (
            "Portal link",
            format!(
                "{}: see your bookings, pay and manage your cards here: {} (link valid until \
                 {} UTC, once).",
                data.business_name,
                data.url,
                data.expires_at.format("%H:%M")
            ),
        ),
        EmailContent::Receipt(_)
        | EmailContent::BusinessPaymentNotice(_)
        | EmailContent::BusinessCardSavedNotice(_)
        | EmailContent::AutomationNotice(_) => return None,
    };
    Some(TextWording {
        label,
        body: format!("{body} Reply STOP to stop texts."),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::email::{CardRequestData, PaymentData, PaymentFailedData, PaymentLinkData};
    use crate::money::{Currency, Money};
    use crate::notification::MAX_TEXT;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::USD).unwrap()
    }

    #[test]
    fn a_payment_link_text_names_the_business_amount_and_link() {
        let text = text_for(&EmailContent::PaymentLink(PaymentLinkData {
            business_name: "Acme Cleaning".into(),
            customer_name: "Ada".into(),
            amount: usd("185.50"),
            bookings: Vec::new(),
            url: "https://pay.example.com/pay/tok".into(),
            expires_at: Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap(),
        }))
        .unwrap();
        assert_eq!(text.label, "Payment link");
        assert_eq!(
            text.body,
            "Acme Cleaning: you have 185.50 USD to pay. Pay securely here: \
             https://pay.example.com/pay/tok (link valid until Dec 10). Reply STOP to stop texts."
        );
        assert!(text.body.chars().count() <= MAX_TEXT);
    }

    #[test]
    fn records_and_linkless_failures_are_not_texted() {
        let failed = PaymentFailedData {
            business_name: "Acme".into(),
            customer_name: "Ada".into(),
            amount: usd("10.00"),
            card: None,
            reason: "declined".into(),
            bookings: Vec::new(),
            url: None,
        };
        assert_eq!(text_for(&EmailContent::PaymentFailed(failed.clone())), None);
        let with_link = EmailContent::PaymentFailed(PaymentFailedData {
            url: Some("https://pay.example.com/pay/t".into()),
            ..failed
        });
        assert!(text_for(&with_link).unwrap().body.contains("/pay/t"));
        let receipt = EmailContent::Receipt(PaymentData {
            business_name: "Acme".into(),
            customer_name: "Ada".into(),
            amount: usd("10.00"),
            card: None,
            bookings: Vec::new(),
            tip: None,
            paid_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        });
        assert_eq!(text_for(&receipt), None);
        let card = text_for(&EmailContent::CardRequest(CardRequestData {
            business_name: "Acme".into(),
            customer_name: "Ada".into(),
            url: "https://pay.example.com/cards/t".into(),
            expires_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        }))
        .unwrap();
        assert_eq!(card.label, "Card request");
        assert!(card.body.ends_with("Reply STOP to stop texts."));
    }
}
