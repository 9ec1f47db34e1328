//! What `billingd` keeps across a restart on its embedded default (SQLite and the sandbox
//! gateway, both in the data folder), and how it starts:
//!
//! - a card saved before a restart is charged after it (the sandbox keeps its customers,
//!   cards and card set-ups in the data folder);
//! - a charge left pending by a crash after the gateway made it is settled after the restart
//!   from the sandbox's record; a link payment waiting for the customer's authentication
//!   survives the restart, and once the customer authenticates, the sweep settles it and
//!   completes the link;
//! - a blank webhook secret stops the service at start;
//! - the pages' rate limit counts each customer behind a trusted proxy, and ignores a
//!   forwarded address nobody vouches for.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use billing_blackbox::{Options, Service, Store, Tenant, amount, billingd_binary};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Where the sandbox keeps its state, in the data folder.
const JOURNAL: &str = "sandbox-journal.jsonl";

/// A browser that does not follow redirects, to see the pages' own answers.
fn page_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Posts a card to a hosted page's form, as the sandbox's page does.
async fn post_card(url: &str, number: &str) -> reqwest::Response {
    page_client()
        .post(url)
        .form(&[
            ("card_number", number),
            ("card_expiry", "12 / 34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .expect("the page answers")
}

/// Where a 303 sends the browser, as an absolute URL.
fn location(response: &reqwest::Response, base: &str) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{response:?}");
    let to = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("a Location")
        .to_owned();
    if to.starts_with('/') {
        format!("{base}{to}")
    } else {
        to
    }
}

/// Answers the sandbox's challenge page as the customer would; where it sends them back.
async fn answer_challenge(challenge: &str, base: &str, result: &str) -> String {
    let shown = page_client()
        .get(challenge)
        .send()
        .await
        .expect("the challenge");
    assert_eq!(shown.status(), StatusCode::OK, "{challenge}");
    let answered = page_client()
        .post(challenge)
        .form(&[("result", result)])
        .send()
        .await
        .expect("the challenge answers");
    location(&answered, base)
}

async fn booking(service: &Service, tenant: &Tenant, id: &str) -> Value {
    let answer = service.get(tenant, &format!("/v1/bookings/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.json
}

async fn book(service: &Service, tenant: &Tenant, customer: &str, id: &str, price: &str) {
    let answer = service
        .put(
            tenant,
            &format!("/v1/bookings/{id}"),
            json!({
                "customer": customer,
                "currency": "USD",
                "line_items": [{"kind": "service", "label": "Home cleaning", "amount": price}],
            }),
        )
        .await;
    assert!(answer.status.is_success(), "booking: {answer:?}");
}

#[tokio::test]
async fn cards_saved_before_a_restart_are_charged_after_it() {
    let mut service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "100.00")
        .await;
    // A card the customer saved on a card request's page, authenticating with their bank:
    // charged later with the customer away, without asking again.
    let request = service
        .post(
            &acme,
            "/v1/card-requests",
            json!({"customer": "ada", "send_email": false}),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{request:?}");
    let url = request.json["url"].as_str().expect("url").to_owned();
    let challenge = location(
        &post_card(&url, "4000 0025 0000 3155").await,
        &service.base_url,
    );
    let back = answer_challenge(&challenge, &service.base_url, "approve").await;
    let saved = page_client().get(&back).send().await.expect("the return");
    assert_eq!(saved.status(), StatusCode::OK, "{back}");
    assert!(
        saved
            .text()
            .await
            .unwrap_or_default()
            .contains("id=\"card-saved\"")
    );
    let cards = service
        .get(&acme, "/v1/customers/ada/payment-methods")
        .await;
    let set_up = cards.json["data"]
        .as_array()
        .and_then(|cards| cards.iter().find(|c| c["last4"] == "3155"))
        .and_then(|c| c["payment_method"].as_str())
        .expect("the card saved on the page")
        .to_owned();
    assert!(
        service.data_dir().join(JOURNAL).is_file(),
        "the sandbox's journal"
    );

    service.restart(Options::default());

    let charged = service
        .post(
            &acme,
            "/v1/bookings/b-1/charges",
            json!({"amount": "60.00"}),
        )
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{charged:?}");
    assert_eq!(charged.json["payment"]["state"], "succeeded", "{charged:?}");
    let charged = service
        .post(
            &acme,
            "/v1/bookings/b-1/charges",
            json!({"amount": "40.00", "payment_method": set_up}),
        )
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{charged:?}");
    assert_eq!(charged.json["payment"]["state"], "succeeded", "{charged:?}");
    assert_eq!(
        booking(&service, &acme, "b-1").await["status"],
        "charged_in_full"
    );
    // And a card saved after the restart too.
    let more = service
        .post(
            &acme,
            "/v1/customers/ada/payment-methods",
            json!({"payment_method": "pm_card_mastercard"}),
        )
        .await;
    assert_eq!(more.status, StatusCode::CREATED, "{more:?}");
}

#[tokio::test]
async fn a_charge_left_pending_by_a_crash_is_settled_after_the_restart() {
    // The process stops for good right after the sandbox charged, before the answer is
    // recorded: the ledger keeps the payment pending.
    let mut service = Service::launch(
        Store::Sqlite,
        Options::default()
            .env("BILLINGD_CHAOS_PAUSE", "after_gateway:charge:1")
            .log_to_file(),
    );
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "100.00")
        .await;
    let request = reqwest::Client::new()
        .post(format!("{}/v1/bookings/b-1/charges", service.base_url))
        .bearer_auth(&acme.api_key)
        .json(&json!({}))
        .send();
    let charging = tokio::spawn(request);
    let marker = "chaos: paused at after_gateway charge #1 (";
    service.wait_for_log(marker, Duration::from_secs(60)).await;
    let log = service.log();
    let payment = log
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the payment in the marker")
        .to_owned();

    service.restart(Options::default().log_to_file());
    let cut = charging.await.expect("the request's task");
    assert!(cut.is_err(), "the crash cut the request: {cut:?}");

    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["pending"], true, "{b1:#}");
    let view = service.get(&acme, &format!("/v1/payments/{payment}")).await;
    assert_eq!(view.json["payment"]["state"], "pending", "{view:?}");

    let settled = service
        .post(
            &acme,
            &format!("/v1/payments/{payment}/reconcile"),
            json!({}),
        )
        .await;
    assert_eq!(settled.status, StatusCode::OK, "{settled:?}");
    assert_eq!(settled.json["payment"]["state"], "succeeded", "{settled:?}");
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["status"], "charged_in_full", "{b1:#}");
    assert_eq!(b1["pending"], false, "{b1:#}");
    assert_eq!(amount(&b1["paid"]), "100.00", "{b1:#}");
    let payments = b1["payments"].as_array().map_or(0, Vec::len);
    assert_eq!(payments, 1, "charged once: {b1:#}");
}

#[tokio::test]
async fn a_link_payment_waiting_for_authentication_survives_a_restart_and_the_sweep_completes_the_link()
 {
    let mut service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    let customer = service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada", "email": "ada@example.com"}),
        )
        .await;
    assert!(customer.status.is_success(), "{customer:?}");
    book(&service, &acme, "ada", "b-1", "120.00").await;
    let link = service
        .post(
            &acme,
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["b-1"], "send_email": false}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    let url = link.json["url"].as_str().expect("url").to_owned();
    let link_id = link.json["id"].as_str().expect("id").to_owned();
    let challenge = location(
        &post_card(&url, "4000 0025 0000 3155").await,
        &service.base_url,
    );
    assert_eq!(
        booking(&service, &acme, "b-1").await["payments"][0]["state"],
        "requires_action"
    );

    // A restart while the customer is at their bank's page; the sweep runs every second.
    service.restart(Options::default().args(&["--reconcile-every-secs", "1"]));

    // The customer authenticates, and never comes back to the page.
    let back = answer_challenge(&challenge, &service.base_url, "approve").await;
    assert!(back.contains("/return"), "{back}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let completed = loop {
        let read = service.get(&acme, &format!("/v1/links/{link_id}")).await;
        if read.json["status"] == "completed" {
            break read.json;
        }
        assert!(
            Instant::now() < deadline,
            "the sweep completes the link: {read:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["status"], "charged_in_full", "{b1:#}");
    let payments = b1["payments"].as_array().cloned().unwrap_or_default();
    assert_eq!(payments.len(), 1, "{b1:#}");
    assert_eq!(payments[0]["state"], "succeeded", "{b1:#}");
    assert_eq!(completed["payment"], payments[0]["id"], "{completed:#}");
    // The page says it is paid.
    let page = page_client().get(&url).send().await.expect("the page");
    assert_eq!(page.status(), StatusCode::GONE);
}

/// Runs `billingd serve` with `args` and `env`; its exit code and stderr, once it exits (within
/// a minute, or the test fails: it started when it should not have).
async fn serve_until_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(billingd_binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("billingd starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("its status") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("billingd {args:?} {env:?} started instead of refusing to");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status.code(), stderr)
}

/// `serve` flags and environment variables.
type StartUp = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[tokio::test]
async fn a_blank_webhook_secret_stops_the_service_at_start() {
    let cases: [StartUp; 3] = [
        (&["--stripe-webhook-secret", ""], &[]),
        (&["--stripe-webhook-secret", "  "], &[]),
        (&[], &[("STRIPE_WEBHOOK_SECRET", "")]),
    ];
    for (args, env) in cases {
        let (code, stderr) = serve_until_exit(args, env).await;
        assert!(
            code.is_some_and(|c| c != 0),
            "{args:?} {env:?}: exit {code:?}"
        );
        assert!(
            stderr.contains("webhook signing secret is empty"),
            "{args:?} {env:?}: {stderr}"
        );
    }
    // A real secret serves the endpoint, which refuses what it cannot verify.
    let service = Service::start_with(Store::Sqlite, &["--stripe-webhook-secret", "whsec_test"]);
    let unsigned = reqwest::Client::new()
        .post(format!("{}/v1/webhooks/stripe", service.base_url))
        .body("{}")
        .send()
        .await
        .expect("the endpoint answers");
    assert_eq!(unsigned.status(), StatusCode::BAD_REQUEST);
}

/// Requests a page as `forwarded_for` until the pages' rate limit answers 429; how many
/// requests that took.
async fn exhaust(base: &str, forwarded_for: &str) -> usize {
    let client = page_client();
    for sent in 1..=200 {
        let status = page_status(&client, base, Some(forwarded_for)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return sent;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "an unknown link's page");
    }
    panic!("no rate limit after 200 requests from {forwarded_for}");
}

async fn page_status(
    client: &reqwest::Client,
    base: &str,
    forwarded_for: Option<&str>,
) -> StatusCode {
    let mut request = client.get(format!("{base}/pay/no-such-link"));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    request.send().await.expect("the page answers").status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_customer_has_a_rate_limit_of_their_own() {
    let service = Service::start_with(Store::Sqlite, &["--trusted-proxy", "127.0.0.0/8"]);
    let client = page_client();
    let sent = exhaust(&service.base_url, "203.0.113.7").await;
    assert!(sent > 10, "a burst is allowed first: limited after {sent}");
    assert_eq!(
        page_status(&client, &service.base_url, Some("203.0.113.7")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another customer through the same proxy is not limited.
    assert_eq!(
        page_status(&client, &service.base_url, Some("203.0.113.8")).await,
        StatusCode::NOT_FOUND
    );
    // What the client wrote left of the proxy's entry proves nothing.
    assert_eq!(
        page_status(
            &client,
            &service.base_url,
            Some("198.51.100.1, 203.0.113.7")
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_address_is_ignored() {
    let service = Service::start(Store::Sqlite);
    let client = page_client();
    exhaust(&service.base_url, "203.0.113.7").await;
    for spoofed in [Some("203.0.113.8"), Some("198.51.100.1"), None] {
        assert_eq!(
            page_status(&client, &service.base_url, spoofed).await,
            StatusCode::TOO_MANY_REQUESTS,
            "one bucket for the connection's address, whatever {spoofed:?} says"
        );
    }
}
