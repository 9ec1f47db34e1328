//! The HTTP server and the test-facing API of [`FakeStripe`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, Ctx};
use crate::conn::{ConnHandle, FaultyListener};
use crate::error::ApiError;
use crate::params::Params;
use crate::state::{SavedResponse, State, new_id, random_alnum};
use crate::{form, webhook};

/// The API version the fake reports when the client sends no `Stripe-Version`
/// (the one async-stripe 1.0.0-rc.10 pins).
pub const DEFAULT_API_VERSION: &str = "2026-09-30.endive";

/// A fault to inject into upcoming requests (see [`FakeStripe::inject`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Performs the request (state changes, idempotency record), then holds the
    /// response for [`FakeStripe::set_timeout_hold`] (default 10 s) — longer than a
    /// client timeout — and drops the connection without answering. This is the
    /// "did my charge go through?" case: a retry with the same Idempotency-Key
    /// gets the saved response.
    TimeoutAfterProcessing,
    /// Performs the request, then drops the connection at once without answering.
    ResetAfterProcessing,
    /// Answers this 5xx status with Stripe's `api_error` body, doing nothing
    /// (a status outside 500–599 is answered as 500).
    ServerError(u16),
    /// Answers 429 with Stripe's `rate_limit` error, doing nothing.
    RateLimited,
    /// Closes the connection (TCP reset) without answering, doing nothing.
    ConnectionReset,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    method: Option<String>,
    path_prefix: Option<String>,
}

impl RequestFilter {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests whose path starts with `prefix`, e.g. `/v1/payment_intents`.
    pub fn path_prefix(prefix: impl Into<String>) -> Self {
        Self {
            method: None,
            path_prefix: Some(prefix.into()),
        }
    }

    /// Narrows to one HTTP method (`"POST"`, `"GET"`, `"DELETE"`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_uppercase());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `Request-Id` the fake gave it (`req_...`).
    pub request_id: String,
    pub method: String,
    /// Path without the query, e.g. `/v1/payment_intents/pi_123/capture`.
    pub path: String,
    pub query: Option<String>,
    /// The raw form-encoded body.
    pub body: String,
    pub stripe_account: Option<String>,
    pub idempotency_key: Option<String>,
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
struct FaultRule {
    filter: RequestFilter,
    fault: Fault,
    remaining: usize,
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
            .fallback(handle)
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

    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Injects `fault` into the next `times` requests.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.inject_matching(RequestFilter::any(), fault, times);
    }

    /// Injects `fault` into the next `times` requests that `filter` matches. Rules
    /// apply in the order they were injected; a request takes at most one fault.
    pub fn inject_matching(&self, filter: RequestFilter, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        lock(&self.shared.control).faults.push(FaultRule {
            filter,
            fault,
            remaining: times,
        });
    }

    /// How many injected faults have not fired yet.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.control)
            .faults
            .iter()
            .map(|r| r.remaining)
            .sum()
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.control).faults.clear();
    }

    /// How long [`Fault::TimeoutAfterProcessing`] holds a response before dropping
    /// the connection (default 10 s).
    pub fn set_timeout_hold(&self, hold: Duration) {
        lock(&self.shared.control).timeout_hold = hold;
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

/// The outcome of one request, before it is turned into an HTTP response.
struct Outcome {
    status: u16,
    body: String,
    replayed: Option<String>,
}

impl Outcome {
    fn error(err: &ApiError, request_id: &str) -> Self {
        Outcome {
            status: err.status,
            body: format!("{:#}", err.body(request_id)),
            replayed: None,
        }
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Masks a key the way Stripe echoes a wrong one: `sk_test_****************1234`.
fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 12))
}

fn check_auth(headers: &HeaderMap, secret: &str) -> Result<(), ApiError> {
    let Some(auth) = header_str(headers, "authorization") else {
        return Err(ApiError::new(
            401,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        ));
    };
    let key = auth.strip_prefix("Bearer ").unwrap_or(&auth).trim();
    if key == secret {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            "invalid_request_error",
            format!("Invalid API Key provided: {}", mask_key(key)),
        )
        .code("api_key_invalid"))
    }
}

