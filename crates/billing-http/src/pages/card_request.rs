//! The card request's page (`/cards/{token}`): show it, save the card with the customer there
//! (the server confirms the gateway's card set-up on-session), and take the customer back from
//! their bank (`/cards/{token}/return?setup_intent=...`).

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::billing::{CardRequestAnswer, LinkPage};
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::ports::{GatewayError, NextAction};
use serde::Deserialize;

use super::answers::{
    Authenticating, CheckoutResult, Purpose, authentication, business_of, card_processing,
    checkout_done, incomplete, open, refusal, unavailable,
};
use super::form::{
    CardFields, UNREADABLE_CARD, card_form, decline_message, payment_method, read_fields, too_large,
};
use super::views::{CardSavedPage, MessagePage, page};
use crate::cards::CardForm;
use crate::routes::run_to_end;
use crate::state::Api;

const NOT_SAVED: &str = "Your card could not be saved. Please try another card.";
const NOT_CONFIRMED: &str = "Your card could not be confirmed. Please try again.";
const PROCESSOR_DOWN: &str = "We could not reach the card processor. Please try again in a moment.";

/// `GET /cards/{token}`: the card request's form.
#[utoipa::path(
    get, path = "/cards/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The card request's secret token, from its URL")),
    responses(
        (status = 200, description = "The card page (`#card-form` with `#save`)", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`: a card was already saved", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn card_page(
    State(api): State<Api>,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    match open(&api, &token, Purpose::CardRequest).await {
        Ok((link, form)) => card_form(&token, StatusCode::OK, &link, form, None),
        Err(refused) => refused,
    }
}

/// `POST /cards/{token}` (form-urlencoded): save the card typed (sandbox mode), or the payment
/// method Stripe.js made. The server confirms the request's card set-up with it, the customer
/// present, so that a card whose bank asks for authentication is authenticated now and can be
/// charged later with the customer away.
#[utoipa::path(
    post, path = "/cards/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The card request's secret token, from its URL")),
    responses(
        (status = 200, description = "`#card-saved`", body = String, content_type = "text/html"),
        (status = 202, description = "`#authentication` (Stripe mode): the bank asks the customer to authenticate; the page runs Stripe.js, then goes to `/cards/{token}/return`. `#card-processing`: the card processor is still confirming the card", body = String, content_type = "text/html"),
        (status = 303, description = "Sandbox mode: the bank asks the customer to authenticate; to the sandbox's challenge page, which sends the browser back to `/cards/{token}/return`"),
        (status = 402, description = "The form again: the card was refused", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`", body = String, content_type = "text/html"),
        (status = 422, description = "The form again, what to fix in `#card-error`", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
        (status = 503, description = "The form again: the card processor could not be reached", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn save_card(
    State(api): State<Api>,
    token: Result<Path<String>, PathRejection>,
    fields: Result<Form<CardFields>, FormRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    let (link, form) = match open(&api, &token, Purpose::CardRequest).await {
        Ok(opened) => opened,
        Err(refused) => return refused,
    };
    let Some(fields) = read_fields(fields) else {
        return too_large();
    };
    let payment_method = match payment_method(&api, form, &fields) {
        Ok(method) => method,
        Err(error) => {
            return card_form(
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                &link,
                form,
                Some(error),
            );
        }
    };
    drop(fields);
    let billing = api.billing.clone();
    let saving = token.clone();
    let result = run_to_end(async move {
        billing
            .complete_card_request(&saving, &payment_method)
            .await
    })
    .await;
    let result = match result {
        Ok(result) => result,
        Err(_task_failed) => return page(StatusCode::INTERNAL_SERVER_ERROR, &MessagePage::FAILED),
    };
    match result {
        Ok(answered) => answer(&api, &token, form, Some(&link), answered).await,
        Err(error) => failed(&api, &token, form, Some(&link), error).await,
    }
}

/// The gateway's query parameters on the way back from the bank.
#[derive(Debug, Deserialize)]
pub(crate) struct Returned {
    /// The card set-up the customer authenticated (`seti_...`).
    setup_intent: Option<String>,
}

/// `GET /cards/{token}/return?setup_intent=seti_...`: the customer's browser is back from
/// their bank. The card set-up it names is read from the gateway (believed only for this
/// request's customer) and shown: saved, refused (the form again), or still processing.
#[utoipa::path(
    get, path = "/cards/{token}/return", tag = "hosted pages",
    params(
        ("token" = String, Path, description = "The card request's secret token, from its URL"),
        ("setup_intent" = Option<String>, Query, description = "The gateway's card set-up (`seti_...`), added by the gateway's redirect"),
    ),
    responses(
        (status = 200, description = "`#card-saved` (also when the request was completed meanwhile); the form again when no set-up is named", body = String, content_type = "text/html"),
        (status = 202, description = "`#card-processing`; `#payment-incomplete` when the authentication was not finished; `#authentication` (Stripe mode): authenticate again", body = String, content_type = "text/html"),
        (status = 303, description = "Sandbox mode: the authentication was not finished; to the sandbox's challenge page again"),
        (status = 402, description = "The form again, the refusal (or the failed authentication) in `#card-error`", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`: unknown token, or a set-up that is not this request's", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`", body = String, content_type = "text/html"),
        (status = 422, description = "The form again: the set-up named cannot be read", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
        (status = 503, description = "The form again: the card processor could not be reached", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn card_returned(
    State(api): State<Api>,
    token: Result<Path<String>, PathRejection>,
    query: Result<Query<Returned>, QueryRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    // Without a card form the pages do not exist.
    let Some(form) = api.card_form.as_ref() else {
        return unavailable();
    };
    let setup = query
        .ok()
        .and_then(|Query(returned)| returned.setup_intent)
        .filter(|setup| is_reference(setup));
    let Some(setup) = setup else {
        // Nothing named (or nothing readable): the form again, to try once more.
        return match open(&api, &token, Purpose::CardRequest).await {
            Ok((link, form)) => card_form(
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                &link,
                form,
                Some(NOT_CONFIRMED.to_owned()),
            ),
            Err(refused) => refused,
        };
    };
    let billing = api.billing.clone();
    let returning = token.clone();
    let result =
        run_to_end(async move { billing.card_request_returned(&returning, &setup).await }).await;
    let result = match result {
        Ok(result) => result,
        Err(_task_failed) => return page(StatusCode::INTERNAL_SERVER_ERROR, &MessagePage::FAILED),
    };
    match result {
        Ok(answered) => answer(&api, &token, form, None, answered).await,
        Err(error) => failed(&api, &token, form, None, error).await,
    }
}

/// A gateway id as a browser may name it: letters, digits and `_`, at most 255.
fn is_reference(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Where the browser goes back after authenticating a card: the set-up is named, as the
/// gateway's own redirect names it. Its id is the client secret's first part
/// (`seti_..._secret_...`); the secret itself never goes into a URL.
fn return_url(token: &str, next: &NextAction) -> String {
    let back = format!("/cards/{token}/return");
    match next.client_secret.split_once("_secret") {
        Some((setup, _)) if is_reference(setup) => format!("{back}?setup_intent={setup}"),
        _ => back,
    }
}

/// What the card request's set-up answers: saved, waiting for the customer to authenticate,
/// refused (the form again, the request still open), or processing.
async fn answer(
    api: &Api,
    token: &str,
    form: &CardForm,
    link: Option<&LinkPage>,
    answered: CardRequestAnswer,
) -> Response {
    match answered {
        CardRequestAnswer::Saved(card) => {
            tracing::info!("card request completed");
            let card = CardLabel::from(&card).describe();
            let result = CheckoutResult::CardSaved { card: &card };
            if let Some(done) = checkout_done(api, token, result).await {
                return done;
            }
            page(
                StatusCode::OK,
                &CardSavedPage {
                    business: business_of(api, token, link).await,
                    card,
                    back: super::answers::desk_return(api, token).await,
                },
            )
        }
        CardRequestAnswer::NeedsAction(next) => {
            let opened;
            let link = match link {
                Some(link) => link,
                None => match open(api, token, Purpose::CardRequest).await {
                    Ok((link, _)) => {
                        opened = link;
                        &opened
                    }
                    Err(refused) => return refused,
                },
            };
            let business = link.business_name.clone();
            let back = return_url(token, &next);
            authentication(
                form,
                Some(link),
                &business,
                &next,
                Authenticating::Card,
                back,
            )
            .unwrap_or_else(|| {
                tracing::warn!("a card waits for an authentication this page cannot offer");
                incomplete(business)
            })
        }
        CardRequestAnswer::Refused(failure) => {
            form_again(
                api,
                token,
                form,
                link,
                StatusCode::PAYMENT_REQUIRED,
                decline_message(&failure),
            )
            .await
        }
        CardRequestAnswer::Processing => card_processing(business_of(api, token, link).await),
    }
}

/// What a failed save or return shows: the form again with what happened, or the page of a
/// link that cannot be used.
async fn failed(
    api: &Api,
    token: &str,
    form: &CardForm,
    link: Option<&LinkPage>,
    error: BillingError,
) -> Response {
    let (status, message) = match &error {
        BillingError::Gateway { error, .. } => match error {
            GatewayError::InvalidRequest { .. } | GatewayError::NotFound(_) => {
                (StatusCode::PAYMENT_REQUIRED, NOT_SAVED)
            }
            GatewayError::RateLimited
            | GatewayError::Unavailable(_)
            | GatewayError::UnknownOutcome(_) => (StatusCode::SERVICE_UNAVAILABLE, PROCESSOR_DOWN),
        },
        BillingError::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, UNREADABLE_CARD),
        _ => return refusal(api, token, error).await,
    };
    form_again(api, token, form, link, status, message).await
}

/// The card form again, with a message: from the page opened for this request, or opened
/// again (on the return).
async fn form_again(
    api: &Api,
    token: &str,
    form: &CardForm,
    link: Option<&LinkPage>,
    status: StatusCode,
    message: &str,
) -> Response {
    match link {
        Some(link) => card_form(token, status, link, form, Some(message.to_owned())),
        None => match open(api, token, Purpose::CardRequest).await {
            Ok((link, form)) => card_form(token, status, &link, form, Some(message.to_owned())),
            Err(refused) => refused,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_names_the_set_up_and_never_the_secret() {
        let next = |secret: &str| NextAction {
            client_secret: secret.to_owned(),
            redirect_url: None,
        };
        assert_eq!(
            return_url("tok", &next("seti_123_secret_abc")),
            "/cards/tok/return?setup_intent=seti_123"
        );
        assert_eq!(
            return_url("tok", &next("seti_9_secret")),
            "/cards/tok/return?setup_intent=seti_9"
        );
        // A secret of another shape is not put into the URL at all.
        assert_eq!(
            return_url("tok", &next("opaque-secret")),
            "/cards/tok/return"
        );
        assert_eq!(
            return_url("tok", &next("a b_secret_x")),
            "/cards/tok/return"
        );
    }

    #[test]
    fn only_plain_gateway_ids_are_read_from_the_browser() {
        assert!(is_reference("seti_1AbC"));
        assert!(!is_reference(""));
        assert!(!is_reference("seti_1/../x"));
        assert!(!is_reference(&"a".repeat(256)));
    }
}
