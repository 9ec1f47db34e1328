//! End to end in a real browser: `billingd` sends a payment link (and a card request) through a
//! real SMTP server; the test reads the email there, opens the link in headless Chromium, types
//! a sandbox test card into the hosted page, and checks what the customer sees, the booking,
//! the saved card and the emails that follow.

use std::time::{Duration, Instant};

use billing_blackbox::{Service, Store, Tenant};
use billing_testservers::{ChromeDriver, TestSmtp};
use fantoccini::{Client, Locator};
use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::json;

/// An email as the customer reads it.
#[derive(Debug)]
struct Email {
    to: String,
    subject: String,
    text: String,
}

/// The mailbox: every message the SMTP server received so far.
struct Mailbox {
    smtp: TestSmtp,
    seen: Vec<Email>,
}

impl Mailbox {
    /// Waits (up to 30 s) for a message to `to` whose subject contains `subject`.
    fn wait_for(&mut self, to: &str, subject: &str) -> &Email {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(index) = self
                .seen
                .iter()
                .position(|m| m.to == to && m.subject.contains(subject))
            {
                return &self.seen[index];
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no email to {to} about {subject:?}; got {:#?}",
                self.seen
            );
            if let Some(mail) = self.smtp.next_message(left.min(Duration::from_millis(500))) {
                let parsed = MessageParser::default()
                    .parse(mail.data.as_bytes())
                    .expect("a parseable email");
                self.seen.push(Email {
                    to: mail.rcpt_tos.join(","),
                    subject: parsed.subject().unwrap_or_default().to_owned(),
                    text: parsed.body_text(0).unwrap_or_default().into_owned(),
                });
            }
        }
    }
}

/// The first URL in `text` that starts with `prefix`.
fn link_in(text: &str, prefix: &str) -> String {
    text.split_whitespace()
        .find(|word| word.starts_with(prefix))
        .unwrap_or_else(|| panic!("a link {prefix}... in {text}"))
        .trim_end_matches(['.', ',', ')', '>'])
        .to_owned()
}

async fn text_of(browser: &Client, id: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} shows: {e}"))
        .text()
        .await
        .expect("its text")
}

/// Types a card into the hosted page's form and submits it with `button`.
async fn enter_card(browser: &Client, number: &str, save: bool, button: &str) {
    for (id, value) in [
        ("card-number", number),
        ("card-expiry", "12 / 34"),
        ("card-cvc", "123"),
    ] {
        let field = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} on the page: {e}"));
        field.clear().await.expect("cleared");
        field.send_keys(value).await.expect("typed");
    }
    if save {
        let checkbox = browser
            .find(Locator::Id("save-card"))
            .await
            .expect("the save-card box");
        if !checkbox.is_selected().await.expect("its state") {
            checkbox.click().await.expect("ticked");
        }
    }
    browser
        .find(Locator::Id(button))
        .await
        .expect("the submit button")
        .click()
        .await
        .expect("clicked");
}

async fn booking_status(service: &Service, acme: &Tenant, booking: &str) -> String {
    let answer = service.get(acme, &format!("/v1/bookings/{booking}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.json["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_pays_from_the_email_and_saves_a_card_in_a_real_browser() {
    let (smtp, driver) = tokio::task::spawn_blocking(|| {
        (
            TestSmtp::start().expect("aiosmtpd starts"),
            ChromeDriver::start().expect("chromedriver starts"),
        )
    })
    .await
    .expect("servers start");
    let port = smtp.port().to_string();
    let mut mailbox = Mailbox {
        smtp,
        seen: Vec::new(),
    };
    let service = Service::start_with(
        Store::Sqlite,
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
            "--mail-poll-ms",
            "100",
        ],
    );
    let acme = service.create_business_with("Acme Cleaning", &["--email", "office@acme.example"]);
    let answer = service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    let answer = service
        .put(
            &acme,
            "/v1/bookings/b-1",
            json!({
                "customer": "ada",
                "currency": "USD",
                "line_items": [{"kind": "service", "label": "Deep clean", "amount": "215.50"}],
            }),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");

    // Staff send a payment link; the customer finds it in their email.
    let link = service
        .post(
            &acme,
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["b-1"]}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    let email = mailbox.wait_for("ada@example.com", "payment request");
    let url = link_in(&email.text, &format!("{}/pay/", service.base_url));
    assert_eq!(Some(url.as_str()), link.json["url"].as_str());
    assert!(email.text.contains("215.50"), "{}", email.text);

    let browser = driver.session().await.expect("a browser session");
    browser.goto(&url).await.expect("the page opens");
    assert!(text_of(&browser, "amount").await.contains("215.50"));

    // A declining card: the page says so and nothing is charged.
    enter_card(&browser, "4000 0000 0000 0002", true, "pay").await;
    let error = text_of(&browser, "card-error").await;
    assert!(error.to_lowercase().contains("declined"), "{error}");
    assert_eq!(booking_status(&service, &acme, "b-1").await, "not_charged");

    // A good card, saved for later: paid in full.
    enter_card(&browser, "4242 4242 4242 4242", true, "pay").await;
    let success = text_of(&browser, "payment-success").await;
    assert!(success.contains("215.50"), "{success}");
    assert!(success.contains("4242"), "{success}");
    assert_eq!(
        booking_status(&service, &acme, "b-1").await,
        "charged_in_full"
    );
    let cards = service
        .get(&acme, "/v1/customers/ada/payment-methods")
        .await;
    let cards = cards.json["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0]["last4"], "4242");

    // The receipt and the business's notice.
    let receipt = mailbox.wait_for("ada@example.com", "receipt");
    assert!(receipt.text.contains("215.50"), "{}", receipt.text);
    let notice = mailbox.wait_for("office@acme.example", "Payment received");
    assert!(notice.text.contains("215.50"), "{}", notice.text);

    // The link is used: opening it again says so.
    browser.goto(&url).await.expect("the page opens");
    text_of(&browser, "link-used").await;

    // A card request: the customer saves a second card.
    let request = service
        .post(&acme, "/v1/card-requests", json!({"customer": "ada"}))
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{request:?}");
    let email = mailbox.wait_for("ada@example.com", "save a card");
    let url = link_in(&email.text, &format!("{}/cards/", service.base_url));
    browser.goto(&url).await.expect("the page opens");
    enter_card(&browser, "5555 5555 5555 4444", false, "save").await;
    let saved = text_of(&browser, "card-saved").await;
    assert!(saved.contains("4444"), "{saved}");
    let cards = service
        .get(&acme, "/v1/customers/ada/payment-methods")
        .await;
    let cards = cards.json["data"].as_array().cloned().unwrap_or_default();
    assert!(
        cards
            .iter()
            .any(|c| c["last4"] == "4444" && c["brand"] == "mastercard"),
        "{cards:?}"
    );
    mailbox.wait_for("office@acme.example", "Card saved");

    // Every email is in the customer's log, delivered with the server's reply.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = service.get(&acme, "/v1/customers/ada/notifications").await;
        assert_eq!(log.status, StatusCode::OK, "{log:?}");
        let all = log.json["data"].as_array().cloned().unwrap_or_default();
        let sent = all
            .iter()
            .filter(|n| n["delivery"]["state"] == "sent")
            .count();
        if all.len() == 5 && sent == 5 {
            assert!(
                all.iter().all(|n| n["delivery"]["server_reply"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("250"))),
                "{all:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "5 emails sent: {all:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await.expect("the browser closes");
}
