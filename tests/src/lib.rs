//! Black-box test support: builds and starts the real `billingd` binary on a free port against
//! SQLite or a throwaway Postgres database, and talks to it over HTTP.
#![forbid(unsafe_code)]

pub mod stripe_fake;

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
    log: Option<PathBuf>,
}

/// How to start `billingd serve`, beyond its store.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// More `serve` flags.
    pub args: Vec<String>,
    /// Environment variables for the process.
    pub env: Vec<(String, String)>,
    /// The port to listen on (a restart keeps the one it had); any free port when `None`.
    pub port: Option<u16>,
    /// Write the service's log to `billingd.log` in its data folder (for [`Service::log`])
    /// rather than to the terminal.
    pub log_to_file: bool,
}

impl Options {
    /// With more `serve` flags.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// With an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Listening on this port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// With the log in a file, for [`Service::log`].
    pub fn log_to_file(mut self) -> Self {
        self.log_to_file = true;
        self
    }
}

/// A port free on 127.0.0.1 now (for a service whose address must be known before it starts,
/// such as the webhook endpoint a fake Stripe delivers to).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
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
        Service::launch(store, Options::default().args(extra))
    }

    /// Starts the service on a fresh store as `options` say.
    pub fn launch(store: Store, options: Options) -> Service {
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
        Service::spawn(database_url, data_dir, postgres, &options, None)
    }

    /// Starts the service on a database someone else owns (a benchmark's server, or the
    /// database another service runs on), with a data folder of its own; its log goes to
    /// `billingd.log` there (a benchmark's thousands of request lines would flood the terminal).
    pub fn start_on(database_url: &str, extra: &[&str]) -> Service {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Service::spawn(
            database_url.to_owned(),
            data_dir,
            None,
            &Options::default().args(extra).log_to_file(),
            None,
        )
    }

    /// Kills the service (`kill -9`: no shutdown, as a crash) and starts it again on the same
    /// database, data folder and port, as `options` say (their port is ignored).
    pub fn restart(&mut self, options: Options) {
        self.kill();
        let port = self.port();
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp"));
        let postgres = self._postgres.take();
        let log = self.log.take();
        let restarted = Service::spawn(
            self.database_url.clone(),
            data_dir,
            postgres,
            &Options {
                port: Some(port),
                ..options
            },
            log,
        );
        *self = restarted;
    }

    /// Kills the service at once (`kill -9`), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The port the service listens on.
    pub fn port(&self) -> u16 {
        self.base_url
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the base URL ends with its port")
    }

    /// The service's data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// What the service logged so far (started with [`Options::log_to_file`]).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// Waits (up to `within`) until the log has a line containing `text`.
    pub async fn wait_for_log(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} not logged within {within:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs another `billingd` command (`reconcile`...) on the service's database and data
    /// folder, with more flags, and returns what it did.
    pub async fn command(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(billingd_binary());
        command
            .args(args)
            .args(["--database-url", &self.database_url, "--data-dir"])
            .arg(self.data_dir.path())
            .env_remove("STRIPE_SECRET_KEY");
        tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the command's thread")
            .expect("billingd runs")
    }

    fn spawn(
        database_url: String,
        data_dir: tempfile::TempDir,
        postgres: Option<TestPostgres>,
        options: &Options,
        log: Option<PathBuf>,
    ) -> Service {
        let listen = format!("127.0.0.1:{}", options.port.unwrap_or(0));
        let log = log.or_else(|| {
            options
                .log_to_file
                .then(|| data_dir.path().join("billingd.log"))
        });
        let stderr = match &log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("log file"),
            ),
            None => Stdio::inherit(),
        };
        let mut command = Command::new(billingd_binary());
        command
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(data_dir.path())
            .args(["--database-url", &database_url])
            .args(&options.args)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .env_remove("STRIPE_SECRET_KEY")
            .stdout(Stdio::piped())
            .stderr(stderr);
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
            log,
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

    /// Adds a member to a tenant's staff with the CLI (`billingd staff add`), against the same
    /// store: the link where they set their password.
    pub fn add_staff(&self, tenant: &Tenant, email: &str, role: &str) -> String {
        let out = Command::new(billingd_binary())
            .args(["staff", "add", email, "--business", &tenant.business])
            .args(["--role", role, "--public-url", &self.base_url])
            .args(["--database-url", &self.database_url])
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .output()
            .expect("billingd staff add runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "staff add: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.split_whitespace()
            .find(|word| word.contains("/console/invitations/"))
            .unwrap_or_else(|| panic!("an invitation link in {text:?}"))
            .to_owned()
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
