//! The storage conformance suite: the same cases, with the same expected results, for every
//! store (in memory, SQLite, Postgres). An adapter crate runs it with
//! [`store_conformance!`](crate::store_conformance):
//!
//! ```text
//! billing_core::store_conformance!(my_fixture().await);
//! ```
//!
//! which expands to one `#[tokio::test]` per case, each on a fresh fixture.

use async_trait::async_trait;

use crate::ports::{Businesses, CustomerDirectory, Ledger, NotificationLog, PaymentLinks};

/// Makes stores for one test: every handle it gives reads and writes the same, fresh data.
#[async_trait]
pub trait StoreFixture: Send + Sync {
    /// The store.
    type Store: Ledger
        + CustomerDirectory
        + Businesses
        + NotificationLog
        + PaymentLinks
        + Clone
        + Send
        + Sync
        + 'static;

    /// A handle on the fixture's data.
    async fn store(&self) -> Self::Store;

    /// Another handle on the same data with its own connections, as a second process running
    /// the service would have. Stores that cannot be shared return a clone of the first.
    async fn second_handle(&self) -> Self::Store;
}

use std::sync::Arc;

use crate::billing::{Billing, ChargeBooking, PaymentSource, RecordCollection};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::{Business, Customer, SavedCard};
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BusinessId, CustomerId, LinkId};
use crate::link::{LinkPurpose, LinkState, LinkToken, LinkedBooking, PaymentLink, TokenHash};
use crate::money::{Currency, Money};
use crate::notification::{DeliveryState, Notification, NotificationKind, OutboundMessage};
use crate::payment::{CollectionMethod, PaymentState};
use crate::ports::{
    BookingFilter, Clock, DeliveryFailure, DueNotification, IdempotencyRecord, LedgerError,
    LedgerTx, LinkByToken, LinkStoreError, NotificationLogError, StoredResponse,
};
use crate::status::PaymentStatus;
use crate::testkit::{FixedClock, ScriptedGateway, SequentialIds};

fn id<T: TryFrom<String>>(text: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(text.to_owned()).expect("test ids are valid")
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn business(name: &str) -> Business {
    Business {
        id: id(name),
        name: name.to_owned(),
        gateway_account: None,
        email: None,
    }
}

type Service<S> = Billing<S, ScriptedGateway>;

fn service<S: StoreFixtureStore>(store: S, prefix: &str) -> Service<S> {
    Billing::new(
        store,
        ScriptedGateway::new(),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
    )
}

/// What a fixture's store must be.
pub trait StoreFixtureStore:
    Ledger
    + CustomerDirectory
    + Businesses
    + NotificationLog
    + PaymentLinks
    + Clone
    + Send
    + Sync
    + 'static
{
}
impl<
    T: Ledger
        + CustomerDirectory
        + Businesses
        + NotificationLog
        + PaymentLinks
        + Clone
        + Send
        + Sync
        + 'static,
> StoreFixtureStore for T
{
}

/// A customer with a card on file and a booking of `price_minor` cents.
async fn seed<S: StoreFixtureStore>(
    billing: &Service<S>,
    business: &Business,
    booking: &str,
    price_minor: i64,
) {
    let customer: CustomerId = id("cust-1");
    billing
        .put_customer(
            business,
            Customer {
                id: customer.clone(),
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                gateway_customer: None,
            },
        )
        .await
        .expect("customer saved");
    if billing
        .cards(business, &customer)
        .await
        .expect("cards")
        .is_empty()
    {
        billing
            .attach_card(business, &customer, "pm_card_visa")
            .await
            .expect("card attached");
    }
    let account = BookingAccount::new(
        id(booking),
        customer,
        Currency::USD,
        vec![
            LineItem::new(LineItemKind::Service, "Home cleaning", usd(price_minor)).expect("line"),
        ],
    )
    .expect("booking");
    billing
        .put_booking(business, account)
        .await
        .expect("booking saved");
}

fn charge(booking: &str, amount: Option<Money>, key: Option<&str>) -> ChargeBooking {
    ChargeBooking {
        booking: id(booking),
        amount,
        source: PaymentSource::CardOnFile,
        idempotency_key: key.map(|k| IdempotencyKey::new(k).expect("key")),
        allow_duplicate: true,
    }
}

/// A booking is stored and read back as it was; unknown bookings are absent.
pub async fn bookings_round_trip<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 21550).await;
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert_eq!(view.account.price(), Ok(usd(21550)));
    assert_eq!(view.summary.status.status, PaymentStatus::NotCharged);
    let store = billing.store();
    let loaded = store
        .load(&acme.id, &[id("b-1"), id("nope")])
        .await
        .expect("load");
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].account, view.account);
    assert_eq!(
        store
            .summary(&acme.id, &id("b-1"))
            .await
            .expect("summary")
            .map(|s| s.balance.balance_due),
        Some(usd(21550))
    );
    assert_eq!(
        store.summary(&acme.id, &id("nope")).await.expect("summary"),
        None
    );
}

/// Charges are appended and read back; the summary follows.
pub async fn charges_append_and_fold<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 21550).await;
    let first = billing
        .charge(&acme, charge("b-1", Some(usd(3000)), None))
        .await
        .expect("advance");
    assert_eq!(
        first.bookings[0].status.status,
        PaymentStatus::PartiallyCharged
    );
    let rest = billing
        .charge(&acme, charge("b-1", None, None))
        .await
        .expect("rest");
    assert_eq!(rest.payment.amount, usd(18550));
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert_eq!(view.summary.status.status, PaymentStatus::ChargedInFull);
    assert_eq!(view.payments.len(), 2);
    assert!(
        view.payments
            .iter()
            .all(|p| p.state == PaymentState::Succeeded)
    );
    let stored = billing
        .store()
        .summary(&acme.id, &id("b-1"))
        .await
        .expect("summary")
        .expect("present");
    assert_eq!(stored.balance.paid, usd(21550));
    assert_eq!(stored.status.status, PaymentStatus::ChargedInFull);
    assert_eq!(
        billing
            .store()
            .payment_bookings(&acme.id, &rest.payment.id)
            .await
            .expect("read"),
        Some(vec![id("b-1")])
    );
}

