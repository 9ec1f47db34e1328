//! 3-D Secure in a real browser: the customer pays a payment link (or saves a card) in headless
//! Chromium with one of Stripe's authentication test cards; the sandbox sends them to its own
//! challenge page, where they complete or fail the authentication, and back to the hosted page,
//! which shows the outcome from the gateway's record. The receipt is emailed once, whichever of
//! the return and the background sweep settles the payment first.

use std::time::{Duration, Instant};

use billing_blackbox::{Service, Store, Tenant, amount};
use billing_testservers::{ChromeDriver, TestSmtp};
use fantoccini::{Client, Locator};
use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Asks for authentication on-session and when saved; charged off-session once set up.
const AUTHENTICATE_ON_SESSION: &str = "4000 0025 0000 3155";
/// Asks for authentication on every payment (3-D Secure 2).
const ALWAYS_AUTHENTICATE: &str = "4000 0000 0000 3220";
const VISA: &str = "4242 4242 4242 4242";

/// Waits (up to 30 s) for an email to `to` whose subject contains `subject`.
fn wait_for_email(smtp: &TestSmtp, to: &str, subject: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no email to {to} about {subject:?}; got {seen:#?}"
        );
        let Some(mail) = smtp.next_message(left.min(Duration::from_millis(500))) else {
            continue;
        };
        let parsed = MessageParser::default()
            .parse(mail.data.as_bytes())
            .expect("a parseable email");
        let found = parsed.subject().unwrap_or_default().to_owned();
        if mail.rcpt_tos.iter().any(|r| r == to) && found.contains(subject) {
            return;
        }
        seen.push((mail.rcpt_tos.join(","), found));
    }
}

async fn element_text(browser: &Client, id: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} shows: {e}"))
        .text()
        .await
        .expect("its text")
}

async fn click(browser: &Client, id: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id} on the page: {e}"))
        .click()
        .await
        .expect("clicked");
}

/// Types a card into the hosted page's form and submits it with `button`.
async fn enter_card(browser: &Client, number: &str, button: &str) {
    for (id, value) in [
        ("card-number", number),
        ("card-expiry", "12 / 34"),
        ("card-cvc", "123"),
    ] {
        let field = browser
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} on the page: {e}"));
        field.clear().await.expect("cleared");
        field.send_keys(value).await.expect("typed");
    }
    click(browser, button).await;
}

async fn get(service: &Service, tenant: &Tenant, path: &str) -> Value {
    let answer = service.get(tenant, path).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.json
}

