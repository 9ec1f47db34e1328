//! A business's connected Stripe account: the account the platform acts on for it, and what
//! the gateway last said of it (can it take charges, what it still has to provide).
//!
//! A business connects its account through the gateway's hosted onboarding (Stripe's Account
//! Links): the platform makes the account once, then sends its owner to the gateway's form as
//! many times as it takes. Until the gateway enables charges on it, no card payment is made
//! for the business ([`crate::error::BillingError::AccountCannotCharge`]).

use chrono::{DateTime, Utc};

/// A connected account as the gateway describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// The gateway's id of the account (`acct_...`).
    pub account: String,
    /// Whether the account can take card payments now.
    pub charges_enabled: bool,
    /// Whether the gateway pays its balance out to the business's bank.
    pub payouts_enabled: bool,
    /// Whether its owner went through onboarding to the end (not that everything was
    /// accepted).
    pub details_submitted: bool,
    /// What the owner must still provide (the gateway's names: `external_account`,
    /// `tos_acceptance.date`...).
    pub requirements_due: Vec<String>,
    /// What was due and is late: charges or payouts are off until it is provided.
    pub requirements_past_due: Vec<String>,
    /// Why the account is disabled, in the gateway's words (`requirements.past_due`,
    /// `rejected.fraud`...), when it is.
    pub disabled_reason: Option<String>,
}

impl AccountState {
    /// A new account as the gateway makes it: nothing enabled, nothing known to be due.
    pub fn new_restricted(account: impl Into<String>) -> Self {
        AccountState {
            account: account.into(),
            charges_enabled: false,
            payouts_enabled: false,
            details_submitted: false,
            requirements_due: Vec::new(),
            requirements_past_due: Vec::new(),
            disabled_reason: None,
        }
    }
}

/// A business's connected account as the engine keeps it: the gateway's description, and
/// when the gateway gave it, so that an older description (a webhook event delivered late)
/// never replaces a newer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    /// What the gateway said.
    pub state: AccountState,
    /// When it said so: the event's creation time, or when the account was read.
    pub as_of: DateTime<Utc>,
}

impl ConnectedAccount {
    /// The account's id (`acct_...`).
    pub fn id(&self) -> &str {
        &self.state.account
    }

    /// Whether card payments can be made on the account now.
    pub fn can_charge(&self) -> bool {
        self.state.charges_enabled
    }

    /// Where the connection stands, in the business's words.
    pub fn standing(&self) -> AccountStanding {
        let state = &self.state;
        if state.charges_enabled && state.requirements_past_due.is_empty() {
            if state.requirements_due.is_empty() {
                AccountStanding::Ready
            } else {
                AccountStanding::DetailsDue
            }
        } else if state.details_submitted {
            AccountStanding::Restricted
        } else {
            AccountStanding::OnboardingIncomplete
        }
    }
}

/// Where a business's connection to the gateway stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStanding {
    /// The owner has not finished the gateway's onboarding: no charges yet.
    OnboardingIncomplete,
    /// Onboarding was finished, but the gateway does not let the account take charges (it
    /// is reviewing it, or something is past due).
    Restricted,
    /// Charges work, and the gateway asks for more details before a deadline.
    DetailsDue,
    /// Charges work and nothing is due.
    Ready,
}

impl AccountStanding {
    /// A stable name (`onboarding_incomplete`, `restricted`, `details_due`, `ready`).
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountStanding::OnboardingIncomplete => "onboarding_incomplete",
            AccountStanding::Restricted => "restricted",
            AccountStanding::DetailsDue => "details_due",
            AccountStanding::Ready => "ready",
        }
    }
}

/// Where the gateway sends the owner back from onboarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingReturn {
    /// Where the owner lands when onboarding ends (finished or left): the engine then reads
    /// the account again.
    pub return_url: String,
    /// Where the owner lands when the link was used or ran out: a new link is made there.
    pub refresh_url: String,
}

/// A link to the gateway's onboarding form, for the account's owner. Short-lived and single
/// use: a fresh one is made each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingLink {
    /// The gateway's page.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(state: AccountState) -> ConnectedAccount {
        ConnectedAccount {
            state,
            as_of: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn standing_follows_the_gateway() {
        let mut state = AccountState::new_restricted("acct_1");
        assert_eq!(
            account(state.clone()).standing(),
            AccountStanding::OnboardingIncomplete
        );
        state.details_submitted = true;
        assert_eq!(
            account(state.clone()).standing(),
            AccountStanding::Restricted
        );
        state.charges_enabled = true;
        state.requirements_due = vec!["external_account".into()];
        assert_eq!(
            account(state.clone()).standing(),
            AccountStanding::DetailsDue
        );
        state.requirements_due.clear();
        assert_eq!(account(state.clone()).standing(), AccountStanding::Ready);
        assert!(account(state.clone()).can_charge());
        state.charges_enabled = false;
        state.requirements_past_due = vec!["external_account".into()];
        assert_eq!(
            account(state.clone()).standing(),
            AccountStanding::Restricted
        );
        assert!(!account(state).can_charge());
    }
}
