//! What an owner changes in the console's settings: API keys made, listed and revoked (never
//! the last), members removed (never themselves, never the last owner), and the sessions and
//! invitations that no longer work purged.

use super::*;
use crate::billing::{NewApiKey, NewBusiness, NewStaff, SignedIn, invitation_lifetime};
use crate::ports::{StaffAccounts, StaffPurge};
use crate::staff::{SessionLimits, StaffRole};
use crate::testkit::PlainPasswords;

const PASSWORD: &str = "correct horse battery";

/// A world whose business was made by the engine, with its first key: the key's text.
async fn with_business() -> (World, Business, String) {
    let w = world(ScriptedGateway::new(), &[]).await;
    let issued = w
        .billing
        .create_business(NewBusiness {
            name: "Acme Cleaning".into(),
            id: Some(w.business.id.clone()),
            gateway_account: None,
            email: None,
            live: true,
        })
        .await
        .expect("created");
    let key = issued.key.expose().to_owned();
    (w, issued.business, key)
}

/// A member of `business` in `role`, signed in.
async fn signed_in(w: &World, business: &Business, email: &str, role: StaffRole) -> SignedIn {
    let invited = w
        .billing
        .add_staff(
            business,
            NewStaff {
                email: email.into(),
                name: format!("Member {email}"),
                role,
            },
        )
        .await
        .expect("added");
    w.billing
        .accept_invitation(&PlainPasswords, invited.token.expose(), PASSWORD)
        .await
        .expect("accepted")
}

#[tokio::test]
async fn keys_are_made_listed_and_revoked_but_never_the_last() {
    let (w, acme, first) = with_business().await;
    let listed = w.billing.api_keys(&acme).await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label, "API key");
    assert_eq!(
        listed[0].hint.as_deref(),
        Some(format!("bk_live_…{}", &first[first.len() - 4..]).as_str())
    );
    assert!(matches!(
        w.billing.revoke_api_key(&acme, &listed[0].id).await,
        Err(BillingError::LastApiKey)
    ));
    for refused in ["", "  ", &"x".repeat(101)] {
        assert!(matches!(
            w.billing
                .create_api_key(
                    &acme,
                    NewApiKey {
                        label: refused.to_owned(),
                        live: false
                    }
                )
                .await,
            Err(BillingError::InvalidInput(_))
        ));
    }
    assert_eq!(w.billing.api_keys(&acme).await.expect("listed").len(), 1);
    w.clock.advance(Duration::minutes(5));
    let made = w
        .billing
        .create_api_key(
            &acme,
            NewApiKey {
                label: "  Booking site ".into(),
                live: false,
            },
        )
        .await
        .expect("made");
    let second = made.key.expose().to_owned();
    assert!(second.starts_with("bk_test_"));
    assert_eq!(made.record.label, "Booking site");
    assert_eq!(made.record.created_at, w.billing.now());
    assert_eq!(
        w.billing
            .business_for_api_key(&second)
            .await
            .expect("read")
            .map(|b| b.id),
        Some(acme.id.clone())
    );
    let revoked = w
        .billing
        .revoke_api_key(&acme, &listed[0].id)
        .await
        .expect("revoked");
    assert_eq!(revoked.revoked_at, Some(w.billing.now()));
    assert_eq!(
        w.billing.business_for_api_key(&first).await.expect("read"),
        None,
        "a revoked key authenticates nothing"
    );
    assert!(matches!(
        w.billing.revoke_api_key(&acme, &made.record.id).await,
        Err(BillingError::LastApiKey)
    ));
    assert!(matches!(
        w.billing
            .revoke_api_key(&acme, &"key_nope".parse().expect("id"))
            .await,
        Err(BillingError::ApiKeyNotFound(_))
    ));
    let labels: Vec<(String, bool)> = w
        .billing
        .api_keys(&acme)
        .await
        .expect("listed")
        .into_iter()
        .map(|k| (k.label.clone(), k.is_active()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("API key".to_owned(), false),
            ("Booking site".to_owned(), true)
        ]
    );
}

