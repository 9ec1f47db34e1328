//! RFC 9457 problem details: every error the API answers, whatever produced it (a rule of the
//! core, a malformed request, an unknown route, a body too large), is an
//! `application/problem+json` object with a stable `code`.

use std::collections::BTreeMap;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing_core::error::BillingError;
use billing_core::ids::PaymentId;
use billing_core::payment::Failure;
use billing_core::ports::{GatewayError, LedgerError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where the problem types live: `{PROBLEM_BASE}{code}`.
pub const PROBLEM_BASE: &str = "https://billing.example/problems/";

/// How long a rate-limited (or busy) client should wait before trying again, in seconds.
const RETRY_AFTER_SECONDS: u64 = 1;

/// The code of a command refused because other commands kept changing its bookings meanwhile:
/// nothing was written, and the same request a moment later goes through.
pub const BUSY: &str = "busy";

/// A problem details object (RFC 9457), with the engine's stable `code` and, for declines, the
/// failed payment and the issuer's decline code.
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
    /// of a probable duplicate).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment: Option<String>,
}

/// An error answer: [`ProblemDetails`], boxed so that `Result<T, Problem>` stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(Box<ProblemDetails>);

impl std::ops::Deref for Problem {
    type Target = ProblemDetails;
    fn deref(&self) -> &ProblemDetails {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDetails {
        &mut self.0
    }
}

impl Problem {
    /// A problem with a status, a code and a detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(ProblemDetails {
            problem_type: format!("{PROBLEM_BASE}{code}"),
            title: title_of(code),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            decline_code: None,
            payment: None,
        }))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The same problem with another detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.0.detail = detail.into();
        self
    }

    /// The details, for embedding in another body.
    pub fn into_details(self) -> ProblemDetails {
        *self.0
    }

    /// The body answered for the problem, exactly as [`IntoResponse`] sends it.
    pub(crate) fn body_text(&self) -> String {
        serde_json::to_string(&*self.0).unwrap_or_default()
    }

    /// 402 `card_declined`: the gateway refused the payment, which is recorded as failed. Its
    /// detail is the gateway's message; it names the failed payment and the issuer's decline
    /// code. Made from the payment alone, so that a replay answers it byte for byte.
    pub fn declined(payment: &PaymentId, failure: &Failure) -> Problem {
        let mut problem = Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "card_declined",
            failure.message.clone(),
        );
        problem.decline_code.clone_from(&failure.decline_code);
        problem.payment = Some(payment.to_string());
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

