//! `/v1/payment_intents` and the charges they make (`/v1/charges`).
//!
//! One module per step of an intent's life: made, read and changed ([`create`](mod@create)),
//! confirmed and authorized ([`confirm`](mod@confirm)), captured or canceled
//! ([`capture`](mod@capture)), and listed or searched with its charges ([`lists`]). What several
//! steps look up or check is here.

mod capture;
mod confirm;
mod create;
mod lists;

use serde_json::Value;

use super::Ctx;
use super::payment_methods::{consumed_error, resolve};
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, unmodeled};
use crate::render;
use crate::state::PaymentIntent;

pub(super) use capture::{cancel, capture, expire_holds};
pub(super) use confirm::{complete_authentication, confirm, next_action};
pub(super) use create::{MethodTypes, create, payment_method_types, retrieve, update};
pub(super) use lists::{list, list_charges, retrieve_charge, search};

const PI_EXPAND: &[&str] = &["latest_charge", "payment_method", "customer"];

const CAPTURE_METHODS: &[&str] = &["automatic", "automatic_async", "manual"];

fn no_such_intent(id: &str) -> ApiError {
    ApiError::missing("payment_intent", id, "intent")
}

/// A copy of the intent, so that the caller can change the account while it reads it.
fn intent(ctx: &Ctx<'_>, id: &str) -> ApiResult<PaymentIntent> {
    ctx.acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))
}

fn render_pi(ctx: &Ctx<'_>, id: &str, expand: &[String]) -> ApiResult<Value> {
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .ok_or_else(|| no_such_intent(id))?;
    render::payment_intent(pi, ctx.acct, expand)
}

/// `payment_method_options[card]`, as far as the fake models it: answers
/// `request_multicapture` when given. Options that would change the outcome and that the fake
/// does not model are refused; the others are accepted and ignored.
fn card_options(params: &Params) -> ApiResult<Option<String>> {
    let Some(options) = params.object("payment_method_options")? else {
        return Ok(None);
    };
    let Some(card) = options.object("card")? else {
        return Ok(None);
    };
    if card.non_empty_str("capture_method")?.is_some() {
        return Err(unmodeled("payment_method_options[card][capture_method]"));
    }
    let three_d_secure =
        card.one_of("request_three_d_secure", &["automatic", "any", "challenge"])?;
    if three_d_secure.is_some_and(|v| v != "automatic") {
        return Err(unmodeled(
            "payment_method_options[card][request_three_d_secure]",
        ));
    }
    card.one_of("request_multicapture", &["if_available", "never"])
}

fn unexpected_state(message: String) -> ApiError {
    ApiError::invalid(message).code("payment_intent_unexpected_state")
}

fn charge_json(ctx: &Ctx<'_>, id: &str) -> ApiResult<Value> {
    let ch = ctx
        .acct
        .charges
        .get(id)
        .ok_or_else(|| ApiError::missing("charge", id, "charge"))?;
    render::charge(ch, ctx.acct, &[])
}

/// The `payment_method` parameter of an intent of `customer`, if given: resolved (a test id or
/// token becomes a stored payment method) and checked that it can pay for the intent.
pub(super) fn payment_method_param(
    ctx: &mut Ctx<'_>,
    params: &Params,
    customer: Option<&str>,
) -> ApiResult<Option<String>> {
    match params.non_empty_str("payment_method")? {
        Some(pm) => {
            let pm_id = resolve(ctx, &pm, "payment_method")?;
            check_payment_method_usable(ctx, &pm_id, customer)?;
            Ok(Some(pm_id))
        }
        None => Ok(None),
    }
}

/// Checks that a payment method can pay for an intent of `customer`.
fn check_payment_method_usable(
    ctx: &Ctx<'_>,
    pm_id: &str,
    customer: Option<&str>,
) -> ApiResult<()> {
    let pm = ctx
        .acct
        .payment_methods
        .get(pm_id)
        .ok_or_else(|| ApiError::missing("PaymentMethod", pm_id, "payment_method"))?;
    if pm.consumed {
        return Err(consumed_error(pm_id));
    }
    match (&pm.customer, customer) {
        (Some(owner), None) => Err(ApiError::invalid(format!(
            "The provided PaymentMethod belongs to a customer ({owner}). Please provide the `customer` parameter with the Customer's ID when using it."
        ))
        .param("payment_method")),
        (Some(owner), Some(c)) if owner != c => Err(ApiError::invalid(
            "The provided PaymentMethod belongs to a different Customer than the one given.",
        )
        .param("payment_method")),
        _ => Ok(()),
    }
}