#[tokio::test]
async fn a_removed_member_cannot_sign_in_and_keeps_their_name() {
    let (w, acme, _) = with_business().await;
    let owner = signed_in(&w, &acme, "owner@acme.example", StaffRole::Owner).await;
    let clerk = signed_in(&w, &acme, "clerk@acme.example", StaffRole::Staff).await;
    let limits = SessionLimits::default();
    let removed = w
        .billing
        .remove_staff(&acme, &owner.member.id, &clerk.member.id)
        .await
        .expect("removed");
    assert_eq!(removed.removed_at, Some(w.billing.now()));
    assert_eq!(
        w.billing
            .staff_visit(clerk.token.expose(), limits)
            .await
            .expect("read"),
        None,
        "their session ended"
    );
    assert!(matches!(
        w.billing
            .sign_in(&PlainPasswords, "clerk@acme.example", PASSWORD)
            .await,
        Err(BillingError::SignInRefused)
    ));
    assert!(matches!(
        w.billing.invite_again(&acme, &clerk.member.id).await,
        Err(BillingError::StaffRemoved(_))
    ));
    let listed = w.billing.staff(&acme).await.expect("listed");
    assert!(
        listed
            .iter()
            .any(|m| m.id == clerk.member.id && m.name == "Member clerk@acme.example"),
        "listed with their name, for the payment history"
    );
    assert!(
        w.billing
            .staff_visit(owner.token.expose(), limits)
            .await
            .expect("read")
            .is_some(),
        "the owner's session goes on"
    );
}

#[tokio::test]
async fn an_owner_cannot_remove_themselves_nor_the_last_owner_be_removed() {
    let (w, acme, _) = with_business().await;
    let first = signed_in(&w, &acme, "first@acme.example", StaffRole::Owner).await;
    let second = signed_in(&w, &acme, "second@acme.example", StaffRole::Owner).await;
    assert!(matches!(
        w.billing
            .remove_staff(&acme, &first.member.id, &first.member.id)
            .await,
        Err(BillingError::CannotRemoveSelf)
    ));
    w.billing
        .remove_staff(&acme, &first.member.id, &second.member.id)
        .await
        .expect("removed");
    // Someone else's hand (a second owner's, before the removal was seen): the last owner
    // stays.
    assert!(matches!(
        w.billing
            .remove_staff(&acme, &second.member.id, &first.member.id)
            .await,
        Err(BillingError::LastOwner)
    ));
    assert!(matches!(
        w.billing
            .remove_staff(&acme, &first.member.id, &"stf_nobody".parse().expect("id"))
            .await,
        Err(BillingError::StaffNotFound(_))
    ));
    assert!(
        w.billing
            .staff_member(&acme, &first.member.id)
            .await
            .expect("read")
            .is_active()
    );
}

#[tokio::test]
async fn sessions_and_invitations_that_no_longer_work_are_purged() {
    let (w, acme, _) = with_business().await;
    let limits = SessionLimits::default();
    let early = signed_in(&w, &acme, "early@acme.example", StaffRole::Owner).await;
    w.billing
        .add_staff(
            &acme,
            NewStaff {
                email: "later@acme.example".into(),
                name: "Later".into(),
                role: StaffRole::Staff,
            },
        )
        .await
        .expect("invited");
    assert_eq!(
        w.billing.purge_staff_tokens(limits).await.expect("purged"),
        StaffPurge::default(),
        "everything still works"
    );
    w.clock.advance(limits.idle);
    let fresh = w
        .billing
        .sign_in(&PlainPasswords, "early@acme.example", PASSWORD)
        .await
        .expect("signed in");
    assert_eq!(
        w.billing.purge_staff_tokens(limits).await.expect("purged"),
        StaffPurge {
            sessions: 1,
            invitations: 0
        },
        "the idle session"
    );
    w.clock.advance(invitation_lifetime());
    assert_eq!(
        w.billing.purge_staff_tokens(limits).await.expect("purged"),
        StaffPurge {
            sessions: 1,
            invitations: 1
        },
        "the fresh session went idle, the invitation ran out"
    );
    for token in [early.token.expose(), fresh.token.expose()] {
        assert_eq!(
            w.store
                .staff_session(&crate::link::LinkToken::parse(token).expect("token").hash())
                .await
                .expect("read"),
            None
        );
    }
}
