//! The binary itself: its commands on a throwaway SQLite file, `serve` on a free port with the
//! sandbox, the demo, signed webhooks, and a graceful stop.
#![allow(clippy::unwrap_used)] // test helpers: a failed set-up should panic loudly

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const BIN: &str = env!("CARGO_BIN_EXE_billingd");

fn billingd(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("DATABASE_URL")
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A running `billingd serve`, killed on drop.
struct Served {
    child: Child,
    base: String,
    printed: Vec<String>,
}

impl Served {
    fn start(data: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env_remove("DATABASE_URL")
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        let base = loop {
            let line = lines.next().expect("billingd prints its address").unwrap();
            if let Some(base) = line.strip_prefix("billingd listening on ") {
                break base.to_owned();
            }
            printed.push(line);
        };
        Served {
            child,
            base,
            printed,
        }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("billingd did not stop on SIGTERM");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

#[test]
fn migrate_and_business_create() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(stdout(&billingd(&["migrate"], &data)).contains("migrations applied"));
    assert!(data.join("billing.db").exists());

    let created = stdout(&billingd(
        &["business", "create", "Sparkle Home Cleaning"],
        &data,
    ));
    let id = created
        .lines()
        .find_map(|l| l.strip_prefix("business: "))
        .unwrap();
    assert!(id.starts_with("sparkle-home-cleaning-"), "{created}");
    let key = created
        .split_whitespace()
        .find(|w| w.starts_with("bk_"))
        .unwrap();
    assert!(key.starts_with("bk_test_") && key.len() == 72, "{created}");

    let live = stdout(&billingd(
        &[
            "business",
            "create",
            "Lawn Pros",
            "--id",
            "lawn-pros",
            "--live",
            "--gateway-account",
            "acct_123",
        ],
        &data,
    ));
    assert!(live.contains("business: lawn-pros"), "{live}");
    assert!(live.contains("bk_live_"));
    let again = billingd(
        &["business", "create", "Lawn Pros", "--id", "lawn-pros"],
        &data,
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = billingd(
        &["business", "create", "X", "--gateway-account", "nope"],
        &data,
    );
    assert!(!bad.status.success());
}

#[test]
fn serve_help_shows_every_setting() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "DATABASE_URL",
        "--stripe-secret-key",
        "STRIPE_SECRET_KEY",
        "--stripe-webhook-secret",
        "STRIPE_WEBHOOK_SECRET",
        "--stripe-api-base",
        "STRIPE_API_BASE",
        "--sandbox-latency-ms",
        "--sandbox-rate-limit",
        "--bulk-concurrency",
        "--bulk-rate-limit",
        "--sandbox-multicapture",
        "--trusted-proxy",
        "BILLINGD_TRUSTED_PROXIES",
        "--reconcile-every-secs",
        "--reconcile-after-secs",
        "--authentication-timeout-secs",
        "--event-lookback-hours",
        "--log-format",
        "BILLINGD_LOG_FORMAT",
        "--demo",
    ] {
        assert!(text.contains(flag), "{flag} in serve --help:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tour_on_the_sandbox_then_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = stdout(&billingd(&["business", "create", "Tour Cleaning"], &data));
    let key = created
        .split_whitespace()
        .find(|w| w.starts_with("bk_"))
        .unwrap()
        .to_owned();
    let served = Served::start(&data, &[]);
    let base = served.base.clone();
    let client = reqwest::Client::new();
    use reqwest::Method;

    let health = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let (status, _) = call(
        &client,
        Method::POST,
        format!("{base}/v1/customers"),
        &key,
        Some(json!({"id": "c-1", "name": "Ada", "email": "ada@example.com"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, card) = call(
        &client,
        Method::POST,
        format!("{base}/v1/customers/c-1/payment-methods"),
        &key,
        Some(json!({"payment_method": "pm_card_visa"})),
    )
    .await;
    assert_eq!(status, 201, "{card}");
    assert_eq!(card["last4"], "4242");
    let (status, _) = call(
        &client,
        Method::PUT,
        format!("{base}/v1/bookings/b-1"),
        &key,
        Some(json!({"customer": "c-1", "currency": "USD",
                    "line_items": [{"kind": "service", "label": "Deep clean", "amount": "215.50"}]})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, advance) = call(
        &client,
        Method::POST,
        format!("{base}/v1/bookings/b-1/charges"),
        &key,
        Some(json!({"amount": "30.00"})),
    )
    .await;
    assert_eq!(status, 201, "{advance}");
    assert_eq!(advance["bookings"][0]["status"], "partially_charged");
    let (status, rest) = call(
        &client,
        Method::POST,
        format!("{base}/v1/bookings/b-1/charges"),
        &key,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(rest["payment"]["amount"]["amount"], "185.50");
    assert!(rest["payment"]["id"].as_str().unwrap().starts_with("pay_"));
    let (_, booking) = call(
        &client,
        Method::GET,
        format!("{base}/v1/bookings/b-1"),
        &key,
        None,
    )
    .await;
    assert_eq!(booking["status"], "charged_in_full");

    // Without a webhook secret the endpoint is not served.
    let hook = client
        .post(format!("{base}/v1/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 404);

    let status = served.stop();
    assert!(status.success(), "stops cleanly on SIGTERM: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_demo_seeds_every_state() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(&dir.path().join("data"), &["--demo"]);
    let printed = served.printed.join("\n");
    let key = printed
        .split_whitespace()
        .find(|w| w.starts_with("bk_test_"))
        .unwrap()
        .to_owned();
    assert!(printed.contains(&format!("curl -s {}/v1/bookings", served.base)));
    let client = reqwest::Client::new();
    let expected = [
        ("b-1001", "not_charged", false),
        ("b-1002", "pre_authorized", false),
        ("b-1003", "partially_charged", false),
        ("b-1004", "charged_in_full", false),
        ("b-1005", "overpaid", false),
        ("b-1006", "refunded", false),
        ("b-1007", "not_charged", true),
        ("b-1008", "charged_in_full", false),
        ("b-1009", "not_charged", true),
    ];
    for (id, status, last_failed) in expected {
        let (code, booking) = call(
            &client,
            reqwest::Method::GET,
            format!("{}/v1/bookings/{id}", served.base),
            &key,
            None,
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(booking["status"], status, "{id}: {booking}");
        assert_eq!(booking["last_failed"], last_failed, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_webhooks_are_verified() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        &dir.path().join("data"),
        &[
            "--stripe-webhook-secret",
            "whsec_test_secret",
            "--stripe-connect-webhook-secret",
            "whsec_connect_secret",
        ],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let payload = json!({
        "id": "evt_1", "object": "event", "type": "customer.created", "created": now,
        "livemode": false, "data": {"object": {"id": "cus_1", "object": "customer"}},
    })
    .to_string();
    let signed = |secret: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{now}.{payload}").as_bytes());
        format!(
            "t={now},v1={}",
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    };
    let client = reqwest::Client::new();
    let url = format!("{}/v1/webhooks/stripe", served.base);
    // The platform's endpoint and the Connect endpoint each sign with their own secret (the
    // same event twice: taken, then known).
    for (secret, outcome) in [
        (&b"whsec_test_secret"[..], "ignored"),
        (b"whsec_connect_secret", "duplicate"),
    ] {
        let ok = client
            .post(&url)
            .header("Stripe-Signature", signed(secret))
            .body(payload.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let body: Value = ok.json().await.unwrap();
        assert_eq!(body["outcome"], outcome);
    }
    let forged = client
        .post(&url)
        .header("Stripe-Signature", format!("t={now},v1=00ff"))
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(
        forged
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let problem: Value = forged.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_signature");
}
