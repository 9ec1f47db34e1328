//! The HTTP server and the test-facing API of [`FakeStripe`].
//!
//! Starting the fake and reading its state is here; how one request is served is in [`http`],
//! the faults and chaos a test can inject are in [`faults`], events and their signatures in
//! [`signing`], their delivery to a webhook endpoint in [`delivery`], operations made outside
//! the API (dashboard, card network, customer) in [`operations`], the control API under
//! `/_fake/` in [`control`] and the 3-D Secure page in [`threeds`].

mod control;
mod delivery;
mod dump;
mod faults;
mod http;
mod onboarding;
mod operations;
mod signing;
mod threeds;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, Ctx};
use crate::conn::{ConnHandle, FaultyListener};
use crate::form;
use crate::state::{State, random_alnum};

use delivery::Delivery;
pub use delivery::{DeliveryAttempt, DeliverySettings};
pub use faults::{Chaos, Fault, RequestFilter};
use faults::{ChaosRule, FaultRule};

/// The API version the fake reports when the client sends no `Stripe-Version`
/// (the one async-stripe 1.0.0-rc.10 pins).
pub const DEFAULT_API_VERSION: &str = "2026-09-30.endive";

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `Request-Id` the fake gave it (`req_...`).
    pub request_id: String,
    /// `GET`, `POST` or `DELETE`.
    pub method: String,
    /// Path without the query, e.g. `/v1/payment_intents/pi_123/capture`.
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: Option<String>,
    /// The raw form-encoded body.
    pub body: String,
    /// The `Stripe-Account` header: the connected account acted on.
    pub stripe_account: Option<String>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Stripe-Version` header the client pinned.
    pub stripe_version: Option<String>,
    /// The fault injected into this request, if any. A response lost to [`Chaos`] shows as
    /// [`Fault::ResetAfterProcessing`].
    pub fault: Option<Fault>,
    /// The status answered; `None` when the connection was dropped unanswered.
    pub status: Option<u16>,
    /// Whether the answer was an idempotent replay.
    pub replayed: bool,
}

impl RecordedRequest {
    /// The decoded parameters (body for POST, query otherwise) as nested JSON with
    /// string leaves: `metadata[payment_id]=x` becomes `{"metadata": {"payment_id": "x"}}`.
    pub fn params(&self) -> Value {
        if self.method == "POST" {
            form::parse(&self.body)
        } else {
            form::parse(self.query.as_deref().unwrap_or_default())
        }
    }
}

/// How to start a [`FakeStripe`] (see [`FakeStripe::start_with`]). The default is what
/// [`FakeStripe::start`] uses: any free port, random keys, no webhook delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeStripeConfig {
    /// The port on 127.0.0.1; 0 takes any free port.
    pub port: u16,
    /// The only API key accepted; random (`sk_test_fake...`) when `None`.
    pub secret_key: Option<String>,
    /// The webhook signing secret; random (`whsec_...`) when `None`.
    pub webhook_secret: Option<String>,
    /// Where every event is delivered by HTTP POST, signed, in the background
    /// (`http://` only); `None` records events without delivering them.
    pub webhook_url: Option<String>,
    /// Seeds the random choices of webhook delivery (delays, duplicates, retry jitter).
    pub seed: u64,
}

#[derive(Debug)]
struct Control {
    require_account: bool,
    faults: Vec<FaultRule>,
    chaos: Option<ChaosRule>,
    timeout_hold: Duration,
}

#[derive(Debug)]
struct Shared {
    secret_key: String,
    webhook_secret: String,
    state: Mutex<State>,
    control: Mutex<Control>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Set to `true` to stop the server (and the deliveries).
    stop: watch::Sender<bool>,
    shutdown: watch::Receiver<bool>,
    delivery: Option<Delivery>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another test thread must not cascade through the fake.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Runs `f` on the state after Stripe's clock had its say (expired holds), then hands
    /// the events it recorded to the webhook delivery.
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = lock(&self.state);
        api::sweep(&mut state);
        let result = f(&mut state);
        self.publish(&mut state);
        result
    }

    fn advance_clock(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.with_state(|state| {
            state.clock_offset = state.clock_offset.saturating_add(secs);
            api::sweep(state);
        });
    }

    fn set_multicapture(&self, account: Option<&str>, allowed: bool) {
        self.with_state(|state| {
            state
                .accounts
                .entry(account.map(str::to_owned))
                .or_default()
                .multicapture_off = !allowed;
        });
    }

    /// Hands the events recorded since the last call to the webhook delivery, in order.
    fn publish(&self, state: &mut State) {
        if let Some(delivery) = &self.delivery {
            for stored in state.events.iter().skip(state.published) {
                delivery.enqueue(stored.event.clone());
            }
        }
        state.published = state.events.len();
    }
}

/// A stateful fake of the Stripe API on `127.0.0.1`, for tests.
///
/// Dropping it stops the server.
#[derive(Debug)]
pub struct FakeStripe {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl FakeStripe {
    /// Starts a fake on a free loopback port. Must run inside a Tokio runtime.
    ///
    /// # Panics
    /// If no loopback port can be bound (see [`FakeStripe::try_start`]).
    pub async fn start() -> FakeStripe {
        Self::try_start()
            .await
            .expect("FakeStripe could not bind a port on 127.0.0.1")
    }

