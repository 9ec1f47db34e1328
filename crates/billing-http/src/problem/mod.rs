//! RFC 9457 problem details: every error the API answers, whatever produced it (a rule of the
//! core, a malformed request, an unknown route, a body too large), is an
//! `application/problem+json` object with a stable `code`.
//!
//! The core's errors are mapped in `errors`; the OpenAPI response sets of each kind of route are
//! in `sets`.

mod errors;
mod sets;

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing_core::ids::PaymentId;
use billing_core::payment::Failure;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use errors::status_of;
pub use sets::{
    CancelLinkProblems, CancelPaymentProblems, CheckoutProblems, LinkProblems, ListProblems,
    MarkFailedProblems, MoneyProblems, ReadProblems, ReportProblems, SyncProblems,
    TextCallbackProblems, WebhookProblems, WriteProblems,
};

use crate::wire::{ReceiptJson, SuggestedActionJson};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where the problem types live: `{PROBLEM_BASE}{code}`.
pub const PROBLEM_BASE: &str = "https://billing.example/problems/";

/// How long a rate-limited (or busy) client should wait before trying again, in seconds.
const RETRY_AFTER_SECONDS: u64 = 1;

/// The code of a command refused because other commands kept changing its bookings meanwhile:
/// nothing was written, and the same request a moment later goes through.
pub const BUSY: &str = "busy";

/// A problem details object (RFC 9457), with the engine's stable `code` and the extension
/// members some problems carry: for declines, the failed payment, the issuer's decline code and
/// a suggested next step; the payment's state for a refused cancel; the gateway's reason for an
/// amount it cannot charge; when to try again; the receipt of a payment found at the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDetails {
    /// `https://billing.example/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// The stable machine-readable code (`booking_not_found`, `card_declined`...).
    pub code: String,
    /// For `card_declined`: the issuer's decline code (`insufficient_funds`...), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub decline_code: Option<String>,
    /// The payment the problem is about (the failed payment of a decline, the earlier payment
    /// of a probable duplicate, the payment refused or left pending).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment: Option<String>,
    /// For `card_declined`: what staff can do next. `send_payment_link` when the card asks the
    /// customer to authenticate (3-D Secure), which they can do on a payment link's page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suggested_action: Option<SuggestedActionJson>,
    /// For `payment_not_cancelable`, `payment_not_pending` and `hold_not_open`: the payment's
    /// state (`succeeded`, `captured`...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<String>,
    /// For `amount_not_chargeable`: the gateway's rule the amount breaks, in words.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// For `too_recent_to_judge`: from when the gateway's answer can be believed (also said by
    /// `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry_at: Option<DateTime<Utc>>,
    /// For `payment_exists_at_gateway`: the payment as it now stands, settled from the
    /// gateway's record instead of being marked failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub receipt: Option<Box<ReceiptJson>>,
}

/// An error answer: [`ProblemDetails`], boxed so that `Result<T, Problem>` stays small, and
/// how long the client should wait before trying again, when the problem says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    details: Box<ProblemDetails>,
    retry_after: Option<Duration>,
}

