//! The ledger: bookings, entries, summaries, idempotency records and the outstanding report,
//! read and committed with optimistic concurrency.

use std::sync::Arc;

use super::{StoreFixture, business, charge, id, seed, service, service_with, usd};
use crate::billing::{RecordCollection, RefundPayment};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, BusinessId};
use crate::money::{Currency, Money};
use crate::payment::{CollectionMethod, PaymentState};
use crate::ports::{
    BookingFilter, Clock, Committed, IdempotencyRecord, KeyUpdate, LedgerError, LedgerRead,
    LedgerWrite, OutstandingQuery, Store,
};
use crate::status::PaymentStatus;
use crate::testkit::{FixedClock, Scripted};

/// The record a claim stores.
fn record(key: &str, payment: &str, fingerprint: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        key: IdempotencyKey::new(key).expect("key"),
        fingerprint: Fingerprint(fingerprint.into()),
        payment: id(payment),
        completed: false,
        created_at: FixedClock::default().now(),
        first_answer: None,
    }
}

/// The record under a key, read back.
async fn key_record(
    store: &dyn Store,
    business: &BusinessId,
    key: &str,
) -> Option<IdempotencyRecord> {
    let key = IdempotencyKey::new(key).expect("key");
    store
        .read(business, &LedgerRead::bookings(&[]).with_key(Some(&key)))
        .await
        .expect("read")
        .key
}

/// One booking's ledger, read back.
async fn ledger_of(
    store: &dyn Store,
    business: &BusinessId,
    booking: &str,
) -> crate::ports::BookingLedger {
    let ids: Vec<BookingId> = vec![id(booking)];
    store
        .read(business, &LedgerRead::bookings(&ids))
        .await
        .expect("read")
        .ledgers
        .remove(0)
}

/// A booking's stored summary, from the list.
async fn stored_summary(
    store: &dyn Store,
    business: &BusinessId,
    booking: &str,
) -> Option<crate::status::BookingSummary> {
    store
        .list_summaries(business, &BookingFilter::default())
        .await
        .expect("list")
        .into_iter()
        .find(|s| s.booking.as_str() == booking)
}

/// A booking is stored and read back as it was, with its version; unknown bookings are absent;
/// its summary carries its dates.
pub async fn bookings_round_trip<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 21550).await;
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert_eq!(view.account.price(), Ok(usd(21550)));
    assert_eq!(view.summary.status.status, PaymentStatus::NotCharged);
    let ids: Vec<BookingId> = vec![id("b-1"), id("nope")];
    let read = store
        .read(&acme.id, &LedgerRead::bookings(&ids))
        .await
        .expect("read");
    assert_eq!(read.ledgers.len(), 1);
    assert_eq!(read.ledgers[0].account, view.account);
    assert_eq!(read.ledgers[0].version, 1, "one write so far");
    assert!(read.ledgers[0].entries.is_empty());
    // Dates, to the microsecond every store keeps, come back with the booking and summary.
    let service_at = FixedClock::default().now() + chrono::Duration::microseconds(86_400_000_123);
    let dated = BookingAccount {
        service_at: Some(service_at),
        completed_at: Some(service_at + chrono::Duration::hours(3)),
        ..view.account.clone()
    };
    billing
        .put_booking(&acme, dated.clone())
        .await
        .expect("put");
    let again = ledger_of(&*store, &acme.id, "b-1").await;
    assert_eq!(again.account, dated);
    assert_eq!(again.version, 2);
    let summary = stored_summary(&*store, &acme.id, "b-1")
        .await
        .expect("summary");
    assert_eq!(summary.balance.balance_due, usd(21550));
    assert_eq!(summary.service_at, dated.service_at);
    assert_eq!(summary.completed_at, dated.completed_at);
}

/// Charges are appended and read back; the summary follows.
pub async fn charges_append_and_fold<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
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
    let stored = stored_summary(&*store, &acme.id, "b-1")
        .await
        .expect("present");
    assert_eq!(stored.balance.paid, usd(21550));
    assert_eq!(stored.status.status, PaymentStatus::ChargedInFull);
    assert_eq!(
        store
            .payment_bookings(&acme.id, &rest.payment.id)
            .await
            .expect("read"),
        Some(vec![id("b-1")])
    );
    // Two commits per charge (open, then the outcome), after the booking's own write.
    assert_eq!(ledger_of(&*store, &acme.id, "b-1").await.version, 5);
}

