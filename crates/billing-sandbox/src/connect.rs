//! Connected accounts in the sandbox, as Stripe's Connect makes them: an account made once per
//! idempotency key, restricted until its owner finishes onboarding on the sandbox's own page
//! (`{challenge_base}/connect/onboarding/{token}`, beside the 3-D Secure challenge), single-use
//! links that send the owner to the refresh address once used or run out, and payments refused
//! on an account that cannot take them. Kept in the data folder (`sandbox-accounts.json`)
//! when the sandbox is, so that a restart forgets no account.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};

use billing_core::connect::{AccountState, OnboardingLink, OnboardingReturn};
use billing_core::ports::{AccountOnboarding, GatewayError, NewConnectedAccount};

use crate::SandboxGateway;

/// The file in the data folder that keeps the sandbox's connected accounts.
pub const ACCOUNTS_FILE: &str = "sandbox-accounts.json";

/// What a new account must provide before it can take charges.
const REQUIREMENTS: [&str; 3] = [
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
];

/// How long an onboarding link works (Stripe: a few minutes).
const LINK_MINUTES: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredAccount {
    id: String,
    charges_enabled: bool,
    details_submitted: bool,
    requirements_due: Vec<String>,
}

impl StoredAccount {
    fn state(&self) -> AccountState {
        AccountState {
            account: self.id.clone(),
            charges_enabled: self.charges_enabled,
            payouts_enabled: self.charges_enabled,
            details_submitted: self.details_submitted,
            requirements_due: self.requirements_due.clone(),
            requirements_past_due: Vec::new(),
            disabled_reason: (!self.charges_enabled).then(|| "requirements.past_due".to_owned()),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    accounts: BTreeMap<String, StoredAccount>,
    /// Idempotency key → account.
    keys: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Link {
    account: String,
    back: OnboardingReturn,
    expires_at: DateTime<Utc>,
    used: bool,
}

/// The sandbox's connected accounts and their links.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    kept: Kept,
    links: BTreeMap<String, Link>,
    file: Option<PathBuf>,
}

impl Accounts {
    /// The accounts kept in `dir`, if any.
    pub(crate) fn open(dir: &Path) -> Result<Accounts, std::io::Error> {
        let file = dir.join(ACCOUNTS_FILE);
        let kept = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Kept::default(),
            Err(e) => return Err(e),
        };
        Ok(Accounts {
            kept,
            links: BTreeMap::new(),
            file: Some(file),
        })
    }

    /// Writes the accounts to the data folder (a new file renamed over the old one).
    fn save(&self) -> Result<(), GatewayError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let unwritten =
            |e: String| GatewayError::Unavailable(format!("sandbox accounts not written: {e}"));
        let bytes = serde_json::to_vec_pretty(&self.kept).map_err(|e| unwritten(e.to_string()))?;
        let temporary = file.with_extension("json.new");
        std::fs::write(&temporary, bytes).map_err(|e| unwritten(e.to_string()))?;
        std::fs::rename(&temporary, file).map_err(|e| unwritten(e.to_string()))
    }

    /// Whether payments can be made on `account`: accounts the sandbox did not make (given to
    /// a business when it was made) can, as before.
    pub(crate) fn can_charge(&self, account: Option<&str>) -> bool {
        account
            .and_then(|a| self.kept.accounts.get(a))
            .is_none_or(|a| a.charges_enabled)
    }
}

fn random_token() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

impl SandboxGateway {
    fn accounts(&self) -> MutexGuard<'_, Accounts> {
        self.connect_accounts()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses a payment on an account the sandbox made that cannot take charges yet, as
    /// Stripe does.
    pub(crate) fn check_account_charges(&self, account: Option<&str>) -> Result<(), GatewayError> {
        if self.accounts().can_charge(account) {
            Ok(())
        } else {
            Err(GatewayError::InvalidRequest {
                message: "This connected account cannot currently make charges: its onboarding is not finished.".into(),
                request_id: None,
            })
        }
    }

    /// The owner finished onboarding (the page's **Complete onboarding**, or a test): charges
    /// enabled, nothing due. `None` for an account the sandbox did not make.
    pub fn complete_onboarding(&self, account: &str) -> Option<AccountState> {
        let mut accounts = self.accounts();
        let stored = accounts.kept.accounts.get_mut(account)?;
        stored.charges_enabled = true;
        stored.details_submitted = true;
        stored.requirements_due.clear();
        let state = stored.state();
        accounts.save().ok()?;
        Some(state)
    }

    /// The onboarding pages, served under [`SandboxGateway::challenge_pages`]'s router:
    /// `GET /connect/onboarding/{token}` shows the account with **Complete onboarding**
    /// (`#complete`) and **Leave for now** (`#leave`); `POST` to the same address with
    /// `result=complete|leave` sends the owner (303) to the link's return address, or to its
    /// refresh address once the link was used or ran out.
    pub(crate) fn onboarding_pages(&self) -> Router {
        Router::new()
            .route("/connect/onboarding/{token}", get(show).post(answer))
            .with_state(self.clone())
    }