/// The HTTP status of a core error, by its stable code. A decline is no error: it is a
/// receipt, answered with [`Problem::declined`].
///
/// `busy` (other commands kept changing the bookings while this one was decided; nothing was
/// written) is 503 with `Retry-After`, like `storage_unavailable`, because the same request
/// soon goes through. Links: `link_not_found` 404, `link_not_open` 409, `no_email_address` 422, `email_failed` 422
/// (the email could not be written; in practice the customer's address is not a plain
/// address). `hosted_pages_not_configured` is 501 Not Implemented: the deployment was not given
/// the hosted pages' settings, so no request can succeed until an operator sets them — a
/// server-side gap, not a conflict with the state of any object. The token errors
/// (`link_unavailable` 404, `link_already_used` 410, `link_changed` 409) are mapped for
/// completeness; the hosted pages answer them as HTML.
pub fn status_of(error: &BillingError) -> StatusCode {
    match error {
        BillingError::Gateway { error, .. } => match error {
            GatewayError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            // An unknown payment method or customer at the gateway: the client named it.
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::InvalidRequest { .. }
            | GatewayError::Unavailable(_)
            | GatewayError::UnknownOutcome(_) => StatusCode::BAD_GATEWAY,
        },
        BillingError::BookingNotFound(_)
        | BillingError::PaymentNotFound(_)
        | BillingError::CustomerNotFound(_)
        | BillingError::CardNotFound(_)
        | BillingError::LinkNotFound(_)
        | BillingError::NotificationNotFound(_)
        | BillingError::LinkUnavailable => StatusCode::NOT_FOUND,
        BillingError::ProbableDuplicate { .. }
        | BillingError::RequestInProgress(_)
        | BillingError::BookingHasPayments(_)
        | BillingError::HoldNotOpen { .. }
        | BillingError::LinkNotOpen { .. }
        | BillingError::BusinessExists(_)
        | BillingError::LinkChanged => StatusCode::CONFLICT,
        BillingError::LinkAlreadyUsed => StatusCode::GONE,
        BillingError::HostedPagesNotConfigured => StatusCode::NOT_IMPLEMENTED,
        BillingError::Ledger(_)
        | BillingError::Businesses(_)
        | BillingError::Directory(_)
        | BillingError::Links(_)
        | BillingError::Notifications(_) => StatusCode::SERVICE_UNAVAILABLE,
        BillingError::Inconsistent(_) => StatusCode::INTERNAL_SERVER_ERROR,
        BillingError::NoCardOnFile(_)
        | BillingError::NonPositiveAmount(_)
        | BillingError::WrongCurrency { .. }
        | BillingError::InvalidAmount(_)
        | BillingError::AmountExceedsBalance { .. }
        | BillingError::NothingToCharge { .. }
        | BillingError::CaptureExceedsHold { .. }
        | BillingError::RefundExceedsRefundable { .. }
        | BillingError::NotAHold(_)
        | BillingError::HoldExpired(_)
        | BillingError::NotRefundable { .. }
        | BillingError::IdempotencyKeyReused(_)
        | BillingError::InvalidInput(_)
        | BillingError::InvalidBooking(_)
        | BillingError::NoEmailAddress(_)
        | BillingError::Email(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<BillingError> for Problem {
    fn from(error: BillingError) -> Problem {
        let status = status_of(&error);
        let detail = match &error {
            // The stored history's details are for the log, not the client.
            BillingError::Inconsistent(_) => {
                tracing::error!(%error, "inconsistent stored history");
                "the stored history of this object is inconsistent".to_owned()
            }
            BillingError::Ledger(LedgerError::Conflict(_)) => {
                tracing::warn!(%error, "a command kept losing the race for its bookings");
                "other commands kept changing these bookings; nothing was written, try again"
                    .to_owned()
            }
            BillingError::Ledger(_)
            | BillingError::Businesses(_)
            | BillingError::Directory(_)
            | BillingError::Links(_)
            | BillingError::Notifications(_) => {
                tracing::error!(%error, "storage failed");
                "the store is unavailable; nothing was written".to_owned()
            }
            other => other.to_string(),
        };
        let mut problem = Problem::new(status, error.code(), detail);
        match error {
            BillingError::ProbableDuplicate { previous, .. } => {
                problem.payment = Some(previous.to_string());
            }
            BillingError::Gateway {
                payment: Some(payment),
                ..
            } => problem.payment = Some(payment.to_string()),
            _ => {}
        }
        problem
    }
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
        let try_again = status == StatusCode::TOO_MANY_REQUESTS || self.code == BUSY;
        let mut response = (status, self.body_text()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if try_again {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// The OpenAPI responses of a set of problem statuses, for `#[utoipa::path(responses(...))]`.
fn problem_responses(
    statuses: &[(u16, &str)],
) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    statuses
        .iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    PROBLEM_JSON,
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

macro_rules! problem_set {
    ($(#[$doc:meta])* $name:ident: $(($status:literal, $description:literal)),+ $(,)?) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                problem_responses(&[$(($status, $description)),+])
            }
        }
    };
}

problem_set!(
    /// The problems of a read by id.
    ReadProblems:
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`*_not_found`: no such object for this business"),
    (422, "`invalid_id`: the id is not valid"),
    (503, "`storage_unavailable`")
);

problem_set!(
    /// The problems of a write without money moving.
    WriteProblems:
    (400, "`invalid_json`: the body is not JSON"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`*_not_found`: no such object for this business"),
    (409, "`booking_has_payments`"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`invalid_request`, `invalid_id`, `invalid_amount`, `too_many_decimals`, `unknown_currency`, `invalid_booking`, `invalid_input`..."),
    (502, "`gateway_*`: the gateway failed"),
    (503, "`storage_unavailable`; `busy` (other commands kept changing the booking; try again), with `Retry-After`")
);

problem_set!(
    /// The problems of a money-moving command.
    MoneyProblems:
    (400, "`invalid_json`, `invalid_idempotency_key`"),
    (401, "`unauthorized`: no or unknown API key"),
    (402, "`card_declined`, with `decline_code` and `payment`"),
    (404, "`*_not_found`: no such object for this business"),
    (409, "`probable_duplicate`, `request_in_progress`, `hold_not_open`"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`amount_exceeds_balance`, `nothing_to_charge`, `capture_exceeds_hold`, `refund_exceeds_refundable`, `wrong_currency`, `too_many_decimals`, `invalid_amount`, `non_positive_amount`, `idempotency_key_reused`, `no_card_on_file`, `invalid_*`..."),
    (429, "`rate_limited`, with `Retry-After`"),
    (502, "`gateway_*`: the gateway failed and nothing was done; or `gateway_outcome_unknown`: the outcome of a pending payment could not be read from the gateway yet (a replay, a reconcile), try again later"),
    (503, "`storage_unavailable`; `busy` (other commands kept changing the bookings; nothing was written, try again), with `Retry-After`")
);

problem_set!(
    /// The problems of a webhook delivery.
    WebhookProblems:
    (400, "`invalid_signature`: the signature does not verify"),
    (404, "`webhooks_not_configured`"),
    (502, "`gateway_*`: reconciling failed; the gateway retries the delivery"),
    (503, "`storage_unavailable`; `busy`, with `Retry-After`: the gateway retries the delivery")
);

problem_set!(
    /// The problems of making a payment link or a card request.
    LinkProblems:
    (400, "`invalid_json`: the body is not JSON"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`customer_not_found`, `booking_not_found`: no such object for this business"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`no_email_address`, `email_failed`, `nothing_to_charge`, `amount_exceeds_balance`, `non_positive_amount`, `wrong_currency`, `too_many_decimals`, `invalid_amount`, `invalid_input`, `invalid_id`, `invalid_request`"),
    (501, "`hosted_pages_not_configured`: this service was not given the hosted pages' settings"),
    (503, "`storage_unavailable`")
);

problem_set!(
    /// The problems of canceling a link.
    CancelLinkProblems:
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`link_not_found`: no such link for this business"),
    (409, "`link_not_open`: the link was already completed or canceled"),
    (422, "`invalid_id`: the id is not valid"),
    (503, "`storage_unavailable`")
);

problem_set!(
    /// The problems of a list of a customer's objects.
    ListProblems:
    (400, "`invalid_query`: `limit` is out of range"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`customer_not_found`: no such customer for this business"),
    (422, "`invalid_id`: the id is not valid"),
    (503, "`storage_unavailable`")
);

problem_set!(
    /// The problems of a report.
    ReportProblems:
    (400, "`invalid_query`: an unknown `format`, a malformed `after` cursor, `limit` out of range"),
    (401, "`unauthorized`: no or unknown API key"),
    (503, "`storage_unavailable`")
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_read_like_sentences() {
        assert_eq!(title_of("booking_not_found"), "Booking not found");
        assert_eq!(title_of(""), "");
    }

    #[test]
    fn a_busy_ledger_is_503_to_try_again_and_an_unavailable_one_is_not() {
        let busy = Problem::from(BillingError::Ledger(LedgerError::Conflict("raced".into())))
            .into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(1))
        );
        let problem = Problem::from(BillingError::Ledger(LedgerError::Conflict("raced".into())));
        assert_eq!(problem.code, BUSY);
        assert!(!problem.detail.contains("raced"), "{}", problem.detail);
        let down = Problem::from(BillingError::Ledger(LedgerError::Unavailable("db".into())));
        assert_eq!(down.code, "storage_unavailable");
        assert!(
            down.into_response()
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
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
        Ok(())
    }

    #[test]
    fn new_core_errors_have_their_statuses() -> Result<(), Box<dyn std::error::Error>> {
        use billing_core::ids::{BusinessId, NotificationId};
        use billing_core::ports::BusinessesError;
        let cases = [
            (
                BillingError::NotificationNotFound(NotificationId::new("ntf_1")?),
                StatusCode::NOT_FOUND,
            ),
            (
                BillingError::BusinessExists(BusinessId::new("acme")?),
                StatusCode::CONFLICT,
            ),
            (
                BillingError::Businesses(BusinessesError::Unavailable("down".into())),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(status_of(&error), status, "{error}");
        }
        Ok(())
    }
}
