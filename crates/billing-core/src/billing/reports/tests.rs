//! The payments report: what counts where, the days of a period, the store read a page at a
//! time, one business only; and, for any payments, totals that are the sum of the days.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::billing::{
    AuthorizeBooking, CaptureHold, ChargeBooking, PaymentSource, RecordCollection, RefundPayment,
};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::Money;
use crate::payment::{CardRef, CollectionMethod, Failure, Origin, PaymentKind, PaymentState};
use crate::ports::Clock;
use crate::testkit::{
    FixedClock, MemoryStore, Scripted, ScriptedGateway, SequentialIds, SequentialSecrets,
    seed_customer_with_card,
};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn jpy(minor: i64) -> Money {
    Money::from_minor(minor, Currency::JPY)
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .single()
        .expect("a time")
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).expect("a date")
}

fn card() -> CardRef {
    CardRef {
        gateway_customer: "cus_1".into(),
        payment_method: "pm_card_visa".into(),
    }
}

/// A payment as it stands, made by hand.
fn payment(
    n: u32,
    kind: PaymentKind,
    state: PaymentState,
    amount: Money,
    created_at: DateTime<Utc>,
) -> Payment {
    Payment {
        id: PaymentId::new(format!("pay_{n}")).expect("id"),
        customer: CustomerId::new("cust-1").expect("id"),
        kind,
        amount,
        allocations: Vec::new(),
        state,
        gateway_reference: None,
        hold_expires_at: None,
        multicapture: false,
        origin: Origin::Command,
        created_at,
        updated_at: created_at,
        entries: 1,
    }
}

/// Adds `totals` to the row of its currency.
fn add_to(
    rows: &mut BTreeMap<Currency, PaymentTotals>,
    totals: &PaymentTotals,
) -> Result<(), MoneyError> {
    let row = rows
        .entry(totals.currency())
        .or_insert_with(|| PaymentTotals::zero(totals.currency()));
    *row = row.checked_add(totals)?;
    Ok(())
}

/// The rows of a map, by currency code.
fn by_code(rows: BTreeMap<Currency, PaymentTotals>) -> Vec<PaymentTotals> {
    let mut rows: Vec<PaymentTotals> = rows.into_values().collect();
    rows.sort_by(|a, b| a.currency().code().cmp(b.currency().code()));
    rows
}

fn collection(method: CollectionMethod) -> PaymentKind {
    PaymentKind::Collection {
        method,
        reference: None,
    }
}

fn totals(currency: Currency, [charged, cash, check, other, refunded]: [i64; 5]) -> PaymentTotals {
    let money = |minor| Money::from_minor(minor, currency);
    PaymentTotals {
        charged: money(charged),
        cash: money(cash),
        check: money(check),
        other: money(other),
        refunded: money(refunded),
    }
}

#[test]
fn each_payment_counts_in_its_column_once_it_succeeded() {
    let of = |n, kind, state, amount| PaymentTotals::of(&payment(n, kind, state, amount, at(2, 9)));
    let ok = PaymentState::Succeeded;
    let charge = PaymentKind::Charge { card: card() };
    assert_eq!(
        of(1, charge.clone(), ok.clone(), usd(500)),
        totals(Currency::USD, [500, 0, 0, 0, 0])
    );
    let capture = PaymentKind::Capture {
        authorization: PaymentId::new("pay_0").expect("id"),
        final_capture: true,
    };
    assert_eq!(
        of(2, capture, ok.clone(), usd(700)),
        totals(Currency::USD, [700, 0, 0, 0, 0])
    );
    for (method, expected) in [
        (CollectionMethod::Cash, [0, 300, 0, 0, 0]),
        (CollectionMethod::Check, [0, 0, 300, 0, 0]),
        (CollectionMethod::ETransfer, [0, 0, 0, 300, 0]),
        (CollectionMethod::Other("Venmo".into()), [0, 0, 0, 300, 0]),
    ] {
        assert_eq!(
            of(3, collection(method), ok.clone(), usd(300)),
            totals(Currency::USD, expected)
        );
    }
    let refund = PaymentKind::Refund {
        of: PaymentId::new("pay_1").expect("id"),
        reason: None,
    };
    assert_eq!(
        of(4, refund.clone(), ok.clone(), usd(120)),
        totals(Currency::USD, [0, 0, 0, 0, 120])
    );
    // Money that did not move, or is only held or disputed, counts nothing.
    let failed = PaymentState::Failed(Failure::marked_failed());
    for (kind, state) in [
        (charge.clone(), PaymentState::Pending),
        (charge.clone(), PaymentState::RequiresAction),
        (charge.clone(), failed.clone()),
        (refund, PaymentState::Pending),
        (
            PaymentKind::Authorization { card: card() },
            PaymentState::Authorized,
        ),
        (
            PaymentKind::Authorization { card: card() },
            PaymentState::Captured,
        ),
        (
            PaymentKind::Dispute {
                of: PaymentId::new("pay_1").expect("id"),
                reason: None,
            },
            ok.clone(),
        ),
    ] {
        assert!(of(5, kind, state, usd(900)).is_zero());
    }
    let mixed = totals(Currency::USD, [1000, 200, 300, 400, 150]);
    assert_eq!(mixed.taken(), Ok(usd(1900)));
    assert_eq!(mixed.net(), Ok(usd(1750)));
}

