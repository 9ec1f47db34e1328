//! Creating, reading and updating a PaymentIntent.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::confirm::{
    ConfirmOptions, check_redirect_rule, do_confirm, missing_payment_method, off_session,
};
use super::{
    CAPTURE_METHODS, PI_EXPAND, card_options, intent, no_such_intent, payment_method_param,
    render_pi, unexpected_state,
};
use crate::api::Ctx;
use crate::api::customers::live_customer;
use crate::currency::{check_charge_amount, check_currency};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{PaymentIntent, new_id, random_alnum};

const CREATE_PARAMS: &[&str] = &[
    "allowed_payment_method_types",
    "amount",
    "amount_details",
    "application_fee_amount",
    "automatic_payment_methods",
    "capture_method",
    "confirm",
    "confirmation_method",
    "confirmation_token",
    "currency",
    "customer",
    "customer_account",
    "description",
    "error_on_requires_action",
    "excluded_payment_method_types",
    "expand",
    "hooks",
    "mandate",
    "mandate_data",
    "metadata",
    "off_session",
    "on_behalf_of",
    "payment_details",
    "payment_method",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "radar_options",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
    "use_stripe_sdk",
];

const UPDATE_PARAMS: &[&str] = &[
    "allowed_payment_method_types",
    "amount",
    "amount_details",
    "application_fee_amount",
    "capture_method",
    "currency",
    "customer",
    "customer_account",
    "description",
    "excluded_payment_method_types",
    "expand",
    "hooks",
    "metadata",
    "payment_details",
    "payment_method",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
];

/// The payment method types of a new intent.
pub(in crate::api) struct MethodTypes {
    pub types: Vec<String>,
    /// `allowed_payment_method_types` as given (the newer name of the parameter).
    pub allowed: Option<Vec<String>>,
    /// `automatic_payment_methods[allow_redirects]` when automatic payment methods are on.
    pub allow_redirects: Option<String>,
}

/// Explicit types, or automatic payment methods (Stripe's default since API version
/// 2023-08-16).
pub(in crate::api) fn payment_method_types(params: &Params) -> ApiResult<MethodTypes> {
    let types = params.str_list("payment_method_types")?;
    let allowed = params.str_list("allowed_payment_method_types")?;
    let apm = params.object("automatic_payment_methods")?;
    let explicit = types.clone().or_else(|| allowed.clone());
    if let Some(list) = &explicit {
        if apm
            .as_ref()
            .is_some_and(|a| a.bool("enabled").ok().flatten() == Some(true))
        {
            return Err(ApiError::invalid(
                "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            ));
        }
        if let Some(bad) = list.iter().find(|t| t.as_str() != "card") {
            return Err(ApiError::invalid(format!(
                "FakeStripe only supports the card payment method type, not {bad}."
            ))
            .param("payment_method_types"));
        }
        return Ok(MethodTypes {
            types: list.clone(),
            allowed,
            allow_redirects: None,
        });
    }
    let (enabled, allow_redirects) = match &apm {
        Some(a) => {
            a.allow_only(&["allow_redirects", "enabled"])?;
            (
                a.bool("enabled")?.unwrap_or(true),
                a.one_of("allow_redirects", &["always", "never"])?,
            )
        }
        None => (true, None),
    };
    Ok(MethodTypes {
        types: vec!["card".into()],
        allowed: None,
        allow_redirects: enabled.then(|| allow_redirects.unwrap_or_else(|| "always".into())),
    })
}

pub(in crate::api) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(CREATE_PARAMS)?;
    params.reject_unmodeled(&[
        "payment_method_data",
        "confirmation_token",
        "transfer_data",
        "on_behalf_of",
        "mandate",
        "mandate_data",
        "customer_account",
    ])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let amount = params
        .int("amount")?
        .ok_or_else(|| ApiError::param_missing("amount"))?;
    let currency = params.required_str("currency")?.to_lowercase();
    check_currency(&currency)?;
    check_charge_amount(amount, &currency)?;
    let request_multicapture = card_options(params)?;
    let customer = params.non_empty_str("customer")?;
    if let Some(c) = &customer {
        live_customer(ctx, c, "customer")?;
    }
    let capture_method = params
        .one_of("capture_method", CAPTURE_METHODS)?
        .unwrap_or_else(|| "automatic_async".into());
    let confirmation_method = params
        .one_of("confirmation_method", &["automatic", "manual"])?
        .unwrap_or_else(|| "automatic".into());
    let setup_future_usage = params.one_of("setup_future_usage", &["on_session", "off_session"])?;
    let confirm = params.bool("confirm")?.unwrap_or(false);
    let off_session = off_session(params)?;
    if off_session && !confirm {
        return Err(ApiError::invalid(
            "You can only pass in `off_session` when `confirm` is set to true.",
        )
        .param("off_session"));
    }
    let application_fee_amount = params.int("application_fee_amount")?;
    if application_fee_amount.is_some() && ctx.account.is_none() && !params.has("transfer_data") {
        return Err(ApiError::invalid(
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).",
        )
        .param("application_fee_amount"));
    }
    let MethodTypes {
        types,
        allowed: allowed_types,
        allow_redirects,
    } = payment_method_types(params)?;
    let return_url = params.non_empty_str("return_url")?;
    if confirm {
        check_redirect_rule(
            allow_redirects.as_deref(),
            off_session,
            return_url.is_some(),
        )?;
    }
    let mut metadata = BTreeMap::new();
    params.apply_metadata(&mut metadata)?;
    let payment_method = payment_method_param(ctx, params, customer.as_deref())?;
    if confirm && payment_method.is_none() {
        return Err(missing_payment_method(customer.as_deref()));
    }
    let id = new_id("pi");
    let seq = ctx.next_seq();
    let pi = PaymentIntent {
        client_secret: format!("{id}_secret_{}", random_alnum(25)),
        id: id.clone(),
        seq,
        created: ctx.now,
        amount,
        currency,
        customer,
        status: if payment_method.is_some() {
            "requires_confirmation".into()
        } else {
            "requires_payment_method".into()
        },
        payment_method,
        capture_method,
        confirmation_method,
        metadata,
        description: params.non_empty_str("description")?,
        receipt_email: params.non_empty_str("receipt_email")?,
        setup_future_usage,
        statement_descriptor: params.non_empty_str("statement_descriptor")?,
        statement_descriptor_suffix: params.non_empty_str("statement_descriptor_suffix")?,
        transfer_group: params.non_empty_str("transfer_group")?,
        application_fee_amount,
        payment_method_types: types,
        allowed_payment_method_types: allowed_types,
        automatic_payment_methods: allow_redirects,
        amount_capturable: 0,
        amount_received: 0,
        latest_charge: None,
        last_payment_error: None,
        next_action: None,
        canceled_at: None,
        cancellation_reason: None,
        request_multicapture,
    };
    ctx.acct.payment_intents.insert(id.clone(), pi);
    let out = render_pi(ctx, &id, &[])?;
    ctx.emit("payment_intent.created", out);
    if confirm {
        let opts = ConfirmOptions {
            off_session,
            return_url,
            error_on_requires_action: params.bool("error_on_requires_action")?.unwrap_or(false),
        };
        do_confirm(ctx, &id, &opts)?;
    }
    render_pi(ctx, &id, &expand)
}

