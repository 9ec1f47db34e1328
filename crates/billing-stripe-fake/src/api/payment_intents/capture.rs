//! Capturing or canceling an authorization, and the holds that expire on their own.

use serde_json::Value;

use super::{PI_EXPAND, charge_json, intent, render_pi, unexpected_state};
use crate::api::Ctx;
use crate::currency::{check_any_amount, format_amount};
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

/// Stripe's cap on the captures of one authorization.
const MAX_CAPTURES: u32 = 50;

/// Ends the uncaptured PaymentIntents whose authorization is past `capture_before`, as
/// Stripe does: canceled with `cancellation_reason: automatic` (and `charge.expired`), or,
/// when part of a multicapture authorization was captured, succeeded with the rest released.
pub(in crate::api) fn expire_holds(ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let mut expired: Vec<(String, String, i64)> = ctx
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
    // In the order they expired, so that the events come in a stable order.
    expired.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    for (pi_id, charge_id, before) in expired {
        let captured = release_rest(ctx, &charge_id);
        if let Some(pi) = ctx.acct.payment_intents.get_mut(&pi_id) {
            pi.amount_capturable = 0;
            if captured > 0 {
                pi.status = "succeeded".into();
            } else {
                pi.status = "canceled".into();
                pi.canceled_at = Some(before);
                pi.cancellation_reason = Some("automatic".into());
            }
        }
        if captured == 0
            && let Ok(charge_out) = charge_json(ctx, &charge_id)
        {
            ctx.emit_automatic("charge.expired", charge_out);
        }
        if let Ok(out) = render_pi(ctx, &pi_id, &[]) {
            let event = if captured > 0 {
                "payment_intent.succeeded"
            } else {
                "payment_intent.canceled"
            };
            ctx.emit_automatic(event, out);
        }
    }
}

/// Lets go of what is left of an authorization; answers what was captured of it.
fn release_rest(ctx: &mut Ctx<'_>, charge_id: &str) -> i64 {
    match ctx.acct.charges.get_mut(charge_id) {
        Some(ch) => {
            ch.amount_released = ch.amount - ch.amount_captured;
            ch.amount_captured
        }
        None => 0,
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
    let charge_id = pi.latest_charge.clone().unwrap_or_default();
    let (multicapture, captures) = ctx
        .acct
        .charges
        .get(&charge_id)
        .map(|ch| (ch.multicapture, ch.captures))
        .ok_or_else(|| ApiError::missing("charge", &charge_id, "charge"))?;
    let final_capture = params.bool("final_capture")?.unwrap_or(true);
    if !final_capture && !multicapture {
        return Err(ApiError::invalid(
            "You cannot set `final_capture` to false because multicapture is not available for this PaymentIntent. Create it with `payment_method_options[card][request_multicapture]=if_available` and check that the charge's `payment_method_details.card.multicapture.status` is `available`.",
        )
        .param("final_capture"));
    }
    if captures >= MAX_CAPTURES {
        return Err(unexpected_state(format!(
            "This PaymentIntent has already been captured {MAX_CAPTURES} times, the most Stripe allows for one authorization."
        )));
    }
    let amount = params
        .int("amount_to_capture")?
        .unwrap_or(pi.amount_capturable);
    check_any_amount(amount, &pi.currency, "amount_to_capture")?;
    if amount > pi.amount_capturable {
        return Err(ApiError::invalid(format!(
            "The amount to capture ({}) cannot be greater than the amount capturable ({}) on this PaymentIntent.",
            format_amount(amount, &pi.currency),
            format_amount(pi.amount_capturable, &pi.currency),
        ))
        .code("amount_too_large")
        .param("amount_to_capture"));
    }
    let suffix = params.non_empty_str("statement_descriptor_suffix")?;
    let application_fee_amount = params.int("application_fee_amount")?;
    {
        let ch = ctx
            .acct
            .charges
            .get_mut(&charge_id)
            .ok_or_else(|| ApiError::missing("charge", &charge_id, "charge"))?;
        ch.captured = true;
        ch.captures += 1;
        ch.amount_captured += amount;
        if final_capture {
            // The final capture releases the rest of the authorization.
            ch.amount_released = ch.amount - ch.amount_captured;
        }
        ch.balance_transaction = Some(new_id("txn"));
        if suffix.is_some() {
            ch.statement_descriptor_suffix = suffix.clone();
        }
    }
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        p.amount_received += amount;
        if final_capture {
            p.status = "succeeded".into();
            p.amount_capturable = 0;
        } else {
            p.amount_capturable -= amount;
        }
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
    if final_capture {
        ctx.emit("payment_intent.succeeded", out);
    } else {
        ctx.emit("payment_intent.amount_capturable_updated", out);
    }
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
    // Canceling an authorization releases what is left of it. When part of a multicapture
    // authorization was captured, the intent ends succeeded with what was captured.
    let captured = match (&pi.latest_charge, pi.status.as_str()) {
        (Some(charge_id), "requires_capture") => release_rest(ctx, charge_id),
        _ => 0,
    };
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        p.amount_capturable = 0;
        p.next_action = None;
        if captured > 0 {
            p.status = "succeeded".into();
        } else {
            p.status = "canceled".into();
            p.canceled_at = Some(ctx.now);
            p.cancellation_reason = reason;
        }
    }
    let out = render_pi(ctx, id, &[])?;
    if captured > 0 {
        ctx.emit("payment_intent.succeeded", out);
    } else {
        ctx.emit("payment_intent.canceled", out);
    }
    render_pi(ctx, id, &expand)
}
