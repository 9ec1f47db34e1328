//! A business's API keys: listed with what recognises them, revoked (then they authenticate
//! nothing), never the last active one, and never across businesses.

use super::{StoreFixture, at, business, id};
use crate::ids::ApiKeyId;
use crate::ports::{ApiKeyRecord, KeyRevocation};

fn key(key: &str, label: &str, made: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id(key),
        label: label.to_owned(),
        hint: Some(format!("bk_test_…{made:04}")),
        created_at: at(made),
        revoked_at: None,
    }
}

/// Keys are listed oldest first with their label, hint and times; a revoked key is still
/// listed, with its revocation time, and authenticates nothing; revoking it again changes
/// nothing; the last active key cannot be revoked, and nothing is written then.
pub async fn api_keys_are_listed_and_revoked<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme = business("acme");
    let first = ApiKeyRecord {
        hint: None,
        ..key("key_1", "API key", 0)
    };
    let second = key("key_2", "Booking site <&> \"é\"", 10);
    store
        .create_business(&acme, &first, "hash-1")
        .await
        .expect("created");
    assert!(
        store
            .add_api_key(&acme.id, &second, "hash-2")
            .await
            .expect("added")
    );
    assert_eq!(
        store.api_keys(&acme.id).await.expect("listed"),
        vec![first.clone(), second.clone()]
    );
    let revoked = store
        .revoke_api_key(&acme.id, &first.id, at(20))
        .await
        .expect("revoked");
    let first_revoked = ApiKeyRecord {
        revoked_at: Some(at(20)),
        ..first.clone()
    };
    assert_eq!(revoked, KeyRevocation::Revoked(first_revoked.clone()));
    assert_eq!(
        store.business_by_key_hash("hash-1").await.expect("read"),
        None,
        "a revoked key authenticates nothing"
    );
    assert_eq!(
        store.business_by_key_hash("hash-2").await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(
        store
            .revoke_api_key(&acme.id, &first.id, at(30))
            .await
            .expect("read"),
        KeyRevocation::Revoked(first_revoked.clone()),
        "revoked once: the first time stays"
    );
    assert_eq!(
        store
            .revoke_api_key(&acme.id, &second.id, at(40))
            .await
            .expect("read"),
        KeyRevocation::LastActiveKey
    );
    assert_eq!(
        store
            .revoke_api_key(&acme.id, &id::<ApiKeyId>("key_9"), at(40))
            .await
            .expect("read"),
        KeyRevocation::NotFound
    );
    assert_eq!(
        store.api_keys(&acme.id).await.expect("listed"),
        vec![first_revoked, second],
        "the last key is still active"
    );
    assert_eq!(
        store.business_by_key_hash("hash-2").await.expect("read"),
        Some(acme)
    );
}

/// One business never lists, revokes or is found by another's keys, even under the same key
/// id.
pub async fn api_keys_are_isolated_between_businesses<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (acme, globex) = (business("acme"), business("globex"));
    store
        .create_business(&acme, &key("key_1", "Acme site", 0), "hash-a1")
        .await
        .expect("created");
    store
        .add_api_key(&acme.id, &key("key_2", "Acme app", 1), "hash-a2")
        .await
        .expect("added");
    store
        .create_business(&globex, &key("key_1", "Globex site", 2), "hash-g1")
        .await
        .expect("created");
    store
        .add_api_key(&globex.id, &key("key_3", "Globex app", 3), "hash-g3")
        .await
        .expect("added");
    assert_eq!(
        store
            .api_keys(&globex.id)
            .await
            .expect("listed")
            .iter()
            .map(|k| k.label.as_str())
            .collect::<Vec<_>>(),
        vec!["Globex site", "Globex app"]
    );
    assert_eq!(
        store
            .revoke_api_key(&globex.id, &id("key_2"), at(10))
            .await
            .expect("read"),
        KeyRevocation::NotFound,
        "acme's key is no key of globex's"
    );
    // Globex revokes its own key_1: acme's key_1 still works.
    assert!(matches!(
        store
            .revoke_api_key(&globex.id, &id("key_1"), at(10))
            .await
            .expect("revoked"),
        KeyRevocation::Revoked(k) if k.label == "Globex site"
    ));
    assert_eq!(
        store.business_by_key_hash("hash-a1").await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(
        store.business_by_key_hash("hash-g1").await.expect("read"),
        None
    );
    assert!(
        store
            .api_keys(&acme.id)
            .await
            .expect("listed")
            .iter()
            .all(ApiKeyRecord::is_active)
    );
    assert_eq!(store.api_keys(&id("nobody")).await.expect("listed"), vec![]);
}

/// Two revocations at once of a business's two keys, from two handles: one lands, the other
/// finds the last active key; the business keeps one that works. (Several rounds, both
/// handles warmed by a read first, so that the two revocations overlap.)
pub async fn concurrent_revocations_keep_a_key<F: StoreFixture>(fixture: F) {
    let (one, two) = (fixture.store().await, fixture.second_handle().await);
    for round in 0..10 {
        let tenant = business(&format!("tenant-{round}"));
        one.create_business(&tenant, &key("key_1", "One", 0), &format!("hash-{round}-1"))
            .await
            .expect("created");
        one.add_api_key(
            &tenant.id,
            &key("key_2", "Two", 1),
            &format!("hash-{round}-2"),
        )
        .await
        .expect("added");
        for handle in [&one, &two] {
            assert_eq!(handle.api_keys(&tenant.id).await.expect("listed").len(), 2);
        }
        let (a, b) = futures_util::future::join(
            one.revoke_api_key(&tenant.id, &id("key_1"), at(10)),
            two.revoke_api_key(&tenant.id, &id("key_2"), at(10)),
        )
        .await;
        let outcomes = [a.expect("answered"), b.expect("answered")];
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == KeyRevocation::LastActiveKey)
                .count(),
            1,
            "round {round}: {outcomes:?}"
        );
        let active = one
            .api_keys(&tenant.id)
            .await
            .expect("listed")
            .into_iter()
            .filter(ApiKeyRecord::is_active)
            .count();
        assert_eq!(active, 1, "round {round}");
    }
}
