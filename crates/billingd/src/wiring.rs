//! Picking and connecting the adapters from configuration: the one place that knows them all.
//!
//! [`store`] connects the configured store and [`gateway`] makes the configured gateway, each as
//! the port's trait object; [`engine`] puts them in one `Billing`, which every command drives
//! the same way, whatever the four combinations (SQLite | Postgres) × (sandbox | Stripe).

use std::fs::{File, OpenOptions, TryLockError};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::Billing;
use billing_core::ids::PaymentId;
use billing_core::ports::{Clock, IdGenerator, PaymentGateway, SecretSource, Store};
use billing_http::{CardTokenizer, Readiness, ReadinessFn};
use billing_postgres::PostgresStore;
use billing_sandbox::{JOURNAL_FILE, SandboxConfig, SandboxGateway};
use billing_sqlite::SqliteStore;
use billing_stripe::{StripeConfig, StripeGateway};
use chrono::{DateTime, Utc};

use crate::cli::{GatewayArgs, StoreArgs};

/// Any error of set-up, shown to the operator as it is.
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// The system clock, which sleeps on the runtime's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        if let Ok(wait) = (at - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The environment variable that runs the service's clock ahead of the system's, in seconds:
/// for tests only, to see what the service does with payments made a day earlier (Stripe's
/// idempotency window) without waiting a day. Unset in any real deployment.
pub const CLOCK_AHEAD_VARIABLE: &str = "BILLINGD_CLOCK_AHEAD_SECS";

/// The system clock run ahead by a fixed time (see [`CLOCK_AHEAD_VARIABLE`]).
#[derive(Debug, Clone, Copy)]
pub struct ClockAhead(chrono::Duration);

#[async_trait::async_trait]
impl Clock for ClockAhead {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        if let Ok(wait) = (at - self.now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The service's clock: the system's, unless [`CLOCK_AHEAD_VARIABLE`] says otherwise.
pub fn clock_from_env() -> Result<Arc<dyn Clock>, AnyError> {
    let Some(value) = std::env::var_os(CLOCK_AHEAD_VARIABLE) else {
        return Ok(Arc::new(SystemClock));
    };
    let seconds = value
        .to_str()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| format!("{CLOCK_AHEAD_VARIABLE} must be a number of seconds"))?;
    tracing::warn!(
        seconds,
        "the service's clock runs ahead of the system's ({CLOCK_AHEAD_VARIABLE}): for tests only"
    );
    Ok(Arc::new(ClockAhead(chrono::Duration::seconds(i64::from(
        seconds,
    )))))
}

/// Payment ids `pay_<UUID v7>`: unique across processes sharing a store, and time-ordered, so
/// that the newest payments sit together in the indexes.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidIds;

impl IdGenerator for UuidIds {
    fn payment_id(&self) -> PaymentId {
        let id = format!("pay_{}", uuid::Uuid::now_v7().simple());
        PaymentId::new(id).expect("36 letters, digits and '_' make a valid payment id")
    }
}

/// Token secrets from the operating system's generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecrets;

impl SecretSource for OsSecrets {
    fn secret_bytes(&self) -> [u8; 32] {
        use rand::TryRngCore;
        let mut bytes = [0_u8; 32];
        // A system whose random generator fails cannot make safe links; better to stop than to
        // hand out guessable ones.
        if let Err(error) = rand::rngs::OsRng.try_fill_bytes(&mut bytes) {
            panic!("the operating system's random generator failed: {error}");
        }
        bytes
    }
}

/// The sandbox's card form: a card typed on a hosted page becomes a sandbox payment method;
/// only its brand, last four digits and expiry are kept.
#[derive(Clone)]
pub struct SandboxCards(pub SandboxGateway);

impl std::fmt::Debug for SandboxCards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SandboxCards")
    }
}

impl CardTokenizer for SandboxCards {
    fn tokenize(
        &self,
        number: &str,
        exp_month: u32,
        exp_year: u32,
        cvc: &str,
    ) -> Result<String, String> {
        self.0
            .create_payment_method_from_card(number, exp_month, exp_year, cvc)
            .map_err(|e| e.to_string())
    }
}

