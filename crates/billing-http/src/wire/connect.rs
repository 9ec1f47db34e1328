//! The business's connected Stripe account: starting its onboarding, and its state.

use billing_core::billing::Onboarding;
use billing_core::connect::{AccountStanding, ConnectedAccount};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where the connection stands, in the business's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStandingJson {
    /// The owner has not finished Stripe's onboarding: no card payments yet.
    OnboardingIncomplete,
    /// Onboarding was finished, but Stripe does not let the account take charges (under
    /// review, or something past due).
    Restricted,
    /// Charges work; Stripe asks for more details before a deadline.
    DetailsDue,
    /// Charges work and nothing is due.
    Ready,
}

impl From<AccountStanding> for AccountStandingJson {
    fn from(standing: AccountStanding) -> Self {
        match standing {
            AccountStanding::OnboardingIncomplete => AccountStandingJson::OnboardingIncomplete,
            AccountStanding::Restricted => AccountStandingJson::Restricted,
            AccountStanding::DetailsDue => AccountStandingJson::DetailsDue,
            AccountStanding::Ready => AccountStandingJson::Ready,
        }
    }
}

/// The business's connected account, as Stripe last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConnectedAccountJson {
    /// Stripe's account id (`acct_...`).
    pub account: String,
    /// Where the connection stands.
    pub standing: AccountStandingJson,
    /// Whether card payments can be made now. Until then, charges, holds and payment links'
    /// payments are refused (409 `account_cannot_charge`).
    pub charges_enabled: bool,
    /// Whether Stripe pays the balance out to the business's bank.
    pub payouts_enabled: bool,
    /// Whether the owner went through onboarding to the end.
    pub details_submitted: bool,
    /// What the owner must still provide, in Stripe's names (`external_account`...).
    pub requirements_due: Vec<String>,
    /// What is late: charges or payouts stay off until it is provided.
    pub requirements_past_due: Vec<String>,
    /// Why Stripe disabled the account (`requirements.past_due`...), when it did.
    pub disabled_reason: Option<String>,
    /// When Stripe said so (the event's time, or when the account was last read).
    pub as_of: DateTime<Utc>,
}

impl From<&ConnectedAccount> for ConnectedAccountJson {
    fn from(account: &ConnectedAccount) -> Self {
        let state = &account.state;
        ConnectedAccountJson {
            account: state.account.clone(),
            standing: account.standing().into(),
            charges_enabled: state.charges_enabled,
            payouts_enabled: state.payouts_enabled,
            details_submitted: state.details_submitted,
            requirements_due: state.requirements_due.clone(),
            requirements_past_due: state.requirements_past_due.clone(),
            disabled_reason: state.disabled_reason.clone(),
            as_of: account.as_of,
        }
    }
}

/// Start (or continue) connecting the business's Stripe account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingRequest {
    /// Where Stripe sends the owner when onboarding ends (finished or left): your page then
    /// calls `POST /v1/connect/onboarding/return`. An absolute http(s) URL.
    pub return_url: String,
    /// Where Stripe sends the owner when the link was used or ran out: your page then calls
    /// `POST /v1/connect/onboarding` again for a fresh link. An absolute http(s) URL.
    pub refresh_url: String,
}

/// Onboarding started: where to send the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OnboardingJson {
    /// Stripe's onboarding form. Single use; send the owner there now.
    pub url: String,
    /// When the link stops working (minutes from now).
    pub expires_at: DateTime<Utc>,
    /// The account, as it stands.
    pub account: ConnectedAccountJson,
}

impl From<&Onboarding> for OnboardingJson {
    fn from(onboarding: &Onboarding) -> Self {
        OnboardingJson {
            url: onboarding.link.url.clone(),
            expires_at: onboarding.link.expires_at,
            account: ConnectedAccountJson::from(&onboarding.account),
        }
    }
}
