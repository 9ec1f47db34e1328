//! Businesses' connected accounts (`connected_accounts`): what the gateway last said of each,
//! and as of when. Requirement lists are kept one name a line (the gateway's names are dotted
//! identifiers, never with a line break).

use billing_core::connect::{AccountState, ConnectedAccount};
use chrono::{DateTime, Utc};

/// The columns [`ConnectedAccountRow`] reads, in a SELECT list.
pub const CONNECTED_ACCOUNT_COLUMNS: &str = "account, charges_enabled, payouts_enabled, \
     details_submitted, requirements_due, requirements_past_due, disabled_reason, as_of";

/// A connected account row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct ConnectedAccountRow {
    account: String,
    charges_enabled: bool,
    payouts_enabled: bool,
    details_submitted: bool,
    requirements_due: String,
    requirements_past_due: String,
    disabled_reason: Option<String>,
    as_of: DateTime<Utc>,
}

/// A list of requirements as a column holds it.
pub fn requirements_column(names: &[String]) -> String {
    names.join("\n")
}

fn requirements(column: &str) -> Vec<String> {
    column
        .lines()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ConnectedAccountRow {
    /// The account.
    pub fn into_account(self) -> ConnectedAccount {
        ConnectedAccount {
            state: AccountState {
                account: self.account,
                charges_enabled: self.charges_enabled,
                payouts_enabled: self.payouts_enabled,
                details_submitted: self.details_submitted,
                requirements_due: requirements(&self.requirements_due),
                requirements_past_due: requirements(&self.requirements_past_due),
                disabled_reason: self.disabled_reason,
            },
            as_of: self.as_of,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_lists_round_trip() {
        let names = vec![
            "external_account".to_owned(),
            "tos_acceptance.date".to_owned(),
        ];
        assert_eq!(requirements(&requirements_column(&names)), names);
        assert!(requirements(&requirements_column(&[])).is_empty());
    }
}
