//! `/v1/payment_intents` and the charges they make (`/v1/charges`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::customers::live_customer;
use super::payment_methods::{attach_to, consumed_error, resolve};
use super::{Ctx, created_filter, newest_first, paginate};
use crate::cards::Behavior;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::search;
use crate::state::{Charge, Decline, HOLD_SECONDS, PaymentIntent, new_id, random_alnum};

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

const CONFIRM_PARAMS: &[&str] = &[
    "allowed_payment_method_types",
    "amount_details",
    "amount_to_confirm",
    "capture_method",
    "confirmation_token",
    "error_on_requires_action",
    "excluded_payment_method_types",
    "expand",
    "hooks",
    "mandate",
    "mandate_data",
    "off_session",
    "payment_details",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "radar_options",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "use_stripe_sdk",
];

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

const PI_EXPAND: &[&str] = &["latest_charge", "payment_method", "customer"];

const CAPTURE_METHODS: &[&str] = &["automatic", "automatic_async", "manual"];

fn no_such_intent(id: &str) -> ApiError {
    ApiError::missing("payment_intent", id, "intent")
}

fn render_pi(ctx: &Ctx<'_>, id: &str, expand: &[String]) -> ApiResult<Value> {
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .ok_or_else(|| no_such_intent(id))?;
    render::payment_intent(pi, ctx.acct, expand)
}

fn unexpected_state(message: String) -> ApiError {
    ApiError::invalid(message).code("payment_intent_unexpected_state")
}

/// Cancels the uncaptured PaymentIntents whose authorization is past `capture_before`
/// (Stripe cancels them with `cancellation_reason: automatic`).
pub(super) fn expire_holds(ctx: &mut Ctx<'_>) {
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

/// The payment method types of a new intent.
pub(super) struct MethodTypes {
    pub types: Vec<String>,
    /// `allowed_payment_method_types` as given (the newer name of the parameter).
    pub allowed: Option<Vec<String>>,
    /// `automatic_payment_methods[allow_redirects]` when automatic payment methods are on.
    pub allow_redirects: Option<String>,
}

/// Explicit types, or automatic payment methods (Stripe's default since API version
/// 2023-08-16).
pub(super) fn payment_method_types(params: &Params) -> ApiResult<MethodTypes> {
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

/// `off_session` is a boolean or `one_off` / `recurring`.
fn off_session(params: &Params) -> ApiResult<bool> {
    match params.non_empty_str("off_session")?.as_deref() {
        None | Some("false") => Ok(false),
        Some("true" | "one_off" | "recurring") => Ok(true),
        Some(other) => {
            Err(ApiError::invalid(format!("Invalid off_session: {other}")).param("off_session"))
        }
    }
}

/// Stripe refuses server-side, on-session confirmation of intents with automatic
/// payment methods that may redirect, unless a `return_url` is given.
fn check_redirect_rule(
    allow_redirects: Option<&str>,
    off_session: bool,
    return_url: bool,
) -> ApiResult<()> {
    if allow_redirects == Some("always") && !off_session && !return_url {
        return Err(ApiError::invalid(
            "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, because automatic_payment_methods is enabled. Some of these payment methods might redirect your customer off of your page, so you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
        ));
    }
    Ok(())
}

/// Checks that a payment method can pay for an intent of `customer`.
pub(super) fn check_payment_method_usable(
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

fn check_amount(amount: i64) -> ApiResult<()> {
    if amount < 1 {
        return Err(
            ApiError::invalid("This value must be greater than or equal to 1.").param("amount"),
        );
    }
    if amount > 99_999_999 {
        return Err(ApiError::invalid("Amount must be no more than 99999999")
            .code("amount_too_large")
            .param("amount"));
    }
    Ok(())
}

pub(super) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
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
    check_amount(amount)?;
    let currency = params.required_str("currency")?.to_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(ApiError::invalid(format!("Invalid currency: {currency}")).param("currency"));
    }
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
    let payment_method = match params.non_empty_str("payment_method")? {
        Some(pm) => {
            let pm_id = resolve(ctx, &pm, "payment_method")?;
            check_payment_method_usable(ctx, &pm_id, customer.as_deref())?;
            Some(pm_id)
        }
        None => None,
    };
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

fn missing_payment_method(customer: Option<&str>) -> ApiError {
    let hint = match customer {
        Some(c) => format!(
            " To confirm the PaymentIntent with {c}, specify a payment method attached to this customer along with the customer ID."
        ),
        None => String::new(),
    };
    unexpected_state(format!(
        "You cannot confirm this PaymentIntent because it's missing a payment method.{hint}"
    ))
}

pub(super) struct ConfirmOptions {
    pub off_session: bool,
    pub return_url: Option<String>,
    pub error_on_requires_action: bool,
}

/// The authentication a card asks for on-session.
pub(crate) fn next_action(return_url: Option<&str>, intent_id: &str) -> Value {
    match return_url {
        Some(url) => json!({
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": url,
                "url": format!("https://hooks.stripe.com/3d_secure_2/hosted?merchant=fake&payment_intent={intent_id}"),
            },
        }),
        None => json!({
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": format!("https://hooks.stripe.com/redirect/authenticate/{intent_id}"),
                "source": new_id("src"),
            },
        }),
    }
}

