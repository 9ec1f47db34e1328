//! Reads for reports and searches: the payments created in a period, a page at a time, and
//! booking summaries by service date and by a text in their ids.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{StoreFixture, business, charge, id, seed, usd};
use crate::billing::{Billing, RecordCollection, RefundPayment};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::{Business, Customer};
use crate::money::Currency;
use crate::payment::{CollectionMethod, KindName, Payment, PaymentState};
use crate::ports::{BookingFilter, Clock, PaymentsQuery, Store};
use crate::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};

/// The service over a store with a clock the test moves. Each service names its payments
/// from `pay_p_000001` on: two services name their businesses' payments alike.
fn service_at(store: Arc<dyn Store>, clock: &Arc<FixedClock>) -> Billing {
    Billing::new(
        store,
        Arc::new(ScriptedGateway::new()),
        clock.clone(),
        Arc::new(SequentialIds::with_prefix("p")),
        Arc::new(SequentialSecrets::default()),
    )
}

/// A card charge of `minor` cents on `booking`, made now.
async fn charged(billing: &Billing, business: &Business, booking: &str, minor: i64) -> Payment {
    billing
        .charge(business, charge(booking, Some(usd(minor)), None))
        .await
        .expect("charge")
        .payment
}

/// Every page of a period's payments, `limit` at a time: (id, kind, amount, created) in order.
async fn pages(
    store: &dyn Store,
    business: &Business,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Vec<Vec<Payment>> {
    let mut query = PaymentsQuery {
        limit,
        ..PaymentsQuery::between(from, until)
    };
    let mut pages = Vec::new();
    loop {
        let page = store
            .payments_created(&business.id, &query)
            .await
            .expect("payments");
        assert!(page.len() <= limit as usize, "a page keeps to its limit");
        let Some(last) = page.last() else {
            return pages;
        };
        query.after = Some((last.created_at, last.id.clone()));
        pages.push(page);
        assert!(pages.len() < 20, "the pages end");
    }
}

/// The payments created in `[from, until)` come back as they stand now, by creation time then
/// id, a page at a time after a cursor; a payment made at `until`, or another business's, never
/// does.
pub async fn payments_are_read_by_period_and_page<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let clock = Arc::new(FixedClock::default());
    let billing = service_at(store.clone(), &clock);
    // Globex's service names its payments as Acme's does: only the business tells them apart.
    let other = service_at(store.clone(), &clock);
    let (acme, globex) = (business("acme"), business("globex"));
    seed(&billing, &acme, "b-1", 100_000).await;
    seed(&other, &globex, "g-1", 100_000).await;
    let start = clock.now();
    let from = start + Duration::hours(1);
    let until = from + Duration::days(1);
    // Before the period: left out.
    charged(&billing, &acme, "b-1", 100).await;
    charged(&other, &globex, "g-1", 777).await;
    clock.advance(Duration::hours(1));
    // At its start: in.
    let first = charged(&billing, &acme, "b-1", 200).await;
    clock.advance(Duration::hours(1));
    // Two at the same time: by id.
    let second = charged(&billing, &acme, "b-1", 300).await;
    let third = charged(&billing, &acme, "b-1", 400).await;
    charged(&other, &globex, "g-1", 778).await;
    clock.advance(Duration::hours(1));
    let cash = billing
        .record_collection(
            &acme,
            RecordCollection {
                booking: id("b-1"),
                amount: Some(usd(500).into()),
                method: CollectionMethod::Check,
                reference: Some("No. 12".into()),
                idempotency_key: None,
                allow_duplicate: true,
            },
        )
        .await
        .expect("check")
        .payment;
    clock.advance(Duration::hours(1));
    let refund = billing
        .refund(
            &acme,
            RefundPayment {
                payment: first.id.clone(),
                amount: Some(usd(50).into()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .expect("refund")
        .payment;
    // At the period's end: left out.
    clock.advance(until - clock.now());
    charged(&billing, &acme, "b-1", 900).await;
    charged(&other, &globex, "g-1", 779).await;

    let expected = [&first, &second, &third, &cash, &refund];
    assert!(second.id < third.id, "made in this order");
    let all = pages(&*store, &acme, from, until, 100).await;
    assert_eq!(all.len(), 1);
    let found = &all[0];
    assert_eq!(
        found.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        expected.iter().map(|p| p.id.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        found
            .iter()
            .map(|p| (p.kind.name(), p.amount, p.created_at))
            .collect::<Vec<_>>(),
        vec![
            (KindName::Charge, usd(200), from),
            (KindName::Charge, usd(300), from + Duration::hours(1)),
            (KindName::Charge, usd(400), from + Duration::hours(1)),
            (KindName::Collection, usd(500), from + Duration::hours(2)),
            (KindName::Refund, usd(50), from + Duration::hours(3)),
        ]
    );
    assert!(
        found.iter().all(|p| p.state == PaymentState::Succeeded),
        "as they stand: settled"
    );
    assert_eq!(found[0], first, "the payment as it stands, whole");
    // Two at a time: the same payments, in the same order, over three pages.
    let paged = pages(&*store, &acme, from, until, 2).await;
    assert_eq!(
        paged.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    assert_eq!(paged.concat(), *found);
    // A narrower period, and an empty one.
    let middle = pages(
        &*store,
        &acme,
        from + Duration::minutes(30),
        from + Duration::hours(2),
        100,
    )
    .await
    .concat();
    assert_eq!(middle, vec![second.clone(), third.clone()]);
    assert!(pages(&*store, &acme, until, until, 100).await.is_empty());
    // Globex's payments (named like Acme's) are Globex's alone.
    let theirs = pages(&*store, &globex, from, until, 100).await.concat();
    assert_eq!(
        theirs.iter().map(|p| p.amount).collect::<Vec<_>>(),
        vec![usd(778)]
    );
    assert!(
        found.iter().any(|p| p.id == theirs[0].id),
        "one of Acme's is named alike"
    );
    assert!(found.iter().all(|p| p.amount != usd(778)));
    assert!(
        pages(&*store, &business("nobody"), from, until, 100)
            .await
            .is_empty()
    );
}

/// Summaries are found by service date (`[from, until)`, undated bookings left out once a bound
/// is set) and by a text in their id or their customer's, in any case, with the other filters
/// and a page at a time.
pub async fn summaries_filter_by_service_date_and_search<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let clock = Arc::new(FixedClock::default());
    let billing = service_at(store.clone(), &clock);
    let acme = business("acme");
    let day = |n: i64| clock.now() + Duration::days(n);
    billing
        .put_customer(
            &acme,
            Customer {
                id: id("VIP-Zed"),
                name: "Zed".into(),
                email: None,
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    seed(&billing, &acme, "b-3", 3000).await;
    for (booking, customer, service) in [
        ("b-1", "cust-1", Some(day(1))),
        ("B-2", "cust-1", Some(day(2))),
        ("b-4", "VIP-Zed", Some(day(3))),
        ("x-5", "VIP-Zed", Some(day(3) + Duration::seconds(1))),
    ] {
        let account = BookingAccount {
            service_at: service,
            ..BookingAccount::new(
                id(booking),
                id(customer),
                Currency::USD,
                vec![LineItem::new(LineItemKind::Service, "Lawn", usd(1000)).expect("line")],
            )
            .expect("booking")
        };
        billing.put_booking(&acme, account).await.expect("booking");
    }
    billing
        .record_collection(
            &acme,
            RecordCollection {
                booking: id("b-4"),
                amount: None,
                method: CollectionMethod::Cash,
                reference: None,
                idempotency_key: None,
                allow_duplicate: true,
            },
        )
        .await
        .expect("cash");
    let list = |filter: BookingFilter| {
        let store = store.clone();
        let business = acme.id.clone();
        async move {
            store
                .list_summaries(&business, &filter)
                .await
                .expect("list")
                .iter()
                .map(|s| s.booking.to_string())
                .collect::<Vec<_>>()
        }
    };
    let dates = |from: Option<i64>, until: Option<i64>| BookingFilter {
        service_from: from.map(day),
        service_until: until.map(day),
        ..BookingFilter::default()
    };
    // Ids sort by their bytes: upper case first.
    assert_eq!(
        list(BookingFilter::default()).await,
        ["B-2", "b-1", "b-3", "b-4", "x-5"]
    );
    assert_eq!(list(dates(Some(2), None)).await, ["B-2", "b-4", "x-5"]);
    assert_eq!(list(dates(None, Some(2))).await, ["b-1"]);
    assert_eq!(list(dates(Some(1), Some(3))).await, ["B-2", "b-1"]);
    assert_eq!(list(dates(Some(3), Some(3))).await, Vec::<String>::new());
    assert_eq!(list(dates(Some(3), Some(4))).await, ["b-4", "x-5"]);
    let search = |text: &str| BookingFilter {
        search: Some(text.to_owned()),
        ..BookingFilter::default()
    };
    assert_eq!(list(search("b-2")).await, ["B-2"]);
    assert_eq!(list(search("B-")).await, ["B-2", "b-1", "b-3", "b-4"]);
    assert_eq!(
        list(search("zED")).await,
        ["b-4", "x-5"],
        "the customer's id"
    );
    assert_eq!(list(search("CUST")).await, ["B-2", "b-1", "b-3"]);
    assert_eq!(
        list(search("")).await.len(),
        5,
        "an empty text filters nothing"
    );
    assert!(list(search("%")).await.is_empty(), "no wildcard");
    assert!(list(search("_")).await.is_empty(), "no wildcard");
    // With the other filters, and a page at a time.
    let paid = BookingFilter {
        status: Some(crate::status::PaymentStatus::ChargedInFull),
        ..search("zed")
    };
    assert_eq!(list(paid).await, ["b-4"]);
    let page = BookingFilter {
        after: Some(id("b-1")),
        limit: 1,
        service_from: Some(day(1)),
        ..search("b")
    };
    assert_eq!(list(page).await, ["b-4"]);
    let theirs = BookingFilter {
        customer: Some(id("cust-1")),
        ..dates(Some(2), None)
    };
    assert_eq!(list(theirs).await, ["B-2"]);
}
