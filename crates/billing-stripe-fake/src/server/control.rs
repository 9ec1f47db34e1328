//! The control API under `/_fake/`: JSON in, JSON out, no Stripe authentication. It gives a
//! test in another process (a crash campaign against the binary) what [`super::FakeStripe`]'s
//! methods give a test in this one. The paths and bodies are documented in the crate docs.
//!
//! Errors answer `{"error": {"type", "message", ...}}` as Stripe's do: 400 for a bad body, and
//! Stripe's own status and error for an operation Stripe would refuse.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::faults::{Chaos, Fault, RequestFilter};
use super::{DeliverySettings, Shared, dump, lock, onboarding, threeds};
use crate::api::dashboard::Operation;
use crate::error::ApiError;

type Shr = AxumState<Arc<Shared>>;
type Answer = Result<Value, ApiError>;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(state))
        .route("/requests", get(requests))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/chaos", post(set_chaos).delete(clear_chaos))
        .route("/clock/advance", post(advance_clock))
        .route("/multicapture", post(multicapture))
        .route("/search_lag", post(search_lag))
        .route("/authenticate", post(authenticate))
        .route("/dashboard/capture", post(capture))
        .route("/dashboard/cancel", post(cancel))
        .route("/dashboard/refund", post(refund))
        .route("/disputes", post(open_dispute))
        .route("/disputes/{id}/review", post(review_dispute))
        .route("/disputes/{id}/close", post(close_dispute))
        .route("/webhooks", get(webhooks).post(set_webhooks))
        .route("/shutdown", post(shutdown))
        .route("/3ds/{intent}", get(threeds::page).post(threeds::complete))
        .route(
            "/connect/onboarding/{token}",
            get(onboarding::page).post(onboarding::finish),
        )
        .route("/accounts/{id}/complete", post(complete_onboarding))
        .route("/accounts/{id}/restrict", post(restrict_account))
        .fallback(not_found)
}

/// A JSON answer: the value with 200, or the error as Stripe shapes it.
fn reply(answer: Answer) -> Response {
    let (status, body) = match answer {
        Ok(value) => (200, value),
        Err(err) => (err.status, err.body("")),
    };
    let mut response = Response::new(Body::from(format!("{body:#}")));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found() -> Response {
    reply(Err(ApiError::new(
        404,
        "invalid_request_error",
        "No such FakeStripe control endpoint: see the crate docs of billing-stripe-fake.",
    )))
}

/// The JSON object of a body (an empty body is `{}`).
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid("The body must be a JSON object.")),
        Err(err) => Err(ApiError::invalid(format!("The body is not JSON: {err}"))),
    }
}

fn bad(key: &str, what: &str) -> ApiError {
    ApiError::invalid(format!("`{key}` must be {what}.")).param(key)
}

fn opt_str(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(key, "a string")),
    }
}

fn req_str(body: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    opt_str(body, key)?.ok_or_else(|| ApiError::param_missing(key))
}

fn opt_i64(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| bad(key, "an integer")),
    }
}

fn opt_u64(body: &Map<String, Value>, key: &str) -> Result<Option<u64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(key, "a non-negative integer")),
    }
}

fn opt_ms(body: &Map<String, Value>, key: &str) -> Result<Option<Duration>, ApiError> {
    Ok(opt_u64(body, key)?.map(Duration::from_millis))
}

fn opt_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| bad(key, "a boolean")),
    }
}

fn opt_rate(body: &Map<String, Value>, key: &str) -> Result<Option<f64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(rate) if (0.0..=1.0).contains(&rate) => Ok(Some(rate)),
            _ => Err(bad(key, "a number from 0 to 1")),
        },
    }
}

/// `account`: a connected account (`acct_...`), or absent/null for the platform.
fn account(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match opt_str(body, "account")? {
        Some(a) if !a.starts_with("acct_") => Err(bad("account", "an acct_... id or null")),
        other => Ok(other),
    }
}

fn filter(body: &Map<String, Value>) -> Result<RequestFilter, ApiError> {
    let mut filter = match opt_str(body, "path_prefix")? {
        Some(prefix) => RequestFilter::path_prefix(prefix),
        None => RequestFilter::any(),
    };
    if let Some(method) = opt_str(body, "method")? {
        filter = filter.method(method);
    }
    Ok(filter)
}

