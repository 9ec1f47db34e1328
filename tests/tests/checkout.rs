//! A booking page's checkout in a real browser: the business's own page (served here, on
//! another origin) sends the customer to the checkout, or frames it; the customer types a
//! sandbox card; the checkout charges or holds as the payment policy says, then goes back to
//! the business's page, or posts its result to the page that frames it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use billing_blackbox::{Service, Store, Tenant};
use billing_testservers::ChromeDriver;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// The business's own site: `/booked` (where a checkout returns) and `/book` (a page that
/// frames the checkout in `frame_src` and shows the message the checkout posts in `#result`).
struct BusinessSite {
    origin: String,
    frame_src: Arc<Mutex<String>>,
}

impl BusinessSite {
    async fn start() -> BusinessSite {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let origin = format!("http://{}", listener.local_addr().expect("its address"));
        let frame_src = Arc::new(Mutex::new(String::new()));
        let src = frame_src.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let src = src.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0_u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let body = if path.starts_with("/book?") || path == "/book" {
                        let src = src.lock().expect("the frame's address").clone();
                        format!(
                            "<!DOCTYPE html><html><head><title>Book</title></head><body>\
                             <h1>Book a cleaning</h1>\
                             <iframe id=\"checkout\" title=\"Payment\" src=\"{src}\" width=\"480\" \
                             height=\"720\"></iframe><p id=\"result\"></p><script>\
                             window.addEventListener('message', function (e) {{\
                             document.getElementById('result').textContent = \
                             e.origin + ' ' + JSON.stringify(e.data); }});</script></body></html>"
                        )
                    } else {
                        "<!DOCTYPE html><html><head><title>Booked</title></head><body>\
                         <p id=\"booked\">Thank you for booking</p></body></html>"
                            .to_owned()
                    };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        BusinessSite { origin, frame_src }
    }
}

async fn element_text(browser: &Client, id: &str) -> String {
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

/// Types a sandbox card into the checkout's form and submits it.
async fn enter_card(browser: &Client, number: &str) {
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
        field.send_keys(value).await.expect("typed");
    }
    browser
        .find(Locator::Id("pay"))
        .await
        .expect("the pay button")
        .click()
        .await
        .expect("clicked");
}

/// Polls `read` until it answers something `done` accepts (at most 30 s).
async fn eventually<T: std::fmt::Debug, F: std::future::Future<Output = T>>(
    mut read: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "still {value:?}");
        tokio::task::yield_now().await;
    }
}

