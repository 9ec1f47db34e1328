//! Gateway webhooks: the injected verifier checks a delivery's signature over the raw body and
//! reads its event; the core acts on it (an event about one of our payments settles it from the
//! gateway's record; recent event ids are remembered, and settling is idempotent, so a repeated
//! delivery has no second effect).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

use super::run_to_end;
use crate::problem::{Problem, TextCallbackProblems, WebhookProblems};
use crate::state::Api;
use crate::wire::WebhookAck;

/// Receive a Stripe webhook delivery.
///
/// The raw body and its `Stripe-Signature` header are checked (400 `invalid_signature`); an
/// event about one of our payments reconciles it for the business the event names; other
/// events are acknowledged and ignored. When the payment cannot be settled yet, the answer is
/// a problem, so that the gateway delivers the event again.
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
    let (id, event_type) = (event.id.clone(), event.event_type.clone());
    // Settling a payment records a money move: it goes on to its end in its own task.
    let billing = api.billing.clone();
    let handled = run_to_end(async move { billing.handle_event(&event).await })
        .await?
        .map_err(|error| {
            tracing::warn!(event = %id, %error, "webhook not handled; the gateway delivers it again");
            // Settling may have recorded part of what the event is about: never "nothing was
            // written".
            Problem::settling(error)
        })?;
    let outcome = handled.as_str();
    tracing::info!(event = %id, %event_type, outcome, "webhook handled");
    Ok(Json(WebhookAck {
        received: true,
        outcome: outcome.to_owned(),
    }))
}

/// Receive the text provider's callbacks: delivery reports of the texts sent, and the
/// customers' replies (STOP refuses every later text to their number, START welcomes them
/// again).
///
/// The raw form body and its signature header (Twilio's `X-Twilio-Signature`, over the public
/// URL the provider posts to and the form's fields) are checked: 403 `invalid_signature`
/// otherwise. The answer is an empty TwiML response, so that the provider sends no reply of its
/// own. A report repeated or late changes nothing.
#[utoipa::path(
    post, path = "/v1/webhooks/texts", tag = "webhooks",
    params(("X-Twilio-Signature" = String, Header, description = "The provider's signature of the URL and the form")),
    request_body(content = String, description = "The callback's form, exactly as the provider sent it", content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Accepted: an empty TwiML response", body = String, content_type = "text/xml"), TextCallbackProblems)
)]
pub(crate) async fn texts(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, Problem> {
    let Some(endpoint) = api.text_callbacks.clone() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "texts_not_configured",
            "this service sends no texts through a provider",
        ));
    };
    let signature = headers
        .get(endpoint.verifier.signature_header())
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let event = endpoint
        .verifier
        .verify(&endpoint.public_url, &body, signature)
        .map_err(|rejected| {
            tracing::warn!(reason = %rejected, "text callback refused");
            Problem::new(StatusCode::FORBIDDEN, "invalid_signature", rejected.0)
        })?;
    let billing = api.billing.clone();
    let found = run_to_end(async move { billing.handle_text_event(&event).await }).await??;
    if let Some((business, notification)) = found {
        tracing::info!(%business, %notification, "text delivery report recorded");
    }
    Ok((
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        EMPTY_TWIML,
    ))
}

/// An empty TwiML answer: the provider sends nothing back to the customer on our behalf (its
/// own STOP and HELP answers stand).
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
