//! A customer's profile in the Ops Console, end to end in a real browser against
//! `billingd serve` (SQLite, the sandbox): "Charge Customer" by the card on file, by a new card
//! typed into the pay page's card form, and by an emailed payment link that the customer pays
//! in a second browser; "Payment Options": a card request sent by email and completed by the
//! customer, and a card typed by staff ("Create Payment Option"), both of which lead staff back
//! to the profile; the Notifications section showing each email with its delivery state.

mod support;

use std::time::{Duration, Instant};

use billing_blackbox::{Service, Store};
use billing_testservers::ChromeDriver;
use fantoccini::Client;
use serde_json::json;
use support::{
    check_page, email_with, enter_card, fill, link_in, open, pay_emailed_link, status_of, submit,
    text_of,
};

const PASSWORD: &str = "a long enough password";

/// Reloads the profile until its Notifications section shows every one of `rows`, each a
/// (what, delivery) pair found on one row, or fails after 30 s.
async fn notifications_show(
    browser: &Client,
    service: &Service,
    customer: &str,
    rows: &[(&str, &str)],
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        open(browser, service, &format!("/console/customers/{customer}")).await;
        text_of(browser, "notifications-title").await;
        let table = browser.source().await.expect("the profile");
        let shown = rows.iter().all(|(what, delivery)| {
            table.lines().any(|line| {
                line.contains(&format!("<td>{what}</td>"))
                    && line.contains(&format!("<td>{delivery}"))
            })
        });
        if shown {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{rows:?} not in the notifications of {customer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_charge_and_collect_cards_from_a_customers_profile() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    for (customer, booking, price) in [
        ("fay", "f-1", "40.00"),
        ("fay", "f-2", "60.00"),
        ("gil", "g-new", "35.00"),
        ("hal", "h-link", "25.00"),
    ] {
        service
            .seed_booking(&acme, customer, "pm_card_visa", booking, price)
            .await;
    }
    for customer in ["ivy", "jon"] {
        let made = service
            .post(
                &acme,
                "/v1/customers",
                json!({"id": customer, "name": format!("Customer {customer}"),
                       "email": format!("{customer}@example.com")}),
            )
            .await;
        assert!(made.status.is_success(), "{made:?}");
    }
    let invitation = service.add_staff(&acme, "grace@acme.example", "staff");
    let browser = driver.session().await.expect("a browser session");
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");
    browser.goto(&invitation).await.expect("the invitation");
    fill(&browser, "password", PASSWORD).await;
    submit(&browser, "set-password").await;

    // Two bookings on the card on file, each with its result.
    open(&browser, &service, "/console/customers/fay").await;
    assert_eq!(text_of(&browser, "owes").await, "100.00 USD");
    check_page(&browser, "profile-charge").await;
    submit(&browser, "profile-charge").await;
    assert_eq!(
        text_of(&browser, "bulk-outcome").await,
        "2 charged, 0 not charged."
    );
    for booking in ["f-1", "f-2"] {
        assert_eq!(status_of(&service, &acme, booking).await, "charged_in_full");
    }
    open(&browser, &service, "/console/customers/fay").await;
    assert_eq!(text_of(&browser, "owes").await, "nothing");

    // A new card, typed into the pay page's own card form.
    open(&browser, &service, "/console/customers/gil").await;
    submit(&browser, "profile-new-card").await;
    enter_card(&browser, "5555 5555 5555 4444", "pay").await;
    assert_eq!(text_of(&browser, "paid-amount").await, "35.00 USD");
    assert_eq!(status_of(&service, &acme, "g-new").await, "charged_in_full");
    check_page(&browser, "profile-new-card-paid").await;
    submit(&browser, "back-to-console").await;
    assert_eq!(text_of(&browser, "customer-name").await, "Customer gil");
    assert_eq!(text_of(&browser, "owes").await, "nothing");

    // An emailed payment link, paid by the customer in their own browser.
    open(&browser, &service, "/console/customers/hal").await;
    submit(&browser, "profile-send-link").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The payment link was emailed to the customer."
    );
    let customer = pay_emailed_link(&driver, &service, "hal@example.com").await;
    assert_eq!(text_of(&customer, "paid-amount").await, "25.00 USD");
    let receipt = customer.source().await.expect("the receipt");
    assert!(
        !receipt.contains("back-to-console"),
        "the customer's receipt"
    );
    assert_eq!(
        status_of(&service, &acme, "h-link").await,
        "charged_in_full"
    );

    // A card request emailed ("Send Email") and completed by the customer.
    open(&browser, &service, "/console/customers/ivy").await;
    text_of(&browser, "no-cards").await;
    submit(&browser, "send-card-request").await;
    assert_eq!(
        text_of(&browser, "flash").await,
        "The card request was emailed."
    );
    let email = email_with(&service, "ivy@example.com").await;
    let link = link_in(&email, &format!("{}/cards/", service.base_url));
    customer.goto(&link).await.expect("the card request opens");
    enter_card(&customer, "5555 5555 5555 4444", "save").await;
    assert!(
        text_of(&customer, "saved-card")
            .await
            .contains("ending 4444")
    );
    customer.close().await.expect("closed");
    open(&browser, &service, "/console/customers/ivy").await;
    assert!(text_of(&browser, "cards").await.contains("ending 4444"));

    // "Create Payment Option": staff type the card on the card page.
    open(&browser, &service, "/console/customers/jon").await;
    submit(&browser, "create-payment-option").await;
    enter_card(&browser, "4242 4242 4242 4242", "save").await;
    assert!(
        text_of(&browser, "saved-card")
            .await
            .contains("ending 4242")
    );
    submit(&browser, "back-to-console").await;
    assert_eq!(text_of(&browser, "customer-name").await, "Customer jon");
    assert!(text_of(&browser, "cards").await.contains("ending 4242"));

    // The Notifications section: each email, sent.
    notifications_show(&browser, &service, "hal", &[("Payment link", "Sent")]).await;
    notifications_show(&browser, &service, "ivy", &[("Card request", "Sent")]).await;
    check_page(&browser, "profile-notifications").await;
}
