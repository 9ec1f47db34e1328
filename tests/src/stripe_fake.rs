//! `billingd` on the fake Stripe: the fake (`billing-stripe-fake`) started as a process of its
//! own on a free port, delivering its webhooks to a `billingd` whose port is chosen first; its
//! control API (`/_fake/...`: dashboard actions, faults, clock, records); and waiting with a
//! deadline for what webhooks or sweeps bring in.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Options, Service, Store, Tenant, billingd_binary, free_port};

/// The environment variable naming a `billing-stripe-fake` binary to use instead of building
/// one (the crash campaign's name for it).
pub const FAKE_BINARY_VARIABLE: &str = "BILLING_STRIPE_FAKE_BINARY";

/// The environment variable that runs `billingd`'s clock ahead (tests only).
pub const CLOCK_AHEAD_VARIABLE: &str = "BILLINGD_CLOCK_AHEAD_SECS";

static FAKE_BINARY: OnceLock<PathBuf> = OnceLock::new();

/// Builds `billing-stripe-fake` once per test process (or takes the one named by
/// [`FAKE_BINARY_VARIABLE`]) and returns its path.
pub fn fake_binary() -> PathBuf {
    FAKE_BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os(FAKE_BINARY_VARIABLE) {
                return PathBuf::from(path);
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", "billing-stripe-fake"])
                .args(["--bin", "billing-stripe-fake"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "billing-stripe-fake builds");
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("debug")
                .join("billing-stripe-fake")
        })
        .clone()
}

