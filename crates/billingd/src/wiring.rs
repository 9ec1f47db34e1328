//! Picking and connecting the adapters from configuration: the one place that knows them all.
//!
//! [`store`] connects the configured store and [`gateway`] makes the configured gateway, each as
//! the port's trait object; [`engine`] puts them in one `Billing`, which every command drives
//! the same way, whatever the four combinations (SQLite | Postgres) × (sandbox | Stripe).

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::Billing;
use billing_core::ids::PaymentId;
use billing_core::ports::{Clock, IdGenerator, PaymentGateway, SecretSource, Store};
use billing_http::{CardTokenizer, Readiness, ReadinessFn};
use billing_postgres::PostgresStore;
use billing_sandbox::{SandboxConfig, SandboxGateway};
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

/// A gateway and, for the sandbox, the card form of its hosted pages.
pub type Gateway = (Arc<dyn PaymentGateway>, Option<Arc<dyn CardTokenizer>>);

/// The configured gateway (Stripe when a secret key is given, else the sandbox) and, for the
/// sandbox, its card form.
pub fn gateway(args: &GatewayArgs, clock: Arc<dyn Clock>) -> Result<Gateway, AnyError> {
    match &args.stripe_secret_key {
        Some(key) => {
            let mut config = StripeConfig::new(key.clone()).with_card_only(args.stripe_card_only);
            if let Some(base) = &args.stripe_api_base {
                config = config.with_base_url(base.clone());
            }
            let stripe = StripeGateway::new(config)?;
            tracing::info!(api_base = ?args.stripe_api_base, "gateway: Stripe");
            Ok((Arc::new(stripe), None))
        }
        None => {
            let mut config = SandboxConfig::default()
                .with_latency(Duration::from_millis(args.sandbox_latency_ms));
            if let Some(rate) = args.sandbox_rate_limit.and_then(NonZeroU32::new) {
                config = config.with_rate_limit(rate);
            }
            tracing::info!(
                latency_ms = args.sandbox_latency_ms,
                rate_limit = ?args.sandbox_rate_limit,
                "gateway: the in-process sandbox (Stripe's test cards, nothing leaves this process)"
            );
            let sandbox = SandboxGateway::with_config(clock, config);
            let cards: Arc<dyn CardTokenizer> = Arc::new(SandboxCards(sandbox.clone()));
            Ok((Arc::new(sandbox), Some(cards)))
        }
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
        gateway,
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
    fn payment_ids_are_prefixed_uuids() {
        let a = UuidIds.payment_id();
        let b = UuidIds.payment_id();
        assert!(a.as_str().starts_with("pay_") && a.as_str().len() == 36);
        assert_ne!(a, b);
    }
}