/// A customer and a USD booking; a payment link (not emailed) for it: its id and URL.
async fn linked_booking(
    service: &Service,
    tenant: &Tenant,
    customer: &str,
    booking: &str,
    price: &str,
) -> (String, String) {
    let answer = service
        .post(
            tenant,
            "/v1/customers",
            json!({"id": customer, "name": format!("Customer {customer}"), "email": format!("{customer}@example.com")}),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    let answer = service
        .put(
            tenant,
            &format!("/v1/bookings/{booking}"),
            json!({
                "customer": customer,
                "currency": "USD",
                "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}],
            }),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    let link = service
        .post(
            tenant,
            "/v1/payment-links",
            json!({"customer": customer, "bookings": [booking], "send_email": false}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    (
        link.json["id"].as_str().expect("id").to_owned(),
        link.json["url"].as_str().expect("url").to_owned(),
    )
}

/// The customer's emails of `kind`.
async fn notifications(
    service: &Service,
    tenant: &Tenant,
    customer: &str,
    kind: &str,
) -> Vec<Value> {
    let log = get(
        service,
        tenant,
        &format!("/v1/customers/{customer}/notifications"),
    )
    .await;
    log["data"]
        .as_array()
        .map(|all| all.iter().filter(|n| n["kind"] == kind).cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_authenticate_link_payments_on_the_challenge_page() {
    let (smtp, driver) = tokio::task::spawn_blocking(|| {
        (
            TestSmtp::start().expect("aiosmtpd starts"),
            ChromeDriver::start().expect("chromedriver starts"),
        )
    })
    .await
    .expect("servers start");
    let port = smtp.port().to_string();
    // The sweep reads the sandbox's events every second: it races the customer's return to
    // settle each payment.
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
            "--reconcile-every-secs",
            "1",
        ],
    );
    let acme = service.create_business("Acme Cleaning");
    let browser = driver.session().await.expect("a browser session");

    // Approved: paid in full, the link completed, one receipt.
    let (link, url) = linked_booking(&service, &acme, "ada", "b-1", "215.50").await;
    browser.goto(&url).await.expect("the page opens");
    enter_card(&browser, AUTHENTICATE_ON_SESSION, "pay").await;
    click(&browser, "approve").await;
    let success = element_text(&browser, "payment-success").await;
    assert!(success.contains("215.50"), "{success}");
    assert!(element_text(&browser, "paid-card").await.contains("3155"));
    let b1 = get(&service, &acme, "/v1/bookings/b-1").await;
    assert_eq!(b1["status"], "charged_in_full", "{b1:#}");
    let paid = get(&service, &acme, &format!("/v1/links/{link}")).await;
    assert_eq!(paid["status"], "completed", "{paid:#}");
    let payment = paid["payment"]
        .as_str()
        .expect("the link's payment")
        .to_owned();
    wait_for_email(&smtp, "ada@example.com", "receipt");
    // Settling it again, by hand and by the sweep, sends nothing more.
    for route in ["reconcile", "sync"] {
        let again = service
            .post(&acme, &format!("/v1/payments/{payment}/{route}"), json!({}))
            .await;
        assert_eq!(again.status, StatusCode::OK, "{route}: {again:?}");
        assert_eq!(again.json["payment"]["state"], "succeeded", "{again:?}");
    }
    browser
        .goto(&format!("{url}/return"))
        .await
        .expect("the return again");
    element_text(&browser, "payment-success").await;
    let receipts = notifications(&service, &acme, "ada", "receipt").await;
    assert_eq!(receipts.len(), 1, "one receipt: {receipts:#?}");

    // Failed: the page says so, the link stays open and is paid with another card.
    let (link, url) = linked_booking(&service, &acme, "bob", "b-2", "80.00").await;
    browser.goto(&url).await.expect("the page opens");
    enter_card(&browser, AUTHENTICATE_ON_SESSION, "pay").await;
    assert!(element_text(&browser, "what").await.contains("80.00"));
    click(&browser, "fail").await;
    let error = element_text(&browser, "card-error").await;
    assert!(error.contains("bank could not confirm"), "{error}");
    let b2 = get(&service, &acme, "/v1/bookings/b-2").await;
    assert_eq!(
        (b2["status"].as_str(), b2["pending"].as_bool()),
        (Some("not_charged"), Some(false)),
        "{b2:#}"
    );
    assert_eq!(amount(&b2["balance_due"]), "80.00", "{b2:#}");
    let open = get(&service, &acme, &format!("/v1/links/{link}")).await;
    assert_eq!(open["status"], "open", "{open:#}");
    enter_card(&browser, VISA, "pay").await;
    let success = element_text(&browser, "payment-success").await;
    assert!(
        success.contains("80.00") && success.contains("4242"),
        "{success}"
    );
    assert_eq!(
        get(&service, &acme, "/v1/bookings/b-2").await["status"],
        "charged_in_full"
    );
    assert_eq!(
        get(&service, &acme, &format!("/v1/links/{link}")).await["status"],
        "completed"
    );

    // A card that asks on every payment: approved, paid.
    let (link, url) = linked_booking(&service, &acme, "cy", "b-3", "45.00").await;
    browser.goto(&url).await.expect("the page opens");
    enter_card(&browser, ALWAYS_AUTHENTICATE, "pay").await;
    click(&browser, "approve").await;
    let success = element_text(&browser, "payment-success").await;
    assert!(
        success.contains("45.00") && success.contains("3220"),
        "{success}"
    );
    assert_eq!(
        get(&service, &acme, "/v1/bookings/b-3").await["status"],
        "charged_in_full"
    );
    assert_eq!(
        get(&service, &acme, &format!("/v1/links/{link}")).await["status"],
        "completed"
    );
    wait_for_email(&smtp, "cy@example.com", "receipt");
    assert_eq!(
        notifications(&service, &acme, "cy", "receipt").await.len(),
        1
    );
    browser.close().await.expect("the browser closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_authenticates_a_card_on_the_card_request_page() {
    let driver =
        tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver starts"))
            .await
            .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    let answer = service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    let request = service
        .post(
            &acme,
            "/v1/card-requests",
            json!({"customer": "ada", "send_email": false}),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{request:?}");
    let url = request.json["url"].as_str().expect("url").to_owned();

    let browser = driver.session().await.expect("a browser session");
    browser.goto(&url).await.expect("the page opens");
    enter_card(&browser, AUTHENTICATE_ON_SESSION, "save").await;
    let what = element_text(&browser, "what").await;
    assert!(what.contains("saving your card"), "{what}");
    click(&browser, "approve").await;
    let saved = element_text(&browser, "saved-card").await;
    assert!(saved.contains("3155"), "{saved}");
    browser.close().await.expect("the browser closes");

    let cards = get(&service, &acme, "/v1/customers/ada/payment-methods").await;
    let card = cards["data"]
        .as_array()
        .and_then(|cards| cards.iter().find(|c| c["last4"] == "3155"))
        .cloned()
        .unwrap_or_else(|| panic!("the card is saved: {cards:#}"));
    let request = get(
        &service,
        &acme,
        &format!(
            "/v1/links/{}",
            request.json["id"].as_str().unwrap_or_default()
        ),
    )
    .await;
    assert_eq!(request["status"], "completed", "{request:#}");
    assert_eq!(request["card"], card["payment_method"], "{request:#}");

    // Authenticated once when saved, the card is charged with the customer away.
    let answer = service
        .put(
            &acme,
            "/v1/bookings/b-1",
            json!({
                "customer": "ada",
                "currency": "USD",
                "line_items": [{"kind": "service", "label": "Deep clean", "amount": "99.00"}],
            }),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    let charged = service
        .post(
            &acme,
            "/v1/bookings/b-1/charges",
            json!({"payment_method": card["payment_method"]}),
        )
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{charged:?}");
    assert_eq!(charged.json["payment"]["state"], "succeeded", "{charged:?}");
}
