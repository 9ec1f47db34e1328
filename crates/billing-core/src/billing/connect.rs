//! Connecting a business's own gateway account (Stripe Connect, through Account Links): the
//! platform makes the account once, sends its owner to the gateway's onboarding as many times
//! as it takes, reads the account again when the owner comes back, and keeps its state current
//! from the gateway's `account.updated` events. Card payments on an account that cannot take
//! them yet are refused before anything is written ([`BillingError::AccountCannotCharge`]).

use chrono::{DateTime, Timelike, Utc};

use super::{Billing, EventHandled};
use crate::connect::{AccountState, ConnectedAccount, OnboardingLink, OnboardingReturn};
use crate::customer::Business;
use crate::error::BillingError;
use crate::ports::{AccountConnection, AccountOnboarding, GatewayError, NewConnectedAccount};

/// Onboarding started: the business's account, and where to send its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onboarding {
    /// The business's connected account as it stands.
    pub account: ConnectedAccount,
    /// The gateway's onboarding form, for the owner (single use, short-lived).
    pub link: OnboardingLink,
}

fn gateway(error: GatewayError) -> BillingError {
    BillingError::Gateway {
        payment: None,
        error,
    }
}

/// The gateway idempotency key of a business's account: one account per business, however
/// many times (or at once) onboarding starts.
fn account_key(business: &Business) -> String {
    format!("connect-account:{}", business.id)
}

impl Billing {
    /// When an account read from the gateway now is said to be "as of": the current second.
    /// The gateway dates its events to the second, so an event made in the same second as a
    /// read is kept over it (the later write wins) rather than lost as older.
    fn read_time(&self) -> DateTime<Utc> {
        let now = self.now();
        now.with_nanosecond(0).unwrap_or(now)
    }

    fn onboarding(&self) -> Result<&dyn AccountOnboarding, BillingError> {
        self.onboarding
            .as_deref()
            .ok_or(BillingError::OnboardingUnavailable)
    }

    /// Whether the service can connect businesses' accounts (it was given the gateway's
    /// onboarding).
    pub fn connects_accounts(&self) -> bool {
        self.onboarding.is_some()
    }

    /// The business's connected account as last known, `None` when it never started
    /// onboarding.
    pub async fn connected_account(
        &self,
        business: &Business,
    ) -> Result<Option<ConnectedAccount>, BillingError> {
        Ok(self.store.connected_account(&business.id).await?)
    }

    /// Starts (or continues) connecting the business's account: the account is made at the
    /// gateway the first time only — a business given an account id when it was made
    /// connects that one — and every call answers a fresh onboarding link for the owner.
    /// `back` must be absolute URLs: where the gateway returns the owner.
    ///
    /// # Errors
    /// [`BillingError::OnboardingUnavailable`] without a gateway that connects accounts;
    /// [`BillingError::Gateway`] when the gateway could not be reached or refused.
    pub async fn start_onboarding(
        &self,
        business: &Business,
        back: &OnboardingReturn,
    ) -> Result<Onboarding, BillingError> {
        let onboarding = self.onboarding()?;
        for url in [&back.return_url, &back.refresh_url] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(BillingError::InvalidInput(
                    "onboarding's return and refresh addresses are absolute http(s) URLs",
                ));
            }
        }
        let account = match self.store.connected_account(&business.id).await? {
            Some(account) => account,
            None => self.connect(onboarding, business).await?,
        };
        let link = onboarding
            .onboarding_link(account.id(), back)
            .await
            .map_err(gateway)?;
        Ok(Onboarding { account, link })
    }

    /// Makes (or, for an account given when the business was made, reads) the business's
    /// account at the gateway and stores it: the first stored wins.
    async fn connect(
        &self,
        onboarding: &dyn AccountOnboarding,
        business: &Business,
    ) -> Result<ConnectedAccount, BillingError> {
        let existing = self
            .store
            .business(&business.id)
            .await?
            .and_then(|b| b.gateway_account);
        let state = match existing {
            Some(account) => onboarding.account(&account).await.map_err(gateway)?,
            None => onboarding
                .create_account(&NewConnectedAccount {
                    business: business.id.clone(),
                    email: business.email.clone(),
                    idempotency_key: account_key(business),
                })
                .await
                .map_err(gateway)?,
        };
        let account = ConnectedAccount {
            state,
            as_of: self.read_time(),
        };
        match self.store.connect_account(&business.id, &account).await? {
            AccountConnection::Connected(stored) => Ok(stored),
            AccountConnection::OtherAccount(other) => Err(BillingError::Inconsistent(format!(
                "business {} acts on {other}, not {}",
                business.id,
                account.id()
            ))),
            AccountConnection::UnknownBusiness => Err(BillingError::Inconsistent(format!(
                "an account for unknown business {}",
                business.id
            ))),
        }
    }

    /// The owner came back from the gateway's onboarding (finished or not): the account is
    /// read again from the gateway and kept. Answers it as it stands.
    ///
    /// # Errors
    /// [`BillingError::AccountNotConnected`] when the business never started onboarding;
    /// [`BillingError::Gateway`] when the gateway could not be read.
    pub async fn onboarding_returned(
        &self,
        business: &Business,
    ) -> Result<ConnectedAccount, BillingError> {
        let onboarding = self.onboarding()?;
        let Some(stored) = self.store.connected_account(&business.id).await? else {
            return Err(BillingError::AccountNotConnected);
        };
        let state = onboarding.account(stored.id()).await.map_err(gateway)?;
        let read = ConnectedAccount {
            state,
            as_of: self.read_time(),
        };
        self.store
            .update_connected_account(&business.id, &read)
            .await?;
        Ok(self
            .store
            .connected_account(&business.id)
            .await?
            .unwrap_or(read))
    }

    /// A verified `account.updated`: the business of the account keeps the new state, unless
    /// what it keeps is newer (events arrive late and out of order).
    pub(super) async fn account_changed(
        &self,
        state: &AccountState,
        created: DateTime<Utc>,
    ) -> Result<EventHandled, BillingError> {
        let Some(business) = self.store.business_by_account(&state.account).await? else {
            return Ok(EventHandled::Ignored);
        };
        let account = ConnectedAccount {
            state: state.clone(),
            as_of: created,
        };
        if self
            .store
            .update_connected_account(&business.id, &account)
            .await?
        {
            Ok(EventHandled::Reconciled)
        } else {
            Ok(EventHandled::Ignored)
        }
    }

    /// Refuses card payments for a business whose connected account cannot take them (a
    /// business with no connected account record — its account given when it was made, or
    /// none — is not held back). Read before a payment opens, so that a refusal writes
    /// nothing.
    pub(super) async fn account_can_charge(&self, business: &Business) -> Result<(), BillingError> {
        match self.store.connected_account(&business.id).await? {
            Some(account) if !account.can_charge() => Err(BillingError::AccountCannotCharge {
                account: account.state.account,
                disabled_reason: account.state.disabled_reason,
            }),
            _ => Ok(()),
        }
    }
}