#[test]
fn a_report_has_every_day_of_its_period_and_totals_per_currency() {
    let ok = PaymentState::Succeeded;
    let charge = PaymentKind::Charge { card: card() };
    let payments = vec![
        // Before the period, and at its end: left out.
        payment(1, charge.clone(), ok.clone(), usd(9_999), at(1, 23)),
        payment(2, charge.clone(), ok.clone(), usd(1_000), at(2, 0)),
        payment(
            3,
            collection(CollectionMethod::Cash),
            ok.clone(),
            usd(250),
            at(2, 18),
        ),
        payment(
            4,
            collection(CollectionMethod::Check),
            ok.clone(),
            jpy(5_000),
            at(2, 19),
        ),
        payment(
            5,
            PaymentKind::Refund {
                of: PaymentId::new("pay_2").expect("id"),
                reason: None,
            },
            ok.clone(),
            usd(100),
            at(4, 12),
        ),
        payment(
            6,
            charge.clone(),
            PaymentState::Pending,
            usd(800),
            at(4, 13),
        ),
        payment(7, charge, ok, usd(9_999), at(5, 0)),
    ];
    let report = PaymentsReport::tally(at(2, 0), at(5, 0), &payments).expect("report");
    assert_eq!(
        report.days.iter().map(|d| d.day).collect::<Vec<_>>(),
        vec![date(2), date(3), date(4)]
    );
    assert_eq!(
        report.days[0].totals,
        vec![
            totals(Currency::JPY, [0, 0, 5_000, 0, 0]),
            totals(Currency::USD, [1_000, 250, 0, 0, 0]),
        ]
    );
    assert!(report.days[1].totals.is_empty(), "nothing moved that day");
    assert_eq!(
        report.days[2].totals,
        vec![totals(Currency::USD, [0, 0, 0, 0, 100])]
    );
    assert_eq!(
        report.totals,
        vec![
            totals(Currency::JPY, [0, 0, 5_000, 0, 0]),
            totals(Currency::USD, [1_000, 250, 0, 0, 100]),
        ]
    );
    // A period that starts and ends within days has those days; an empty one has none.
    let partial = PaymentsReport::tally(at(2, 12), at(3, 1), &payments).expect("report");
    assert_eq!(
        partial.days.iter().map(|d| d.day).collect::<Vec<_>>(),
        vec![date(2), date(3)]
    );
    assert_eq!(
        partial.totals,
        vec![
            totals(Currency::JPY, [0, 0, 5_000, 0, 0]),
            totals(Currency::USD, [0, 250, 0, 0, 0]),
        ]
    );
    let empty = PaymentsReport::tally(at(3, 0), at(3, 0), &payments).expect("report");
    assert!(empty.days.is_empty() && empty.totals.is_empty());
}

/// A service over a fresh store with one customer (card on file) of `business`, and bookings.
async fn service(
    store: &Arc<MemoryStore>,
    clock: &Arc<FixedClock>,
    gateway: &ScriptedGateway,
    business: &Business,
    bookings: &[(&str, i64)],
) -> Billing {
    let customer = CustomerId::new("cust-1").expect("id");
    seed_customer_with_card(&**store, &business.id, &customer)
        .await
        .expect("customer");
    let billing = Billing::new(
        store.clone(),
        Arc::new(gateway.clone()),
        clock.clone(),
        Arc::new(SequentialIds::with_prefix(business.id.as_str())),
        Arc::new(SequentialSecrets::default()),
    );
    for (id, minor) in bookings {
        let account = BookingAccount::new(
            BookingId::new(*id).expect("id"),
            customer.clone(),
            Currency::USD,
            vec![LineItem::new(LineItemKind::Service, "Lawn", usd(*minor)).expect("line")],
        )
        .expect("booking");
        billing.put_booking(business, account).await.expect("put");
    }
    billing
}

