//! `/v1/disputes`, and the card network's side of a dispute: opening one on a charge, the
//! review of the evidence, and the verdict (see [`crate::FakeStripe::open_dispute`]).
//!
//! A dispute opens `needs_response` (its funds withdrawn from the balance), moves to
//! `under_review` once evidence is submitted, and closes `won` (funds reinstated) or `lost`.
//! Its events carry the dispute, which names the charge and the PaymentIntent; while it is
//! open or lost, the charge cannot be refunded.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Ctx, created_filter, newest_first, paginate};
use crate::currency::{check_any_amount, format_amount};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{self, EVIDENCE_FIELDS};
use crate::state::{Dispute, new_id};

const DISPUTE_EXPAND: &[&str] = &["charge", "payment_intent"];

/// How long the business has to answer a dispute (Stripe shows `evidence_details.due_by`).
const EVIDENCE_SECONDS: i64 = 7 * 24 * 60 * 60;

/// The reasons a card network gives for a dispute.
const REASONS: &[&str] = &[
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
];

fn no_such_dispute(id: &str) -> ApiError {
    ApiError::missing("dispute", id, "dispute")
}

fn render_dispute(ctx: &Ctx<'_>, id: &str, expand: &[String]) -> ApiResult<Value> {
    let d = ctx
        .acct
        .disputes
        .get(id)
        .ok_or_else(|| no_such_dispute(id))?;
    render::dispute(d, ctx.acct, expand)
}

fn is_open(status: &str) -> bool {
    matches!(status, "needs_response" | "warning_needs_response")
}

pub(super) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, DISPUTE_EXPAND)?;
    render_dispute(ctx, id, &expand)
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
    render::check_expand(&expand, DISPUTE_EXPAND)?;
    let charge = params.non_empty_str("charge")?;
    let payment_intent = params.non_empty_str("payment_intent")?;
    let created = created_filter(params)?;
    let mut items: Vec<&Dispute> = ctx
        .acct
        .disputes
        .values()
        .filter(|d| charge.as_deref().is_none_or(|c| d.charge == c))
        .filter(|d| {
            payment_intent
                .as_deref()
                .is_none_or(|p| d.payment_intent.as_deref() == Some(p))
        })
        .filter(|d| created(d.created))
        .collect();
    newest_first(&mut items, |d| (d.created, d.seq));
    let (page, has_more) = paginate(items, |d| d.id.as_str(), params)?;
    let data = page
        .into_iter()
        .map(|d| render::dispute(d, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(render::list("/v1/disputes", data, has_more))
}

/// `POST /v1/disputes/{id}`: evidence and metadata; `submit=true` hands the evidence to the
/// network (`under_review`).
pub(super) fn update(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["evidence", "expand", "metadata", "submit"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, DISPUTE_EXPAND)?;
    let submit = params.bool("submit")?.unwrap_or(false);
    let mut evidence = BTreeMap::new();
    if let Some(given) = params.object("evidence")? {
        let as_value = given.as_value();
        for (key, value) in as_value.as_object().into_iter().flatten() {
            if key == "enhanced_evidence" {
                return Err(crate::params::unmodeled("evidence[enhanced_evidence]"));
            }
            if !EVIDENCE_FIELDS.contains(&key.as_str()) {
                return Err(ApiError::param_unknown(&format!("evidence[{key}]")));
            }
            let text = value.as_str().ok_or_else(|| {
                ApiError::invalid(format!("Invalid string: evidence[{key}]"))
                    .param(format!("evidence[{key}]"))
            })?;
            evidence.insert(key.clone(), text.to_owned());
        }
    }
    let d = ctx
        .acct
        .disputes
        .get_mut(id)
        .ok_or_else(|| no_such_dispute(id))?;
    if !is_open(&d.status) && (submit || !evidence.is_empty()) {
        return Err(ApiError::invalid(format!(
            "This dispute is {} and its evidence can no longer be changed.",
            d.status.replace('_', " ")
        )));
    }
    let before_status = d.status.clone();
    for (key, value) in evidence {
        if value.is_empty() {
            d.evidence.remove(&key);
        } else {
            d.evidence.insert(key, value);
        }
    }
    params.apply_metadata(&mut d.metadata)?;
    if submit {
        d.submission_count += 1;
        d.status = "under_review".into();
    }
    let status_changed = d.status != before_status;
    let out = render_dispute(ctx, id, &[])?;
    let previous = if status_changed {
        json!({"status": before_status})
    } else {
        json!({})
    };
    ctx.emit_with_previous("charge.dispute.updated", out, previous);
    render_dispute(ctx, id, &expand)
}

/// `POST /v1/disputes/{id}/close`: the business accepts the dispute, which is then lost.
pub(super) fn close(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, DISPUTE_EXPAND)?;
    let status = ctx
        .acct
        .disputes
        .get(id)
        .map(|d| d.status.clone())
        .ok_or_else(|| no_such_dispute(id))?;
    if !is_open(&status) {
        return Err(ApiError::invalid(format!(
            "This dispute has a status of {status} and cannot be closed."
        )));
    }
    settle(ctx, id, false)?;
    render_dispute(ctx, id, &expand)
}