/// A commit lands only while every booking it read is at the version read, and an entry whose
/// (payment, seq) exists is a conflict: either way nothing of the write lands (neither its
/// entries, summaries, accounts nor its key claim). A new booking is read at version 0.
pub async fn commits_check_versions_and_write_nothing_on_conflict<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    billing
        .charge(&acme, charge("b-1", Some(usd(1000)), None))
        .await
        .expect("charge");
    let before = ledger_of(&*store, &acme.id, "b-1").await;
    let summary_before = stored_summary(&*store, &acme.id, "b-1").await;
    let mut renamed = before.account.clone();
    renamed.line_items.clear();
    let mut entry = before.entries[0].clone();
    entry.payment = id("pay_new");
    let mut summary = summary_before.clone().expect("summary");
    summary.balance.price = usd(1);
    let stale = LedgerWrite {
        read: vec![(id("b-1"), before.version - 1)],
        claim: Some(record("k-stale", "pay_new", "f")),
        bookings: vec![renamed.clone()],
        entries: vec![entry.clone()],
        summaries: vec![summary.clone()],
        key: None,
        payment_days: Vec::new(),
    };
    let result = store.commit(&acme.id, &stale).await;
    assert!(
        matches!(result, Err(LedgerError::Conflict(_))),
        "{result:?}"
    );
    // The same write with an entry that exists: a conflict too.
    let duplicate = LedgerWrite {
        read: vec![(id("b-1"), before.version)],
        claim: Some(record("k-dup", "pay_new", "f")),
        entries: vec![before.entries[0].clone()],
        ..stale.clone()
    };
    let result = store.commit(&acme.id, &duplicate).await;
    assert!(
        matches!(result, Err(LedgerError::Conflict(_))),
        "{result:?}"
    );
    assert_eq!(ledger_of(&*store, &acme.id, "b-1").await, before);
    assert_eq!(
        stored_summary(&*store, &acme.id, "b-1").await,
        summary_before
    );
    assert_eq!(key_record(&*store, &acme.id, "k-stale").await, None);
    assert_eq!(key_record(&*store, &acme.id, "k-dup").await, None);
    // At the version read, it lands, and the booking is one version further.
    let fresh = LedgerWrite {
        read: vec![(id("b-1"), before.version)],
        ..stale
    };
    assert_eq!(
        store.commit(&acme.id, &fresh).await.expect("commit"),
        Committed::Written
    );
    let after = ledger_of(&*store, &acme.id, "b-1").await;
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.account, renamed);
    assert_eq!(after.entries.len(), before.entries.len() + 1);
    assert_eq!(
        stored_summary(&*store, &acme.id, "b-1")
            .await
            .map(|s| s.balance.price),
        Some(usd(1))
    );
    // A booking not stored yet is read at version 0; once written, 0 is stale.
    let new_booking = BookingAccount::new(
        id("b-new"),
        id("cust-1"),
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Windows", usd(500)).expect("line")],
    )
    .expect("booking");
    let create = LedgerWrite {
        read: vec![(id("b-new"), 0)],
        bookings: vec![new_booking.clone()],
        ..LedgerWrite::default()
    };
    store.commit(&acme.id, &create).await.expect("create");
    let result = store.commit(&acme.id, &create).await;
    assert!(
        matches!(result, Err(LedgerError::Conflict(_))),
        "{result:?}"
    );
    assert_eq!(ledger_of(&*store, &acme.id, "b-new").await.version, 1);
}

