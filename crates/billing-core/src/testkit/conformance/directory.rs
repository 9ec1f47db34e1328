//! Customers with their cards, and businesses with their API key hashes.

use super::{StoreFixture, business, id};
use crate::customer::{Business, Customer, SavedCard};
use crate::ids::BusinessId;
use crate::testkit::api_key_record as key;

/// Customers and cards: one default at a time, default first.
pub async fn customers_and_cards<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let ada = Customer {
        id: id("cust-1"),
        name: "Ada".into(),
        email: Some("ada@example.com".into()),
        phone: None,
        gateway_customer: Some("cus_1".into()),
    };
    store.put_customer(&acme, &ada).await.expect("put");
    assert_eq!(
        store.customer(&acme, &ada.id).await.expect("get"),
        Some(ada.clone())
    );
    let card = |pm: &str, is_default| SavedCard {
        payment_method: pm.into(),
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: 4,
        exp_year: 2031,
        is_default,
    };
    store
        .put_card(&acme, &ada.id, &card("pm_b", true))
        .await
        .expect("card");
    store
        .put_card(&acme, &ada.id, &card("pm_a", false))
        .await
        .expect("card");
    store
        .put_card(&acme, &ada.id, &card("pm_c", true))
        .await
        .expect("card");
    let cards = store.cards(&acme, &ada.id).await.expect("cards");
    assert_eq!(
        cards
            .iter()
            .map(|c| (c.payment_method.as_str(), c.is_default))
            .collect::<Vec<_>>(),
        vec![("pm_c", true), ("pm_a", false), ("pm_b", false)]
    );
    assert!(
        store
            .remove_card(&acme, &ada.id, "pm_a")
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_card(&acme, &ada.id, "pm_a")
            .await
            .expect("remove")
    );
    let grace = Customer {
        id: id("cust-2"),
        name: "Grace".into(),
        email: None,
        phone: None,
        gateway_customer: None,
    };
    store.put_customer(&acme, &grace).await.expect("put");
    let listed = store.list_customers(&acme, None, 10).await.expect("list");
    assert_eq!(
        listed.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
        ["cust-1", "cust-2"]
    );
    let page = store
        .list_customers(&acme, Some(&ada.id), 10)
        .await
        .expect("list");
    assert_eq!(page, vec![grace]);
}

/// Businesses and API key hashes.
pub async fn businesses_and_keys<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme = business("acme");
    store
        .create_business(&acme, &key("key_1"), "hash-1")
        .await
        .expect("create");
    assert!(matches!(
        store.create_business(&acme, &key("key_2"), "hash-2").await,
        Err(crate::ports::BusinessesError::AlreadyExists(_))
    ));
    assert_eq!(
        store.business_by_key_hash("hash-1").await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(
        store.business_by_key_hash("hash-2").await.expect("read"),
        None
    );
    assert!(
        store
            .add_api_key(&acme.id, &key("key_3"), "hash-3")
            .await
            .expect("add")
    );
    assert!(
        !store
            .add_api_key(&id("nobody"), &key("key_4"), "hash-4")
            .await
            .expect("add")
    );
    assert_eq!(
        store.business_by_key_hash("hash-3").await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(
        store.business(&acme.id).await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(store.list_businesses().await.expect("list"), vec![acme]);
}

/// A business's notice address is stored and read back, by id, by key hash and in the list;
/// a business without one reads back without one.
pub async fn business_email_round_trips<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme = Business {
        id: id("acme"),
        name: "Acme Cleaning".into(),
        gateway_account: Some("acct_1".into()),
        email: Some("billing+notices@acme.example".into()),
    };
    let globex = Business {
        email: None,
        ..business("globex")
    };
    store
        .create_business(&globex, &key("key_g"), "hash-g")
        .await
        .expect("create");
    store
        .create_business(&acme, &key("key_a"), "hash-a")
        .await
        .expect("create");
    assert_eq!(
        store.business(&acme.id).await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(
        store.business_by_key_hash("hash-a").await.expect("read"),
        Some(acme.clone())
    );
    assert_eq!(
        store.business_by_key_hash("hash-g").await.expect("read"),
        Some(globex.clone())
    );
    assert_eq!(
        store.list_businesses().await.expect("list"),
        vec![acme.clone(), globex]
    );
    assert_eq!(
        store.business_by_account("acct_1").await.expect("read"),
        Some(acme)
    );
    assert_eq!(
        store.business_by_account("acct_2").await.expect("read"),
        None
    );
}
