//! The hosted pages' handlers: show a link's page, pay it, save a card.
//!
//! A POST first opens the link again (the token may have been used, canceled or changed
//! meanwhile, and a refused card re-renders the page), then turns the card into a payment
//! method, then pays in its own task so that a customer closing the tab cannot cut a payment
//! between the gateway and the ledger. The core makes a second POST on the same link (a double
//! click, a second tab) find the first payment and be refused: a link charges once.

use std::fmt;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::billing::{LinkPage, PayLink};
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::link::LinkPurpose;
use billing_core::payment::{Failure, PaymentState};
use billing_core::ports::GatewayError;
use billing_core::receipt::Outcome;
use serde::Deserialize;

use super::views::{
    CardPage, CardSavedPage, ChangedPage, FormView, LineView, MessagePage, PaidPage, PayPage,
    ProcessingPage, StripeView, UnavailablePage, UsedPage, page,
};
use crate::cards::{CardForm, TypedCard};
use crate::problem::status_of;
use crate::routes::customers::check_payment_method;
use crate::routes::{outcome_name, run_to_end};
use crate::state::Api;
use crate::telemetry::count_payment;

/// The card form's fields. In sandbox mode the card's details; in Stripe mode the payment
/// method Stripe.js made. Unknown fields are ignored (browsers and extensions add some).
#[derive(Default, Deserialize)]
pub(crate) struct CardFields {
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_expiry: String,
    #[serde(default)]
    card_cvc: String,
    #[serde(default)]
    payment_method: String,
    #[serde(default)]
    save_card: Option<String>,
}

impl fmt::Debug for CardFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The card's number and code never reach a log.
        f.debug_struct("CardFields")
            .field("payment_method", &self.payment_method)
            .field("save_card", &self.save_card)
            .finish_non_exhaustive()
    }
}

impl CardFields {
    /// A checked checkbox posts `save_card=on`.
    fn save_card(&self) -> bool {
        self.save_card
            .as_deref()
            .is_some_and(|v| !matches!(v, "" | "off" | "false" | "0"))
    }
}

/// Which page a token route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Payment,
    CardRequest,
}

impl Purpose {
    fn of(link: &LinkPage) -> Purpose {
        match link.link.purpose {
            LinkPurpose::Payment { .. } => Purpose::Payment,
            LinkPurpose::CardRequest => Purpose::CardRequest,
        }
    }
}

const UNREADABLE_CARD: &str = "Your card details could not be read. Please try again.";
const GATEWAY_DOWN: &str =
    "We could not reach the card processor. Nothing was charged. Please try again in a moment.";

