//! Black-box test support: builds and starts the real `billingd` binary on a free port against
//! SQLite or a throwaway Postgres database, and talks to it over HTTP.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use billing_testservers::TestPostgres;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Which store the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// A SQLite file in a temporary data folder.
    Sqlite,
    /// A fresh database in the shared throwaway Postgres cluster.
    Postgres,
}

static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// Builds `billingd` once per test process and returns its path.
pub fn billingd_binary() -> PathBuf {
    BINARY.get_or_init(|| build_billingd(false)).clone()
}

/// For benchmarks: the binary named by `BILLINGD_BINARY`, else a release build of `billingd`
/// (`cargo build --release -p billingd`), used by every service this process starts.
pub fn release_billingd_binary() -> PathBuf {
    BINARY.get_or_init(|| build_billingd(true)).clone()
}

fn build_billingd(release: bool) -> PathBuf {
    // Benchmarks build a release binary themselves and name it here.
    if let Some(path) = std::env::var_os("BILLINGD_BINARY") {
        return PathBuf::from(path);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "-p", "billingd"]);
    if release {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "billingd builds");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target
        .join(if release { "release" } else { "debug" })
        .join("billingd")
}

/// A running `billingd`, stopped on drop.
#[derive(Debug)]
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    database_url: String,
    data_dir: tempfile::TempDir,
    _postgres: Option<TestPostgres>,
    client: reqwest::Client,
}

/// A business's view of the service: its API key.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The business id.
    pub business: String,
    /// Its bearer key.
    pub api_key: String,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON (Null when empty or not JSON).
    pub json: Value,
    /// The raw body.
    pub text: String,
}

