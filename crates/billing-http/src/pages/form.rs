//! The card form the hosted pages share: what it posts, reading the card it carries into a
//! payment method, and showing it again with what to fix.

use std::fmt;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::billing::LinkPage;
use billing_core::email::CardLabel;
use billing_core::link::{CheckoutStep, LinkPurpose};
use billing_core::payment::Failure;
use serde::Deserialize;

use super::tip::{TipChoice, tip_view};
use super::views::{CardPage, FormView, LineView, MessagePage, PayPage, StripeView, page};
use crate::cards::{CardForm, TypedCard};
use crate::routes::customers::check_payment_method;
use crate::state::Api;

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
    /// The pay page's tip: `none`, a preset percentage, or `custom`.
    #[serde(default)]
    tip: String,
    /// The pay page's tip of the customer's own.
    #[serde(default)]
    tip_amount: String,
}

impl fmt::Debug for CardFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The card's number and code never reach a log.
        f.debug_struct("CardFields")
            .field("payment_method", &self.payment_method)
            .field("save_card", &self.save_card)
            .field("tip", &self.tip)
            .field("tip_amount", &self.tip_amount)
            .finish_non_exhaustive()
    }
}

impl CardFields {
    /// A checked checkbox posts `save_card=on`.
    pub(crate) fn save_card(&self) -> bool {
        self.save_card
            .as_deref()
            .is_some_and(|v| !matches!(v, "" | "off" | "false" | "0"))
    }

    /// The tip chosen on the pay page, as posted.
    pub(crate) fn tip_choice(&self) -> TipChoice {
        TipChoice::posted(&self.tip, &self.tip_amount)
    }
}

pub(crate) const UNREADABLE_CARD: &str = "Your card details could not be read. Please try again.";

/// The form's fields. A body that is not a form reads as an empty one (the page then says what
/// to fill in); `None` for one too large, which is refused.
pub(crate) fn read_fields(fields: Result<Form<CardFields>, FormRejection>) -> Option<CardFields> {
    match fields {
        Ok(Form(fields)) => Some(fields),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => None,
        Err(_) => Some(CardFields::default()),
    }
}

/// The page of a form too large to read.
pub(crate) fn too_large() -> Response {
    let status = StatusCode::PAYLOAD_TOO_LARGE;
    page(status, &MessagePage::for_status(status))
}

/// The payment method of the card posted, or what to tell the customer.
pub(crate) fn payment_method(
    api: &Api,
    form: &CardForm,
    fields: &CardFields,
) -> Result<String, String> {
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
    action: String,
    form: &CardForm,
    link: &LinkPage,
    error: Option<String>,
    save_card: bool,
) -> FormView {
    let stripe = match form {
        CardForm::Sandbox(_) => None,
        CardForm::Stripe { publishable_key } => Some(StripeView {
            publishable_key: publishable_key.clone(),
            account: link.gateway_account.clone().unwrap_or_default(),
        }),
    };
    FormView {
        action,
        stripe,
        error,
        save_card,
    }
}

/// What a payment link asks for in all, as its pages show it.
pub(crate) fn link_amount(link: &LinkPage) -> String {
    match &link.link.purpose {
        LinkPurpose::Payment { amount, .. } => amount.to_string(),
        LinkPurpose::CardRequest => String::new(),
    }
}

/// The payment page of `token`, with an error when the form is shown again.
pub(crate) fn pay_form(
    token: &str,
    status: StatusCode,
    link: &LinkPage,
    form: &CardForm,
    error: Option<String>,
    save_card: bool,
    tip: &TipChoice,
) -> Response {
    page(
        status,
        &PayPage {
            tips: tip_view(link, tip),
            business: link.business_name.clone(),
            customer: link.customer_name.clone(),
            amount: link_amount(link),
            bookings: link.bookings.iter().map(LineView::from).collect(),
            form: form_view(format!("/pay/{token}"), form, link, error, save_card),
            checkout: link.link.checkout.is_some(),
            hold: link
                .link
                .checkout
                .as_ref()
                .is_some_and(|c| c.step == CheckoutStep::Hold),
        },
    )
}

/// The card request's page of `token`, with an error when the form is shown again.
pub(crate) fn card_form(
    token: &str,
    status: StatusCode,
    link: &LinkPage,
    form: &CardForm,
    error: Option<String>,
) -> Response {
    page(
        status,
        &CardPage {
            business: link.business_name.clone(),
            customer: link.customer_name.clone(),
            checkout: link.link.checkout.is_some(),
            cards: link
                .cards
                .iter()
                .map(|c| CardLabel::from(c).describe())
                .collect(),
            form: form_view(format!("/cards/{token}"), form, link, error, false),
        },
    )
}

/// What a customer reads when their card is declined or not authenticated: the common
/// reasons, else the generic one (the issuer's other codes, such as a stolen card, are not for
/// the page to tell).
pub(crate) fn decline_message(failure: &Failure) -> &'static str {
    let code = failure.decline_code.as_deref().unwrap_or(&failure.code);
    match code {
        "insufficient_funds" => "Your card has insufficient funds. Please try another card.",
        "expired_card" => "Your card has expired. Please try another card.",
        "incorrect_cvc" => "Your card's security code is incorrect.",
        "processing_error" => {
            "An error occurred while processing your card. Please try again in a moment."
        }
        "payment_intent_authentication_failure"
        | "setup_intent_authentication_failure"
        | "authentication_required" => {
            "Your bank could not confirm it was you. Please try again, or try another card."
        }
        _ => "Your card was declined. Please try another card.",
    }
}
