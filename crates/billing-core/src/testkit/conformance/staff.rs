//! The console's people: members by email and by id, per business; invitations used once;
//! sessions kept, touched and ended; members removed (never the last owner); sessions and
//! invitations that no longer work purged.

use super::{StoreFixture, at, id};
use crate::ids::{BusinessId, StaffId};
use crate::link::{LinkToken, TokenHash};
use crate::ports::{StaffPurge, StaffRemoval, StaffStoreError};
use crate::staff::{StaffMember, StaffRole, StaffSession};

fn hash(seed: u8) -> TokenHash {
    LinkToken::from_random([seed; 32]).hash()
}

fn member(staff: &str, email: &str, role: StaffRole) -> StaffMember {
    StaffMember {
        id: id(staff),
        email: email.into(),
        name: format!("Name of {staff} <&>"),
        role,
        password_hash: None,
        created_at: at(0),
        removed_at: None,
    }
}

/// Members are read back as stored, by id within their business and by email across
/// businesses; an email belongs to one member of one business; a password hash is set on a
/// member of the business only.
pub async fn staff_members_round_trip<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    let owner = member("stf_1", "owner@acme.example", StaffRole::Owner);
    let clerk = member("stf_2", "clerk@acme.example", StaffRole::Staff);
    let other = member("stf_3", "boss@globex.example", StaffRole::Owner);
    store.add_staff(&acme, &owner).await.expect("added");
    store.add_staff(&acme, &clerk).await.expect("added");
    store.add_staff(&globex, &other).await.expect("added");
    let taken = store
        .add_staff(
            &globex,
            &member("stf_4", "clerk@acme.example", StaffRole::Staff),
        )
        .await;
    assert_eq!(
        taken,
        Err(StaffStoreError::EmailTaken("clerk@acme.example".into()))
    );
    assert_eq!(
        store.staff_member(&acme, &owner.id).await.expect("read"),
        Some(owner.clone())
    );
    assert_eq!(
        store.staff_member(&globex, &owner.id).await.expect("read"),
        None,
        "another business does not see it"
    );
    assert_eq!(
        store.staff_member(&acme, &id("stf_4")).await.expect("read"),
        None,
        "the refused member was not written"
    );
    assert_eq!(
        store
            .staff_by_email("boss@globex.example")
            .await
            .expect("read"),
        Some((globex.clone(), other.clone()))
    );
    assert_eq!(
        store
            .staff_by_email("nobody@x.example")
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store.list_staff(&acme).await.expect("listed"),
        vec![clerk.clone(), owner.clone()],
        "by email"
    );
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    assert!(
        !store
            .set_password_hash(&globex, &clerk.id, phc)
            .await
            .expect("set")
    );
    assert!(
        store
            .set_password_hash(&acme, &clerk.id, phc)
            .await
            .expect("set")
    );
    assert_eq!(
        store
            .staff_member(&acme, &clerk.id)
            .await
            .expect("read")
            .and_then(|m| m.password_hash),
        Some(phc.to_owned())
    );
}

/// An invitation works once, until it expires; a new one replaces the member's earlier one.
pub async fn invitations_work_once<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let staff: StaffId = id("stf_1");
    store
        .add_staff(&acme, &member("stf_1", "a@acme.example", StaffRole::Staff))
        .await
        .expect("added");
    store
        .put_invitation(&acme, &staff, &hash(1), at(100))
        .await
        .expect("kept");
    // A second invitation: the first no longer works.
    store
        .put_invitation(&acme, &staff, &hash(2), at(100))
        .await
        .expect("kept");
    assert_eq!(
        store.take_invitation(&hash(1), at(10)).await.expect("read"),
        None
    );
    assert_eq!(
        store.take_invitation(&hash(2), at(10)).await.expect("used"),
        Some((acme.clone(), staff.clone()))
    );
    assert_eq!(
        store.take_invitation(&hash(2), at(11)).await.expect("read"),
        None,
        "used once"
    );
    store
        .put_invitation(&acme, &staff, &hash(3), at(100))
        .await
        .expect("kept");
    assert_eq!(
        store
            .take_invitation(&hash(3), at(100))
            .await
            .expect("read"),
        None,
        "expired"
    );
    assert_eq!(
        store.take_invitation(&hash(3), at(50)).await.expect("read"),
        None,
        "an expired invitation is gone"
    );
}

