//! The two processes of a run: the fake Stripe, started once, and `billingd`, started, killed
//! and started again on the same database and the same port (so that the fake's webhook
//! deliveries, retried, reach whichever process runs).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Fallible;

/// The environment variable naming the `billingd` binary (set by `cargo xtask chaos`).
pub const BILLINGD_VARIABLE: &str = "BILLINGD_BINARY";
/// The environment variable naming the `billing-stripe-fake` binary.
pub const FAKE_VARIABLE: &str = "BILLING_STRIPE_FAKE_BINARY";
/// The variable that arms a recovery point in `billingd`.
pub const PAUSE_VARIABLE: &str = "BILLINGD_CHAOS_PAUSE";

/// How often a wait looks again.
pub const POLL: Duration = Duration::from_millis(25);

/// The binaries the campaign runs; it builds nothing itself.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `billingd`.
    pub billingd: PathBuf,
    /// `billing-stripe-fake`.
    pub fake: PathBuf,
}

impl Binaries {
    /// The binaries named by [`BILLINGD_VARIABLE`] and [`FAKE_VARIABLE`].
    pub fn from_env() -> Fallible<Binaries> {
        let named = |variable: &str| -> Fallible<PathBuf> {
            let path = std::env::var_os(variable)
                .map(PathBuf::from)
                .ok_or_else(|| {
                    format!("{variable} is not set: run the campaign with `cargo xtask chaos`")
                })?;
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!("{variable}={}: no such file", path.display()))
            }
        };
        Ok(Binaries {
            billingd: named(BILLINGD_VARIABLE)?,
            fake: named(FAKE_VARIABLE)?,
        })
    }
}

/// A free port on 127.0.0.1 for `billingd`, kept for the whole run.
pub fn free_port() -> Fallible<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether a child still runs; its exit status when it stopped.
fn exited(child: &mut Child) -> Option<String> {
    match child.try_wait() {
        Ok(Some(status)) => Some(status.to_string()),
        Ok(None) => None,
        Err(error) => Some(format!("cannot tell: {error}")),
    }
}

/// The last lines of a log, for an error message.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    lines[start..].join("\n")
}

/// The fake Stripe, as a process of its own that outlives every `billingd` of the run.
#[derive(Debug)]
pub struct FakeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The API key it accepts.
    pub secret_key: String,
    /// The secret it signs webhook deliveries with.
    pub webhook_secret: String,
}

impl FakeProcess {
    /// Starts the fake, delivering events to `webhook_url`, its random choices seeded.
    pub fn start(binary: &Path, webhook_url: &str, seed: u64, log: &Path) -> Fallible<Self> {
        let secret_key = format!("sk_test_chaos{seed}");
        let webhook_secret = format!("whsec_chaos{seed}");
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new(binary)
            .args(["--port", "0", "--secret-key", &secret_key])
            .args(["--webhook-secret", &webhook_secret])
            .args(["--webhook-url", webhook_url])
            .args(["--seed", &seed.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the fake's stdout is not piped")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end, so that the fake never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let base = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the fake Stripe did not print its address within 30 s:\n{}",
                    log_tail(log)
                ));
            }
        };
        Ok(FakeProcess {
            child,
            base,
            secret_key,
            webhook_secret,
        })
    }
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How every `billingd` of a run is started: the same port, database, data folder and fake.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The binary.
    pub binary: PathBuf,
    /// The port, fixed for the run.
    pub port: u16,
    /// The data folder (outbox, logs).
    pub data_dir: PathBuf,
    /// The database.
    pub database_url: String,
    /// The fake's API base.
    pub stripe_api_base: String,
    /// The fake's API key.
    pub stripe_secret_key: String,
    /// The fake's webhook signing secret.
    pub webhook_secret: String,
    /// More `serve` flags.
    pub extra: Vec<String>,
}

/// A running `billingd`.
#[derive(Debug)]
pub struct Running {
    child: Child,
    markers: mpsc::UnboundedReceiver<String>,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl ServiceConfig {
    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The gateway flags every command of the run shares.
    fn gateway_flags(&self) -> Vec<String> {
        vec![
            "--stripe-secret-key".into(),
            self.stripe_secret_key.clone(),
            "--stripe-api-base".into(),
            format!("{}/", self.stripe_api_base),
        ]
    }

    /// A `billingd` command on the run's store and data folder.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .args(["--database-url", &self.database_url, "--data-dir"])
            .arg(&self.data_dir)
            .env_remove(PAUSE_VARIABLE)
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .env_remove("DATABASE_URL");
        command
    }

    /// Runs a `billingd` command to its end (with the gateway flags when `gateway`): its
    /// stdout, or why it failed.
    pub fn run(&self, args: &[&str], gateway: bool) -> Fallible<String> {
        let mut command = self.command(args);
        if gateway {
            command.args(self.gateway_flags());
        }
        let out = command
            .output()
            .map_err(|e| format!("cannot run billingd {}: {e}", args.join(" ")))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "billingd {} failed ({}): {stdout}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Starts `billingd serve`, armed at `pause` when given, and waits until it is ready. Its
    /// stderr goes to `<data>/<log_name>.log`; marker lines are also passed on.
    pub async fn start(&self, pause: Option<&str>, log_name: &str) -> Fallible<Running> {
        let log = self.data_dir.join(format!("{log_name}.log"));
        let mut log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let listen = format!("127.0.0.1:{}", self.port);
        let mut command = self.command(&["serve", "--listen", &listen]);
        command
            .args(self.gateway_flags())
            .args(["--stripe-webhook-secret", &self.webhook_secret])
            .args(["--stripe-publishable-key", "pk_test_chaos"])
            .args(&self.extra)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(pause) = pause {
            command.env(PAUSE_VARIABLE, pause);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start billingd: {e}"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or("billingd's stderr is not piped")?;
        let (sender, markers) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if let Some(marker) = line.strip_prefix("chaos: paused at ") {
                    let _ = sender.send(marker.to_owned());
                }
            }
        });
        let mut running = Running {
            child,
            markers,
            log,
            base: self.base(),
        };
        running.wait_ready().await?;
        Ok(running)
    }
}

impl Running {
    /// Polls `/readyz` until it answers 200, or the process stops, or 60 s pass.
    async fn wait_ready(&mut self) -> Fallible<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/readyz", self.base);
        loop {
            if let Some(status) = exited(&mut self.child) {
                return Err(format!(
                    "billingd stopped at start ({status}):\n{}",
                    log_tail(&self.log)
                ));
            }
            if let Ok(answer) = client.get(&url).send().await
                && answer.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "billingd not ready within 60 s:\n{}",
                    log_tail(&self.log)
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The next marker line (`after_gateway capture #1 (pay_...)`), within `within`.
    pub async fn marker(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.markers.recv())
            .await
            .ok()
            .flatten()
    }

    /// Where its stderr goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `kill -9`, then waits for the process to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it as an operator would (SIGTERM: requests in flight and the workers finish),
    /// or kills it when it has not stopped within 20 s.
    pub async fn stop(mut self) -> Fallible<()> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while sent && Instant::now() < deadline {
            if exited(&mut self.child).is_some() {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        let log = self.log.clone();
        self.kill();
        Err(format!(
            "billingd did not stop on SIGTERM within 20 s:\n{}",
            log_tail(&log)
        ))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
