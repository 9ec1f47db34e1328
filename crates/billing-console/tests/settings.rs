//! The settings pages over HTTP (in process): API keys made (shown once), listed and revoked
//! (never the last), members added through their invitation link and removed, the payment
//! policy form; owners only, with the session's CSRF token, and one business's settings out
//! of every other's reach.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::automation::{
    CancellationFee, HoldRenewal, PaymentPolicy, PaymentSettings, Percent, Share,
};
use billing_core::money::{Currency, Money};
use billing_core::staff::{StaffMember, StaffRole};
use billing_core::testkit::PlainPasswords;
use chrono::Duration;
use common::*;

/// A form's fields, URL-encoded.
fn encoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            let value: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".to_owned(),
                    other => format!("%{other:02X}"),
                })
                .collect();
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The secret a secret page shows once.
fn secret(page: &Reply) -> String {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.field("secret", "secret")
}

/// The members of a business, by email.
async fn member(
    h: &Harness,
    business: &billing_core::customer::Business,
    email: &str,
) -> StaffMember {
    h.billing
        .staff(business)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email == email)
        .expect("the member")
}

/// Every settings route, with the form each takes (`None`: a page to read).
fn routes(member: &str, key: &str) -> Vec<(String, Option<String>)> {
    vec![
        ("/console/settings".to_owned(), None),
        (format!("/console/settings/staff/{member}/remove"), None),
        (format!("/console/settings/api-keys/{key}/revoke"), None),
        (
            "/console/settings/payments".to_owned(),
            Some("policy=charge_at_booking&hold_renewal=renew&hold_margin_hours=12".to_owned()),
        ),
        (
            "/console/settings/staff".to_owned(),
            Some("email=eve%40acme.example&name=Eve&role=owner".to_owned()),
        ),
        (
            format!("/console/settings/staff/{member}/invitation"),
            Some(String::new()),
        ),
        (
            format!("/console/settings/staff/{member}/remove"),
            Some(String::new()),
        ),
        (
            "/console/settings/api-keys".to_owned(),
            Some("label=Mine&kind=live".to_owned()),
        ),
        (
            format!("/console/settings/api-keys/{key}/revoke"),
            Some(String::new()),
        ),
    ]
}

