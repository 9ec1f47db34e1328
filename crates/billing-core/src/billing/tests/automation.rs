//! Payment automation on the core's clock: days pass in a step, the scheduler runs what came
//! due, and every move it makes is marked as automation's.

use crate::automation::{
    Action, CancellationFee, PaymentPolicy, PaymentSettings, Percent, Reason, Share,
};
use crate::notification::NotificationKind;
use crate::payment::Origin;
use crate::ports::{CustomerDirectory, NotificationLog, RunOutcome, Schedules};
use crate::testkit::MemoryStore;
use crate::testkit::{PlainPages, PlainTemplates};

use super::*;

/// A second process on the same store, gateway and clock.
fn process(world: &World, gateway: &ScriptedGateway, prefix: &str) -> Billing {
    Billing::new(
        world.store.clone(),
        Arc::new(gateway.clone()),
        world.clock.clone(),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
    .with_hosted_pages(HostedPages {
        addresses: Arc::new(PlainPages("https://pay.example.com".into())),
        link_lifetime: HostedPages::default_lifetime(),
        templates: Arc::new(PlainTemplates),
    })
}

/// A business with an address and `policy`, one customer with a card on file, the given
/// bookings, hosted pages, and the gateway on the world's clock.
pub(super) async fn automated(
    policy: PaymentPolicy,
    bookings: &[(&str, &str)],
) -> (World, ScriptedGateway) {
    let clock = Arc::new(FixedClock::default());
    let gateway = ScriptedGateway::with_clock(clock.clone());
    let store = Arc::new(MemoryStore::new());
    let business = Business {
        email: Some("office@acme.example".into()),
        ..acme()
    };
    store
        .create_business(&business, &crate::testkit::api_key_record("key_1"), "hash")
        .await
        .expect("business");
    let customer = CustomerId::new("cust-1").expect("id");
    seed_customer_with_card(&*store, &business.id, &customer)
        .await
        .expect("customer");
    let mut w = World {
        billing: Billing::new(
            store.clone(),
            Arc::new(gateway.clone()),
            clock.clone(),
            Arc::new(SequentialIds::default()),
            Arc::new(SequentialSecrets::default()),
        ),
        store,
        clock,
        business,
    };
    w.billing = process(&w, &gateway, "one");
    w.billing
        .set_payment_settings(
            &w.business,
            PaymentSettings {
                policy,
                ..PaymentSettings::default()
            },
        )
        .await
        .expect("settings");
    for (id, price) in bookings {
        let account = BookingAccount::new(
            booking_id(id),
            customer.clone(),
            Currency::USD,
            vec![LineItem::new(LineItemKind::Service, "Home cleaning", usd(price)).expect("line")],
        )
        .expect("booking");
        w.billing
            .put_booking(&w.business, account)
            .await
            .expect("put booking");
    }
    past_grace(&w);
    (w, gateway)
}

/// Moves the clock past the grace a booking page has to start its checkout: no checkout came.
pub(super) fn past_grace(w: &World) {
    w.clock
        .advance(crate::billing::Policy::default().checkout_grace);
}

/// Sets a booking's service time (and completion) as the platform would.
async fn schedule_service(
    w: &World,
    id: &str,
    service_in: Duration,
    completed_in: Option<Duration>,
) {
    let now = w.billing.now();
    let mut account = w
        .billing
        .booking(&w.business, &booking_id(id))
        .await
        .expect("booking")
        .account;
    account.service_at = Some(now + service_in);
    account.completed_at = completed_in.map(|d| now + d);
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put");
}

pub(super) async fn status(w: &World, id: &str) -> PaymentStatus {
    w.billing
        .booking(&w.business, &booking_id(id))
        .await
        .expect("booking")
        .summary
        .status
        .status
}

/// Runs everything due now, as often as something was acted on (a deposit is followed by the
/// rest at once), and says what was done.
pub(super) async fn run(w: &World) -> Vec<(Action, RunOutcome)> {
    let mut done = Vec::new();
    for _ in 0..10 {
        let report = w.billing.run_due(100).await.expect("run");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        if report.taken == 0 {
            return done;
        }
        done.extend(
            report
                .runs
                .into_iter()
                .map(|(_, run)| (run.action, run.outcome)),
        );
    }
    done
}

async fn make_default(w: &World, payment_method: &str) {
    let customer = CustomerId::new("cust-1").expect("id");
    let card = crate::customer::SavedCard {
        payment_method: payment_method.into(),
        brand: "visa".into(),
        last4: "9995".into(),
        exp_month: 12,
        exp_year: 2034,
        is_default: true,
    };
    w.store
        .put_card(&w.business.id, &customer, &card.clone())
        .await
        .expect("card");
    let visa = crate::customer::SavedCard {
        payment_method: "pm_card_visa".into(),
        last4: "4242".into(),
        is_default: false,
        ..card
    };
    w.store
        .put_card(&w.business.id, &customer, &visa)
        .await
        .expect("card");
}

#[tokio::test]
async fn a_booking_three_weeks_out_is_held_two_days_before_and_captured_after_completion() {
    let lead = Duration::days(2);
    let (w, gateway) = automated(
        PaymentPolicy::AuthorizeBeforeService { lead },
        &[("b-1", "180.00")],
    )
    .await;
    schedule_service(&w, "b-1", Duration::days(21), None).await;
    assert_eq!(run(&w).await, [], "nothing is due three weeks out");
    let automation = w
        .billing
        .booking_automation(&w.business, &booking_id("b-1"))
        .await
        .expect("automation");
    let next = automation.next().expect("planned");
    assert_eq!(next.action, Action::Hold(usd("180.00")));
    assert_eq!(next.at, w.billing.now() + Duration::days(19));

    w.clock.advance(Duration::days(19) - Duration::minutes(1));
    assert_eq!(run(&w).await, []);
    w.clock.advance(Duration::minutes(1));
    assert_eq!(
        run(&w).await,
        [(Action::Hold(usd("180.00")), RunOutcome::Succeeded)]
    );
    assert_eq!(status(&w, "b-1").await, PaymentStatus::PreAuthorized);

    // The service is done two days later; the platform says so.
    w.clock.advance(Duration::days(2) + Duration::hours(3));
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("b");
    let mut account = view.account;
    account.completed_at = Some(w.billing.now());
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put");
    assert_eq!(run(&w).await, [(Action::Capture, RunOutcome::Succeeded)]);
    assert_eq!(status(&w, "b-1").await, PaymentStatus::ChargedInFull);
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("b");
    assert!(
        view.payments.iter().all(|p| p.origin == Origin::Automation),
        "every move marked as automation's: {:?}",
        view.payments
    );
    assert_eq!(gateway.total_received(Currency::USD), usd("180.00"));
    assert_eq!(run(&w).await, [], "nothing left to do");
}

#[tokio::test]
async fn a_soft_decline_is_retried_on_days_one_three_and_five_then_the_customer_gets_a_link() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[("b-1", "95.00")]).await;
    make_default(&w, "pm_card_chargeDeclinedInsufficientFunds").await;
    let start = w.billing.now();
    let declined = || {
        (
            Action::Charge(usd("95.00")),
            RunOutcome::Declined {
                code: "insufficient_funds".into(),
                kind: crate::automation::DeclineKind::Soft,
            },
        )
    };
    assert_eq!(run(&w).await, [declined()]);
    for day in [1, 3, 5] {
        w.clock
            .advance(start + Duration::days(day) - Duration::minutes(1) - w.billing.now());
        assert_eq!(run(&w).await, [], "not before day {day}");
        w.clock.advance(Duration::minutes(1));
        let done = run(&w).await;
        assert_eq!(done.first(), Some(&declined()), "day {day}");
        if day == 5 {
            assert_eq!(done.get(1), Some(&(Action::GiveUp, RunOutcome::Notified)));
        }
    }
    assert_eq!(gateway.count("charge"), 4);
    let schedule = w
        .store
        .schedule(&w.business.id, &booking_id("b-1"))
        .await
        .expect("read")
        .expect("found");
    assert!(schedule.needs_attention);
    let flagged = w
        .billing
        .booking_schedules(
            &w.business,
            &crate::ports::ScheduleFilter {
                needs_attention: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(flagged.len(), 1);
    // The "Needs attention" list combines with the other filters.
    let attention = |filter: crate::ports::BookingFilter| {
        let billing = w.billing.clone();
        let business = w.business.clone();
        async move {
            billing
                .bookings_by_attention(&business, true, &filter)
                .await
                .expect("listed")
                .into_iter()
                .map(|s| s.booking.to_string())
                .collect::<Vec<_>>()
        }
    };
    let everything = crate::ports::BookingFilter::default();
    assert_eq!(attention(everything.clone()).await, ["b-1"]);
    let searched = |text: &str| crate::ports::BookingFilter {
        search: Some(text.to_owned()),
        ..everything.clone()
    };
    assert_eq!(attention(searched("B-1")).await, ["b-1"]);
    assert!(attention(searched("nobody")).await.is_empty());
    let later = crate::ports::BookingFilter {
        service_from: Some(w.billing.now() + Duration::days(3650)),
        ..everything.clone()
    };
    assert!(attention(later).await.is_empty(), "dates count");
    let pending = crate::ports::BookingFilter {
        pending: Some(true),
        ..everything.clone()
    };
    assert!(attention(pending).await.is_empty(), "nothing is pending");
    let log = w
        .store
        .customer_log(&w.business.id, &CustomerId::new("cust-1").expect("id"), 20)
        .await
        .expect("log");
    let kinds: Vec<NotificationKind> = log.iter().map(|n| n.kind).collect();
    assert!(
        kinds.contains(&NotificationKind::PaymentFailed),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&NotificationKind::BusinessAutomationNotice),
        "{kinds:?}"
    );
    // A week later nothing more was tried; paying the link (here: staff collect) clears it.
    w.clock.advance(Duration::days(7));
    assert_eq!(run(&w).await, []);
    assert_eq!(gateway.count("charge"), 4);
    w.billing
        .record_collection(
            &w.business,
            RecordCollection {
                booking: booking_id("b-1"),
                amount: None,
                method: CollectionMethod::Cash,
                reference: None,
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await
        .expect("collected");
    w.clock.advance(Duration::hours(1));
    run(&w).await;
    let schedule = w
        .store
        .schedule(&w.business.id, &booking_id("b-1"))
        .await
        .expect("read")
        .expect("found");
    assert!(
        !schedule.needs_attention,
        "settled: no longer needs attention"
    );
}

#[tokio::test]
async fn a_hard_decline_stops_the_retries_at_once() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[("b-1", "95.00")]).await;
    gateway.script(Scripted::Decline("stolen_card".into()));
    let done = run(&w).await;
    assert_eq!(
        done,
        [
            (
                Action::Charge(usd("95.00")),
                RunOutcome::Declined {
                    code: "stolen_card".into(),
                    kind: crate::automation::DeclineKind::Hard,
                }
            ),
            (Action::GiveUp, RunOutcome::Notified),
        ]
    );
    w.clock.advance(Duration::days(6));
    assert_eq!(run(&w).await, []);
    assert_eq!(gateway.count("charge"), 1);
}

