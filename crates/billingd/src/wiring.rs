//! Picking and connecting the adapters from configuration: the one place that knows them all.
//!
//! Every command is written once against the ports, generic over the store `S` and the gateway
//! `G`; [`with_store`] and [`with_gateway`] call it with the concrete pair the configuration
//! names, so the four combinations (SQLite | Postgres) × (sandbox | Stripe) share one code path.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use billing_core::ids::PaymentId;
use billing_core::ports::{
    Businesses, Clock, CustomerDirectory, IdGenerator, Ledger, NotificationLog, PaymentGateway,
    PaymentLinks, SecretSource,
};
use billing_http::{
    CardTokenizer, Readiness, ReadinessFn, WebhookAction, WebhookEvent, WebhookRejected,
    WebhookVerifier,
};
use billing_postgres::PostgresStore;
use billing_sandbox::{SandboxConfig, SandboxGateway};
use billing_sqlite::SqliteStore;
use billing_stripe::{GatewayEvent, StripeConfig, StripeGateway, verify_event};
use chrono::{DateTime, Utc};

use crate::cli::{GatewayArgs, StoreArgs};

/// Any error of set-up, shown to the operator as it is.
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
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

/// Everything a store of the service must be.
pub trait Store:
    Ledger
    + CustomerDirectory
    + Businesses
    + PaymentLinks
    + NotificationLog
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: Ledger
        + CustomerDirectory
        + Businesses
        + PaymentLinks
        + NotificationLog
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Stripe's webhook deliveries, checked with the endpoint's secret.
pub struct StripeWebhooks {
    secret: String,
}

impl std::fmt::Debug for StripeWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeWebhooks { secret: whsec_…redacted }")
    }
}

impl StripeWebhooks {
    /// A verifier with the endpoint's secret (`whsec_...`).
    pub fn new(secret: impl Into<String>) -> Self {
        StripeWebhooks {
            secret: secret.into(),
        }
    }
}

impl WebhookVerifier for StripeWebhooks {
    fn verify(&self, payload: &[u8], signature: &str) -> Result<WebhookEvent, WebhookRejected> {
        let event = verify_event(payload, signature, &self.secret, Utc::now())
            .map_err(|e| WebhookRejected(e.to_string()))?;
        Ok(webhook_event(&event))
    }
}

