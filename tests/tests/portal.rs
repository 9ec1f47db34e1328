//! The customer portal in a real browser, against `billingd serve` (SQLite, the sandbox): staff
//! ask for a portal link through the API; the customer opens it from the email and sees their
//! bookings alone, with what they owe; pays one of them on the pay page and comes back to see
//! its receipt; adds a card on the card page and removes it; signs out. The emailed link opens
//! once. Plain forms: the portal runs no script.

mod support;

use billing_blackbox::{Service, Store, Tenant};
use billing_testservers::ChromeDriver;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::json;
use support::{check_page, click, email_with, enter_card, link_in, open, submit, text_of};

async fn customer(service: &Service, tenant: &Tenant, id: &str, name: &str, email: &str) {
    let made = service
        .post(
            tenant,
            "/v1/customers",
            json!({"id": id, "name": name, "email": email}),
        )
        .await;
    assert!(made.status.is_success(), "{made:?}");
}

async fn booking(service: &Service, tenant: &Tenant, id: &str, customer: &str, price: &str) {
    let put = service
        .put(
            tenant,
            &format!("/v1/bookings/{id}"),
            json!({"customer": customer, "currency": "USD",
                   "service_at": "2026-11-20T10:00:00Z",
                   "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}]}),
        )
        .await;
    assert!(put.status.is_success(), "{put:?}");
}

/// Waits (20 s at most) for the page to show `#id`.
async fn shows(browser: &Client, id: &str) {
    browser
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_pays_and_manages_cards_from_their_portal() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    customer(&service, &acme, "ada", "Ada Lovelace", "ada@example.com").await;
    customer(
        &service,
        &acme,
        "grace",
        "Grace Hopper",
        "grace@example.com",
    )
    .await;
    booking(&service, &acme, "b-1", "ada", "120.00").await;
    booking(&service, &acme, "b-2", "ada", "80.00").await;
    booking(&service, &acme, "b-grace", "grace", "50.00").await;

    let sent = service
        .post(&acme, "/v1/customers/ada/portal-link", json!({}))
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{sent:?}");
    let email = email_with(&service, &format!("{}/portal/", service.base_url)).await;
    assert!(email.contains("ada@example.com"), "{email}");
    let link = link_in(&email, &format!("{}/portal/", service.base_url));

    let browser = driver.session().await.expect("a browser session");
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");
    browser.goto(&link).await.expect("the link opens");
    shows(&browser, "portal").await;
    assert!(
        browser
            .current_url()
            .await
            .expect("the address")
            .as_str()
            .ends_with("/portal"),
        "the token leaves the address bar"
    );
    assert_eq!(text_of(&browser, "total-due").await, "200.00 USD");
    let source = browser.source().await.expect("the page");
    assert!(source.contains("id=\"booking-b-1\"") && source.contains("id=\"booking-b-2\""));
    assert!(!source.contains("b-grace"), "another customer's booking");
    assert!(!source.contains("<script"), "the portal runs no script");
    check_page(&browser, "portal").await;

    // Pay b-2 alone: untick b-1, pay on the pay page, come back.
    click(&browser, "pay-b-1").await;
    submit(&browser, "pay-selected").await;
    assert_eq!(text_of(&browser, "amount").await, "80.00 USD");
    click(&browser, "save-card").await;
    enter_card(&browser, "4242 4242 4242 4242", "pay").await;
    shows(&browser, "payment-success").await;
    assert_eq!(text_of(&browser, "paid-amount").await, "80.00 USD");
    submit(&browser, "back-to-portal").await;
    assert_eq!(text_of(&browser, "total-due").await, "120.00 USD");
    let source = browser.source().await.expect("the page");
    assert!(source.contains("Card ending 4242"), "the receipt is listed");
    let paid = service.get(&acme, "/v1/bookings/b-2").await;
    assert_eq!(paid.json["status"], "charged_in_full", "{paid:?}");

    // Add a card on the card page, then remove it.
    submit(&browser, "add-card").await;
    enter_card(&browser, "5555 5555 5555 4444", "save").await;
    shows(&browser, "card-saved").await;
    submit(&browser, "back-to-portal").await;
    shows(&browser, "portal-cards").await;
    let cards = browser.source().await.expect("the page");
    assert!(cards.contains("Mastercard ending 4444"), "{cards}");
    check_page(&browser, "portal-with-cards").await;
    let remove = browser
        .find(Locator::Css("#portal-cards li:last-child button"))
        .await
        .expect("a remove button");
    support::leaving(&browser).await;
    remove.click().await.expect("clicked");
    support::arrived(&browser, "remove").await;
    shows(&browser, "portal-notice").await;
    let after = browser.source().await.expect("the page");
    assert!(!after.contains("Mastercard ending 4444"), "{after}");

    // The emailed link opened once; signing out ends the session.
    let other = driver.session().await.expect("another browser");
    other.goto(&link).await.expect("the link again");
    shows(&other, "portal-link-used").await;
    other.close().await.expect("closed");
    submit(&browser, "sign-out").await;
    shows(&browser, "portal-signed-out").await;
    open(&browser, &service, "/portal").await;
    shows(&browser, "portal-ended").await;
    browser.close().await.expect("closed");
}
