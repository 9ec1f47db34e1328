//! The templates: every kind renders, amounts are printed exactly, user text is escaped in
//! HTML and shown as it is in plain text, links are checked, subjects stay on one line.

mod common;

use billing_core::notification::{MAX_SUBJECT, NotificationKind};
use billing_mail::templates::{
    AutomationConcern, CardLabel, CardRequestData, CardSavedData, EmailContent, PaymentFailedData,
    PortalLinkData, RenderError, render,
};
use common::{at, automation_notice, concerns, payment_link, receipt, upcoming_charge, usd};

fn every_kind(customer: &str) -> Vec<EmailContent> {
    let mut all = vec![
        EmailContent::PaymentLink(payment_link(customer)),
        EmailContent::CardRequest(CardRequestData {
            business_name: "Acme Cleaning".into(),
            customer_name: customer.into(),
            url: "https://pay.example.com/c/xyz".into(),
            expires_at: at(2026, 2, 1, 0, 0),
        }),
        EmailContent::Receipt(receipt(customer)),
        EmailContent::BusinessPaymentNotice(receipt(customer)),
        EmailContent::BusinessCardSavedNotice(CardSavedData {
            business_name: "Acme Cleaning".into(),
            customer_name: customer.into(),
            card: CardLabel {
                brand: "mastercard".into(),
                last4: "4444".into(),
            },
            exp_month: 4,
            exp_year: 2031,
        }),
        EmailContent::PaymentFailed(PaymentFailedData {
            business_name: "Acme Cleaning".into(),
            customer_name: customer.into(),
            amount: usd(21550),
            card: None,
            reason: "Your card was declined.".into(),
            bookings: common::bookings(),
            url: Some("https://pay.example.com/l/retry".into()),
        }),
        EmailContent::UpcomingCharge(upcoming_charge(customer, false)),
        EmailContent::UpcomingCharge(upcoming_charge(customer, true)),
        EmailContent::PortalLink(portal_link(customer)),
    ];
    // Every concern, so that each one's wording is checked for escaping too.
    all.extend(
        concerns()
            .into_iter()
            .map(|concern| EmailContent::AutomationNotice(automation_notice(customer, concern))),
    );
    all
}

fn portal_link(customer: &str) -> PortalLinkData {
    PortalLinkData {
        business_name: "Acme Cleaning".into(),
        customer_name: customer.into(),
        url: "https://pay.example.com/portal/k7?src=email&lang=en".into(),
        expires_at: at(2026, 1, 15, 9, 30),
    }
}

