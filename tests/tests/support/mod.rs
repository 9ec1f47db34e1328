//! What the console's browser tests share: screenshots under `target/console-screenshots/`,
//! waiting for elements, typing and clicking, the phone-width check and the accessibility
//! audit.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

/// The audit run in the page (`audit.js`): axe-core's serious and critical checks.
const AUDIT: &str = include_str!("audit.js");

pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshots folder");
    dir
}

pub async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("written");
}

/// The text of `#id`, waited for (20 s at most). A page still moving on (a redirect after
/// a payment) may replace the element between finding and reading it: read again.
pub async fn text_of(browser: &Client, id: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let element = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} shows: {e}"));
        match element.text().await {
            Ok(text) => return text,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::task::yield_now().await;
            }
            Err(e) => panic!("#{id}'s text: {e}"),
        }
    }
}

pub async fn fill(browser: &Client, id: &str, value: &str) {
    let field = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    field.clear().await.expect("cleared");
    field.send_keys(value).await.expect("typed");
}

pub async fn click(browser: &Client, id: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .expect("clicked");
}

/// Clicks `#id`, a button that submits a form or a link, and waits until the next page has
/// loaded: reading an element right after a click could otherwise find the old page's.
pub async fn submit(browser: &Client, id: &str) {
    leaving(browser).await;
    click(browser, id).await;
    arrived(browser, id).await;
}

/// Marks the page shown now, so that [`arrived`] can tell when another replaced it.
pub async fn leaving(browser: &Client) {
    browser
        .execute("window.__leaving = true;", Vec::new())
        .await
        .expect("the page is marked");
}

/// Waits (20 s at most) for a page without [`leaving`]'s mark, fully loaded.
pub async fn arrived(browser: &Client, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let loaded = browser
            .execute(
                "return window.__leaving !== true && document.readyState === 'complete';",
                Vec::new(),
            )
            .await;
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(Instant::now() < deadline, "no new page after {after}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Chooses the option of a `<select>` by its value.
pub async fn choose(browser: &Client, id: &str, value: &str) {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("#{id} = {value}: {e}"));
}

/// True when the page is no wider than the window: nothing to scroll sideways.
pub async fn fits(browser: &Client) -> bool {
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

/// The page's accessibility violations (empty: none).
pub async fn audit(browser: &Client) -> Vec<String> {
    let found = browser
        .execute(AUDIT, Vec::new())
        .await
        .expect("the audit runs");
    found
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Audits the page at a desktop's and a phone's width, screenshots both as `name` and
/// `name-phone`, and fails on any violation or anything spilling sideways on the phone.
pub async fn check_page(browser: &Client, name: &str) {
    let url = browser.current_url().await.expect("the address");
    let problems = audit(browser).await;
    assert!(problems.is_empty(), "{name} ({url}): {problems:#?}");
    shot(browser, name).await;
    browser.set_window_size(390, 844).await.expect("phone size");
    let problems = audit(browser).await;
    assert!(
        problems.is_empty(),
        "{name} at 390 px ({url}): {problems:#?}"
    );
    assert!(
        fits(browser).await,
        "{name} at 390 px spills sideways ({url})"
    );
    shot(browser, &format!("{name}-phone")).await;
    browser
        .set_window_size(1280, 900)
        .await
        .expect("desktop size");
}

/// The newest `.eml` in the outbox that contains `needle`, waited for (30 s at most).
pub async fn email_with(service: &billing_blackbox::Service, needle: &str) -> String {
    let outbox = service.data_dir().join("outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut found: Vec<(std::path::PathBuf, String)> = std::fs::read_dir(&outbox)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
                    .filter(|(_, text)| text.contains(needle))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        if let Some((_, text)) = found.pop() {
            return text;
        }
        assert!(Instant::now() < deadline, "no email with {needle:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first address in an email that starts with `prefix`.
pub fn link_in(email: &str, prefix: &str) -> String {
    let unfolded = email
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = unfolded
        .find(prefix)
        .unwrap_or_else(|| panic!("a link {prefix}… in {email}"));
    unfolded[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .next()
        .expect("the link")
        .to_owned()
}

/// Opens `path` of the service.
pub async fn open(browser: &Client, service: &billing_blackbox::Service, path: &str) {
    browser
        .goto(&format!("{}{path}", service.base_url))
        .await
        .unwrap_or_else(|e| panic!("{path} opens: {e}"));
}

/// A booking's status, read through the API.
pub async fn status_of(
    service: &billing_blackbox::Service,
    tenant: &billing_blackbox::Tenant,
    booking: &str,
) -> String {
    let answer = service
        .get(tenant, &format!("/v1/bookings/{booking}"))
        .await;
    answer.json["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Types a card into a hosted page's card form and presses `button`.
pub async fn enter_card(browser: &Client, number: &str, button: &str) {
    fill(browser, "card-number", number).await;
    fill(browser, "card-expiry", "12 / 34").await;
    fill(browser, "card-cvc", "123").await;
    click(browser, button).await;
}

/// The customer's side of an emailed payment link: the newest link emailed to `to`, opened in
/// a browser session of its own and paid with a Visa. The customer's browser, on the receipt
/// (or on its way there).
pub async fn pay_emailed_link(
    driver: &billing_testservers::ChromeDriver,
    service: &billing_blackbox::Service,
    to: &str,
) -> Client {
    let email = email_with(service, to).await;
    let link = link_in(&email, &format!("{}/pay/", service.base_url));
    let customer = driver.session().await.expect("the customer's browser");
    customer.goto(&link).await.expect("the link opens");
    enter_card(&customer, "4242 4242 4242 4242", "pay").await;
    customer
}
