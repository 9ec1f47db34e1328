//! Extractors that answer problem+json instead of axum's plain-text rejections, the
//! authenticated business, and the `Idempotency-Key` header.

use axum::extract::{FromRequest, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use billing_core::customer::Business;
use billing_core::idempotency::IdempotencyKey;

use crate::problem::Problem;
use crate::state::Api;

/// A JSON body; a malformed one is a problem (400 `invalid_json`, 422 `invalid_request`, 413,
/// 415).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub(crate) struct ApiJson<T>(pub T);

/// A JSON body whose fields are all optional: an empty body (no `Content-Type` needed) is the
/// default request, so `POST .../charges` with nothing charges the balance on the card on file.
#[derive(Debug)]
pub(crate) struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = Problem;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        let declared_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json")
                    || essence.to_ascii_lowercase().ends_with("+json")
            });
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                Problem::for_status(rejection.status()).with_detail(rejection.body_text())
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if declared_json == Some(false) {
            return Err(Problem::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(OptionalJson(value))
    }
}

/// Path parameters; a malformed one is a 422 `invalid_id` problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Path), rejection(Problem))]
pub(crate) struct ApiPath<T>(pub T);

/// Query parameters; a malformed one is a 400 `invalid_query` problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(Problem))]
pub(crate) struct ApiQuery<T>(pub T);

/// The business whose API key came in `Authorization: Bearer <key>` (the core compares its
/// hash with the stored ones).
#[derive(Debug, Clone)]
pub(crate) struct Tenant(pub Business);

impl FromRequestParts<Api> for Tenant {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, key) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
            })
            .filter(|key| !key.is_empty())
            .ok_or_else(Problem::unauthorized)?;
        let business = api
            .billing
            .business_for_api_key(key)
            .await?
            .ok_or_else(Problem::unauthorized)?;
        // Every request line in the log says whose it was.
        tracing::Span::current().record("business", business.id.as_str());
        Ok(Tenant(business))
    }
}

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone)]
pub(crate) struct IdemKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdemKey(None));
        };
        let invalid = || {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "an Idempotency-Key is 1 to 255 visible ASCII characters",
            )
        };
        let text = value.to_str().map_err(|_| invalid())?;
        IdempotencyKey::new(text)
            .map(|key| IdemKey(Some(key)))
            .map_err(|_| invalid())
    }
}
