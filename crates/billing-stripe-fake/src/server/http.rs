//! Serving one request: recording it, firing its fault, authenticating, idempotency, and
//! the endpoint's answer as Stripe's HTTP response.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;

use super::faults::ChaosDraw;
use super::{DEFAULT_API_VERSION, Fault, RecordedRequest, Shared, lock};
use crate::api::{self, Ctx};
use crate::conn::ConnHandle;
use crate::error::ApiError;
use crate::form;
use crate::params::Params;
use crate::state::{SavedResponse, State, random_alnum};

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
        let request = ApiRequest {
            method,
            path,
            segments: &segments,
            account,
            idempotency_key,
            stripe_version,
            request_id,
            params,
        };
        self.with_state(|state| run(state, request))
    }
}

/// A request that passed authentication, to run on the state.
struct ApiRequest<'a> {
    method: &'a str,
    path: &'a str,
    segments: &'a [&'a str],
    account: Option<String>,
    idempotency_key: Option<String>,
    stripe_version: Option<String>,
    request_id: &'a str,
    params: Params,
}

/// Applies idempotency and runs the endpoint.
fn run(state: &mut State, request: ApiRequest<'_>) -> Outcome {
    let ApiRequest {
        method,
        path,
        segments,
        account,
        idempotency_key,
        stripe_version,
        request_id,
        params,
    } = request;
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
            let same =
                saved.method == method && saved.path == path && saved.params == params.as_value();
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
            state,
            account,
            request_id.to_owned(),
            idempotency_key,
            version,
        );
        api::dispatch(&mut ctx, method, segments, &params)
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

pub(super) async fn handle(
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
    // An injected fault comes first; a request without one may meet the chaos in force.
    let mut fault = shared.take_fault(&method, &path);
    let chaos = match fault {
        Some(_) => ChaosDraw::default(),
        None => shared.draw_chaos(&method, &path),
    };
    if chaos.lose_response {
        fault = Some(Fault::ResetAfterProcessing);
    }
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

    if !chaos.latency.is_zero() {
        let mut stop = shared.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(chaos.latency) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
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
}