#[tokio::test]
async fn a_price_changed_after_planning_is_charged_as_it_is_at_run_time() {
    let (w, gateway) = automated(
        PaymentPolicy::ChargeBeforeService {
            lead: Duration::days(1),
        },
        &[("b-1", "100.00")],
    )
    .await;
    schedule_service(&w, "b-1", Duration::days(3), None).await;
    assert_eq!(run(&w).await, []);
    w.billing
        .adjust_price(
            &w.business,
            &booking_id("b-1"),
            PriceAdjustment {
                kind: LineItemKind::Extra,
                label: "Inside the oven".into(),
                amount: usd("25.00").into(),
            },
        )
        .await
        .expect("adjusted");
    w.clock.advance(Duration::days(2));
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("125.00")), RunOutcome::Succeeded)]
    );
    assert_eq!(gateway.total_received(Currency::USD), usd("125.00"));
}

#[tokio::test]
async fn a_deposit_at_booking_then_the_rest_after_completion() {
    let (w, _gateway) = automated(
        PaymentPolicy::ChargeAfterCompletion {
            delay: Duration::hours(2),
        },
        &[],
    )
    .await;
    let settings = PaymentSettings {
        deposit: Some(Share::Percent(Percent::parse("25").expect("25"))),
        ..w.billing.payment_settings(&w.business).await.expect("s")
    };
    w.billing
        .set_payment_settings(&w.business, settings)
        .await
        .expect("settings");
    let account = BookingAccount::new(
        booking_id("b-9"),
        CustomerId::new("cust-1").expect("id"),
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Move-out clean", usd("240.00")).expect("l")],
    )
    .expect("booking");
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put");
    past_grace(&w);
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("60.00")), RunOutcome::Succeeded)]
    );
    schedule_service(&w, "b-9", Duration::days(1), Some(Duration::days(1))).await;
    w.clock.advance(Duration::days(1) + Duration::hours(2));
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("180.00")), RunOutcome::Succeeded)]
    );
    assert_eq!(status(&w, "b-9").await, PaymentStatus::ChargedInFull);
}

