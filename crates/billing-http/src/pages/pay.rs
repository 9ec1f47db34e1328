//! The payment link's page (`/pay/{token}`): show it, pay it with the customer there
//! (on-session), and take the customer back from their bank (`/pay/{token}/return`).
//!
//! A POST first opens the link again (the token may have been used, canceled or changed
//! meanwhile, and a refused card re-renders the page), then turns the card into a payment
//! method, then pays in its own task so that a customer closing the tab cannot cut a payment
//! between the gateway and the ledger. The core makes a second POST on the same link (a double
//! click, a second tab) find the first payment and be refused: a link charges once. A card
//! whose bank asks the customer to authenticate leaves the payment waiting for them: the page
//! hands them to the bank's challenge, and the return route settles the payment from the
//! gateway's record (as a webhook would, whichever comes first, once).

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::billing::{LinkPage, LinkPaid, PayLink};
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::payment::PaymentState;
use billing_core::ports::GatewayError;
use billing_core::receipt::Outcome;

use super::answers::{
    Authenticating, CheckoutResult, Purpose, authentication, business_of, checkout_done,
    desk_return, incomplete, open, processing, refusal, unavailable, unconfirmed,
};
use super::form::{
    CardFields, UNREADABLE_CARD, decline_message, link_amount, pay_form, payment_method,
    read_fields, too_large,
};
use super::tip::{TipChoice, chosen_tip};
use super::views::{MessagePage, PaidPage, page};
use crate::cards::CardForm;
use crate::routes::{outcome_name, run_to_end};
use crate::state::Api;
use crate::telemetry::count_payment;

const GATEWAY_DOWN: &str =
    "We could not reach the card processor. Nothing was charged. Please try again in a moment.";
const NOT_COMPLETED: &str =
    "Your payment was not completed, and nothing was charged. Please try again.";

/// `GET /pay/{token}`: the amount, the bookings and the card form.
#[utoipa::path(
    get, path = "/pay/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The link's secret token, from its URL")),
    responses(
        (status = 200, description = "The payment page (`#amount`, the bookings, the card form `#card-form` with `#pay`)", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`: unknown, malformed, expired or canceled link (one identical page)", body = String, content_type = "text/html"),
        (status = 409, description = "`#link-changed`: the bookings' balance changed since the link was sent, or a payment on it is in flight", body = String, content_type = "text/html"),
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
        Ok((link, form)) => pay_form(
            &token,
            StatusCode::OK,
            &link,
            form,
            None,
            false,
            &TipChoice::default(),
        ),
        Err(refused) => refused,
    }
}

