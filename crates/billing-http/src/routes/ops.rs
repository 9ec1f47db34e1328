//! Operations: liveness, readiness, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::problem::{Problem, ProblemDetails};
use crate::state::Api;
use crate::wire::HealthJson;

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = HealthJson))
)]
pub(crate) async fn healthz() -> Json<HealthJson> {
    Json(HealthJson {
        status: "ok".to_owned(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthJson),
        (status = 503, description = "`not_ready`: the database does not answer", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(api): State<Api>) -> Response {
    match api.readiness.check().await {
        Ok(()) => Json(HealthJson {
            status: "ok".to_owned(),
        })
        .into_response(),
        Err(why) => {
            tracing::warn!(%why, "not ready");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", why).into_response()
        }
    }
}

/// Prometheus metrics: request counts and latency by route and status, payments by kind and
/// outcome.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics() -> Response {
    crate::telemetry::render()
}