/// Idempotency keys: a claim stores the record; a second claim finds it taken and writes
/// nothing else of its write; completion keeps the first answer only; release forgets it;
/// another business has its own keys.
pub async fn idempotency_keys_claim_complete_release<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    let first = record("order-42/charge", "pay_1", "charge|b-1");
    let claim = LedgerWrite {
        claim: Some(first.clone()),
        ..LedgerWrite::default()
    };
    assert_eq!(
        store.commit(&acme.id, &claim).await.expect("claim"),
        Committed::Written
    );
    assert_eq!(
        key_record(&*store, &acme.id, "order-42/charge").await,
        Some(first.clone())
    );
    let before = ledger_of(&*store, &acme.id, "b-1").await;
    let mut changed = before.account.clone();
    changed.line_items.clear();
    let second = LedgerWrite {
        read: vec![(id("b-1"), before.version)],
        claim: Some(record("order-42/charge", "pay_2", "other")),
        bookings: vec![changed],
        ..LedgerWrite::default()
    };
    assert_eq!(
        store.commit(&acme.id, &second).await.expect("claim"),
        Committed::KeyTaken(Box::new(first.clone()))
    );
    assert_eq!(
        ledger_of(&*store, &acme.id, "b-1").await,
        before,
        "nothing else landed"
    );
    // Completed with a first answer; a later answer does not replace it.
    let receipt = billing
        .charge(&acme, charge("b-1", Some(usd(2500)), None))
        .await
        .expect("charge");
    let complete = |answer: Option<crate::receipt::Receipt>| LedgerWrite {
        key: Some(KeyUpdate::Complete {
            key: first.key.clone(),
            first_answer: answer.map(Box::new),
        }),
        ..LedgerWrite::default()
    };
    store
        .commit(&acme.id, &complete(Some(receipt.clone())))
        .await
        .expect("complete");
    let mut later = receipt.clone();
    later.bookings.clear();
    store
        .commit(&acme.id, &complete(Some(later)))
        .await
        .expect("complete again");
    let stored = key_record(&*store, &acme.id, "order-42/charge")
        .await
        .expect("present");
    assert!(stored.completed);
    assert_eq!(stored.payment, first.payment);
    assert_eq!(stored.first_answer, Some(Box::new(receipt)));
    assert_eq!(
        key_record(&*store, &id("globex"), "order-42/charge").await,
        None
    );
    let release = LedgerWrite {
        key: Some(KeyUpdate::Release(first.key.clone())),
        ..LedgerWrite::default()
    };
    store.commit(&acme.id, &release).await.expect("release");
    assert_eq!(key_record(&*store, &acme.id, "order-42/charge").await, None);
}

/// A command's first settled answer is kept with its key exactly — quotes, backslashes,
/// newlines and text beyond ASCII in references and failures, several bookings, dates — and a
/// replay answers it, even after the payment was refunded, and even for a decline.
pub async fn first_answers_are_kept_once_and_exactly<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, gateway) = service(store.clone(), "s");
    let shop = business("shop");
    seed(&billing, &shop, "b-1", 10000).await;
    let cash = billing
        .record_collection(
            &shop,
            RecordCollection {
                booking: id("b-1"),
                amount: Some(usd(1250).into()),
                method: CollectionMethod::Other("Venmo \"été\" ☃".into()),
                reference: Some("O'Brien \\ tx\n\t#99".into()),
                idempotency_key: Some(IdempotencyKey::new("k-cash").expect("key")),
                allow_duplicate: false,
            },
        )
        .await
        .expect("collection");
    let stored = key_record(&*store, &shop.id, "k-cash")
        .await
        .expect("record");
    assert_eq!(stored.first_answer, Some(Box::new(cash.clone())));
    let charged = billing
        .charge(&shop, charge("b-1", Some(usd(2500)), Some("k-ok")))
        .await
        .expect("charge");
    billing
        .refund(
            &shop,
            RefundPayment {
                payment: charged.payment.id.clone(),
                amount: None,
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .expect("refund");
    let again = billing
        .charge(&shop, charge("b-1", Some(usd(2500)), Some("k-ok")))
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(
        crate::receipt::Receipt {
            replayed: false,
            ..again
        },
        charged,
        "the first answer, though the payment was refunded since"
    );
    gateway.script(Scripted::Decline("insufficient_funds".into()));
    let declined = billing
        .charge(&shop, charge("b-1", Some(usd(1000)), Some("k-no")))
        .await
        .expect("a decline is an answer");
    assert!(matches!(declined.payment.state, PaymentState::Failed(_)));
    let replayed = billing
        .charge(&shop, charge("b-1", Some(usd(1000)), Some("k-no")))
        .await
        .expect("the decline again");
    assert!(replayed.replayed);
    assert_eq!(replayed.payment, declined.payment);
    assert_eq!(replayed.bookings, declined.bookings);
    assert_eq!(gateway.count("charge"), 2);
}

/// A read brings the record under the key asked for, and the first booking's customer with
/// their cards (default first) when asked; nothing of the kind when not asked or not found.
pub async fn reads_bring_the_key_and_the_payer<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    billing
        .charge(&acme, charge("b-1", Some(usd(100)), Some("k-1")))
        .await
        .expect("charge");
    let ids: Vec<BookingId> = vec![id("b-1")];
    let key = IdempotencyKey::new("k-1").expect("key");
    let plain = store
        .read(&acme.id, &LedgerRead::bookings(&ids))
        .await
        .expect("read");
    assert_eq!(plain.key, None);
    assert_eq!(plain.payer, None);
    let full = store
        .read(
            &acme.id,
            &LedgerRead::bookings(&ids).with_key(Some(&key)).with_payer(),
        )
        .await
        .expect("read");
    assert_eq!(full.key.map(|r| r.completed), Some(true));
    let (customer, cards) = full.payer.expect("payer");
    assert_eq!(customer.id.as_str(), "cust-1");
    assert_eq!(
        cards.iter().map(|c| c.is_default).collect::<Vec<_>>(),
        vec![true]
    );
    let unknown: Vec<BookingId> = vec![id("nope")];
    let none = store
        .read(&acme.id, &LedgerRead::bookings(&unknown).with_payer())
        .await
        .expect("read");
    assert!(none.ledgers.is_empty() && none.payer.is_none());
}