pub(super) fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::TimeoutAfterProcessing => "timeout_after_processing",
        Fault::ResetAfterProcessing => "reset_after_processing",
        Fault::ServerError(_) => "server_error",
        Fault::RateLimited => "rate_limited",
        Fault::ConnectionReset => "connection_reset",
    }
}

fn fault(body: &Map<String, Value>) -> Result<Fault, ApiError> {
    let name = req_str(body, "fault")?;
    Ok(match name.as_str() {
        "timeout_after_processing" => Fault::TimeoutAfterProcessing,
        "reset_after_processing" => Fault::ResetAfterProcessing,
        "rate_limited" => Fault::RateLimited,
        "connection_reset" => Fault::ConnectionReset,
        "server_error" => {
            let status = opt_u64(body, "status")?.unwrap_or(500);
            Fault::ServerError(u16::try_from(status).unwrap_or(500))
        }
        _ => {
            return Err(bad(
                "fault",
                "one of timeout_after_processing, reset_after_processing, server_error, rate_limited, connection_reset",
            ));
        }
    })
}

async fn health(AxumState(shared): Shr) -> Response {
    let now = lock(&shared.state).now();
    reply(Ok(json!({"ok": true, "now": now})))
}

async fn state(AxumState(shared): Shr) -> Response {
    reply(Ok(shared.with_state(|state| dump::dump(state))))
}

async fn requests(AxumState(shared): Shr) -> Response {
    let requests: Vec<Value> = lock(&shared.requests)
        .iter()
        .map(|r| {
            json!({
                "request_id": r.request_id,
                "method": r.method,
                "path": r.path,
                "query": r.query,
                "stripe_account": r.stripe_account,
                "idempotency_key": r.idempotency_key,
                "fault": r.fault.map(fault_name),
                "status": r.status,
                "replayed": r.replayed,
            })
        })
        .collect();
    reply(Ok(json!({"requests": requests})))
}

async fn faults(AxumState(shared): Shr) -> Response {
    reply(Ok(json!({"pending": shared.pending_faults()})))
}

async fn add_fault(AxumState(shared): Shr, body: Bytes) -> Response {
    let answer = (|| {
        let body = object(&body)?;
        let fault = fault(&body)?;
        let times = opt_u64(&body, "times")?.unwrap_or(1);
        shared.inject(
            filter(&body)?,
            fault,
            usize::try_from(times).unwrap_or(usize::MAX),
        );
        Ok(json!({"pending": shared.pending_faults()}))
    })();
    reply(answer)
}

async fn clear_faults(AxumState(shared): Shr) -> Response {
    lock(&shared.control).faults.clear();
    reply(Ok(json!({"pending": 0})))
}

async fn set_chaos(AxumState(shared): Shr, body: Bytes) -> Response {
    let answer = (|| {
        let body = object(&body)?;
        let chaos = Chaos {
            latency_min: opt_ms(&body, "latency_min_ms")?.unwrap_or_default(),
            latency_max: opt_ms(&body, "latency_max_ms")?.unwrap_or_default(),
            lost_response_rate: opt_rate(&body, "lost_response_rate")?.unwrap_or(0.0),
            seed: opt_u64(&body, "seed")?.unwrap_or(0),
            filter: filter(&body)?,
        };
        if chaos.latency_max < chaos.latency_min {
            return Err(bad("latency_max_ms", "at least latency_min_ms"));
        }
        shared.set_chaos(Some(chaos));
        Ok(json!({"chaos": true}))
    })();
    reply(answer)
}

async fn clear_chaos(AxumState(shared): Shr) -> Response {
    shared.set_chaos(None);
    reply(Ok(json!({"chaos": false})))
}

async fn advance_clock(AxumState(shared): Shr, body: Bytes) -> Response {
    let answer = (|| {
        let body = object(&body)?;
        let seconds =
            opt_u64(&body, "seconds")?.ok_or_else(|| ApiError::param_missing("seconds"))?;
        shared.advance_clock(Duration::from_secs(seconds));
        Ok(json!({"now": lock(&shared.state).now()}))
    })();
    reply(answer)
}

