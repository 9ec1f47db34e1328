//! Use-case tests: the seeds' scenarios on the in-memory store and scripted gateway, and the
//! gateway's awkward answers through a mocked `PaymentGateway`.

mod automation;
mod automation_texts;
mod bulk;
mod campaign;
mod checkouts;
mod connect;
mod endings;
mod events;
mod gateway_sync;
mod idempotency;
mod mocked;
mod no_show;
mod scenarios;
mod settings;
mod settling;
mod staff;
mod tips;

use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::*;
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, CustomerId};
use crate::money::{Currency, Money};
use crate::payment::{CollectionMethod, Failure, PaymentKind, PaymentState};
use crate::ports::{
    Businesses, GatewayError, GatewayPayment, GatewayStatus, Ledger, MockPaymentGateway,
    PaymentGateway,
};
use crate::status::PaymentStatus;
use crate::testkit::{
    FixedClock, MemoryStore, Scripted, ScriptedGateway, SequentialIds, SequentialSecrets,
    seed_customer_with_card,
};

fn usd(text: &str) -> Money {
    Money::parse(text, Currency::USD).expect("test amount")
}

fn booking_id(id: &str) -> BookingId {
    BookingId::new(id).expect("test id")
}

fn acme() -> Business {
    Business {
        id: "acme".parse().expect("id"),
        name: "Acme Cleaning".into(),
        gateway_account: None,
        email: None,
    }
}

struct World {
    billing: Billing,
    store: Arc<MemoryStore>,
    clock: Arc<FixedClock>,
    business: Business,
}

/// A business with one customer whose card is on file, and the given bookings.
async fn world(gateway: impl PaymentGateway + 'static, bookings: &[(&str, &str)]) -> World {
    world_at(Arc::new(FixedClock::default()), gateway, bookings).await
}

/// [`world`] on a clock the test shares (with the gateway, say).
async fn world_at(
    clock: Arc<FixedClock>,
    gateway: impl PaymentGateway + 'static,
    bookings: &[(&str, &str)],
) -> World {
    let store = Arc::new(MemoryStore::new());
    let business = acme();
    let customer = CustomerId::new("cust-1").expect("id");
    seed_customer_with_card(&*store, &business.id, &customer)
        .await
        .expect("customer");
    let billing = Billing::new(
        store.clone(),
        Arc::new(gateway),
        clock.clone(),
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    );
    for (id, price) in bookings {
        let account = BookingAccount::new(
            booking_id(id),
            customer.clone(),
            Currency::USD,
            vec![LineItem::new(LineItemKind::Service, "Home cleaning", usd(price)).expect("line")],
        )
        .expect("booking");
        billing
            .put_booking(&business, account)
            .await
            .expect("put booking");
    }
    World {
        billing,
        store,
        clock,
        business,
    }
}

/// [`world`] over a scripted gateway, and the gateway to script.
async fn scripted(bookings: &[(&str, &str)]) -> (World, ScriptedGateway) {
    let gateway = ScriptedGateway::new();
    (world(gateway.clone(), bookings).await, gateway)
}

/// [`scripted`] with the gateway on the world's clock (its holds expire), and the business
/// stored (gateway events name it).
async fn scripted_on_clock(bookings: &[(&str, &str)]) -> (World, ScriptedGateway) {
    let clock = Arc::new(FixedClock::default());
    let gateway = ScriptedGateway::with_clock(clock.clone());
    let w = world_at(clock, gateway.clone(), bookings).await;
    w.store
        .create_business(
            &w.business,
            &crate::testkit::api_key_record("key_1"),
            "hash",
        )
        .await
        .expect("business");
    (w, gateway)
}

fn hold(booking: &str, amount: Option<&str>) -> AuthorizeBooking {
    AuthorizeBooking {
        booking: booking_id(booking),
        amount: amount.map(|a| usd(a).into()),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
    }
}

fn charge(booking: &str, amount: Option<&str>) -> ChargeBooking {
    ChargeBooking {
        booking: booking_id(booking),
        amount: amount.map(|a| usd(a).into()),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

fn keyed(booking: &str, amount: Option<&str>, key: &str) -> ChargeBooking {
    ChargeBooking {
        idempotency_key: Some(IdempotencyKey::new(key).expect("key")),
        ..charge(booking, amount)
    }
}

impl World {
    async fn status(&self, booking: &str) -> (PaymentStatus, Money) {
        let view = self
            .billing
            .booking(&self.business, &booking_id(booking))
            .await
            .expect("booking");
        (view.summary.status.status, view.summary.balance.balance_due)
    }
}