/// `GET /pay/{token}`: the amount, the bookings and the card form.
#[utoipa::path(
    get, path = "/pay/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The link's secret token, from its URL")),
    responses(
        (status = 200, description = "The payment page (`#amount`, the bookings, the card form)", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`: unknown, malformed, expired or canceled link (one identical page)", body = String, content_type = "text/html"),
        (status = 409, description = "`#link-changed`: the bookings' balance changed since the link was sent", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`: already paid", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn pay_page(
    State(api): State<Api>,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    match open(&api, &token, Purpose::Payment).await {
        Ok((link, form)) => pay_form(StatusCode::OK, &link, form, None, false),
        Err(refused) => refused,
    }
}

/// `POST /pay/{token}` (form-urlencoded): pay the link with the card typed, or with the
/// payment method Stripe.js made.
#[utoipa::path(
    post, path = "/pay/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The link's secret token, from its URL")),
    responses(
        (status = 200, description = "`#payment-success`: paid", body = String, content_type = "text/html"),
        (status = 202, description = "`#payment-processing`: the card processor's answer is not known yet", body = String, content_type = "text/html"),
        (status = 402, description = "The form again, the decline in `#card-error`", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`", body = String, content_type = "text/html"),
        (status = 409, description = "`#link-changed`", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`: already paid (by another tab, say)", body = String, content_type = "text/html"),
        (status = 422, description = "The form again, what to fix in `#card-error`", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn pay(
    State(api): State<Api>,
    token: Result<Path<String>, PathRejection>,
    fields: Result<Form<CardFields>, FormRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    let (link, form) = match open(&api, &token, Purpose::Payment).await {
        Ok(opened) => opened,
        Err(refused) => return refused,
    };
    let Some(fields) = read_fields(fields) else {
        return too_large();
    };
    let save_card = fields.save_card();
    let again =
        |status, error: &str| pay_form(status, &link, form, Some(error.to_owned()), save_card);
    let payment_method = match payment_method(&api, form, &fields) {
        Ok(method) => method,
        Err(error) => return again(StatusCode::UNPROCESSABLE_ENTITY, &error),
    };
    drop(fields);
    let billing = api.billing.clone();
    let paying = token.clone();
    let command = PayLink {
        payment_method,
        save_card,
    };
    let result = run_to_end(async move { billing.pay_link(&paying, command).await }).await;
    let result = match result {
        Ok(result) => result,
        Err(_task_failed) => return page(StatusCode::INTERNAL_SERVER_ERROR, &MessagePage::FAILED),
    };
    let paid = match result {
        Ok(paid) => paid,
        Err(error) => {
            count_payment("charge", error.code());
            return match error {
                BillingError::Gateway { error, .. } => match error {
                    // The gateway may have charged: the payment stays pending until reconciled.
                    GatewayError::UnknownOutcome(_) => processing(&link, &link_amount(&link)),
                    GatewayError::InvalidRequest { .. } | GatewayError::NotFound(_) => again(
                        StatusCode::PAYMENT_REQUIRED,
                        "Your card could not be used. Please try another card.",
                    ),
                    GatewayError::RateLimited | GatewayError::Unavailable(_) => {
                        again(StatusCode::SERVICE_UNAVAILABLE, GATEWAY_DOWN)
                    }
                },
                BillingError::InvalidInput(_) => {
                    again(StatusCode::UNPROCESSABLE_ENTITY, UNREADABLE_CARD)
                }
                other => refusal(&api, &token, other).await,
            };
        }
    };
    let receipt = &paid.receipt;
    let payment = &receipt.payment;
    count_payment("charge", outcome_name(receipt));
    match receipt.outcome() {
        // The link stays open for another card.
        Outcome::Declined(failure) => again(StatusCode::PAYMENT_REQUIRED, decline_message(failure)),
        Outcome::Settled if payment.state == PaymentState::Succeeded => {
            tracing::info!(link = %link.link.id, payment = %payment.id, "payment link paid");
            page(
                StatusCode::OK,
                &PaidPage {
                    business: link.business_name.clone(),
                    amount: payment.amount.to_string(),
                    card: paid.card.as_ref().map_or_else(
                        || "your card".to_owned(),
                        |card| CardLabel::from(card).describe(),
                    ),
                    card_saved: paid.card_saved,
                },
            )
        }
        // Pending (or waiting for the customer to authenticate): the reconciler settles it.
        Outcome::Settled | Outcome::Pending => processing(&link, &payment.amount.to_string()),
    }
}

/// `GET /cards/{token}`: the card request's form. In Stripe mode the page carries the
/// SetupIntent's client secret, which Stripe.js confirms in the browser.
#[utoipa::path(
    get, path = "/cards/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The card request's secret token, from its URL")),
    responses(
        (status = 200, description = "The card page", body = String, content_type = "text/html"),
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
        Ok((link, form)) => card_form(&api, &token, &link, form, StatusCode::OK, None).await,
        Err(refused) => refused,
    }
}