/// Runs a confirmation: authorizes the card and moves the intent on. A declined card
/// leaves the intent in `requires_payment_method` and answers Stripe's 402.
pub(super) fn do_confirm(ctx: &mut Ctx<'_>, id: &str, opts: &ConfirmOptions) -> ApiResult<()> {
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    let pm_id = pi
        .payment_method
        .clone()
        .ok_or_else(|| missing_payment_method(pi.customer.as_deref()))?;
    let pm = ctx
        .acct
        .payment_methods
        .get(&pm_id)
        .cloned()
        .ok_or_else(|| ApiError::missing("PaymentMethod", &pm_id, "payment_method"))?;
    let outcome = match pm.card.behavior {
        Behavior::Succeed => None,
        Behavior::Decline {
            code,
            decline_code,
            message,
            ..
        } => Some(Decline {
            code: code.into(),
            decline_code: decline_code.map(Into::into),
            message: message.into(),
        }),
        Behavior::RequireAuthentication if opts.off_session || opts.error_on_requires_action => {
            Some(Decline {
                code: "authentication_required".into(),
                decline_code: Some("authentication_required".into()),
                message: "Your card was declined. This transaction requires authentication.".into(),
            })
        }
        Behavior::RequireAuthentication => {
            let action = next_action(opts.return_url.as_deref(), id);
            if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
                p.status = "requires_action".into();
                p.next_action = Some(action);
                p.last_payment_error = None;
            }
            let out = render_pi(ctx, id, &[])?;
            ctx.emit("payment_intent.requires_action", out);
            return Ok(());
        }
    };
    authorize(ctx, id, outcome)
}

