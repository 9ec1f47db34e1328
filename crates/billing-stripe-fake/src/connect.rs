//! Connect: the accounts the platform made (`POST /v1/accounts`) and the links that send
//! their owners to onboarding (`POST /v1/account_links`).
//!
//! An account is made restricted, as Stripe makes it: charges and payouts disabled, its
//! details not submitted, what Stripe needs listed in `requirements.currently_due`.
//! Onboarding (the fake's page, or [`crate::FakeStripe::complete_onboarding`]) provides
//! them all; [`crate::FakeStripe::restrict_account`] takes charges away again, as Stripe does
//! when a requirement passes its deadline. Each change records `account.updated` on the
//! account, with `previous_attributes`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

/// How long an account link can be used (Stripe: a few minutes).
pub(crate) const LINK_SECONDS: i64 = 300;

/// What Stripe asks of a new account before it can take charges.
pub(crate) const ONBOARDING_REQUIREMENTS: &[&str] = &[
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
];

/// A connected account the platform made.
#[derive(Debug, Clone)]
pub(crate) struct ConnectAccount {
    pub id: String,
    pub created: i64,
    pub account_type: String,
    pub country: String,
    pub email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
    pub currently_due: Vec<String>,
    pub past_due: Vec<String>,
    pub disabled_reason: Option<String>,
}

impl ConnectAccount {
    pub fn new(id: String, created: i64, account_type: String, country: String) -> Self {
        ConnectAccount {
            id,
            created,
            account_type,
            country,
            email: None,
            metadata: BTreeMap::new(),
            charges_enabled: false,
            payouts_enabled: false,
            details_submitted: false,
            currently_due: ONBOARDING_REQUIREMENTS
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            past_due: Vec::new(),
            disabled_reason: Some("requirements.past_due".to_owned()),
        }
    }

    /// The attributes an `account.updated` event lists as changed.
    pub fn watched(&self) -> Value {
        json!({
            "charges_enabled": self.charges_enabled,
            "payouts_enabled": self.payouts_enabled,
            "details_submitted": self.details_submitted,
            "requirements": {
                "currently_due": self.currently_due,
                "past_due": self.past_due,
                "disabled_reason": self.disabled_reason,
            },
        })
    }

    /// Every requirement provided: the account can take charges and be paid out.
    pub fn complete(&mut self) {
        self.charges_enabled = true;
        self.payouts_enabled = true;
        self.details_submitted = true;
        self.currently_due.clear();
        self.past_due.clear();
        self.disabled_reason = None;
    }

    /// Stripe took charges away: `past_due` are due now, for `reason`.
    pub fn restrict(&mut self, reason: &str, past_due: &[String]) {
        self.charges_enabled = false;
        self.payouts_enabled = false;
        self.past_due = past_due.to_vec();
        for requirement in past_due {
            if !self.currently_due.contains(requirement) {
                self.currently_due.push(requirement.clone());
            }
        }
        self.disabled_reason = Some(reason.to_owned());
    }

    /// The account in Stripe's shape.
    pub fn to_json(&self) -> Value {
        let capability = if self.charges_enabled {
            "active"
        } else {
            "inactive"
        };
        let requirements = json!({
            "alternatives": [],
            "current_deadline": null,
            "currently_due": self.currently_due,
            "disabled_reason": self.disabled_reason,
            "errors": [],
            "eventually_due": self.currently_due,
            "past_due": self.past_due,
            "pending_verification": [],
        });
        json!({
            "id": self.id,
            "object": "account",
            "business_profile": {
                "annual_revenue": null,
                "estimated_worker_count": null,
                "mcc": null,
                "name": null,
                "product_description": null,
                "support_address": null,
                "support_email": null,
                "support_phone": null,
                "support_url": null,
                "url": null,
            },
            "business_type": null,
            "capabilities": {"card_payments": capability, "transfers": capability},
            "charges_enabled": self.charges_enabled,
            "controller": {"type": "application", "is_controller": true},
            "country": self.country,
            "created": self.created,
            "default_currency": "usd",
            "details_submitted": self.details_submitted,
            "email": self.email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": false,
                "url": format!("/v1/accounts/{}/external_accounts", self.id),
            },
            "future_requirements": {
                "alternatives": [],
                "current_deadline": null,
                "currently_due": [],
                "disabled_reason": null,
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            "metadata": self.metadata,
            "payouts_enabled": self.payouts_enabled,
            "requirements": requirements,
            "settings": null,
            "tos_acceptance": {"date": null, "ip": null, "user_agent": null},
            "type": self.account_type,
        })
    }
}

/// An account link: single use, short-lived.
#[derive(Debug, Clone)]
pub(crate) struct AccountLink {
    pub account: String,
    pub link_type: String,
    pub refresh_url: String,
    pub return_url: String,
    pub expires_at: i64,
    pub used: bool,
}

/// The platform's connected accounts and their links (by the token in the link's URL).
#[derive(Debug, Default)]
pub(crate) struct Connect {
    pub accounts: BTreeMap<String, ConnectAccount>,
    pub links: HashMap<String, AccountLink>,
}

impl Connect {
    /// Whether the account can take charges: accounts the platform did not make through the
    /// API (any other `acct_...`) are taken as able to.
    pub fn can_charge(&self, account: &str) -> bool {
        self.accounts.get(account).is_none_or(|a| a.charges_enabled)
    }
}