/// The database URL: the one configured, or `billing.db` in the data folder (created).
pub fn database_url(store: &StoreArgs) -> Result<String, AnyError> {
    if let Some(url) = &store.database_url {
        return Ok(url.clone());
    }
    std::fs::create_dir_all(&store.data_dir).map_err(|e| {
        format!(
            "cannot create the data folder {}: {e}",
            store.data_dir.display()
        )
    })?;
    Ok(sqlite_url(&store.data_dir.join("billing.db")))
}

fn sqlite_url(file: &Path) -> String {
    format!("sqlite://{}", file.display())
}

/// Which store a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// `sqlite:...`
    Sqlite,
    /// `postgres://...` or `postgresql://...`
    Postgres,
}

/// Reads the scheme of a database URL.
pub fn store_kind(url: &str) -> Result<StoreKind, AnyError> {
    if url.starts_with("sqlite:") {
        Ok(StoreKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(StoreKind::Postgres)
    } else {
        Err(format!(
            "unknown database URL scheme in {:?}: use sqlite:... or postgres://...",
            redact(url)
        )
        .into())
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:…@{}", &url[..scheme + 3], &url[at + 1..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The configured store, connected and migrated, and its readiness check.
pub async fn store(
    args: &StoreArgs,
    pool_size: Option<u32>,
) -> Result<(Arc<dyn Store>, Arc<dyn Readiness>), AnyError> {
    let url = database_url(args)?;
    match store_kind(&url)? {
        StoreKind::Sqlite => {
            let store = SqliteStore::connect(&url).await?;
            store.migrate().await?;
            let ping = store.clone();
            let readiness = ReadinessFn(move || {
                let ping = ping.clone();
                async move { ping.ping().await.map_err(|e| e.to_string()) }
            });
            Ok((Arc::new(store), Arc::new(readiness)))
        }
        StoreKind::Postgres => {
            let size = pool_size.unwrap_or(billing_postgres::DEFAULT_MAX_CONNECTIONS);
            let store = PostgresStore::connect_with_pool_size(&url, size).await?;
            store.migrate().await?;
            let ping = store.clone();
            let readiness = ReadinessFn(move || {
                let ping = ping.clone();
                async move { ping.ping().await.map_err(|e| e.to_string()) }
            });
            Ok((Arc::new(store), Arc::new(readiness)))
        }
    }
}

/// The configured gateway, and what the service serves for the sandbox.
pub struct Gateway {
    /// The gateway, for the engine.
    pub port: Arc<dyn PaymentGateway>,
    /// Its side of connecting businesses' accounts (Stripe's Connect onboarding, or the
    /// sandbox's own page).
    pub onboarding: Arc<dyn billing_core::ports::AccountOnboarding>,
    /// The sandbox, when it is the gateway: its card form and its challenge pages.
    pub sandbox: Option<SandboxGateway>,
    /// Held while the sandbox uses its data folder, so that no other process writes there.
    _folder: Option<File>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("sandbox", &self.sandbox.is_some())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// The card form of the sandbox's hosted pages, when the sandbox is the gateway.
    pub fn sandbox_cards(&self) -> Option<Arc<dyn CardTokenizer>> {
        self.sandbox
            .clone()
            .map(|sandbox| Arc::new(SandboxCards(sandbox)) as Arc<dyn CardTokenizer>)
    }
}

/// Where the sandbox keeps its state, and where customers reach its challenge page.
#[derive(Debug, Clone, Default)]
pub struct SandboxPlace<'a> {
    /// The data folder whose journal keeps the sandbox's customers, cards and payments across
    /// restarts; `None` keeps them in memory.
    pub data_dir: Option<&'a Path>,
    /// The challenge page's public address (`{public URL}/sandbox`); `None` for the default
    /// path `/sandbox`.
    pub challenge_base: Option<String>,
}

/// The configured gateway: Stripe when a secret key is given, else the sandbox, kept in the
/// data folder when one is given.
pub fn gateway(
    args: &GatewayArgs,
    place: SandboxPlace<'_>,
    clock: Arc<dyn Clock>,
) -> Result<Gateway, AnyError> {
    if let Some(key) = &args.stripe_secret_key {
        let mut config = StripeConfig::new(key.clone()).with_card_only(args.stripe_card_only);
        if let Some(base) = &args.stripe_api_base {
            config = config.with_base_url(base.clone());
        }
        let stripe = StripeGateway::new(config)?;
        tracing::info!(api_base = ?args.stripe_api_base, "gateway: Stripe");
        return Ok(Gateway {
            onboarding: Arc::new(stripe.clone()),
            port: Arc::new(stripe),
            sandbox: None,
            _folder: None,
        });
    }
    let mut config = SandboxConfig::default()
        .with_latency(Duration::from_millis(args.sandbox_latency_ms))
        .with_multicapture(args.sandbox_multicapture.clone());
    if let Some(rate) = args.sandbox_rate_limit.and_then(NonZeroU32::new) {
        config = config.with_rate_limit(rate);
    }
    if let Some(base) = place.challenge_base {
        config = config.with_challenge_base(base);
    }
    let (sandbox, folder) = match place.data_dir {
        Some(dir) => {
            let folder = lock_sandbox_folder(dir)?;
            let sandbox = SandboxGateway::open(dir, clock, config)?;
            (sandbox, Some(folder))
        }
        None => (SandboxGateway::with_config(clock, config), None),
    };
    tracing::info!(
        latency_ms = args.sandbox_latency_ms,
        rate_limit = ?args.sandbox_rate_limit,
        multicapture = ?args.sandbox_multicapture,
        journal = ?place.data_dir.map(|d| d.join(JOURNAL_FILE)),
        "gateway: the in-process sandbox (Stripe's test cards, nothing leaves this process)"
    );
    Ok(Gateway {
        port: Arc::new(sandbox.clone()),
        onboarding: Arc::new(sandbox.clone()),
        sandbox: Some(sandbox),
        _folder: folder,
    })
}

/// The lock file beside the sandbox's journal.
const SANDBOX_LOCK_FILE: &str = "sandbox.lock";

/// Takes the data folder's sandbox for this process: two processes appending to one journal
/// would each miss what the other wrote. Released when the returned file is dropped (or the
/// process ends, however it ends).
fn lock_sandbox_folder(dir: &Path) -> Result<File, AnyError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the data folder {}: {e}", dir.display()))?;
    let path = dir.join(SANDBOX_LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(format!(
            "the sandbox gateway's data folder {} is in use by another billingd process: one \
             process uses it at a time (a running `billingd serve` sweeps its own payments in \
             the background; stop it before running another command on its folder)",
            dir.display()
        )
        .into()),
        Err(TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display()).into()),
    }
}

