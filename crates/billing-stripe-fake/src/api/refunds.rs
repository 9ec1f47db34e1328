//! `/v1/refunds`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Ctx, created_filter, format_amount, newest_first, paginate};
use crate::currency::check_any_amount;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{Refund, new_id};

const CREATE_PARAMS: &[&str] = &[
    "amount",
    "charge",
    "currency",
    "customer",
    "expand",
    "instructions_email",
    "metadata",
    "origin",
    "payment_intent",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
];

const REFUND_EXPAND: &[&str] = &["charge", "payment_intent"];

fn render_refund(ctx: &Ctx<'_>, id: &str, expand: &[String]) -> ApiResult<Value> {
    let r = ctx
        .acct
        .refunds
        .get(id)
        .ok_or_else(|| ApiError::missing("refund", id, "id"))?;
    render::refund(r, ctx.acct, expand)
}

pub(super) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(CREATE_PARAMS)?;
    params.reject_unmodeled(&[
        "customer",
        "currency",
        "origin",
        "instructions_email",
        "reverse_transfer",
        "refund_application_fee",
    ])?;
    let expand = params.expand()?;
    render::check_expand(&expand, REFUND_EXPAND)?;
    let pi_param = params.non_empty_str("payment_intent")?;
    let charge_param = params.non_empty_str("charge")?;
    // Find the charge to refund, from the PaymentIntent or given directly.
    let charge_id = match (&pi_param, &charge_param) {
        (None, None) => {
            return Err(ApiError::invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "You may only specify one of these parameters: charge, payment_intent.",
            ));
        }
        (Some(pi_id), None) => {
            let pi = ctx
                .acct
                .payment_intents
                .get(pi_id)
                .ok_or_else(|| ApiError::missing("payment_intent", pi_id, "payment_intent"))?;
            // A multicapture intent can be refunded what it captured before its final capture.
            let refundable = pi.status == "succeeded"
                || (pi.status == "requires_capture" && pi.amount_received > 0);
            let charge = pi
                .latest_charge
                .as_ref()
                .filter(|_| refundable)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "This PaymentIntent ({pi_id}) does not have a successful charge to refund."
                    ))
                    .param("payment_intent")
                })?;
            charge.clone()
        }
        (None, Some(ch)) => {
            if !ctx.acct.charges.contains_key(ch) {
                return Err(ApiError::missing("charge", ch, "charge"));
            }
            ch.clone()
        }
    };
    let ch = ctx
        .acct
        .charges
        .get(&charge_id)
        .cloned()
        .ok_or_else(|| ApiError::missing("charge", &charge_id, "charge"))?;
    if ch.status != "succeeded" || !ch.captured {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} has not been captured or has failed and cannot be refunded."
        ))
        .code("charge_not_refundable"));
    }
    if ctx
        .acct
        .disputes
        .values()
        .any(|d| d.charge == charge_id && d.blocks_refunds())
    {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} has been charged back; cannot issue a refund."
        ))
        .code("charge_disputed"));
    }
    // What can still be refunded: the captured amount less earlier refunds.
    let remaining = ch.amount_captured - ch.amount_refunded_by_refunds;
    if remaining <= 0 {
        return Err(
            ApiError::invalid(format!("Charge {charge_id} has already been refunded."))
                .code("charge_already_refunded"),
        );
    }
    let amount = match params.int("amount")? {
        None => remaining,
        Some(a) if a < 1 => {
            return Err(ApiError::invalid("Invalid positive integer").param("amount"));
        }
        Some(a) if a > remaining => {
            return Err(ApiError::invalid(format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                format_amount(a, &ch.currency),
                format_amount(remaining, &ch.currency),
            ))
            .code("amount_too_large")
            .param("amount"));
        }
        Some(a) => {
            check_any_amount(a, &ch.currency, "amount")?;
            a
        }
    };
    let reason = params.one_of(
        "reason",
        &["duplicate", "fraudulent", "requested_by_customer"],
    )?;
    let mut metadata = BTreeMap::new();
    params.apply_metadata(&mut metadata)?;
    let id = new_id("re");
    let seq = ctx.next_seq();
    ctx.acct.refunds.insert(
        id.clone(),
        Refund {
            id: id.clone(),
            seq,
            created: ctx.now,
            amount,
            currency: ch.currency.clone(),
            charge: charge_id.clone(),
            payment_intent: ch.payment_intent.clone(),
            reason,
            metadata,
            status: "succeeded".into(),
            balance_transaction: new_id("txn"),
        },
    );
    if let Some(c) = ctx.acct.charges.get_mut(&charge_id) {
        c.amount_refunded_by_refunds += amount;
    }
    let refund_out = render_refund(ctx, &id, &[])?;
    ctx.emit("refund.created", refund_out);
    if let Some(c) = ctx.acct.charges.get(&charge_id) {
        let charge_out = render::charge(c, ctx.acct, &[])?;
        ctx.emit("charge.refunded", charge_out);
    }
    render_refund(ctx, &id, &expand)
}

pub(super) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    render_refund(ctx, id, &params.expand()?)
}

pub(super) fn update(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand", "metadata"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, REFUND_EXPAND)?;
    let r = ctx
        .acct
        .refunds
        .get_mut(id)
        .ok_or_else(|| ApiError::missing("refund", id, "id"))?;
    params.apply_metadata(&mut r.metadata)?;
    let out = render_refund(ctx, id, &[])?;
    ctx.emit("refund.updated", out);
    render_refund(ctx, id, &expand)
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "charge",
        "created",
        "ending_before",
        "expand",
        "limit",
        "payment_intent",
        "starting_after",
    ])?;
    let expand = render::list_item_expand(&params.expand()?, &[])?;
    render::check_expand(&expand, REFUND_EXPAND)?;
    let charge = params.non_empty_str("charge")?;
    let payment_intent = params.non_empty_str("payment_intent")?;
    let created = created_filter(params)?;
    let mut items: Vec<&Refund> = ctx
        .acct
        .refunds
        .values()
        .filter(|r| charge.as_deref().is_none_or(|c| r.charge == c))
        .filter(|r| {
            payment_intent
                .as_deref()
                .is_none_or(|p| r.payment_intent == p)
        })
        .filter(|r| created(r.created))
        .collect();
    newest_first(&mut items, |r| (r.created, r.seq));
    let (page, has_more) = paginate(items, |r| r.id.as_str(), params)?;
    let data = page
        .into_iter()
        .map(|r| render::refund(r, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(render::list("/v1/refunds", data, has_more))
}
