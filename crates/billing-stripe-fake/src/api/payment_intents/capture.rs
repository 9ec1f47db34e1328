//! Capturing or canceling an authorization, and the holds that expire on their own.

use serde_json::Value;

use super::{PI_EXPAND, charge_json, intent, render_pi, unexpected_state};
use crate::api::{Ctx, format_amount};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::new_id;

const CAPTURE_PARAMS: &[&str] = &[
    "amount_details",
    "amount_to_capture",
    "application_fee_amount",
    "expand",
    "final_capture",
    "hooks",
    "metadata",
    "payment_details",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
];

/// Cancels the uncaptured PaymentIntents whose authorization is past `capture_before`
/// (Stripe cancels them with `cancellation_reason: automatic`).
pub(in crate::api) fn expire_holds(ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let expired: Vec<(String, String, i64)> = ctx
        .acct
        .payment_intents
        .values()
        .filter(|pi| pi.status == "requires_capture")
        .filter_map(|pi| {
            let charge_id = pi.latest_charge.clone()?;
            let before = ctx.acct.charges.get(&charge_id)?.capture_before?;
            (before <= now).then(|| (pi.id.clone(), charge_id, before))
        })
        .collect();
    for (pi_id, charge_id, before) in expired {
        if let Some(ch) = ctx.acct.charges.get_mut(&charge_id) {
            ch.amount_released = ch.amount;
        }
        if let Some(pi) = ctx.acct.payment_intents.get_mut(&pi_id) {
            pi.status = "canceled".into();
            pi.amount_capturable = 0;
            pi.canceled_at = Some(before);
            pi.cancellation_reason = Some("automatic".into());
        }
        if let Ok(out) = render_pi(ctx, &pi_id, &[]) {
            ctx.emit_automatic("payment_intent.canceled", out);
        }
    }
}

pub(in crate::api) fn capture(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(CAPTURE_PARAMS)?;
    params.reject_unmodeled(&["transfer_data"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let pi = intent(ctx, id)?;
    if pi.status != "requires_capture" {
        return Err(unexpected_state(format!(
            "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
            pi.status
        )));
    }
    let amount = params
        .int("amount_to_capture")?
        .unwrap_or(pi.amount_capturable);
    if amount < 1 {
        return Err(
            ApiError::invalid("This value must be greater than or equal to 1.")
                .param("amount_to_capture"),
        );
    }
    if amount > pi.amount_capturable {
        return Err(ApiError::invalid(format!(
            "The amount to capture ({}) cannot be greater than the amount capturable ({}) on this PaymentIntent.",
            format_amount(amount, &pi.currency),
            format_amount(pi.amount_capturable, &pi.currency),
        ))
        .code("amount_too_large")
        .param("amount_to_capture"));
    }
    let charge_id = pi.latest_charge.clone().unwrap_or_default();
    let suffix = params.non_empty_str("statement_descriptor_suffix")?;
    let application_fee_amount = params.int("application_fee_amount")?;
    {
        let ch = ctx
            .acct
            .charges
            .get_mut(&charge_id)
            .ok_or_else(|| ApiError::missing("charge", &charge_id, "charge"))?;
        ch.captured = true;
        ch.amount_captured = amount;
        // A partial capture releases the rest of the authorization.
        ch.amount_released = ch.amount - amount;
        ch.balance_transaction = Some(new_id("txn"));
        if suffix.is_some() {
            ch.statement_descriptor_suffix = suffix.clone();
        }
    }
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        p.status = "succeeded".into();
        p.amount_received = amount;
        p.amount_capturable = 0;
        if suffix.is_some() {
            p.statement_descriptor_suffix = suffix;
        }
        if application_fee_amount.is_some() {
            p.application_fee_amount = application_fee_amount;
        }
        params.apply_metadata(&mut p.metadata)?;
    }
    let charge_out = charge_json(ctx, &charge_id)?;
    ctx.emit("charge.captured", charge_out);
    let out = render_pi(ctx, id, &[])?;
    ctx.emit("payment_intent.succeeded", out);
    render_pi(ctx, id, &expand)
}

pub(in crate::api) fn cancel(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["cancellation_reason", "expand"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let reason = params.one_of(
        "cancellation_reason",
        &[
            "abandoned",
            "duplicate",
            "fraudulent",
            "requested_by_customer",
        ],
    )?;
    let pi = intent(ctx, id)?;
    let cancelable = matches!(
        pi.status.as_str(),
        "requires_payment_method"
            | "requires_capture"
            | "requires_confirmation"
            | "requires_action"
            | "processing"
    );
    if !cancelable {
        return Err(unexpected_state(format!(
            "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
            pi.status
        )));
    }
    if pi.status == "requires_capture"
        && let Some(ch) = pi
            .latest_charge
            .as_ref()
            .and_then(|c| ctx.acct.charges.get_mut(c))
    {
        // Canceling an authorization releases all of it.
        ch.amount_released = ch.amount;
    }
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        p.status = "canceled".into();
        p.amount_capturable = 0;
        p.canceled_at = Some(ctx.now);
        p.cancellation_reason = reason;
        p.next_action = None;
    }
    let out = render_pi(ctx, id, &[])?;
    ctx.emit("payment_intent.canceled", out);
    render_pi(ctx, id, &expand)
}
