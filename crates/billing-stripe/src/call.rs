//! One Stripe call with the adapter's own retry loop, and what its failures mean for the port.
//!
//! async-stripe's `RequestStrategy::Idempotent` sends once and its retrying strategies make up
//! their own keys, so the loop is ours: it resends under THE SAME idempotency key (Stripe then
//! answers a request it already carried out with the saved response instead of doing it
//! twice), with exponential backoff and jitter, on 409, 424, 429, 5xx and broken connections.
//! Stripe's `Stripe-Should-Retry` header is not surfaced by async-stripe's error type, so the
//! status code decides, as Stripe's documented fallback says.

use std::future::Future;
use std::time::Duration;

use billing_core::ports::GatewayError;
use rand::Rng;
use stripe::{ApiErrors, ApiErrorsType, StripeError};

/// A failed call, before the operation decides what it means.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Stripe answered an error that retrying does not change (4xx other than 409/424/429):
    /// the operation may read it (a card error carries the PaymentIntent).
    Api {
        /// Stripe's error object.
        error: Box<ApiErrors>,
        /// The HTTP status.
        status: u16,
    },
    /// Already the port's error.
    Gateway(GatewayError),
}

/// What one call is, for retries and for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallKind {
    /// The operation, for messages and logs (`create a PaymentIntent`).
    pub(crate) what: &'static str,
    /// True when the call changes something at Stripe: a lost answer then leaves the outcome
    /// unknown; for a read it only means Stripe could not be read.
    pub(crate) mutating: bool,
}

/// The statuses Stripe documents as worth retrying.
fn retryable_status(status: u16) -> bool {
    matches!(status, 409 | 424 | 429 | 500..=504)
}

/// True when Stripe may have acted on the request although we have no answer from it.
fn may_have_acted(error: &StripeError) -> bool {
    match error {
        // 429 is answered before anything is done; other 4xx are Stripe refusing.
        StripeError::Stripe(_, status) => matches!(status, 409 | 424 | 500..=599),
        // A connection that was never made carried no request; any other broken exchange
        // (reset, closed mid-way) may have been processed.
        StripeError::ClientError(message) => !message.contains("(Connect)"),
        // An answer we could not read was still an answer: the request was carried out.
        StripeError::JSONDeserialize(_) | StripeError::Timeout => true,
        StripeError::ConfigError(_) => false,
    }
}

fn transient(error: &StripeError) -> bool {
    match error {
        StripeError::Stripe(_, status) => retryable_status(*status),
        StripeError::ClientError(_) => true,
        // Not retried: see `StripeConfig::timeout`.
        StripeError::Timeout => false,
        StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => false,
    }
}

/// The backoff before retry `attempt` (0-based): `base * 2^attempt`, capped at 30 s, with
/// "equal jitter" (a random point in its upper half) so that many clients rate-limited
/// together do not come back together.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(2_u32.saturating_pow(attempt))
        .min(Duration::from_secs(30));
    let half = full / 2;
    let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(rand::rng().random_range(0..=jitter_nanos))
}

/// Stripe's request id (`req_...`), taken from the error's dashboard log URL.
pub(crate) fn request_id(error: &ApiErrors) -> Option<String> {
    let url = error.request_log_url.as_deref()?;
    let start = url.find("req_")?;
    let id: String = url[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(id)
}

/// Runs `attempt` until it succeeds, fails for good, or the retries are spent.
pub(crate) async fn with_retries<T, F, Fut>(
    kind: CallKind,
    max_retries: u32,
    backoff_base: Duration,
    timeout: Duration,
    attempt: F,
) -> Result<T, CallError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StripeError>>,
{
    let mut retries = 0;
    let mut acted = false;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        acted |= may_have_acted(&error);
        if transient(&error) && retries < max_retries {
            let delay = backoff(backoff_base, retries);
            tracing::debug!(
                operation = kind.what,
                retry = retries + 1,
                ?delay,
                error = %short(&error),
                "Stripe call failed, retrying under the same idempotency key"
            );
            tokio::time::sleep(delay).await;
            retries += 1;
            continue;
        }
        return Err(give_up(kind, error, acted, retries, timeout));
    }
}

/// A one-line description of a Stripe error (its Debug is a whole object).
fn short(error: &StripeError) -> String {
    match error {
        StripeError::Stripe(api, status) => format!(
            "{status} {}",
            api.message.as_deref().unwrap_or("(no message)")
        ),
        other => other.to_string(),
    }
}

