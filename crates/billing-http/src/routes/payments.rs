//! Payments: read one, capture a hold, cancel a payment (a hold, or one waiting for the
//! customer), refund, and the ways a payment is settled with the gateway: reconcile one in
//! flight, mark one failed that the gateway never had, sync one with what was done at the
//! gateway.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use billing_core::error::BillingError;
use billing_core::prelude::{CaptureHold, RefundPayment};

use super::{Answer, answer_receipt, answer_settled, run_to_end};
use crate::extract::{ApiPath, IdemKey, OptionalJson, Tenant};
use crate::problem::{
    CancelPaymentProblems, MarkFailedProblems, MoneyProblems, Problem, ReadProblems, SyncProblems,
};
use crate::state::Api;
use crate::telemetry::count_payment;
use crate::wire::{
    CaptureRequest, MoneyJson, PaymentJson, PaymentViewJson, ReceiptJson, RefundRequest,
    check_text, parse_amount, payment_id,
};

/// A payment, with what can still be refunded or captured, and its captures or refunds.
#[utoipa::path(
    get, path = "/v1/payments/{id}", tag = "payments",
    params(("id" = String, Path, description = "The payment id")),
    responses((status = 200, description = "The payment", body = PaymentViewJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_payment(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PaymentViewJson>, Problem> {
    let id = payment_id(&id)?;
    let view = api.billing.payment(&business, &id).await?;
    Ok(Json(PaymentViewJson {
        payment: PaymentJson::from(&view.payment),
        refundable: MoneyJson::from(view.refundable),
        capturable: MoneyJson::from(view.capturable),
        children: view.children.iter().map(PaymentJson::from).collect(),
    }))
}

/// Capture all or part of a hold. `final` (default true) releases the rest of the hold.
///
/// The amount is in the hold's currency. With an `Idempotency-Key`, a repeat answers the first
/// settled result with `Idempotent-Replayed: true`, byte for byte.
#[utoipa::path(
    post, path = "/v1/payments/{id}/captures", tag = "payments",
    params(
        ("id" = String, Path, description = "The hold's payment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = CaptureRequest,
    responses(
        (status = 201, description = "Captured", body = ReceiptJson),
        (status = 202, description = "Pending", body = ReceiptJson),
        MoneyProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn capture(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<CaptureRequest>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let command = CaptureHold {
        authorization: id,
        amount: parse_amount(body.amount.as_deref())?,
        final_capture: body.final_capture,
        idempotency_key: key,
    };
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.capture(&business, command).await }).await?;
    Ok(answer_receipt("capture", result, Answer::Created))
}

/// Cancel a payment: release an open hold (what was captured stays captured), or give up a
/// charge or hold that waits for the customer to authenticate (3-D Secure), freeing the
/// booking's balance.
///
/// Anything else is 409 `payment_not_cancelable`, with its `state`. A payment that waits for
/// the customer may have been completed by them meanwhile: the answer is then the payment as
/// the gateway ended it (succeeded, say). Canceling twice is refused the second time, so no
/// idempotency key is needed; one is accepted and checked, for symmetry with the other money
/// routes.
#[utoipa::path(
    post, path = "/v1/payments/{id}/cancel", tag = "payments",
    params(
        ("id" = String, Path, description = "The payment id: an open hold, or a charge or hold waiting for the customer to authenticate"),
        ("Idempotency-Key" = Option<String>, Header, description = "Accepted and checked for symmetry; canceling twice is refused as `payment_not_cancelable`"),
    ),
    responses(
        (status = 200, description = "Released or canceled: the payment as it now stands", body = ReceiptJson),
        CancelPaymentProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn cancel(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(_key): IdemKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.cancel_payment(&business, &id).await }).await?;
    Ok(answer_settled("cancel", result))
}

/// Mark a pending payment failed, once the gateway confirms it has no such payment (it never
/// reached the gateway). Nothing is sent to the gateway: it is only asked.
///
/// 200 with the payment, failed with code `marked_failed`, and the booking's balance free
/// again. Refused while the gateway's search may not show the payment yet (409
/// `too_recent_to_judge`, with `retry_at` and `Retry-After`). When the gateway has the payment,
/// it is settled from the gateway's record instead: 409 `payment_exists_at_gateway` with the
/// `receipt` of the payment as it now stands. A payment whose outcome is known is 409
/// `payment_not_pending`. Marking twice is refused the second time, so no idempotency key is
/// needed; one is accepted and checked, for symmetry.
#[utoipa::path(
    post, path = "/v1/payments/{id}/mark-failed", tag = "payments",
    params(
        ("id" = String, Path, description = "The pending payment"),
        ("Idempotency-Key" = Option<String>, Header, description = "Accepted and checked for symmetry; marking twice is refused as `payment_not_pending`"),
    ),
    responses(
        (status = 200, description = "Marked failed (`marked_failed`): the gateway has no such payment", body = ReceiptJson),
        MarkFailedProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn mark_failed(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(_key): IdemKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.mark_failed(&business, &id).await }).await?;
    Ok(match result {
        Err(error @ BillingError::TooRecentToJudge { retry_at, .. }) => {
            count_payment("mark_failed", error.code());
            Problem::from(error)
                .retry_after(retry_at, api.now())
                .into_response()
        }
        other => answer_settled("mark_failed", other),
    })
}

/// Bring a payment in line with the gateway: settle it when in flight, then record what was
/// done at the gateway and is not in the ledger yet — captures made in its dashboard, a hold
/// released or expired there, refunds made there, disputes opened or decided — as payments of
/// origin `gateway`.
///
/// Webhooks and the periodic sweep do the same on their own; this asks now. Syncing again
/// records nothing more. 200 with the payment as it now stands (its bookings' summaries show
/// what changed); 502 `gateway_*` when the gateway could not answer (what it answered before
/// is kept).
#[utoipa::path(
    post, path = "/v1/payments/{id}/sync", tag = "payments",
    params(("id" = String, Path, description = "The payment id (a charge, hold, capture or refund; a capture or refund syncs the payment it belongs to)")),
    responses(
        (status = 200, description = "The payment as it now stands", body = ReceiptJson),
        SyncProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn sync(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.sync_payment(&business, &id).await }).await?;
    Ok(answer_settled("sync", result))
}

/// Refund all or part of a charge, collection or capture.
///
/// The amount is in the payment's currency; everything still refundable when absent. With an
/// `Idempotency-Key`, a repeat answers the first settled result with `Idempotent-Replayed:
/// true`, byte for byte.
#[utoipa::path(
    post, path = "/v1/payments/{id}/refunds", tag = "payments",
    params(
        ("id" = String, Path, description = "The payment refunded"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "Refunded", body = ReceiptJson),
        (status = 202, description = "Pending", body = ReceiptJson),
        MoneyProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn refund(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<RefundRequest>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    if let Some(reason) = &body.reason {
        check_text("reason", reason)?;
    }
    let command = RefundPayment {
        payment: id,
        amount: parse_amount(body.amount.as_deref())?,
        reason: body.reason,
        idempotency_key: key,
    };
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.refund(&business, command).await }).await?;
    Ok(answer_receipt("refund", result, Answer::Created))
}

/// Settle a pending payment from the gateway's record. A settled payment (a failed one
/// included) is answered as it is, with 200: reconciling did its job. When the gateway's
/// record cannot be read yet, the payment stays pending: 502 `gateway_*`, try again later.
#[utoipa::path(
    post, path = "/v1/payments/{id}/reconcile", tag = "payments",
    params(("id" = String, Path, description = "The payment id")),
    responses((status = 200, description = "The payment as it now stands", body = ReceiptJson), MoneyProblems),
    security(("api_key" = []))
)]
pub(crate) async fn reconcile(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Problem> {
    let id = payment_id(&id)?;
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.reconcile(&business, &id).await }).await?;
    Ok(answer_settled("reconcile", result))
}
