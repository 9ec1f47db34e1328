//! `/v1/setup_intents`: saving a card on a customer for later off-session payments.

use std::collections::BTreeMap;

use serde_json::Value;

use super::customers::live_customer;
use super::payment_intents::{
    MethodTypes, next_action, payment_method_param, payment_method_types,
};
use super::payment_methods::{attach_decline, attach_to};
use super::{Ctx, created_filter, newest_first, paginate};
use crate::cards::Behavior;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{SetupIntent, new_id, random_alnum};

const CREATE_PARAMS: &[&str] = &[
    "allowed_payment_method_types",
    "attach_to_self",
    "automatic_payment_methods",
    "confirm",
    "confirmation_token",
    "customer",
    "customer_account",
    "description",
    "excluded_payment_method_types",
    "expand",
    "flow_directions",
    "mandate_data",
    "metadata",
    "on_behalf_of",
    "payment_method",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "return_url",
    "single_use",
    "usage",
    "use_stripe_sdk",
];

const CONFIRM_PARAMS: &[&str] = &[
    "allowed_payment_method_types",
    "confirmation_token",
    "expand",
    "mandate_data",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "return_url",
    "use_stripe_sdk",
];

const SI_EXPAND: &[&str] = &["payment_method", "customer"];

fn no_such_intent(id: &str) -> ApiError {
    ApiError::missing("setupintent", id, "intent")
}

fn render_si(ctx: &Ctx<'_>, id: &str, expand: &[String]) -> ApiResult<Value> {
    let si = ctx
        .acct
        .setup_intents
        .get(id)
        .ok_or_else(|| no_such_intent(id))?;
    render::setup_intent(si, ctx.acct, expand)
}

fn unexpected_state(message: String) -> ApiError {
    ApiError::invalid(message).code("setup_intent_unexpected_state")
}

pub(super) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(CREATE_PARAMS)?;
    params.reject_unmodeled(&[
        "payment_method_data",
        "confirmation_token",
        "mandate_data",
        "on_behalf_of",
        "single_use",
        "attach_to_self",
        "customer_account",
    ])?;
    let expand = params.expand()?;
    render::check_expand(&expand, SI_EXPAND)?;
    let customer = params.non_empty_str("customer")?;
    if let Some(c) = &customer {
        live_customer(ctx, c, "customer")?;
    }
    let usage = params
        .one_of("usage", &["on_session", "off_session"])?
        .unwrap_or_else(|| "off_session".into());
    let MethodTypes {
        types,
        allowed: allowed_types,
        allow_redirects,
    } = payment_method_types(params)?;
    let confirm = params.bool("confirm")?.unwrap_or(false);
    let return_url = params.non_empty_str("return_url")?;
    let mut metadata = BTreeMap::new();
    params.apply_metadata(&mut metadata)?;
    let payment_method = payment_method_param(ctx, params, customer.as_deref())?;
    if confirm && payment_method.is_none() {
        return Err(missing_payment_method());
    }
    let id = new_id("seti");
    let seq = ctx.next_seq();
    let si = SetupIntent {
        client_secret: format!("{id}_secret_{}", random_alnum(32)),
        id: id.clone(),
        seq,
        created: ctx.now,
        customer,
        status: if payment_method.is_some() {
            "requires_confirmation".into()
        } else {
            "requires_payment_method".into()
        },
        payment_method,
        usage,
        payment_method_types: types,
        allowed_payment_method_types: allowed_types,
        automatic_payment_methods: allow_redirects,
        metadata,
        description: params.non_empty_str("description")?,
        latest_attempt: None,
        last_setup_error: None,
        next_action: None,
        cancellation_reason: None,
    };
    ctx.acct.setup_intents.insert(id.clone(), si);
    let out = render_si(ctx, &id, &[])?;
    ctx.emit("setup_intent.created", out);
    if confirm {
        do_confirm(ctx, &id, return_url.as_deref())?;
    }
    render_si(ctx, &id, &expand)
}