/// The fake Stripe as a process, stopped on drop.
#[derive(Debug)]
pub struct FakeStripe {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The API key it accepts.
    pub secret_key: String,
    /// The secret it signs webhooks with, when it delivers them.
    pub webhook_secret: Option<String>,
    log_dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl FakeStripe {
    /// Starts the fake; with `webhooks_to`, it delivers every event, signed, to
    /// `http://127.0.0.1:PORT/v1/webhooks/stripe`.
    pub fn start(webhooks_to: Option<u16>) -> FakeStripe {
        let log_dir = tempfile::tempdir().expect("temp dir");
        let log = log_dir.path().join("fake-stripe.log");
        let secret_key = "sk_test_blackbox".to_owned();
        let mut command = Command::new(fake_binary());
        command.args(["--port", "0", "--secret-key", &secret_key]);
        let webhook_secret = webhooks_to.map(|port| {
            let secret = "whsec_blackbox".to_owned();
            command
                .args(["--webhook-secret", &secret])
                .arg("--webhook-url")
                .arg(format!("http://127.0.0.1:{port}/v1/webhooks/stripe"));
            secret
        });
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&log).expect("the fake's log file"),
            ))
            .spawn()
            .expect("billing-stripe-fake starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end, so that the fake never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let base = receiver
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the fake Stripe printed no address within 30 s:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        FakeStripe {
            child,
            base,
            secret_key,
            webhook_secret,
            log_dir,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// The `billingd` flags that make it use this fake (and take its webhooks, when it sends
    /// them).
    pub fn billingd_flags(&self) -> Vec<String> {
        let mut flags = vec![
            "--stripe-secret-key".to_owned(),
            self.secret_key.clone(),
            "--stripe-api-base".to_owned(),
            format!("{}/", self.base),
        ];
        if let Some(secret) = &self.webhook_secret {
            flags.extend(["--stripe-webhook-secret".to_owned(), secret.clone()]);
        }
        flags
    }

    /// What the fake logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_dir.path().join("fake-stripe.log")).unwrap_or_default()
    }

    /// A control call that must succeed: its JSON answer.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}/_fake/{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the fake answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::OK, "{method} /_fake/{path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `POST /_fake/{path}` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }

    /// `GET /_fake/{path}`.
    pub async fn get(&self, path: &str) -> Value {
        self.control(reqwest::Method::GET, path, None).await
    }

    /// The platform account's PaymentIntents as the fake records them, oldest first.
    pub async fn intents(&self) -> Vec<Value> {
        let state = self.get("state").await;
        state["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|account| account["account"].is_null())
            .flat_map(|account| {
                account["payment_intents"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// One PaymentIntent as the fake records it.
    pub async fn intent(&self, id: &str) -> Value {
        self.intents()
            .await
            .into_iter()
            .find(|pi| pi["id"] == id)
            .unwrap_or_else(|| panic!("the fake has no PaymentIntent {id}"))
    }

    /// The API requests the fake received with this method whose path starts with `prefix`.
    pub async fn requests(&self, method: &str, prefix: &str) -> Vec<Value> {
        let answer = self.get("requests").await;
        answer["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| {
                r["method"] == method && r["path"].as_str().is_some_and(|p| p.starts_with(prefix))
            })
            .cloned()
            .collect()
    }

    /// How many such requests it received.
    pub async fn count(&self, method: &str, prefix: &str) -> usize {
        self.requests(method, prefix).await.len()
    }

    /// Makes the next `times` requests with this method and path prefix meet `fault`
    /// (`reset_after_processing`: carried out, the answer lost; `connection_reset`: not
    /// carried out, no answer either).
    pub async fn fault(&self, fault: &str, method: &str, prefix: &str, times: u64) {
        self.post(
            "faults",
            json!({"fault": fault, "method": method, "path_prefix": prefix, "times": times}),
        )
        .await;
    }

    /// Every answer to the next charge or hold lost, retries included (the adapter sends a
    /// call four times): `reset_after_processing` when Stripe carried it out,
    /// `connection_reset` when it never did.
    pub async fn lose_answers(&self, fault: &str, prefix: &str) {
        self.fault(fault, "POST", prefix, 4).await;
    }

    /// Moves the fake's clock on (holds expire, events are dated by it).
    pub async fn advance_clock(&self, seconds: u64) {
        self.post("clock/advance", json!({"seconds": seconds}))
            .await;
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the fake delivers its events to `billingd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Webhooks {
    /// Delivered to `/v1/webhooks/stripe`, which `billingd` serves with the fake's secret.
    On,
    /// Neither sent nor served: only the sweep's event pull brings changes in.
    Off,
}

/// `billingd` (SQLite) on a fake Stripe, with one business.
#[derive(Debug)]
pub struct OnFakeStripe {
    /// The fake.
    pub fake: FakeStripe,
    /// `billingd`.
    pub service: Service,
    /// Its business.
    pub tenant: Tenant,
    extra: Vec<String>,
}

impl OnFakeStripe {
    /// Starts the fake, then `billingd` on it with more `serve` flags (the background sweep
    /// is off unless they turn it on), and makes a business.
    pub fn start(webhooks: Webhooks, extra: &[&str]) -> OnFakeStripe {
        let port = free_port();
        let fake = FakeStripe::start((webhooks == Webhooks::On).then_some(port));
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let service = Service::launch(Store::Sqlite, Self::options(&fake, &extra).port(port));
        let tenant = service.create_business("Sparkle Home Cleaning");
        OnFakeStripe {
            fake,
            service,
            tenant,
            extra,
        }
    }

    fn options(fake: &FakeStripe, extra: &[String]) -> Options {
        let mut options = Options::default().log_to_file();
        options.args = fake.billingd_flags();
        options.args.extend(
            ["--stripe-publishable-key", "pk_test_blackbox"]
                .iter()
                .map(|a| (*a).to_owned()),
        );
        if !extra.iter().any(|a| a == "--reconcile-every-secs") {
            options
                .args
                .extend(["--reconcile-every-secs".into(), "0".into()]);
        }
        options.args.extend(extra.iter().cloned());
        options
    }

    /// Kills `billingd` and starts it again on the same store and port, with its clock
    /// `clock_ahead` seconds ahead and more `serve` flags than it started with.
    pub fn restart(&mut self, clock_ahead: u64, extra: &[&str]) {
        let mut flags = self.extra.clone();
        flags.extend(extra.iter().map(|a| (*a).to_owned()));
        let options =
            Self::options(&self.fake, &flags).env(CLOCK_AHEAD_VARIABLE, &clock_ahead.to_string());
        self.service.restart(options);
    }

    /// `billingd reconcile` on the service's store and the fake, sweeping payments pending for
    /// any time, its clock `clock_ahead` seconds ahead: what it printed, and whether it
    /// succeeded.
    pub async fn reconcile(&self, clock_ahead: u64) -> (bool, String) {
        let mut command = Command::new(billingd_binary());
        command
            .args(["reconcile", "--older-than-secs", "0"])
            .args(["--database-url", self.service.database_url(), "--data-dir"])
            .arg(self.service.data_dir())
            .args(self.fake.billingd_flags().iter().take(4))
            .env(CLOCK_AHEAD_VARIABLE, clock_ahead.to_string())
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .env_remove("DATABASE_URL");
        let out = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the command's thread")
            .expect("billingd reconcile runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// A customer with the test card `card` (`pm_card_visa`...) saved at the fake, and a
    /// booking priced `price` in `currency`; answers the saved card's payment method id.
    pub async fn seed(
        &self,
        customer: &str,
        card: &str,
        booking: &str,
        currency: &str,
        price: &str,
    ) -> String {
        let (service, tenant) = (&self.service, &self.tenant);
        let answer = service
            .post(tenant, "/v1/customers", json!({"id": customer, "name": format!("Customer {customer}"), "email": format!("{customer}@example.com")}))
            .await;
        assert!(answer.status.is_success(), "customer: {answer:?}");
        let answer = service
            .post(
                tenant,
                &format!("/v1/customers/{customer}/payment-methods"),
                json!({"payment_method": card}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "card: {answer:?}");
        let payment_method = answer.json["payment_method"]
            .as_str()
            .expect("the saved card's payment method")
            .to_owned();
        self.book(customer, booking, currency, price).await;
        payment_method
    }

    /// A booking of the customer priced `price` in `currency`.
    pub async fn book(&self, customer: &str, booking: &str, currency: &str, price: &str) {
        let answer = self
            .service
            .put(
                &self.tenant,
                &format!("/v1/bookings/{booking}"),
                json!({
                    "customer": customer,
                    "currency": currency,
                    "line_items": [{"kind": "service", "label": "Home cleaning", "amount": price}],
                }),
            )
            .await;
        assert!(answer.status.is_success(), "booking: {answer:?}");
    }

    /// `POST path` with a JSON body, as the business.
    pub async fn post(&self, path: &str, body: Value) -> crate::Answer {
        self.service.post(&self.tenant, path, body).await
    }

    /// `GET path`, as the business.
    pub async fn get(&self, path: &str) -> crate::Answer {
        self.service.get(&self.tenant, path).await
    }

    /// The booking as `billingd` shows it.
    pub async fn booking(&self, id: &str) -> Value {
        let answer = self.get(&format!("/v1/bookings/{id}")).await;
        assert_eq!(answer.status, StatusCode::OK, "booking {id}: {answer:?}");
        answer.json
    }

    /// The payment as `billingd` shows it (`payment`, `children`...).
    pub async fn payment(&self, id: &str) -> Value {
        let answer = self.get(&format!("/v1/payments/{id}")).await;
        assert_eq!(answer.status, StatusCode::OK, "payment {id}: {answer:?}");
        answer.json
    }

    /// Waits (up to `within`) until the booking satisfies `check`; answers it. On failure the
    /// booking, billingd's log and the fake's webhook attempts are shown.
    pub async fn booking_until(
        &self,
        id: &str,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let found = eventually(within, || async {
            let booking = self.booking(id).await;
            if check(&booking) {
                Ok(booking)
            } else {
                Err(booking)
            }
        })
        .await;
        match found {
            Ok(booking) => booking,
            Err(last) => panic!(
                "booking {id} not as expected within {within:?}: {last:#}\nwebhooks: {:#}\nbillingd:\n{}",
                self.fake.get("webhooks").await,
                tail(&self.service.log())
            ),
        }
    }
}

/// The last lines of a log.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Polls `attempt` until it answers `Ok` or `within` passes; answers its last answer.
pub async fn eventually<T, E, F, Fut>(within: Duration, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + within;
    loop {
        let answer = attempt().await;
        if answer.is_ok() || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The payments of a booking (as `GET /v1/bookings/{id}` lists them) of this kind.
pub fn payments_of_kind<'a>(booking: &'a Value, kind: &str) -> Vec<&'a Value> {
    booking["payments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kind"] == kind)
        .collect()
}

/// The amount of a money field (`{"amount": "10.00", "currency": "USD"}`).
pub fn money(value: &Value) -> &str {
    value["amount"].as_str().unwrap_or_default()
}
