//! `/v1/payment_methods` (cards only).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::customers::{live_customer, parse_address};
use super::{Ctx, newest_first, paginate};
use crate::cards::{self, Behavior, TestCard};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{BillingDetails, PaymentMethod, new_id};

const CREATE_PARAMS: &[&str] = &[
    "acss_debit",
    "affirm",
    "afterpay_clearpay",
    "alipay",
    "allow_redisplay",
    "alma",
    "amazon_pay",
    "au_becs_debit",
    "bacs_debit",
    "bancontact",
    "billie",
    "billing_details",
    "bizum",
    "blik",
    "boleto",
    "card",
    "cashapp",
    "crypto",
    "custom",
    "customer",
    "customer_balance",
    "eps",
    "expand",
    "fpx",
    "giropay",
    "grabpay",
    "ideal",
    "interac_present",
    "kakao_pay",
    "klarna",
    "konbini",
    "kr_card",
    "link",
    "mb_way",
    "metadata",
    "mobilepay",
    "multibanco",
    "naver_pay",
    "nz_bank_account",
    "oxxo",
    "p24",
    "pay_by_bank",
    "payco",
    "payment_method",
    "paynow",
    "paypal",
    "paypay",
    "payto",
    "pix",
    "promptpay",
    "radar_options",
    "revolut_pay",
    "samsung_pay",
    "satispay",
    "scalapay",
    "sepa_debit",
    "sequra",
    "sofort",
    "sunbit",
    "swish",
    "twint",
    "type",
    "upi",
    "us_bank_account",
    "wechat_pay",
    "zip",
];

/// Test cards get an expiry a few years ahead, like Stripe's test PaymentMethods.
const TEST_EXP_MONTH: i64 = 12;
const TEST_EXP_YEAR: i64 = 2034;

fn no_such_payment_method(id: &str, param: &str) -> ApiError {
    ApiError::missing("PaymentMethod", id, param)
}

fn store_new(
    ctx: &mut Ctx<'_>,
    card: &TestCard,
    exp: (i64, i64),
    billing: BillingDetails,
    metadata: BTreeMap<String, String>,
    allow_redisplay: String,
) -> String {
    let id = new_id("pm");
    let seq = ctx.next_seq();
    ctx.acct.payment_methods.insert(
        id.clone(),
        PaymentMethod {
            id: id.clone(),
            seq,
            created: ctx.now,
            card: *card,
            exp_month: exp.0,
            exp_year: exp.1,
            customer: None,
            billing,
            metadata,
            allow_redisplay,
            consumed: false,
            set_up_off_session: false,
        },
    );
    id
}

/// Turns a `payment_method` parameter into the id of a stored PaymentMethod of this
/// account. Stripe's test PaymentMethods (`pm_card_visa`, ...) are valid everywhere
/// and give a new PaymentMethod each time they are used, as on Stripe.
pub(super) fn resolve(ctx: &mut Ctx<'_>, id: &str, param: &str) -> ApiResult<String> {
    if let Some(card) = cards::by_test_payment_method(id) {
        return Ok(store_new(
            ctx,
            card,
            (TEST_EXP_MONTH, TEST_EXP_YEAR),
            BillingDetails::default(),
            BTreeMap::new(),
            "unspecified".into(),
        ));
    }
    if ctx.acct.payment_methods.contains_key(id) {
        Ok(id.to_owned())
    } else {
        Err(no_such_payment_method(id, param))
    }
}

/// Stripe's refusal to reuse a PaymentMethod that was detached, or used once
/// without a customer.
pub(super) fn consumed_error(id: &str) -> ApiError {
    ApiError::invalid(format!(
        "The provided PaymentMethod ({id}) was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first."
    ))
    .param("payment_method")
}

/// The 402 answered when a card cannot even be saved (most decline test cards).
pub(super) fn attach_decline(card: &TestCard) -> Option<ApiError> {
    match card.behavior {
        Behavior::Decline {
            code,
            decline_code,
            message,
            attachable: false,
        } => {
            let mut err = ApiError::new(402, "card_error", message).code(code);
            if let Some(dc) = decline_code {
                err = err.with("decline_code", json!(dc));
            }
            Some(err)
        }
        _ => None,
    }
}