    /// Starts a fake on a free loopback port.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn try_start() -> std::io::Result<FakeStripe> {
        Self::start_with(FakeStripeConfig::default()).await
    }

    /// Starts a fake as `config` says. Must run inside a Tokio runtime.
    ///
    /// # Errors
    /// When the port cannot be bound, or the webhook URL is not an `http://` URL.
    pub async fn start_with(config: FakeStripeConfig) -> std::io::Result<FakeStripe> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let webhook_secret = config
            .webhook_secret
            .unwrap_or_else(|| format!("whsec_{}", random_alnum(32)));
        let delivery = match &config.webhook_url {
            Some(url) => Some(Delivery::start(
                url,
                webhook_secret.clone(),
                config.seed,
                rx.clone(),
            )?),
            None => None,
        };
        let state = State {
            public_url: format!("http://{addr}"),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            secret_key: config
                .secret_key
                .unwrap_or_else(|| format!("sk_test_fake{}", random_alnum(24))),
            webhook_secret,
            state: Mutex::new(state),
            control: Mutex::new(Control {
                require_account: false,
                faults: Vec::new(),
                chaos: None,
                timeout_hold: Duration::from_secs(10),
            }),
            requests: Mutex::new(Vec::new()),
            stop: tx,
            shutdown: rx.clone(),
            delivery,
        });
        let app = Router::new()
            .nest("/_fake", control::router())
            .fallback(http::handle)
            .with_state(Arc::clone(&shared));
        let mut stop = rx;
        let server = axum::serve(
            FaultyListener(listener),
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        });
        let task = tokio::spawn(async move {
            if let Err(err) = server.await {
                tracing::warn!("FakeStripe server stopped: {err}");
            }
        });
        Ok(FakeStripe {
            shared,
            addr,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/`, for `ClientBuilder::url` (async-stripe appends `v1/...`).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The only API key the fake accepts (`Authorization: Bearer <key>`).
    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    /// The signing secret of the fake's webhook endpoint (`whsec_...`).
    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// Stops the server and waits for it to finish. Requests held by
    /// [`Fault::TimeoutAfterProcessing`] are dropped at once, and webhook deliveries stop.
    pub async fn shutdown(mut self) {
        let _ = self.shared.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Resolves once the fake was told to stop by its control API (`POST /_fake/shutdown`);
    /// the binary waits on it.
    pub async fn stopped(&self) {
        let mut stop = self.shared.shutdown.clone();
        let _ = stop.wait_for(|stopped| *stopped).await;
    }

    /// When on, every request without a `Stripe-Account` header is refused with a
    /// 400 naming this setting, so that a test fails when a call forgot the account.
    pub fn require_account(&self, on: bool) {
        lock(&self.shared.control).require_account = on;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Forgets the requests received so far, so that a test can look at its own only.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Moves the fake's clock forward (for `created`, `capture_before`, ...).
    /// Uncaptured authorizations past their `capture_before` end at once, with their
    /// events (`payment_intent.canceled` with `cancellation_reason: automatic`).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// The fake's current time, in Unix seconds.
    pub fn now(&self) -> i64 {
        lock(&self.shared.state).now()
    }

    /// How long a new PaymentIntent stays out of `/v1/payment_intents/search`, on the
    /// fake's clock (Stripe's search index lags up to a minute behind). Default: zero.
    pub fn set_search_lag(&self, lag: Duration) {
        let secs = i64::try_from(lag.as_secs()).unwrap_or(i64::MAX);
        lock(&self.shared.state).search_lag = secs;
    }

    /// Whether an account (`None`: the platform) may use multicapture (default: yes).
    /// When off, holds that ask for it get `multicapture.status: unavailable`, and a
    /// capture with `final_capture=false` is refused.
    pub fn set_multicapture(&self, account: Option<&str>, allowed: bool) {
        self.shared.set_multicapture(account, allowed);
    }

    /// The current JSON of a stored object, found by id (`cus_`, `pm_`, `pi_`, `ch_`,
    /// `re_`, `seti_`, `dp_`, `evt_`) in the platform (`None`) or a connected account.
    pub fn object(&self, account: Option<&str>, id: &str) -> Option<Value> {
        self.shared.with_state(|state| {
            let ctx = Ctx::new(
                state,
                account.map(str::to_owned),
                String::new(),
                None,
                DEFAULT_API_VERSION.into(),
            );
            api::render_object(&ctx, id)
        })
    }

    /// Every PaymentIntent of every account, with its refunds and disputes: the fake's own
    /// records, to compare a ledger with (the shape is documented in the crate docs, under
    /// `GET /_fake/state`).
    pub fn state_dump(&self) -> Value {
        self.shared.with_state(|state| dump::dump(state))
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        // Stops accepting, ends idle connections and releases held requests; the
        // server task then ends by itself.
        let _ = self.shared.stop.send(true);
    }
}
