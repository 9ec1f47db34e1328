//! Connecting the business's Stripe account from the settings: **Connect Stripe** (or
//! **Continue onboarding**) makes a fresh link to Stripe's onboarding and shows it; Stripe
//! sends the owner back to `/console/settings/stripe/return` (the account is read again) or,
//! when the link was used or ran out, to `/console/settings/stripe/refresh` (a fresh link,
//! straight to Stripe). The form posts here and answers a page with the link rather than a
//! redirect: the console's CSP lets forms lead to this origin only.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use billing_core::billing::Onboarding;
use billing_core::connect::{AccountStanding, ConnectedAccount, OnboardingReturn};
use billing_core::customer::Business;
use billing_core::error::BillingError;

use super::{CsrfOnly, Owner, done, when};
use crate::Console;
use crate::pages::{failed, forbidden, header_of};
use crate::views::{Header, page};

/// The connected account, as the settings show it.
#[derive(Debug)]
pub(crate) struct ConnectionView {
    /// Where it stands, in words.
    pub(crate) standing: &'static str,
    /// `success` or `error`: the standing's colour.
    pub(crate) tone: &'static str,
    pub(crate) charges: &'static str,
    pub(crate) payouts: &'static str,
    /// What Stripe still asks for, and what is late.
    pub(crate) due: Vec<String>,
    pub(crate) past_due: Vec<String>,
    pub(crate) disabled_reason: Option<String>,
    /// When Stripe said so.
    pub(crate) as_of: String,
}

impl ConnectionView {
    pub(crate) fn of(account: &ConnectedAccount) -> ConnectionView {
        let state = &account.state;
        let (standing, tone) = match account.standing() {
            AccountStanding::OnboardingIncomplete => (
                "Onboarding not finished: card payments are refused until Stripe has what it needs.",
                "error",
            ),
            AccountStanding::Restricted => (
                "Restricted by Stripe: card payments are refused until what is due is provided.",
                "error",
            ),
            AccountStanding::DetailsDue => (
                "Taking card payments. Stripe asks for more details: provide them before the deadline.",
                "success",
            ),
            AccountStanding::Ready => ("Ready: taking card payments.", "success"),
        };
        let yes_no = |on: bool| if on { "Enabled" } else { "Not enabled yet" };
        ConnectionView {
            standing,
            tone,
            charges: yes_no(state.charges_enabled),
            payouts: yes_no(state.payouts_enabled),
            due: state.requirements_due.clone(),
            past_due: state.requirements_past_due.clone(),
            disabled_reason: state.disabled_reason.clone(),
            as_of: when(account.as_of),
        }
    }
}

/// The button of the Stripe section, if any: none once nothing is due, or without a gateway
/// that connects accounts.
pub(crate) fn connect_button(
    connects: bool,
    connection: Option<&ConnectedAccount>,
) -> Option<&'static str> {
    if !connects {
        return None;
    }
    match connection.map(ConnectedAccount::standing) {
        None => Some("Connect Stripe"),
        Some(AccountStanding::Ready) => None,
        Some(AccountStanding::DetailsDue) => Some("Provide the details due"),
        Some(_) => Some("Continue onboarding"),
    }
}

/// Where Stripe sends the owner back, on this service's public address.
fn back(console: &Console) -> OnboardingReturn {
    let base = console.config.public_url.trim_end_matches('/');
    OnboardingReturn {
        return_url: format!("{base}/console/settings/stripe/return"),
        refresh_url: format!("{base}/console/settings/stripe/refresh"),
    }
}

/// The page with the link to Stripe's onboarding.
#[derive(Debug, Template)]
#[template(path = "settings_stripe.html")]
pub(crate) struct OnboardingPage {
    pub(crate) header: Option<Header>,
    pub(crate) url: String,
    pub(crate) expires: String,
}

async fn start(console: &Console, business: &Business) -> Result<Onboarding, Response> {
    match console
        .billing
        .start_onboarding(business, &back(console))
        .await
    {
        Ok(started) => Ok(started),
        Err(BillingError::OnboardingUnavailable) => Err(done("stripe-unavailable")),
        Err(BillingError::Gateway { error, .. }) => {
            tracing::warn!(%error, "Stripe's onboarding could not be started");
            Err(done("stripe-failed"))
        }
        Err(error) => {
            tracing::error!(%error, "Stripe's onboarding could not be started");
            Err(failed())
        }
    }
}

/// `POST /console/settings/stripe/connect`: a fresh link to Stripe's onboarding, shown.
pub(crate) async fn connect(
    State(console): State<Console>,
    Owner(member): Owner,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let started = match start(&console, &member.visit.business).await {
        Ok(started) => started,
        Err(answer) => return answer,
    };
    tracing::info!(
        staff = %member.visit.member.id,
        account = %started.account.id(),
        "Stripe onboarding started in the console"
    );
    page(
        StatusCode::OK,
        &OnboardingPage {
            header: Some(header_of(&member)),
            url: started.link.url,
            expires: when(started.link.expires_at),
        },
    )
}

/// `GET /console/settings/stripe/refresh`: Stripe's link was used or ran out; a fresh one,
/// straight to Stripe (a navigation, not a form: the CSP lets it leave).
pub(crate) async fn refresh(State(console): State<Console>, Owner(member): Owner) -> Response {
    match start(&console, &member.visit.business).await {
        Ok(started) => Redirect::to(&started.link.url).into_response(),
        Err(answer) => answer,
    }
}

/// `GET /console/settings/stripe/return`: the owner is back from Stripe; the account is read
/// again.
pub(crate) async fn returned(State(console): State<Console>, Owner(member): Owner) -> Response {
    match console
        .billing
        .onboarding_returned(&member.visit.business)
        .await
    {
        Ok(account) if account.can_charge() => done("stripe-ready"),
        Ok(_) => done("stripe-incomplete"),
        Err(BillingError::AccountNotConnected) => done("stripe-not-started"),
        Err(BillingError::OnboardingUnavailable) => done("stripe-unavailable"),
        Err(BillingError::Gateway { error, .. }) => {
            tracing::warn!(%error, "the connected account could not be read");
            done("stripe-failed")
        }
        Err(error) => {
            tracing::error!(%error, "the connected account could not be read");
            failed()
        }
    }
}