    /// A usable link, or where to send the owner instead.
    fn link(&self, token: &str) -> Result<Link, Option<String>> {
        let now = self.now_for_connect();
        let accounts = self.accounts();
        match accounts.links.get(token) {
            None => Err(None),
            Some(link) if link.used || link.expires_at < now => {
                Err(Some(link.back.refresh_url.clone()))
            }
            Some(link) => Ok(link.clone()),
        }
    }
}

#[async_trait]
impl AccountOnboarding for SandboxGateway {
    async fn create_account(
        &self,
        account: &NewConnectedAccount,
    ) -> Result<AccountState, GatewayError> {
        let mut accounts = self.accounts();
        if let Some(id) = accounts.kept.keys.get(&account.idempotency_key)
            && let Some(stored) = accounts.kept.accounts.get(id)
        {
            return Ok(stored.state());
        }
        let stored = StoredAccount {
            id: format!("acct_sbx{}", random_token().get(..16).unwrap_or_default()),
            charges_enabled: false,
            details_submitted: false,
            requirements_due: REQUIREMENTS.iter().map(|r| (*r).to_owned()).collect(),
        };
        accounts
            .kept
            .keys
            .insert(account.idempotency_key.clone(), stored.id.clone());
        accounts
            .kept
            .accounts
            .insert(stored.id.clone(), stored.clone());
        accounts.save()?;
        Ok(stored.state())
    }

    async fn onboarding_link(
        &self,
        account: &str,
        back: &OnboardingReturn,
    ) -> Result<OnboardingLink, GatewayError> {
        let expires_at = self.now_for_connect() + Duration::minutes(LINK_MINUTES);
        let base = self.challenge_base_for_connect().to_owned();
        let mut accounts = self.accounts();
        if !accounts.kept.accounts.contains_key(account) {
            return Err(GatewayError::NotFound(format!(
                "no such account: {account}"
            )));
        }
        let token = random_token();
        accounts.links.insert(
            token.clone(),
            Link {
                account: account.to_owned(),
                back: back.clone(),
                expires_at,
                used: false,
            },
        );
        Ok(OnboardingLink {
            url: format!("{base}/connect/onboarding/{token}"),
            expires_at,
        })
    }

    async fn account(&self, account: &str) -> Result<AccountState, GatewayError> {
        self.accounts()
            .kept
            .accounts
            .get(account)
            .map(StoredAccount::state)
            .ok_or_else(|| GatewayError::NotFound(format!("no such account: {account}")))
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    result: Option<String>,
}

const TITLE: &str = "Sandbox Stripe onboarding";

async fn show(State(gateway): State<SandboxGateway>, UrlPath(token): UrlPath<String>) -> Response {
    match gateway.link(&token) {
        Ok(link) => html(
            StatusCode::OK,
            &format!(
                "<p id=\"what\">The owner of <code id=\"account\">{}</code> gives Stripe the \
                 business's details here. In the sandbox there is nothing to fill in.</p>\n\
                 <form method=\"post\">\n\
                 <button id=\"complete\" type=\"submit\" name=\"result\" value=\"complete\">Complete onboarding</button>\n\
                 <button id=\"leave\" type=\"submit\" name=\"result\" value=\"leave\">Leave for now</button>\n\
                 </form>",
                escape(&link.account)
            ),
        ),
        Err(Some(refresh)) => see_other(&refresh),
        Err(None) => not_found(),
    }
}

async fn answer(
    State(gateway): State<SandboxGateway>,
    UrlPath(token): UrlPath<String>,
    form: Result<Form<Answer>, FormRejection>,
) -> Response {
    let complete = match form.ok().and_then(|Form(f)| f.result).as_deref() {
        Some("complete") => true,
        Some("leave") => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                "<p id=\"error\">Choose <strong>Complete onboarding</strong> or \
                 <strong>Leave for now</strong>.</p>",
            );
        }
    };
    let link = match gateway.link(&token) {
        Ok(link) => link,
        Err(Some(refresh)) => return see_other(&refresh),
        Err(None) => return not_found(),
    };
    if let Some(stored) = gateway.accounts().links.get_mut(&token) {
        stored.used = true;
    }
    if complete && gateway.complete_onboarding(&link.account).is_none() {
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<p id=\"error\">The account could not be updated just now. Go back and try again.</p>",
        );
    }
    see_other(&link.back.return_url)
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<p id=\"error\">This onboarding link is not valid.</p>",
    )
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => not_found(),
    }
}

fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{TITLE}</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\n\
         button{{font:inherit;padding:.6rem 1rem;margin:.5rem .5rem 0 0;cursor:pointer}}\n\
         </style>\n</head>\n<body>\n<main>\n<h1>{TITLE}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ),
        ],
        page,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The sandbox's accounts, beside its other state.
pub(crate) type AccountsCell = Mutex<Accounts>;
