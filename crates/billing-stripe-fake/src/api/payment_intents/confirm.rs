//! Confirming a PaymentIntent: the card is authorized (or declined, or asks for 3-D Secure)
//! and the charge of the attempt is made.

use serde_json::{Value, json};

use super::{
    CAPTURE_METHODS, PI_EXPAND, card_options, charge_json, intent, payment_method_param, render_pi,
    unexpected_state,
};
use crate::api::Ctx;
use crate::api::payment_methods::attach_to;
use crate::cards::{Behavior, MULTICAPTURE_BRANDS};
use crate::currency::check_charge_amount;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{Charge, Decline, HOLD_SECONDS, new_id};

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

/// `off_session` is a boolean or `one_off` / `recurring`.
pub(super) fn off_session(params: &Params) -> ApiResult<bool> {
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
pub(super) fn check_redirect_rule(
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

pub(super) fn missing_payment_method(customer: Option<&str>) -> ApiError {
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

/// The authentication a card asks for on-session: the fake's own 3-D Secure page, reached by
/// a redirect when the client gave a `return_url`, else through Stripe.js (`use_stripe_sdk`).
pub(crate) fn next_action(ctx: &Ctx<'_>, return_url: Option<&str>, intent_id: &str) -> Value {
    let page = authentication_page(ctx, intent_id);
    match return_url {
        Some(url) => json!({
            "type": "redirect_to_url",
            "redirect_to_url": {"return_url": url, "url": page},
        }),
        None => json!({
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": page,
                "source": new_id("src"),
            },
        }),
    }
}

/// `http://127.0.0.1:PORT/_fake/3ds/{intent}` (with `?account=` for a connected account).
fn authentication_page(ctx: &Ctx<'_>, intent_id: &str) -> String {
    let base = format!("{}/_fake/3ds/{intent_id}", ctx.public_url);
    match &ctx.account {
        Some(account) => format!("{base}?account={}", crate::form::percent_encode(account)),
        None => base,
    }
}

pub(in crate::api) fn confirm(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(CONFIRM_PARAMS)?;
    params.reject_unmodeled(&[
        "payment_method_data",
        "confirmation_token",
        "mandate",
        "mandate_data",
    ])?;
    let expand = params.expand()?;
    render::check_expand(&expand, PI_EXPAND)?;
    let pi = intent(ctx, id)?;
    check_charge_amount(pi.amount, &pi.currency)?;
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
    let payment_method = payment_method_param(ctx, params, pi.customer.as_deref())?;
    let capture_method = params.one_of("capture_method", CAPTURE_METHODS)?;
    let sfu = params.one_of("setup_future_usage", &["on_session", "off_session"])?;
    let receipt_email = params.non_empty_str("receipt_email")?;
    let request_multicapture = card_options(params)?;
    if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
        if request_multicapture.is_some() {
            p.request_multicapture = request_multicapture;
        }
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

/// Runs a confirmation: authorizes the card and moves the intent on. A declined card
/// leaves the intent in `requires_payment_method` and answers Stripe's 402.
pub(super) fn do_confirm(ctx: &mut Ctx<'_>, id: &str, opts: &ConfirmOptions) -> ApiResult<()> {
    let pi = intent(ctx, id)?;
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
        Behavior::RequireAuthentication | Behavior::AuthenticateUnlessSetUp => {
            let set_up =
                pm.card.behavior == Behavior::AuthenticateUnlessSetUp && pm.set_up_off_session;
            if opts.off_session && set_up {
                None
            } else if opts.off_session || opts.error_on_requires_action {
                Some(Decline {
                    code: "authentication_required".into(),
                    decline_code: Some("authentication_required".into()),
                    message: "Your card was declined. This transaction requires authentication."
                        .into(),
                })
            } else {
                let action = next_action(ctx, opts.return_url.as_deref(), id);
                if let Some(p) = ctx.acct.payment_intents.get_mut(id) {
                    p.status = "requires_action".into();
                    p.next_action = Some(action);
                    p.last_payment_error = None;
                }
                let out = render_pi(ctx, id, &[])?;
                ctx.emit("payment_intent.requires_action", out);
                return Ok(());
            }
        }
    };
    authorize(ctx, id, outcome)
}

/// Creates the charge of an authorization attempt and settles the intent.
fn authorize(ctx: &mut Ctx<'_>, id: &str, decline: Option<Decline>) -> ApiResult<()> {
    let pi = intent(ctx, id)?;
    let pm_id = pi.payment_method.clone().unwrap_or_default();
    let Some(pm) = ctx.acct.payment_methods.get(&pm_id).cloned() else {
        return Err(ApiError::missing("PaymentMethod", &pm_id, "payment_method"));
    };
    let manual = pi.capture_method == "manual";
    let succeeded = decline.is_none();
    // Multicapture: asked for on a manual-capture intent, allowed by the account, offered
    // by the card's network.
    let multicapture = succeeded
        && manual
        && pi.request_multicapture.as_deref() == Some("if_available")
        && !ctx.acct.multicapture_off
        && MULTICAPTURE_BRANDS.contains(&pm.card.brand);
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
        multicapture,
        captures: 0,
    };
    ctx.acct.charges.insert(charge_id.clone(), charge);

    match decline {
        None => {
            // Saving the card for later: setup_future_usage attaches it to the customer, and
            // an authorized payment with `off_session` usage sets it up for off-session use.
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
            if pi.setup_future_usage.as_deref() == Some("off_session")
                && pi.customer.is_some()
                && let Some(p) = ctx.acct.payment_methods.get_mut(&pm_id)
            {
                p.set_up_off_session = true;
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
pub(in crate::api) fn complete_authentication(
    ctx: &mut Ctx<'_>,
    id: &str,
    success: bool,
) -> ApiResult<Value> {
    let pi = intent(ctx, id)?;
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
