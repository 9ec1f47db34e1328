//! The world the hosted-page tests share: the core on the in-memory store and a scripted
//! gateway, with one business (Acme Cleaning), one customer (Ada, c-1, with an email and no
//! phone) and her bookings.
// Each test binary reads a different part of the world.
#![allow(dead_code)]

use std::sync::Arc;

use billing_core::billing::HostedPages;
use billing_core::ports::Businesses;
use billing_core::prelude::*;
use billing_core::testkit::{
    FixedClock, MemoryStore, PlainPages, PlainTemplates, ScriptedGateway, SequentialIds,
    SequentialSecrets,
};

pub fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

pub struct World {
    pub billing: Billing,
    pub store: Arc<MemoryStore>,
    pub gateway: ScriptedGateway,
    pub clock: Arc<FixedClock>,
    pub business: Business,
    pub customer: CustomerId,
}

/// A world whose gateway is made by `gateway` from the world's clock, with one booking of a
/// deep clean per `(id, cents)`.
pub async fn world_with(
    gateway: impl FnOnce(Arc<FixedClock>) -> ScriptedGateway,
    bookings: &[(&str, i64)],
) -> World {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::default());
    let gateway = gateway(clock.clone());
    let billing = Billing::new(
        store.clone(),
        Arc::new(gateway.clone()),
        clock.clone(),
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    )
    .with_hosted_pages(HostedPages {
        addresses: Arc::new(PlainPages("https://pay.example.com".into())),
        link_lifetime: HostedPages::default_lifetime(),
        templates: Arc::new(PlainTemplates),
    });
    let business = Business {
        id: BusinessId::new("acme").unwrap(),
        name: "Acme Cleaning".into(),
        gateway_account: None,
        email: Some("office@acme.example".into()),
    };
    store
        .create_business(
            &business,
            &billing_core::testkit::api_key_record("key_1"),
            "hash",
        )
        .await
        .unwrap();
    let customer = CustomerId::new("c-1").unwrap();
    billing
        .put_customer(
            &business,
            Customer {
                id: customer.clone(),
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    for &(id, cents) in bookings {
        let booking = BookingAccount::new(
            BookingId::new(id).unwrap(),
            customer.clone(),
            Currency::USD,
            vec![LineItem::new(LineItemKind::Service, "Deep clean", usd(cents)).unwrap()],
        )
        .unwrap();
        billing.put_booking(&business, booking).await.unwrap();
    }
    World {
        billing,
        store,
        gateway,
        clock,
        business,
        customer,
    }
}