impl Service {
    /// Starts the service on a fresh store with extra `serve` flags.
    pub fn start_with(store: Store, extra: &[&str]) -> Service {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, postgres) = match store {
            Store::Sqlite => (
                format!("sqlite://{}/billing.db?mode=rwc", data_dir.path().display()),
                None,
            ),
            Store::Postgres => {
                let pg = TestPostgres::start().expect("postgres starts");
                let url = pg.create_database("blackbox").expect("database");
                (url, Some(pg))
            }
        };
        Service::spawn(database_url, data_dir, postgres, extra, Stdio::inherit())
    }

    /// Starts the service on a database someone else owns (a benchmark's server, or the
    /// database another service runs on), with a data folder of its own; its log goes to
    /// `billingd.log` there (a benchmark's thousands of request lines would flood the terminal).
    pub fn start_on(database_url: &str, extra: &[&str]) -> Service {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(data_dir.path().join("billingd.log")).expect("log file");
        Service::spawn(
            database_url.to_owned(),
            data_dir,
            None,
            extra,
            Stdio::from(log),
        )
    }

    fn spawn(
        database_url: String,
        data_dir: tempfile::TempDir,
        postgres: Option<TestPostgres>,
        extra: &[&str],
        log: Stdio,
    ) -> Service {
        let mut command = Command::new(billingd_binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .args(["--database-url", &database_url])
            .args(extra)
            .env_remove("STRIPE_SECRET_KEY")
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = command.spawn().expect("billingd starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("billingd listening on ") {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let base_url = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("billingd prints its address within a minute");
        let service = Service {
            child,
            base_url,
            database_url,
            data_dir,
            _postgres: postgres,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client"),
        };
        service.wait_ready();
        service
    }

    /// The process id of `billingd`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The database URL the service runs on.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The Postgres server the service runs on, if it does.
    pub fn postgres(&self) -> Option<&TestPostgres> {
        self._postgres.as_ref()
    }

    /// Starts the service on a fresh store.
    pub fn start(store: Store) -> Service {
        Service::start_with(store, &[])
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}/readyz", self.base_url);
        loop {
            if http_get_ok(&url) {
                return;
            }
            assert!(Instant::now() < deadline, "billingd ready within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates a business with the CLI, against the same store, and returns its key.
    pub fn create_business(&self, name: &str) -> Tenant {
        self.create_business_with(name, &[])
    }

    /// Like [`Service::create_business`], with more `business create` flags (`--email`...).
    pub fn create_business_with(&self, name: &str, extra: &[&str]) -> Tenant {
        create_business_on(&self.database_url, self.data_dir.path(), name, extra)
    }

    /// Sends a request as a tenant.
    pub async fn call(
        &self,
        tenant: &Tenant,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base_url, path))
            .bearer_auth(&tenant.api_key);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            json,
            text,
        }
    }

    /// GET as a tenant.
    pub async fn get(&self, tenant: &Tenant, path: &str) -> Answer {
        self.call(tenant, Method::GET, path, None, None).await
    }

    /// POST as a tenant.
    pub async fn post(&self, tenant: &Tenant, path: &str, body: Value) -> Answer {
        self.call(tenant, Method::POST, path, Some(body), None)
            .await
    }

    /// PUT as a tenant.
    pub async fn put(&self, tenant: &Tenant, path: &str, body: Value) -> Answer {
        self.call(tenant, Method::PUT, path, Some(body), None).await
    }

    /// A customer with a saved card (sandbox payment method `card`) and a USD booking.
    pub async fn seed_booking(
        &self,
        tenant: &Tenant,
        customer: &str,
        card: &str,
        booking: &str,
        price: &str,
    ) {
        let answer = self.post(tenant, "/v1/customers", serde_json::json!({"id": customer, "name": format!("Customer {customer}"), "email": format!("{customer}@example.com")})).await;
        assert!(answer.status.is_success(), "customer: {answer:?}");
        let cards = self
            .get(tenant, &format!("/v1/customers/{customer}/payment-methods"))
            .await;
        if cards.json["data"].as_array().is_none_or(|c| c.is_empty()) {
            let answer = self
                .post(
                    tenant,
                    &format!("/v1/customers/{customer}/payment-methods"),
                    serde_json::json!({"payment_method": card}),
                )
                .await;
            assert_eq!(answer.status, StatusCode::CREATED, "card: {answer:?}");
        }
        let answer = self
            .put(
                tenant,
                &format!("/v1/bookings/{booking}"),
                serde_json::json!({
                    "customer": customer,
                    "currency": "USD",
                    "line_items": [{"kind": "service", "label": "Home cleaning", "amount": price}],
                }),
            )
            .await;
        assert!(answer.status.is_success(), "booking: {answer:?}");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `billingd migrate` on a database: its tables, before any service runs on it.
pub fn migrate(database_url: &str) {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(billingd_binary())
        .args(["migrate", "--database-url", database_url, "--data-dir"])
        .arg(data_dir.path())
        .output()
        .expect("billingd migrate runs");
    assert!(
        out.status.success(),
        "billingd migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `billingd business create` on a database (with more flags), whether a service runs on it
/// or not: the business and its key.
pub fn create_business_on(
    database_url: &str,
    data_dir: &std::path::Path,
    name: &str,
    extra: &[&str],
) -> Tenant {
    let out = Command::new(billingd_binary())
        .args(["business", "create", name, "--database-url", database_url])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .output()
        .expect("billingd business create runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "business create: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api_key = text
        .split_whitespace()
        .find(|word| word.starts_with("bk_"))
        .unwrap_or_else(|| panic!("an API key in {text:?}"))
        .to_owned();
    let business = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("business:")
                .or_else(|| line.strip_prefix("Business:"))
        })
        .map(|id| id.trim().to_owned())
        .unwrap_or_default();
    Tenant { business, api_key }
}

/// A GET that answers 200, without an async runtime (used only to wait for readiness).
fn http_get_ok(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// An amount field of a money object.
pub fn amount(money: &Value) -> &str {
    money["amount"].as_str().unwrap_or_default()
}
