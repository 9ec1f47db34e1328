//! The duplicate-charge hammer through two `billingd` processes on one database (like
//! `tests/tests/hammer.rs`, which does it through one): many concurrent charges of the same
//! bookings, alternately through each process, a third of them under ten shared keys per
//! booking, then the ledger's check.
//!
//! A request that times out (503: "a money-moving command goes on") leaves its command running
//! in its process: the check waits until the services have settled (no money-moving statement
//! for a second), replays every key (which answers its one payment, or runs the command if the
//! key was freed), and then counts the ledger's payments. Each booking's succeeded payments,
//! less those its keys answer, must be its unkeyed requests answered 201, plus at most those
//! left unanswered; and none is paid more than its price.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::cents;
use super::load::Target;

/// What the hammer found.
#[derive(Debug, Default)]
pub struct Hammer {
    /// Bookings hammered.
    pub bookings: usize,
    /// Requests sent.
    pub requests: usize,
    /// Answered 201.
    pub created: usize,
    /// Answered 409 or 422 (in progress, nothing left to charge).
    pub refused: usize,
    /// Answered 503 (timed out; the command went on).
    pub unanswered: usize,
    /// Any other answer.
    pub other: Vec<String>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// How long the services took to settle after the last answer.
    pub settled: Duration,
    /// Bookings paid more than their price.
    pub over_price: usize,
    /// Keys whose answers named more than one payment.
    pub keys_with_several_payments: usize,
    /// Payments the answers cannot account for (see the module's header).
    pub unaccounted: usize,
    /// Bookings charged in full.
    pub paid_in_full: usize,
}

/// Sends `requests` charges of 7.00 (`allow_duplicate`) to each booking, alternately through
/// `a` and `b`, at most `requests` in flight; `settle` waits until the services are done.
pub async fn hammer<F: Future<Output = Duration>>(
    a: &Target,
    b: &Target,
    bookings: &[String],
    requests: u64,
    tag: &str,
    settle: F,
) -> Hammer {
    let started = Instant::now();
    let mut work = Vec::new();
    for booking in bookings {
        for attempt in 0..requests {
            let key = (attempt % 3 == 0).then(|| format!("hm{tag}-{booking}-{}", attempt % 10));
            let target = if attempt % 2 == 0 { a } else { b };
            work.push((booking.as_str(), key, target));
        }
    }
    let body = json!({"amount": "7.00", "allow_duplicate": true});
    let charge = |booking: &str, key: Option<&str>, target: &Target| {
        let (path, body, key) = (
            format!("/v1/bookings/{booking}/charges"),
            body.clone(),
            key.map(str::to_owned),
        );
        let target = target.clone();
        async move {
            target
                .send(Method::POST, &path, Some(&body), key.as_deref())
                .await
        }
    };
    let answers: Vec<_> = futures_util::stream::iter(work)
        .map(|(booking, key, target)| {
            let sent = charge(booking, key.as_deref(), target);
            async move { (booking, key, sent.await) }
        })
        .buffer_unordered((requests as usize).max(1))
        .collect()
        .await;
    let mut h = Hammer {
        bookings: bookings.len(),
        requests: answers.len(),
        elapsed: started.elapsed(),
        ..Hammer::default()
    };
    let mut by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unkeyed_created: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unkeyed_unanswered: BTreeMap<&str, usize> = BTreeMap::new();
    for (booking, key, (status, answer)) in &answers {
        let payment = answer["payment"]["id"].as_str().unwrap_or_default();
        match (*status, key) {
            (StatusCode::CREATED, Some(key)) => {
                h.created += 1;
                by_key
                    .entry(key.clone())
                    .or_default()
                    .insert(payment.to_owned());
            }
            (StatusCode::CREATED, None) => {
                h.created += 1;
                *unkeyed_created.entry(booking).or_default() += 1;
            }
            (StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY, _) => h.refused += 1,
            (StatusCode::SERVICE_UNAVAILABLE, key) => {
                h.unanswered += 1;
                if key.is_none() {
                    *unkeyed_unanswered.entry(booking).or_default() += 1;
                }
            }
            (other, _) => h.other.push(format!("{booking}: {other} {answer}")),
        }
    }
    h.settled = settle.await;

    // Every key once more: its one payment (or, if it was freed, the command run again).
    let keys: BTreeSet<(&str, String)> = answers
        .iter()
        .filter_map(|(booking, key, _)| key.clone().map(|k| (*booking, k)))
        .collect();
    let mut keyed_payments: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (booking, key) in &keys {
        let (status, answer) = charge(booking, Some(key), a).await;
        let known = by_key.get(key);
        if status == StatusCode::CREATED {
            let payment = answer["payment"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if known.is_some_and(|p| p.len() > 1 || !p.contains(&payment)) {
                h.keys_with_several_payments += 1;
            }
            keyed_payments.entry(booking).or_default().insert(payment);
        } else if known.is_some() {
            // It answered a payment before, and none now.
            h.keys_with_several_payments += 1;
        }
    }

    for booking in bookings {
        let path = format!("/v1/bookings/{booking}");
        let (status, ledger) = a.send(Method::GET, &path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{ledger}");
        let amount = |field: &str| cents(ledger[field]["amount"].as_str().unwrap_or("0"));
        if amount("paid") > amount("price") {
            h.over_price += 1;
        }
        if ledger["status"] == "charged_in_full" {
            h.paid_in_full += 1;
        }
        let succeeded = ledger["payments"]
            .as_array()
            .expect("payments")
            .iter()
            .filter(|p| p["state"] == "succeeded")
            .count();
        let keyed = keyed_payments
            .get(booking.as_str())
            .map_or(0, BTreeSet::len);
        let unkeyed = succeeded.saturating_sub(keyed);
        let least = unkeyed_created.get(booking.as_str()).copied().unwrap_or(0);
        let most = least
            + unkeyed_unanswered
                .get(booking.as_str())
                .copied()
                .unwrap_or(0);
        h.unaccounted += (least.saturating_sub(unkeyed)) + unkeyed.saturating_sub(most);
        h.unaccounted += keyed.saturating_sub(succeeded);
    }
    h
}
