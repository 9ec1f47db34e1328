//! The settings pages, for the owners of a business only: the Stripe connection, the payment
//! policy and automation, the staff (add, invite again, remove) and the API keys (make,
//! revoke). A member who is no owner gets a 403 on every one of them, read or form.
//!
//! Forms answer post, redirect, get with a message in the top-right corner; the two that make
//! a secret (a member's invitation link, an API key) answer a page that shows it this once
//! (never in an address; the guard's `no-store` keeps it out of caches); removing a member and
//! revoking a key ask first.

mod keys;
mod people;
mod policy;
mod stripe;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use billing_core::staff::{StaffMember, StaffRole};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{failed, header_of};
use crate::Console;
use crate::session::SignedIn;
use crate::views::{Flash, Header, message, page};
use policy::{PolicyFields, PolicyForm};

/// The settings pages' routes.
pub(crate) fn routes() -> Router<Console> {
    Router::new()
        .route("/console/settings", get(show))
        .route("/console/settings/payments", post(policy::save))
        .route("/console/settings/staff", post(people::add))
        .route(
            "/console/settings/staff/{id}/invitation",
            post(people::invite_again),
        )
        .route(
            "/console/settings/staff/{id}/remove",
            get(people::confirm_remove).post(people::remove),
        )
        .route("/console/settings/stripe/connect", post(stripe::connect))
        .route("/console/settings/stripe/return", get(stripe::returned))
        .route("/console/settings/stripe/refresh", get(stripe::refresh))
        .route("/console/settings/api-keys", post(keys::create))
        .route(
            "/console/settings/api-keys/{id}/revoke",
            get(keys::confirm_revoke).post(keys::revoke),
        )
}

/// 403 for a member who is no owner.
fn not_owner() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Only owners can change settings",
        "Settings, staff and API keys are for the owners of your business. Ask an owner if something needs changing.",
    )
}

/// A signed-in owner: a handler that takes one serves owners only, and refuses staff before
/// the request's body is read.
pub(crate) struct Owner(pub(crate) SignedIn);

impl axum::extract::FromRequestParts<Console> for Owner {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        console: &Console,
    ) -> Result<Self, Response> {
        let member = SignedIn::from_request_parts(parts, console).await?;
        if member.visit.member.role != StaffRole::Owner {
            return Err(not_owner());
        }
        Ok(Owner(member))
    }
}

/// A form with only its CSRF token (a confirmation, a new invitation).
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// Back to the settings page, saying how it went (`?result=`).
fn done(result: &str) -> Response {
    Redirect::to(&format!("/console/settings?result={result}")).into_response()
}

/// How it went, as the settings page names it: only these words travel in the address.
fn result_message(result: &str) -> Option<(&'static str, &'static str)> {
    Some(match result {
        "policy-saved" => (
            "success",
            "The payment settings were saved. Open bookings follow them from now on.",
        ),
        "member-removed" => (
            "success",
            "The member was removed: they can no longer sign in.",
        ),
        "last-owner" => (
            "error",
            "The last owner cannot be removed: make another member an owner first. Nothing changed.",
        ),
        "self" => (
            "error",
            "You cannot remove yourself; another owner can. Nothing changed.",
        ),
        "key-revoked" => ("success", "The API key was revoked: it no longer works."),
        "last-key" => (
            "error",
            "The last working API key cannot be revoked: create another first. Nothing changed.",
        ),
        "removed-member" => (
            "error",
            "That member was removed: they cannot be invited again.",
        ),
        "stripe-ready" => (
            "success",
            "Your Stripe account is connected and takes card payments.",
        ),
        "stripe-incomplete" => (
            "error",
            "Stripe does not take card payments for you yet: see what it still needs below, then continue onboarding.",
        ),
        "stripe-not-started" => ("error", "Connect Stripe first."),
        "stripe-unavailable" => (
            "error",
            "This service's card processor connects no accounts. Nothing changed.",
        ),
        "stripe-failed" => (
            "error",
            "Stripe could not be reached just now. Nothing changed: try again in a moment.",
        ),
        _ => return None,
    })
}

/// A time as the settings show it.
fn when(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y %H:%M UTC").to_string()
}

/// A member, in the staff table.
#[derive(Debug)]
pub(crate) struct MemberRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) role: &'static str,
    pub(crate) state: String,
    /// Not removed: can be invited again and removed (unless it is the viewer).
    pub(crate) active: bool,
    /// The signed-in owner themselves.
    pub(crate) me: bool,
}

impl MemberRow {
    fn of(member: &StaffMember, me: &SignedIn) -> MemberRow {
        MemberRow {
            id: member.id.to_string(),
            name: member.name.clone(),
            email: member.email.clone(),
            role: match member.role {
                StaffRole::Owner => "Owner",
                StaffRole::Staff => "Staff",
            },
            state: match (member.removed_at, &member.password_hash) {
                (Some(at), _) => format!("Removed {}", when(at)),
                (None, None) => "Invited (no password yet)".to_owned(),
                (None, Some(_)) => "Active".to_owned(),
            },
            active: member.is_active(),
            me: member.id == me.visit.member.id,
        }
    }
}

/// A key, in the API keys table.
#[derive(Debug)]
pub(crate) struct KeyRow {
    pub(crate) id: String,
    pub(crate) label: String,
    /// Its kind and last characters; `None` for a key made before keys were listed.
    pub(crate) hint: Option<String>,
    pub(crate) created: String,
    pub(crate) state: String,
    /// Active, and not the last active key: it may be revoked.
    pub(crate) revocable: bool,
}

/// The add-a-member form, as typed.
#[derive(Debug, Default)]
pub(crate) struct MemberForm {
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) owner: bool,
    pub(crate) error: Option<String>,
}

