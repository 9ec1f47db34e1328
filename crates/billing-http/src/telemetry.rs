//! Metrics (Prometheus text) and the middleware that records them, and the one that turns any
//! bare error status made outside the handlers into problem+json.

use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::problem::{PROBLEM_JSON, Problem};

/// Latency buckets, in seconds: from a cache-hot read to a slow gateway.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's Prometheus recorder, installed the first time a router is built. The
/// `metrics` facade has one global recorder per process; when the embedding program already
/// installed its own, this one is kept aside and `/metrics` shows only what it records itself.
pub(crate) fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows none");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency, by method, route and status"
    );
    metrics::describe_counter!(
        "billing_payments_total",
        "Money-moving commands, by payment kind and outcome (the payment's state, or the error code)"
    );
}

/// Counts a money-moving command's outcome.
pub(crate) fn count_payment(kind: &'static str, outcome: &str) {
    metrics::counter!(
        "billing_payments_total",
        "kind" => kind,
        "outcome" => outcome.to_owned()
    )
    .increment(1);
}

/// Records each request's count and latency by route template (never the raw path, whose ids
/// would make a series per booking).
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Turns an error status made without a problem body (a body limit, a timeout, a method not
/// allowed) into problem+json, so that clients see one error format.
pub(crate) async fn problem_everywhere(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let request_id = response.headers().get("x-request-id").cloned();
    let mut replaced = Problem::for_status(status).into_response();
    if let Some(id) = request_id {
        replaced.headers_mut().insert("x-request-id", id);
    }
    replaced
}

/// The Prometheus text of every metric.
pub(crate) fn render() -> Response {
    let mut response = Body::from(prometheus().render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