/// The engine over a store and a gateway: UUID ids and the operating system's random secrets.
pub fn engine(
    store: Arc<dyn Store>,
    gateway: Arc<dyn PaymentGateway>,
    clock: Arc<dyn Clock>,
) -> Billing {
    Billing::new(
        store,
        crate::chaos::arm_from_env(gateway),
        clock,
        Arc::new(UuidIds),
        Arc::new(OsSecrets),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_their_store() {
        assert_eq!(
            store_kind("sqlite://x/billing.db").ok(),
            Some(StoreKind::Sqlite)
        );
        assert_eq!(store_kind("sqlite::memory:").ok(), Some(StoreKind::Sqlite));
        assert_eq!(
            store_kind("postgres://u:p@h/db").ok(),
            Some(StoreKind::Postgres)
        );
        assert_eq!(
            store_kind("postgresql://h/db").ok(),
            Some(StoreKind::Postgres)
        );
        let refused = store_kind("mysql://root:hunter2@h/db")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("mysql://root:…@h/db"), "{refused}");
        assert!(!refused.contains("hunter2"));
    }

    #[test]
    fn the_default_database_is_in_the_data_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("nested").join("data");
        let url = database_url(&StoreArgs {
            data_dir: data.clone(),
            database_url: None,
        })
        .expect("url");
        assert_eq!(
            url,
            format!("sqlite://{}", data.join("billing.db").display())
        );
        assert!(data.is_dir(), "the folder is made");
    }

    #[test]
    fn one_process_at_a_time_uses_a_sandbox_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = lock_sandbox_folder(dir.path()).expect("the first takes it");
        let refused = lock_sandbox_folder(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("in use by another billingd"), "{refused}");
        drop(first);
        assert!(lock_sandbox_folder(dir.path()).is_ok(), "released on drop");
    }

    #[test]
    fn payment_ids_are_prefixed_uuids() {
        let a = UuidIds.payment_id();
        let b = UuidIds.payment_id();
        assert!(a.as_str().starts_with("pay_") && a.as_str().len() == 36);
        assert_ne!(a, b);
    }
}