/// The make-a-key form, as typed.
#[derive(Debug, Default)]
pub(crate) struct KeyForm {
    pub(crate) label: String,
    pub(crate) live: bool,
    pub(crate) error: Option<String>,
}

/// The settings page.
#[derive(Debug, Template)]
#[template(path = "settings.html")]
pub(crate) struct SettingsPage {
    pub(crate) header: Option<Header>,
    pub(crate) flash: Option<Flash>,
    /// The connected Stripe account (`acct_…`), if any.
    pub(crate) account: Option<String>,
    /// Which card processor the service runs.
    pub(crate) processor: &'static str,
    /// The connected account's state, once onboarding started.
    pub(crate) connection: Option<stripe::ConnectionView>,
    /// "Connect Stripe", "Continue onboarding"..., when there is something to do.
    pub(crate) connect_button: Option<&'static str>,
    pub(crate) policy: PolicyForm,
    pub(crate) members: Vec<MemberRow>,
    pub(crate) member_form: MemberForm,
    pub(crate) keys: Vec<KeyRow>,
    pub(crate) key_form: KeyForm,
}

/// A secret shown once: a member's invitation link, or an API key.
#[derive(Debug, Template)]
#[template(path = "settings_secret.html")]
pub(crate) struct SecretPage {
    pub(crate) header: Option<Header>,
    pub(crate) title: &'static str,
    pub(crate) intro: String,
    pub(crate) label: &'static str,
    pub(crate) secret: String,
    pub(crate) warning: &'static str,
}

/// "Are you sure?" before removing a member or revoking a key.
#[derive(Debug, Template)]
#[template(path = "settings_confirm.html")]
pub(crate) struct ConfirmPage {
    pub(crate) header: Option<Header>,
    pub(crate) title: &'static str,
    pub(crate) question: String,
    pub(crate) consequence: &'static str,
    pub(crate) action: String,
    pub(crate) button: &'static str,
}

/// What a drawing of the settings page carries beyond the business's own: a message, or a
/// refused form shown again as typed (then the page answers 400).
#[derive(Debug, Default)]
pub(crate) struct Drawn {
    flash: Option<Flash>,
    policy: Option<PolicyForm>,
    member: Option<MemberForm>,
    key: Option<KeyForm>,
}

/// The settings page of the member's business.
async fn settings_page(console: &Console, member: &SignedIn, drawn: Drawn) -> Response {
    let business = &member.visit.business;
    let refused = drawn.policy.is_some() || drawn.member.is_some() || drawn.key.is_some();
    let policy = match drawn.policy {
        Some(form) => form,
        None => match console.billing.payment_settings(business).await {
            Ok(settings) => PolicyForm::of(PolicyFields::of(&settings), None),
            Err(error) => {
                tracing::error!(%error, "the console could not read the payment settings");
                return failed();
            }
        },
    };
    let connected = match console.billing.connected_account(business).await {
        Ok(connected) => connected,
        Err(error) => {
            tracing::error!(%error, "the console could not read the connected account");
            return failed();
        }
    };
    let (staff, keys) = match (
        console.billing.staff(business).await,
        console.billing.api_keys(business).await,
    ) {
        (Ok(staff), Ok(keys)) => (staff, keys),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "the console could not read the staff or the keys");
            return failed();
        }
    };
    // Working keys first (newest first), then the revoked.
    let mut keys = keys;
    keys.sort_by(|a, b| {
        b.is_active()
            .cmp(&a.is_active())
            .then(b.created_at.cmp(&a.created_at))
    });
    let active = keys.iter().filter(|k| k.is_active()).count();
    let live = keys
        .iter()
        .find(|k| k.is_active())
        .and_then(|k| k.hint.as_deref())
        .is_some_and(|hint| hint.starts_with("bk_live_"));
    let processor = match console.config.stripe_dashboard {
        Some(dashboard) if dashboard.test_mode => "Stripe, in test mode (no real money moves)",
        Some(_) => "Stripe, live",
        None => "The built-in sandbox: test cards only, no real money moves",
    };
    let status = if refused {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(
        status,
        &SettingsPage {
            header: Some(header_of(member)),
            flash: drawn.flash,
            account: business.gateway_account.clone(),
            processor,
            connection: connected.as_ref().map(stripe::ConnectionView::of),
            connect_button: stripe::connect_button(
                console.billing.connects_accounts(),
                connected.as_ref(),
            ),
            policy,
            members: staff.iter().map(|m| MemberRow::of(m, member)).collect(),
            member_form: drawn.member.unwrap_or_default(),
            keys: keys
                .iter()
                .map(|k| KeyRow {
                    id: k.id.to_string(),
                    label: k.label.clone(),
                    hint: k.hint.clone(),
                    created: when(k.created_at),
                    state: k
                        .revoked_at
                        .map_or_else(|| "Active".to_owned(), |at| format!("Revoked {}", when(at))),
                    revocable: k.is_active() && active > 1,
                })
                .collect(),
            key_form: drawn.key.unwrap_or(KeyForm {
                live,
                ..KeyForm::default()
            }),
        },
    )
}

/// `?result=`: how the last action went.
#[derive(Debug, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    result: Option<String>,
}

/// `GET /console/settings`.
pub(crate) async fn show(
    State(console): State<Console>,
    Owner(member): Owner,
    Query(query): Query<ShowQuery>,
) -> Response {
    let flash = query
        .result
        .as_deref()
        .and_then(result_message)
        .map(|(tone, text)| Flash { tone, text });
    settings_page(
        &console,
        &member,
        Drawn {
            flash,
            ..Drawn::default()
        },
    )
    .await
}