fn missing_payment_method() -> ApiError {
    unexpected_state(
        "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.".into(),
    )
}

/// Verifies the card: success attaches it to the SetupIntent's customer.
fn do_confirm(ctx: &mut Ctx<'_>, id: &str, return_url: Option<&str>) -> ApiResult<()> {
    let si = ctx
        .acct
        .setup_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    let pm_id = si
        .payment_method
        .clone()
        .ok_or_else(missing_payment_method)?;
    let pm = ctx
        .acct
        .payment_methods
        .get(&pm_id)
        .cloned()
        .ok_or_else(|| ApiError::missing("PaymentMethod", &pm_id, "payment_method"))?;
    let attempt = new_id("setatt");
    let asks = matches!(
        pm.card.behavior,
        Behavior::RequireAuthentication | Behavior::AuthenticateUnlessSetUp
    );
    if asks {
        let action = next_action(ctx, return_url, id);
        if let Some(s) = ctx.acct.setup_intents.get_mut(id) {
            s.status = "requires_action".into();
            s.next_action = Some(action);
            s.latest_attempt = Some(attempt);
        }
        let out = render_si(ctx, id, &[])?;
        ctx.emit("setup_intent.requires_action", out);
        return Ok(());
    }
    if let Some(decline) = attach_decline(&pm.card) {
        // The card cannot be saved: Stripe's 402 carries the SetupIntent.
        let pm_json = render::payment_method(&pm);
        let last_error = decline
            .clone()
            .with("payment_method", pm_json.clone())
            .error_object("");
        if let Some(s) = ctx.acct.setup_intents.get_mut(id) {
            s.status = "requires_payment_method".into();
            s.payment_method = None;
            s.last_setup_error = Some(last_error);
            s.latest_attempt = Some(attempt);
            s.next_action = None;
        }
        let out = render_si(ctx, id, &[])?;
        ctx.emit("setup_intent.setup_failed", out.clone());
        return Err(decline
            .with("setup_intent", out)
            .with("payment_method", pm_json));
    }
    finish_setup(ctx, id, &pm_id, attempt)
}

/// Saves the card on the SetupIntent's customer and marks the intent succeeded.
fn finish_setup(ctx: &mut Ctx<'_>, id: &str, pm_id: &str, attempt: String) -> ApiResult<()> {
    let si = ctx
        .acct
        .setup_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    let pm_customer = ctx
        .acct
        .payment_methods
        .get(pm_id)
        .map(|pm| pm.customer.clone())
        .ok_or_else(|| ApiError::missing("PaymentMethod", pm_id, "payment_method"))?;
    if let Some(customer) = &si.customer {
        match &pm_customer {
            Some(owner) if owner != customer => {
                return Err(ApiError::invalid(
                    "The payment method you provided has already been attached to a customer.",
                )
                .param("payment_method"));
            }
            Some(_) => {}
            None => attach_to(ctx, pm_id, customer),
        }
    }
    // A card set up (and authenticated where it asks) pays off-session without asking again.
    if let Some(pm) = ctx.acct.payment_methods.get_mut(pm_id) {
        pm.set_up_off_session = true;
    }
    if let Some(s) = ctx.acct.setup_intents.get_mut(id) {
        s.status = "succeeded".into();
        s.latest_attempt = Some(attempt);
        s.last_setup_error = None;
        s.next_action = None;
    }
    let out = render_si(ctx, id, &[])?;
    ctx.emit("setup_intent.succeeded", out);
    Ok(())
}