async fn multicapture(AxumState(shared): Shr, body: Bytes) -> Response {
    let answer = (|| {
        let body = object(&body)?;
        let account = account(&body)?;
        let allowed =
            opt_bool(&body, "allowed")?.ok_or_else(|| ApiError::param_missing("allowed"))?;
        shared.set_multicapture(account.as_deref(), allowed);
        Ok(json!({"account": account, "multicapture": allowed}))
    })();
    reply(answer)
}

async fn search_lag(AxumState(shared): Shr, body: Bytes) -> Response {
    let answer = (|| {
        let body = object(&body)?;
        let seconds =
            opt_u64(&body, "seconds")?.ok_or_else(|| ApiError::param_missing("seconds"))?;
        lock(&shared.state).search_lag = i64::try_from(seconds).unwrap_or(i64::MAX);
        Ok(json!({"search_lag": seconds}))
    })();
    reply(answer)
}

/// `POST /_fake/accounts/{id}/complete`: the owner finished onboarding.
async fn complete_onboarding(AxumState(shared): Shr, Path(id): Path<String>) -> Response {
    reply(shared.change_account(&id, |a| a.complete()))
}

/// `POST /_fake/accounts/{id}/restrict` with `{"disabled_reason"?, "past_due"?: [...]}`.
async fn restrict_account(AxumState(shared): Shr, Path(id): Path<String>, body: Bytes) -> Response {
    let answer = object(&body).and_then(|body| {
        let reason = match body.get("disabled_reason") {
            None | Some(Value::Null) => "requirements.past_due".to_owned(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err(ApiError::invalid("disabled_reason must be a string.")),
        };
        let past_due: Vec<String> = match body.get("past_due") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ApiError::invalid("past_due lists strings."))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ApiError::invalid("past_due lists strings.")),
        };
        shared.change_account(&id, |a| a.restrict(&reason, &past_due))
    });
    reply(answer)
}

/// Runs an operation read from the body by `read`.
fn operate(
    shared: &Shared,
    body: &Bytes,
    read: impl FnOnce(&Map<String, Value>) -> Result<Operation, ApiError>,
) -> Response {
    let answer = object(body).and_then(|body| {
        let account = account(&body)?;
        let operation = read(&body)?;
        shared.operate(account.as_deref(), &operation)
    });
    reply(answer)
}

async fn authenticate(AxumState(shared): Shr, body: Bytes) -> Response {
    operate(&shared, &body, |b| {
        Ok(Operation::Authenticate {
            intent: req_str(b, "intent")?,
            success: opt_bool(b, "success")?.unwrap_or(true),
        })
    })
}

async fn capture(AxumState(shared): Shr, body: Bytes) -> Response {
    operate(&shared, &body, |b| {
        Ok(Operation::Capture {
            payment_intent: req_str(b, "payment_intent")?,
            amount: opt_i64(b, "amount")?,
            final_capture: opt_bool(b, "final_capture")?.unwrap_or(true),
        })
    })
}

async fn cancel(AxumState(shared): Shr, body: Bytes) -> Response {
    operate(&shared, &body, |b| {
        Ok(Operation::Cancel {
            payment_intent: req_str(b, "payment_intent")?,
            reason: opt_str(b, "cancellation_reason")?,
        })
    })
}

async fn refund(AxumState(shared): Shr, body: Bytes) -> Response {
    operate(&shared, &body, |b| {
        Ok(Operation::Refund {
            payment_intent: req_str(b, "payment_intent")?,
            amount: opt_i64(b, "amount")?,
        })
    })
}

async fn open_dispute(AxumState(shared): Shr, body: Bytes) -> Response {
    operate(&shared, &body, |b| {
        Ok(Operation::OpenDispute {
            payment: req_str(b, "payment")?,
            amount: opt_i64(b, "amount")?,
            reason: opt_str(b, "reason")?,
        })
    })
}

async fn review_dispute(AxumState(shared): Shr, Path(id): Path<String>, body: Bytes) -> Response {
    operate(&shared, &body, |_| {
        Ok(Operation::ReviewDispute { dispute: id })
    })
}