/// `POST /cards/{token}` (form-urlencoded): save the card.
#[utoipa::path(
    post, path = "/cards/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The card request's secret token, from its URL")),
    responses(
        (status = 200, description = "`#card-saved`", body = String, content_type = "text/html"),
        (status = 402, description = "The form again: the card was refused", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`", body = String, content_type = "text/html"),
        (status = 422, description = "The form again, what to fix in `#card-error`", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
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
                &api,
                &token,
                &link,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&error),
            )
            .await;
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
    let (status, error) = match result {
        Ok(card) => {
            tracing::info!(link = %link.link.id, "card request completed");
            return page(
                StatusCode::OK,
                &CardSavedPage {
                    business: link.business_name.clone(),
                    card: CardLabel::from(&card).describe(),
                },
            );
        }
        Err(BillingError::Gateway { error, .. }) => match error {
            GatewayError::InvalidRequest { .. } | GatewayError::NotFound(_) => (
                StatusCode::PAYMENT_REQUIRED,
                "Your card could not be saved. Please try another card.",
            ),
            GatewayError::RateLimited
            | GatewayError::Unavailable(_)
            | GatewayError::UnknownOutcome(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not reach the card processor. Please try again in a moment.",
            ),
        },
        Err(BillingError::InvalidInput(_)) => (StatusCode::UNPROCESSABLE_ENTITY, UNREADABLE_CARD),
        Err(other) => return refusal(&api, &token, other).await,
    };
    card_form(&api, &token, &link, form, status, Some(error)).await
}

/// Any other path under `/pay` or `/cards`: no link.
pub(crate) async fn no_link() -> Response {
    unavailable()
}

/// The link of a token, when the pages have a card form and the link is usable for this page;
/// otherwise the page that says why not.
async fn open<'a>(
    api: &'a Api,
    token: &str,
    purpose: Purpose,
) -> Result<(LinkPage, &'a CardForm), Response> {
    // Without a card form nothing can be paid: the pages do not exist.
    let Some(form) = api.card_form.as_ref() else {
        return Err(unavailable());
    };
    match api.billing.open_link(token).await {
        Ok(link) if Purpose::of(&link) == purpose => Ok((link, form)),
        // A card request's token on the payment page (or the reverse) is no link there.
        Ok(_) => Err(unavailable()),
        Err(error) => Err(refusal(api, token, error).await),
    }
}

/// The form's fields. A body that is not a form reads as an empty one (the page then says what
/// to fill in); `None` for one too large, which is refused.
fn read_fields(fields: Result<Form<CardFields>, FormRejection>) -> Option<CardFields> {
    match fields {
        Ok(Form(fields)) => Some(fields),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => None,
        Err(_) => Some(CardFields::default()),
    }
}

fn too_large() -> Response {
    let status = StatusCode::PAYLOAD_TOO_LARGE;
    page(status, &MessagePage::for_status(status))
}

/// The payment method of the card posted, or what to tell the customer.
fn payment_method(api: &Api, form: &CardForm, fields: &CardFields) -> Result<String, String> {
    match form {
        CardForm::Sandbox(tokenizer) => {
            let card = TypedCard::parse(
                &fields.card_number,
                &fields.card_expiry,
                &fields.card_cvc,
                api.now(),
            )
            .map_err(str::to_owned)?;
            let method =
                tokenizer.tokenize(&card.number, card.exp_month, card.exp_year, &card.cvc)?;
            match check_payment_method(&method) {
                Ok(()) => Ok(method),
                Err(_) => Err(UNREADABLE_CARD.to_owned()),
            }
        }
        CardForm::Stripe { .. } => {
            let method = fields.payment_method.trim();
            match check_payment_method(method) {
                Ok(()) => Ok(method.to_owned()),
                Err(_) => Err(UNREADABLE_CARD.to_owned()),
            }
        }
    }
}