/// A card error answering for the intent the request keyed: a decline is the intent's state,
/// whatever came before (a resend under the same key gets Stripe's saved answer).
fn card_answer(error: &ApiErrors, status: u16) -> bool {
    status == 402 && (error.payment_intent.is_some() || error.setup_intent.is_some())
}

/// What a final failure means to the port. `acted` says whether any attempt may have been
/// carried out, in which case "nothing was done" can no longer be claimed: a refusal that
/// follows (a 400, 404 or 409 to the resend) says nothing of what the earlier attempt did, and
/// is an unknown outcome. So is a refused idempotency key, whenever it comes: the key was
/// used before with other parameters, and that request may have moved money.
fn give_up(
    kind: CallKind,
    error: StripeError,
    acted: bool,
    retries: u32,
    timeout: Duration,
) -> CallError {
    let after = if retries > 0 {
        format!(" (after {retries} retries)")
    } else {
        String::new()
    };
    let unknown_or_unavailable = |message: String| {
        if kind.mutating && acted {
            GatewayError::UnknownOutcome(message)
        } else {
            GatewayError::Unavailable(message)
        }
    };
    let gateway = match error {
        StripeError::Stripe(api, status) if !retryable_status(status) => {
            let key_refused = api.type_ == ApiErrorsType::IdempotencyError;
            if !kind.mutating || card_answer(&api, status) || !(acted || key_refused) {
                return CallError::Api { error: api, status };
            }
            let said = api.message.as_deref().unwrap_or("no message");
            tracing::warn!(
                operation = kind.what,
                status,
                request_id = request_id(&api).as_deref().unwrap_or("-"),
                "Stripe refused a request that may already have been carried out: {said}"
            );
            GatewayError::UnknownOutcome(if key_refused {
                format!(
                    "Stripe refused the idempotency key of the request to {}: it was used before \
                     with other parameters, so that earlier request may have been carried out{after}: {said}",
                    kind.what
                )
            } else {
                format!(
                    "Stripe refused the request to {} with {status} ({said}) after an earlier \
                     attempt whose outcome is unknown{after}: that attempt may have been carried out",
                    kind.what
                )
            })
        }
        StripeError::Stripe(_, 429) if !acted => GatewayError::RateLimited,
        StripeError::Stripe(api, status) => unknown_or_unavailable(format!(
            "Stripe answered {status} to {}{after}: {}",
            kind.what,
            api.message.as_deref().unwrap_or("no message")
        )),
        StripeError::Timeout => unknown_or_unavailable(format!(
            "no answer from Stripe within {timeout:?} to {}{after}",
            kind.what
        )),
        StripeError::ClientError(message) => unknown_or_unavailable(format!(
            "the connection to Stripe failed during {}{after}: {message}",
            kind.what
        )),
        StripeError::JSONDeserialize(message) => unknown_or_unavailable(format!(
            "Stripe's answer to {} could not be read: {message}",
            kind.what
        )),
        StripeError::ConfigError(message) => {
            GatewayError::Unavailable(format!("the Stripe client is misconfigured: {message}"))
        }
    };
    CallError::Gateway(gateway)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_in_the_upper_half() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let full = base * 2_u32.pow(attempt);
            for _ in 0..50 {
                let d = backoff(base, attempt);
                assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
            }
        }
        assert!(backoff(Duration::from_secs(10), 20) <= Duration::from_secs(30));
    }

    fn api_error(type_: stripe::ApiErrorsType) -> Box<ApiErrors> {
        Box::new(ApiErrors {
            advice_code: None,
            charge: None,
            code: None,
            decline_code: None,
            doc_url: None,
            message: Some("refused".into()),
            network_advice_code: None,
            network_decline_code: None,
            param: None,
            payment_intent: None,
            payment_method: None,
            payment_method_type: None,
            request_log_url: None,
            setup_intent: None,
            source: None,
            type_,
        })
    }

    fn refused(status: u16) -> StripeError {
        StripeError::Stripe(api_error(ApiErrorsType::InvalidRequestError), status)
    }

    /// Plays `errors` as the attempts of one call (the last one final).
    fn run(kind: CallKind, errors: Vec<StripeError>) -> Result<(), CallError> {
        let attempts = std::sync::Mutex::new(std::collections::VecDeque::from(errors));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(with_retries(
            kind,
            5,
            Duration::from_millis(1),
            Duration::from_secs(1),
            || {
                let next = attempts.lock().expect("lock").pop_front();
                async move { next.map_or(Ok(()), Err) }
            },
        ))
    }

    fn is_unknown(result: &Result<(), CallError>) -> bool {
        matches!(
            result,
            Err(CallError::Gateway(GatewayError::UnknownOutcome(_)))
        )
    }

    #[test]
    fn a_refusal_after_an_attempt_that_may_have_acted_is_an_unknown_outcome() {
        let kind = CallKind {
            what: "charge a card (PaymentIntent)",
            mutating: true,
        };
        let reset = || StripeError::ClientError("client error (SendRequest)".into());
        let server = || StripeError::Stripe(api_error(ApiErrorsType::ApiError), 500);
        for status in [400, 404, 409] {
            // 409 is retried: it repeats here until the retries are spent.
            for first in [reset(), server()] {
                let said = format!("{first} then {status}");
                let mut errors = vec![first];
                errors.extend((0..5).map(|_| refused(status)));
                assert!(is_unknown(&run(kind, errors)), "{said}");
            }
        }
        // Nothing before it acted: the refusal stands, for the caller to read.
        let limited = StripeError::Stripe(api_error(ApiErrorsType::InvalidRequestError), 429);
        assert!(matches!(
            run(kind, vec![limited, refused(400)]),
            Err(CallError::Api { status: 400, .. })
        ));
        let never_sent = StripeError::ClientError("client error (Connect)".into());
        assert!(matches!(
            run(kind, vec![never_sent, refused(404)]),
            Err(CallError::Api { status: 404, .. })
        ));
        // A refused key is never "nothing done", even first.
        let key = StripeError::Stripe(api_error(ApiErrorsType::IdempotencyError), 400);
        assert!(is_unknown(&run(kind, vec![key])));
        // Reads moved nothing: their refusals stand whatever came before.
        let read = CallKind {
            what: "retrieve a PaymentIntent",
            mutating: false,
        };
        assert!(matches!(
            run(read, vec![server(), refused(404)]),
            Err(CallError::Api { status: 404, .. })
        ));
    }

    #[test]
    fn a_card_error_after_a_lost_answer_is_an_answer_only_when_it_carries_the_intent() {
        // A resend under the same key gets Stripe's saved answer: a decline carrying the
        // intent is the intent's state (read by the caller). Without it, nothing says what
        // the lost attempt did.
        let kind = CallKind {
            what: "charge a card (PaymentIntent)",
            mutating: true,
        };
        assert!(!card_answer(&api_error(ApiErrorsType::CardError), 402));
        let reset = StripeError::ClientError("client error (SendRequest)".into());
        let bare = StripeError::Stripe(api_error(ApiErrorsType::CardError), 402);
        assert!(is_unknown(&run(kind, vec![reset, bare])));
    }

    #[test]
    fn request_ids_come_from_the_log_url() {
        let mut error = ApiErrors {
            advice_code: None,
            charge: None,
            code: None,
            decline_code: None,
            doc_url: None,
            message: None,
            network_advice_code: None,
            network_decline_code: None,
            param: None,
            payment_intent: None,
            payment_method: None,
            payment_method_type: None,
            request_log_url: Some(
                "https://dashboard.stripe.com/test/logs/req_Ab12Cd34?t=1700000000".into(),
            ),
            setup_intent: None,
            source: None,
            type_: stripe::ApiErrorsType::InvalidRequestError,
        };
        assert_eq!(request_id(&error).as_deref(), Some("req_Ab12Cd34"));
        error.request_log_url = None;
        assert_eq!(request_id(&error), None);
    }

    #[test]
    fn what_a_failure_means() {
        let kind = CallKind {
            what: "create a PaymentIntent",
            mutating: true,
        };
        let read = CallKind {
            what: "search PaymentIntents",
            mutating: false,
        };
        let t = Duration::from_secs(1);
        let timeout = give_up(kind, StripeError::Timeout, true, 0, t);
        assert!(matches!(
            timeout,
            CallError::Gateway(GatewayError::UnknownOutcome(_))
        ));
        assert!(matches!(
            give_up(read, StripeError::Timeout, true, 0, t),
            CallError::Gateway(GatewayError::Unavailable(_))
        ));
        let refused = StripeError::ClientError("client error (Connect)".into());
        assert!(!may_have_acted(&refused));
        assert!(matches!(
            give_up(kind, refused, false, 3, t),
            CallError::Gateway(GatewayError::Unavailable(_))
        ));
        let reset = StripeError::ClientError("client error (SendRequest)".into());
        assert!(may_have_acted(&reset));
        assert!(matches!(
            give_up(kind, reset, true, 3, t),
            CallError::Gateway(GatewayError::UnknownOutcome(_))
        ));
    }
}
