//! `/v1/customers`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Ctx, created_filter, newest_first, paginate};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{Address, Customer, new_id, random_alnum};

const CREATE_PARAMS: &[&str] = &[
    "address",
    "balance",
    "business_name",
    "cash_balance",
    "description",
    "email",
    "expand",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "payment_method",
    "phone",
    "preferred_locales",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
    "tax_id_data",
    "test_clock",
    "validate",
];

const UPDATE_PARAMS: &[&str] = &[
    "address",
    "balance",
    "business_name",
    "cash_balance",
    "default_source",
    "description",
    "email",
    "expand",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
    "validate",
];

/// Looks a live (not deleted) customer up, with Stripe's 404 otherwise.
pub(super) fn live_customer<'c>(
    ctx: &'c Ctx<'_>,
    id: &str,
    param: &str,
) -> ApiResult<&'c Customer> {
    ctx.acct
        .customers
        .get(id)
        .filter(|c| !c.deleted)
        .ok_or_else(|| ApiError::missing("customer", id, param))
}

pub(super) fn parse_address(params: &Params, key: &str) -> ApiResult<Option<Address>> {
    let Some(a) = params.object(key)? else {
        return Ok(None);
    };
    a.allow_only(&["city", "country", "line1", "line2", "postal_code", "state"])?;
    Ok(Some(Address {
        city: a.non_empty_str("city")?,
        country: a.non_empty_str("country")?,
        line1: a.non_empty_str("line1")?,
        line2: a.non_empty_str("line2")?,
        postal_code: a.non_empty_str("postal_code")?,
        state: a.non_empty_str("state")?,
    }))
}

/// Renders a customer of this account.
fn render(ctx: &Ctx<'_>, id: &str, expand: &[String]) -> ApiResult<Value> {
    let c = ctx
        .acct
        .customers
        .get(id)
        .ok_or_else(|| ApiError::missing("customer", id, "id"))?;
    render::customer(c, ctx.acct, expand)
}

pub(super) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(CREATE_PARAMS)?;
    params.reject_unmodeled(&["source", "test_clock", "customer_account"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, &["invoice_settings.default_payment_method"])?;
    let mut metadata = BTreeMap::new();
    params.apply_metadata(&mut metadata)?;
    let payment_method = params.non_empty_str("payment_method")?;
    let default_pm = match params.object("invoice_settings")? {
        Some(settings) => settings.non_empty_str("default_payment_method")?,
        None => None,
    };
    let id = new_id("cus");
    // Resolve and check the payment method before anything is stored.
    let attach_pm = match &payment_method {
        Some(pm) => Some(super::payment_methods::resolve(ctx, pm, "payment_method")?),
        None => None,
    };
    if let Some(pm_id) = &attach_pm {
        super::payment_methods::check_attachable(ctx, pm_id, None)?;
    }
    if let Some(default) = &default_pm {
        // Only a method attached in the same call can be the default of a new customer.
        if attach_pm.as_deref() != Some(default.as_str()) {
            return Err(not_attached(default));
        }
    }
    let seq = ctx.next_seq();
    let customer = Customer {
        id: id.clone(),
        seq,
        created: ctx.now,
        email: params.non_empty_str("email")?,
        name: params.non_empty_str("name")?,
        description: params.non_empty_str("description")?,
        phone: params.non_empty_str("phone")?,
        address: parse_address(params, "address")?,
        preferred_locales: params.str_list("preferred_locales")?.unwrap_or_default(),
        invoice_prefix: random_alnum(8).to_uppercase(),
        metadata,
        default_payment_method: default_pm,
        deleted: false,
    };
    ctx.acct.customers.insert(id.clone(), customer);
    if let Some(pm_id) = &attach_pm {
        super::payment_methods::attach_to(ctx, pm_id, &id);
    }
    let out = render(ctx, &id, &[])?;
    ctx.emit("customer.created", out);
    render(ctx, &id, &expand)
}

fn not_attached(pm: &str) -> ApiError {
    ApiError::invalid(format!(
        "The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."
    ))
    .param("invoice_settings[default_payment_method]")
}