/// An entry whose (payment, seq) exists is a conflict, and nothing of that append is written.
pub async fn duplicate_entries_conflict_and_write_nothing<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let receipt = billing
        .charge(&acme, charge("b-1", Some(usd(1000)), None))
        .await
        .expect("charge");
    let store = billing.store();
    let ledger = store
        .load(&acme.id, &[id("b-1")])
        .await
        .expect("load")
        .remove(0);
    let mut tx = store.begin(&acme.id).await.expect("begin");
    tx.lock(&[id("b-1")]).await.expect("lock");
    let mut again = ledger.entries[0].clone();
    again.payment = receipt.payment.id.clone();
    let result = tx.append(std::slice::from_ref(&again), &[]).await;
    assert!(
        matches!(result, Err(LedgerError::Conflict(_))),
        "{result:?}"
    );
    drop(tx);
    let after = store
        .load(&acme.id, &[id("b-1")])
        .await
        .expect("load")
        .remove(0);
    assert_eq!(after.entries.len(), ledger.entries.len());
}

/// A transaction dropped without commit writes nothing.
pub async fn dropped_transactions_write_nothing<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let store = billing.store();
    let before = store
        .load(&acme.id, &[id("b-1")])
        .await
        .expect("load")
        .remove(0);
    {
        let mut tx = store.begin(&acme.id).await.expect("begin");
        let mut locked = tx.lock(&[id("b-1")]).await.expect("lock");
        let mut account = locked.remove(0).account;
        account.line_items.clear();
        tx.put_booking(&account).await.expect("put");
        let record = IdempotencyRecord {
            key: IdempotencyKey::new("k-drop").expect("key"),
            fingerprint: Fingerprint("f".into()),
            payment: id("pay_x"),
            completed: false,
            created_at: FixedClock::default().now(),
            response: None,
        };
        assert_eq!(tx.claim(&record).await.expect("claim"), None);
    }
    let after = store
        .load(&acme.id, &[id("b-1")])
        .await
        .expect("load")
        .remove(0);
    assert_eq!(after, before);
    assert_eq!(
        store
            .idempotency(&acme.id, &IdempotencyKey::new("k-drop").expect("key"))
            .await
            .expect("read"),
        None
    );
}

/// Idempotency keys: claimed once, then the first record comes back; completed; released.
pub async fn idempotency_keys_claim_complete_release<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let key = IdempotencyKey::new("order-42/charge").expect("key");
    let record = IdempotencyRecord {
        key: key.clone(),
        fingerprint: Fingerprint("charge|b-1".into()),
        payment: id("pay_1"),
        completed: false,
        created_at: FixedClock::default().now(),
        response: None,
    };
    let mut tx = store.begin(&acme).await.expect("begin");
    assert_eq!(tx.claim(&record).await.expect("claim"), None);
    tx.commit().await.expect("commit");
    let other = IdempotencyRecord {
        payment: id("pay_2"),
        fingerprint: Fingerprint("other".into()),
        ..record.clone()
    };
    let mut tx = store.begin(&acme).await.expect("begin");
    assert_eq!(tx.claim(&other).await.expect("claim"), Some(record.clone()));
    tx.complete(&key).await.expect("complete");
    tx.commit().await.expect("commit");
    let stored = store
        .idempotency(&acme, &key)
        .await
        .expect("read")
        .expect("present");
    assert!(stored.completed);
    assert_eq!(stored.payment, record.payment);
    // Another business has its own key space.
    assert_eq!(
        store.idempotency(&id("globex"), &key).await.expect("read"),
        None
    );
    let mut tx = store.begin(&acme).await.expect("begin");
    tx.release(&key).await.expect("release");
    tx.commit().await.expect("commit");
    assert_eq!(store.idempotency(&acme, &key).await.expect("read"), None);
}