#[tokio::test]
async fn a_late_cancellation_releases_the_hold_and_charges_the_fee_once() {
    let (w, gateway) = automated(PaymentPolicy::AuthorizeAtBooking, &[("b-1", "200.00")]).await;
    let settings = PaymentSettings {
        cancellation_fee: Some(CancellationFee {
            fee: Share::Percent(Percent::parse("50").expect("50")),
            window: Duration::hours(24),
        }),
        ..w.billing.payment_settings(&w.business).await.expect("s")
    };
    w.billing
        .set_payment_settings(&w.business, settings)
        .await
        .expect("settings");
    schedule_service(&w, "b-1", Duration::hours(12), None).await;
    assert_eq!(
        run(&w).await,
        [(Action::Hold(usd("200.00")), RunOutcome::Succeeded)]
    );
    let cancel = CancelBooking {
        booking: booking_id("b-1"),
        charge_fee: true,
    };
    let canceled = w
        .billing
        .cancel_booking(&w.business, cancel.clone())
        .await
        .expect("canceled");
    assert_eq!(canceled.released.len(), 1);
    let fee = canceled.fee.expect("a fee");
    assert_eq!(fee.payment.amount, usd("100.00"));
    assert_eq!(fee.payment.origin, Origin::Automation);
    let again = w
        .billing
        .cancel_booking(&w.business, cancel)
        .await
        .expect("again");
    assert!(again.already_canceled);
    assert!(again.released.is_empty());
    assert!(
        again.fee.as_ref().is_none_or(|f| f.replayed),
        "{:?}",
        again.fee
    );
    assert_eq!(gateway.total_received(Currency::USD), usd("100.00"));
    assert_eq!(status(&w, "b-1").await, PaymentStatus::PartiallyCharged);
    w.clock.advance(Duration::days(3));
    assert_eq!(run(&w).await, [], "a canceled booking is left alone");
    let refused = w
        .billing
        .pause_booking(&w.business, &booking_id("b-1"), true)
        .await;
    assert!(matches!(refused, Err(BillingError::BookingCanceled(_))));
}