impl std::ops::Deref for Problem {
    type Target = ProblemDetails;
    fn deref(&self) -> &ProblemDetails {
        &self.details
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDetails {
        &mut self.details
    }
}

impl Problem {
    /// A problem with a status, a code and a detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            details: Box::new(ProblemDetails {
                problem_type: format!("{PROBLEM_BASE}{code}"),
                title: title_of(code),
                status: status.as_u16(),
                detail: detail.into(),
                code: code.to_owned(),
                decline_code: None,
                payment: None,
                suggested_action: None,
                state: None,
                reason: None,
                retry_at: None,
                receipt: None,
            }),
            retry_after: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.details.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The same problem with another detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.details.detail = detail.into();
        self
    }

    /// The same problem, telling the client to wait until `retry_at` (its `retry_at` member),
    /// as seen from `now`: `Retry-After` in whole seconds, rounded up, at least 1.
    pub fn retry_after(mut self, retry_at: DateTime<Utc>, now: DateTime<Utc>) -> Problem {
        let wait = (retry_at - now).to_std().unwrap_or_default();
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.details.retry_at = Some(retry_at);
        self.retry_after = Some(Duration::from_secs(seconds.max(1)));
        self
    }

    /// The details, for embedding in another body.
    pub fn into_details(self) -> ProblemDetails {
        *self.details
    }

    /// The body answered for the problem, exactly as [`IntoResponse`] sends it.
    pub(crate) fn body_text(&self) -> String {
        serde_json::to_string(&*self.details).unwrap_or_default()
    }

    /// 402 `card_declined`: the gateway refused the payment, which is recorded as failed. Its
    /// detail is the gateway's message; it names the failed payment and the issuer's decline
    /// code, and suggests a payment link when the card asked for authentication the customer
    /// could not give while away. Made from the payment alone, so that a replay answers it
    /// byte for byte.
    pub fn declined(payment: &PaymentId, failure: &Failure) -> Problem {
        let mut problem = Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "card_declined",
            failure.message.clone(),
        );
        problem.decline_code.clone_from(&failure.decline_code);
        problem.payment = Some(payment.to_string());
        problem.suggested_action = SuggestedActionJson::after(failure);
        problem
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <api key>` with a valid API key",
        )
    }

    /// 422 `invalid_id`.
    pub fn invalid_id(error: impl std::fmt::Display) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            error.to_string(),
        )
    }

    /// 422 `invalid_request`: a field is missing, unknown or of the wrong type.
    pub fn invalid_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", detail)
    }

    /// 400 `invalid_query`.
    pub fn invalid_query(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_query", detail)
    }

    /// 500 `internal_error`, without the details (they go to the log).
    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the service failed to answer; the request id in the log says why",
        )
    }

    /// A problem for a bare status produced outside the handlers (a layer, a fallback).
    pub fn for_status(status: StatusCode) -> Problem {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such route"),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "the route does not take this method")
            }
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "the request body is larger than allowed",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => (
                "request_timeout",
                "the request took too long; a money-moving command goes on and can be read back",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            ),
            StatusCode::UNAUTHORIZED => ("unauthorized", "a valid API key is needed"),
            s if s.is_client_error() => ("bad_request", "the request was refused"),
            _ => ("internal_error", "the service failed to answer"),
        };
        let status = if status == StatusCode::REQUEST_TIMEOUT {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            status
        };
        Problem::new(status, code, detail)
    }
}

/// "booking_not_found" → "Booking not found".
fn title_of(code: &str) -> String {
    let mut title = code.replace('_', " ");
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    title
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        let status = rejection.status();
        let code = match &rejection {
            JsonRejection::JsonSyntaxError(_) => "invalid_json",
            JsonRejection::JsonDataError(_) => "invalid_request",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "invalid_json",
        };
        Problem::new(status, code, rejection.body_text())
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            rejection.body_text(),
        )
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        Problem::invalid_query(rejection.body_text())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match self.retry_after {
            Some(wait) => Some(HeaderValue::from(wait.as_secs())),
            None if status == StatusCode::TOO_MANY_REQUESTS || self.code == BUSY => {
                Some(HeaderValue::from(RETRY_AFTER_SECONDS))
            }
            // Without the time of day to count from, the moment itself (an HTTP-date).
            None => self.retry_at.and_then(|at| {
                HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
            }),
        };
        let mut response = (status, self.body_text()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(retry_after) = retry_after {
            headers.insert(header::RETRY_AFTER, retry_after);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn titles_read_like_sentences() {
        assert_eq!(title_of("booking_not_found"), "Booking not found");
        assert_eq!(title_of(""), "");
    }

    #[test]
    fn a_decline_names_its_payment_and_the_issuers_code() -> Result<(), Box<dyn std::error::Error>>
    {
        let failure = Failure {
            code: "card_declined".into(),
            decline_code: Some("insufficient_funds".into()),
            message: "The card has insufficient funds.".into(),
        };
        let problem = Problem::declined(&PaymentId::new("pay_1")?, &failure);
        assert_eq!(problem.status(), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(problem.code, "card_declined");
        assert_eq!(problem.detail, failure.message);
        assert_eq!(problem.decline_code.as_deref(), Some("insufficient_funds"));
        assert_eq!(problem.payment.as_deref(), Some("pay_1"));
        assert_eq!(problem.suggested_action, None);
        assert!(!problem.body_text().contains("suggested_action"));
        Ok(())
    }

    #[test]
    fn a_card_that_asks_to_authenticate_suggests_a_payment_link()
    -> Result<(), Box<dyn std::error::Error>> {
        let problem = Problem::declined(
            &PaymentId::new("pay_1")?,
            &Failure::authentication_required(),
        );
        assert_eq!(
            problem.decline_code.as_deref(),
            Some("authentication_required")
        );
        let body: serde_json::Value = serde_json::from_str(&problem.body_text())?;
        assert_eq!(body["suggested_action"], "send_payment_link");
        Ok(())
    }

    #[test]
    fn retry_after_counts_whole_seconds_up_to_the_moment() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let at = now + chrono::Duration::milliseconds(59_500);
        let response = Problem::new(StatusCode::CONFLICT, "too_recent_to_judge", "wait")
            .retry_after(at, now)
            .into_response();
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(60))
        );
        // Already past: at least a second.
        let late = Problem::new(StatusCode::CONFLICT, "too_recent_to_judge", "wait")
            .retry_after(now, at)
            .into_response();
        assert_eq!(
            late.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(1))
        );
        // Without a clock, the moment itself.
        let mut dated = Problem::new(StatusCode::CONFLICT, "too_recent_to_judge", "wait");
        dated.retry_at = Some(now);
        assert_eq!(
            dated.into_response().headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("Thu, 15 Jan 2026 09:00:00 GMT"))
        );
    }
}
