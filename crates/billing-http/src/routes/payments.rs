//! Payments: read one, capture a hold, cancel a hold, refund, reconcile.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use billing_core::prelude::{CaptureHold, RefundPayment};

use super::{Answer, answer_receipt, run_to_end};
use crate::extract::{ApiPath, IdemKey, OptionalJson, Tenant};
use crate::problem::{MoneyProblems, Problem, ReadProblems};
use crate::state::Api;
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

/// Release a hold (what was captured stays captured). A hold that is not open is 409
/// `hold_not_open`.
#[utoipa::path(
    post, path = "/v1/payments/{id}/cancel", tag = "payments",
    params(
        ("id" = String, Path, description = "The hold's payment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Accepted for symmetry; canceling twice is refused as `hold_not_open`"),
    ),
    responses((status = 200, description = "Released", body = ReceiptJson), MoneyProblems),
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
    let result = run_to_end(async move { billing.cancel_hold(&business, &id).await }).await?;
    Ok(answer_receipt("authorization", result, Answer::Ok))
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
    Ok(answer_receipt("reconcile", result, Answer::Ok))
}
