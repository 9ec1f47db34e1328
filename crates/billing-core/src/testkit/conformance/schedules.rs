//! Payment automation's schedules: settings, booking records compared by version, due records
//! taken once under a lease, paused customers, and the history of runs.

use std::sync::Arc;

use chrono::Duration;

use super::{StoreFixture, at, id, usd};
use crate::automation::{
    Action, CancellationFee, DeclineKind, FailedAttempts, HoldRenewal, PaymentPolicy,
    PaymentSettings, Percent, Planned, Reason, Share,
};
use crate::ids::{BusinessId, RunId};
use crate::ports::{AutomationRun, BookingSchedule, RunFilter, RunOutcome, ScheduleFilter, Store};

fn record(booking: &str, customer: &str, due_in: Option<i64>) -> BookingSchedule {
    BookingSchedule {
        due_at: due_in.map(at),
        ..BookingSchedule::new(id(booking), id(customer), at(0))
    }
}

/// Saves a new record, due `due_in` seconds after the test clock's start.
async fn stored(store: &Arc<dyn Store>, business: &str, booking: &str, due_in: Option<i64>) {
    let saved = store
        .save_schedule(&id(business), &record(booking, "cust-1", due_in))
        .await
        .expect("saved");
    assert!(saved, "a new record is saved at version 0");
}

fn every_field() -> BookingSchedule {
    BookingSchedule {
        policy: Some(PaymentPolicy::AuthorizeBeforeService {
            lead: Duration::hours(49),
        }),
        canceled_at: Some(at(90)),
        no_show_at: Some(at(90)),
        paused: true,
        needs_attention: true,
        failures: Some(FailedAttempts {
            count: 2,
            first_at: at(10),
            last_at: at(20),
            last: DeclineKind::Soft,
        }),
        next: Some(Planned {
            at: at(30),
            action: Action::Charge(usd(12_345)),
            reason: Reason::Retry,
        }),
        card_flagged: Some("pm_card_visa".to_owned()),
        checkout_until: Some(at(25)),
        ..record("bk-1", "cust-1", Some(30))
    }
}

/// A record is saved only at the version it was read at; another business sees none of it.
pub async fn schedules_round_trip_and_compare_versions<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let first = every_field();
    assert!(store.save_schedule(&acme, &first).await.expect("save"));
    assert!(
        !store.save_schedule(&acme, &first).await.expect("save"),
        "a second save at version 0 finds the record moved"
    );
    let read = store
        .schedule(&acme, &id("bk-1"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        read,
        BookingSchedule {
            version: 1,
            ..first
        }
    );
    for action in [
        Action::Hold(usd(500)),
        Action::Capture,
        Action::RenewHold,
        Action::HoldRunningOut,
        Action::GiveUp,
    ] {
        let next = BookingSchedule {
            policy: Some(PaymentPolicy::ChargeAfterCompletion {
                delay: Duration::minutes(90),
            }),
            canceled_at: None,
            failures: None,
            card_flagged: None,
            checkout_until: None,
            next: Some(Planned {
                at: at(40),
                action,
                reason: Reason::HoldExpiry,
            }),
            due_at: None,
            ..store
                .schedule(&acme, &id("bk-1"))
                .await
                .expect("read")
                .expect("found")
        };
        assert!(store.save_schedule(&acme, &next).await.expect("save"));
        let read = store.schedule(&acme, &id("bk-1")).await.expect("read");
        assert_eq!(
            read,
            Some(BookingSchedule {
                version: next.version + 1,
                ..next
            })
        );
    }
    assert_eq!(store.schedule(&id("zeta"), &id("bk-1")).await, Ok(None));
    assert_eq!(
        store
            .list_schedules(&id("zeta"), &ScheduleFilter::default())
            .await,
        Ok(Vec::new())
    );
    assert_eq!(store.schedule(&acme, &id("bk-404")).await, Ok(None));
}