/// A completed key's first response is stored once and read back exactly (by `idempotency`
/// and by a `claim` that finds the key taken); later saves, saves under a key that is unknown
/// or still in progress, and saves under another business's key store nothing. Through the
/// service, a replay carries it.
pub async fn first_responses_are_kept_once<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let key = IdempotencyKey::new("order-43/charge").expect("key");
    // Quotes, backslashes, a newline and a tab, non-ASCII: stored as given.
    let first = StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        body: "{\"payment\":{\"id\":\"pay_1\",\"note\":\"O'Brien \\\"x\\\" \\\\ été ☃\\n\"}\n\t}"
            .into(),
    };
    let second = StoredResponse {
        status: 402,
        content_type: "application/problem+json".into(),
        body: "{\"code\":\"card_declined\"}".into(),
    };
    assert!(
        !store
            .save_response(&acme, &key, &first)
            .await
            .expect("save on an unknown key"),
        "nothing to save on: the key is unknown"
    );
    let record = IdempotencyRecord {
        key: key.clone(),
        fingerprint: Fingerprint("charge|b-1".into()),
        payment: id("pay_1"),
        completed: false,
        created_at: FixedClock::default().now(),
        response: None,
    };
    let mut tx = store.begin(&acme).await.expect("begin");
    assert_eq!(tx.claim(&record).await.expect("claim"), None);
    tx.commit().await.expect("commit");
    assert!(
        !store
            .save_response(&acme, &key, &first)
            .await
            .expect("save while in progress"),
        "a command still in progress has no answer to keep"
    );
    assert_eq!(
        store.idempotency(&acme, &key).await.expect("read"),
        Some(record.clone())
    );
    let mut tx = store.begin(&acme).await.expect("begin");
    tx.complete(&key).await.expect("complete");
    tx.commit().await.expect("commit");
    assert!(
        store
            .save_response(&acme, &key, &first)
            .await
            .expect("save on a completed key"),
        "the first save on a completed key stores"
    );
    let kept = IdempotencyRecord {
        completed: true,
        response: Some(first.clone()),
        ..record.clone()
    };
    assert_eq!(
        store.idempotency(&acme, &key).await.expect("read"),
        Some(kept.clone())
    );
    assert!(
        !store
            .save_response(&acme, &key, &second)
            .await
            .expect("second save"),
        "the first writer wins"
    );
    assert_eq!(
        store.idempotency(&acme, &key).await.expect("read"),
        Some(kept.clone()),
        "the first response stays"
    );
    // A request racing past the first read finds the key taken by a claim: with its response.
    let mut tx = store.begin(&acme).await.expect("begin");
    let other = IdempotencyRecord {
        payment: id("pay_2"),
        ..record.clone()
    };
    assert_eq!(tx.claim(&other).await.expect("claim"), Some(kept.clone()));
    drop(tx);
    // Another business has its own key space: nothing of acme's is touched.
    let globex: BusinessId = id("globex");
    assert!(
        !store
            .save_response(&globex, &key, &second)
            .await
            .expect("save under another business"),
        "globex has no record under the key"
    );
    assert_eq!(store.idempotency(&globex, &key).await.expect("read"), None);
    assert_eq!(
        store.idempotency(&acme, &key).await.expect("read"),
        Some(kept)
    );

    // Through the service: a replay hands the stored answer back, even for a decline.
    let billing = service(store.clone(), "s");
    let shop = business("shop");
    seed(&billing, &shop, "b-1", 10000).await;
    let charged = billing
        .charge(&shop, charge("b-1", Some(usd(2500)), Some("k-ok")))
        .await
        .expect("charge");
    assert_eq!(charged.first_response, None);
    let ok_key = IdempotencyKey::new("k-ok").expect("key");
    billing
        .save_response(&shop, &ok_key, first.clone())
        .await
        .expect("save");
    let again = billing
        .charge(&shop, charge("b-1", Some(usd(2500)), Some("k-ok")))
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(again.payment.id, charged.payment.id);
    assert_eq!(again.first_response, Some(first));
    billing
        .gateway()
        .script(crate::testkit::Scripted::Decline("generic_decline".into()));
    let declined = billing
        .charge(&shop, charge("b-1", Some(usd(1000)), Some("k-no")))
        .await;
    let Err(crate::error::BillingError::Declined { payment, .. }) = declined else {
        panic!("a decline: {declined:?}");
    };
    let no_key = IdempotencyKey::new("k-no").expect("key");
    billing
        .save_response(&shop, &no_key, second.clone())
        .await
        .expect("save");
    let replayed = billing
        .charge(&shop, charge("b-1", Some(usd(1000)), Some("k-no")))
        .await
        .expect("a stored decline replays as its stored answer");
    assert_eq!(replayed.payment.id, payment);
    assert!(
        matches!(replayed.payment.state, PaymentState::Failed(_)),
        "{:?}",
        replayed.payment.state
    );
    assert_eq!(replayed.first_response, Some(second));
    assert_eq!(billing.gateway().count("charge"), 2);
}

/// The service's idempotency through the store: a replay returns the first payment, another
/// request under the key is refused.
pub async fn replays_return_the_first_result<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let first = billing
        .charge(&acme, charge("b-1", Some(usd(2500)), Some("k1")))
        .await
        .expect("charge");
    let again = billing
        .charge(&acme, charge("b-1", Some(usd(2500)), Some("k1")))
        .await
        .expect("replay");
    assert_eq!(again.payment.id, first.payment.id);
    assert!(again.replayed);
    let other = billing
        .charge(&acme, charge("b-1", Some(usd(2600)), Some("k1")))
        .await;
    assert!(
        matches!(
            other,
            Err(crate::error::BillingError::IdempotencyKeyReused(_))
        ),
        "{other:?}"
    );
    assert_eq!(billing.gateway().count("charge"), 1);
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert_eq!(view.summary.balance.paid, usd(2500));
}

/// No business sees another's bookings, payments, customers, keys or reports.
pub async fn tenants_are_isolated<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    let globex = business("globex");
    seed(&billing, &acme, "b-1", 10000).await;
    let receipt = billing
        .charge(&acme, charge("b-1", Some(usd(1000)), Some("k")))
        .await
        .expect("charge");
    let store = billing.store();
    assert!(
        store
            .load(&globex.id, &[id("b-1")])
            .await
            .expect("load")
            .is_empty()
    );
    assert_eq!(
        store
            .summary(&globex.id, &id("b-1"))
            .await
            .expect("summary"),
        None
    );
    assert_eq!(
        store
            .payment_bookings(&globex.id, &receipt.payment.id)
            .await
            .expect("read"),
        None
    );
    assert!(
        store
            .list_summaries(&globex.id, &BookingFilter::default())
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .outstanding(&globex.id, None)
            .await
            .expect("report")
            .is_empty()
    );
    assert_eq!(
        store
            .customer(&globex.id, &id("cust-1"))
            .await
            .expect("customer"),
        None
    );
    assert!(
        store
            .cards(&globex.id, &id("cust-1"))
            .await
            .expect("cards")
            .is_empty()
    );
    assert!(
        store
            .list_customers(&globex.id, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .idempotency(&globex.id, &IdempotencyKey::new("k").expect("key"))
            .await
            .expect("read"),
        None
    );
    let mut tx = store.begin(&globex.id).await.expect("begin");
    assert!(tx.lock(&[id("b-1")]).await.expect("lock").is_empty());
    drop(tx);
    assert!(matches!(
        billing.booking(&globex, &id("b-1")).await,
        Err(crate::error::BillingError::BookingNotFound(_))
    ));
}

