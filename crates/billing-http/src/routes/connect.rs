//! Connecting the business's own Stripe account: start (or continue) Stripe's onboarding,
//! read the account again when the owner comes back, and read its state.

use axum::Json;
use axum::extract::State;
use billing_core::connect::OnboardingReturn;
use billing_core::error::BillingError;

use crate::extract::{ApiJson, Tenant};
use crate::problem::{Problem, ProblemDetails, ReadProblems, WriteProblems};
use crate::state::Api;
use crate::wire::{ConnectedAccountJson, OnboardingJson, OnboardingRequest};

/// Start connecting the business's Stripe account, or continue: the account is made once
/// (a business given an account id when it was made onboards that one), and every call
/// answers a fresh, single-use link to Stripe's onboarding for the owner. Until Stripe enables
/// charges on the account, card payments are refused (409 `account_cannot_charge`).
#[utoipa::path(
    post, path = "/v1/connect/onboarding", tag = "connect",
    request_body = OnboardingRequest,
    responses(
        (status = 200, description = "Where to send the owner", body = OnboardingJson),
        (status = 501, description = "The gateway in use connects no accounts (`onboarding_unavailable`)", body = ProblemDetails, content_type = "application/problem+json"),
        WriteProblems
    ),
    security(("api_key" = []))
)]
pub(crate) async fn start_onboarding(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<OnboardingRequest>,
) -> Result<Json<OnboardingJson>, Problem> {
    let back = OnboardingReturn {
        return_url: body.return_url,
        refresh_url: body.refresh_url,
    };
    let started = api.billing.start_onboarding(&business, &back).await?;
    Ok(Json(OnboardingJson::from(&started)))
}

/// The owner came back from Stripe's onboarding (call it from your `return_url`'s page): the
/// account is read again from Stripe and kept. 404 `account_not_connected` before onboarding
/// started.
#[utoipa::path(
    post, path = "/v1/connect/onboarding/return", tag = "connect",
    responses((status = 200, description = "The account as it stands now", body = ConnectedAccountJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn onboarding_returned(
    State(api): State<Api>,
    Tenant(business): Tenant,
) -> Result<Json<ConnectedAccountJson>, Problem> {
    let account = api.billing.onboarding_returned(&business).await?;
    Ok(Json(ConnectedAccountJson::from(&account)))
}

/// The business's connected account: whether it can take card payments and what Stripe still
/// asks for, kept current from Stripe's `account.updated` events. 404 `account_not_connected`
/// before onboarding started.
#[utoipa::path(
    get, path = "/v1/connect/account", tag = "connect",
    responses((status = 200, description = "The connected account", body = ConnectedAccountJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_account(
    State(api): State<Api>,
    Tenant(business): Tenant,
) -> Result<Json<ConnectedAccountJson>, Problem> {
    match api.billing.connected_account(&business).await? {
        Some(account) => Ok(Json(ConnectedAccountJson::from(&account))),
        None => Err(BillingError::AccountNotConnected.into()),
    }
}
