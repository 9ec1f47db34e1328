//! Rows written by earlier builds, kept as files (`tests/fixtures/v1/`), must read back with
//! every later build: a change of stored format adds a version, it never breaks these.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_core::money::{Currency, Money};
use billing_core::payment::{PaymentState, fold};
use billing_core::receipt::Outcome;
use billing_core::status::PaymentStatus;
use billing_sql::formats::{
    decode_booking, decode_entry, decode_link_bookings, decode_receipt, encode_booking,
    encode_entry, encode_link_bookings, encode_receipt,
};

fn lines(name: &str) -> Vec<&'static str> {
    let text = match name {
        "entries" => include_str!("fixtures/v1/entries.jsonl"),
        "bookings" => include_str!("fixtures/v1/bookings.jsonl"),
        "link_bookings" => include_str!("fixtures/v1/link_bookings.jsonl"),
        "receipts" => include_str!("fixtures/v1/receipts.jsonl"),
        other => panic!("no fixture {other}"),
    };
    text.lines().filter(|l| !l.trim().is_empty()).collect()
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
        assert_eq!(
            &decode_receipt(&encode_receipt(receipt).unwrap()).unwrap(),
            receipt
        );
    }
}

#[test]
fn rows_of_an_unknown_version_are_refused_not_misread() {
    let newer = lines("entries")[0].replacen('{', "{\"v\":2,", 1);
    let error = decode_entry(&newer).expect_err("a version this build does not know");
    assert!(
        error.to_string().contains("unknown format version 2"),
        "{error}"
    );
    let tagged = lines("bookings")[0].replacen('{', "{\"v\":1,", 1);
    assert!(decode_booking(&tagged).is_ok());
}