#[tokio::test]
async fn an_owner_makes_a_key_shown_once_lists_and_revokes_it_but_never_the_last() {
    let h = Harness::new().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let page = h.get("/console/settings", Some(&owner)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("href=\"/console/settings\""),
        "in the menu"
    );
    assert!(page.text.contains("id=\"key-key_1\""), "{}", page.text);
    assert!(page.text.contains("Made before keys were listed"));
    assert!(
        !page
            .text
            .contains("/console/settings/api-keys/key_1/revoke"),
        "the only key offers no revoke"
    );
    let csrf = page.field("key-form", "csrf");

    let made = h
        .post(
            "/console/settings/api-keys",
            &encoded(&[
                ("csrf", &csrf),
                ("label", "Booking site <1>"),
                ("kind", "test"),
            ]),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    let key = secret(&made);
    assert!(key.starts_with("bk_test_") && key.len() == 72, "{key}");
    assert!(
        made.text.contains("will not be shown again"),
        "{}",
        made.text
    );
    assert_eq!(made.header("cache-control"), "no-store");
    assert_eq!(
        h.billing
            .business_for_api_key(&key)
            .await
            .unwrap()
            .map(|b| b.id),
        Some(h.acme.id.clone()),
        "the new key works"
    );

    let listed = h.get("/console/settings", Some(&owner)).await;
    assert!(
        listed.text.contains("Booking site &#60;1&#62;"),
        "{}",
        listed.text
    );
    assert!(listed.text.contains(&format!("bk_test_…{}", &key[68..])));
    assert!(!listed.text.contains(&key), "never shown again");
    assert!(
        listed
            .text
            .contains("/console/settings/api-keys/key_1/revoke")
    );
    let made_id = h
        .billing
        .api_keys(&h.acme)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.label == "Booking site <1>")
        .expect("listed")
        .id;

    // Asked first, then revoked: the key works no more.
    let path = format!("/console/settings/api-keys/{made_id}/revoke");
    let confirm = h.get(&path, Some(&owner)).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert!(confirm.text.contains("Booking site &#60;1&#62;"));
    let revoked = h
        .post(
            &path,
            &format!("csrf={}", confirm.field("confirm-form", "csrf")),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text);
    assert_eq!(
        revoked.header("location"),
        "/console/settings?result=key-revoked"
    );
    assert_eq!(h.billing.business_for_api_key(&key).await.unwrap(), None);
    let after = h
        .get("/console/settings?result=key-revoked", Some(&owner))
        .await;
    assert!(
        after.text.contains("The API key was revoked"),
        "{}",
        after.text
    );
    assert!(after.text.contains("Revoked "));

    // The harness's key is now the last that works: it stays.
    let last = h
        .post(
            "/console/settings/api-keys/key_1/revoke",
            &format!("csrf={csrf}"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(last.header("location"), "/console/settings?result=last-key");
    let keys = h.billing.api_keys(&h.acme).await.unwrap();
    assert!(
        keys.iter()
            .any(|k| k.id.as_str() == "key_1" && k.is_active())
    );
    let told = h
        .get("/console/settings?result=last-key", Some(&owner))
        .await;
    assert!(told.text.contains("cannot be revoked"), "{}", told.text);

    // A label it cannot have: the form again, a 400, no key made.
    let refused = h
        .post(
            "/console/settings/api-keys",
            &encoded(&[("csrf", &csrf), ("label", "   "), ("kind", "live")]),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("id=\"key-error\""));
    assert_eq!(h.billing.api_keys(&h.acme).await.unwrap().len(), keys.len());
}

#[tokio::test]
async fn an_owner_adds_a_member_whose_link_works_then_removes_them() {
    let h = Harness::new().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let page = h.get("/console/settings", Some(&owner)).await;
    let csrf = page.field("member-form", "csrf");
    let added = h
        .post(
            "/console/settings/staff",
            &encoded(&[
                ("csrf", &csrf),
                ("email", "Ada@Acme.example"),
                ("name", "Ada <Lovelace>"),
                ("role", "staff"),
            ]),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    let link = secret(&added);
    let token = link
        .strip_prefix("https://billing.example/console/invitations/")
        .unwrap_or_else(|| panic!("an invitation link: {link}"));
    assert!(added.text.contains("Ada &#60;Lovelace&#62;"));
    assert!(added.text.contains("shown only now"));
    // The same address again: refused, the form shown again as typed.
    let taken = h
        .post(
            "/console/settings/staff",
            &encoded(&[
                ("csrf", &csrf),
                ("email", "ada@acme.example"),
                ("name", "Another Ada"),
                ("role", "owner"),
            ]),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(taken.text.contains("id=\"member-error\""));
    assert!(taken.text.contains("value=\"Another Ada\""));

    // The link works: Ada sets a password and is signed in.
    let set = h
        .post(
            &format!("/console/invitations/{token}"),
            &format!("password={}", PASSWORD.replace(' ', "+")),
            None,
            SAME_SITE,
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text);
    let ada_session = set.session().expect("signed in");
    assert_eq!(
        h.get("/console/bookings", Some(&ada_session)).await.status,
        StatusCode::OK
    );
    let ada = member(&h, &h.acme, "ada@acme.example").await;
    assert_eq!(ada.role, StaffRole::Staff);

    // A new invitation for her: a new link, shown once.
    let again = h
        .post(
            &format!("/console/settings/staff/{}/invitation", ada.id),
            &format!("csrf={csrf}"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_ne!(secret(&again), link);

    // Removed, after a confirmation: her session ends, she cannot sign in, her name stays.
    let path = format!("/console/settings/staff/{}/remove", ada.id);
    let confirm = h.get(&path, Some(&owner)).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert!(confirm.text.contains("ada@acme.example"));
    let removed = h
        .post(&path, &format!("csrf={csrf}"), Some(&owner), SAME_SITE)
        .await;
    assert_eq!(
        removed.header("location"),
        "/console/settings?result=member-removed"
    );
    let gone = h.get("/console/bookings", Some(&ada_session)).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.header("location"), "/console/sign-in");
    let sign_in = h
        .post(
            "/console/sign-in",
            &format!(
                "email=ada%40acme.example&password={}",
                PASSWORD.replace(' ', "+")
            ),
            None,
            SAME_SITE,
        )
        .await;
    assert!(sign_in.session().is_none(), "{}", sign_in.text);
    assert!(
        h.billing
            .sign_in(&PlainPasswords, "ada@acme.example", PASSWORD)
            .await
            .is_err()
    );
    let listed = h
        .get("/console/settings?result=member-removed", Some(&owner))
        .await;
    assert!(listed.text.contains("The member was removed"));
    assert!(
        listed.text.contains("Ada &#60;Lovelace&#62;"),
        "still listed, by name"
    );
    assert!(listed.text.contains("Removed "));
    assert!(!member(&h, &h.acme, "ada@acme.example").await.is_active());
}

#[tokio::test]
async fn an_owner_cannot_remove_themselves() {
    let h = Harness::new().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let me = member(&h, &h.acme, "owner@acme.example").await;
    let page = h.get("/console/settings", Some(&owner)).await;
    assert!(
        !page
            .text
            .contains(&format!("/console/settings/staff/{}/remove", me.id))
    );
    let refused = h
        .post(
            &format!("/console/settings/staff/{}/remove", me.id),
            &format!("csrf={}", page.csrf()),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(refused.header("location"), "/console/settings?result=self");
    assert!(member(&h, &h.acme, "owner@acme.example").await.is_active());
    assert_eq!(
        h.get("/console/settings", Some(&owner)).await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn staff_get_403_on_every_settings_route_and_change_nothing() {
    let h = Harness::new().await;
    let owner_session = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let clerk = h.member(&h.acme, "clerk@acme.example").await;
    let owner = member(&h, &h.acme, "owner@acme.example").await;
    let page = h.get("/console/bookings", Some(&clerk)).await;
    assert!(
        !page.text.contains("href=\"/console/settings\""),
        "no menu entry"
    );
    let csrf = page.csrf();
    for (path, form) in routes(owner.id.as_str(), "key_1") {
        let reply = match &form {
            None => h.get(&path, Some(&clerk)).await,
            Some(fields) => {
                let fields = format!("csrf={csrf}&{fields}");
                h.post(&path, &fields, Some(&clerk), SAME_SITE).await
            }
        };
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} {form:?}");
        assert!(
            reply.text.contains("Only owners can change settings"),
            "{path}: {}",
            reply.text
        );
    }
    assert_eq!(
        h.billing.payment_settings(&h.acme).await.unwrap(),
        PaymentSettings::default()
    );
    assert_eq!(h.billing.api_keys(&h.acme).await.unwrap().len(), 1);
    assert!(h.billing.api_keys(&h.acme).await.unwrap()[0].is_active());
    assert_eq!(h.billing.staff(&h.acme).await.unwrap().len(), 2);
    assert!(member(&h, &h.acme, "owner@acme.example").await.is_active());
    assert_eq!(
        h.get("/console/settings", Some(&owner_session))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let h = Harness::new().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let clerk = h.member(&h.acme, "clerk@acme.example").await;
    let clerk_id = member(&h, &h.acme, "clerk@acme.example").await.id;
    for (path, form) in routes(clerk_id.as_str(), "key_1") {
        let Some(fields) = form else { continue };
        for csrf in [String::new(), format!("csrf={}&", "f".repeat(64))] {
            let reply = h
                .post(&path, &format!("{csrf}{fields}"), Some(&owner), SAME_SITE)
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} {csrf}");
        }
    }
    assert_eq!(
        h.billing.payment_settings(&h.acme).await.unwrap(),
        PaymentSettings::default()
    );
    assert_eq!(h.billing.api_keys(&h.acme).await.unwrap().len(), 1);
    assert_eq!(h.billing.staff(&h.acme).await.unwrap().len(), 2);
    assert_eq!(
        h.get("/console/bookings", Some(&clerk)).await.status,
        StatusCode::OK,
        "the clerk was not removed"
    );
}

#[tokio::test]
async fn another_business_sees_and_touches_nothing_of_acmes() {
    let h = Harness::new().await;
    let acme_owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let clerk = h.member(&h.acme, "clerk@acme.example").await;
    let clerk_id = member(&h, &h.acme, "clerk@acme.example").await.id;
    let made = {
        let page = h.get("/console/settings", Some(&acme_owner)).await;
        let reply = h
            .post(
                "/console/settings/api-keys",
                &encoded(&[
                    ("csrf", &page.csrf()),
                    ("label", "Acme booking site"),
                    ("kind", "live"),
                ]),
                Some(&acme_owner),
                SAME_SITE,
            )
            .await;
        secret(&reply)
    };
    let acme_key = h
        .billing
        .api_keys(&h.acme)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.label == "Acme booking site")
        .expect("made")
        .id;

    let boss = h
        .member_as(&h.globex, "boss@globex.example", StaffRole::Owner)
        .await;
    let theirs = h.get("/console/settings", Some(&boss)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    for acmes in [
        "owner@acme.example",
        "clerk@acme.example",
        "Acme booking site",
        acme_key.as_str(),
        clerk_id.as_str(),
    ] {
        assert!(!theirs.text.contains(acmes), "{acmes} on globex's page");
    }
    let csrf = theirs.csrf();
    for path in [
        format!("/console/settings/api-keys/{acme_key}/revoke"),
        format!("/console/settings/staff/{clerk_id}/remove"),
    ] {
        assert_eq!(
            h.get(&path, Some(&boss)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in [
        format!("/console/settings/api-keys/{acme_key}/revoke"),
        format!("/console/settings/staff/{clerk_id}/remove"),
        format!("/console/settings/staff/{clerk_id}/invitation"),
    ] {
        let reply = h
            .post(&path, &format!("csrf={csrf}"), Some(&boss), SAME_SITE)
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        h.billing
            .business_for_api_key(&made)
            .await
            .unwrap()
            .map(|b| b.id),
        Some(h.acme.id.clone()),
        "acme's key still works"
    );
    assert!(member(&h, &h.acme, "clerk@acme.example").await.is_active());
    assert_eq!(
        h.get("/console/bookings", Some(&clerk)).await.status,
        StatusCode::OK,
        "acme's clerk is still signed in"
    );
}

#[tokio::test]
async fn the_policy_form_saves_and_bad_input_changes_nothing() {
    let h = Harness::new().await;
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let page = h.get("/console/settings", Some(&owner)).await;
    assert!(
        page.text.contains("<option value=\"manual\" selected>"),
        "the default"
    );
    assert!(
        page.text.contains("id=\"stripe-account\">Not connected"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Stripe, in test mode"));
    assert!(
        page.text.contains("connects no accounts"),
        "without onboarding, no button"
    );
    let csrf = page.field("policy-form", "csrf");
    let form = |policy: &str, offset: &str| {
        encoded(&[
            ("csrf", &csrf),
            ("policy", policy),
            ("offset_hours", offset),
            ("deposit", "percent"),
            ("deposit_percent", "25"),
            ("deposit_amount", ""),
            ("deposit_currency", "USD"),
            ("hold_renewal", "tell_staff"),
            ("hold_margin_hours", "6"),
            ("fee", "fixed"),
            ("fee_percent", ""),
            ("fee_amount", "20.00"),
            ("fee_currency", "usd"),
            ("fee_window_hours", "24"),
            ("no_show", "percent"),
            ("no_show_percent", "50"),
            ("no_show_amount", ""),
            ("no_show_currency", "USD"),
            ("notice_hours", "1.5"),
        ])
    };
    let saved = h
        .post(
            "/console/settings/payments",
            &form("authorize_before_service", "48"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(
        saved.header("location"),
        "/console/settings?result=policy-saved"
    );
    let expected = PaymentSettings {
        policy: PaymentPolicy::AuthorizeBeforeService {
            lead: Duration::hours(48),
        },
        deposit: Some(Share::Percent(Percent::parse("25").unwrap())),
        hold_renewal: HoldRenewal::TellStaff,
        hold_margin: Duration::hours(6),
        cancellation_fee: Some(CancellationFee {
            fee: Share::Fixed(Money::from_minor(2_000, Currency::USD)),
            window: Duration::hours(24),
        }),
        no_show_fee: Some(Share::Percent(Percent::parse("50").unwrap())),
        upcoming_notice: Some(Duration::minutes(90)),
    };
    assert_eq!(h.billing.payment_settings(&h.acme).await.unwrap(), expected);
    let shown = h
        .get("/console/settings?result=policy-saved", Some(&owner))
        .await;
    assert!(shown.text.contains("The payment settings were saved"));
    assert!(
        shown
            .text
            .contains("<option value=\"authorize_before_service\" selected>")
    );
    assert_eq!(shown.field("policy-form", "offset_hours"), "48");
    assert_eq!(shown.field("policy-form", "notice_hours"), "1.5");
    assert_eq!(shown.field("policy-form", "fee_amount"), "20.00");
    assert_eq!(shown.field("policy-form", "no_show_percent"), "50");

    // Not a number of hours: the form again as typed, why, a 400; nothing changed.
    let bad = h
        .post(
            "/console/settings/payments",
            &form("charge_before_service", "soon"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("id=\"policy-error\""));
    assert!(bad.text.contains("a number of hours"), "{}", bad.text);
    assert_eq!(bad.field("policy-form", "offset_hours"), "soon");
    assert!(
        bad.text
            .contains("<option value=\"charge_before_service\" selected>")
    );
    // A hold placed too early (the core's rule, in its words).
    let early = h
        .post(
            "/console/settings/payments",
            &form("authorize_before_service", "200"),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert!(
        early.text.contains("would run out before it."),
        "{}",
        early.text
    );
    let unknown = h
        .post(
            "/console/settings/payments",
            &form("whenever", ""),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    // A no-show fee of no amount is refused with the form's words.
    let no_fee = form("manual", "").replace("no_show=percent", "no_show=fixed");
    let refused = h
        .post(
            "/console/settings/payments",
            &no_fee,
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text.contains("No-show fee: a currency")
            || refused.text.contains("No-show fee: an amount"),
        "{}",
        refused.text
    );
    assert_eq!(h.billing.payment_settings(&h.acme).await.unwrap(), expected);
}