/// Creates the charge of an authorization attempt and settles the intent.
pub(crate) fn authorize(ctx: &mut Ctx<'_>, id: &str, decline: Option<Decline>) -> ApiResult<()> {
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    let pm_id = pi.payment_method.clone().unwrap_or_default();
    let Some(pm) = ctx.acct.payment_methods.get(&pm_id).cloned() else {
        return Err(ApiError::missing("PaymentMethod", &pm_id, "payment_method"));
    };
    let manual = pi.capture_method == "manual";
    let succeeded = decline.is_none();
    let charge_id = new_id("ch");
    let seq = ctx.next_seq();
    let charge = Charge {
        id: charge_id.clone(),
        seq,
        created: ctx.now,
        amount: pi.amount,
        amount_captured: if succeeded && !manual { pi.amount } else { 0 },
        amount_refunded_by_refunds: 0,
        amount_released: 0,
        captured: succeeded && !manual,
        status: if succeeded { "succeeded" } else { "failed" }.into(),
        currency: pi.currency.clone(),
        customer: pi.customer.clone(),
        payment_intent: id.to_owned(),
        payment_method: pm_id.clone(),
        card: pm.card,
        exp_month: pm.exp_month,
        exp_year: pm.exp_year,
        billing: pm.billing.clone(),
        decline: decline.clone(),
        // The hold of an uncaptured authorization lasts 7 days.
        capture_before: (succeeded && manual).then_some(ctx.now + HOLD_SECONDS),
        balance_transaction: (succeeded && !manual).then(|| new_id("txn")),
        description: pi.description.clone(),
        receipt_email: pi.receipt_email.clone(),
        metadata: pi.metadata.clone(),
        statement_descriptor: pi.statement_descriptor.clone(),
        statement_descriptor_suffix: pi.statement_descriptor_suffix.clone(),
        authorization_code: succeeded.then(|| random_digits(6)),
        network_transaction_id: succeeded.then(|| random_digits(15)),
        receipt_number: None,
    };
    ctx.acct.charges.insert(charge_id.clone(), charge);

    match decline {
        None => {
            // Saving the card for later: setup_future_usage attaches it to the customer.
            let attached = pm.customer.is_some();
            match (&pi.setup_future_usage, &pi.customer) {
                (Some(_), Some(customer)) if !attached => attach_to(ctx, &pm_id, customer),
                _ if !attached => {
                    if let Some(p) = ctx.acct.payment_methods.get_mut(&pm_id) {
                        p.consumed = true;
                    }
                }
                _ => {}
            }
            if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
                p.latest_charge = Some(charge_id.clone());
                p.last_payment_error = None;
                p.next_action = None;
                if manual {
                    p.status = "requires_capture".into();
                    p.amount_capturable = p.amount;
                } else {
                    p.status = "succeeded".into();
                    p.amount_received = p.amount;
                }
            }
            let charge_out = charge_json(ctx, &charge_id)?;
            ctx.emit("charge.succeeded", charge_out);
            let out = render_pi(ctx, id, &[])?;
            if manual {
                ctx.emit("payment_intent.amount_capturable_updated", out);
            } else {
                ctx.emit("payment_intent.succeeded", out);
            }
            Ok(())
        }
        Some(decline) => {
            let pm_json = render::payment_method(&pm);
            let mut error = ApiError::new(402, "card_error", decline.message.clone())
                .code(decline.code.clone())
                .with("charge", json!(charge_id));
            if let Some(dc) = &decline.decline_code {
                error = error.with("decline_code", json!(dc));
            }
            if decline.decline_code.as_deref() == Some("insufficient_funds") {
                error = error.with("advice_code", json!("try_again_later"));
            }
            let mut last_error = error.clone().with("payment_method", pm_json.clone());
            last_error.extra.remove("advice_code");
            let last_error = last_error.error_object("");
            if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
                p.status = "requires_payment_method".into();
                p.latest_charge = Some(charge_id.clone());
                p.last_payment_error = Some(last_error);
                p.next_action = None;
                // Stripe takes the failed payment method off the intent.
                p.payment_method = None;
            }
            let charge_out = charge_json(ctx, &charge_id)?;
            ctx.emit("charge.failed", charge_out);
            let out = render_pi(ctx, id, &[])?;
            ctx.emit("payment_intent.payment_failed", out.clone());
            Err(error
                .with("payment_intent", out)
                .with("payment_method", pm_json))
        }
    }
}

/// The customer finished (or failed) 3-D Secure on an intent in `requires_action`.
pub(super) fn complete_authentication(
    ctx: &mut Ctx<'_>,
    id: &str,
    success: bool,
) -> ApiResult<Value> {
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    if pi.status != "requires_action" {
        return Err(unexpected_state(format!(
            "This PaymentIntent has a status of {}, not requires_action.",
            pi.status
        )));
    }
    if success {
        // A card that passed authentication authorizes, whatever its test behaviour.
        authorize(ctx, id, None)?;
        return render_pi(ctx, id, &[]);
    }
    let pm_json = pi
        .payment_method
        .as_ref()
        .and_then(|pm| ctx.acct.payment_methods.get(pm))
        .map(render::payment_method);
    let mut err = ApiError::invalid(
        "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
    )
    .code("payment_intent_authentication_failure");
    if let Some(pm) = pm_json {
        err = err.with("payment_method", pm);
    }
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        p.status = "requires_payment_method".into();
        p.payment_method = None;
        p.next_action = None;
        p.last_payment_error = Some(err.error_object(""));
    }
    let out = render_pi(ctx, id, &[])?;
    ctx.emit("payment_intent.payment_failed", out.clone());
    Ok(out)
}

fn random_digits(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn charge_json(ctx: &Ctx<'_>, id: &str) -> ApiResult<Value> {
    let ch = ctx
        .acct
        .charges
        .get(id)
        .ok_or_else(|| ApiError::missing("charge", id, "charge"))?;
    render::charge(ch, ctx.acct, &[])
}

pub(super) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["client_secret", "expand"])?;
    render_pi(ctx, id, &params.expand()?)
}