/// Settings round-trip with every policy; storing them makes every open record due.
pub async fn payment_settings_round_trip_and_replan_open_bookings<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    assert_eq!(store.payment_settings(&acme).await, Ok(None));
    stored(&store, "acme", "bk-due-later", Some(5_000)).await;
    stored(&store, "acme", "bk-idle", None).await;
    stored(&store, "acme", "bk-due-soon", Some(10)).await;
    let canceled = BookingSchedule {
        canceled_at: Some(at(1)),
        ..record("bk-canceled", "cust-1", None)
    };
    assert!(store.save_schedule(&acme, &canceled).await.expect("save"));
    stored(&store, "zeta", "bk-other", None).await;
    let percent = Percent::parse("12.5").expect("percent");
    let policies = [
        PaymentPolicy::Manual,
        PaymentPolicy::ChargeAtBooking,
        PaymentPolicy::AuthorizeAtBooking,
        PaymentPolicy::AuthorizeBeforeService {
            lead: Duration::days(2),
        },
        PaymentPolicy::ChargeBeforeService {
            lead: Duration::hours(36),
        },
        PaymentPolicy::ChargeAfterCompletion {
            delay: Duration::seconds(90),
        },
    ];
    for (n, policy) in policies.into_iter().enumerate() {
        let settings = PaymentSettings {
            policy,
            deposit: match n % 3 {
                0 => None,
                1 => Some(Share::Percent(percent)),
                _ => Some(Share::fixed(usd(2_500)).expect("fixed")),
            },
            hold_renewal: [
                HoldRenewal::Renew,
                HoldRenewal::CaptureIfDone,
                HoldRenewal::TellStaff,
            ][n % 3],
            hold_margin: Duration::hours(6 + n as i64),
            cancellation_fee: (n % 2 == 1).then(|| CancellationFee {
                fee: Share::Percent(Percent::from_basis_points(5_000).expect("50 %")),
                window: Duration::hours(24),
            }),
            no_show_fee: match n % 3 {
                0 => None,
                1 => Some(Share::Percent(percent)),
                _ => Some(Share::fixed(usd(4_000)).expect("fixed")),
            },
            upcoming_notice: (n % 2 == 0).then(|| Duration::days(1)),
        };
        store
            .put_payment_settings(&acme, &settings, at(100))
            .await
            .expect("put");
        assert_eq!(store.payment_settings(&acme).await, Ok(Some(settings)));
    }
    let due = |booking: &str| {
        let store = store.clone();
        let booking = booking.to_owned();
        async move {
            store
                .schedule(&id("acme"), &id(&booking))
                .await
                .expect("read")
                .expect("found")
                .due_at
        }
    };
    assert_eq!(due("bk-due-later").await, Some(at(100)));
    assert_eq!(due("bk-idle").await, Some(at(100)));
    assert_eq!(
        due("bk-due-soon").await,
        Some(at(10)),
        "never later than it was"
    );
    assert_eq!(due("bk-canceled").await, None, "a canceled booking is left");
    let other = store
        .schedule(&id("zeta"), &id("bk-other"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(other.due_at, None, "another business's records are left");
    assert_eq!(store.payment_settings(&id("zeta")).await, Ok(None));
}

/// Due records are taken earliest first, leased, and never by two schedulers at once; a
/// record whose lease ran out is taken again.
pub async fn due_schedules_are_taken_once_under_a_lease<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    stored(&store, "acme", "bk-b", Some(20)).await;
    stored(&store, "zeta", "bk-a", Some(20)).await;
    stored(&store, "acme", "bk-c", Some(10)).await;
    stored(&store, "acme", "bk-later", Some(500)).await;
    stored(&store, "acme", "bk-idle", None).await;
    let taken = store.take_due(at(60), at(120), 2).await.expect("take");
    let names: Vec<String> = taken
        .iter()
        .map(|d| format!("{}/{}", d.business, d.schedule.booking))
        .collect();
    assert_eq!(
        names,
        ["acme/bk-c", "acme/bk-b"],
        "earliest first, then business"
    );
    assert!(
        taken
            .iter()
            .all(|d| d.schedule.due_at == Some(at(120)) && d.schedule.version == 2),
        "the lease moves the due time and the version: {taken:?}"
    );
    let rest = store.take_due(at(60), at(120), 10).await.expect("take");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].business.as_str(), "zeta");
    assert!(
        store
            .take_due(at(60), at(120), 10)
            .await
            .expect("take")
            .is_empty()
    );
    // The first taker's save lands on the version its take left...
    let mut done = taken[0].schedule.clone();
    done.due_at = Some(at(400));
    assert!(store.save_schedule(&id("acme"), &done).await.expect("save"));
    // ...a stale one does not.
    let stale = BookingSchedule {
        version: 1,
        ..done.clone()
    };
    assert!(
        !store
            .save_schedule(&id("acme"), &stale)
            .await
            .expect("save")
    );
    // bk-b's lease runs out at 120: taken again, with bk-later's and bk-c's new time not yet.
    let again = store.take_due(at(121), at(200), 10).await.expect("take");
    let names: Vec<String> = again
        .iter()
        .map(|d| format!("{}/{}", d.business, d.schedule.booking))
        .collect();
    assert_eq!(names, ["acme/bk-b", "zeta/bk-a"]);
}

/// Many schedulers over two handles take every due record exactly once.
pub async fn due_schedules_are_taken_once_by_concurrent_schedulers<F: StoreFixture>(fixture: F) {
    let first = fixture.store().await;
    let second = fixture.second_handle().await;
    for n in 0..40 {
        stored(&first, "acme", &format!("bk-{n:02}"), Some(n)).await;
    }
    let mut takers = Vec::new();
    for taker in 0..8 {
        let store = if taker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        takers.push(async move {
            let mut mine = Vec::new();
            loop {
                let due = store.take_due(at(60), at(600), 3).await.expect("take");
                if due.is_empty() {
                    return mine;
                }
                mine.extend(due.into_iter().map(|d| d.schedule.booking.to_string()));
            }
        });
    }
    let mut all: Vec<String> = futures_util::future::join_all(takers)
        .await
        .into_iter()
        .flatten()
        .collect();
    all.sort();
    let expected: Vec<String> = (0..40).map(|n| format!("bk-{n:02}")).collect();
    assert_eq!(all, expected);
}