/// Checks that `pm_id` can be attached to `customer` (None: to a customer about to
/// be created).
pub(super) fn check_attachable(
    ctx: &Ctx<'_>,
    pm_id: &str,
    customer: Option<&str>,
) -> ApiResult<()> {
    let pm = ctx
        .acct
        .payment_methods
        .get(pm_id)
        .ok_or_else(|| no_such_payment_method(pm_id, "payment_method"))?;
    if pm.consumed {
        return Err(consumed_error(pm_id));
    }
    match (&pm.customer, customer) {
        (Some(current), Some(wanted)) if current == wanted => return Ok(()),
        (Some(_), _) => {
            return Err(ApiError::invalid(
                "The payment method you provided has already been attached to a customer.",
            )
            .param("payment_method"));
        }
        (None, _) => {}
    }
    match attach_decline(&pm.card) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Attaches (no checks: call `check_attachable` first) and emits the event.
pub(super) fn attach_to(ctx: &mut Ctx<'_>, pm_id: &str, customer: &str) {
    let Some(pm) = ctx.acct.payment_methods.get_mut(pm_id) else {
        return;
    };
    if pm.customer.as_deref() == Some(customer) {
        return;
    }
    pm.customer = Some(customer.to_owned());
    let out = render::payment_method(pm);
    ctx.emit("payment_method.attached", out);
}

fn parse_billing(params: &Params) -> ApiResult<BillingDetails> {
    let Some(b) = params.object("billing_details")? else {
        return Ok(BillingDetails::default());
    };
    b.allow_only(&["address", "email", "name", "phone", "tax_id"])?;
    Ok(BillingDetails {
        address: parse_address(&b, "address")?.unwrap_or_default(),
        email: b.non_empty_str("email")?,
        name: b.non_empty_str("name")?,
        phone: b.non_empty_str("phone")?,
    })
}

pub(super) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(CREATE_PARAMS)?;
    render::check_expand(&params.expand()?, &[])?;
    if params.has("payment_method") || params.has("customer") {
        // Cloning a platform PaymentMethod onto a connected account.
        return Err(ApiError::invalid(
            "FakeStripe does not support cloning PaymentMethods (payment_method/customer on create).",
        )
        .param("payment_method"));
    }
    let kind = params.required_str("type")?;
    if kind != "card" {
        return Err(ApiError::invalid(format!(
            "FakeStripe only supports PaymentMethods of type card, not {kind}."
        ))
        .param("type"));
    }
    let card_params = params
        .object("card")?
        .ok_or_else(|| ApiError::param_missing("card"))?;
    let (card, exp) = if let Some(token) = card_params.non_empty_str("token")? {
        let card = cards::by_token(&token)
            .ok_or_else(|| ApiError::missing("token", &token, "card[token]"))?;
        (card, (TEST_EXP_MONTH, TEST_EXP_YEAR))
    } else {
        let number = card_params
            .non_empty_str("number")?
            .ok_or_else(|| ApiError::param_missing("card[number]"))?;
        let exp_month = card_params
            .int("exp_month")?
            .ok_or_else(|| ApiError::param_missing("card[exp_month]"))?;
        let exp_year = card_params
            .int("exp_year")?
            .ok_or_else(|| ApiError::param_missing("card[exp_year]"))?;
        if !(1..=12).contains(&exp_month) {
            return Err(ApiError::new(
                402,
                "card_error",
                "Your card's expiration month is invalid.",
            )
            .code("invalid_expiry_month")
            .param("card[exp_month]"));
        }
        let card = cards::by_number(&number).ok_or_else(|| {
            ApiError::new(402, "card_error", "Your card number is incorrect.")
                .code("incorrect_number")
                .param("card[number]")
        })?;
        (card, (exp_month, exp_year))
    };
    let mut metadata = BTreeMap::new();
    params.apply_metadata(&mut metadata)?;
    let allow_redisplay = params
        .one_of("allow_redisplay", &["always", "limited", "unspecified"])?
        .unwrap_or_else(|| "unspecified".into());
    let billing = parse_billing(params)?;
    let id = store_new(ctx, card, exp, billing, metadata, allow_redisplay);
    retrieve(ctx, &id, &Params::default())
}

pub(super) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    render::check_expand(&params.expand()?, &[])?;
    ctx.acct
        .payment_methods
        .get(id)
        .map(render::payment_method)
        .ok_or_else(|| no_such_payment_method(id, "payment_method"))
}