/// `POST /pay/{token}` (form-urlencoded): pay the link with the card typed (sandbox mode), or
/// with the payment method Stripe.js made, the customer present.
#[utoipa::path(
    post, path = "/pay/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The link's secret token, from its URL")),
    responses(
        (status = 200, description = "`#payment-success`: paid", body = String, content_type = "text/html"),
        (status = 202, description = "`#authentication` (Stripe mode): the bank asks the customer to authenticate; the page runs Stripe.js, then goes to `/pay/{token}/return`. `#payment-processing`: the card processor's answer is not known yet. `#payment-incomplete`: the payment waits for an authentication this page cannot offer", body = String, content_type = "text/html"),
        (status = 303, description = "Sandbox mode: the bank asks the customer to authenticate; to the sandbox's challenge page, which sends the browser back to `/pay/{token}/return`"),
        (status = 402, description = "The form again, the decline in `#card-error`", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`", body = String, content_type = "text/html"),
        (status = 409, description = "`#link-changed`", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`: already paid (by another tab, say)", body = String, content_type = "text/html"),
        (status = 422, description = "The form again, what to fix in `#card-error`", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
        (status = 503, description = "The form again, the card processor unreachable in `#card-error` (nothing charged); or `#payment-unconfirmed`: the payment's fate cannot be told yet", body = String, content_type = "text/html"),
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
    let tip_choice = fields.tip_choice();
    let again = |status, error: &str| {
        pay_form(
            &token,
            status,
            &link,
            form,
            Some(error.to_owned()),
            save_card,
            &tip_choice,
        )
    };
    // The tip is checked before the card is read: a tip that cannot be taken charges nothing.
    let tip = match chosen_tip(&link, &tip_choice) {
        Ok(tip) => tip,
        Err(error) => return again(StatusCode::UNPROCESSABLE_ENTITY, &error),
    };
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
    let result =
        run_to_end(async move { billing.pay_link_with_tip(&paying, command, tip).await }).await;
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
                    GatewayError::UnknownOutcome(_) => {
                        processing(link.business_name.clone(), Some(link_amount(&link)))
                    }
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
                // A link made before the gateway's amount rules were checked.
                BillingError::AmountNotChargeable(_) => again(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "This amount cannot be paid by card. Please ask the business that sent you this link.",
                ),
                // The gateway was asked to charge, and its answer is not recorded yet: the
                // payment stays pending until the reconciler or a webhook settles it.
                BillingError::OutcomeNotRecorded { .. } => {
                    tracing::error!(code = error.code(), %error, "a link payment was not recorded");
                    processing(link.business_name.clone(), Some(link_amount(&link)))
                }
                // A storage failure may come after the payment succeeded (the link closed, the
                // card kept, the emails queued): the page cannot say it charged nothing.
                BillingError::Ledger(_)
                | BillingError::Links(_)
                | BillingError::Directory(_)
                | BillingError::Notifications(_)
                | BillingError::Inconsistent(_) => unconfirmed(&error),
                other => refusal(&api, &token, other).await,
            };
        }
    };
    count_payment("charge", outcome_name(&paid.receipt));
    let kept = (save_card, &tip_choice);
    answer(&api, &token, form, Some(&link), paid, kept).await
}