/// The card form's view for this mode.
fn form_view(
    form: &CardForm,
    link: &LinkPage,
    client_secret: Option<String>,
    error: Option<String>,
    save_card: bool,
) -> FormView {
    let stripe = match form {
        CardForm::Sandbox(_) => None,
        CardForm::Stripe { publishable_key } => Some(StripeView {
            publishable_key: publishable_key.clone(),
            account: link.gateway_account.clone().unwrap_or_default(),
            client_secret: client_secret.unwrap_or_default(),
        }),
    };
    FormView {
        stripe,
        error,
        save_card,
    }
}

fn link_amount(link: &LinkPage) -> String {
    match &link.link.purpose {
        LinkPurpose::Payment { amount, .. } => amount.to_string(),
        LinkPurpose::CardRequest => String::new(),
    }
}

/// The payment page, with an error when the form is shown again.
fn pay_form(
    status: StatusCode,
    link: &LinkPage,
    form: &CardForm,
    error: Option<String>,
    save_card: bool,
) -> Response {
    page(
        status,
        &PayPage {
            business: link.business_name.clone(),
            customer: link.customer_name.clone(),
            amount: link_amount(link),
            bookings: link.bookings.iter().map(LineView::from).collect(),
            form: form_view(form, link, None, error, save_card),
        },
    )
}

/// The card request's page, with an error when the form is shown again. In Stripe mode it
/// needs the SetupIntent's secret (the same one for every view of the link).
async fn card_form(
    api: &Api,
    token: &str,
    link: &LinkPage,
    form: &CardForm,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let client_secret = match form {
        CardForm::Sandbox(_) => None,
        CardForm::Stripe { .. } => match api.billing.card_request_setup(token).await {
            Ok(setup) => Some(setup.client_secret),
            Err(error) => return refusal(api, token, error).await,
        },
    };
    page(
        status,
        &CardPage {
            business: link.business_name.clone(),
            customer: link.customer_name.clone(),
            cards: link
                .cards
                .iter()
                .map(|c| CardLabel::from(c).describe())
                .collect(),
            form: form_view(form, link, client_secret, error.map(str::to_owned), false),
        },
    )
}

/// 202: the gateway's answer was lost; the reconciler settles the payment.
fn processing(link: &LinkPage, amount: &str) -> Response {
    tracing::warn!(link = %link.link.id, "payment link outcome unknown: left for the reconciler");
    page(
        StatusCode::ACCEPTED,
        &ProcessingPage {
            business: link.business_name.clone(),
            amount: amount.to_owned(),
        },
    )
}

/// The one page of every unusable token.
fn unavailable() -> Response {
    page(StatusCode::NOT_FOUND, &UnavailablePage)
}

/// The page of a link that cannot be used, or of a failure.
async fn refusal(api: &Api, token: &str, error: BillingError) -> Response {
    match error {
        BillingError::LinkUnavailable => unavailable(),
        BillingError::LinkAlreadyUsed => page(StatusCode::GONE, &UsedPage),
        BillingError::LinkChanged => {
            let business = api
                .billing
                .link_business_name(token)
                .await
                .unwrap_or_else(|| "the business that sent it".to_owned());
            page(StatusCode::CONFLICT, &ChangedPage { business })
        }
        other => {
            let status = status_of(&other);
            let status = if status.is_server_error() {
                status
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            tracing::error!(code = other.code(), error = %other, "a hosted page failed");
            page(status, &MessagePage::FAILED)
        }
    }
}

/// What a customer reads when their card is declined: the common reasons, else the generic
/// one (the issuer's other codes, such as a stolen card, are not for the page to tell).
fn decline_message(failure: &Failure) -> &'static str {
    let code = failure.decline_code.as_deref().unwrap_or(&failure.code);
    match code {
        "insufficient_funds" => "Your card has insufficient funds. Please try another card.",
        "expired_card" => "Your card has expired. Please try another card.",
        "incorrect_cvc" => "Your card's security code is incorrect.",
        "processing_error" => {
            "An error occurred while processing your card. Please try again in a moment."
        }
        _ => "Your card was declined. Please try another card.",
    }
}