/// The customer finished (or failed) 3-D Secure on a SetupIntent in `requires_action`.
pub(super) fn complete_authentication(
    ctx: &mut Ctx<'_>,
    id: &str,
    success: bool,
) -> ApiResult<Value> {
    let si = ctx
        .acct
        .setup_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    if si.status != "requires_action" {
        return Err(unexpected_state(format!(
            "This SetupIntent has a status of {}, not requires_action.",
            si.status
        )));
    }
    let pm_id = si
        .payment_method
        .clone()
        .ok_or_else(missing_payment_method)?;
    if success {
        finish_setup(ctx, id, &pm_id, new_id("setatt"))?;
        return render_si(ctx, id, &[]);
    }
    let mut err = ApiError::invalid(
        "The latest attempt to set up the payment method has failed because authentication failed.",
    )
    .code("setup_intent_authentication_failure");
    if let Some(pm) = ctx.acct.payment_methods.get(&pm_id) {
        err = err.with("payment_method", render::payment_method(pm));
    }
    if let Some(s) = ctx.acct.setup_intents.get_mut(id) {
        s.status = "requires_payment_method".into();
        s.payment_method = None;
        s.next_action = None;
        s.last_setup_error = Some(err.error_object(""));
    }
    let out = render_si(ctx, id, &[])?;
    ctx.emit("setup_intent.setup_failed", out.clone());
    Ok(out)
}

pub(super) fn confirm(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(CONFIRM_PARAMS)?;
    params.reject_unmodeled(&["payment_method_data", "confirmation_token", "mandate_data"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, SI_EXPAND)?;
    let si = ctx
        .acct
        .setup_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    match si.status.as_str() {
        "requires_payment_method" | "requires_confirmation" | "requires_action" => {}
        "succeeded" => {
            return Err(unexpected_state(
                "You cannot confirm this SetupIntent because it has already succeeded.".into(),
            ));
        }
        other => {
            return Err(unexpected_state(format!(
                "You cannot confirm this SetupIntent because it has a status of {other}."
            )));
        }
    }
    if let Some(pm_id) = payment_method_param(ctx, params, si.customer.as_deref())?
        && let Some(s) = ctx.acct.setup_intents.get_mut(id)
    {
        s.payment_method = Some(pm_id);
    }
    let return_url = params.non_empty_str("return_url")?;
    do_confirm(ctx, id, return_url.as_deref())?;
    render_si(ctx, id, &expand)
}

pub(super) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["client_secret", "expand"])?;
    render_si(ctx, id, &params.expand()?)
}

pub(super) fn cancel(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["cancellation_reason", "expand"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, SI_EXPAND)?;
    let reason = params.one_of(
        "cancellation_reason",
        &["abandoned", "duplicate", "requested_by_customer"],
    )?;
    let si = ctx
        .acct
        .setup_intents
        .get_mut(id)
        .ok_or_else(|| no_such_intent(id))?;
    if matches!(si.status.as_str(), "succeeded" | "canceled") {
        return Err(unexpected_state(format!(
            "You cannot cancel this SetupIntent because it has a status of {}. Only a SetupIntent with one of the following statuses may be canceled: requires_payment_method, requires_confirmation, requires_action, processing.",
            si.status
        )));
    }
    si.status = "canceled".into();
    si.cancellation_reason = reason;
    si.next_action = None;
    let out = render_si(ctx, id, &[])?;
    ctx.emit("setup_intent.canceled", out);
    render_si(ctx, id, &expand)
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "attach_to_self",
        "created",
        "customer",
        "customer_account",
        "ending_before",
        "expand",
        "limit",
        "payment_method",
        "starting_after",
    ])?;
    let expand = render::list_item_expand(&params.expand()?, &[])?;
    render::check_expand(&expand, SI_EXPAND)?;
    let customer = params.non_empty_str("customer")?;
    let payment_method = params.non_empty_str("payment_method")?;
    let created = created_filter(params)?;
    let mut items: Vec<&SetupIntent> = ctx
        .acct
        .setup_intents
        .values()
        .filter(|s| customer.is_none() || s.customer == customer)
        .filter(|s| payment_method.is_none() || s.payment_method == payment_method)
        .filter(|s| created(s.created))
        .collect();
    newest_first(&mut items, |s| (s.created, s.seq));
    let (page, has_more) = paginate(items, |s| s.id.as_str(), params)?;
    let data = page
        .into_iter()
        .map(|s| render::setup_intent(s, ctx.acct, &expand))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(render::list("/v1/setup_intents", data, has_more))
}
