//! The product brief's scenarios, end to end in the Ops Console in a real browser, against
//! `billingd serve` (SQLite, the sandbox): an advance then the rest, extras then a charge,
//! cash, check and other collections, a hold captured, a bulk charge with one declining card,
//! a double click that charges once, and a payment link paid by the customer in a second
//! browser. Every page passes the accessibility audit at a desktop's and a phone's width, and
//! is screenshotted under `target/console-screenshots/`.

mod support;

use billing_blackbox::{Service, Store, Tenant};
use billing_testservers::ChromeDriver;
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;
use support::{
    check_page, choose, click, fill, open, pay_emailed_link, shot, status_of, submit, text_of,
};

const PASSWORD: &str = "a long enough password";

async fn payments_of(service: &Service, tenant: &Tenant, booking: &str) -> Vec<serde_json::Value> {
    let answer = service
        .get(tenant, &format!("/v1/bookings/{booking}"))
        .await;
    answer.json["payments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_briefs_scenarios_in_the_console() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    for (customer, card, booking, price) in [
        ("ada", "pm_card_visa", "b-advance", "200.00"),
        ("ada", "pm_card_visa", "b-extras", "100.00"),
        ("ada", "pm_card_visa", "b-cash", "60.00"),
        ("ada", "pm_card_visa", "b-check", "70.00"),
        ("ada", "pm_card_visa", "b-other", "80.00"),
        ("ada", "pm_card_visa", "b-hold", "90.00"),
        ("ada", "pm_card_visa", "b-double", "45.00"),
        ("ada", "pm_card_visa", "b-bulk-1", "30.00"),
        ("dan", "pm_card_chargeCustomerFail", "b-bulk-2", "40.00"),
        ("eve", "pm_card_visa", "b-link", "55.00"),
    ] {
        service
            .seed_booking(&acme, customer, card, booking, price)
            .await;
    }
    let hold = service
        .post(&acme, "/v1/bookings/b-hold/authorizations", json!({}))
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{hold:?}");
    let globex = service.create_business("Globex Lawns");
    service
        .seed_booking(&globex, "gus", "pm_card_visa", "g-1", "99.00")
        .await;
    let invitation = service.add_staff(&acme, "grace@acme.example", "owner");

    let browser = driver.session().await.expect("a browser session");
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");
    browser.goto(&invitation).await.expect("the invitation");
    check_page(&browser, "scenario-invitation").await;
    fill(&browser, "password", PASSWORD).await;
    submit(&browser, "set-password").await;
    text_of(&browser, "booking-b-advance").await;
    let list = browser.source().await.expect("the list");
    assert!(!list.contains("g-1"), "Globex's booking in Acme's list");
    check_page(&browser, "scenario-bookings").await;

    // An advance, then the rest.
    open(&browser, &service, "/console/bookings/b-advance").await;
    check_page(&browser, "scenario-booking").await;
    fill(&browser, "charge-amount", "50.00").await;
    submit(&browser, "charge").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The charge was successful."
    );
    assert_eq!(text_of(&browser, "status-badge").await, "Partially charged");
    assert!(text_of(&browser, "recent-charge").await.contains("charged"));
    assert_eq!(text_of(&browser, "balance").await, "150.00 USD");
    submit(&browser, "charge").await;
    assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");
    check_page(&browser, "scenario-booking-charged").await;

    // Extras, then the charge of the new price.
    open(&browser, &service, "/console/bookings/b-extras").await;
    choose(&browser, "line-kind", "extra").await;
    fill(&browser, "line-label", "Inside the fridge").await;
    fill(&browser, "line-amount", "25.00").await;
    submit(&browser, "add-line").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The line was added; the price is adjusted."
    );
    assert_eq!(text_of(&browser, "price").await, "125.00 USD");
    submit(&browser, "charge").await;
    assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");
    assert_eq!(text_of(&browser, "paid").await, "125.00 USD");

    // Cash, a check with its number, and another method by its name.
    for (booking, method, reference) in [
        ("b-cash", "cash", ""),
        ("b-check", "check", "1042"),
        ("b-other", "other", "Venmo"),
    ] {
        open(&browser, &service, &format!("/console/bookings/{booking}")).await;
        choose(&browser, "collect-method", method).await;
        fill(&browser, "collect-reference", reference).await;
        submit(&browser, "collect").await;
        assert_eq!(
            text_of(&browser, "flash").await,
            "The collection was recorded.",
            "{booking}"
        );
        assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");
        let history = text_of(&browser, "payments").await;
        assert!(history.contains("Collection"), "{history}");
        assert!(history.contains("grace"), "who collected: {history}");
    }
    let check = payments_of(&service, &acme, "b-check").await;
    assert_eq!(check[0]["method"], "check", "{check:?}");
    assert_eq!(check[0]["reference"], "1042", "{check:?}");
    let other = payments_of(&service, &acme, "b-other").await;
    assert_eq!(other[0]["label"], "Venmo", "{other:?}");

    // A hold captured in full.
    open(&browser, &service, "/console/bookings/b-hold").await;
    assert_eq!(text_of(&browser, "status-badge").await, "Authorized");
    support::leaving(&browser).await;
    browser
        .find(Locator::Css("form[action$='/capture'] button"))
        .await
        .expect("the capture button")
        .click()
        .await
        .expect("clicked");
    support::arrived(&browser, "capture").await;
    assert_eq!(text_of(&browser, "flash").await, "The hold was captured.");
    assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");

    // A double click on "Yes, charge the customer": one charge.
    open(&browser, &service, "/console/bookings/b-double").await;
    support::leaving(&browser).await;
    browser
        .execute(
            "const b = document.getElementById('charge'); b.click(); b.click();",
            Vec::new(),
        )
        .await
        .expect("clicked twice");
    support::arrived(&browser, "the double click").await;
    assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");
    let charges = payments_of(&service, &acme, "b-double").await;
    assert_eq!(charges.len(), 1, "one charge: {charges:?}");

    // Charge selected from the list: one card declines, the other is charged.
    open(&browser, &service, "/console/bookings").await;
    click(&browser, "select-b-bulk-1").await;
    click(&browser, "select-b-bulk-2").await;
    submit(&browser, "charge-selected").await;
    let summary = text_of(&browser, "bulk-summary").await;
    assert!(
        summary.starts_with("2 bookings will be charged: 70.00 USD"),
        "{summary}"
    );
    check_page(&browser, "scenario-bulk-preview").await;
    submit(&browser, "bulk-charge").await;
    assert_eq!(
        text_of(&browser, "bulk-outcome").await,
        "1 charged, 1 not charged."
    );
    assert!(
        text_of(&browser, "result-b-bulk-2")
            .await
            .contains("Declined")
    );
    check_page(&browser, "scenario-bulk-results").await;
    assert_eq!(
        status_of(&service, &acme, "b-bulk-1").await,
        "charged_in_full"
    );
    assert_eq!(status_of(&service, &acme, "b-bulk-2").await, "not_charged");

    // A payment link from the booking, paid by the customer in another browser.
    open(&browser, &service, "/console/bookings/b-link").await;
    submit(&browser, "send-link").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The payment link was emailed to the customer."
    );
    let customer = pay_emailed_link(&driver, &service, "eve@example.com").await;
    assert_eq!(text_of(&customer, "paid-amount").await, "55.00 USD");
    customer.close().await.expect("closed");
    browser.refresh().await.expect("reloaded");
    assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");
    shot(&browser, "scenario-link-paid").await;

    // The customer's profile: Send Email, then the Notifications section shows it.
    open(&browser, &service, "/console/customers/eve").await;
    submit(&browser, "send-card-request").await;
    let log = text_of(&browser, "notifications").await;
    assert!(log.contains("Card request"), "{log}");
    assert!(log.contains("Payment link"), "{log}");
    check_page(&browser, "scenario-customer").await;
    open(&browser, &service, "/console/customers").await;
    check_page(&browser, "scenario-customers").await;
    // The owner's Settings: the Stripe connection, the payment policy with its fees.
    open(&browser, &service, "/console/settings").await;
    text_of(&browser, "no-show").await;
    check_page(&browser, "scenario-settings").await;

    // Another business's pages are not found.
    open(&browser, &service, "/console/bookings/g-1").await;
    let page = browser.source().await.expect("the page");
    assert!(page.contains("nothing of your business"), "{page}");
    assert!(!page.contains("99.00"), "{page}");
    check_page(&browser, "scenario-not-found").await;

    open(&browser, &service, "/console/bookings").await;
    submit(&browser, "sign-out").await;
    text_of(&browser, "sign-in-form").await;
    check_page(&browser, "scenario-sign-in").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_finds_what_it_looks_for() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let browser = driver.session().await.expect("a browser session");
    let page = "<!DOCTYPE html><html><head><title>x</title></head><body><main><h1>Bad</h1>\
        <input id=a name=a><button></button><a href=/x></a>\
        <p style='color:#aaa;background:#fff'>Faint</p><span id=d></span><span id=d></span>\
        <svg role=img viewBox='0 0 1 1'></svg></main></body></html>";
    browser
        .goto(&format!("data:text/html,{}", page.replace('#', "%23")))
        .await
        .expect("the page");
    let found = support::audit(&browser).await.join("\n");
    for rule in [
        "html-has-lang",
        "label: input#a",
        "button-name",
        "link-name",
        "color-contrast",
        "duplicate-id: #d",
        "svg-img-alt",
    ] {
        assert!(found.contains(rule), "{rule} not found in:\n{found}");
    }
}
