//! The console's people: invited, signing in, signed in for a while, signed out.

use super::*;
use crate::billing::{NewStaff, invitation_lifetime};
use crate::ports::{Businesses, StaffAccounts};
use crate::staff::{SessionLimits, StaffError, StaffRole};
use crate::testkit::PlainPasswords;

const PASSWORD: &str = "correct horse battery";

/// A world whose business is stored, as a signed-in member's must be.
async fn staffed() -> World {
    let w = world(ScriptedGateway::new(), &[]).await;
    w.store
        .create_business(
            &w.business,
            &crate::testkit::api_key_record("key_1"),
            "hash",
        )
        .await
        .expect("business");
    w
}

async fn invited(w: &World, email: &str) -> crate::billing::Invited {
    w.billing
        .add_staff(
            &w.business,
            NewStaff {
                email: email.into(),
                name: "Grace Hopper".into(),
                role: StaffRole::Staff,
            },
        )
        .await
        .expect("added")
}

#[tokio::test]
async fn a_member_is_invited_sets_a_password_once_and_signs_in() {
    let w = staffed().await;
    let invited = invited(&w, " Grace@Acme.Example ").await;
    assert_eq!(invited.member.email, "grace@acme.example");
    assert_eq!(invited.member.password_hash, None);
    // No password yet: signing in is refused like a wrong one.
    assert!(matches!(
        w.billing
            .sign_in(&PlainPasswords, "grace@acme.example", PASSWORD)
            .await,
        Err(BillingError::SignInRefused)
    ));
    // Too short: refused before the invitation is used, which still works.
    assert!(matches!(
        w.billing
            .accept_invitation(&PlainPasswords, invited.token.expose(), "short")
            .await,
        Err(BillingError::InvalidStaff(StaffError::Password))
    ));
    let signed_in = w
        .billing
        .accept_invitation(&PlainPasswords, invited.token.expose(), PASSWORD)
        .await
        .expect("accepted");
    assert_eq!(signed_in.member.id, invited.member.id);
    assert_eq!(signed_in.business.id, w.business.id);
    assert!(matches!(
        w.billing
            .accept_invitation(&PlainPasswords, invited.token.expose(), PASSWORD)
            .await,
        Err(BillingError::InvitationUnavailable)
    ));
    let again = w
        .billing
        .sign_in(&PlainPasswords, "GRACE@acme.example", PASSWORD)
        .await
        .expect("signed in");
    assert_ne!(again.token, signed_in.token, "a new session each time");
    for (email, password) in [
        ("grace@acme.example", "wrong password here"),
        ("nobody@acme.example", PASSWORD),
        ("not an address", PASSWORD),
    ] {
        assert!(
            matches!(
                w.billing.sign_in(&PlainPasswords, email, password).await,
                Err(BillingError::SignInRefused)
            ),
            "{email}"
        );
    }
    // The address signs in to one business only.
    assert!(matches!(
        w.billing
            .add_staff(
                &w.business,
                NewStaff {
                    email: "grace@acme.example".into(),
                    name: "Another".into(),
                    role: StaffRole::Owner,
                },
            )
            .await,
        Err(BillingError::StaffEmailTaken(_))
    ));
}

#[tokio::test]
async fn sessions_end_when_idle_when_old_and_when_signed_out() {
    let w = staffed().await;
    let invited = invited(&w, "grace@acme.example").await;
    let limits = SessionLimits::default();
    let signed_in = w
        .billing
        .accept_invitation(&PlainPasswords, invited.token.expose(), PASSWORD)
        .await
        .expect("accepted");
    let token = signed_in.token.expose().to_owned();
    let visit = w
        .billing
        .staff_visit(&token, limits)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(visit.member.email, "grace@acme.example");
    // Used every hour and a half: alive until its twelve hours are up.
    for _ in 0..7 {
        w.clock.advance(Duration::minutes(90));
        assert!(
            w.billing
                .staff_visit(&token, limits)
                .await
                .expect("read")
                .is_some()
        );
    }
    w.clock.advance(Duration::minutes(90));
    assert_eq!(
        w.billing.staff_visit(&token, limits).await.expect("read"),
        None,
        "twelve hours after signing in"
    );
    // Idle for two hours.
    let fresh = w
        .billing
        .sign_in(&PlainPasswords, "grace@acme.example", PASSWORD)
        .await
        .expect("signed in");
    w.clock.advance(Duration::hours(2));
    assert_eq!(
        w.billing
            .staff_visit(fresh.token.expose(), limits)
            .await
            .expect("read"),
        None
    );
    // Signed out.
    let last = w
        .billing
        .sign_in(&PlainPasswords, "grace@acme.example", PASSWORD)
        .await
        .expect("signed in");
    w.billing.sign_out(last.token.expose()).await.expect("out");
    assert_eq!(
        w.billing
            .staff_visit(last.token.expose(), limits)
            .await
            .expect("read"),
        None
    );
    for junk in ["", "not a token"] {
        assert_eq!(
            w.billing.staff_visit(junk, limits).await.expect("read"),
            None
        );
        w.billing.sign_out(junk).await.expect("nothing to end");
    }
}

#[tokio::test]
async fn a_new_invitation_replaces_the_last_and_ends_the_members_sessions_once_used() {
    let w = staffed().await;
    let first = invited(&w, "grace@acme.example").await;
    let signed_in = w
        .billing
        .accept_invitation(&PlainPasswords, first.token.expose(), PASSWORD)
        .await
        .expect("accepted");
    let again = w
        .billing
        .invite_again(&w.business, &first.member.id)
        .await
        .expect("invited");
    w.billing
        .accept_invitation(
            &PlainPasswords,
            again.token.expose(),
            "a brand new password",
        )
        .await
        .expect("accepted");
    assert_eq!(
        w.billing
            .staff_visit(signed_in.token.expose(), SessionLimits::default())
            .await
            .expect("read"),
        None,
        "a new password ends the other sessions"
    );
    // An invitation runs out.
    let late = w
        .billing
        .invite_again(&w.business, &first.member.id)
        .await
        .expect("invited");
    w.clock.advance(invitation_lifetime());
    assert!(matches!(
        w.billing
            .accept_invitation(&PlainPasswords, late.token.expose(), PASSWORD)
            .await,
        Err(BillingError::InvitationUnavailable)
    ));
    let listed = w.billing.staff(&w.business).await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert!(
        w.store
            .staff_member(&w.business.id, &first.member.id)
            .await
            .expect("read")
            .and_then(|m| m.password_hash)
            .is_some_and(|h| h == "plain:a brand new password")
    );
}
