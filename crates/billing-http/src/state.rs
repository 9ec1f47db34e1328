//! What the router runs on: the engine, its settings, and the pieces `billingd` injects (the
//! webhook verifier, the readiness check).

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use billing_core::billing::Billing;
use billing_core::ids::{BusinessId, PaymentId};
use billing_core::ports::{
    Businesses, Clock, CustomerDirectory, Ledger, NotificationLog, PaymentGateway, PaymentLinks,
};
use chrono::{DateTime, Utc};

use crate::bulk::TokenBucket;
use crate::cards::CardForm;
use crate::engine::Engine;
use crate::pages::limit::ClientLimiter;

/// Settings of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// How many bookings of a bulk charge are charged at once.
    pub bulk_concurrency: usize,
    /// At most this many gateway charges a second from bulk charges (a client-side token bucket,
    /// so that a large batch stays under the gateway's rate limit instead of being refused by
    /// it).
    pub bulk_rate_limit: NonZeroU32,
    /// The most bookings one bulk charge takes.
    pub bulk_max_bookings: usize,
    /// The largest request body accepted.
    pub body_limit: usize,
    /// How long a request may take before the client gets a 503 problem. A money-moving
    /// command goes on to its end regardless: it runs in its own task.
    pub request_timeout: Duration,
    /// How many webhook event ids are remembered to skip redeliveries.
    pub seen_events: usize,
    /// Hosted pages: how many requests one client address may make at once (a token bucket per
    /// address, so that nobody can try link tokens or cards by the thousand).
    pub page_rate_burst: NonZeroU32,
    /// Hosted pages: a client address earns one more request every this long.
    pub page_rate_interval: Duration,
    /// Hosted pages: how many client addresses the rate limit tracks at most (its memory
    /// bound; refilled buckets, then the least recently seen, are forgotten first).
    pub page_rate_clients: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bulk_concurrency: 8,
            bulk_rate_limit: NonZeroU32::new(25).unwrap_or(NonZeroU32::MIN),
            bulk_max_bookings: 1000,
            body_limit: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            seen_events: 10_000,
            page_rate_burst: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            page_rate_interval: Duration::from_secs(2),
            page_rate_clients: 10_000,
        }
    }
}

/// A verified gateway event, in the terms the API acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The gateway's event id (`evt_...`): deliveries repeat, so it is remembered.
    pub id: String,
    /// The event type, for the log (`payment_intent.succeeded`...).
    pub event_type: String,
    /// The connected account it happened on, which names the business.
    pub account: Option<String>,
    /// The business, when the event's metadata names it.
    pub business: Option<BusinessId>,
    /// What to do.
    pub action: WebhookAction,
}

/// What a verified event asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAction {
    /// Settle this payment of ours from the gateway's record (a charge or hold moved).
    Reconcile(PaymentId),
    /// Settle the refunds in flight of this payment of ours (the charge was refunded).
    ReconcileRefundsOf(PaymentId),
    /// Nothing to do (another event type, or a payment we did not make).
    Ignore,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRejected(pub String);

impl fmt::Display for WebhookRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a webhook delivery's signature over the raw body and reads the event. `billingd`
/// implements it with billing-stripe's `verify_event`; tests with a fake.
pub trait WebhookVerifier: Send + Sync + 'static {
    /// Verifies `payload` against the `Stripe-Signature` header and reads it.
    ///
    /// # Errors
    /// [`WebhookRejected`] when the signature does not verify or the payload is unreadable.
    fn verify(&self, payload: &[u8], signature: &str) -> Result<WebhookEvent, WebhookRejected>;
}

/// Whether the service can serve: the database answers.
#[async_trait]
pub trait Readiness: Send + Sync + 'static {
    /// `Ok` when ready, else why not.
    async fn check(&self) -> Result<(), String>;
}

/// Always ready (for a store without a connection, like the in-memory one).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysReady;

#[async_trait]
impl Readiness for AlwaysReady {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A readiness check from an async closure.
pub struct ReadinessFn<F>(pub F);

impl<F> fmt::Debug for ReadinessFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadinessFn")
    }
}

#[async_trait]
impl<F, Fut> Readiness for ReadinessFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    async fn check(&self) -> Result<(), String> {
        (self.0)().await
    }
}

/// The wall clock, for a state not given the engine's.
#[derive(Debug, Clone, Copy)]
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        // chrono's `clock` feature is off in the workspace; the standard clock does the same.
        DateTime::<Utc>::from(std::time::SystemTime::now())
    }
}

/// Everything the router needs: the engine over a store `S` and a gateway `G`, the settings,
/// and the injected webhook verifier, readiness check, card form and clock.
pub struct AppState<S, G> {
    billing: Arc<Billing<S, G>>,
    config: HttpConfig,
    webhooks: Option<Arc<dyn WebhookVerifier>>,
    readiness: Arc<dyn Readiness>,
    card_form: Option<CardForm>,
    clock: Arc<dyn Clock>,
}

