//! Connecting Stripe from the settings (in process): owners only, with the session's CSRF
//! token; **Connect Stripe** shows a fresh onboarding link, the return reads the account again,
//! the refresh goes straight to a new link, the page shows what Stripe still needs, and one
//! business sees nothing of another's account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use billing_console::{Console, ConsoleConfig, routes};
use billing_core::staff::{SessionLimits, StaffRole};
use billing_core::testkit::{FixedClock, PlainPasswords, ScriptedOnboarding};
use common::*;

/// The harness with Stripe's onboarding (scripted, as strict as Stripe's).
async fn connectable() -> (Harness, ScriptedOnboarding) {
    let mut h = Harness::new().await;
    let onboarding = ScriptedOnboarding::new(Arc::new(FixedClock::default()));
    h.billing = h
        .billing
        .clone()
        .with_onboarding(Arc::new(onboarding.clone()));
    h.app = routes(Console::new(
        h.billing.clone(),
        Arc::new(PlainPasswords),
        ConsoleConfig {
            public_url: "https://billing.example".into(),
            sessions: SessionLimits::default(),
            stripe_dashboard: Some(billing_console::StripeDashboard { test_mode: true }),
        },
    ));
    (h, onboarding)
}

#[tokio::test]
async fn an_owner_connects_stripe_and_sees_what_it_needs() {
    let (h, onboarding) = connectable().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let settings = h.get("/console/settings", Some(&owner)).await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text);
    assert!(
        settings.text.contains("id=\"stripe-connect\""),
        "{}",
        settings.text
    );
    assert!(settings.text.contains(">Connect Stripe</button>"));
    assert!(!settings.text.contains("id=\"stripe-standing\""));
    let csrf = settings.csrf();

    let refused = h
        .post(
            "/console/settings/stripe/connect",
            "csrf=nope",
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(onboarding.made().is_empty(), "nothing made on a bad token");

    let started = h
        .post(
            "/console/settings/stripe/connect",
            &format!("csrf={csrf}"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let account = onboarding.made()[0].account.clone();
    let link = format!("https://connect.example/onboarding/{account}/1");
    assert!(
        started.text.contains(&format!(
            "id=\"onboarding-link\" class=\"button\" href=\"{link}\""
        )),
        "{}",
        started.text
    );
    let (_, back) = &onboarding.links()[0];
    assert_eq!(
        back.return_url,
        "https://billing.example/console/settings/stripe/return"
    );
    assert_eq!(
        back.refresh_url,
        "https://billing.example/console/settings/stripe/refresh"
    );

    let settings = h.get("/console/settings", Some(&owner)).await;
    assert!(
        settings
            .text
            .contains("id=\"stripe-standing\" class=\"standing error\""),
        "{}",
        settings.text
    );
    assert!(settings.text.contains("Onboarding not finished"));
    assert!(
        settings
            .text
            .contains("<li><code>external_account</code></li>")
    );
    assert!(settings.text.contains(">Continue onboarding</button>"));
    assert!(
        settings.text.contains(&format!("<code>{account}</code>")),
        "the account is named"
    );

    // Back from Stripe before finishing: still refused, and said so.
    let back_early = h.get("/console/settings/stripe/return", Some(&owner)).await;
    assert_eq!(back_early.status, StatusCode::SEE_OTHER);
    assert_eq!(
        back_early.header("location"),
        "/console/settings?result=stripe-incomplete"
    );

    // A link that ran out: straight to a fresh one.
    let refreshed = h
        .get("/console/settings/stripe/refresh", Some(&owner))
        .await;
    assert_eq!(refreshed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refreshed.header("location"),
        format!("https://connect.example/onboarding/{account}/2")
    );
    assert_eq!(onboarding.made().len(), 1, "one account");

    onboarding.complete(&account).unwrap();
    let done = h.get("/console/settings/stripe/return", Some(&owner)).await;
    assert_eq!(
        done.header("location"),
        "/console/settings?result=stripe-ready"
    );
    let settings = h
        .get("/console/settings?result=stripe-ready", Some(&owner))
        .await;
    assert!(settings.text.contains("Your Stripe account is connected"));
    assert!(
        settings
            .text
            .contains("id=\"stripe-standing\" class=\"standing success\"")
    );
    assert!(settings.text.contains("id=\"stripe-charges\">Enabled<"));
    assert!(
        !settings.text.contains("id=\"stripe-connect\""),
        "nothing left to do"
    );
    assert!(!settings.text.contains("id=\"stripe-due\""));
}

#[tokio::test]
async fn staff_cannot_connect_and_businesses_stay_apart() {
    let (h, onboarding) = connectable().await;
    let staff = h.member(&h.acme, "staff@acme.example").await;
    let page = h.get("/console/settings", Some(&staff)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let csrf = h.get("/console/bookings", Some(&staff)).await.csrf();
    for (path, form) in [("/console/settings/stripe/connect", format!("csrf={csrf}"))] {
        let refused = h.post(path, &form, Some(&staff), SAME_SITE).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    for path in [
        "/console/settings/stripe/return",
        "/console/settings/stripe/refresh",
    ] {
        assert_eq!(
            h.get(path, Some(&staff)).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let anonymous = h.get(path, None).await;
        assert_eq!(
            anonymous.status,
            StatusCode::SEE_OTHER,
            "{path}: to sign in"
        );
    }
    assert!(onboarding.made().is_empty());

    let acme_owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let csrf = h.get("/console/settings", Some(&acme_owner)).await.csrf();
    h.post(
        "/console/settings/stripe/connect",
        &format!("csrf={csrf}"),
        Some(&acme_owner),
        SAME_SITE,
    )
    .await;
    let acme_account = onboarding.made()[0].account.clone();
    let globex_owner = h
        .member_as(&h.globex, "owner@globex.example", StaffRole::Owner)
        .await;
    let globex = h.get("/console/settings", Some(&globex_owner)).await;
    assert!(!globex.text.contains(&acme_account), "{}", globex.text);
    assert!(!globex.text.contains("id=\"stripe-standing\""));
    assert!(globex.text.contains(">Connect Stripe</button>"));
    let back = h
        .get("/console/settings/stripe/return", Some(&globex_owner))
        .await;
    assert_eq!(
        back.header("location"),
        "/console/settings?result=stripe-not-started"
    );
}

#[tokio::test]
async fn without_onboarding_the_settings_offer_no_button() {
    let h = Harness::new().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let settings = h.get("/console/settings", Some(&owner)).await;
    assert!(!settings.text.contains("id=\"stripe-connect\""));
    assert!(settings.text.contains("connects no accounts"));
    let csrf = settings.csrf();
    let refused = h
        .post(
            "/console/settings/stripe/connect",
            &format!("csrf={csrf}"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refused.header("location"),
        "/console/settings?result=stripe-unavailable"
    );
}
