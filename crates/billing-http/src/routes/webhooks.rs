//! Gateway webhooks: a verified event about one of our payments settles it from the gateway's
//! record. Reconciling is idempotent, so a repeated delivery has no second effect; the ids of
//! recent events are also remembered to skip the work.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::ids::PaymentId;

use super::run_to_end;
use crate::problem::{Problem, WebhookProblems};
use crate::state::{Api, WebhookAction, WebhookEvent};
use crate::wire::WebhookAck;

/// Receive a Stripe webhook delivery.
///
/// The raw body and its `Stripe-Signature` header are checked (400 `invalid_signature`); an
/// event about one of our payments reconciles it for the business of the event's connected
/// account; other events are acknowledged and ignored.
#[utoipa::path(
    post, path = "/v1/webhooks/stripe", tag = "webhooks",
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the raw body")),
    request_body(content = String, description = "The event, exactly as Stripe sent it", content_type = "application/json"),
    responses((status = 200, description = "Accepted", body = WebhookAck), WebhookProblems)
)]
pub(crate) async fn stripe(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAck>, Problem> {
    let Some(verifier) = api.webhooks.clone() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "webhooks_not_configured",
            "this service has no webhook secret configured",
        ));
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let event = verifier.verify(&body, signature).map_err(|rejected| {
        tracing::warn!(reason = %rejected, "webhook refused");
        Problem::new(StatusCode::BAD_REQUEST, "invalid_signature", rejected.0)
    })?;
    if api.seen.contains(&event.id) {
        return Ok(ack("duplicate"));
    }
    let outcome = handle(&api, &event).await?;
    api.seen.insert(&event.id);
    tracing::info!(event = %event.id, event_type = %event.event_type, outcome, "webhook handled");
    Ok(ack(outcome))
}

fn ack(outcome: &str) -> Json<WebhookAck> {
    Json(WebhookAck {
        received: true,
        outcome: outcome.to_owned(),
    })
}

async fn handle(api: &Api, event: &WebhookEvent) -> Result<&'static str, Problem> {
    let payment = match &event.action {
        WebhookAction::Ignore => return Ok("ignored"),
        WebhookAction::Reconcile(payment) | WebhookAction::ReconcileRefundsOf(payment) => payment,
    };
    let Some(business) = business_of(api, event, payment).await? else {
        // Not one of ours (another platform on the same Stripe account, or a deleted
        // business): acknowledged so that Stripe stops sending it.
        tracing::warn!(event = %event.id, %payment, "webhook for an unknown business or payment");
        return Ok("ignored");
    };
    let targets = match &event.action {
        WebhookAction::ReconcileRefundsOf(refunded) => {
            match api.engine.payment(&business, refunded).await {
                Ok(view) => view
                    .children
                    .into_iter()
                    .filter(|p| p.state.is_in_flight())
                    .map(|p| p.id)
                    .collect(),
                Err(BillingError::PaymentNotFound(_)) => return Ok("ignored"),
                Err(error) => return Err(error.into()),
            }
        }
        _ => vec![payment.clone()],
    };
    for target in targets {
        let engine = Arc::clone(&api.engine);
        let tenant = business.clone();
        let result = run_to_end(async move { engine.reconcile(&tenant, &target).await }).await?;
        match result {
            Ok(_) | Err(BillingError::PaymentNotFound(_)) => {}
            // Not settled yet: an error answer makes the gateway deliver the event again.
            Err(error) => return Err(error.into()),
        }
    }
    Ok("reconciled")
}

/// The business an event is for: named in it, by its connected account, or — for payments on
/// the platform's own account — the one whose ledger has the payment.
async fn business_of(
    api: &Api,
    event: &WebhookEvent,
    payment: &PaymentId,
) -> Result<Option<Business>, Problem> {
    if let Some(id) = &event.business {
        return Ok(api.engine.business(id).await?);
    }
    let businesses = api.engine.businesses().await?;
    if let Some(account) = &event.account {
        return Ok(businesses
            .into_iter()
            .find(|b| b.gateway_account.as_deref() == Some(account.as_str())));
    }
    for business in businesses
        .into_iter()
        .filter(|b| b.gateway_account.is_none())
    {
        if api
            .engine
            .payment_currency(&business, payment)
            .await?
            .is_some()
        {
            return Ok(Some(business));
        }
    }
    Ok(None)
}