impl<S, G> fmt::Debug for AppState<S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("webhooks", &self.webhooks.is_some())
            .field("card_form", &self.card_form)
            .finish_non_exhaustive()
    }
}

impl<S, G> Clone for AppState<S, G> {
    fn clone(&self) -> Self {
        AppState {
            billing: Arc::clone(&self.billing),
            config: self.config.clone(),
            webhooks: self.webhooks.clone(),
            readiness: Arc::clone(&self.readiness),
            card_form: self.card_form.clone(),
            clock: Arc::clone(&self.clock),
        }
    }
}

impl<S, G> AppState<S, G>
where
    S: Ledger
        + CustomerDirectory
        + Businesses
        + PaymentLinks
        + NotificationLog
        + Clone
        + Send
        + Sync
        + 'static,
    G: PaymentGateway + 'static,
{
    /// The engine with the default settings, no webhooks, always ready.
    pub fn new(billing: Billing<S, G>) -> Self {
        Self::from_shared(Arc::new(billing))
    }

    /// An engine shared with other parts of the process.
    pub fn from_shared(billing: Arc<Billing<S, G>>) -> Self {
        AppState {
            billing,
            config: HttpConfig::default(),
            webhooks: None,
            readiness: Arc::new(AlwaysReady),
            card_form: None,
            clock: Arc::new(WallClock),
        }
    }

    /// The same state with other settings.
    pub fn with_config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// The same state with a webhook verifier: `POST /v1/webhooks/stripe` is served.
    pub fn with_webhooks(mut self, verifier: Arc<dyn WebhookVerifier>) -> Self {
        self.webhooks = Some(verifier);
        self
    }

    /// The same state with a readiness check for `GET /readyz`.
    pub fn with_readiness(mut self, readiness: Arc<dyn Readiness>) -> Self {
        self.readiness = readiness;
        self
    }

    /// The same state with a card form: the hosted payment and card pages are served (without
    /// one they answer 404, like an unknown link).
    pub fn with_card_form(mut self, form: CardForm) -> Self {
        self.card_form = Some(form);
        self
    }

    /// The same state reading the time from `clock`: give it the engine's clock, so that a
    /// link's `expired` status and a card's expiry check agree with the engine (the system
    /// clock by default).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The engine.
    pub fn billing(&self) -> &Arc<Billing<S, G>> {
        &self.billing
    }

    pub(crate) fn into_shared(self) -> Api {
        let limiter = TokenBucket::new(self.config.bulk_rate_limit);
        let page_limiter = ClientLimiter::new(
            self.config.page_rate_burst,
            self.config.page_rate_interval,
            self.config.page_rate_clients,
        );
        Arc::new(Shared {
            engine: self.billing,
            webhooks: self.webhooks,
            readiness: self.readiness,
            limiter,
            seen: SeenEvents::new(self.config.seen_events),
            card_form: self.card_form,
            clock: self.clock,
            page_limiter,
            config: self.config,
        })
    }
}

/// The state handlers see, without the store and gateway types.
pub(crate) type Api = Arc<Shared>;

pub(crate) struct Shared {
    pub(crate) engine: Arc<dyn Engine>,
    pub(crate) config: HttpConfig,
    pub(crate) webhooks: Option<Arc<dyn WebhookVerifier>>,
    pub(crate) readiness: Arc<dyn Readiness>,
    pub(crate) limiter: TokenBucket,
    pub(crate) seen: SeenEvents,
    pub(crate) card_form: Option<CardForm>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) page_limiter: ClientLimiter,
}

impl Shared {
    /// The time, as the engine reads it when given its clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The latest webhook event ids processed, to skip redeliveries within this process. Bounded:
/// the oldest are forgotten first (reconciling is idempotent anyway, so forgetting is safe).
pub(crate) struct SeenEvents {
    capacity: usize,
    inner: Mutex<(VecDeque<String>, HashSet<String>)>,
}

impl SeenEvents {
    fn new(capacity: usize) -> Self {
        SeenEvents {
            capacity,
            inner: Mutex::new((VecDeque::new(), HashSet::new())),
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.1.contains(id)
    }

    pub(crate) fn insert(&self, id: &str) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (order, set) = &mut *inner;
        if !set.insert(id.to_owned()) {
            return;
        }
        order.push_back(id.to_owned());
        while order.len() > self.capacity {
            if let Some(oldest) = order.pop_front() {
                set.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_events_forget_the_oldest() {
        let seen = SeenEvents::new(2);
        seen.insert("a");
        seen.insert("b");
        seen.insert("b");
        assert!(seen.contains("a"));
        seen.insert("c");
        assert!(!seen.contains("a"));
        assert!(seen.contains("b") && seen.contains("c"));
    }
}
