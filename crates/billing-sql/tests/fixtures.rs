//! Rows written by earlier builds, kept as files (`tests/fixtures/vN/`), must read back with
//! every later build: a change of stored format adds a version, it never breaks these. The
//! fixtures of the version written today are also exactly what today's build writes, so that
//! renaming a field of a written format fails here rather than in a database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_core::automation::{
    Action, DeclineKind, HoldRenewal, PaymentPolicy, Percent, Reason, Share,
};
use billing_core::ids::LinkId;
use billing_core::money::{Currency, Money};
use billing_core::payment::{KindName, Origin, Payment, PaymentKind, PaymentState, fold};
use billing_core::ports::RunOutcome;
use billing_core::receipt::Outcome;
use billing_core::status::PaymentStatus;
use billing_sql::formats::{
    ENTRY_VERSION, FIRST_ANSWER_VERSION, RUN_VERSION, SCHEDULE_VERSION, SETTINGS_VERSION,
    decode_booking, decode_entry, decode_link_bookings, decode_receipt, decode_run,
    decode_schedule, decode_settings, encode_booking, encode_entry, encode_link_bookings,
    encode_receipt, encode_run, encode_schedule, encode_settings,
};
use chrono::Duration;

fn lines(name: &str) -> Vec<&'static str> {
    let text = match name {
        "entries" => include_str!("fixtures/v1/entries.jsonl"),
        "bookings" => include_str!("fixtures/v1/bookings.jsonl"),
        "link_bookings" => include_str!("fixtures/v1/link_bookings.jsonl"),
        "receipts" => include_str!("fixtures/v1/receipts.jsonl"),
        "payment_settings" => include_str!("fixtures/v1/payment_settings.jsonl"),
        "booking_schedules" => include_str!("fixtures/v1/booking_schedules.jsonl"),
        "automation_runs" => include_str!("fixtures/v1/automation_runs.jsonl"),
        "entries v2" => include_str!("fixtures/v2/entries.jsonl"),
        "receipts v2" => include_str!("fixtures/v2/receipts.jsonl"),
        "booking_schedules v2" => include_str!("fixtures/v2/booking_schedules.jsonl"),
        "entries v3" => include_str!("fixtures/v3/entries.jsonl"),
        "payment_settings v2" => include_str!("fixtures/v2/payment_settings.jsonl"),
        "booking_schedules v3" => include_str!("fixtures/v3/booking_schedules.jsonl"),
        "receipts v3" => include_str!("fixtures/v3/receipts.jsonl"),
        other => panic!("no fixture {other}"),
    };
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// The fixture lines of a format in the version written today, read from its folder.
fn written_today(format: &str, version: u32) -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/v{version}/{format}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (a new version needs its fixtures)"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn payment<'a>(payments: &'a [Payment], id: &str) -> &'a Payment {
    payments
        .iter()
        .find(|p| p.id.as_str() == id)
        .unwrap_or_else(|| panic!("no payment {id}"))
}