#[tokio::test]
async fn an_early_cancellation_owes_nothing() {
    let (w, gateway) = automated(PaymentPolicy::Manual, &[("b-1", "200.00")]).await;
    let settings = PaymentSettings {
        cancellation_fee: Some(CancellationFee {
            fee: Share::fixed(usd("30.00")).expect("fixed"),
            window: Duration::hours(24),
        }),
        ..PaymentSettings::default()
    };
    w.billing
        .set_payment_settings(&w.business, settings)
        .await
        .expect("settings");
    schedule_service(&w, "b-1", Duration::days(3), None).await;
    let canceled = w
        .billing
        .cancel_booking(
            &w.business,
            CancelBooking {
                booking: booking_id("b-1"),
                charge_fee: true,
            },
        )
        .await
        .expect("canceled");
    assert!(canceled.fee.is_none());
    assert_eq!(gateway.payments_made(), 0);
}

#[tokio::test]
async fn paused_bookings_and_customers_are_left_until_resumed() {
    let (w, gateway) = automated(
        PaymentPolicy::ChargeAtBooking,
        &[("b-1", "50.00"), ("b-2", "70.00")],
    )
    .await;
    w.billing
        .pause_booking(&w.business, &booking_id("b-1"), true)
        .await
        .expect("paused");
    let customer = CustomerId::new("cust-1").expect("id");
    w.billing
        .pause_customer(&w.business, &customer, true)
        .await
        .expect("paused");
    assert_eq!(run(&w).await, []);
    w.billing
        .pause_customer(&w.business, &customer, false)
        .await
        .expect("resumed");
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("70.00")), RunOutcome::Succeeded)]
    );
    w.billing
        .pause_booking(&w.business, &booking_id("b-1"), false)
        .await
        .expect("resumed");
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("50.00")), RunOutcome::Succeeded)]
    );
    assert_eq!(gateway.total_received(Currency::USD), usd("120.00"));
    let runs = w
        .billing
        .automation_runs(
            &w.business,
            &crate::ports::RunFilter {
                outcome: Some("succeeded"),
                ..Default::default()
            },
        )
        .await
        .expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].reason, Reason::Policy);
}

#[tokio::test]
async fn two_schedulers_racing_over_due_bookings_charge_each_once() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[]).await;
    let customer = CustomerId::new("cust-1").expect("id");
    for n in 0..60 {
        let account = BookingAccount::new(
            booking_id(&format!("b-{n:02}")),
            customer.clone(),
            Currency::USD,
            vec![LineItem::new(LineItemKind::Service, "Clean", usd("10.00")).expect("line")],
        )
        .expect("booking");
        w.billing
            .put_booking(&w.business, account)
            .await
            .expect("put");
    }
    past_grace(&w);
    let second = World {
        billing: process(&w, &gateway, "two"),
        store: w.store.clone(),
        clock: w.clock.clone(),
        business: w.business.clone(),
    };
    let (a, b) = tokio::join!(run(&w), run(&second));
    assert_eq!(a.len() + b.len(), 60, "each booking acted on once");
    assert_eq!(gateway.count("charge"), 60);
    assert_eq!(gateway.total_received(Currency::USD), usd("600.00"));
}

