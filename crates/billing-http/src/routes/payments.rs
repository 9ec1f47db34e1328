//! Payments: read one, capture a hold, cancel a hold, refund, reconcile.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::prelude::{CaptureHold, RefundPayment};

use super::{Answer, answer_receipt, key_was_used, run_to_end};
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
    let view = api.engine.payment(&business, &id).await?;
    Ok(Json(PaymentViewJson {
        payment: PaymentJson::from(&view.payment),
        refundable: MoneyJson::from(view.refundable),
        capturable: MoneyJson::from(view.capturable),
        children: view.children.iter().map(PaymentJson::from).collect(),
    }))
}

/// The amount asked, in the payment's currency (read only when an amount is given).
async fn payment_amount(
    api: &Api,
    business: &Business,
    id: &PaymentId,
    amount: Option<&str>,
) -> Result<Option<Money>, Problem> {
    let Some(text) = amount else {
        return Ok(None);
    };
    let currency = api
        .engine
        .payment_currency(business, id)
        .await?
        .ok_or_else(|| Problem::from(BillingError::PaymentNotFound(id.clone())))?;
    Ok(parse_amount(Some(text), currency)?)
}

/// Capture all or part of a hold. `final` (default true) releases the rest of the hold.
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
    let amount = payment_amount(&api, &business, &id, body.amount.as_deref()).await?;
    let command = CaptureHold {
        authorization: id,
        amount,
        final_capture: body.final_capture,
        idempotency_key: key.clone(),
    };
    let used = key_was_used(&api, &business, key.as_ref()).await?;
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result = run_to_end(async move { engine.capture(&tenant, command).await }).await?;
    Ok(answer_receipt(
        &api,
        &business,
        "capture",
        result,
        Answer::Created,
        key.as_ref(),
        used,
    )
    .await)
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
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result = run_to_end(async move { engine.cancel_hold(&tenant, &id).await }).await?;
    Ok(answer_receipt(
        &api,
        &business,
        "authorization",
        result,
        Answer::Ok,
        None,
        false,
    )
    .await)
}

/// Refund all or part of a charge, collection or capture.
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
    let amount = payment_amount(&api, &business, &id, body.amount.as_deref()).await?;
    if let Some(reason) = &body.reason {
        check_text("reason", reason)?;
    }
    if body.reason.as_ref().is_some_and(|r| r.len() > 500) {
        return Err(
            BillingError::InvalidInput("a refund reason has at most 500 characters").into(),
        );
    }
    let command = RefundPayment {
        payment: id,
        amount,
        reason: body.reason,
        idempotency_key: key.clone(),
    };
    let used = key_was_used(&api, &business, key.as_ref()).await?;
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result = run_to_end(async move { engine.refund(&tenant, command).await }).await?;
    Ok(answer_receipt(
        &api,
        &business,
        "refund",
        result,
        Answer::Created,
        key.as_ref(),
        used,
    )
    .await)
}

/// Settle a pending payment from the gateway's record. A settled payment is answered as it is.
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
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result = run_to_end(async move { engine.reconcile(&tenant, &id).await }).await?;
    // A failed payment read back is an answer here, not a decline: reconciling did its job.
    let result = match result {
        Err(BillingError::Declined { payment, .. }) => {
            return match super::read_back(&api, &business, &payment).await {
                Ok(body) => Ok(axum::response::IntoResponse::into_response(Json(body))),
                Err(problem) => Err(problem),
            };
        }
        other => other,
    };
    Ok(answer_receipt(
        &api,
        &business,
        "reconcile",
        result,
        Answer::Ok,
        None,
        false,
    )
    .await)
}
