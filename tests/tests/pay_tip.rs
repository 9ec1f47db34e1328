//! The tip on the pay page in a real browser, against `billingd serve` (SQLite, the sandbox):
//! the customer sees the preset tips with the total each makes, tries a declining card with a
//! tip of their own (nothing charged, no tip kept, the choice still there), then pays with a
//! preset tip; the receipt page and the receipt email show the tip as a line of its own, and
//! the booking has a tip line. Plain form controls: the page runs no script in sandbox mode.

mod support;

use billing_blackbox::{Service, Store, Tenant};
use billing_testservers::ChromeDriver;
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{check_page, click, email_with, fill, open, submit, text_of};

async fn booking(service: &Service, tenant: &Tenant, id: &str) -> Value {
    service
        .get(tenant, &format!("/v1/bookings/{id}"))
        .await
        .json
}

fn tips(booking: &Value) -> Vec<String> {
    booking["line_items"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l["kind"] == "tip")
                .map(|l| {
                    l["amount"]["amount"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn enter_card(browser: &fantoccini::Client, number: &str) {
    fill(browser, "card-number", number).await;
    fill(browser, "card-expiry", "12 / 34").await;
    fill(browser, "card-cvc", "123").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_adds_a_tip_on_the_pay_page_and_the_receipt_shows_it() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    let made = service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    assert!(made.status.is_success(), "{made:?}");
    for (id, price) in [("b-1", "95.50"), ("b-2", "22.50")] {
        let put = service
            .put(
                &acme,
                &format!("/v1/bookings/{id}"),
                json!({"customer": "ada", "currency": "USD",
                       "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}]}),
            )
            .await;
        assert!(put.status.is_success(), "{put:?}");
    }
    let link = service
        .post(
            &acme,
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["b-1", "b-2"]}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    let url = link.json["url"].as_str().expect("the link's address");
    let path = url
        .strip_prefix(&service.base_url)
        .expect("a link of this service");

    let browser = driver.session().await.expect("a browser session");
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");
    open(&browser, &service, path).await;
    assert_eq!(text_of(&browser, "amount").await, "118.00 USD");
    // 118.00: 15 % is 17.70, 18 % is 21.24, 20 % is 23.60; each total shown beside it.
    assert_eq!(text_of(&browser, "total-15").await, "135.70 USD");
    assert_eq!(text_of(&browser, "total-18").await, "139.24 USD");
    assert_eq!(text_of(&browser, "total-20").await, "141.60 USD");
    let source = browser.source().await.expect("the page");
    assert!(!source.contains("<script"), "no script in sandbox mode");
    check_page(&browser, "pay-tip").await;

    // A tip of their own on a declining card: nothing charged, no tip, the choice kept.
    click(&browser, "tip-custom").await;
    fill(&browser, "tip-amount", "12.00").await;
    enter_card(&browser, "4000 0000 0000 0002").await;
    submit(&browser, "pay").await;
    let error = text_of(&browser, "card-error").await;
    assert!(error.to_lowercase().contains("declined"), "{error}");
    let custom = browser
        .find(Locator::Id("tip-custom"))
        .await
        .expect("the custom tip");
    assert_eq!(
        custom.prop("checked").await.expect("checked?").as_deref(),
        Some("true")
    );
    let b1 = booking(&service, &acme, "b-1").await;
    assert!(tips(&b1).is_empty(), "{b1}");
    assert_eq!(b1["status"], "not_charged");

    // A preset tip on a good card.
    click(&browser, "tip-15").await;
    fill(&browser, "tip-amount", "").await;
    enter_card(&browser, "4242 4242 4242 4242").await;
    submit(&browser, "pay").await;
    assert_eq!(text_of(&browser, "paid-amount").await, "135.70 USD");
    assert_eq!(text_of(&browser, "paid-tip").await, "17.70 USD");
    check_page(&browser, "pay-tip-paid").await;

    // The tip is a line of the link's first booking, which is paid in full with it.
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(tips(&b1), vec!["17.70".to_owned()]);
    assert_eq!(b1["status"], "charged_in_full");
    assert_eq!(b1["price"]["amount"], "113.20");
    let b2 = booking(&service, &acme, "b-2").await;
    assert!(tips(&b2).is_empty());
    assert_eq!(b2["status"], "charged_in_full");

    let receipt = email_with(&service, "Tip: 17.70 USD").await;
    assert!(receipt.contains("ada@example.com"), "{receipt}");
}