async fn close_dispute(AxumState(shared): Shr, Path(id): Path<String>, body: Bytes) -> Response {
    operate(&shared, &body, |b| {
        let won = match req_str(b, "outcome")?.as_str() {
            "won" => true,
            "lost" => false,
            _ => return Err(bad("outcome", "won or lost")),
        };
        Ok(Operation::CloseDispute { dispute: id, won })
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn settings_json(settings: &DeliverySettings) -> Value {
    json!({
        "retry_base_ms": millis(settings.retry_base),
        "retry_max_ms": millis(settings.retry_max),
        "max_attempts": settings.max_attempts,
        "duplicate_rate": settings.duplicate_rate,
        "max_delay_ms": millis(settings.max_delay),
        "attempt_timeout_ms": millis(settings.attempt_timeout),
    })
}

async fn webhooks(AxumState(shared): Shr) -> Response {
    let attempts: Vec<Value> = shared
        .delivery_attempts()
        .into_iter()
        .map(|a| {
            json!({
                "event_id": a.event_id,
                "event_type": a.event_type,
                "attempt": a.attempt,
                "status": a.status,
                "error": a.error,
            })
        })
        .collect();
    reply(Ok(json!({
        "settings": shared.delivery_settings().as_ref().map(settings_json),
        "pending": shared.deliveries_pending(),
        "attempts": attempts,
    })))
}

async fn set_webhooks(AxumState(shared): Shr, body: Bytes) -> Response {
    let answer = (|| {
        let body = object(&body)?;
        let Some(mut settings) = shared.delivery_settings() else {
            return Err(ApiError::invalid(
                "This FakeStripe has no webhook URL: start it with one to deliver events.",
            ));
        };
        if let Some(v) = opt_ms(&body, "retry_base_ms")? {
            settings.retry_base = v;
        }
        if let Some(v) = opt_ms(&body, "retry_max_ms")? {
            settings.retry_max = v;
        }
        if let Some(v) = opt_u64(&body, "max_attempts")? {
            settings.max_attempts = u32::try_from(v).unwrap_or(u32::MAX).max(1);
        }
        if let Some(v) = opt_rate(&body, "duplicate_rate")? {
            settings.duplicate_rate = v;
        }
        if let Some(v) = opt_ms(&body, "max_delay_ms")? {
            settings.max_delay = v;
        }
        if let Some(v) = opt_ms(&body, "attempt_timeout_ms")? {
            settings.attempt_timeout = v;
        }
        shared.set_delivery(settings.clone());
        Ok(json!({"settings": settings_json(&settings)}))
    })();
    reply(answer)
}

async fn shutdown(AxumState(shared): Shr) -> Response {
    let _ = shared.stop.send(true);
    reply(Ok(json!({"stopping": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Map<String, Value> {
        object(&Bytes::from(text.to_owned())).expect("object")
    }

    #[test]
    fn bodies_are_read_strictly() {
        assert!(object(&Bytes::from_static(b"")).is_ok_and(|m| m.is_empty()));
        assert!(object(&Bytes::from_static(b"[1]")).is_err());
        assert!(object(&Bytes::from_static(b"{")).is_err());
        let b = body(r#"{"amount": 500, "final_capture": false, "account": null}"#);
        assert_eq!(opt_i64(&b, "amount").ok(), Some(Some(500)));
        assert_eq!(opt_bool(&b, "final_capture").ok(), Some(Some(false)));
        assert_eq!(account(&b).ok(), Some(None));
        assert!(opt_str(&b, "amount").is_err());
        assert!(req_str(&b, "payment_intent").is_err());
        assert!(account(&body(r#"{"account": "venue"}"#)).is_err());
        assert!(opt_rate(&body(r#"{"r": 1.5}"#), "r").is_err());
    }

    #[test]
    fn faults_by_name() {
        let f = fault(&body(r#"{"fault": "server_error", "status": 503}"#)).expect("fault");
        assert_eq!(f, Fault::ServerError(503));
        assert_eq!(fault_name(f), "server_error");
        assert!(fault(&body(r#"{"fault": "meteor"}"#)).is_err());
        let f = fault(&body(r#"{"fault": "timeout_after_processing"}"#)).expect("fault");
        assert_eq!(fault_name(f), "timeout_after_processing");
    }
}
