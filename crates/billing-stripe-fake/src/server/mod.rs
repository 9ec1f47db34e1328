//! The HTTP server and the test-facing API of [`FakeStripe`].
//!
//! The test-facing side is here; how one request is served is in [`http`], and the faults a
//! test can inject are in [`faults`].

mod faults;
mod http;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, Ctx};
use crate::conn::{ConnHandle, FaultyListener};
use crate::state::{State, new_id, random_alnum};
use crate::{form, webhook};

use faults::FaultRule;
pub use faults::{Fault, RequestFilter};

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
    /// The fault injected into this request, if any.
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

#[derive(Debug)]
struct Control {
    require_account: bool,
    faults: Vec<FaultRule>,
    timeout_hold: Duration,
}

#[derive(Debug)]
struct Shared {
    secret_key: String,
    webhook_secret: String,
    state: Mutex<State>,
    control: Mutex<Control>,
    requests: Mutex<Vec<RecordedRequest>>,
    shutdown: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another test thread must not cascade through the fake.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stateful fake of the Stripe API on `127.0.0.1`, for tests.
///
/// Dropping it stops the server.
#[derive(Debug)]
pub struct FakeStripe {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
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
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            secret_key: format!("sk_test_fake{}", random_alnum(24)),
            webhook_secret: format!("whsec_{}", random_alnum(32)),
            state: Mutex::new(State::default()),
            control: Mutex::new(Control {
                require_account: false,
                faults: Vec::new(),
                timeout_hold: Duration::from_secs(10),
            }),
            requests: Mutex::new(Vec::new()),
            shutdown: rx.clone(),
        });
        let app = Router::new()
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
            shutdown: tx,
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
    /// [`Fault::TimeoutAfterProcessing`] are dropped at once.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
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
    /// Uncaptured authorizations past their `capture_before` are then canceled
    /// (`cancellation_reason: automatic`) when their account is next used.
    pub fn advance_clock(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        let mut state = lock(&self.shared.state);
        state.clock_offset = state.clock_offset.saturating_add(secs);
    }

    /// The fake's current time, in Unix seconds.
    pub fn now(&self) -> i64 {
        lock(&self.shared.state).now()
    }

    /// The current JSON of a stored object, found by id (`cus_`, `pm_`, `pi_`, `ch_`,
    /// `re_`, `seti_`, `evt_`) in the platform (`None`) or a connected account.
    pub fn object(&self, account: Option<&str>, id: &str) -> Option<Value> {
        let mut state = lock(&self.shared.state);
        let account = account.map(str::to_owned);
        let ctx = Ctx::new(
            &mut state,
            account,
            String::new(),
            None,
            DEFAULT_API_VERSION.into(),
        );
        api::render_object(&ctx, id)
    }

    /// The events the fake emitted (all accounts), oldest first. Connect events
    /// carry `account`.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.shared.state)
            .events
            .iter()
            .map(|e| e.event.clone())
            .collect()
    }

    /// The emitted events of `event_type` (e.g. `payment_intent.succeeded`), oldest first.
    pub fn events_of_type(&self, event_type: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == json!(event_type))
            .collect()
    }

    /// Builds an `event` object in full Stripe shape around `object`.
    pub fn event(&self, event_type: &str, object: Value) -> Value {
        self.build_event(None, event_type, object)
    }

    fn build_event(&self, account: Option<&str>, event_type: &str, object: Value) -> Value {
        webhook::EventSpec {
            id: new_id("evt"),
            event_type: event_type.to_owned(),
            object,
            previous_attributes: None,
            created: self.now(),
            api_version: DEFAULT_API_VERSION.into(),
            account: account.map(str::to_owned),
            request_id: None,
            idempotency_key: None,
        }
        .to_json()
    }

    /// A webhook delivery: `(payload, Stripe-Signature header value)` for an event of
    /// `event_type` around `object`, signed now with [`FakeStripe::webhook_secret`].
    pub fn signed_event(&self, event_type: &str, object: Value) -> (String, String) {
        let payload = self.event(event_type, object).to_string();
        let header = self.sign(&payload);
        (payload, header)
    }

    /// Like [`FakeStripe::signed_event`], for an event of a connected account
    /// (the event carries `account`).
    pub fn signed_connect_event(
        &self,
        account: &str,
        event_type: &str,
        object: Value,
    ) -> (String, String) {
        let payload = self
            .build_event(Some(account), event_type, object)
            .to_string();
        let header = self.sign(&payload);
        (payload, header)
    }

    /// The `Stripe-Signature` header for `payload`, signed now with the fake's secret.
    pub fn sign(&self, payload: &str) -> String {
        webhook::signature_header(
            payload,
            &self.shared.webhook_secret,
            crate::state::unix_now(),
        )
    }

    /// The `Stripe-Signature` header for `payload` at a chosen timestamp (e.g. an
    /// old one, to test the tolerance) with the fake's secret.
    pub fn sign_at(&self, payload: &str, timestamp: i64) -> String {
        webhook::signature_header(payload, &self.shared.webhook_secret, timestamp)
    }

    /// Finishes the customer's 3-D Secure step of an intent in `requires_action`
    /// (`pi_...` or `seti_...`), which a real test mode does in a browser.
    /// `success: false` fails it as Stripe does (`requires_payment_method`,
    /// `payment_intent_authentication_failure`). Returns the updated intent.
    ///
    /// # Errors
    /// The Stripe error message when the intent is missing or not awaiting action.
    pub fn complete_authentication(
        &self,
        account: Option<&str>,
        intent_id: &str,
        success: bool,
    ) -> Result<Value, String> {
        let mut state = lock(&self.shared.state);
        let mut ctx = Ctx::new(
            &mut state,
            account.map(str::to_owned),
            format!("req_{}", random_alnum(14)),
            None,
            DEFAULT_API_VERSION.into(),
        );
        api::complete_authentication(&mut ctx, intent_id, success).map_err(|e| e.message)
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        // Stops accepting, ends idle connections and releases held requests; the
        // server task then ends by itself.
        let _ = self.shutdown.send(true);
    }
}
