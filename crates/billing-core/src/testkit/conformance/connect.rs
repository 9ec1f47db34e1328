//! Businesses' connected accounts: connected once (the account becomes the business's gateway
//! account), kept newest first (an older description never replaces a newer one), never across
//! businesses, and one account when two handles connect at once.

use super::{StoreFixture, at, business};
use crate::connect::{AccountState, ConnectedAccount};
use crate::ports::{AccountConnection, ApiKeyRecord};

fn key(made: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: super::id("key_1"),
        label: "API key".to_owned(),
        hint: None,
        created_at: at(made),
        revoked_at: None,
    }
}

fn account(id: &str, charges: bool, as_of: i64) -> ConnectedAccount {
    ConnectedAccount {
        state: AccountState {
            account: id.to_owned(),
            charges_enabled: charges,
            payouts_enabled: charges,
            details_submitted: charges,
            requirements_due: if charges {
                Vec::new()
            } else {
                vec![
                    "external_account".to_owned(),
                    "tos_acceptance.date".to_owned(),
                ]
            },
            requirements_past_due: Vec::new(),
            disabled_reason: (!charges).then(|| "requirements.past_due".to_owned()),
        },
        as_of: at(as_of),
    }
}

/// An account connects to a business once and becomes its gateway account; a second account
/// does not replace it; newer descriptions replace older ones and never the reverse; another
/// account's description, another business and a business given another account change
/// nothing.
pub async fn connected_accounts_connect_once_and_keep_the_newest<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme = business("acme");
    let other = business("other");
    let legacy = crate::customer::Business {
        gateway_account: Some("acct_given".to_owned()),
        ..business("legacy")
    };
    for (n, b) in [&acme, &other, &legacy].into_iter().enumerate() {
        store
            .create_business(b, &key(0), &format!("hash-{n}"))
            .await
            .expect("created");
    }
    assert_eq!(store.connected_account(&acme.id).await.expect("read"), None);

    let first = account("acct_1", false, 10);
    assert_eq!(
        store
            .connect_account(&acme.id, &first)
            .await
            .expect("connected"),
        AccountConnection::Connected(first.clone())
    );
    assert_eq!(
        store
            .connect_account(&acme.id, &account("acct_2", false, 11))
            .await
            .expect("read"),
        AccountConnection::Connected(first.clone()),
        "the account stored first stays"
    );
    let stored_business = store
        .business(&acme.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(stored_business.gateway_account.as_deref(), Some("acct_1"));
    assert_eq!(
        store
            .business_by_account("acct_1")
            .await
            .expect("read")
            .map(|b| b.id),
        Some(acme.id.clone())
    );
    assert_eq!(
        store.connected_account(&other.id).await.expect("read"),
        None
    );

    let onboarded = account("acct_1", true, 20);
    assert!(
        store
            .update_connected_account(&acme.id, &onboarded)
            .await
            .expect("updated")
    );
    assert!(
        !store
            .update_connected_account(&acme.id, &account("acct_1", false, 15))
            .await
            .expect("read"),
        "an older description is not kept"
    );
    assert!(
        !store
            .update_connected_account(&acme.id, &account("acct_2", false, 30))
            .await
            .expect("read"),
        "another account's description is not kept"
    );
    assert!(
        !store
            .update_connected_account(&other.id, &account("acct_1", false, 30))
            .await
            .expect("read"),
        "a business with no connected account keeps none"
    );
    assert_eq!(
        store.connected_account(&acme.id).await.expect("read"),
        Some(onboarded.clone())
    );
    let restricted = ConnectedAccount {
        state: AccountState {
            requirements_past_due: vec!["external_account".to_owned()],
            ..account("acct_1", false, 40).state
        },
        as_of: at(40),
    };
    assert!(
        store
            .update_connected_account(&acme.id, &restricted)
            .await
            .expect("updated")
    );
    assert_eq!(
        store.connected_account(&acme.id).await.expect("read"),
        Some(restricted)
    );

    assert_eq!(
        store
            .connect_account(&legacy.id, &account("acct_new", false, 10))
            .await
            .expect("read"),
        AccountConnection::OtherAccount("acct_given".to_owned())
    );
    assert_eq!(
        store.connected_account(&legacy.id).await.expect("read"),
        None
    );
    let given = account("acct_given", true, 10);
    assert_eq!(
        store
            .connect_account(&legacy.id, &given)
            .await
            .expect("connected"),
        AccountConnection::Connected(given.clone()),
        "the account it was given connects"
    );
    assert_eq!(
        store
            .connect_account(&super::id("nobody"), &account("acct_9", false, 10))
            .await
            .expect("read"),
        AccountConnection::UnknownBusiness
    );
}

/// Two handles (two processes) connecting different accounts to one business at once store
/// one of them, and both answer that one.
pub async fn concurrent_connections_store_one_account<F: StoreFixture>(fixture: F) {
    let (one, two) = (fixture.store().await, fixture.second_handle().await);
    for round in 0..10 {
        let tenant = business(&format!("tenant-{round}"));
        one.create_business(&tenant, &key(0), &format!("hash-{round}"))
            .await
            .expect("created");
        let (a, b) = futures_util::future::join(
            one.connect_account(&tenant.id, &account("acct_one", false, 10)),
            two.connect_account(&tenant.id, &account("acct_two", false, 10)),
        )
        .await;
        let (a, b) = (a.expect("answered"), b.expect("answered"));
        assert_eq!(a, b, "round {round}");
        let AccountConnection::Connected(stored) = a else {
            panic!("round {round}: not connected: {a:?}");
        };
        let business = one
            .business(&tenant.id)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(business.gateway_account.as_deref(), Some(stored.id()));
        assert_eq!(
            two.connected_account(&tenant.id).await.expect("read"),
            Some(stored)
        );
    }
}