pub(super) fn update(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "allow_redisplay",
        "billing_details",
        "card",
        "expand",
        "metadata",
        "us_bank_account",
    ])?;
    render::check_expand(&params.expand()?, &[])?;
    let billing = if params.has("billing_details") {
        Some(parse_billing(params)?)
    } else {
        None
    };
    let exp = match params.object("card")? {
        Some(card) => {
            card.allow_only(&["exp_month", "exp_year", "networks"])?;
            (card.int("exp_month")?, card.int("exp_year")?)
        }
        None => (None, None),
    };
    let allow_redisplay =
        params.one_of("allow_redisplay", &["always", "limited", "unspecified"])?;
    let pm = ctx
        .acct
        .payment_methods
        .get_mut(id)
        .ok_or_else(|| no_such_payment_method(id, "payment_method"))?;
    if pm.customer.is_none() {
        return Err(ApiError::invalid(
            "You must save this PaymentMethod to a customer before you can update it.",
        ));
    }
    params.apply_metadata(&mut pm.metadata)?;
    if let Some(b) = billing {
        pm.billing = b;
    }
    if let Some(m) = exp.0 {
        pm.exp_month = m;
    }
    if let Some(y) = exp.1 {
        pm.exp_year = y;
    }
    if let Some(a) = allow_redisplay {
        pm.allow_redisplay = a;
    }
    let out = render::payment_method(pm);
    ctx.emit("payment_method.updated", out.clone());
    Ok(out)
}

pub(super) fn attach(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["customer", "customer_account", "expand"])?;
    params.reject_unmodeled(&["customer_account"])?;
    render::check_expand(&params.expand()?, &[])?;
    let customer = params.required_str("customer")?;
    live_customer(ctx, &customer, "customer")?;
    // Check a test card before resolving it, so no orphan PaymentMethod is stored.
    if let Some(err) = cards::by_test_payment_method(id).and_then(attach_decline) {
        return Err(err);
    }
    let pm_id = resolve(ctx, id, "payment_method")?;
    check_attachable(ctx, &pm_id, Some(&customer))?;
    attach_to(ctx, &pm_id, &customer);
    retrieve(ctx, &pm_id, &Params::default())
}

pub(super) fn detach(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    render::check_expand(&params.expand()?, &[])?;
    let pm = ctx
        .acct
        .payment_methods
        .get_mut(id)
        .ok_or_else(|| no_such_payment_method(id, "payment_method"))?;
    let Some(customer) = pm.customer.take() else {
        return Err(ApiError::invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        ));
    };
    pm.consumed = true;
    let out = render::payment_method(pm);
    if let Some(c) = ctx.acct.customers.get_mut(&customer)
        && c.default_payment_method.as_deref() == Some(id)
    {
        c.default_payment_method = None;
    }
    ctx.emit("payment_method.detached", out.clone());
    Ok(out)
}

fn list_filtered(
    ctx: &Ctx<'_>,
    customer: Option<&str>,
    params: &Params,
    url: &str,
) -> ApiResult<Value> {
    render::list_item_expand(&params.expand()?, &[])?;
    let kind = params.non_empty_str("type")?;
    let mut items: Vec<&PaymentMethod> = ctx
        .acct
        .payment_methods
        .values()
        .filter(|pm| customer.is_none_or(|c| pm.customer.as_deref() == Some(c)))
        // Only cards exist here: any other type lists nothing.
        .filter(|_| kind.as_deref().is_none_or(|k| k == "card"))
        .collect();
    newest_first(&mut items, |pm| (pm.created, pm.seq));
    let (page, has_more) = paginate(items, |pm| pm.id.as_str(), params)?;
    let data = page.into_iter().map(render::payment_method).collect();
    Ok(render::list(url, data, has_more))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "allow_redisplay",
        "customer",
        "customer_account",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "type",
    ])?;
    let customer = params.non_empty_str("customer")?;
    if let Some(c) = &customer {
        live_customer(ctx, c, "customer")?;
    }
    list_filtered(ctx, customer.as_deref(), params, "/v1/payment_methods")
}

pub(super) fn list_for_customer(
    ctx: &mut Ctx<'_>,
    customer: &str,
    params: &Params,
) -> ApiResult<Value> {
    params.allow_only(&[
        "allow_redisplay",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "type",
    ])?;
    live_customer(ctx, customer, "customer")?;
    let url = format!("/v1/customers/{customer}/payment_methods");
    list_filtered(ctx, Some(customer), params, &url)
}