pub(super) fn update(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(UPDATE_PARAMS)?;
    params.reject_unmodeled(&["payment_method_data", "transfer_data", "customer_account"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
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
    if let Some(a) = amount {
        check_amount(a)?;
    }
    let customer = params.non_empty_str("customer")?;
    if let Some(c) = &customer {
        live_customer(ctx, c, "customer")?;
    }
    let payment_method = match params.non_empty_str("payment_method")? {
        Some(pm) => {
            let pm_id = resolve(ctx, &pm, "payment_method")?;
            check_payment_method_usable(
                ctx,
                &pm_id,
                customer.as_deref().or(pi.customer.as_deref()),
            )?;
            Some(pm_id)
        }
        None => None,
    };
    let capture_method = params.one_of("capture_method", CAPTURE_METHODS)?;
    let sfu = params.one_of("setup_future_usage", &["on_session", "off_session"])?;
    let description = params.str("description")?;
    let receipt_email = params.str("receipt_email")?;
    let currency = params.non_empty_str("currency")?;
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
        p.currency = c.to_lowercase();
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

pub(super) fn confirm(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(CONFIRM_PARAMS)?;
    params.reject_unmodeled(&[
        "payment_method_data",
        "confirmation_token",
        "mandate",
        "mandate_data",
    ])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
    match pi.status.as_str() {
        "requires_payment_method" | "requires_confirmation" | "requires_action" => {}
        "succeeded" => {
            return Err(unexpected_state(
                "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.".into(),
            ));
        }
        other => {
            return Err(unexpected_state(format!(
                "You cannot confirm this PaymentIntent because it has a status of {other}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action."
            )));
        }
    }
    let off_session = off_session(params)?;
    let return_url = params.non_empty_str("return_url")?;
    check_redirect_rule(
        pi.automatic_payment_methods.as_deref(),
        off_session,
        return_url.is_some(),
    )?;
    let payment_method = match params.non_empty_str("payment_method")? {
        Some(pm) => {
            let pm_id = resolve(ctx, &pm, "payment_method")?;
            check_payment_method_usable(ctx, &pm_id, pi.customer.as_deref())?;
            Some(pm_id)
        }
        None => None,
    };
    let capture_method = params.one_of("capture_method", CAPTURE_METHODS)?;
    let sfu = params.one_of("setup_future_usage", &["on_session", "off_session"])?;
    let receipt_email = params.non_empty_str("receipt_email")?;
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        if payment_method.is_some() {
            p.payment_method = payment_method;
        }
        if let Some(cm) = capture_method {
            p.capture_method = cm;
        }
        if sfu.is_some() {
            p.setup_future_usage = sfu;
        }
        if receipt_email.is_some() {
            p.receipt_email = receipt_email;
        }
    }
    let opts = ConfirmOptions {
        off_session,
        return_url,
        error_on_requires_action: params.bool("error_on_requires_action")?.unwrap_or(false),
    };
    do_confirm(ctx, id, &opts)?;
    render_pi(ctx, id, &expand)
}

pub(super) fn capture(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(CAPTURE_PARAMS)?;
    params.reject_unmodeled(&["transfer_data"])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
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
            super::format_amount(amount, &pi.currency),
            super::format_amount(pi.amount_capturable, &pi.currency),
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

pub(super) fn cancel(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
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
    let pi = ctx
        .acct
        .payment_intents
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_intent(id))?;
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

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
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
pub(super) fn search(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand", "limit", "page", "query"])?;
    let expand_all = params.expand()?;
    let expand = render::list_item_expand(&expand_all, &["total_count"])?;
    render::check_expand(&expand, PI_EXPAND)?;
    let query = params.required_str("query")?;
    let query = search::Query::parse(
        &query,
        &["amount", "created", "currency", "customer", "status"],
    )?;
    let limit = super::limit(params)?;
    let offset = match params.non_empty_str("page")? {
        Some(page) => search::decode_page(&page)?,
        None => 0,
    };
    let mut items: Vec<&PaymentIntent> = ctx
        .acct
        .payment_intents
        .values()
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

pub(super) fn retrieve_charge(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    let ch = ctx
        .acct
        .charges
        .get(id)
        .ok_or_else(|| ApiError::missing("charge", id, "id"))?;
    render::charge(ch, ctx.acct, &params.expand()?)
}

pub(super) fn list_charges(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
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