/// Summaries are listed by customer, status and pending, in booking order, a page at a time.
pub async fn summaries_filter_and_page<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    for (booking, price) in [
        ("b-1", 10000),
        ("b-2", 20000),
        ("b-3", 30000),
        ("b-4", 5000),
    ] {
        seed(&billing, &acme, booking, price).await;
    }
    billing
        .charge(&acme, charge("b-2", None, None))
        .await
        .expect("charge");
    billing
        .charge(&acme, charge("b-3", Some(usd(100)), None))
        .await
        .expect("charge");
    let store = billing.store();
    let all = store
        .list_summaries(&acme.id, &BookingFilter::default())
        .await
        .expect("list");
    let ids: Vec<String> = all.iter().map(|s| s.booking.to_string()).collect();
    assert_eq!(ids, ["b-1", "b-2", "b-3", "b-4"]);
    let paid = store
        .list_summaries(
            &acme.id,
            &BookingFilter {
                status: Some(PaymentStatus::ChargedInFull),
                ..BookingFilter::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        paid.iter()
            .map(|s| s.booking.to_string())
            .collect::<Vec<_>>(),
        ["b-2"]
    );
    let page = store
        .list_summaries(
            &acme.id,
            &BookingFilter {
                after: Some(id("b-1")),
                limit: 2,
                ..BookingFilter::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        page.iter()
            .map(|s| s.booking.to_string())
            .collect::<Vec<_>>(),
        ["b-2", "b-3"]
    );
    let theirs = store
        .list_summaries(
            &acme.id,
            &BookingFilter {
                customer: Some(id("someone-else")),
                ..BookingFilter::default()
            },
        )
        .await
        .expect("list");
    assert!(theirs.is_empty());
    let calm = store
        .list_summaries(
            &acme.id,
            &BookingFilter {
                pending: Some(true),
                ..BookingFilter::default()
            },
        )
        .await
        .expect("list");
    assert!(calm.is_empty());
}

/// The outstanding report sums positive balances per customer and currency.
pub async fn outstanding_report_sums_balances<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    seed(&billing, &acme, "b-2", 5050).await;
    billing
        .charge(&acme, charge("b-2", None, None))
        .await
        .expect("charge");
    billing
        .put_customer(
            &acme,
            Customer {
                id: id("cust-2"),
                name: "Grace".into(),
                email: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    let account = BookingAccount::new(
        id("b-3"),
        id("cust-2"),
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Lawn", usd(7525)).expect("line")],
    )
    .expect("booking");
    billing.put_booking(&acme, account).await.expect("booking");
    let report = billing.outstanding(&acme).await.expect("report");
    let rows: Vec<(String, Money, u64)> = report
        .customers
        .iter()
        .map(|r| (r.customer.to_string(), r.balance_due, r.bookings))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("cust-1".to_owned(), usd(10000), 1),
            ("cust-2".to_owned(), usd(7525), 1)
        ]
    );
    assert_eq!(report.totals, vec![usd(17525)]);
    assert_eq!(
        billing
            .customer_balance(&acme, &id("cust-2"))
            .await
            .expect("balance"),
        vec![usd(7525)]
    );
}