/// Sessions are kept under their hash, touched forward only, and ended one by one or all of a
/// member's at once.
pub async fn sessions_are_kept_touched_and_ended<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let session = |staff: &str| StaffSession {
        business: acme.clone(),
        staff: id(staff),
        created_at: at(0),
        last_seen_at: at(0),
    };
    for (seed, staff) in [(1, "stf_1"), (2, "stf_1"), (3, "stf_2")] {
        store
            .create_session(&hash(seed), &session(staff))
            .await
            .expect("kept");
    }
    assert_eq!(
        store.staff_session(&hash(1)).await.expect("read"),
        Some(session("stf_1"))
    );
    store
        .touch_session(&hash(1), at(60))
        .await
        .expect("touched");
    store
        .touch_session(&hash(1), at(30))
        .await
        .expect("touched");
    assert_eq!(
        store
            .staff_session(&hash(1))
            .await
            .expect("read")
            .map(|s| s.last_seen_at),
        Some(at(60)),
        "never moved back"
    );
    store.end_session(&hash(1)).await.expect("ended");
    store
        .end_session(&hash(1))
        .await
        .expect("ending twice is fine");
    assert_eq!(store.staff_session(&hash(1)).await.expect("read"), None);
    store
        .end_sessions_of(&acme, &id("stf_1"))
        .await
        .expect("ended");
    assert_eq!(store.staff_session(&hash(2)).await.expect("read"), None);
    assert_eq!(
        store.staff_session(&hash(3)).await.expect("read"),
        Some(session("stf_2")),
        "another member's session stays"
    );
    assert_eq!(store.staff_session(&hash(9)).await.expect("read"), None);
}

fn session_of(business: &BusinessId, staff: &str, made: i64, seen: i64) -> StaffSession {
    StaffSession {
        business: business.clone(),
        staff: id(staff),
        created_at: at(made),
        last_seen_at: at(seen),
    }
}

/// A removed member stays (with their name, for the payment history) and is marked removed;
/// their sessions and invitation end with them; removing them again changes nothing; the last
/// owner is never removed; another business cannot remove them.
pub async fn staff_are_removed_but_keep_their_name<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (acme, globex): (BusinessId, BusinessId) = (id("acme"), id("globex"));
    let first = member("stf_1", "first@acme.example", StaffRole::Owner);
    let second = member("stf_2", "second@acme.example", StaffRole::Owner);
    let clerk = member("stf_3", "clerk@acme.example", StaffRole::Staff);
    for m in [&first, &second, &clerk] {
        store.add_staff(&acme, m).await.expect("added");
    }
    store
        .create_session(&hash(1), &session_of(&acme, "stf_3", 0, 0))
        .await
        .expect("kept");
    store
        .create_session(&hash(2), &session_of(&acme, "stf_1", 0, 0))
        .await
        .expect("kept");
    store
        .put_invitation(&acme, &clerk.id, &hash(3), at(1000))
        .await
        .expect("kept");
    assert_eq!(
        store
            .remove_staff(&globex, &clerk.id, at(50))
            .await
            .expect("read"),
        StaffRemoval::NotFound,
        "another business's member"
    );
    assert_eq!(
        store.staff_session(&hash(1)).await.expect("read"),
        Some(session_of(&acme, "stf_3", 0, 0)),
        "nothing written"
    );
    let removed = StaffMember {
        removed_at: Some(at(50)),
        ..clerk.clone()
    };
    assert_eq!(
        store
            .remove_staff(&acme, &clerk.id, at(50))
            .await
            .expect("removed"),
        StaffRemoval::Removed(removed.clone())
    );
    assert_eq!(store.staff_session(&hash(1)).await.expect("read"), None);
    assert!(
        store.staff_session(&hash(2)).await.expect("read").is_some(),
        "another member's session stays"
    );
    assert_eq!(
        store.take_invitation(&hash(3), at(60)).await.expect("read"),
        None,
        "their invitation is gone"
    );
    assert_eq!(
        store.staff_member(&acme, &clerk.id).await.expect("read"),
        Some(removed.clone()),
        "kept, with their name"
    );
    assert_eq!(
        store
            .staff_by_email("clerk@acme.example")
            .await
            .expect("read"),
        Some((acme.clone(), removed.clone()))
    );
    assert_eq!(
        store
            .remove_staff(&acme, &clerk.id, at(70))
            .await
            .expect("read"),
        StaffRemoval::Removed(removed.clone()),
        "removed once: the first time stays"
    );
    assert!(matches!(
        store.remove_staff(&acme, &first.id, at(80)).await,
        Ok(StaffRemoval::Removed(m)) if m.removed_at == Some(at(80))
    ));
    assert_eq!(
        store
            .remove_staff(&acme, &second.id, at(90))
            .await
            .expect("read"),
        StaffRemoval::LastOwner
    );
    assert_eq!(
        store.staff_member(&acme, &second.id).await.expect("read"),
        Some(second),
        "the last owner is untouched"
    );
    assert_eq!(
        store
            .remove_staff(&acme, &id("stf_9"), at(90))
            .await
            .expect("read"),
        StaffRemoval::NotFound
    );
    assert_eq!(store.list_staff(&acme).await.expect("listed").len(), 3);
}

