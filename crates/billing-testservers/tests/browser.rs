//! Drives real headless Chromium through chromedriver (installing it on first use
//! when running as root) against pages served by the test itself.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Form;
use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};
use billing_testservers::ChromeDriver;
use fantoccini::{Client, Locator};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const FORM_PAGE: &str = r#"<!doctype html>
<html><head><title>Form</title></head><body>
<form method="post" action="/echo">
  <input id="name" name="name" type="text">
  <button id="send" type="submit">Send</button>
</form>
</body></html>"#;

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn echo(Form(fields): Form<HashMap<String, String>>) -> Html<String> {
    let name = fields.get("name").map(String::as_str).unwrap_or_default();
    Html(format!(
        "<!doctype html><html><head><title>Echo</title></head><body><p id=\"result\">Hello, {}!</p></body></html>",
        escape_html(name)
    ))
}

/// Serves the form on `/` and its target on `/echo` from 127.0.0.1; returns the base URL.
async fn serve() -> Result<String, Box<dyn std::error::Error>> {
    let app = Router::new()
        .route("/", get(|| async { Html(FORM_PAGE) }))
        .route("/echo", post(echo));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Fills in the form, submits it and returns the echoed text.
async fn submit(
    browser: &Client,
    base: &str,
    name: &str,
) -> Result<String, fantoccini::error::CmdError> {
    browser.goto(&format!("{base}/")).await?;
    assert!(
        browser.find(Locator::Id("result")).await.is_err(),
        "the form page already has a result"
    );
    browser
        .find(Locator::Id("name"))
        .await?
        .send_keys(name)
        .await?;
    browser.find(Locator::Id("send")).await?.click().await?;
    let result = browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("p#result"))
        .await?;
    assert_eq!(browser.current_url().await?.path(), "/echo");
    result.text().await
}

/// The profile directory Chromium reports for a session.
fn user_data_dir(browser: &Client) -> Option<PathBuf> {
    let dir = browser
        .capabilities()?
        .get("chrome")?
        .get("userDataDir")?
        .as_str()?;
    Some(PathBuf::from(dir))
}

/// Pids of live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
        })
        .collect()
}

#[tokio::test]
async fn fills_in_and_submits_a_form() -> TestResult {
    let base = serve().await?;
    let started = Instant::now();
    let driver = ChromeDriver::start()?;
    eprintln!("ChromeDriver::start took {:?}", started.elapsed());
    assert!(driver.webdriver_url().starts_with("http://127.0.0.1:"));

    let started = Instant::now();
    let browser = driver.session().await?;
    eprintln!("session took {:?}", started.elapsed());
    let echoed = submit(&browser, &base, "Ada <Lovelace> & Co").await;
    // Close before asserting so a failure does not leave the session to the drop.
    let closed = browser.close().await;
    assert_eq!(echoed?, "Hello, Ada <Lovelace> & Co!");
    closed?;
    Ok(())
}

#[tokio::test]
async fn sessions_are_independent_and_die_with_the_driver() -> TestResult {
    let base = serve().await?;
    let driver = ChromeDriver::start()?;
    // Two browsers at once: each session needs its own profile directory.
    let (a, b) = tokio::try_join!(driver.session(), driver.session())?;
    let (dir_a, dir_b) = (
        user_data_dir(&a).ok_or("no userDataDir in the session's capabilities")?,
        user_data_dir(&b).ok_or("no userDataDir in the session's capabilities")?,
    );
    assert_ne!(dir_a, dir_b);
    assert_eq!(submit(&a, &base, "first").await?, "Hello, first!");
    assert_eq!(submit(&b, &base, "second").await?, "Hello, second!");
    let needle = dir_a.to_string_lossy().into_owned();
    assert!(
        !processes_mentioning(&needle).is_empty(),
        "no browser process runs with {needle}"
    );

    // Dropped with both sessions still open: the browsers must go too.
    let port = driver.port();
    drop(driver);
    assert!(
        TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(500)
        )
        .is_err(),
        "chromedriver still listens after drop"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_mentioning(&needle);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "browser processes {left:?} survived the driver"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!dir_a.exists(), "{} not removed", dir_a.display());
    Ok(())
}