#[test]
fn entries_of_version_1_read_back_and_fold() {
    let entries: Vec<_> = lines("entries")
        .into_iter()
        .map(|line| decode_entry(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(entries.len(), 40);
    // Written again and read back, each is the same entry.
    for entry in &entries {
        assert_eq!(&decode_entry(&encode_entry(entry).unwrap()).unwrap(), entry);
    }
    let payments = fold(&entries).expect("a consistent history");
    let state = |id: &str| {
        payments
            .iter()
            .find(|p| p.id.as_str() == id)
            .map(|p| p.state.clone())
            .expect("payment")
    };
    assert!(matches!(state("pay_fx_charge"), PaymentState::Failed(f)
        if f.decline_code.as_deref() == Some("authentication_required")
        && f.message.contains("☃")));
    assert_eq!(state("pay_fx_hold"), PaymentState::Captured);
    assert_eq!(state("pay_fx_stale"), PaymentState::Expired);
    assert_eq!(state("pay_fx_abandoned"), PaymentState::Canceled);
    let hold = payments
        .iter()
        .find(|p| p.id.as_str() == "pay_fx_hold")
        .unwrap();
    assert_eq!(hold.amount, Money::from_minor(10_120, Currency::KWD));
    assert!(hold.hold_expires_at.is_some());
    // The first builds' own rows: every kind of payment, each folded to a settled state.
    assert!(payments.iter().all(|p| !p.state.is_in_flight()));
    assert!(payments.len() >= 20);
    // Made by commands (links' payments were charged as merchant-initiated then), with
    // holds placed without asking for multicapture.
    assert!(payments.iter().all(|p| p.origin == Origin::Command));
    assert!(payments.iter().all(|p| !p.multicapture));
    assert!(entries.iter().all(|e| e.multicapture.is_none()));
}

#[test]
fn bookings_of_version_1_read_back() {
    for line in lines("bookings") {
        let account = decode_booking(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(
            decode_booking(&encode_booking(&account).unwrap()).unwrap(),
            account
        );
    }
    let kwd = decode_booking(lines("bookings").last().unwrap()).unwrap();
    assert_eq!(kwd.price(), Ok(Money::from_minor(10_120, Currency::KWD)));
    assert_eq!(
        kwd.service_at.map(|at| at.timestamp_subsec_nanos()),
        Some(123_456_789)
    );
}

#[test]
fn link_bookings_of_version_1_read_back() {
    for line in lines("link_bookings") {
        let bookings = decode_link_bookings(line, Currency::USD).unwrap();
        assert!(!bookings.is_empty());
        let again = encode_link_bookings(&bookings, Currency::USD).unwrap();
        assert_eq!(
            decode_link_bookings(&again, Currency::USD).unwrap(),
            bookings
        );
    }
}

#[test]
fn first_answers_of_version_1_read_back() {
    let receipts: Vec<_> = lines("receipts")
        .into_iter()
        .map(|line| decode_receipt(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0].outcome(), Outcome::Settled);
    assert_eq!(
        receipts[0].bookings[0].status.status,
        PaymentStatus::PartiallyCharged
    );
    assert!(matches!(receipts[1].outcome(), Outcome::Declined(f) if f.code == "card_declined"));
    for receipt in &receipts {
        assert!(!receipt.replayed);
        assert_eq!(receipt.payment.origin, Origin::Command);
        assert!(!receipt.payment.multicapture);
        assert!(receipt.bookings.iter().all(|s| !s.status.disputed));
        assert_eq!(
            &decode_receipt(&encode_receipt(receipt).unwrap()).unwrap(),
            receipt
        );
    }
}

#[test]
fn entries_of_version_2_read_back_and_fold() {
    let entries: Vec<_> = lines("entries v2")
        .into_iter()
        .map(|line| decode_entry(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(entries.len(), 19);
    for entry in &entries {
        assert_eq!(&decode_entry(&encode_entry(entry).unwrap()).unwrap(), entry);
    }
    let payments = fold(&entries).expect("a consistent history");
    // A hold the gateway let be captured in parts, captured in its dashboard, then disputed
    // and lost.
    let hold = payment(&payments, "pay_fx2_000001");
    assert!(hold.multicapture);
    assert_eq!(hold.origin, Origin::Command);
    assert_eq!(hold.state, PaymentState::Captured);
    let captured = payment(&payments, "pay_fx2_000002");
    assert_eq!(captured.origin, Origin::Gateway);
    assert_eq!(captured.amount, Money::from_minor(15_000, Currency::USD));
    let lost = payment(&payments, "pay_fx2_000003");
    assert_eq!(
        lost.kind,
        PaymentKind::Dispute {
            of: hold.id.clone(),
            reason: Some("fraudulent".into())
        }
    );
    assert_eq!(lost.origin, Origin::Gateway);
    assert_eq!(lost.state, PaymentState::Succeeded);
    // A dispute won, and one still open on a link's payment.
    assert_eq!(
        payment(&payments, "pay_fx2_000005").state,
        PaymentState::Canceled
    );
    let open = payment(&payments, "pay_fx2_000010");
    assert_eq!(open.kind.name(), KindName::Dispute);
    assert_eq!(open.state, PaymentState::Pending);
    // A hold placed where multicapture is not allowed.
    let single = payment(&payments, "pay_fx2_000006");
    assert!(!single.multicapture);
    assert_eq!(single.state, PaymentState::Captured);
    let linked = payment(&payments, "pay_fx2_000009");
    assert_eq!(
        linked.origin,
        Origin::PaymentLink(LinkId::new("lnk_fx2_000008").unwrap())
    );
    assert!(linked.customer_present());
    let said: Vec<Option<bool>> = entries
        .iter()
        .filter(|e| e.multicapture.is_some())
        .map(|e| e.multicapture)
        .collect();
    assert_eq!(said, [Some(true), Some(false)], "only the placements say");
}

#[test]
fn first_answers_of_version_2_read_back() {
    let receipts: Vec<_> = lines("receipts v2")
        .into_iter()
        .map(|line| decode_receipt(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(receipts.len(), 4);
    assert!(receipts[0].payment.multicapture);
    assert_eq!(
        receipts[0].bookings[0].status.status,
        PaymentStatus::PreAuthorized
    );
    assert!(!receipts[1].payment.multicapture);
    assert_eq!(
        receipts[2].payment.origin,
        Origin::PaymentLink(LinkId::new("lnk_fx2_000008").unwrap())
    );
    // Cash on a booking whose payment was disputed and lost.
    assert!(receipts[3].bookings[0].status.disputed);
    assert!(!receipts[0].bookings[0].status.disputed);
    for receipt in &receipts {
        assert_eq!(receipt.outcome(), Outcome::Settled);
        assert_eq!(
            &decode_receipt(&encode_receipt(receipt).unwrap()).unwrap(),
            receipt
        );
    }
}

/// The fixtures of the versions written today are what today's build writes, key for key:
/// a field renamed or dropped without a new version fails here. (When a format moves on to a
/// new version, its fixtures of that version are added, and this compares against them.)
#[test]
fn rows_written_today_are_the_fixtures_of_their_version() {
    for line in written_today("entries", ENTRY_VERSION) {
        let written = encode_entry(&decode_entry(&line).unwrap()).unwrap();
        assert_eq!(written, line);
    }
    for line in written_today("receipts", FIRST_ANSWER_VERSION) {
        let written = encode_receipt(&decode_receipt(&line).unwrap()).unwrap();
        assert_eq!(written, line);
    }
    for line in written_today("payment_settings", SETTINGS_VERSION) {
        let settings = decode_settings(SETTINGS_VERSION, &line).unwrap();
        assert_eq!(encode_settings(&settings).unwrap(), line);
    }
    for line in written_today("booking_schedules", SCHEDULE_VERSION) {
        let body = decode_schedule(SCHEDULE_VERSION, &line).unwrap();
        assert_eq!(encode_schedule(&body).unwrap(), line);
    }
    for line in written_today("automation_runs", RUN_VERSION) {
        let body = decode_run(RUN_VERSION, &line).unwrap();
        assert_eq!(encode_run(&body).unwrap(), line);
    }
}

#[test]
fn payment_settings_of_version_1_read_back() {
    let settings: Vec<_> = lines("payment_settings")
        .into_iter()
        .map(|line| decode_settings(1, line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let policies: Vec<&str> = settings.iter().map(|s| s.policy.name()).collect();
    assert_eq!(
        policies,
        [
            "manual",
            "charge_at_booking",
            "authorize_at_booking",
            "authorize_before_service",
            "charge_before_service",
            "charge_after_completion"
        ]
    );
    assert_eq!(settings[0].hold_margin, Duration::hours(12));
    assert_eq!(
        settings[1].deposit,
        Some(Share::Percent(Percent::parse("12.5").unwrap()))
    );
    assert_eq!(settings[1].upcoming_notice, Some(Duration::days(1)));
    let fee = settings[2].cancellation_fee.unwrap();
    assert_eq!(
        fee.fee,
        Share::Fixed(Money::from_minor(10_120, Currency::KWD))
    );
    assert_eq!(fee.window, Duration::days(2));
    assert_eq!(settings[2].hold_renewal, HoldRenewal::TellStaff);
    assert_eq!(
        settings[3].policy,
        PaymentPolicy::AuthorizeBeforeService {
            lead: Duration::days(2)
        }
    );
    assert_eq!(
        settings[5].policy,
        PaymentPolicy::ChargeAfterCompletion {
            delay: Duration::minutes(90)
        }
    );
}

#[test]
fn booking_schedules_of_version_2_read_back_with_their_checkout() {
    let v1: Vec<_> = lines("booking_schedules")
        .into_iter()
        .map(|line| decode_schedule(1, line).unwrap())
        .collect();
    let v2: Vec<_> = lines("booking_schedules v2")
        .into_iter()
        .map(|line| decode_schedule(2, line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(v2.len(), v1.len());
    // Version 1 rows read as no checkout open; version 2 adds only that.
    assert!(v1.iter().all(|b| b.checkout_until.is_none()));
    let until = v2[1].checkout_until.unwrap();
    assert_eq!(until.timestamp_subsec_millis(), 500);
    for (i, (old, new)) in v1.iter().zip(&v2).enumerate() {
        let without = billing_sql::formats::ScheduleBody {
            checkout_until: None,
            ..new.clone()
        };
        assert_eq!(&without, old, "row {i}");
    }
}

#[test]
fn booking_schedules_of_version_1_read_back() {
    let bodies: Vec<_> = lines("booking_schedules")
        .into_iter()
        .map(|line| decode_schedule(1, line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(bodies.len(), 7);
    assert!(bodies[0].policy.is_none() && bodies[0].next.is_none());
    let every = &bodies[1];
    assert!(every.paused);
    assert_eq!(every.booked_at.timestamp_subsec_nanos(), 123_456_789);
    let failures = every.failures.unwrap();
    assert_eq!((failures.count, failures.last), (2, DeclineKind::Soft));
    let next = every.next.unwrap();
    assert_eq!(
        (next.action, next.reason),
        (
            Action::Charge(Money::from_minor(12_345, Currency::USD)),
            Reason::Retry
        )
    );
    assert_eq!(every.card_flagged.as_deref(), Some("pm_card_visa"));
    let actions: Vec<Action> = bodies[2..].iter().map(|b| b.next.unwrap().action).collect();
    assert_eq!(
        actions,
        [
            Action::Hold(Money::from_minor(6_465, Currency::USD)),
            Action::Capture,
            Action::RenewHold,
            Action::HoldRunningOut,
            Action::GiveUp
        ]
    );
    assert_eq!(bodies[6].failures.unwrap().last, DeclineKind::Hard);
}

#[test]
fn automation_runs_of_version_1_read_back() {
    let runs: Vec<_> = lines("automation_runs")
        .into_iter()
        .map(|line| decode_run(1, line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome.name()).collect();
    assert_eq!(
        outcomes,
        [
            "succeeded",
            "pending",
            "declined",
            "declined",
            "notified",
            "notified",
            "failed",
            "succeeded"
        ]
    );
    assert_eq!(
        runs[2].outcome,
        RunOutcome::Declined {
            code: "insufficient_funds".into(),
            kind: DeclineKind::Soft
        }
    );
    assert_eq!(
        runs[2].action,
        Action::Charge(Money::from_minor(10_120, Currency::KWD))
    );
    assert_eq!(runs[2].attempt, 2);
    assert_eq!(
        runs[6].outcome,
        RunOutcome::Failed("no card on file ☃".into())
    );
    assert!(runs[4].payment.is_none());
    assert_eq!(
        runs[0].payment.as_ref().map(|p| p.as_str()),
        Some("pay_fx_000001")
    );
}

#[test]
fn a_dispute_in_a_version_1_row_is_refused() {
    // Version 1 knew no disputes: such a row is corrupt, not read as something else.
    let line = lines("entries v2")
        .into_iter()
        .find(|l| l.contains(r#""type":"dispute""#))
        .unwrap();
    let as_v1 = line.replacen(r#""v":2"#, r#""v":1"#, 1);
    let error = decode_entry(&as_v1).expect_err("no disputes in version 1");
    assert!(
        error.to_string().contains("unknown variant `dispute`"),
        "{error}"
    );
}

#[test]
fn rows_of_an_unknown_version_are_refused_not_misread() {
    let newer = lines("entries")[0].replacen('{', "{\"v\":4,", 1);
    let error = decode_entry(&newer).expect_err("a version this build does not know");
    assert!(
        error.to_string().contains("unknown format version 4"),
        "{error}"
    );
    let newer = lines("receipts v3")[0].replacen(r#""v":3"#, r#""v":4"#, 1);
    assert!(decode_receipt(&newer).is_err());
    let tagged = lines("bookings")[0].replacen('{', "{\"v\":1,", 1);
    assert!(decode_booking(&tagged).is_ok());
}

#[test]
fn entries_and_first_answers_of_version_3_carry_tips() {
    let entries: Vec<_> = lines("entries v3")
        .into_iter()
        .map(|line| decode_entry(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(entries.len(), 21);
    let payments = fold(&entries).expect("a consistent history");
    // A link's payment over two bookings, the tip on the first one's share.
    let tipped = payment(&payments, "pay_fx3_000001");
    let usd = |minor| Money::from_minor(minor, Currency::USD);
    assert_eq!(tipped.amount, usd(13_570));
    assert_eq!(tipped.allocations[0].tip, Some(usd(1_770)));
    assert_eq!(tipped.allocations[1].tip, None);
    assert_eq!(tipped.state, PaymentState::Succeeded);
    // Every row of version 2 reads the same as version 3: no tips.
    let v2: Vec<_> = lines("entries v2")
        .into_iter()
        .map(|line| decode_entry(line).unwrap())
        .collect();
    assert_eq!(&entries[..v2.len()], &v2[..]);
    assert!(v2.iter().all(|e| match &e.change {
        billing_core::payment::Change::Opened(o) => o.allocations.iter().all(|a| a.tip.is_none()),
        _ => true,
    }));
    let receipts: Vec<_> = lines("receipts v3")
        .into_iter()
        .map(|line| decode_receipt(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let last = receipts.last().unwrap();
    assert_eq!(last.payment.allocations[0].tip, Some(usd(1_500)));
    assert_eq!(last.bookings[0].balance.price, usd(11_500));
}

#[test]
fn a_tip_is_never_stored_among_a_bookings_own_lines() {
    let mut account = decode_booking(lines("bookings")[0]).unwrap();
    account.line_items.push(billing_core::booking::LineItem {
        kind: billing_core::booking::LineItemKind::Tip,
        label: "Tip".into(),
        amount: account.line_items[0].amount,
    });
    let error = encode_booking(&account).expect_err("a tip is a charge's");
    assert!(error.to_string().contains("tip"), "{error}");
}

#[test]
fn payment_settings_of_version_2_carry_the_no_show_fee() {
    let v1: Vec<_> = lines("payment_settings")
        .into_iter()
        .map(|line| decode_settings(1, line).unwrap())
        .collect();
    let v2: Vec<_> = lines("payment_settings v2")
        .into_iter()
        .map(|line| decode_settings(2, line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(v2.len(), v1.len());
    // Version 1 rows read as no no-show fee; version 2 adds only that.
    assert!(v1.iter().all(|s| s.no_show_fee.is_none()));
    assert_eq!(v2[0].no_show_fee, None);
    assert_eq!(
        v2[1].no_show_fee,
        Some(Share::Percent(Percent::parse("50").unwrap()))
    );
    assert_eq!(
        v2[2].no_show_fee,
        Some(Share::Fixed(Money::from_minor(5_000, Currency::KWD)))
    );
    for (i, (old, new)) in v1.iter().zip(&v2).enumerate() {
        let mut without = new.clone();
        without.no_show_fee = None;
        assert_eq!(&without, old, "row {i}");
    }
}

#[test]
fn booking_schedules_of_version_3_read_back_with_their_no_show() {
    let v2: Vec<_> = lines("booking_schedules v2")
        .into_iter()
        .map(|line| decode_schedule(2, line).unwrap())
        .collect();
    let v3: Vec<_> = lines("booking_schedules v3")
        .into_iter()
        .map(|line| decode_schedule(3, line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(v3.len(), v2.len());
    assert!(v2.iter().all(|b| b.no_show_at.is_none()));
    assert_eq!(
        v3[1].no_show_at.map(|at| at.to_rfc3339()),
        Some("2026-12-04T09:30:00+00:00".to_owned())
    );
    for (i, (old, new)) in v2.iter().zip(&v3).enumerate() {
        let without = billing_sql::formats::ScheduleBody {
            no_show_at: None,
            ..new.clone()
        };
        assert_eq!(&without, old, "row {i}");
    }
}