/// `GET /pay/{token}/return`: the customer's browser is back from their bank (the gateway's
/// challenge sends it here, with the gateway's own query parameters, which are not needed:
/// the token names the payment). The payment is settled from the gateway's record, once
/// whichever of this and the webhook comes first, and shown.
#[utoipa::path(
    get, path = "/pay/{token}/return", tag = "hosted pages",
    params(("token" = String, Path, description = "The link's secret token, from its URL")),
    responses(
        (status = 200, description = "`#payment-success`: paid (also when the link was completed meanwhile)", body = String, content_type = "text/html"),
        (status = 202, description = "`#payment-processing`: the card processor's answer is not known yet; `#payment-incomplete`: the bank's authentication was not finished", body = String, content_type = "text/html"),
        (status = 303, description = "Sandbox mode: the authentication was not finished; to the sandbox's challenge page again"),
        (status = 402, description = "The form again, the decline (or the failed authentication) in `#card-error`; the link stays open", body = String, content_type = "text/html"),
        (status = 404, description = "`#link-unavailable`: no payment was made on this link", body = String, content_type = "text/html"),
        (status = 409, description = "`#link-changed`", body = String, content_type = "text/html"),
        (status = 410, description = "`#link-used`", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
        (status = 503, description = "`#payment-unconfirmed`: the payment's fate cannot be told yet", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn payment_returned(
    State(api): State<Api>,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    // Without a card form the pages do not exist.
    let Some(form) = api.card_form.as_ref() else {
        return unavailable();
    };
    let billing = api.billing.clone();
    let returning = token.clone();
    let result = run_to_end(async move { billing.link_payment_returned(&returning).await }).await;
    let result = match result {
        Ok(result) => result,
        Err(_task_failed) => return page(StatusCode::INTERNAL_SERVER_ERROR, &MessagePage::FAILED),
    };
    match result {
        Ok(paid) => {
            let kept = (false, &TipChoice::default());
            answer(&api, &token, form, None, paid, kept).await
        }
        Err(
            error @ (BillingError::LinkUnavailable
            | BillingError::LinkAlreadyUsed
            | BillingError::LinkChanged),
        ) => refusal(&api, &token, error).await,
        // The gateway could not be read, or its answer not recorded: the payment stays in
        // flight, settled later.
        Err(BillingError::Gateway { payment, error }) => {
            tracing::warn!(?payment, %error, "a returning link payment could not be settled yet");
            processing(business_of(&api, &token, None).await, None)
        }
        Err(error @ BillingError::OutcomeNotRecorded { .. }) => {
            tracing::error!(%error, "a returning link payment was not recorded");
            processing(business_of(&api, &token, None).await, None)
        }
        // Anything else may come after the payment was settled: the page cannot say.
        Err(error) => unconfirmed(&error),
    }
}

/// What a link's payment answers, on the page that made it or on the customer's return:
/// paid, declined (the form again, the link still open), waiting for the customer to
/// authenticate, or processing. `link` is the page as it was opened (on the return, the link
/// may be paid or have a payment in flight, so it is opened again only to show the form).
async fn answer(
    api: &Api,
    token: &str,
    form: &CardForm,
    link: Option<&LinkPage>,
    paid: LinkPaid,
    kept: (bool, &TipChoice),
) -> Response {
    let receipt = &paid.receipt;
    let payment = &receipt.payment;
    let amount = payment.amount.to_string();
    if let Some(next) = &paid.next_action {
        let business = business_of(api, token, link).await;
        let back = format!("/pay/{token}/return");
        return authentication(form, link, &business, next, Authenticating::Payment(&amount), back)
            .unwrap_or_else(|| {
                tracing::warn!(payment = %payment.id, "a payment waits for an authentication this page cannot offer");
                incomplete(business)
            });
    }
    match receipt.outcome() {
        // The link stays open for another card.
        Outcome::Declined(failure) => {
            form_again(api, token, form, link, decline_message(failure), kept).await
        }
        Outcome::Settled
            if matches!(
                payment.state,
                PaymentState::Succeeded | PaymentState::Authorized
            ) =>
        {
            tracing::info!(payment = %payment.id, "payment link paid");
            let card = paid.card.as_ref().map_or_else(
                || "your card".to_owned(),
                |card| CardLabel::from(card).describe(),
            );
            let result = if payment.state == PaymentState::Authorized {
                CheckoutResult::Authorized {
                    amount: &amount,
                    card: &card,
                }
            } else {
                CheckoutResult::Paid {
                    amount: &amount,
                    card: &card,
                }
            };
            if let Some(done) = checkout_done(api, token, result).await {
                return done;
            }
            page(
                StatusCode::OK,
                &PaidPage {
                    business: business_of(api, token, link).await,
                    amount,
                    tip: payment
                        .tips()
                        .ok()
                        .filter(|tip| tip.is_positive())
                        .map(|tip| tip.to_string()),
                    card,
                    card_saved: paid.card_saved,
                    back: desk_return(api, token).await,
                },
            )
        }
        // Given up (the customer never authenticated, or staff canceled it): the link can be
        // paid again.
        Outcome::Settled => form_again(api, token, form, link, NOT_COMPLETED, kept).await,
        Outcome::Pending if payment.state == PaymentState::RequiresAction => {
            incomplete(business_of(api, token, link).await)
        }
        Outcome::Pending => {
            tracing::warn!(payment = %payment.id, "payment link outcome unknown: left for the reconciler");
            processing(business_of(api, token, link).await, Some(amount))
        }
    }
}

/// The payment form again, with why the last try did not pay: from the page opened for this
/// request, or opened again (on the return).
async fn form_again(
    api: &Api,
    token: &str,
    form: &CardForm,
    link: Option<&LinkPage>,
    error: &str,
    (save_card, tip): (bool, &TipChoice),
) -> Response {
    let status = StatusCode::PAYMENT_REQUIRED;
    match link {
        Some(link) => pay_form(
            token,
            status,
            link,
            form,
            Some(error.to_owned()),
            save_card,
            tip,
        ),
        None => match open(api, token, Purpose::Payment).await {
            Ok((link, form)) => pay_form(
                token,
                status,
                &link,
                form,
                Some(error.to_owned()),
                save_card,
                tip,
            ),
            Err(refused) => refused,
        },
    }
}
