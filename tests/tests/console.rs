//! The Ops Console in a real browser: a member added with `billingd staff add` sets their
//! password from the link, sees the business's bookings in the brief's words, opens one, signs
//! out and in again — at a desktop's width and at a phone's. Each page's screenshot is written
//! under `target/console-screenshots/`.

use std::path::PathBuf;
use std::time::Duration;

use billing_blackbox::{Service, Store};
use billing_testservers::ChromeDriver;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "a long enough password";

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshots folder");
    dir
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("written");
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

async fn fill(browser: &Client, id: &str, value: &str) {
    let field = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    field.clear().await.expect("cleared");
    field.send_keys(value).await.expect("typed");
}

async fn click(browser: &Client, id: &str) {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .expect("clicked");
}

/// True when the page is no wider than the window: nothing to scroll sideways.
async fn fits(browser: &Client) -> bool {
    browser
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            Vec::new(),
        )
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_set_a_password_see_the_bookings_and_sign_in_again() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "120.00")
        .await;
    let charge = service
        .post(
            &acme,
            "/v1/bookings/b-1/charges",
            json!({"amount": "20.00"}),
        )
        .await;
    assert_eq!(charge.status, StatusCode::CREATED, "{charge:?}");
    let other = service.create_business("Globex Lawns");
    service
        .seed_booking(&other, "bob", "pm_card_visa", "g-1", "55.00")
        .await;
    let invitation = service.add_staff(&acme, "grace@acme.example", "owner");
    assert!(invitation.starts_with(&service.base_url), "{invitation}");

    let browser = driver.session().await.expect("a browser session");
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");
    browser
        .goto(&invitation)
        .await
        .expect("the invitation opens");
    shot(&browser, "invitation").await;
    fill(&browser, "password", PASSWORD).await;
    click(&browser, "set-password").await;
    assert!(
        text_of(&browser, "booking-b-1")
            .await
            .contains("Partially charged")
    );
    let list = browser.source().await.expect("the page");
    assert!(!list.contains("g-1"), "another business's booking shows");
    assert_eq!(
        text_of(&browser, "signed-in-business").await,
        "Acme Cleaning"
    );
    shot(&browser, "bookings").await;

    browser
        .find(Locator::LinkText("b-1"))
        .await
        .expect("the booking's link")
        .click()
        .await
        .expect("clicked");
    assert_eq!(text_of(&browser, "paid").await, "20.00 USD");
    let amount = browser
        .find(Locator::Id("charge-amount"))
        .await
        .expect("the amount field")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(amount.as_deref(), Some("100.00"), "the balance, filled in");
    assert_eq!(text_of(&browser, "balance").await, "100.00 USD");
    assert_eq!(text_of(&browser, "status-badge").await, "Partially charged");
    shot(&browser, "booking").await;

    // Charge Customer: the card on file, the balance filled in.
    click(&browser, "charge").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The charge was successful."
    );
    assert_eq!(text_of(&browser, "status-badge").await, "Charged in full");
    assert_eq!(text_of(&browser, "balance").await, "0.00 USD");
    assert!(text_of(&browser, "recent-charge").await.contains("charged"));
    shot(&browser, "booking-charged").await;
    // Reloading the answer charges nothing more.
    browser.refresh().await.expect("reloaded");
    assert_eq!(text_of(&browser, "paid").await, "120.00 USD");

    // At a phone's width, nothing spills sideways.
    browser.set_window_size(390, 844).await.expect("phone size");
    assert!(fits(&browser).await, "the booking page at 390 px");
    shot(&browser, "booking-phone").await;
    browser
        .goto(&format!("{}/console/bookings", service.base_url))
        .await
        .expect("the list");
    text_of(&browser, "bookings").await;
    assert!(fits(&browser).await, "the bookings list at 390 px");
    shot(&browser, "bookings-phone").await;
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");

    click(&browser, "sign-out").await;
    text_of(&browser, "sign-in-form").await;
    // Signed out: the console sends back to signing in.
    browser
        .goto(&format!("{}/console/bookings", service.base_url))
        .await
        .expect("the list");
    text_of(&browser, "sign-in-form").await;
    fill(&browser, "email", "grace@acme.example").await;
    fill(&browser, "password", "not the password").await;
    click(&browser, "sign-in").await;
    assert!(
        text_of(&browser, "sign-in-error")
            .await
            .contains("do not match")
    );
    shot(&browser, "sign-in-refused").await;
    fill(&browser, "password", PASSWORD).await;
    click(&browser, "sign-in").await;
    text_of(&browser, "booking-b-1").await;

    // The customer's profile: the card on file, and "Send Email" for a card request, which
    // then shows in the Notifications section.
    browser
        .goto(&format!("{}/console/customers/ada", service.base_url))
        .await
        .expect("the profile");
    assert!(
        text_of(&browser, "cards")
            .await
            .contains("Visa ending 4242")
    );
    click(&browser, "send-card-request").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The card request was emailed."
    );
    assert!(
        text_of(&browser, "notifications")
            .await
            .contains("Card request")
    );
    shot(&browser, "customer").await;
    browser.close().await.expect("the browser closes");
}