pub(in crate::api) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["client_secret", "expand"])?;
    render_pi(ctx, id, &params.expand()?)
}

pub(in crate::api) fn update(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(UPDATE_PARAMS)?;
    params.reject_unmodeled(&["payment_method_data", "transfer_data", "customer_account"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let pi = intent(ctx, id)?;
    let amount = params.int("amount")?;
    let changes_payment = amount.is_some()
        || params.has("currency")
        || params.has("payment_method")
        || params.has("customer");
    let editable = matches!(
        pi.status.as_str(),
        "requires_payment_method" | "requires_confirmation" | "requires_action"
    );
    if changes_payment && !editable {
        return Err(unexpected_state(format!(
            "This PaymentIntent's amount, currency, customer or payment_method could not be updated because it has a status of {}.",
            pi.status
        )));
    }
    let currency = params.non_empty_str("currency")?.map(|c| c.to_lowercase());
    if amount.is_some() || currency.is_some() {
        let new_currency = currency.clone().unwrap_or_else(|| pi.currency.clone());
        check_currency(&new_currency)?;
        check_charge_amount(amount.unwrap_or(pi.amount), &new_currency)?;
    }
    let request_multicapture = card_options(params)?;
    let customer = params.non_empty_str("customer")?;
    if let Some(c) = &customer {
        live_customer(ctx, c, "customer")?;
    }
    let payment_method =
        payment_method_param(ctx, params, customer.as_deref().or(pi.customer.as_deref()))?;
    let capture_method = params.one_of("capture_method", CAPTURE_METHODS)?;
    let sfu = params.one_of("setup_future_usage", &["on_session", "off_session"])?;
    let description = params.str("description")?;
    let receipt_email = params.str("receipt_email")?;
    let mut previous = serde_json::Map::new();
    let p = ctx
        .acct
        .payment_intents
        .get_mut(id)
        .ok_or_else(|| no_such_intent(id))?;
    if let Some(a) = amount {
        previous.insert("amount".into(), json!(p.amount));
        p.amount = a;
    }
    if let Some(c) = currency {
        previous.insert("currency".into(), json!(p.currency));
        p.currency = c;
    }
    if request_multicapture.is_some() {
        p.request_multicapture = request_multicapture;
    }
    if let Some(c) = customer {
        previous.insert("customer".into(), json!(p.customer));
        p.customer = Some(c);
    }
    if let Some(pm) = payment_method {
        previous.insert("payment_method".into(), json!(p.payment_method));
        p.payment_method = Some(pm);
        if p.status == "requires_payment_method" {
            p.status = "requires_confirmation".into();
        }
    }
    if let Some(cm) = capture_method {
        p.capture_method = cm;
    }
    if let Some(s) = sfu {
        p.setup_future_usage = Some(s);
    }
    if let Some(d) = description {
        previous.insert("description".into(), json!(p.description));
        p.description = Some(d).filter(|s| !s.is_empty());
    }
    if let Some(r) = receipt_email {
        p.receipt_email = Some(r).filter(|s| !s.is_empty());
    }
    if params.has("metadata") {
        previous.insert("metadata".into(), json!(p.metadata));
        params.apply_metadata(&mut p.metadata)?;
    }
    let out = render_pi(ctx, id, &[])?;
    ctx.emit_with_previous("payment_intent.updated", out, Value::Object(previous));
    render_pi(ctx, id, &expand)
}