/// The service's idempotency through the store: a replay returns the first payment, another
/// request under the key is refused.
pub async fn replays_return_the_first_result<F: StoreFixture>(fixture: F) {
    let (billing, gateway) = service(fixture.store().await, "a");
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
        matches!(other, Err(BillingError::IdempotencyKeyReused(_))),
        "{other:?}"
    );
    assert_eq!(gateway.count("charge"), 1);
    let view = billing.booking(&acme, &id("b-1")).await.expect("booking");
    assert_eq!(view.summary.balance.paid, usd(2500));
}

/// No business sees another's bookings, payments, customers, keys or reports.
pub async fn tenants_are_isolated<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
    let acme = business("acme");
    let globex = business("globex");
    seed(&billing, &acme, "b-1", 10000).await;
    let receipt = billing
        .charge(&acme, charge("b-1", Some(usd(1000)), Some("k")))
        .await
        .expect("charge");
    let ids: Vec<BookingId> = vec![id("b-1")];
    let key = IdempotencyKey::new("k").expect("key");
    let theirs = store
        .read(
            &globex.id,
            &LedgerRead::bookings(&ids).with_key(Some(&key)).with_payer(),
        )
        .await
        .expect("read");
    assert!(theirs.ledgers.is_empty() && theirs.key.is_none() && theirs.payer.is_none());
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
            .outstanding(&globex.id, &OutstandingQuery::default())
            .await
            .expect("report")
            .is_empty()
    );
    assert!(
        store
            .outstanding_totals(&globex.id)
            .await
            .expect("totals")
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
    // A write of another business cannot touch acme's booking: b-1 is new there.
    let foreign = LedgerWrite {
        read: vec![(id("b-1"), 0)],
        ..LedgerWrite::default()
    };
    store.commit(&globex.id, &foreign).await.expect("commit");
    assert_eq!(ledger_of(&*store, &acme.id, "b-1").await.version, 3);
    assert!(matches!(
        billing.booking(&globex, &id("b-1")).await,
        Err(BillingError::BookingNotFound(_))
    ));
}

/// 64 concurrent charge attempts on one booking, from two service instances with their own
/// connections, never charge more than the balance due.
pub async fn concurrent_charges_never_exceed_the_balance<F: StoreFixture>(fixture: F) {
    let acme = business("acme");
    let (first, gateway) = service(fixture.store().await, "one");
    let first = Arc::new(first);
    let second = Arc::new(service_with(fixture.second_handle().await, &gateway, "two"));
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
    assert_eq!(gateway.count("charge"), view.payments.len());
    assert_eq!(gateway.total_received(Currency::USD), paid);
}

/// Collections and refunds through the store keep the balance exact.
pub async fn collections_and_refunds<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
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
            RefundPayment {
                payment: cash.payment.id.clone(),
                amount: Some(usd(2500).into()),
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
    let stored = stored_summary(&*store, &acme.id, "b-1")
        .await
        .expect("present");
    assert_eq!(stored.balance.refunded, usd(2500));
}
