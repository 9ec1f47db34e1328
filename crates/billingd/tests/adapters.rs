//! The four wirings — (SQLite | Postgres) × (sandbox | Stripe) — each through the same short
//! tour of the real binary. Stripe is the workspace's fake Stripe server, Postgres a
//! throwaway cluster; SQLite with the sandbox is `cli.rs`'s tour.
#![allow(clippy::unwrap_used)] // test helpers: a failed set-up should panic loudly

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use billing_stripe_fake::FakeStripe;
use billing_testservers::TestPostgres;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_billingd");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where the data goes and which gateway moves the money.
struct Wiring {
    database_url: String,
    stripe: Option<(String, String, String)>,
}

impl Wiring {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["--database-url".to_owned(), self.database_url.clone()];
        if let Some((key, base, _)) = &self.stripe {
            args.extend([
                "--stripe-secret-key".to_owned(),
                key.clone(),
                "--stripe-api-base".to_owned(),
                base.clone(),
            ]);
        }
        args
    }
}

fn create_business(wiring: &Wiring, data: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(["business", "create", "Wired Cleaning", "--data-dir"])
        .arg(data)
        .args(["--database-url", &wiring.database_url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split_whitespace()
        .find(|w| w.starts_with("bk_"))
        .unwrap()
        .to_owned()
}

fn serve(wiring: &Wiring, data: &std::path::Path) -> (Killed, String) {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(wiring.args())
        .env_remove("DATABASE_URL")
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_API_BASE")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env("BILLINGD_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some((_, _, secret)) = &wiring.stripe {
        command.args(["--stripe-webhook-secret", secret]);
    }
    let mut child = Killed(command.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("billingd listening on ").map(str::to_owned))
        .expect("billingd prints its address");
    (child, base)
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .request(method, url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A customer with a card, a booking, an advance and the rest; a declining card.
async fn tour(wiring: Wiring) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_business(&wiring, &data);
    let (_child, base) = serve(&wiring, &data);
    let client = reqwest::Client::new();
    use reqwest::Method;
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    for (customer, card) in [
        ("c-1", "pm_card_visa"),
        ("c-2", "pm_card_chargeCustomerFail"),
    ] {
        let (status, body) = send(
            &client,
            Method::POST,
            format!("{base}/v1/customers"),
            &key,
            json!({"id": customer, "name": "Ada", "email": "ada@example.com"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = send(
            &client,
            Method::POST,
            format!("{base}/v1/customers/{customer}/payment-methods"),
            &key,
            json!({"payment_method": card}),
        )
        .await;
        assert_eq!(status, 201, "{card}: {body}");
        let booking = format!("b-{customer}");
        let (status, body) = send(
            &client,
            Method::PUT,
            format!("{base}/v1/bookings/{booking}"),
            &key,
            json!({"customer": customer, "currency": "USD",
                   "line_items": [{"kind": "service", "label": "Clean", "amount": "215.50"}]}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, advance) = send(
        &client,
        Method::POST,
        format!("{base}/v1/bookings/b-c-1/charges"),
        &key,
        json!({"amount": "30.00"}),
    )
    .await;
    assert_eq!(status, 201, "{advance}");
    let (status, rest) = send(
        &client,
        Method::POST,
        format!("{base}/v1/bookings/b-c-1/charges"),
        &key,
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(rest["bookings"][0]["status"], "charged_in_full");
    let (status, declined) = send(
        &client,
        Method::POST,
        format!("{base}/v1/bookings/b-c-2/charges"),
        &key,
        json!({}),
    )
    .await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(declined["code"], "card_declined");
    let payment = rest["payment"]["id"].as_str().unwrap().to_owned();
    let (status, refund) = send(
        &client,
        Method::POST,
        format!("{base}/v1/payments/{payment}/refunds"),
        &key,
        json!({"amount": "5.00"}),
    )
    .await;
    assert_eq!(status, 201, "{refund}");
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_with_the_sandbox() {
    let postgres = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap()
        .unwrap();
    let url = postgres.create_database("billingd_sandbox").unwrap();
    tour(Wiring {
        database_url: url,
        stripe: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_with_stripe_and_its_webhooks() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/billing.db", dir.path().display());
    let wiring = Wiring {
        database_url: url,
        stripe: Some((
            fake.secret_key().to_owned(),
            fake.base_url(),
            fake.webhook_secret().to_owned(),
        )),
    };
    let dir2 = tempfile::tempdir().unwrap();
    let data = dir2.path().join("data");
    let key = create_business(&wiring, &data);
    let (_child, base) = serve(&wiring, &data);
    let client = reqwest::Client::new();
    let (status, _) = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/customers"),
        &key,
        json!({"id": "c-1", "name": "Ada"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, card) = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/customers/c-1/payment-methods"),
        &key,
        json!({"payment_method": "pm_card_visa"}),
    )
    .await;
    assert_eq!(status, 201, "{card}");
    send(
        &client,
        reqwest::Method::PUT,
        format!("{base}/v1/bookings/b-1"),
        &key,
        json!({"customer": "c-1", "currency": "USD",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "80.00"}]}),
    )
    .await;
    let (status, charged) = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/bookings/b-1/charges"),
        &key,
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{charged}");
    assert!(
        charged["payment"]["gateway_reference"]
            .as_str()
            .unwrap()
            .starts_with("pi_")
    );

    // Stripe's own event about that charge, delivered twice: reconciled (a no-op, it is
    // settled), then skipped as a duplicate.
    let event = fake
        .events_of_type("payment_intent.succeeded")
        .pop()
        .expect("the fake recorded the charge's event");
    let payload = event.to_string();
    let url = format!("{base}/v1/webhooks/stripe");
    for expected in ["reconciled", "duplicate"] {
        let response = client
            .post(&url)
            .header("Stripe-Signature", fake.sign(&payload))
            .header("Content-Type", "application/json")
            .body(payload.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["outcome"], expected, "{body}");
    }
    let stale = client
        .post(&url)
        .header("Stripe-Signature", fake.sign_at(&payload, 1_000_000_000))
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_with_stripe() {
    let fake = FakeStripe::start().await;
    let postgres = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap()
        .unwrap();
    let url = postgres.create_database("billingd_stripe").unwrap();
    tour(Wiring {
        database_url: url,
        stripe: Some((
            fake.secret_key().to_owned(),
            fake.base_url(),
            fake.webhook_secret().to_owned(),
        )),
    })
    .await;
}