fn business(id: &str) -> Business {
    Business {
        id: id.parse().expect("id"),
        name: id.into(),
        gateway_account: None,
        email: None,
    }
}

fn charge(booking: &str, minor: i64) -> ChargeBooking {
    ChargeBooking {
        booking: BookingId::new(booking).expect("id"),
        amount: Some(usd(minor).into()),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

fn collect(booking: &str, minor: i64, method: CollectionMethod) -> RecordCollection {
    RecordCollection {
        booking: BookingId::new(booking).expect("id"),
        amount: Some(usd(minor).into()),
        method,
        reference: None,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

#[tokio::test]
async fn the_report_counts_what_the_business_took_and_gave_back_each_day() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::at(at(2, 9)));
    // Holds run out on the service's clock.
    let gateway = ScriptedGateway::with_clock(clock.clone());
    let (acme, globex) = (business("acme"), business("globex"));
    let billing = service(&store, &clock, &gateway, &acme, &[("b-1", 100_000)]).await;
    let theirs = service(&store, &clock, &gateway, &globex, &[("g-1", 100_000)]).await;
    let card = billing
        .charge(&acme, charge("b-1", 10_000))
        .await
        .expect("charge");
    theirs
        .charge(&globex, charge("g-1", 77_700))
        .await
        .expect("theirs");
    gateway.script(Scripted::Decline("insufficient_funds".into()));
    billing
        .charge(&acme, charge("b-1", 5_000))
        .await
        .expect("declined, recorded");
    billing
        .record_collection(&acme, collect("b-1", 2_000, CollectionMethod::Cash))
        .await
        .expect("cash");
    clock.advance(TimeDelta::days(1));
    billing
        .record_collection(&acme, collect("b-1", 3_000, CollectionMethod::Check))
        .await
        .expect("check");
    billing
        .record_collection(&acme, collect("b-1", 400, CollectionMethod::ETransfer))
        .await
        .expect("e-transfer");
    let hold = billing
        .authorize(
            &acme,
            AuthorizeBooking {
                booking: BookingId::new("b-1").expect("id"),
                amount: Some(usd(6_000).into()),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    clock.advance(TimeDelta::days(1));
    billing
        .capture(
            &acme,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: Some(usd(4_500).into()),
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await
        .expect("capture");
    billing
        .refund(
            &acme,
            RefundPayment {
                payment: card.payment.id.clone(),
                amount: Some(usd(1_500).into()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .expect("refund");
    let report = billing
        .payments_report(&acme, at(1, 0), at(5, 0))
        .await
        .expect("report");
    let days: Vec<(NaiveDate, Vec<PaymentTotals>)> = report
        .days
        .iter()
        .map(|d| (d.day, d.totals.clone()))
        .collect();
    assert_eq!(
        days,
        vec![
            (date(1), vec![]),
            (
                date(2),
                vec![totals(Currency::USD, [10_000, 2_000, 0, 0, 0])]
            ),
            (date(3), vec![totals(Currency::USD, [0, 0, 3_000, 400, 0])]),
            (
                date(4),
                vec![totals(Currency::USD, [4_500, 0, 0, 0, 1_500])]
            ),
        ]
    );
    assert_eq!(
        report.totals,
        vec![totals(Currency::USD, [14_500, 2_000, 3_000, 400, 1_500])]
    );
    // Globex's report is Globex's.
    let other = theirs
        .payments_report(&globex, at(1, 0), at(5, 0))
        .await
        .expect("report");
    assert_eq!(
        other.totals,
        vec![totals(Currency::USD, [77_700, 0, 0, 0, 0])]
    );
    // A day's period: the payments of that day only.
    let today = billing
        .payments_report(&acme, at(3, 0), at(4, 0))
        .await
        .expect("report");
    assert_eq!(
        today.totals,
        vec![totals(Currency::USD, [0, 0, 3_000, 400, 0])]
    );
}

#[tokio::test]
async fn a_period_backwards_or_over_a_year_is_refused() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::default());
    let acme = business("acme");
    let billing = service(&store, &clock, &ScriptedGateway::new(), &acme, &[]).await;
    let now = clock.now();
    let refused = billing.payments_report(&acme, now, now - TimeDelta::seconds(1));
    assert!(matches!(refused.await, Err(BillingError::InvalidInput(_))));
    let year = now - TimeDelta::days(MAX_REPORT_DAYS);
    let report = billing
        .payments_report(&acme, year, now)
        .await
        .expect("a year");
    assert_eq!(report.days.len(), 367, "partial first and last days");
    assert!(report.totals.is_empty());
    let longer = billing.payments_report(&acme, year - TimeDelta::seconds(1), now);
    assert!(matches!(longer.await, Err(BillingError::InvalidInput(_))));
}

#[tokio::test]
async fn the_report_counts_every_payment_of_a_day() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::at(at(2, 9)));
    let acme = business("acme");
    let gateway = ScriptedGateway::new();
    let billing = service(&store, &clock, &gateway, &acme, &[("b-1", 100_000)]).await;
    let count = 507;
    for _ in 0..count {
        billing
            .record_collection(&acme, collect("b-1", 1, CollectionMethod::Cash))
            .await
            .expect("cash");
    }
    let report = billing
        .payments_report(&acme, at(2, 0), at(3, 0))
        .await
        .expect("report");
    assert_eq!(
        report.totals,
        vec![totals(Currency::USD, [0, count, 0, 0, 0])]
    );
    // Whole days: a period within the day counts the whole day.
    let within = billing
        .payments_report(&acme, at(2, 10), at(2, 11))
        .await
        .expect("report");
    assert_eq!(within.totals, report.totals);
}

/// Any payment: a kind, a state, an amount in USD or JPY, made at some minute of the week
/// from the 1st.
fn any_payment() -> impl Strategy<Value = Payment> {
    let kind = prop_oneof![
        Just(PaymentKind::Charge { card: card() }),
        Just(PaymentKind::Authorization { card: card() }),
        Just(PaymentKind::Capture {
            authorization: PaymentId::new("pay_0").expect("id"),
            final_capture: true,
        }),
        Just(collection(CollectionMethod::Cash)),
        Just(collection(CollectionMethod::Check)),
        Just(collection(CollectionMethod::ETransfer)),
        Just(collection(CollectionMethod::Other("Venmo".into()))),
        Just(PaymentKind::Refund {
            of: PaymentId::new("pay_0").expect("id"),
            reason: None,
        }),
    ];
    let state = prop_oneof![
        3 => Just(PaymentState::Succeeded),
        1 => Just(PaymentState::Pending),
        1 => Just(PaymentState::Failed(Failure::marked_failed())),
    ];
    (
        kind,
        state,
        0..1_000_000_i64,
        prop::bool::ANY,
        0..7 * 24 * 60_i64,
    )
        .prop_map(|(kind, state, minor, yen, minute)| {
            let amount = if yen { jpy(minor) } else { usd(minor) };
            let made = at(1, 0) + TimeDelta::minutes(minute);
            payment(0, kind, state, amount, made)
        })
}

proptest! {
    /// Whatever the payments and the period, the totals are the sum of the days, each day's
    /// rows are the sum of its own payments, and nothing outside the period counts.
    #[test]
    fn the_totals_are_the_sum_of_the_days(
        payments in prop::collection::vec(any_payment(), 0..60),
        start in 0..5 * 24_i64,
        hours in 0..5 * 24_i64,
    ) {
        let from = at(1, 0) + TimeDelta::hours(start);
        let until = from + TimeDelta::hours(hours);
        let report = PaymentsReport::tally(from, until, &payments).expect("report");
        let mut summed: BTreeMap<Currency, PaymentTotals> = BTreeMap::new();
        for day in &report.days {
            let own: Vec<&Payment> = payments
                .iter()
                .filter(|p| p.created_at >= from && p.created_at < until)
                .filter(|p| p.created_at.date_naive() == day.day)
                .collect();
            let mut expected: BTreeMap<Currency, PaymentTotals> = BTreeMap::new();
            for payment in own {
                let counted = PaymentTotals::of(payment);
                if !counted.is_zero() {
                    add_to(&mut expected, &counted).expect("sum");
                }
            }
            prop_assert_eq!(&day.totals, &by_code(expected));
            for row in &day.totals {
                add_to(&mut summed, row).expect("sum");
            }
        }
        prop_assert_eq!(&report.totals, &by_code(summed));
        let days: Vec<NaiveDate> = report.days.iter().map(|d| d.day).collect();
        prop_assert!(days.windows(2).all(|w| w[0].succ_opt() == Some(w[1])));
        if until > from {
            prop_assert_eq!(days.first().copied(), Some(from.date_naive()));
            prop_assert_eq!(
                days.last().copied(),
                Some((until - TimeDelta::nanoseconds(1)).date_naive())
            );
        } else {
            prop_assert!(days.is_empty());
        }
    }
}
