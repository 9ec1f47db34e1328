//! What the router runs on: the billing service, the HTTP settings, and the pieces `billingd`
//! injects (the webhook verifier, the readiness check, the hosted pages' card form).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use billing_core::billing::Billing;
use billing_core::ports::{TextCallbacks, WebhookVerifier};
use chrono::{DateTime, Utc};

use crate::cards::CardForm;
use crate::pages::client::TrustedProxy;
use crate::pages::limit::ClientLimiter;

/// Settings of the HTTP layer. How bulk charges are paced is the core's policy
/// ([`Policy::bulk`](billing_core::billing::Policy::bulk)), not the API's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The largest request body accepted.
    pub body_limit: usize,
    /// How long a request may take before the client gets a 503 problem. A money-moving
    /// command goes on to its end regardless: it runs in its own task.
    pub request_timeout: Duration,
    /// Hosted pages: how many requests one client address may make at once (a token bucket per
    /// address, so that nobody can try link tokens or cards by the thousand).
    pub page_rate_burst: NonZeroU32,
    /// Hosted pages: a client address earns one more request every this long.
    pub page_rate_interval: Duration,
    /// Hosted pages: how many client addresses the rate limit tracks at most (its memory
    /// bound; refilled buckets, then the least recently seen, are forgotten first).
    pub page_rate_clients: usize,
    /// The proxies (load balancers) in front of this service whose `X-Forwarded-For` is
    /// believed: the rate limit then keys on the client address they forward (the right-most
    /// one that is not itself a trusted proxy) instead of on theirs. Empty by default: the
    /// header, which any client can write, is ignored.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// The customer portal's session cookie is sent over HTTPS alone (`Secure`): true unless
    /// the service's public URL is plain HTTP (a machine of one's own).
    pub secure_cookies: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            page_rate_burst: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            page_rate_interval: Duration::from_secs(2),
            page_rate_clients: 10_000,
            trusted_proxies: Vec::new(),
            secure_cookies: true,
        }
    }
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

/// Everything the router needs: the billing service (whatever store and gateway it was given),
/// the settings, and the injected webhook verifier, readiness check and card form.
#[derive(Clone)]
pub struct AppState {
    billing: Billing,
    config: HttpConfig,
    webhooks: Option<Arc<dyn WebhookVerifier>>,
    text_callbacks: Option<TextCallbackEndpoint>,
    readiness: Arc<dyn Readiness>,
    card_form: Option<CardForm>,
}

/// The text provider's callbacks as this service receives them: the provider's verifier, and
/// the public URL the provider posts to (its signature covers the URL).
#[derive(Clone)]
pub(crate) struct TextCallbackEndpoint {
    pub(crate) verifier: Arc<dyn TextCallbacks>,
    pub(crate) public_url: String,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("billing", &self.billing)
            .field("config", &self.config)
            .field("webhooks", &self.webhooks.is_some())
            .field("text_callbacks", &self.text_callbacks.is_some())
            .field("card_form", &self.card_form)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The service with the default settings, no webhooks, no hosted pages' card form, always
    /// ready.
    pub fn new(billing: Billing) -> Self {
        AppState {
            billing,
            config: HttpConfig::default(),
            webhooks: None,
            text_callbacks: None,
            readiness: Arc::new(AlwaysReady),
            card_form: None,
        }
    }

    /// The same state with other settings.
    pub fn with_config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// The same state with a webhook verifier (the gateway adapter's): `POST
    /// /v1/webhooks/stripe` is served.
    pub fn with_webhooks(mut self, verifier: Arc<dyn WebhookVerifier>) -> Self {
        self.webhooks = Some(verifier);
        self
    }

    /// The same state with the text provider's callbacks: `POST /v1/webhooks/texts` is served,
    /// each callback checked by `verifier` as posted to `public_url` (the address the provider
    /// was given, which its signature covers): delivery reports and STOP replies.
    pub fn with_text_callbacks(
        mut self,
        verifier: Arc<dyn TextCallbacks>,
        public_url: impl Into<String>,
    ) -> Self {
        self.text_callbacks = Some(TextCallbackEndpoint {
            verifier,
            public_url: public_url.into(),
        });
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

    /// The billing service.
    pub fn billing(&self) -> &Billing {
        &self.billing
    }

    pub(crate) fn into_shared(self) -> Api {
        let page_limiter = ClientLimiter::new(
            self.config.page_rate_burst,
            self.config.page_rate_interval,
            self.config.page_rate_clients,
        );
        Arc::new(Shared {
            billing: self.billing,
            webhooks: self.webhooks,
            text_callbacks: self.text_callbacks,
            readiness: self.readiness,
            card_form: self.card_form,
            page_limiter,
            config: self.config,
        })
    }
}

/// The state handlers see.
pub(crate) type Api = Arc<Shared>;

pub(crate) struct Shared {
    pub(crate) billing: Billing,
    pub(crate) config: HttpConfig,
    pub(crate) webhooks: Option<Arc<dyn WebhookVerifier>>,
    pub(crate) text_callbacks: Option<TextCallbackEndpoint>,
    pub(crate) readiness: Arc<dyn Readiness>,
    pub(crate) card_form: Option<CardForm>,
    pub(crate) page_limiter: ClientLimiter,
}

impl Shared {
    /// The time, as the billing service reads it: a link's `expired` status and a card's
    /// expiry check agree with the engine.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.billing.now()
    }
}