/// Customers and cards: one default at a time, default first.
pub async fn customers_and_cards<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let ada = Customer {
        id: id("cust-1"),
        name: "Ada".into(),
        email: Some("ada@example.com".into()),
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
        .create_business(&acme, "hash-1")
        .await
        .expect("create");
    assert!(matches!(
        store.create_business(&acme, "hash-2").await,
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
    assert!(store.add_api_key(&acme.id, "hash-3").await.expect("add"));
    assert!(
        !store
            .add_api_key(&id("nobody"), "hash-4")
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

/// 64 concurrent charge attempts on one booking, from two service instances with their own
/// connections, never charge more than the balance due.
pub async fn concurrent_charges_never_exceed_the_balance<F: StoreFixture>(fixture: F) {
    let acme = business("acme");
    let first = Arc::new(service(fixture.store().await, "one"));
    let second = Arc::new(Billing::new(
        fixture.second_handle().await,
        first.gateway().clone(),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix("two")),
    ));
    seed(&first, &acme, "b-1", 10000).await;
    let mut attempts = Vec::new();
    for attempt in 0..64 {
        let billing = if attempt % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let acme = acme.clone();
        attempts.push(async move {
            // Some share keys, some do not; amounts vary.
            let key = (attempt % 3 == 0).then(|| format!("k-{}", attempt % 9));
            let amount = if attempt % 4 == 0 {
                None
            } else {
                Some(usd(700 + (attempt % 5) * 100))
            };
            billing
                .charge(&acme, charge("b-1", amount, key.as_deref()))
                .await
        });
    }
    // All at once: each attempt waits on its own connection, so the store sees them together.
    futures_util::future::join_all(attempts).await;
    let view = first.booking(&acme, &id("b-1")).await.expect("booking");
    let succeeded: Vec<_> = view
        .payments
        .iter()
        .filter(|p| p.state == PaymentState::Succeeded)
        .collect();
    let paid = Money::sum(Currency::USD, succeeded.iter().map(|p| &p.amount)).expect("sum");
    assert!(
        paid.checked_cmp(&usd(10000))
            .expect("same currency")
            .is_le(),
        "charged {paid}"
    );
    assert_eq!(view.summary.balance.paid, paid);
    assert_eq!(first.gateway().count("charge"), view.payments.len());
    assert_eq!(first.gateway().total_received(Currency::USD), paid);
}

/// Collections and refunds through the store keep the balance exact.
pub async fn collections_and_refunds<F: StoreFixture>(fixture: F) {
    let billing = service(fixture.store().await, "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let cash = billing
        .record_collection(
            &acme,
            RecordCollection {
                booking: id("b-1"),
                amount: None,
                method: CollectionMethod::Check,
                reference: Some("check 1021".into()),
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await
        .expect("collection");
    assert_eq!(cash.bookings[0].status.status, PaymentStatus::ChargedInFull);
    let refund = billing
        .refund(
            &acme,
            crate::billing::RefundPayment {
                payment: cash.payment.id.clone(),
                amount: Some(usd(2500)),
                reason: Some("goodwill".into()),
                idempotency_key: None,
            },
        )
        .await
        .expect("refund");
    assert_eq!(refund.bookings[0].balance.balance_due, usd(2500));
    assert_eq!(
        refund.bookings[0].status.status,
        PaymentStatus::PartiallyCharged
    );
    let stored = billing
        .store()
        .summary(&acme.id, &id("b-1"))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(stored.balance.refunded, usd(2500));
}

fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    FixedClock::default().now() + chrono::Duration::seconds(seconds)
}

fn email(to: &str, subject: &str) -> OutboundMessage {
    OutboundMessage {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text_body: format!("{subject}\n\nTotal: 215.50 USD\n"),
        html_body: Some(format!("<p>{subject}</p><p>Total: 215.50&nbsp;USD</p>")),
    }
}

/// Queues a notification about `customer` at `seconds` after the test clock's start.
async fn queue<S: NotificationLog>(
    store: &S,
    business: &str,
    id_text: &str,
    customer: &str,
    seconds: i64,
) -> Notification {
    let message = email("ada@example.com", &format!("Receipt {id_text}"));
    let notification = Notification::queued(
        id(id_text),
        id(customer),
        NotificationKind::Receipt,
        &message,
        at(seconds),
    );
    store
        .record_queued(&id(business), &notification, &message)
        .await
        .expect("queued");
    notification
}

fn ids_of(notifications: &[Notification]) -> Vec<String> {
    notifications.iter().map(|n| n.id.to_string()).collect()
}

fn claimed_ids(due: &[DueNotification]) -> Vec<String> {
    due.iter()
        .map(|d| format!("{}/{}", d.business, d.notification.id))
        .collect()
}

/// Notifications and their messages are stored and read back as they were; a customer's log is
/// newest first; ids are unique per business; no business sees another's.
pub async fn notifications_round_trip_and_customer_log<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let first = queue(&store, "acme", "ntf-1", "cust-1", 0).await;
    // Two at the same instant: the later id comes first.
    queue(&store, "acme", "ntf-3", "cust-1", 60).await;
    queue(&store, "acme", "ntf-2", "cust-1", 60).await;
    queue(&store, "acme", "ntf-4", "cust-2", 120).await;
    // Text beyond ASCII, and a message without HTML, come back as they were.
    let message = OutboundMessage {
        to: "zoë@example.com".into(),
        subject: "Reçu — 215.50 USD ✓".into(),
        text_body: "Merci Zoë !\r\nLine two\n".into(),
        html_body: None,
    };
    let link = Notification::queued(
        id("ntf-5"),
        id("cust-1"),
        NotificationKind::PaymentLink,
        &message,
        at(30),
    );
    store
        .record_queued(&acme, &link, &message)
        .await
        .expect("queued");

    assert_eq!(
        store.notification(&acme, &first.id).await.expect("read"),
        Some(first.clone())
    );
    assert_eq!(
        store.notification(&acme, &link.id).await.expect("read"),
        Some(link.clone())
    );
    assert_eq!(
        store.message(&acme, &link.id).await.expect("read"),
        Some(message.clone())
    );
    assert_eq!(
        store.message(&acme, &first.id).await.expect("read"),
        Some(email("ada@example.com", "Receipt ntf-1"))
    );
    assert_eq!(
        store.notification(&acme, &id("ntf-9")).await.expect("read"),
        None
    );
    let log = store
        .customer_log(&acme, &id("cust-1"), 10)
        .await
        .expect("log");
    assert_eq!(ids_of(&log), ["ntf-3", "ntf-2", "ntf-5", "ntf-1"]);
    assert_eq!(log[3], first);
    let page = store
        .customer_log(&acme, &id("cust-1"), 2)
        .await
        .expect("log");
    assert_eq!(ids_of(&page), ["ntf-3", "ntf-2"]);
    assert!(
        store
            .customer_log(&acme, &id("cust-9"), 10)
            .await
            .expect("log")
            .is_empty()
    );

    let again = store
        .record_queued(&acme, &first, &email("eve@example.com", "Again"))
        .await;
    assert_eq!(
        again,
        Err(NotificationLogError::AlreadyExists(first.id.clone()))
    );
    assert_eq!(
        store.message(&acme, &first.id).await.expect("read"),
        Some(email("ada@example.com", "Receipt ntf-1"))
    );

    // Another business: its own id space, and nothing of acme's.
    let globex: BusinessId = id("globex");
    assert_eq!(
        store.notification(&globex, &first.id).await.expect("read"),
        None
    );
    assert_eq!(store.message(&globex, &first.id).await.expect("read"), None);
    assert!(
        store
            .customer_log(&globex, &id("cust-1"), 10)
            .await
            .expect("log")
            .is_empty()
    );
    queue(&store, "globex", "ntf-1", "cust-1", 0).await;
    assert_eq!(
        ids_of(
            &store
                .customer_log(&globex, &id("cust-1"), 10)
                .await
                .expect("log")
        ),
        ["ntf-1"]
    );
    assert_eq!(
        store
            .mark_sent(&globex, &id("ntf-3"), at(1), "250 OK")
            .await,
        Err(NotificationLogError::NotFound(id("ntf-3")))
    );
}

/// Queued notifications are due at once, oldest first; a claim leases them; sent ones are never
/// due again, failed ones when their retry comes, given-up ones never; a lease that runs out
/// makes a message due again; a failure never undoes a delivery.
pub async fn notifications_are_claimed_when_due_and_marked<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    queue(&store, "acme", "ntf-b", "cust-1", 10).await;
    queue(&store, "acme", "ntf-a", "cust-1", 0).await;
    queue(&store, "acme", "ntf-c", "cust-2", 3600).await;

    let claimed = store
        .claim_due(Some(&acme), at(60), at(660), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-a", "acme/ntf-b"]);
    assert!(claimed.iter().all(|d| d.attempts == 0));
    assert_eq!(claimed[0].notification.delivery, DeliveryState::Queued);
    assert_eq!(
        claimed[0].message,
        email("ada@example.com", "Receipt ntf-a")
    );
    // Leased: not due to anyone else until the lease ends.
    assert!(
        store
            .claim_due(Some(&acme), at(60), at(660), 10)
            .await
            .expect("claim")
            .is_empty()
    );

    store
        .mark_sent(&acme, &id("ntf-a"), at(61), "250 2.0.0 queued as 4F2A")
        .await
        .expect("sent");
    let sent = DeliveryState::Sent {
        at: at(61),
        server_reply: "250 2.0.0 queued as 4F2A".into(),
    };
    assert_eq!(
        store
            .notification(&acme, &id("ntf-a"))
            .await
            .expect("read")
            .map(|n| n.delivery),
        Some(sent.clone())
    );
    let retry = DeliveryFailure {
        at: at(61),
        reason: "451 4.3.0 try again later".into(),
        attempts: 1,
        retry_at: Some(at(120)),
    };
    store
        .mark_failed(&acme, &id("ntf-b"), &retry)
        .await
        .expect("failed");
    assert_eq!(
        store
            .notification(&acme, &id("ntf-b"))
            .await
            .expect("read")
            .map(|n| n.delivery),
        Some(DeliveryState::Failed {
            at: at(61),
            reason: "451 4.3.0 try again later".into(),
            attempts: 1,
            retry_at: Some(at(120)),
        })
    );
    // A failure reported after a delivery (a slow worker whose lease ran out) changes nothing.
    store
        .mark_failed(&acme, &id("ntf-a"), &retry)
        .await
        .expect("ignored");
    assert_eq!(
        store
            .notification(&acme, &id("ntf-a"))
            .await
            .expect("read")
            .map(|n| n.delivery),
        Some(sent)
    );

    // Not yet due before its retry time; due at it, with its attempt count.
    assert!(
        store
            .claim_due(Some(&acme), at(119), at(719), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let claimed = store
        .claim_due(Some(&acme), at(120), at(720), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-b"]);
    assert_eq!(claimed[0].attempts, 1);
    assert!(matches!(
        claimed[0].notification.delivery,
        DeliveryState::Failed { attempts: 1, retry_at: Some(lease), .. } if lease == at(720)
    ));
    // Given up: never due again.
    store
        .mark_failed(
            &acme,
            &id("ntf-b"),
            &DeliveryFailure {
                at: at(121),
                reason: "550 5.1.1 no such user".into(),
                attempts: 2,
                retry_at: None,
            },
        )
        .await
        .expect("failed");

    // A day later only the third one is due; its claimer dies, so it is due again when the
    // lease ends, and not before.
    let claimed = store
        .claim_due(Some(&acme), at(86_400), at(87_000), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-c"]);
    assert!(
        store
            .claim_due(Some(&acme), at(86_999), at(87_599), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let claimed = store
        .claim_due(Some(&acme), at(87_000), at(87_600), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-c"]);
    assert_eq!(claimed[0].notification.delivery, DeliveryState::Queued);

    assert_eq!(
        store.mark_sent(&acme, &id("ntf-x"), at(1), "250 OK").await,
        Err(NotificationLogError::NotFound(id("ntf-x")))
    );
    assert_eq!(
        store.mark_failed(&acme, &id("ntf-x"), &retry).await,
        Err(NotificationLogError::NotFound(id("ntf-x")))
    );
}

/// A worker may serve one business or all of them; each claimed notification says whose it is,
/// and a limit takes the longest waiting first.
pub async fn notifications_due_across_businesses<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    queue(&store, "globex", "ntf-1", "cust-1", 20).await;
    queue(&store, "acme", "ntf-1", "cust-1", 30).await;
    queue(&store, "acme", "ntf-2", "cust-1", 10).await;
    queue(&store, "initech", "ntf-1", "cust-1", 30).await;
    let globex: BusinessId = id("globex");
    let only_globex = store
        .claim_due(Some(&globex), at(60), at(120), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&only_globex), ["globex/ntf-1"]);
    let first_two = store
        .claim_due(None, at(60), at(120), 2)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&first_two), ["acme/ntf-2", "acme/ntf-1"]);
    let rest = store
        .claim_due(None, at(60), at(120), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&rest), ["initech/ntf-1"]);
}

/// Two workers with their own connections claiming at once never get the same notification.
pub async fn notifications_are_claimed_once_by_concurrent_workers<F: StoreFixture>(fixture: F) {
    let first = fixture.store().await;
    let second = fixture.second_handle().await;
    for n in 0..24 {
        queue(&first, "acme", &format!("ntf-{n:02}"), "cust-1", n).await;
    }
    let mut claims = Vec::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        claims.push(async move {
            let mut mine = Vec::new();
            loop {
                let due = store
                    .claim_due(None, at(60), at(600), 2)
                    .await
                    .expect("claim");
                if due.is_empty() {
                    return mine;
                }
                mine.extend(claimed_ids(&due));
            }
        });
    }
    let mut all: Vec<String> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .flatten()
        .collect();
    all.sort();
    let expected: Vec<String> = (0..24).map(|n| format!("acme/ntf-{n:02}")).collect();
    assert_eq!(all, expected);
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
        .create_business(&globex, "hash-g")
        .await
        .expect("create");
    store
        .create_business(&acme, "hash-a")
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
        vec![acme, globex]
    );
}

fn token_hash(seed: u8) -> TokenHash {
    LinkToken::from_random([seed; 32]).hash()
}

fn linked(booking: &str, amount: Money, balance_due: Money) -> LinkedBooking {
    LinkedBooking {
        booking: id(booking),
        amount,
        balance_due,
    }
}

/// An open link of `customer` made at `seconds` after the test clock's start, valid a week.
fn open_link(link: &str, customer: &str, purpose: LinkPurpose, seconds: i64) -> PaymentLink {
    PaymentLink {
        id: id(link),
        customer: id(customer),
        purpose,
        created_at: at(seconds),
        expires_at: at(seconds + 7 * 86_400),
        state: LinkState::Open,
    }
}

fn link_ids(links: &[PaymentLink]) -> Vec<String> {
    links.iter().map(|l| l.id.to_string()).collect()
}

/// Links are stored and read back as they were, by id and by token hash; a customer's links
/// are newest first; an id is unique per business and a token hash everywhere, and a refused
/// link writes nothing; no business reads another's links by id.
pub async fn links_round_trip_by_id_and_token<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    // Two bookings with shares that differ from their balances, in a currency of two digits,
    // and one in a currency of three: amounts come back exact, in order, in their currency.
    let payment = open_link(
        "lnk-1",
        "cust-1",
        LinkPurpose::Payment {
            amount: usd(30_050),
            bookings: vec![
                linked("b-2", usd(21_550), usd(21_550)),
                linked("b-1", usd(8_500), usd(10_001)),
            ],
        },
        0,
    );
    let card_request = open_link("lnk-2", "cust-1", LinkPurpose::CardRequest, 60);
    let kwd = |minor| Money::from_minor(minor, Currency::KWD);
    let dinars = open_link(
        "lnk-3",
        "cust-1",
        LinkPurpose::Payment {
            amount: kwd(12_345),
            bookings: vec![linked("b-3", kwd(12_345), kwd(-5))],
        },
        60,
    );
    let other_customer = open_link("lnk-4", "cust-2", LinkPurpose::CardRequest, 120);
    for (link, seed) in [
        (&payment, 1),
        (&card_request, 2),
        (&dinars, 3),
        (&other_customer, 4),
    ] {
        store
            .create_link(&acme, link, &token_hash(seed))
            .await
            .expect("link created");
    }

    for (link, seed) in [(&payment, 1), (&card_request, 2), (&dinars, 3)] {
        assert_eq!(
            store.link(&acme, &link.id).await.expect("read"),
            Some(link.clone())
        );
        assert_eq!(
            store.link_by_token(&token_hash(seed)).await.expect("read"),
            Some(LinkByToken {
                business: acme.clone(),
                link: link.clone(),
                token_hash: token_hash(seed),
            })
        );
    }
    assert_eq!(store.link(&globex, &payment.id).await.expect("read"), None);
    assert_eq!(store.link(&acme, &id("lnk-9")).await.expect("read"), None);
    assert_eq!(
        store.link_by_token(&token_hash(9)).await.expect("read"),
        None
    );

    // Newest first; the two made at the same instant by id, descending.
    let links = store
        .customer_links(&acme, &id("cust-1"), 10)
        .await
        .expect("links");
    assert_eq!(
        links,
        vec![dinars.clone(), card_request.clone(), payment.clone()]
    );
    let page = store
        .customer_links(&acme, &id("cust-1"), 2)
        .await
        .expect("links");
    assert_eq!(link_ids(&page), ["lnk-3", "lnk-2"]);
    assert!(
        store
            .customer_links(&globex, &id("cust-1"), 10)
            .await
            .expect("links")
            .is_empty()
    );
    assert!(
        store
            .customer_links(&acme, &id("cust-9"), 10)
            .await
            .expect("links")
            .is_empty()
    );

    // A taken id (with a fresh hash) and a taken hash (with a fresh id, in either business)
    // are refused, and nothing of them is written.
    let impostor = open_link("lnk-1", "cust-9", LinkPurpose::CardRequest, 600);
    assert_eq!(
        store.create_link(&acme, &impostor, &token_hash(10)).await,
        Err(LinkStoreError::AlreadyExists(id("lnk-1")))
    );
    assert_eq!(
        store.link(&acme, &payment.id).await.expect("read"),
        Some(payment.clone())
    );
    assert_eq!(
        store.link_by_token(&token_hash(10)).await.expect("read"),
        None
    );
    let same_hash = open_link("lnk-9", "cust-9", LinkPurpose::CardRequest, 600);
    for business in [&acme, &globex] {
        assert_eq!(
            store
                .create_link(business, &same_hash, &token_hash(1))
                .await,
            Err(LinkStoreError::AlreadyExists(id("lnk-9")))
        );
        assert_eq!(
            store.link(business, &same_hash.id).await.expect("read"),
            None
        );
    }
    assert_eq!(
        store
            .link_by_token(&token_hash(1))
            .await
            .expect("read")
            .map(|found| (found.business, found.link)),
        Some((acme.clone(), payment.clone()))
    );
    assert!(
        store
            .customer_links(&acme, &id("cust-9"), 10)
            .await
            .expect("links")
            .is_empty()
    );

    // Another business has its own id space.
    store
        .create_link(&globex, &impostor, &token_hash(11))
        .await
        .expect("globex's own lnk-1");
    assert_eq!(
        store.link(&globex, &impostor.id).await.expect("read"),
        Some(impostor.clone())
    );
    assert_eq!(
        store.link(&acme, &payment.id).await.expect("read"),
        Some(payment.clone())
    );
    assert_eq!(
        store
            .link_by_token(&token_hash(11))
            .await
            .expect("read")
            .map(|found| found.business),
        Some(globex.clone())
    );
}

/// A link is closed once: completed or canceled, the first close wins and every later one
/// (even of eight at once through two handles) changes nothing; another business cannot close
/// it.
pub async fn links_close_once<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    let payment = |link: &str, seconds| {
        open_link(
            link,
            "cust-1",
            LinkPurpose::Payment {
                amount: usd(10_000),
                bookings: vec![linked("b-1", usd(10_000), usd(10_000))],
            },
            seconds,
        )
    };
    let paid = payment("lnk-1", 0);
    let card_request = open_link("lnk-2", "cust-1", LinkPurpose::CardRequest, 1);
    let canceled = payment("lnk-3", 2);
    let contested = payment("lnk-4", 3);
    for (link, seed) in [
        (&paid, 1),
        (&card_request, 2),
        (&canceled, 3),
        (&contested, 4),
    ] {
        store
            .create_link(&acme, link, &token_hash(seed))
            .await
            .expect("link created");
    }
    let completed = |seconds, payment: Option<&str>, card: Option<&str>| LinkState::Completed {
        at: at(seconds),
        payment: payment.map(id),
        card: card.map(str::to_owned),
    };
    let read = |link: &PaymentLink| {
        let store = store.clone();
        let (acme, link) = (acme.clone(), link.id.clone());
        async move {
            store
                .link(&acme, &link)
                .await
                .expect("read")
                .expect("present")
        }
    };

    // Completed with a payment and a card; a second close of either kind changes nothing.
    let paid_state = completed(300, Some("pay_1"), Some("pm_card_visa"));
    assert!(
        store
            .close_link(&acme, &paid.id, &paid_state)
            .await
            .expect("close")
    );
    for again in [
        completed(301, Some("pay_2"), None),
        LinkState::Canceled { at: at(302) },
    ] {
        assert!(
            !store
                .close_link(&acme, &paid.id, &again)
                .await
                .expect("close")
        );
    }
    let expected = PaymentLink {
        state: paid_state.clone(),
        ..paid.clone()
    };
    assert_eq!(read(&paid).await, expected);
    assert_eq!(
        store
            .link_by_token(&token_hash(1))
            .await
            .expect("read")
            .map(|found| found.link),
        Some(expected)
    );

    // A card saved, with no payment.
    let saved = completed(400, None, Some("pm_1Q2w3E"));
    assert!(
        store
            .close_link(&acme, &card_request.id, &saved)
            .await
            .expect("close")
    );
    assert_eq!(read(&card_request).await.state, saved);

    // Canceled; then neither completed nor canceled again.
    let canceled_state = LinkState::Canceled { at: at(500) };
    assert!(
        store
            .close_link(&acme, &canceled.id, &canceled_state)
            .await
            .expect("close")
    );
    for again in [
        completed(501, Some("pay_3"), None),
        LinkState::Canceled { at: at(502) },
    ] {
        assert!(
            !store
                .close_link(&acme, &canceled.id, &again)
                .await
                .expect("close")
        );
    }
    assert_eq!(read(&canceled).await.state, canceled_state);

    // Another business, or an unknown link: nothing to close, nothing changes.
    assert!(
        !store
            .close_link(&globex, &contested.id, &LinkState::Canceled { at: at(600) })
            .await
            .expect("close")
    );
    let unknown: LinkId = id("lnk-9");
    assert!(
        !store
            .close_link(&acme, &unknown, &LinkState::Canceled { at: at(600) })
            .await
            .expect("close")
    );
    assert_eq!(read(&contested).await, contested);

    // Eight closes at once through two handles: exactly one wins, and its state is the one
    // stored.
    let second = fixture.second_handle().await;
    let closes = (0..8_u8).map(|n| {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        let (acme, link) = (acme.clone(), contested.id.clone());
        let state = completed(700 + i64::from(n), Some(&format!("pay_{n}")), None);
        async move {
            let closed = handle
                .close_link(&acme, &link, &state)
                .await
                .expect("close");
            (closed, state)
        }
    });
    let winners: Vec<LinkState> = futures_util::future::join_all(closes)
        .await
        .into_iter()
        .filter_map(|(closed, state)| closed.then_some(state))
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(read(&contested).await.state, winners[0]);
}

/// Runs every conformance case as its own `#[tokio::test]`, each on a fresh fixture made by
/// `$fixture` (an expression, awaited if it is a future: write `async { ... }`).
#[macro_export]
macro_rules! store_conformance {
    ($fixture:expr) => {
        $crate::store_conformance!(@cases $fixture;
            bookings_round_trip,
            charges_append_and_fold,
            duplicate_entries_conflict_and_write_nothing,
            dropped_transactions_write_nothing,
            idempotency_keys_claim_complete_release,
            first_responses_are_kept_once,
            replays_return_the_first_result,
            tenants_are_isolated,
            summaries_filter_and_page,
            outstanding_report_sums_balances,
            customers_and_cards,
            businesses_and_keys,
            concurrent_charges_never_exceed_the_balance,
            collections_and_refunds,
            notifications_round_trip_and_customer_log,
            notifications_are_claimed_when_due_and_marked,
            notifications_due_across_businesses,
            notifications_are_claimed_once_by_concurrent_workers,
            links_round_trip_by_id_and_token,
            links_close_once,
            business_email_round_trips
        );
    };
    (@cases $fixture:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture = $fixture.await;
                $crate::testkit::conformance::$case(fixture).await;
            }
        )*
    };
}