async fn book(service: &Service, acme: &Tenant, booking: &str, price: &str) {
    let answer = service
        .put(
            acme,
            &format!("/v1/bookings/{booking}"),
            json!({
                "customer": "ada",
                "currency": "USD",
                "line_items": [{"kind": "service", "label": "Deep clean", "amount": price}],
            }),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
}

async fn set_policy(service: &Service, acme: &Tenant, name: &str) {
    let answer = service
        .put(
            acme,
            "/v1/settings/payments",
            json!({"policy": {"name": name}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
}

async fn start_checkout(service: &Service, acme: &Tenant, booking: &str, back: &str) -> String {
    let answer = service
        .post(
            acme,
            "/v1/checkouts",
            json!({"booking": booking, "return_url": back}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.json["url"].as_str().expect("its page").to_owned()
}

async fn booking_status(service: &Service, acme: &Tenant, booking: &str) -> String {
    let answer = service.get(acme, &format!("/v1/bookings/{booking}")).await;
    answer.json["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_checks_out_on_the_booking_page_then_in_a_frame() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let site = BusinessSite::start().await;
    // A short tick: automation looks every 100 ms, and ada's card saved by the first checkout
    // would be held for the second booking at once, were it not for the grace the booking
    // page has to start its checkout (the default), then the checkout itself.
    let service = Service::start_with(Store::Sqlite, &["--automation-tick-ms", "100"]);
    let acme = service.create_business("Acme Cleaning");
    let answer = service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");

    // Charged at booking: the business's page sends the customer to the checkout.
    set_policy(&service, &acme, "charge_at_booking").await;
    book(&service, &acme, "b-1", "215.50").await;
    let back = format!("{}/booked?ref=b-1", site.origin);
    let url = start_checkout(&service, &acme, "b-1", &back).await;
    let browser = driver.session().await.expect("a browser session");
    browser.goto(&url).await.expect("the checkout opens");
    assert!(element_text(&browser, "amount").await.contains("215.50"));
    assert!(
        browser.find(Locator::Id("save-card")).await.is_err(),
        "a checkout keeps the card: no box to tick"
    );
    enter_card(&browser, "4242 4242 4242 4242").await;
    // Back on the business's page, with the result in the query.
    assert_eq!(
        element_text(&browser, "booked").await,
        "Thank you for booking"
    );
    let landed = browser.current_url().await.expect("the address");
    assert!(landed.as_str().starts_with(&back), "{landed}");
    let query: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
    assert!(
        query.contains(&("result".into(), "paid".into())),
        "{landed}"
    );
    assert_eq!(
        booking_status(&service, &acme, "b-1").await,
        "charged_in_full"
    );
    let cards = service
        .get(&acme, "/v1/customers/ada/payment-methods")
        .await;
    assert_eq!(
        cards.json["data"].as_array().map(Vec::len),
        Some(1),
        "the card is kept: {cards:?}"
    );

    // Held at booking, in a frame on the business's page: the result is posted to it.
    set_policy(&service, &acme, "authorize_at_booking").await;
    book(&service, &acme, "b-2", "80.00").await;
    let url = start_checkout(&service, &acme, "b-2", &format!("{}/booked", site.origin)).await;
    *site.frame_src.lock().expect("the frame's address") = url;
    browser
        .goto(&format!("{}/book", site.origin))
        .await
        .expect("the booking page opens");
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("checkout"))
        .await
        .expect("the frame");
    browser.enter_frame(0).await.expect("into the checkout");
    assert_eq!(element_text(&browser, "pay").await, "Authorize 80.00 USD");
    enter_card(&browser, "5555 5555 5555 4444").await;
    element_text(&browser, "checkout-done").await;
    browser
        .enter_parent_frame()
        .await
        .expect("back to the page");
    let result = eventually(
        || async {
            browser
                .find(Locator::Id("result"))
                .await
                .expect("#result")
                .text()
                .await
                .unwrap_or_default()
        },
        |text| !text.is_empty(),
    )
    .await;
    assert!(
        result.starts_with(&service.base_url),
        "posted by the checkout's origin: {result}"
    );
    assert!(result.contains("\"type\":\"billing.checkout\""), "{result}");
    assert!(result.contains("\"result\":\"authorized\""), "{result}");
    assert!(result.contains("\"booking\":\"b-2\""), "{result}");
    // The business's page is still the top page.
    let top = browser.current_url().await.expect("the address");
    assert!(top.as_str().starts_with(&site.origin), "{top}");
    assert_eq!(
        booking_status(&service, &acme, "b-2").await,
        "pre_authorized"
    );
    // Automation ran all along (every 100 ms), yet took nothing itself and told nobody that
    // a payment failed: the customer was checking out.
    let log = service.get(&acme, "/v1/customers/ada/notifications").await;
    let kinds: Vec<&str> = log.json["data"]
        .as_array()
        .map(|all| all.iter().filter_map(|n| n["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !kinds.contains(&"payment_failed") && !kinds.contains(&"payment_link"),
        "{kinds:?}"
    );
    let runs = service.get(&acme, "/v1/automation/runs").await;
    let moved: Vec<&serde_json::Value> = runs.json["data"]
        .as_array()
        .map(|all| all.iter().filter(|r| r["outcome"] == "succeeded").collect())
        .unwrap_or_default();
    assert!(moved.is_empty(), "automation moved money: {moved:?}");
    browser.close().await.expect("the browser closes");
}