/// Two owners removed at once from two handles: one is removed, the other is the last owner.
/// (Several rounds, both handles warmed by a read first, so that the two removals overlap.)
pub async fn concurrent_removals_keep_an_owner<F: StoreFixture>(fixture: F) {
    let (one, two) = (fixture.store().await, fixture.second_handle().await);
    for round in 0..10 {
        let tenant: BusinessId = id(&format!("tenant-{round}"));
        for (staff, email) in [("stf_1", "one"), ("stf_2", "two")] {
            let email = format!("{email}@tenant-{round}.example");
            one.add_staff(&tenant, &member(staff, &email, StaffRole::Owner))
                .await
                .expect("added");
        }
        for handle in [&one, &two] {
            assert_eq!(handle.list_staff(&tenant).await.expect("listed").len(), 2);
        }
        let (a, b) = futures_util::future::join(
            one.remove_staff(&tenant, &id("stf_1"), at(10)),
            two.remove_staff(&tenant, &id("stf_2"), at(10)),
        )
        .await;
        let outcomes = [a.expect("answered"), b.expect("answered")];
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == StaffRemoval::LastOwner)
                .count(),
            1,
            "round {round}: {outcomes:?}"
        );
        let owners = one
            .list_staff(&tenant)
            .await
            .expect("listed")
            .into_iter()
            .filter(StaffMember::is_active)
            .count();
        assert_eq!(owners, 1, "round {round}");
    }
}

/// A purge deletes the sessions idle or old enough, and the expired invitations, of every
/// business, and says how many; live ones stay.
pub async fn staff_tokens_are_purged<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (acme, globex): (BusinessId, BusinessId) = (id("acme"), id("globex"));
    // (seed, business, made, seen): idle, too old, live, idle (another business's), idle.
    let sessions = [
        (1, &acme, 50, 100),
        (2, &acme, 10, 500),
        (3, &acme, 400, 500),
        (4, &globex, 300, 300),
        (5, &acme, 101, 101),
    ];
    for (seed, business, made, seen) in sessions {
        store
            .create_session(&hash(seed), &session_of(business, "stf_1", made, seen))
            .await
            .expect("kept");
    }
    for (seed, business, staff, expires) in [
        (11, &acme, "stf_1", 600),
        (12, &acme, "stf_2", 700),
        (13, &globex, "stf_3", 601),
    ] {
        store
            .put_invitation(business, &id(staff), &hash(seed), at(expires))
            .await
            .expect("kept");
    }
    // Idle: seen at or before 300; old: made at or before 10; invitations: expired by 600.
    let purged = store
        .purge_staff_tokens(at(300), at(10), at(600))
        .await
        .expect("purged");
    assert_eq!(
        purged,
        StaffPurge {
            sessions: 4,
            invitations: 1
        }
    );
    for (seed, kept) in [(1, false), (2, false), (3, true), (4, false), (5, false)] {
        assert_eq!(
            store
                .staff_session(&hash(seed))
                .await
                .expect("read")
                .is_some(),
            kept,
            "session {seed}"
        );
    }
    assert_eq!(
        store.take_invitation(&hash(11), at(0)).await.expect("read"),
        None
    );
    assert_eq!(
        store.take_invitation(&hash(13), at(0)).await.expect("read"),
        Some((globex, id("stf_3")))
    );
    assert_eq!(
        store
            .purge_staff_tokens(at(300), at(10), at(600))
            .await
            .expect("purged"),
        StaffPurge::default(),
        "nothing more"
    );
}
