//! The console's people: members by email and by id, per business; invitations used once;
//! sessions kept, touched and ended.

use super::{StoreFixture, at, id};
use crate::ids::{BusinessId, StaffId};
use crate::link::{LinkToken, TokenHash};
use crate::ports::StaffStoreError;
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
