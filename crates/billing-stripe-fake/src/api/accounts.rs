//! `/v1/accounts`, `/v1/account` and `/v1/account_links`: Connect accounts the platform makes,
//! and the links that send their owners to onboarding (the fake's page,
//! `/_fake/connect/onboarding/{token}`).

use serde_json::{Value, json};

use super::Ctx;
use crate::connect::{AccountLink, ConnectAccount, LINK_SECONDS};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{new_id, random_alnum};

const CREATE_PARAMS: &[&str] = &[
    "business_profile",
    "business_type",
    "capabilities",
    "company",
    "controller",
    "country",
    "default_currency",
    "email",
    "expand",
    "individual",
    "metadata",
    "settings",
    "tos_acceptance",
    "type",
];

/// Connect endpoints are the platform's: a connected account cannot make accounts or links.
fn platform_only(ctx: &Ctx<'_>) -> ApiResult<()> {
    match &ctx.account {
        None => Ok(()),
        Some(_) => Err(ApiError::new(
            403,
            "invalid_request_error",
            "This application does not have the required permissions for this endpoint on account. Only the platform can make connected accounts and account links.",
        )
        .code("platform_api_key_expired")),
    }
}

/// `POST /v1/accounts`.
pub(crate) fn create(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    platform_only(ctx)?;
    params.allow_only(CREATE_PARAMS)?;
    render::check_expand(&params.expand()?, &[])?;
    params.reject_unmodeled(&["company", "individual", "tos_acceptance", "settings"])?;
    let account_type = params.one_of("type", &["custom", "express", "standard"])?;
    let controller = params.object("controller")?;
    let account_type = match (account_type, controller) {
        (Some(kind), None) => kind,
        (None, Some(_)) => "none".to_owned(),
        (Some(_), Some(_)) => {
            return Err(
                ApiError::invalid("You cannot specify `type` together with `controller`.")
                    .param("type"),
            );
        }
        (None, None) => "standard".to_owned(),
    };
    let country = params
        .non_empty_str("country")?
        .unwrap_or_else(|| "US".to_owned());
    if country.len() != 2 {
        return Err(ApiError::invalid(format!("Country '{country}' is unknown.")).param("country"));
    }
    let mut account = ConnectAccount::new(new_id("acct"), ctx.now, account_type, country);
    account.email = params.non_empty_str("email")?;
    params.apply_metadata(&mut account.metadata)?;
    let body = account.to_json();
    ctx.connect.accounts.insert(account.id.clone(), account);
    Ok(body)
}

/// `GET /v1/accounts/{id}`.
pub(crate) fn retrieve(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    platform_only(ctx)?;
    params.allow_only(&["expand"])?;
    render::check_expand(&params.expand()?, &[])?;
    ctx.connect
        .accounts
        .get(id)
        .map(ConnectAccount::to_json)
        .ok_or_else(|| no_access(ctx, id))
}

/// `GET /v1/account`: the account the request acts on (its `Stripe-Account`).
pub(crate) fn retrieve_own(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    render::check_expand(&params.expand()?, &[])?;
    let Some(id) = ctx.account.clone() else {
        return Err(ApiError::invalid(
            "FakeStripe does not model the platform's own account: send Stripe-Account.",
        ));
    };
    ctx.connect
        .accounts
        .get(&id)
        .map(ConnectAccount::to_json)
        .ok_or_else(|| no_access(ctx, &id))
}

/// Stripe's answer for an account the platform has no access to.
fn no_access(_ctx: &Ctx<'_>, id: &str) -> ApiError {
    ApiError::new(
        403,
        "invalid_request_error",
        format!(
            "The provided key does not have access to account '{id}' (or that account does not exist). Application access may have been revoked."
        ),
    )
    .code("account_invalid")
}

/// `POST /v1/account_links`.
pub(crate) fn create_link(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    platform_only(ctx)?;
    params.allow_only(&[
        "account",
        "collect",
        "collection_options",
        "expand",
        "refresh_url",
        "return_url",
        "type",
    ])?;
    render::check_expand(&params.expand()?, &[])?;
    params.reject_unmodeled(&["collect", "collection_options"])?;
    let account = params.required_str("account")?;
    let link_type = params
        .one_of("type", &["account_onboarding", "account_update"])?
        .ok_or_else(|| ApiError::param_missing("type"))?;
    let refresh_url = url_param(params, "refresh_url")?;
    let return_url = url_param(params, "return_url")?;
    let Some(connected) = ctx.connect.accounts.get(&account) else {
        return Err(ApiError::missing("account", &account, "account"));
    };
    if link_type == "account_update" && !connected.details_submitted {
        return Err(ApiError::invalid(
            "You cannot create `account_update` type Account Links for this account until it has completed onboarding.",
        )
        .param("type"));
    }
    let token = random_alnum(24);
    let expires_at = ctx.now + LINK_SECONDS;
    ctx.connect.links.insert(
        token.clone(),
        AccountLink {
            account: account.clone(),
            link_type,
            refresh_url,
            return_url,
            expires_at,
            used: false,
        },
    );
    Ok(json!({
        "object": "account_link",
        "created": ctx.now,
        "expires_at": expires_at,
        "url": format!("{}/_fake/connect/onboarding/{token}", ctx.public_url),
    }))
}

/// A required `http(s)` URL parameter.
fn url_param(params: &Params, name: &str) -> ApiResult<String> {
    let url = params.required_str(name)?;
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(ApiError::invalid(format!("Not a valid URL: {name}")).param(name))
    }
}

/// Changes a connected account as onboarding or Stripe's review would, recording
/// `account.updated` with what changed.
pub(crate) fn change(
    ctx: &mut Ctx<'_>,
    id: &str,
    apply: impl FnOnce(&mut ConnectAccount),
) -> ApiResult<Value> {
    let Some(account) = ctx.connect.accounts.get_mut(id) else {
        return Err(ApiError::missing("account", id, "account"));
    };
    let before = account.watched();
    apply(account);
    let after = account.watched();
    let body = account.to_json();
    if before != after {
        let previous = previous_attributes(&before, &after);
        let event_account = ctx.account.replace(id.to_owned());
        ctx.emit_with_previous("account.updated", body.clone(), previous);
        ctx.account = event_account;
    }
    Ok(body)
}

/// The keys of `before` whose value changed, with their earlier values (one level into
/// `requirements`).
fn previous_attributes(before: &Value, after: &Value) -> Value {
    let mut previous = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, old) in b {
            if key == "requirements" {
                let mut changed = serde_json::Map::new();
                if let (Some(ob), Some(oa)) = (old.as_object(), a[key].as_object()) {
                    for (k, v) in ob {
                        if oa.get(k) != Some(v) {
                            changed.insert(k.clone(), v.clone());
                        }
                    }
                }
                if !changed.is_empty() {
                    previous.insert(key.clone(), Value::Object(changed));
                }
            } else if a.get(key) != Some(old) {
                previous.insert(key.clone(), old.clone());
            }
        }
    }
    Value::Object(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_attributes_name_what_changed() {
        let mut account = ConnectAccount::new("acct_1".into(), 1, "standard".into(), "US".into());
        let before = account.watched();
        account.complete();
        let previous = previous_attributes(&before, &account.watched());
        assert_eq!(previous["charges_enabled"], json!(false));
        assert_eq!(
            previous["requirements"]["disabled_reason"],
            json!("requirements.past_due")
        );
        assert!(previous["requirements"].get("past_due").is_none());
    }
}
