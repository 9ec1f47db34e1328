//! The Ops Console in a real browser: a member added with `billingd staff add` sets their
//! password from the link, sees the business's bookings in the brief's words, opens one, signs
//! out and in again — at a desktop's width and at a phone's. Each page's screenshot is written
//! under `target/console-screenshots/`.

mod support;

use billing_blackbox::{Service, Store};
use billing_testservers::ChromeDriver;
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;
use support::{fill, fits, shot, submit, text_of};

const PASSWORD: &str = "a long enough password";

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
    submit(&browser, "set-password").await;
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

    support::leaving(&browser).await;
    browser
        .find(Locator::LinkText("b-1"))
        .await
        .expect("the booking's link")
        .click()
        .await
        .expect("clicked");
    support::arrived(&browser, "the booking's link").await;
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
    submit(&browser, "charge").await;
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

    submit(&browser, "sign-out").await;
    text_of(&browser, "sign-in-form").await;
    // Signed out: the console sends back to signing in.
    browser
        .goto(&format!("{}/console/bookings", service.base_url))
        .await
        .expect("the list");
    text_of(&browser, "sign-in-form").await;
    fill(&browser, "email", "grace@acme.example").await;
    fill(&browser, "password", "not the password").await;
    submit(&browser, "sign-in").await;
    assert!(
        text_of(&browser, "sign-in-error")
            .await
            .contains("do not match")
    );
    shot(&browser, "sign-in-refused").await;
    fill(&browser, "password", PASSWORD).await;
    submit(&browser, "sign-in").await;
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
    submit(&browser, "send-card-request").await;
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