pub(super) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    // A deleted customer is still found: Stripe answers `{"deleted": true}`.
    render(ctx, id, &params.expand()?)
}

pub(super) fn update(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(UPDATE_PARAMS)?;
    params.reject_unmodeled(&["source", "default_source"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, &["invoice_settings.default_payment_method"])?;
    live_customer(ctx, id, "id")?;
    let default_pm = match params.object("invoice_settings")? {
        Some(settings) => settings.str("default_payment_method")?,
        None => None,
    };
    if let Some(pm) = default_pm.as_deref().filter(|p| !p.is_empty()) {
        let attached = ctx
            .acct
            .payment_methods
            .get(pm)
            .is_some_and(|p| p.customer.as_deref() == Some(id));
        if !attached {
            return Err(not_attached(pm));
        }
    }
    let email = params.str("email")?;
    let name = params.str("name")?;
    let description = params.str("description")?;
    let phone = params.str("phone")?;
    let address = parse_address(params, "address")?;
    let locales = params.str_list("preferred_locales")?;
    let customer = ctx
        .acct
        .customers
        .get_mut(id)
        .ok_or_else(|| ApiError::missing("customer", id, "id"))?;
    let before = customer.clone();
    // An empty string unsets a field, as on Stripe.
    let set = |field: &mut Option<String>, value: Option<String>| {
        if let Some(v) = value {
            *field = Some(v).filter(|s| !s.is_empty());
        }
    };
    set(&mut customer.email, email);
    set(&mut customer.name, name);
    set(&mut customer.description, description);
    set(&mut customer.phone, phone);
    if let Some(a) = address {
        customer.address = Some(a);
    }
    if let Some(l) = locales {
        customer.preferred_locales = l;
    }
    if let Some(pm) = default_pm {
        customer.default_payment_method = Some(pm).filter(|s| !s.is_empty());
    }
    params.apply_metadata(&mut customer.metadata)?;
    let previous = previous_attributes(&before, customer);
    let out = render(ctx, id, &[])?;
    ctx.emit_with_previous("customer.updated", out, previous);
    render(ctx, id, &expand)
}

/// The `data.previous_attributes` of a `customer.updated` event.
fn previous_attributes(before: &Customer, after: &Customer) -> Value {
    let mut prev = serde_json::Map::new();
    if before.email != after.email {
        prev.insert("email".into(), json!(before.email));
    }
    if before.name != after.name {
        prev.insert("name".into(), json!(before.name));
    }
    if before.metadata != after.metadata {
        prev.insert("metadata".into(), json!(before.metadata));
    }
    if before.default_payment_method != after.default_payment_method {
        prev.insert(
            "invoice_settings".into(),
            json!({"default_payment_method": before.default_payment_method}),
        );
    }
    Value::Object(prev)
}

pub(super) fn delete(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[])?;
    live_customer(ctx, id, "id")?;
    let before = render(ctx, id, &[])?;
    if let Some(c) = ctx.acct.customers.get_mut(id) {
        c.deleted = true;
        c.default_payment_method = None;
    }
    // Deleting a customer detaches its payment methods for good.
    for pm in ctx.acct.payment_methods.values_mut() {
        if pm.customer.as_deref() == Some(id) {
            pm.customer = None;
            pm.consumed = true;
        }
    }
    ctx.emit("customer.deleted", before);
    Ok(json!({"id": id, "object": "customer", "deleted": true}))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "created",
        "email",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "test_clock",
    ])?;
    let expand = render::list_item_expand(&params.expand()?, &[])?;
    let email = params.non_empty_str("email")?;
    let created = created_filter(params)?;
    let mut items: Vec<&Customer> = ctx
        .acct
        .customers
        .values()
        .filter(|c| !c.deleted)
        .filter(|c| email.is_none() || c.email == email)
        .filter(|c| created(c.created))
        .collect();
    newest_first(&mut items, |c| (c.created, c.seq));
    let (page, has_more) = paginate(items, |c| c.id.as_str(), params)?;
    let data = page
        .into_iter()
        .map(|c| render::customer(c, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(render::list("/v1/customers", data, has_more))
}