/// The card network opens a dispute on the charge of `payment` (a `pi_` or a `ch_` id),
/// for `amount` (default: what was captured and not refunded).
pub(crate) fn open(
    ctx: &mut Ctx<'_>,
    payment: &str,
    amount: Option<i64>,
    reason: Option<&str>,
) -> ApiResult<Value> {
    let charge_id = if payment.starts_with("pi_") {
        let pi = ctx
            .acct
            .payment_intents
            .get(payment)
            .ok_or_else(|| ApiError::missing("payment_intent", payment, "payment_intent"))?;
        pi.latest_charge.clone().ok_or_else(|| {
            ApiError::invalid(format!("PaymentIntent {payment} has no charge to dispute."))
        })?
    } else {
        payment.to_owned()
    };
    let ch = ctx
        .acct
        .charges
        .get(&charge_id)
        .cloned()
        .ok_or_else(|| ApiError::missing("charge", &charge_id, "charge"))?;
    let disputable = ch.amount_captured - ch.amount_refunded_by_refunds;
    if !ch.captured || disputable <= 0 {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} has no captured, unrefunded funds to dispute."
        )));
    }
    if ctx.acct.disputes.values().any(|d| d.charge == charge_id) {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} is already disputed."
        )));
    }
    let amount = amount.unwrap_or(disputable);
    check_any_amount(amount, &ch.currency, "amount")?;
    if amount > disputable {
        return Err(ApiError::invalid(format!(
            "The disputed amount ({}) cannot be greater than what the charge has captured and not refunded ({}).",
            format_amount(amount, &ch.currency),
            format_amount(disputable, &ch.currency),
        ))
        .param("amount"));
    }
    let reason = reason.unwrap_or("fraudulent");
    if !REASONS.contains(&reason) {
        return Err(ApiError::invalid(format!(
            "Invalid reason: must be one of {}",
            REASONS.join(", ")
        ))
        .param("reason"));
    }
    let id = new_id("dp");
    let seq = ctx.next_seq();
    let dispute = Dispute {
        id: id.clone(),
        seq,
        created: ctx.now,
        amount,
        currency: ch.currency.clone(),
        charge: charge_id,
        payment_intent: Some(ch.payment_intent.clone()),
        reason: reason.to_owned(),
        status: "needs_response".into(),
        metadata: BTreeMap::new(),
        evidence: BTreeMap::new(),
        evidence_due_by: ctx.now + EVIDENCE_SECONDS,
        submission_count: 0,
        card_brand: ch.card.brand.to_owned(),
    };
    ctx.acct.disputes.insert(id.clone(), dispute);
    let out = render_dispute(ctx, &id, &[])?;
    ctx.emit("charge.dispute.created", out.clone());
    ctx.emit("charge.dispute.funds_withdrawn", out.clone());
    Ok(out)
}

/// The business's evidence reached the network: `needs_response` becomes `under_review`.
pub(crate) fn review(ctx: &mut Ctx<'_>, id: &str) -> ApiResult<Value> {
    update(ctx, id, &Params::new(json!({"submit": "true"})))
}

/// The network's verdict: `won` (funds reinstated) or `lost`.
pub(crate) fn settle(ctx: &mut Ctx<'_>, id: &str, won: bool) -> ApiResult<Value> {
    let d = ctx
        .acct
        .disputes
        .get_mut(id)
        .ok_or_else(|| no_such_dispute(id))?;
    if matches!(d.status.as_str(), "won" | "lost") {
        return Err(ApiError::invalid(format!(
            "This dispute is already closed ({}).",
            d.status
        )));
    }
    let before = d.status.clone();
    d.status = if won { "won" } else { "lost" }.into();
    let out = render_dispute(ctx, id, &[])?;
    ctx.emit_with_previous(
        "charge.dispute.closed",
        out.clone(),
        json!({"status": before}),
    );
    if won {
        ctx.emit("charge.dispute.funds_reinstated", out.clone());
    }
    Ok(out)
}
