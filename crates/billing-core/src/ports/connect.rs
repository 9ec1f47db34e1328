use async_trait::async_trait;

use crate::connect::{AccountState, ConnectedAccount, OnboardingLink, OnboardingReturn};
use crate::ids::BusinessId;
use crate::ports::{BusinessesError, GatewayError};

/// A connected account to make at the gateway for a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnectedAccount {
    /// The business it is for (kept in the gateway's metadata).
    pub business: BusinessId,
    /// The business's email address, which the gateway's form starts from.
    pub email: Option<String>,
    /// Derived from the business: the same on every retry, so that two requests at once
    /// make one account.
    pub idempotency_key: String,
}

/// The gateway's side of connecting a business: making its account, sending its owner to
/// the gateway's onboarding, and reading where the account stands. Stripe's adapter
/// implements it with Connect (Accounts and Account Links); the sandbox with its own page.
#[async_trait]
pub trait AccountOnboarding: Send + Sync {
    /// Makes a connected account (restricted until onboarded) and answers it.
    async fn create_account(
        &self,
        account: &NewConnectedAccount,
    ) -> Result<AccountState, GatewayError>;

    /// A fresh onboarding link for the account's owner. [`GatewayError::NotFound`] for an
    /// account the platform cannot reach.
    async fn onboarding_link(
        &self,
        account: &str,
        back: &OnboardingReturn,
    ) -> Result<OnboardingLink, GatewayError>;

    /// Where the account stands now. [`GatewayError::NotFound`] for an account the platform
    /// cannot reach.
    async fn account(&self, account: &str) -> Result<AccountState, GatewayError>;
}

/// What connecting an account to a business did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountConnection {
    /// The business's connected account, as stored now: the one given, or the one stored
    /// first (a business has one connected account, whoever connects it first).
    Connected(ConnectedAccount),
    /// The business already acts on another account (given when it was made); nothing was
    /// written.
    OtherAccount(String),
    /// No such business; nothing was written.
    UnknownBusiness,
}

/// Each business's connected account and what the gateway last said of it.
#[async_trait]
pub trait ConnectedAccounts: Send + Sync {
    /// The business's connected account, if it connected one through onboarding (a business
    /// given an account id when it was made has none until it goes through onboarding).
    async fn connected_account(
        &self,
        business: &BusinessId,
    ) -> Result<Option<ConnectedAccount>, BusinessesError>;

    /// Connects an account to a business in one step: unless the business already has a
    /// connected account, the account is stored and becomes the business's gateway account
    /// (which must be unset or the same). Answers what is stored afterwards.
    async fn connect_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<AccountConnection, BusinessesError>;

    /// Replaces the stored description of the business's connected account with a newer one:
    /// only when it is the same account and `account.as_of` is not older than what is stored.
    /// `Ok(true)` when it was written.
    async fn update_connected_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<bool, BusinessesError>;
}