#[test]
fn a_payment_link_shows_the_amount_bookings_link_and_expiry() {
    let message = render(
        "ada@example.com",
        &EmailContent::PaymentLink(payment_link("Ada Lovelace")),
    )
    .expect("rendered");
    assert_eq!(message.to, "ada@example.com");
    assert_eq!(
        message.subject,
        "Acme Cleaning: payment request for 215.50 USD"
    );
    let text = &message.text_body;
    let html = message.html_body.as_deref().expect("html");
    for body in [text.as_str(), html] {
        assert!(body.contains("215.50 USD"), "{body}");
        assert!(body.contains("185.50 USD"), "the amount due: {body}");
        assert!(body.contains("30.00 USD"), "{body}");
        assert!(body.contains("0.00 USD"), "{body}");
        assert!(body.contains("Thu 15 Jan 2026"), "{body}");
        assert!(body.contains("Thu 22 Jan 2026"), "{body}");
        assert!(body.contains("Deep clean"), "{body}");
        assert!(
            body.contains("22 Jan 2026, 17:30 UTC"),
            "the expiry: {body}"
        );
    }
    assert!(text.contains("Pay online: https://pay.example.com/l/abc123?lang=en&src=email"));
    assert!(
        text.contains(
            "- Thu 15 Jan 2026: Deep clean\n  price 215.50 USD, paid 30.00 USD, due 185.50 USD\n"
        ),
        "{text}"
    );
    // In HTML, `&` in an attribute is written as an entity (browsers read it back as `&`).
    assert!(
        html.contains(r#"href="https://pay.example.com/l/abc123?lang=en&#38;src=email""#),
        "{html}"
    );
}

#[test]
fn a_portal_link_opens_the_bookings_once_until_its_time() {
    let message = render(
        "ada@example.com",
        &EmailContent::PortalLink(portal_link("Ada Lovelace")),
    )
    .expect("rendered");
    assert_eq!(message.to, "ada@example.com");
    assert_eq!(message.subject, "Your bookings with Acme Cleaning");
    let text = &message.text_body;
    let html = message.html_body.as_deref().expect("html");
    for body in [text.as_str(), html] {
        assert!(body.contains("Hello Ada Lovelace,"), "{body}");
        assert!(body.contains("Open your bookings"), "{body}");
        // Half an hour: the time of day, in UTC.
        assert!(
            body.contains("The link works once, until 15 Jan 2026, 09:30 UTC."),
            "the expiry: {body}"
        );
        assert!(
            body.contains("ask Acme Cleaning for") && body.contains("a new one."),
            "{body}"
        );
    }
    assert!(
        text.contains("Open your bookings: https://pay.example.com/portal/k7?src=email&lang=en\n"),
        "{text}"
    );
    assert!(
        html.contains(r#"href="https://pay.example.com/portal/k7?src=email&#38;lang=en""#),
        "{html}"
    );
    // A link that could run in the mail client is refused, as for every other email.
    let mut data = portal_link("Ada");
    data.url = "javascript:alert(1)".into();
    assert!(matches!(
        render("ada@example.com", &EmailContent::PortalLink(data)),
        Err(RenderError::UnsafeLink(_))
    ));
}

#[test]
fn amounts_keep_every_minor_digit() {
    let mut data = payment_link("Ada");
    data.amount = usd(21550);
    data.bookings[0].price = usd(10_000_000);
    let message = render("ada@example.com", &EmailContent::PaymentLink(data)).expect("rendered");
    assert!(message.text_body.contains("215.50 USD"));
    assert!(!message.text_body.contains("215.5 USD"));
    assert!(
        message.text_body.contains("100000.00 USD"),
        "{}",
        message.text_body
    );
}

#[test]
fn user_text_is_escaped_in_html_and_kept_in_plain_text() {
    for data in every_kind("<script>alert('x')</script>") {
        let message = render("ada@example.com", &data).expect("rendered");
        let html = message.html_body.as_deref().expect("html");
        assert!(!html.contains("<script>"), "{:?}: {html}", data.kind());
        assert!(
            html.contains("&#60;script&#62;"),
            "{:?}: {html}",
            data.kind()
        );
        // Plain text is not HTML: it shows the name as typed.
        assert!(
            message.text_body.contains("<script>alert('x')</script>"),
            "{:?}: {}",
            data.kind(),
            message.text_body
        );
        if matches!(
            data.kind(),
            NotificationKind::PaymentLink | NotificationKind::Receipt
        ) {
            assert!(!html.contains("<b>balcony</b>"), "{html}");
            assert!(
                html.contains("Windows &#38; &#60;b&#62;balcony&#60;/b&#62;"),
                "{html}"
            );
        }
    }
}

#[test]
fn every_kind_renders_both_bodies_with_its_essentials() {
    for data in every_kind("Ada Lovelace") {
        let message = render("ada@example.com", &data).expect("rendered");
        let html = message.html_body.clone().expect("html");
        assert!(html.starts_with("<!DOCTYPE html>"), "{:?}", data.kind());
        assert!(html.contains("Acme Cleaning"));
        assert!(message.text_body.contains("Ada Lovelace"));
        assert!(message.check().is_ok(), "{:?}", data.kind());
        let essentials: &[&str] = match data.kind() {
            NotificationKind::PaymentLink => &["215.50 USD", "https://pay.example.com/l/abc123"],
            NotificationKind::CardRequest => {
                &["https://pay.example.com/c/xyz", "1 Feb 2026, 00:00 UTC"]
            }
            NotificationKind::Receipt | NotificationKind::BusinessPaymentNotice => &[
                "215.50 USD",
                "Visa ending 4242",
                "15 Jan 2026, 09:05 UTC",
                "Deep clean",
            ],
            NotificationKind::BusinessCardSavedNotice => {
                &["Mastercard ending 4444, expires 04/2031"]
            }
            NotificationKind::PaymentFailed => &[
                "215.50 USD",
                "Your card was declined.",
                "https://pay.example.com/l/retry",
            ],
            NotificationKind::UpcomingCharge => &[
                "215.50 USD",
                "14 Jan 2026, 09:00 UTC",
                "Visa ending 4242",
                "Deep clean",
                "Thu 15 Jan 2026",
                "please contact Acme Cleaning",
            ],
            // Each concern's own wording is checked in `each_automation_concern_says_what_happened`.
            NotificationKind::BusinessAutomationNotice => {
                &["bk_123", "needs attention", "Deep clean", "185.50 USD"]
            }
            NotificationKind::PortalLink => &[
                "https://pay.example.com/portal/k7",
                "15 Jan 2026, 09:30 UTC",
                "Open your bookings",
            ],
        };
        for needed in essentials {
            assert!(
                message.text_body.contains(needed),
                "{:?} text lacks {needed}: {}",
                data.kind(),
                message.text_body
            );
            assert!(
                html.contains(needed),
                "{:?} html lacks {needed}: {html}",
                data.kind()
            );
        }
    }
}

#[test]
fn subjects_name_the_business_and_the_amount() {
    let subjects: Vec<String> = every_kind("Ada Lovelace")
        .iter()
        .map(|data| render("ada@example.com", data).expect("rendered").subject)
        .collect();
    assert_eq!(
        subjects,
        [
            "Acme Cleaning: payment request for 215.50 USD",
            "Acme Cleaning: please save a card for your bookings",
            "Acme Cleaning: receipt for 215.50 USD",
            "Payment received: 215.50 USD from Ada Lovelace",
            "Card saved by Ada Lovelace",
            "Acme Cleaning: your payment of 215.50 USD did not go through",
            "Acme Cleaning: 215.50 USD will be charged on 14 Jan 2026, 09:00 UTC",
            "Acme Cleaning: 215.50 USD will be held on 14 Jan 2026, 09:00 UTC",
            "Your bookings with Acme Cleaning",
            "Needs attention: booking bk_123 (Ada Lovelace)",
            "Needs attention: booking bk_123 (Ada Lovelace)",
            "Needs attention: booking bk_123 (Ada Lovelace)",
        ]
    );
}

#[test]
fn a_name_cannot_break_the_subject_line() {
    let mut data = receipt("Ada");
    data.business_name = "Acme\r\nBcc: eve@example.com".into();
    let message =
        render("ada@example.com", &EmailContent::Receipt(data.clone())).expect("rendered");
    assert_eq!(
        message.subject,
        "Acme Bcc: eve@example.com: receipt for 215.50 USD"
    );
    assert!(message.check().is_ok());
    data.business_name = "A".repeat(400);
    let message = render("ada@example.com", &EmailContent::Receipt(data)).expect("rendered");
    assert_eq!(message.subject.chars().count(), MAX_SUBJECT);
    assert!(message.check().is_ok());
}

#[test]
fn only_web_links_are_put_in_emails() {
    for url in [
        "javascript:alert(1)",
        "data:text/html,x",
        "https://pay.example.com/a b",
        "ftp://x",
    ] {
        let mut data = payment_link("Ada");
        data.url = url.into();
        assert!(
            matches!(
                render("ada@example.com", &EmailContent::PaymentLink(data)),
                Err(RenderError::UnsafeLink(_))
            ),
            "{url}"
        );
    }
}

#[test]
fn an_upcoming_charge_says_what_when_which_card_and_whom_to_ask() {
    let message = render(
        "ada@example.com",
        &EmailContent::UpcomingCharge(upcoming_charge("Ada Lovelace", false)),
    )
    .expect("rendered");
    let text = &message.text_body;
    let html = message.html_body.as_deref().expect("html");
    assert!(
        text.contains("215.50 USD will be charged on 14 Jan 2026, 09:00 UTC by Acme Cleaning."),
        "{text}"
    );
    assert!(text.contains("\nCard: Visa ending 4242\n"), "{text}");
    assert!(
        text.contains(
            "- Thu 15 Jan 2026: Deep clean\n  price 215.50 USD, paid 30.00 USD, due 185.50 USD\n"
        ),
        "{text}"
    );
    assert!(text.contains("If something is wrong, please contact Acme Cleaning"));
    assert!(!text.contains("hold"), "a charge is not a hold: {text}");
    assert!(
        html.contains(
            "<strong>215.50 USD</strong> will be charged on 14 Jan 2026, 09:00 UTC by Acme Cleaning."
        ),
        "{html}"
    );
    assert!(html.contains("<p>Card: Visa ending 4242</p>"), "{html}");
    assert!(!html.contains("pre-authorization"), "{html}");
}

#[test]
fn an_upcoming_hold_says_held_and_explains_the_capture() {
    let message = render(
        "ada@example.com",
        &EmailContent::UpcomingCharge(upcoming_charge("Ada", true)),
    )
    .expect("rendered");
    let html = message.html_body.as_deref().expect("html");
    for body in [message.text_body.as_str(), html] {
        assert!(
            body.contains("215.50 USD") && body.contains("will be held on 14 Jan 2026, 09:00 UTC"),
            "{body}"
        );
        assert!(body.contains("pre-authorization"), "{body}");
        assert!(body.contains("after the service"), "{body}");
        assert!(!body.contains("will be charged"), "{body}");
    }
}

#[test]
fn an_upcoming_charge_without_a_card_on_file_names_none() {
    let mut data = upcoming_charge("Ada", false);
    data.card = None;
    let message = render("ada@example.com", &EmailContent::UpcomingCharge(data)).expect("rendered");
    let html = message.html_body.as_deref().expect("html");
    for body in [message.text_body.as_str(), html] {
        assert!(!body.contains("Card:"), "{body}");
        assert!(body.contains("will be charged on"), "{body}");
    }
}

#[test]
fn each_automation_concern_says_what_happened() {
    let expected: [&[&str]; 3] = [
        &[
            "An automatic charge failed for the last time: The card was declined (insufficient funds).",
            "was sent a payment link",
            "needs attention",
        ],
        &[
            "The hold on this booking runs out on 20 Jan 2026, 12:00 UTC, before it can be captured.",
        ],
        &[
            "The card on file, American Express ending 0005, runs out before the automatic charge due on 1 Feb 2026, 08:00 UTC.",
            "was asked for a new card.",
        ],
    ];
    // The other concerns' sentences, which must not leak into this one's email.
    let markers = ["for the last time", "runs out on", "asked for a new card"];
    for (i, (concern, needed)) in concerns().into_iter().zip(expected).enumerate() {
        let message = render(
            "owner@acme.example",
            &EmailContent::AutomationNotice(automation_notice("Ada Lovelace", concern.clone())),
        )
        .expect("rendered");
        let html = message.html_body.as_deref().expect("html");
        for body in [message.text_body.as_str(), html] {
            for sentence in needed {
                assert!(
                    body.contains(sentence),
                    "{concern:?} lacks {sentence}: {body}"
                );
            }
            for (j, marker) in markers.iter().enumerate() {
                assert_eq!(
                    body.contains(marker),
                    i == j,
                    "{concern:?}, {marker}: {body}"
                );
            }
            assert!(body.contains("Ada Lovelace"), "{body}");
            assert!(body.contains("bk_123"), "{body}");
            assert!(body.contains("Thu 22 Jan 2026"), "the bookings: {body}");
        }
        assert!(
            message
                .text_body
                .starts_with("Booking bk_123 (Ada Lovelace) needs attention.\n\n"),
            "{}",
            message.text_body
        );
        assert!(
            message
                .text_body
                .trim_end()
                .ends_with("\n-- \nSent to Acme Cleaning by its billing."),
            "{}",
            message.text_body
        );
    }
}

#[test]
fn an_automation_notice_escapes_the_reason_and_booking_in_html() {
    let mut data = automation_notice(
        "Ada",
        AutomationConcern::RetriesSpent {
            reason: "<img src=x onerror=alert(1)>".into(),
        },
    );
    data.booking = "bk_<i>1</i>".into();
    let message =
        render("owner@acme.example", &EmailContent::AutomationNotice(data)).expect("rendered");
    let html = message.html_body.as_deref().expect("html");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<i>1</i>"), "{html}");
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{html}"
    );
    assert!(
        message.text_body.contains("<img src=x onerror=alert(1)>"),
        "{}",
        message.text_body
    );
}

#[test]
fn a_receipt_shows_the_tip_as_a_line_of_its_own() {
    let mut data = receipt("Ada");
    data.tip = Some(usd(1433));
    for content in [
        EmailContent::Receipt(data.clone()),
        EmailContent::BusinessPaymentNotice(data.clone()),
    ] {
        let message = render("ada@example.com", &content).expect("rendered");
        assert!(
            message.text_body.contains("Tip: 14.33 USD"),
            "{}",
            message.text_body
        );
        let html = message.html_body.as_deref().unwrap_or_default();
        assert!(html.contains("Tip: <strong>14.33 USD</strong>"), "{html}");
    }
    // No tip, no line.
    let plain = render("ada@example.com", &EmailContent::Receipt(receipt("Ada"))).expect("ok");
    assert!(!plain.text_body.contains("Tip:"));
}
