//! Lists and reports: booking summaries by filter and page, and what customers owe.

use super::{StoreFixture, business, charge, id, seed, service, usd};
use crate::billing::{AuthorizeBooking, PaymentSource, RecordCollection, RefundPayment};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::Customer;
use crate::money::{Currency, Money};
use crate::payment::CollectionMethod;
use crate::ports::{BookingFilter, OutstandingTotal};
use crate::status::PaymentStatus;

/// Summaries are listed by customer, status, pending and holding, in booking order, a page at
/// a time.
pub async fn summaries_filter_and_page<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
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
    assert_eq!(
        list(BookingFilter::default()).await,
        ["b-1", "b-2", "b-3", "b-4"]
    );
    let paid = BookingFilter {
        status: Some(PaymentStatus::ChargedInFull),
        ..BookingFilter::default()
    };
    assert_eq!(list(paid).await, ["b-2"]);
    let page = BookingFilter {
        after: Some(id("b-1")),
        limit: 2,
        ..BookingFilter::default()
    };
    assert_eq!(list(page).await, ["b-2", "b-3"]);
    let theirs = BookingFilter {
        customer: Some(id("someone-else")),
        ..BookingFilter::default()
    };
    assert!(list(theirs).await.is_empty());
    let pending = BookingFilter {
        pending: Some(true),
        ..BookingFilter::default()
    };
    assert!(list(pending).await.is_empty());
    // A hold on b-4: the one booking whose summary counts a hold.
    billing
        .authorize(
            &acme,
            AuthorizeBooking {
                booking: id("b-4"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    let holding = |held| BookingFilter {
        holding: Some(held),
        ..BookingFilter::default()
    };
    assert_eq!(list(holding(true)).await, ["b-4"]);
    assert_eq!(list(holding(false)).await, ["b-1", "b-2", "b-3"]);
}

/// The outstanding report sums positive balances per customer and currency, a page at a time,
/// and keeps the totals per currency as balances move (charges, refunds, price changes).
pub async fn outstanding_report_sums_balances<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (billing, _) = service(store.clone(), "a");
    let acme = business("acme");
    seed(&billing, &acme, "b-1", 10000).await;
    seed(&billing, &acme, "b-2", 5050).await;
    let paid = billing
        .charge(&acme, charge("b-2", None, None))
        .await
        .expect("charge");
    for (customer, booking, currency, minor) in [
        ("cust-2", "b-3", Currency::USD, 7525),
        ("cust-3", "b-4", Currency::USD, 100),
        ("cust-3", "b-5", Currency::JPY, 5000),
    ] {
        billing
            .put_customer(
                &acme,
                Customer {
                    id: id(customer),
                    name: "Grace".into(),
                    email: None,
                    phone: None,
                    gateway_customer: None,
                },
            )
            .await
            .expect("customer");
        let account = BookingAccount::new(
            id(booking),
            id(customer),
            currency,
            vec![
                LineItem::new(
                    LineItemKind::Service,
                    "Lawn",
                    Money::from_minor(minor, currency),
                )
                .expect("line"),
            ],
        )
        .expect("booking");
        billing.put_booking(&acme, account).await.expect("booking");
    }
    let page = billing.outstanding(&acme, None, 2).await.expect("report");
    let rows = |page: &crate::billing::OutstandingPage| -> Vec<(String, Money, u64)> {
        page.customers
            .iter()
            .map(|r| (r.customer.to_string(), r.balance_due, r.bookings))
            .collect()
    };
    assert_eq!(
        rows(&page),
        vec![
            ("cust-1".to_owned(), usd(10000), 1),
            ("cust-2".to_owned(), usd(7525), 1)
        ]
    );
    assert_eq!(page.next_after, Some((id("cust-2"), Currency::USD)));
    let next = billing
        .outstanding(&acme, page.next_after.as_ref(), 2)
        .await
        .expect("report");
    assert_eq!(
        rows(&next),
        vec![
            (
                "cust-3".to_owned(),
                Money::from_minor(5000, Currency::JPY),
                1
            ),
            ("cust-3".to_owned(), usd(100), 1)
        ]
    );
    let total = |minor, currency, bookings| OutstandingTotal {
        balance_due: Money::from_minor(minor, currency),
        bookings,
    };
    assert_eq!(
        page.totals,
        vec![
            total(5000, Currency::JPY, 1),
            total(17625, Currency::USD, 3)
        ]
    );
    // A refund makes b-2 owe again; a discount lowers b-1; a charge settles b-4.
    billing
        .refund(
            &acme,
            RefundPayment {
                payment: paid.payment.id.clone(),
                amount: Some(usd(1050).into()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .expect("refund");
    billing
        .adjust_price(
            &acme,
            &id("b-1"),
            LineItem::new(LineItemKind::Discount, "Loyalty", usd(1000))
                .expect("line")
                .into(),
        )
        .await
        .expect("adjust");
    billing
        .record_collection(
            &acme,
            RecordCollection {
                booking: id("b-4"),
                amount: None,
                method: CollectionMethod::Cash,
                reference: None,
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await
        .expect("cash");
    let after = billing.outstanding(&acme, None, 10).await.expect("report");
    assert_eq!(
        rows(&after),
        vec![
            ("cust-1".to_owned(), usd(10050), 2),
            ("cust-2".to_owned(), usd(7525), 1),
            (
                "cust-3".to_owned(),
                Money::from_minor(5000, Currency::JPY),
                1
            ),
        ]
    );
    assert_eq!(after.next_after, None);
    assert_eq!(
        after.totals,
        vec![
            total(5000, Currency::JPY, 1),
            total(17575, Currency::USD, 3)
        ]
    );
    assert_eq!(
        billing
            .customer_balance(&acme, &id("cust-3"))
            .await
            .expect("balance"),
        vec![Money::from_minor(5000, Currency::JPY)]
    );
}