impl Shared {
    fn record(&self, request: RecordedRequest) -> usize {
        let mut requests = lock(&self.requests);
        requests.push(request);
        requests.len() - 1
    }

    fn update_record(&self, index: usize, status: Option<u16>, replayed: bool) {
        if let Some(r) = lock(&self.requests).get_mut(index) {
            r.status = status;
            r.replayed = replayed;
        }
    }

    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut control = lock(&self.control);
        let rule = control
            .faults
            .iter_mut()
            .find(|r| r.remaining > 0 && r.filter.matches(method, path))?;
        rule.remaining -= 1;
        let fault = rule.fault;
        control.faults.retain(|r| r.remaining > 0);
        Some(fault)
    }

    /// Authenticates, checks the account, applies idempotency and runs the endpoint.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        account: Option<String>,
        idempotency_key: Option<String>,
        stripe_version: Option<String>,
        request_id: &str,
        params: Params,
    ) -> Outcome {
        if let Err(err) = check_auth(headers, &self.secret_key) {
            return Outcome::error(&err, request_id);
        }
        let require_account = lock(&self.control).require_account;
        if require_account && account.is_none() {
            let err = ApiError::invalid(
                "FakeStripe: this request has no Stripe-Account header, and require_account is on.",
            );
            return Outcome::error(&err, request_id);
        }
        if let Some(acct) = account.as_deref().filter(|a| !a.starts_with("acct_")) {
            let err = ApiError::new(
                403,
                "invalid_request_error",
                format!(
                    "The provided key '{}' does not have access to account '{acct}' (or that account does not exist). Application access may have been revoked.",
                    mask_key(&self.secret_key)
                ),
            )
            .code("account_invalid");
            return Outcome::error(&err, request_id);
        }
        let Some(rest) = path.strip_prefix("/v1/") else {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let err = api::unrecognized(method, &segments);
            return Outcome::error(&err, request_id);
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();

        let mut state = lock(&self.state);
        // Idempotency applies to POSTs; keys are scoped per connected account.
        let idem = idempotency_key
            .clone()
            .filter(|_| method == "POST")
            .map(|key| (account.clone(), key));
        if let Some(slot) = &idem {
            if slot.1.len() > 255 {
                let err = ApiError::invalid(
                    "Invalid idempotency key: the key must be at most 255 characters long.",
                )
                .code("idempotency_key_in_use");
                return Outcome::error(&err, request_id);
            }
            if let Some(saved) = state.idempotency.get(slot) {
                let same = saved.method == method
                    && saved.path == path
                    && saved.params == params.as_value();
                if same {
                    return Outcome {
                        status: saved.status,
                        body: saved.body.clone(),
                        replayed: Some(saved.request_id.clone()),
                    };
                }
                let err = ApiError::new(
                    400,
                    "idempotency_error",
                    format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.",
                        slot.1
                    ),
                );
                return Outcome::error(&err, request_id);
            }
        }

        let version = stripe_version.unwrap_or_else(|| DEFAULT_API_VERSION.into());
        let result = {
            let mut ctx = Ctx::new(
                &mut state,
                account,
                request_id.to_owned(),
                idempotency_key,
                version,
            );
            api::dispatch(&mut ctx, method, &segments, &params)
        };
        let outcome = match result {
            Ok(body) => Outcome {
                status: 200,
                body: format!("{body:#}"),
                replayed: None,
            },
            Err(err) => Outcome::error(&err, request_id),
        };
        // Stripe saves the result once the endpoint ran: successes and card errors.
        // Requests refused by validation (400s) are not saved and may be retried.
        if let Some(slot) = idem
            && (outcome.status < 300 || outcome.status == 402)
        {
            state.idempotency.insert(
                slot,
                SavedResponse {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    params: params.as_value(),
                    status: outcome.status,
                    body: outcome.body.clone(),
                    request_id: request_id.to_owned(),
                },
            );
        }
        outcome
    }
}