#[tokio::test]
async fn a_card_running_out_before_the_charge_is_flagged_ahead_and_a_card_requested_once() {
    let (w, _gateway) = automated(
        PaymentPolicy::ChargeBeforeService {
            lead: Duration::hours(1),
        },
        &[("b-1", "80.00")],
    )
    .await;
    let customer = CustomerId::new("cust-1").expect("id");
    let now = w.billing.now();
    use chrono::Datelike;
    let card = crate::customer::SavedCard {
        payment_method: "pm_card_visa".into(),
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: now.month(),
        exp_year: u32::try_from(now.year()).expect("year"),
        is_default: true,
    };
    w.store
        .put_card(&w.business.id, &customer, &card)
        .await
        .expect("card");
    schedule_service(&w, "b-1", Duration::days(60), None).await;
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("80.00")), RunOutcome::Notified)]
    );
    w.clock.advance(Duration::days(1));
    schedule_service(&w, "b-1", Duration::days(59), None).await;
    assert_eq!(run(&w).await, [], "once per card");
    let log = w
        .store
        .customer_log(&w.business.id, &customer, 20)
        .await
        .expect("log");
    let requests = log
        .iter()
        .filter(|n| n.kind == NotificationKind::CardRequest)
        .count();
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn the_customer_is_told_before_an_automatic_charge_once() {
    let (w, _gateway) = automated(
        PaymentPolicy::ChargeBeforeService {
            lead: Duration::days(1),
        },
        &[("b-1", "80.00")],
    )
    .await;
    let settings = PaymentSettings {
        upcoming_notice: Some(Duration::days(2)),
        ..w.billing.payment_settings(&w.business).await.expect("s")
    };
    w.billing
        .set_payment_settings(&w.business, settings)
        .await
        .expect("settings");
    schedule_service(&w, "b-1", Duration::days(10), None).await;
    assert_eq!(run(&w).await, []);
    w.clock.advance(Duration::days(7));
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("80.00")), RunOutcome::Notified)]
    );
    schedule_service(&w, "b-1", Duration::days(3), None).await;
    assert_eq!(run(&w).await, [], "told once");
    w.clock.advance(Duration::days(2));
    assert_eq!(
        run(&w).await,
        [(Action::Charge(usd("80.00")), RunOutcome::Succeeded)]
    );
}

#[tokio::test]
async fn a_hold_that_would_run_out_before_the_service_is_renewed_then_captured() {
    let (w, gateway) = automated(PaymentPolicy::AuthorizeAtBooking, &[("b-1", "150.00")]).await;
    schedule_service(&w, "b-1", Duration::days(10), None).await;
    assert_eq!(
        run(&w).await,
        [(Action::Hold(usd("150.00")), RunOutcome::Succeeded)]
    );
    let first = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("b")
        .payments[0]
        .clone();
    let expires = first
        .hold_expires_at
        .expect("the gateway says when it runs out");
    let next = w
        .billing
        .booking_automation(&w.business, &booking_id("b-1"))
        .await
        .expect("automation");
    assert_eq!(
        next.next().map(|p| (p.at, p.action)),
        Some((expires - Duration::hours(12), Action::RenewHold))
    );
    w.clock
        .advance(expires - Duration::hours(12) - w.billing.now());
    assert_eq!(run(&w).await, [(Action::RenewHold, RunOutcome::Succeeded)]);
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("b");
    assert_eq!(view.summary.status.status, PaymentStatus::PreAuthorized);
    assert_eq!(view.summary.balance.held, usd("150.00"), "one hold counted");
    let old = view
        .payments
        .iter()
        .find(|p| p.id == first.id)
        .expect("the old hold");
    assert_eq!(old.state, PaymentState::Canceled, "the old hold released");
    assert_eq!(gateway.count("authorize"), 2);
    // The service happens and is marked done: the new hold is captured.
    w.clock.advance(Duration::days(4));
    let mut account = view.account;
    account.completed_at = Some(w.billing.now());
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put");
    assert_eq!(run(&w).await, [(Action::Capture, RunOutcome::Succeeded)]);
    assert_eq!(status(&w, "b-1").await, PaymentStatus::ChargedInFull);
    assert_eq!(gateway.total_received(Currency::USD), usd("150.00"));
}
