//! `/docs` in a real browser: the API reference renders from this service alone — every
//! script, style and font it uses comes from `billingd` (there is no internet here to hide a
//! CDN behind).

use std::time::Duration;

use billing_blackbox::{Service, Store};
use billing_testservers::ChromeDriver;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_reference_renders_offline_from_the_binary() {
    let driver = tokio::task::spawn_blocking(|| ChromeDriver::start().expect("chromedriver"))
        .await
        .expect("chromedriver starts");
    let service = Service::start(Store::Sqlite);
    let browser = driver.session().await.expect("a browser session");
    browser
        .goto(&format!("{}/docs", service.base_url))
        .await
        .expect("the page opens");
    // An operation's summary, as Redoc lists it: the spec was fetched and rendered.
    browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::XPath(
            "//*[contains(text(), 'Start a checkout for a booking')]",
        ))
        .await
        .expect("the reference lists the operations");
    let requested = browser
        .execute(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });",
            Vec::new(),
        )
        .await
        .expect("the page's requests");
    let requested: Vec<String> = requested
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(!requested.is_empty());
    let elsewhere: Vec<&String> = requested
        .iter()
        .filter(|url| !url.starts_with(&service.base_url) && !url.starts_with("blob:"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "fetched from elsewhere: {elsewhere:?}"
    );
    browser.close().await.expect("the browser closes");
}