fn json_response(
    status: u16,
    body: String,
    request_id: &str,
    version: &str,
    extra: &[(&'static str, String)],
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("request-id", request_id);
    put("stripe-version", version);
    for (name, value) in extra {
        put(name, value);
    }
    response
}

/// What hyper gets after the connection was killed: never written.
fn unanswered() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = format!("req_{}", random_alnum(14));
    let method = method.as_str().to_owned();
    let path = uri.path().to_owned();
    let query = uri.query().map(str::to_owned);
    let body = String::from_utf8_lossy(&body).into_owned();
    let account = header_str(&headers, "stripe-account");
    let idempotency_key = header_str(&headers, "idempotency-key");
    let stripe_version = header_str(&headers, "stripe-version");
    let fault = shared.take_fault(&method, &path);
    let index = shared.record(RecordedRequest {
        request_id: request_id.clone(),
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        stripe_account: account.clone(),
        idempotency_key: idempotency_key.clone(),
        stripe_version: stripe_version.clone(),
        fault,
        status: None,
        replayed: false,
    });
    let version = stripe_version
        .clone()
        .unwrap_or_else(|| DEFAULT_API_VERSION.into());

    // Faults that answer (or not) before anything is done.
    match fault {
        Some(Fault::ConnectionReset) => {
            conn.kill();
            return unanswered();
        }
        Some(Fault::ServerError(status)) => {
            let status = if (500..=599).contains(&status) {
                status
            } else {
                500
            };
            let err = ApiError::new(status, "api_error", "An unknown error occurred");
            shared.update_record(index, Some(status), false);
            return json_response(
                status,
                format!("{:#}", err.body(&request_id)),
                &request_id,
                &version,
                &[],
            );
        }
        Some(Fault::RateLimited) => {
            let err = ApiError::new(
                429,
                "invalid_request_error",
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            )
            .code("rate_limit");
            shared.update_record(index, Some(429), false);
            return json_response(
                429,
                format!("{:#}", err.body(&request_id)),
                &request_id,
                &version,
                &[],
            );
        }
        _ => {}
    }

    // Parameters: the query for GET/DELETE, the form body (plus any query) for POST.
    let mut params = form::parse(query.as_deref().unwrap_or_default());
    if method == "POST"
        && let (Value::Object(into), Value::Object(from)) = (&mut params, form::parse(&body))
    {
        into.extend(from);
    }
    let outcome = shared.process(
        &method,
        &path,
        &headers,
        account.clone(),
        idempotency_key.clone(),
        stripe_version,
        &request_id,
        Params::new(params),
    );

    match fault {
        Some(Fault::TimeoutAfterProcessing) => {
            let hold = lock(&shared.control).timeout_hold;
            let mut stop = shared.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(hold) => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
            conn.kill();
            return unanswered();
        }
        Some(Fault::ResetAfterProcessing) => {
            conn.kill();
            return unanswered();
        }
        _ => {}
    }

    shared.update_record(index, Some(outcome.status), outcome.replayed.is_some());
    let mut extra: Vec<(&'static str, String)> = Vec::new();
    if let Some(key) = &idempotency_key {
        extra.push(("idempotency-key", key.clone()));
    }
    if let Some(acct) = &account {
        extra.push(("stripe-account", acct.clone()));
    }
    if let Some(original) = &outcome.replayed {
        extra.push(("idempotent-replayed", "true".into()));
        extra.push(("original-request", original.clone()));
    }
    json_response(outcome.status, outcome.body, &request_id, &version, &extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_like_stripe() {
        assert_eq!(mask_key("sk_test_abcdefghij1234"), "sk_test_**********1234");
        assert_eq!(mask_key("short"), "*****");
    }

    #[test]
    fn filters() {
        let f = RequestFilter::path_prefix("/v1/refunds").method("post");
        assert!(f.matches("POST", "/v1/refunds"));
        assert!(!f.matches("GET", "/v1/refunds"));
        assert!(!f.matches("POST", "/v1/payment_intents"));
        assert!(RequestFilter::any().matches("GET", "/anything"));
    }
}
