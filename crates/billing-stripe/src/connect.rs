//! Connect: the connected account of a business, made by the platform (`POST /v1/accounts`,
//! a Standard account: its owner keeps Stripe's full Dashboard and pays Stripe's fees), sent to
//! Stripe's hosted onboarding by Account Links, and read back. Implements the core's
//! [`AccountOnboarding`].

use async_trait::async_trait;
use chrono::DateTime;
use stripe::StripeRequest;
use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveAccount};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};

use billing_core::connect::{AccountState, OnboardingLink, OnboardingReturn};
use billing_core::ports::{AccountOnboarding, GatewayError, NewConnectedAccount};

use crate::gateway::{BUSINESS_ID_KEY, StripeGateway, call_key, invalid, mutating, read};

/// A Stripe account in the core's terms.
pub(crate) fn account_state(account: &stripe_shared::Account) -> AccountState {
    let requirements = account.requirements.as_ref();
    AccountState {
        account: account.id.to_string(),
        charges_enabled: account.charges_enabled.unwrap_or(false),
        payouts_enabled: account.payouts_enabled.unwrap_or(false),
        details_submitted: account.details_submitted.unwrap_or(false),
        requirements_due: requirements
            .and_then(|r| r.currently_due.clone())
            .unwrap_or_default(),
        requirements_past_due: requirements
            .and_then(|r| r.past_due.clone())
            .unwrap_or_default(),
        disabled_reason: requirements
            .and_then(|r| r.disabled_reason.as_ref())
            .map(|reason| reason.as_str().to_owned()),
    }
}

#[async_trait]
impl AccountOnboarding for StripeGateway {
    async fn create_account(
        &self,
        account: &NewConnectedAccount,
    ) -> Result<AccountState, GatewayError> {
        let mut create = CreateAccount::new()
            .type_(CreateAccountType::Standard)
            .metadata([(BUSINESS_ID_KEY.to_owned(), account.business.to_string())]);
        if let Some(email) = &account.email {
            create = create.email(email.as_str());
        }
        // The platform's own call (no Stripe-Account), under the core's key: one account per
        // business even when two starts race, or a lost answer is retried.
        let created = self
            .call(
                mutating("create an Account"),
                None,
                Some(&account.idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        Ok(account_state(&created))
    }

    async fn onboarding_link(
        &self,
        account: &str,
        back: &OnboardingReturn,
    ) -> Result<OnboardingLink, GatewayError> {
        let create = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
            .refresh_url(back.refresh_url.as_str())
            .return_url(back.return_url.as_str());
        // Every link is a new one (they are single use): a fresh key per call, kept across
        // its retries.
        let key = call_key("account_link", &[account]);
        let link = self
            .call(mutating("create an AccountLink"), None, Some(&key), |t| {
                t.apply(create.customize()).send(&self.client)
            })
            .await?;
        let expires_at = DateTime::from_timestamp(link.expires_at, 0)
            .ok_or_else(|| invalid("Stripe answered an account link with no valid expiry"))?;
        Ok(OnboardingLink {
            url: link.url,
            expires_at,
        })
    }

    async fn account(&self, account: &str) -> Result<AccountState, GatewayError> {
        let retrieve = RetrieveAccount::new(account);
        let found = self
            .call(read("retrieve an Account"), None, None, |t| {
                t.apply(retrieve.customize()).send(&self.client)
            })
            .await?;
        if found.id.as_str() != account {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered account {} for {account}",
                found.id
            )));
        }
        Ok(account_state(&found))
    }
}