/// Records list by customer and by needing attention, in pages; pausing a customer is kept,
/// and resuming makes their open records due.
pub async fn schedules_list_and_customers_pause<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    for (booking, customer, attention) in [
        ("bk-1", "cust-1", false),
        ("bk-2", "cust-2", true),
        ("bk-3", "cust-1", true),
        ("bk-4", "cust-1", false),
    ] {
        let schedule = BookingSchedule {
            needs_attention: attention,
            ..record(booking, customer, None)
        };
        assert!(store.save_schedule(&acme, &schedule).await.expect("save"));
    }
    let list = |filter: ScheduleFilter| {
        let store = store.clone();
        async move {
            store
                .list_schedules(&id("acme"), &filter)
                .await
                .expect("list")
                .into_iter()
                .map(|s| s.booking.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ScheduleFilter {
            needs_attention: Some(true),
            ..ScheduleFilter::default()
        })
        .await,
        ["bk-2", "bk-3"]
    );
    assert_eq!(
        list(ScheduleFilter {
            customer: Some(id("cust-1")),
            after: Some(id("bk-1")),
            limit: 1,
            ..ScheduleFilter::default()
        })
        .await,
        ["bk-3"]
    );
    let cust: crate::ids::CustomerId = id("cust-1");
    assert_eq!(store.customer_paused(&acme, &cust).await, Ok(false));
    store
        .set_customer_paused(&acme, &cust, true, at(50))
        .await
        .expect("pause");
    assert_eq!(store.customer_paused(&acme, &cust).await, Ok(true));
    assert_eq!(store.customer_paused(&id("zeta"), &cust).await, Ok(false));
    store
        .set_customer_paused(&acme, &cust, false, at(50))
        .await
        .expect("resume");
    assert_eq!(store.customer_paused(&acme, &cust).await, Ok(false));
    let due: Vec<String> = store
        .take_due(at(60), at(600), 10)
        .await
        .expect("take")
        .into_iter()
        .map(|d| d.schedule.booking.to_string())
        .collect();
    assert_eq!(
        due,
        ["bk-1", "bk-3", "bk-4"],
        "the customer's records, due again"
    );
}

fn run(n: i64, booking: &str, outcome: RunOutcome) -> AutomationRun {
    AutomationRun {
        id: RunId::new(format!("run-{n:02}")).expect("run id"),
        booking: id(booking),
        customer: id("cust-1"),
        at: at(n / 2),
        action: Action::Charge(usd(1_000 + n)),
        reason: Reason::Policy,
        attempt: 1 + (n % 3) as u32,
        payment: (n % 2 == 0).then(|| id(&format!("pay-{n:02}"))),
        outcome,
    }
}

/// Runs read back as recorded, newest first, by booking and by outcome, in pages; recording
/// one twice keeps the first.
pub async fn runs_are_listed_newest_first<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let outcomes = [
        RunOutcome::Succeeded,
        RunOutcome::Pending,
        RunOutcome::Declined {
            code: "insufficient_funds".to_owned(),
            kind: DeclineKind::Soft,
        },
        RunOutcome::Declined {
            code: "stolen_card".to_owned(),
            kind: DeclineKind::Hard,
        },
        RunOutcome::Notified,
        RunOutcome::Failed("no card on file".to_owned()),
    ];
    let mut recorded = Vec::new();
    for n in 0..12 {
        let booking = if n % 2 == 0 { "bk-even" } else { "bk-odd" };
        let run = run(n, booking, outcomes[n as usize % outcomes.len()].clone());
        store.record_run(&acme, &run).await.expect("record");
        recorded.push(run);
    }
    let changed = AutomationRun {
        outcome: RunOutcome::Succeeded,
        ..recorded[2].clone()
    };
    store.record_run(&acme, &changed).await.expect("record");
    let all = store
        .runs(&acme, &RunFilter::default())
        .await
        .expect("runs");
    let mut expected = recorded.clone();
    expected.reverse();
    assert_eq!(all, expected, "newest first, as recorded");
    let page = store
        .runs(
            &acme,
            &RunFilter {
                before: Some((recorded[6].at, recorded[6].id.clone())),
                limit: 3,
                ..RunFilter::default()
            },
        )
        .await
        .expect("runs");
    assert_eq!(
        page,
        [
            recorded[5].clone(),
            recorded[4].clone(),
            recorded[3].clone()
        ]
    );
    let declined = store
        .runs(
            &acme,
            &RunFilter {
                outcome: Some("declined"),
                ..RunFilter::default()
            },
        )
        .await
        .expect("runs");
    let ids: Vec<&str> = declined.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["run-09", "run-08", "run-03", "run-02"]);
    let even = store
        .runs(
            &acme,
            &RunFilter {
                booking: Some(id("bk-even")),
                outcome: Some("declined"),
                ..RunFilter::default()
            },
        )
        .await
        .expect("runs");
    let ids: Vec<&str> = even.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["run-08", "run-02"]);
    assert_eq!(
        store.runs(&id("zeta"), &RunFilter::default()).await,
        Ok(Vec::new())
    );
}