/// What the API does with a verified Stripe event.
pub fn webhook_event(event: &GatewayEvent) -> WebhookEvent {
    let info = event.info();
    let event_type = match event {
        GatewayEvent::PaymentSucceeded(_) => "payment_intent.succeeded",
        GatewayEvent::PaymentFailed(_) => "payment_intent.payment_failed",
        GatewayEvent::PaymentCanceled(_) => "payment_intent.canceled",
        GatewayEvent::PaymentRequiresAction(_) => "payment_intent.requires_action",
        GatewayEvent::HoldUpdated(_) => "payment_intent.amount_capturable_updated",
        GatewayEvent::ChargeRefunded(_) => "charge.refunded",
        GatewayEvent::CardSetupSucceeded(_) => "setup_intent.succeeded",
        GatewayEvent::Ignored { event_type, .. } => event_type.as_str(),
    };
    let action = match (event, event.payment()) {
        (GatewayEvent::ChargeRefunded(_), Some(payment)) => {
            WebhookAction::ReconcileRefundsOf(payment.clone())
        }
        (
            GatewayEvent::PaymentSucceeded(_)
            | GatewayEvent::PaymentFailed(_)
            | GatewayEvent::PaymentCanceled(_)
            | GatewayEvent::PaymentRequiresAction(_)
            | GatewayEvent::HoldUpdated(_),
            Some(payment),
        ) => WebhookAction::Reconcile(payment.clone()),
        // Card set-ups are for hosted pages (a later issue); the rest is not ours to act on.
        _ => WebhookAction::Ignore,
    };
    WebhookEvent {
        id: info.id.clone(),
        event_type: event_type.to_owned(),
        account: info.account.clone(),
        business: None,
        action,
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

/// A command over any store.
pub trait StoreTask {
    /// What it returns.
    type Output;

    /// Runs with a connected, migrated store and its readiness check.
    fn run<S>(
        self,
        store: S,
        readiness: Arc<dyn Readiness>,
    ) -> impl std::future::Future<Output = Result<Self::Output, AnyError>> + Send
    where
        S: Store;
}

/// Connects to the configured store, migrates it, and runs `task` with it.
pub async fn with_store<T: StoreTask>(store: &StoreArgs, task: T) -> Result<T::Output, AnyError> {
    let url = database_url(store)?;
    match store_kind(&url)? {
        StoreKind::Sqlite => {
            let store = SqliteStore::connect(&url).await?;
            store.migrate().await?;
            let ping = store.clone();
            let readiness = ReadinessFn(move || {
                let ping = ping.clone();
                async move { ping.ping().await.map_err(|e| e.to_string()) }
            });
            task.run(store, Arc::new(readiness)).await
        }
        StoreKind::Postgres => {
            let store = PostgresStore::connect(&url).await?;
            store.migrate().await?;
            let ping = store.clone();
            let readiness = ReadinessFn(move || {
                let ping = ping.clone();
                async move { ping.ping().await.map_err(|e| e.to_string()) }
            });
            task.run(store, Arc::new(readiness)).await
        }
    }
}

/// A command over any store and gateway.
pub trait GatewayTask<S> {
    /// What it returns.
    type Output;

    /// Runs with the store and the configured gateway (and, for the sandbox, its card form).
    fn run<G>(
        self,
        store: S,
        gateway: G,
        clock: Arc<dyn Clock>,
        cards: Option<Arc<dyn CardTokenizer>>,
    ) -> impl std::future::Future<Output = Result<Self::Output, AnyError>> + Send
    where
        G: PaymentGateway + 'static;
}

/// Makes the configured gateway (Stripe when a secret key is given, else the sandbox) and runs
/// `task` with it.
pub async fn with_gateway<S, T>(
    gateway: &GatewayArgs,
    store: S,
    task: T,
) -> Result<T::Output, AnyError>
where
    T: GatewayTask<S>,
{
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match &gateway.stripe_secret_key {
        Some(key) => {
            let mut config =
                StripeConfig::new(key.clone()).with_card_only(gateway.stripe_card_only);
            if let Some(base) = &gateway.stripe_api_base {
                config = config.with_base_url(base.clone());
            }
            let stripe = StripeGateway::new(config)?;
            tracing::info!(api_base = ?gateway.stripe_api_base, "gateway: Stripe");
            task.run(store, stripe, clock, None).await
        }
        None => {
            let mut config = SandboxConfig::default()
                .with_latency(Duration::from_millis(gateway.sandbox_latency_ms));
            if let Some(rate) = gateway.sandbox_rate_limit.and_then(NonZeroU32::new) {
                config = config.with_rate_limit(rate);
            }
            tracing::info!(
                latency_ms = gateway.sandbox_latency_ms,
                rate_limit = ?gateway.sandbox_rate_limit,
                "gateway: the in-process sandbox (Stripe's test cards, nothing leaves this process)"
            );
            let sandbox = SandboxGateway::with_config(Arc::clone(&clock), config);
            let cards: Arc<dyn CardTokenizer> = Arc::new(SandboxCards(sandbox.clone()));
            task.run(store, sandbox, clock, Some(cards)).await
        }
    }
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
    fn stripe_events_map_to_actions() {
        use billing_core::money::{Currency, Money};
        use billing_core::ports::{GatewayPayment, GatewayStatus};
        use billing_stripe::webhooks::{EventInfo, IntentEvent, RefundEvent};
        let info = EventInfo {
            id: "evt_1".into(),
            account: Some("acct_1".into()),
            created: Utc::now(),
            livemode: false,
        };
        let usd = Money::from_minor(1000, Currency::USD);
        let payment = PaymentId::new("pay_1").expect("id");
        let intent = IntentEvent {
            event: info.clone(),
            payment: Some(payment.clone()),
            intent: GatewayPayment {
                reference: "pi_1".into(),
                status: GatewayStatus::Succeeded,
                amount: usd,
                amount_received: usd,
                amount_capturable: Money::zero(Currency::USD),
                hold_expires_at: None,
            },
        };
        let succeeded = webhook_event(&GatewayEvent::PaymentSucceeded(intent.clone()));
        assert_eq!(succeeded.action, WebhookAction::Reconcile(payment.clone()));
        assert_eq!(succeeded.account.as_deref(), Some("acct_1"));
        assert_eq!(succeeded.event_type, "payment_intent.succeeded");
        let refunded = webhook_event(&GatewayEvent::ChargeRefunded(RefundEvent {
            event: info.clone(),
            payment: Some(payment.clone()),
            payment_reference: Some("pi_1".into()),
            charge: "ch_1".into(),
            amount_refunded: usd,
            fully_refunded: true,
        }));
        assert_eq!(refunded.action, WebhookAction::ReconcileRefundsOf(payment));
        let foreign = webhook_event(&GatewayEvent::HoldUpdated(IntentEvent {
            payment: None,
            ..intent
        }));
        assert_eq!(foreign.action, WebhookAction::Ignore);
        let other = webhook_event(&GatewayEvent::Ignored {
            event: info,
            event_type: "customer.created".into(),
        });
        assert_eq!(other.action, WebhookAction::Ignore);
        assert_eq!(other.event_type, "customer.created");
    }

    #[test]
    fn payment_ids_are_prefixed_uuids() {
        let a = UuidIds.payment_id();
        let b = UuidIds.payment_id();
        assert!(a.as_str().starts_with("pay_") && a.as_str().len() == 36);
        assert_ne!(a, b);
    }
}
