//! The OpenAPI responses of each kind of route's problems, for
//! `#[utoipa::path(responses(...))]`: every status a route may answer is documented (the API is
//! fuzzed against its document).

use std::collections::BTreeMap;

use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

use super::PROBLEM_JSON;

/// The OpenAPI responses of a set of problem statuses.
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
    (409, "`booking_has_payments`; `card_in_use` (a payment in flight uses the card, named in `payment`)"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`invalid_request`, `invalid_id`, `invalid_amount`, `too_many_decimals`, `unknown_currency`, `invalid_booking`, `invalid_input`, `invalid_phone`..."),
    (429, "`rate_limited`: the gateway's rate limit, with `Retry-After`"),
    (502, "`gateway_*`: the gateway failed"),
    (503, "`storage_unavailable`; `busy` (other commands kept changing the booking; try again), with `Retry-After`")
);

problem_set!(
    /// The problems of a money-moving command.
    MoneyProblems:
    (400, "`invalid_json`, `invalid_idempotency_key`"),
    (401, "`unauthorized`: no or unknown API key"),
    (402, "`card_declined`, with `decline_code` and `payment`; with `suggested_action: send_payment_link` when the card asks the customer to authenticate (3-D Secure), which they can do on a payment link's page"),
    (404, "`*_not_found`: no such object for this business"),
    (409, "`probable_duplicate`, `request_in_progress`, `hold_not_open` (with `state`), `capture_in_flight`"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`amount_exceeds_balance`, `nothing_to_charge`, `capture_exceeds_hold`, `refund_exceeds_refundable`, `wrong_currency`, `too_many_decimals`, `invalid_amount`, `non_positive_amount`, `idempotency_key_reused`, `no_card_on_file`, `amount_not_chargeable` (the gateway can never charge this amount: its currencies, minimums and units; `reason` says which rule), `multicapture_unavailable` (a non-final capture of a hold the account cannot capture in parts), `invalid_*`..."),
    (429, "`rate_limited`, with `Retry-After`"),
    (502, "`gateway_*`: the gateway failed and nothing was done; or `gateway_outcome_unknown`: the outcome of a pending payment could not be read from the gateway yet (a replay, a reconcile), try again later"),
    (503, "`storage_unavailable` (nothing was written); `busy` (other commands kept changing the bookings; nothing was written, try again), with `Retry-After`; `outcome_not_recorded`: the gateway was called but its answer could not be recorded, the payment (in `payment`) stays pending and is settled from the gateway's record")
);

problem_set!(
    /// The problems of canceling a payment.
    CancelPaymentProblems:
    (400, "`invalid_idempotency_key`"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`payment_not_found`: no such payment for this business"),
    (409, "`payment_not_cancelable` (neither an open hold nor waiting for the customer to authenticate; `state` says where it stands), `hold_not_open`, `capture_in_flight` (a capture of the hold is not settled yet)"),
    (422, "`invalid_id`: the id is not valid"),
    (429, "`rate_limited`, with `Retry-After`"),
    (502, "`gateway_*`: the gateway failed and nothing changed"),
    (503, "`storage_unavailable`; `busy`, with `Retry-After`; `outcome_not_recorded`: the gateway was called but its answer could not be recorded, the payment stays pending and is settled from the gateway's record")
);

problem_set!(
    /// The problems of marking a payment failed.
    MarkFailedProblems:
    (400, "`invalid_idempotency_key`"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`payment_not_found`: no such payment for this business"),
    (409, "`payment_not_pending` (its outcome is known; `state` says which); `too_recent_to_judge` (the gateway's search may not show it yet: `retry_at` and `Retry-After` say when to ask again); `payment_exists_at_gateway` (the gateway has it: it was settled from the gateway's record instead, as `receipt` shows)"),
    (422, "`invalid_id`: the id is not valid"),
    (429, "`rate_limited`, with `Retry-After`"),
    (502, "`gateway_*`: the gateway could not be asked; nothing changed"),
    (503, "`storage_unavailable`; `busy`, with `Retry-After`")
);

problem_set!(
    /// The problems of syncing a payment with the gateway.
    SyncProblems:
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`payment_not_found`: no such payment for this business"),
    (422, "`invalid_id`: the id is not valid"),
    (429, "`rate_limited`, with `Retry-After`"),
    (502, "`gateway_*`: the gateway could not answer; what it answered before is kept, try again later"),
    (503, "`storage_unavailable`; `busy`, with `Retry-After`; `outcome_not_recorded`")
);

problem_set!(
    /// The problems of a webhook delivery.
    WebhookProblems:
    (400, "`invalid_signature`: the signature does not verify"),
    (404, "`webhooks_not_configured`"),
    (502, "`gateway_*`: reconciling failed; the gateway retries the delivery"),
    (503, "`storage_unavailable`; `busy`, with `Retry-After`; `outcome_not_recorded`: the gateway retries the delivery")
);

problem_set!(
    /// The problems of receiving the text provider's callbacks.
    TextCallbackProblems:
    (403, "`invalid_signature`: the signature does not verify for this URL and form"),
    (404, "`texts_not_configured`: texts go to the outbox, which posts no callbacks"),
    (503, "`storage_unavailable`; `busy`, with `Retry-After`: the provider retries the delivery")
);

problem_set!(
    /// The problems of making a payment link or a card request.
    LinkProblems:
    (400, "`invalid_json`: the body is not JSON"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`customer_not_found`, `booking_not_found`: no such object for this business"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`no_email_address`, `no_phone_number`, `texts_refused` (the customer replied STOP), `email_failed`, `nothing_to_charge`, `amount_exceeds_balance`, `amount_not_chargeable`, `non_positive_amount`, `wrong_currency`, `too_many_decimals`, `invalid_amount`, `invalid_input`, `invalid_id`, `invalid_request`"),
    (501, "`hosted_pages_not_configured`: this service was not given the hosted pages' settings"),
    (503, "`storage_unavailable`")
);

problem_set!(
    /// The problems of starting a checkout.
    CheckoutProblems:
    (400, "`invalid_json`: the body is not JSON"),
    (401, "`unauthorized`: no or unknown API key"),
    (404, "`booking_not_found`, `customer_not_found`: no such object for this business"),
    (409, "`booking_canceled`: the booking was canceled; `payment_in_flight`: a payment for it is being settled"),
    (413, "`payload_too_large`"),
    (415, "`unsupported_media_type`"),
    (422, "`invalid_return_url`: not an absolute https URL (http only for localhost) without credentials, at most 2000 characters; `amount_not_chargeable`, `invalid_id`, `invalid_request`"),
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
