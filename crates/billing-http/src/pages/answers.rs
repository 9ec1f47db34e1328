//! What the hosted pages answer beyond their forms: a token that names no usable link, a
//! payment still processing, and a payment or card that waits for the customer to authenticate
//! (3-D Secure) with their bank.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing_core::billing::LinkPage;
use billing_core::error::BillingError;
use billing_core::link::LinkPurpose;
use billing_core::ports::NextAction;

use super::views::{
    AuthenticatePage, CardProcessingPage, ChangedPage, CheckoutDonePage, IncompletePage,
    MessagePage, ProcessingPage, UnavailablePage, UsedPage, page,
};
use crate::cards::CardForm;
use crate::problem::status_of;
use crate::state::Api;

/// Which page a token route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
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

/// Any other path under `/pay` or `/cards`: no link.
pub(crate) async fn no_link() -> Response {
    unavailable()
}

/// The link of a token, when the pages have a card form and the link is usable for this page;
/// otherwise the page that says why not.
pub(crate) async fn open<'a>(
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

/// The name of the business of a token's link, usable or used, for a page that must name it.
pub(crate) async fn business_of(api: &Api, token: &str, link: Option<&LinkPage>) -> String {
    match link {
        Some(link) => link.business_name.clone(),
        None => api
            .billing
            .link_business_name(token)
            .await
            .unwrap_or_else(|| "the business that sent it".to_owned()),
    }
}

/// The one page of every unusable token.
pub(crate) fn unavailable() -> Response {
    page(StatusCode::NOT_FOUND, &UnavailablePage)
}

/// The page of a link that cannot be used, or of a failure before anything was charged.
pub(crate) async fn refusal(api: &Api, token: &str, error: BillingError) -> Response {
    match error {
        BillingError::LinkUnavailable => unavailable(),
        BillingError::LinkAlreadyUsed => page(StatusCode::GONE, &UsedPage),
        BillingError::LinkChanged => {
            let business = business_of(api, token, None).await;
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

/// A failure after the card processor may have been asked to charge: the page cannot say
/// whether the payment went through, so it never says "nothing was charged".
pub(crate) fn unconfirmed(error: &BillingError) -> Response {
    tracing::error!(code = error.code(), %error, "a link payment's outcome could not be shown");
    page(StatusCode::SERVICE_UNAVAILABLE, &MessagePage::UNCONFIRMED)
}

/// 202: the payment's outcome is not known yet; the reconciler or a webhook settles it.
pub(crate) fn processing(business: String, amount: Option<String>) -> Response {
    page(StatusCode::ACCEPTED, &ProcessingPage { business, amount })
}

/// 202: the card's set-up is still being processed.
pub(crate) fn card_processing(business: String) -> Response {
    page(StatusCode::ACCEPTED, &CardProcessingPage { business })
}

/// 202: the payment waits for an authentication the customer did not finish.
pub(crate) fn incomplete(business: String) -> Response {
    page(StatusCode::ACCEPTED, &IncompletePage { business })
}

/// What the customer must authenticate.
#[derive(Debug)]
pub(crate) enum Authenticating<'a> {
    /// A link's payment, of this amount.
    Payment(&'a str),
    /// A card request's card.
    Card,
}

/// The answer to a payment or card set-up that waits for the customer to authenticate with
/// their bank: in sandbox mode, a redirect (303) to the sandbox's own challenge page, which
/// sends the browser back to the return route; in Stripe mode, a page where Stripe.js shows
/// the bank's challenge and then goes to `return_url`. `None` when the page cannot offer it
/// (no challenge page, or the business's account is not known here).
pub(crate) fn authentication(
    form: &CardForm,
    link: Option<&LinkPage>,
    business: &str,
    next: &NextAction,
    what: Authenticating<'_>,
    return_url: String,
) -> Option<Response> {
    match form {
        CardForm::Sandbox(_) => {
            let url = next.redirect_url.as_deref()?;
            let Ok(location) = HeaderValue::from_str(url) else {
                tracing::error!("the gateway's challenge page is no valid address");
                return None;
            };
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            Some(response)
        }
        CardForm::Stripe { publishable_key } => {
            let link = link?;
            let what = match what {
                Authenticating::Payment(amount) => format!("this payment of {amount}"),
                Authenticating::Card => "this card".to_owned(),
            };
            Some(page(
                StatusCode::ACCEPTED,
                &AuthenticatePage {
                    business: business.to_owned(),
                    what,
                    publishable_key: publishable_key.clone(),
                    account: link.gateway_account.clone().unwrap_or_default(),
                    client_secret: next.client_secret.clone(),
                    return_url,
                },
            ))
        }
    }
}

/// How a booking page's checkout ended, for its last page.
#[derive(Debug)]
pub(crate) enum CheckoutResult<'a> {
    /// Charged this amount to this card.
    Paid { amount: &'a str, card: &'a str },
    /// This amount held on this card.
    Authorized { amount: &'a str, card: &'a str },
    /// This card kept.
    CardSaved { card: &'a str },
}

/// The page of this service that staff go back to from a link they opened at the desk.
pub(crate) async fn desk_return(api: &Api, token: &str) -> Option<String> {
    api.billing
        .desk_return_of_token(token)
        .await
        .map(|back| back.as_str().to_owned())
}

/// The last page of a checkout when the token's link is one (`None` for any other link):
/// back to the business's page, or, framed, the result posted to it.
pub(crate) async fn checkout_done(
    api: &Api,
    token: &str,
    result: CheckoutResult<'_>,
) -> Option<Response> {
    let found = api.billing.checkout_of_token(token).await?;
    let (name, title, message) = match result {
        CheckoutResult::Paid { amount, card } => (
            "paid",
            "Payment received",
            format!("You paid {amount} with {card}. Your card is kept on file for this booking."),
        ),
        CheckoutResult::Authorized { amount, card } => (
            "authorized",
            "Card authorized",
            format!(
                "{amount} is authorized on {card}, and charged once the service is done. Your \
                 card is kept on file for this booking."
            ),
        ),
        CheckoutResult::CardSaved { card } => (
            "card_saved",
            "Card saved",
            format!("{card} is on file for this booking. Nothing was charged now."),
        ),
    };
    let return_url = &found.checkout.return_url;
    Some(page(
        StatusCode::OK,
        &CheckoutDonePage {
            business: found.business_name,
            title,
            message,
            return_url: return_url.with_result(&found.link, name),
            origin: return_url.origin(),
            checkout: found.link.to_string(),
            booking: found.checkout.booking.to_string(),
            result: name,
        },
    ))
}
