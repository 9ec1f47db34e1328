//! A scripted gateway side of connecting accounts, held to the same rules as Stripe's: one
//! account per idempotency key, accounts made restricted, fresh links each time, and a test
//! that completes or restricts an account as its owner or the gateway would.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Duration;

use crate::connect::{AccountState, OnboardingLink, OnboardingReturn};
use crate::ports::{AccountOnboarding, Clock, GatewayError, NewConnectedAccount};

#[derive(Debug, Default)]
struct Accounts {
    by_id: BTreeMap<String, AccountState>,
    by_key: BTreeMap<String, String>,
    links: Vec<(String, OnboardingReturn)>,
    fail_next: Option<GatewayError>,
}

/// Connected accounts in memory: [`AccountOnboarding`] for tests. Clones share the accounts.
#[derive(Clone)]
pub struct ScriptedOnboarding {
    clock: Arc<dyn Clock>,
    accounts: Arc<Mutex<Accounts>>,
}

impl std::fmt::Debug for ScriptedOnboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedOnboarding").finish_non_exhaustive()
    }
}

/// What a new account must provide before it can take charges.
pub const SCRIPTED_REQUIREMENTS: [&str; 2] = ["external_account", "tos_acceptance.date"];

impl ScriptedOnboarding {
    /// No accounts yet; links expire five minutes after `clock`'s time.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        ScriptedOnboarding {
            clock,
            accounts: Arc::default(),
        }
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every account made, by id.
    pub fn made(&self) -> Vec<AccountState> {
        self.accounts().by_id.values().cloned().collect()
    }

    /// Every link made: the account and where it returns the owner.
    pub fn links(&self) -> Vec<(String, OnboardingReturn)> {
        self.accounts().links.clone()
    }

    /// Adds an account made elsewhere (given to a business when it was made), as the
    /// gateway has it.
    pub fn add_account(&self, state: AccountState) {
        self.accounts().by_id.insert(state.account.clone(), state);
    }

    /// The owner finished onboarding: charges and payouts enabled, nothing due. Answers
    /// the account; `None` for an unknown one.
    pub fn complete(&self, account: &str) -> Option<AccountState> {
        let mut accounts = self.accounts();
        let state = accounts.by_id.get_mut(account)?;
        state.charges_enabled = true;
        state.payouts_enabled = true;
        state.details_submitted = true;
        state.requirements_due.clear();
        state.requirements_past_due.clear();
        state.disabled_reason = None;
        Some(state.clone())
    }

    /// The gateway took charges away: `past_due` are late.
    pub fn restrict(&self, account: &str, past_due: &[&str]) -> Option<AccountState> {
        let mut accounts = self.accounts();
        let state = accounts.by_id.get_mut(account)?;
        state.charges_enabled = false;
        state.requirements_past_due = past_due.iter().map(|r| (*r).to_owned()).collect();
        state.disabled_reason = Some("requirements.past_due".to_owned());
        Some(state.clone())
    }

    /// The next call fails with `error` (and does nothing).
    pub fn fail_next(&self, error: GatewayError) {
        self.accounts().fail_next = Some(error);
    }

    fn take_failure(&self) -> Result<(), GatewayError> {
        match self.accounts().fail_next.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl AccountOnboarding for ScriptedOnboarding {
    async fn create_account(
        &self,
        account: &NewConnectedAccount,
    ) -> Result<AccountState, GatewayError> {
        self.take_failure()?;
        let mut accounts = self.accounts();
        if let Some(id) = accounts.by_key.get(&account.idempotency_key)
            && let Some(state) = accounts.by_id.get(id)
        {
            return Ok(state.clone());
        }
        let id = format!("acct_scripted{}", accounts.by_id.len() + 1);
        let state = AccountState {
            requirements_due: SCRIPTED_REQUIREMENTS
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            disabled_reason: Some("requirements.past_due".to_owned()),
            ..AccountState::new_restricted(id.clone())
        };
        accounts
            .by_key
            .insert(account.idempotency_key.clone(), id.clone());
        accounts.by_id.insert(id, state.clone());
        Ok(state)
    }

    async fn onboarding_link(
        &self,
        account: &str,
        back: &OnboardingReturn,
    ) -> Result<OnboardingLink, GatewayError> {
        self.take_failure()?;
        let mut accounts = self.accounts();
        if !accounts.by_id.contains_key(account) {
            return Err(GatewayError::NotFound(account.to_owned()));
        }
        accounts.links.push((account.to_owned(), back.clone()));
        Ok(OnboardingLink {
            url: format!(
                "https://connect.example/onboarding/{account}/{}",
                accounts.links.len()
            ),
            expires_at: self.clock.now() + Duration::minutes(5),
        })
    }

    async fn account(&self, account: &str) -> Result<AccountState, GatewayError> {
        self.take_failure()?;
        self.accounts()
            .by_id
            .get(account)
            .cloned()
            .ok_or_else(|| GatewayError::NotFound(account.to_owned()))
    }
}
