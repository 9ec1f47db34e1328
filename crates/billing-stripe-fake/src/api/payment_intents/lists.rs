//! Listing and searching PaymentIntents, and reading the charges they made.

use serde_json::{Value, json};

use super::PI_EXPAND;
use crate::api::{Ctx, created_filter, limit, newest_first, paginate};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::search;
use crate::state::{Charge, PaymentIntent};

pub(in crate::api) fn list(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "created",
        "customer",
        "customer_account",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
    ])?;
    let expand = render::list_item_expand(&params.expand()?, &[])?;
    render::check_expand(&expand, PI_EXPAND)?;
    let customer = params.non_empty_str("customer")?;
    let created = created_filter(params)?;
    let mut items: Vec<&PaymentIntent> = ctx
        .acct
        .payment_intents
        .values()
        .filter(|pi| customer.is_none() || pi.customer == customer)
        .filter(|pi| created(pi.created))
        .collect();
    newest_first(&mut items, |pi| (pi.created, pi.seq));
    let (page, has_more) = paginate(items, |pi| pi.id.as_str(), params)?;
    let data = page
        .into_iter()
        .map(|pi| render::payment_intent(pi, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(render::list("/v1/payment_intents", data, has_more))
}

/// `GET /v1/payment_intents/search?query=metadata['payment_id']:'X'`.
pub(in crate::api) fn search(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand", "limit", "page", "query"])?;
    let expand_all = params.expand()?;
    let expand = render::list_item_expand(&expand_all, &["total_count"])?;
    render::check_expand(&expand, PI_EXPAND)?;
    let query = params.required_str("query")?;
    let query = search::Query::parse(
        &query,
        &["amount", "created", "currency", "customer", "status"],
    )?;
    let limit = limit(params)?;
    let offset = match params.non_empty_str("page")? {
        Some(page) => search::decode_page(&page)?,
        None => 0,
    };
    // Stripe's search index lags behind its writes: intents newer than the lag are not
    // found yet.
    let indexed_until = ctx.now - ctx.search_lag;
    let mut items: Vec<&PaymentIntent> = ctx
        .acct
        .payment_intents
        .values()
        .filter(|pi| ctx.search_lag <= 0 || pi.created <= indexed_until)
        .filter(|pi| query.matches(&|field| pi_field(pi, field)))
        .collect();
    newest_first(&mut items, |pi| (pi.created, pi.seq));
    let total = items.len();
    let page: Vec<&PaymentIntent> = items.into_iter().skip(offset).take(limit).collect();
    let has_more = offset + page.len() < total;
    let data = page
        .into_iter()
        .map(|pi| render::payment_intent(pi, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut out = json!({
        "object": "search_result",
        "data": data,
        "has_more": has_more,
        "next_page": if has_more { json!(search::encode_page(offset + limit)) } else { Value::Null },
        "url": "/v1/payment_intents/search",
    });
    if expand_all.iter().any(|e| e == "total_count") {
        out["total_count"] = json!(total);
    }
    Ok(out)
}

/// The searchable fields of a PaymentIntent (Stripe's query fields for this resource).
fn pi_field(pi: &PaymentIntent, field: &search::Field) -> Option<search::FieldValue> {
    use search::{Field, FieldValue};
    match field {
        Field::Metadata(key) => pi.metadata.get(key).cloned().map(FieldValue::Text),
        Field::Named(name) => match name.as_str() {
            "amount" => Some(FieldValue::Number(pi.amount)),
            "created" => Some(FieldValue::Number(pi.created)),
            "currency" => Some(FieldValue::Text(pi.currency.clone())),
            "customer" => pi.customer.clone().map(FieldValue::Text),
            "status" => Some(FieldValue::Text(pi.status.clone())),
            _ => None,
        },
    }
}

pub(in crate::api) fn retrieve_charge(
    ctx: &mut Ctx<'_>,
    id: &str,
    params: &Params,
) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    let ch = ctx
        .acct
        .charges
        .get(id)
        .ok_or_else(|| ApiError::missing("charge", id, "id"))?;
    render::charge(ch, ctx.acct, &params.expand()?)
}

pub(in crate::api) fn list_charges(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "created",
        "customer",
        "ending_before",
        "expand",
        "limit",
        "payment_intent",
        "starting_after",
        "transfer_group",
    ])?;
    let expand = render::list_item_expand(&params.expand()?, &[])?;
    let customer = params.non_empty_str("customer")?;
    let payment_intent = params.non_empty_str("payment_intent")?;
    let created = created_filter(params)?;
    let mut items: Vec<&Charge> = ctx
        .acct
        .charges
        .values()
        .filter(|c| customer.is_none() || c.customer == customer)
        .filter(|c| {
            payment_intent
                .as_deref()
                .is_none_or(|p| c.payment_intent == p)
        })
        .filter(|c| created(c.created))
        .collect();
    newest_first(&mut items, |c| (c.created, c.seq));
    let (page, has_more) = paginate(items, |c| c.id.as_str(), params)?;
    let data = page
        .into_iter()
        .map(|c| render::charge(c, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(render::list("/v1/charges", data, has_more))
}
