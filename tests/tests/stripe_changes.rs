//! What happens at Stripe reaches the ledger, with `billingd` on the fake Stripe (a process of
//! its own): captures, cancellations, refunds and disputes made in Stripe's dashboard arrive by
//! webhook, or, with webhooks off, by the sweep's pull of Stripe's events; a hold's expiry is
//! recorded once Stripe's clock passes it. And what Stripe cannot do is refused before anything
//! opens: a capture in parts on an account without multicapture, amounts Stripe never charges.

use std::time::Duration;

use billing_blackbox::stripe_fake::{OnFakeStripe, Webhooks, money, payments_of_kind};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long a webhook or a sweep may take to bring a change in.
const WITHIN: Duration = Duration::from_secs(30);

/// A hold of `amount` on the booking: its payment id and PaymentIntent.
async fn hold(stack: &OnFakeStripe, booking: &str, amount: &str) -> (String, String) {
    let answer = stack
        .post(
            &format!("/v1/bookings/{booking}/authorizations"),
            json!({"amount": amount}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "hold: {answer:?}");
    assert_eq!(answer.json["payment"]["state"], "authorized", "{answer:?}");
    ids(&answer.json)
}

/// A charge of `amount` on the booking: its payment id and PaymentIntent.
async fn charge(stack: &OnFakeStripe, booking: &str, amount: &str) -> (String, String) {
    let answer = stack
        .post(
            &format!("/v1/bookings/{booking}/charges"),
            json!({"amount": amount}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "charge: {answer:?}");
    assert_eq!(answer.json["payment"]["state"], "succeeded", "{answer:?}");
    ids(&answer.json)
}

fn ids(receipt: &Value) -> (String, String) {
    let payment = receipt["payment"]["id"].as_str().expect("payment id");
    let intent = receipt["payment"]["gateway_reference"]
        .as_str()
        .expect("a PaymentIntent");
    assert!(intent.starts_with("pi_"), "{receipt:#}");
    (payment.to_owned(), intent.to_owned())
}

/// The state of one of the booking's payments.
fn state_of<'a>(booking: &'a Value, payment: &str) -> &'a str {
    booking["payments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] == payment)
        .and_then(|p| p["state"].as_str())
        .unwrap_or("(absent)")
}

/// A capture made in the dashboard: the hold captured, a capture of origin `gateway`, the
/// booking paid.
fn captured_at_stripe(booking: &Value, hold: &str) -> bool {
    let captures = payments_of_kind(booking, "capture");
    state_of(booking, hold) == "captured"
        && captures.len() == 1
        && captures[0]["origin"] == "gateway"
        && captures[0]["state"] == "succeeded"
        && captures[0]["of"] == hold
        && money(&booking["paid"]) == "100.00"
        && money(&booking["held"]) == "0.00"
        && booking["status"] == "charged_in_full"
}

/// A partial refund made in the dashboard: a refund of origin `gateway`.
fn refunded_at_stripe(booking: &Value, charge: &str) -> bool {
    let refunds = payments_of_kind(booking, "refund");
    refunds.len() == 1
        && refunds[0]["origin"] == "gateway"
        && refunds[0]["state"] == "succeeded"
        && refunds[0]["of"] == charge
        && money(&refunds[0]["amount"]) == "25.00"
        && money(&booking["refunded"]) == "25.00"
        && money(&booking["paid"]) == "75.00"
}

/// A hold released in the dashboard: nothing held, nothing charged.
fn released_at_stripe(booking: &Value, hold: &str) -> bool {
    state_of(booking, hold) == "canceled"
        && money(&booking["held"]) == "0.00"
        && booking["status"] == "not_charged"
}

#[tokio::test]
async fn a_capture_in_the_dashboard_reaches_the_booking_by_webhook() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let (hold, intent) = hold(&stack, "bk_1", "100.00").await;

    stack
        .fake
        .post("dashboard/capture", json!({"payment_intent": intent}))
        .await;

    let booking = stack
        .booking_until("bk_1", WITHIN, |b| captured_at_stripe(b, &hold))
        .await;
    assert!(!booking["pending"].as_bool().unwrap_or(true), "{booking:#}");
    // The booking being paid, a charge of the card on file is refused: nothing to charge.
    let again = stack.post("/v1/bookings/bk_1/charges", json!({})).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{again:?}");
    assert_eq!(again.json["code"], "nothing_to_charge", "{again:?}");
    assert_eq!(stack.fake.intents().await.len(), 1, "no second charge");
}

#[tokio::test]
async fn a_cancel_in_the_dashboard_releases_the_hold_by_webhook() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let (hold, intent) = hold(&stack, "bk_1", "100.00").await;

    stack
        .fake
        .post("dashboard/cancel", json!({"payment_intent": intent}))
        .await;

    stack
        .booking_until("bk_1", WITHIN, |b| released_at_stripe(b, &hold))
        .await;
    let view = stack.payment(&hold).await;
    assert_eq!(money(&view["capturable"]), "0.00", "{view:#}");
}

#[tokio::test]
async fn a_refund_in_the_dashboard_reaches_the_booking_by_webhook() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let (charge, intent) = charge(&stack, "bk_1", "100.00").await;

    stack
        .fake
        .post(
            "dashboard/refund",
            json!({"payment_intent": intent, "amount": 2500}),
        )
        .await;

    let booking = stack
        .booking_until("bk_1", WITHIN, |b| refunded_at_stripe(b, &charge))
        .await;
    assert_eq!(booking["status"], "partially_charged", "{booking:#}");
    // What is left to refund counts the dashboard's refund.
    let view = stack.payment(&charge).await;
    assert_eq!(money(&view["refundable"]), "75.00", "{view:#}");
}

#[tokio::test]
async fn a_dispute_shows_on_its_booking_and_a_lost_one_takes_the_money_back() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let (charge, intent) = charge(&stack, "bk_1", "100.00").await;

    let dispute = stack
        .fake
        .post(
            "disputes",
            json!({"payment": intent, "reason": "fraudulent"}),
        )
        .await;
    let dispute_id = dispute["id"].as_str().expect("a dispute id").to_owned();

    let booking = stack
        .booking_until("bk_1", WITHIN, |b| {
            let disputes = payments_of_kind(b, "dispute");
            b["disputed"] == true
                && disputes.len() == 1
                && disputes[0]["state"] == "pending"
                && disputes[0]["of"] == charge.as_str()
        })
        .await;
    let disputes = payments_of_kind(&booking, "dispute");
    assert_eq!(disputes[0]["origin"], "gateway", "{booking:#}");
    assert_eq!(disputes[0]["reason"], "fraudulent", "{booking:#}");
    // An open dispute is the bank's to decide: the money still counts as paid.
    assert_eq!(money(&booking["paid"]), "100.00", "{booking:#}");

    stack
        .fake
        .post(
            &format!("disputes/{dispute_id}/close"),
            json!({"outcome": "lost"}),
        )
        .await;
    let booking = stack
        .booking_until("bk_1", WITHIN, |b| {
            payments_of_kind(b, "dispute")
                .first()
                .is_some_and(|d| d["state"] == "succeeded")
        })
        .await;
    assert_eq!(booking["disputed"], true, "{booking:#}");
    assert_eq!(money(&booking["paid"]), "0.00", "{booking:#}");
    assert_eq!(money(&booking["balance_due"]), "100.00", "{booking:#}");
}

#[tokio::test]
async fn with_webhooks_off_the_sweep_pulls_what_was_done_at_stripe() {
    let stack = OnFakeStripe::start(Webhooks::Off, &["--reconcile-every-secs", "1"]);
    assert!(stack.fake.webhook_secret.is_none());
    stack
        .seed("ada", "pm_card_visa", "bk_capture", "USD", "100.00")
        .await;
    stack.book("ada", "bk_refund", "USD", "100.00").await;
    stack.book("ada", "bk_dispute", "USD", "100.00").await;
    stack.book("ada", "bk_expiry", "USD", "100.00").await;
    let (held, held_intent) = hold(&stack, "bk_capture", "100.00").await;
    let (expiring, _) = hold(&stack, "bk_expiry", "100.00").await;
    let (refunded, refunded_intent) = charge(&stack, "bk_refund", "100.00").await;
    let (_, disputed_intent) = charge(&stack, "bk_dispute", "100.00").await;

    stack
        .fake
        .post("dashboard/capture", json!({"payment_intent": held_intent}))
        .await;
    stack
        .fake
        .post(
            "dashboard/refund",
            json!({"payment_intent": refunded_intent, "amount": 2500}),
        )
        .await;
    stack
        .fake
        .post("disputes", json!({"payment": disputed_intent}))
        .await;
    // Card holds last seven days at Stripe.
    stack.fake.advance_clock(8 * 24 * 3600).await;

    stack
        .booking_until("bk_capture", WITHIN, |b| captured_at_stripe(b, &held))
        .await;
    stack
        .booking_until("bk_refund", WITHIN, |b| refunded_at_stripe(b, &refunded))
        .await;
    stack
        .booking_until("bk_dispute", WITHIN, |b| b["disputed"] == true)
        .await;
    stack
        .booking_until("bk_expiry", WITHIN, |b| {
            state_of(b, &expiring) == "expired" && money(&b["held"]) == "0.00"
        })
        .await;
    // Without a webhook secret, billingd serves no webhook endpoint.
    let webhook = stack.post("/v1/webhooks/stripe", json!({})).await;
    assert_ne!(webhook.status, StatusCode::OK, "{webhook:?}");
}

#[tokio::test]
async fn with_webhooks_off_billingd_reconcile_pulls_a_release_in_the_dashboard() {
    let stack = OnFakeStripe::start(Webhooks::Off, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let (hold, intent) = hold(&stack, "bk_1", "100.00").await;
    stack
        .fake
        .post("dashboard/cancel", json!({"payment_intent": intent}))
        .await;
    // Nothing else brings it in: the background sweep is off.
    let booking = stack.booking("bk_1").await;
    assert_eq!(state_of(&booking, &hold), "authorized", "{booking:#}");

    let (ok, printed) = stack.reconcile(0).await;
    assert!(ok, "billingd reconcile: {printed}");
    assert!(printed.contains("recorded"), "{printed}");

    let booking = stack.booking("bk_1").await;
    assert!(released_at_stripe(&booking, &hold), "{booking:#}");
    // A second sweep records nothing more.
    let (ok, printed) = stack.reconcile(0).await;
    assert!(ok, "billingd reconcile: {printed}");
    assert_eq!(stack.booking("bk_1").await["payments"], booking["payments"]);
}

#[tokio::test]
async fn a_hold_is_recorded_expired_once_stripes_clock_passes_its_expiry() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let (hold, intent) = hold(&stack, "bk_1", "100.00").await;
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["status"], "pre_authorized", "{booking:#}");

    // Card holds last seven days at Stripe.
    stack.fake.advance_clock(8 * 24 * 3600).await;

    let booking = stack
        .booking_until("bk_1", WITHIN, |b| state_of(b, &hold) == "expired")
        .await;
    assert_eq!(money(&booking["held"]), "0.00", "{booking:#}");
    assert_eq!(booking["status"], "not_charged", "{booking:#}");
    assert_eq!(stack.fake.intent(&intent).await["status"], "canceled");
    // An expired hold cannot be captured.
    let capture = stack
        .post(&format!("/v1/payments/{hold}/captures"), json!({}))
        .await;
    assert_eq!(capture.status, StatusCode::CONFLICT, "{capture:?}");
}

#[tokio::test]
async fn without_multicapture_a_capture_in_parts_is_refused_before_stripe_is_asked() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .fake
        .post("multicapture", json!({"allowed": false}))
        .await;
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let answer = stack
        .post("/v1/bookings/bk_1/authorizations", json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.json["payment"]["multicapture"], false, "{answer:?}");
    let (hold, intent) = ids(&answer.json);

    let partial = stack
        .post(
            &format!("/v1/payments/{hold}/captures"),
            json!({"amount": "30.00", "final": false}),
        )
        .await;
    assert_eq!(
        partial.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{partial:?}"
    );
    assert_eq!(
        partial.json["code"], "multicapture_unavailable",
        "{partial:?}"
    );
    assert_eq!(
        stack
            .fake
            .count("POST", &format!("/v1/payment_intents/{intent}/capture"))
            .await,
        0,
        "Stripe was not asked"
    );
    let booking = stack.booking("bk_1").await;
    assert_eq!(
        payments_of_kind(&booking, "capture").len(),
        0,
        "{booking:#}"
    );
    assert_eq!(money(&booking["held"]), "100.00", "{booking:#}");

    // A final capture of part of the hold is what such an account can do.
    let last = stack
        .post(
            &format!("/v1/payments/{hold}/captures"),
            json!({"amount": "30.00"}),
        )
        .await;
    assert_eq!(last.status, StatusCode::CREATED, "{last:?}");
    let booking = stack.booking("bk_1").await;
    assert_eq!(money(&booking["paid"]), "30.00", "{booking:#}");
    assert_eq!(money(&booking["held"]), "0.00", "{booking:#}");
}

#[tokio::test]
async fn with_multicapture_a_hold_is_captured_in_two_parts() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_1", "USD", "100.00")
        .await;
    let answer = stack
        .post("/v1/bookings/bk_1/authorizations", json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.json["payment"]["multicapture"], true, "{answer:?}");
    let (hold, intent) = ids(&answer.json);
    // The hold asked Stripe for multicapture.
    let placed = stack.fake.requests("POST", "/v1/payment_intents").await;
    assert!(
        placed.iter().any(|r| r["path"] == "/v1/payment_intents"),
        "{placed:#?}"
    );

    let first = stack
        .post(
            &format!("/v1/payments/{hold}/captures"),
            json!({"amount": "30.00", "final": false}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let booking = stack.booking("bk_1").await;
    assert_eq!(
        state_of(&booking, &hold),
        "partially_captured",
        "{booking:#}"
    );
    assert_eq!(money(&booking["held"]), "70.00", "{booking:#}");

    let second = stack
        .post(
            &format!("/v1/payments/{hold}/captures"),
            json!({"amount": "50.00", "final": false}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    let booking = stack.booking("bk_1").await;
    let captures = payments_of_kind(&booking, "capture");
    assert_eq!(captures.len(), 2, "{booking:#}");
    assert!(
        captures.iter().all(|c| c["state"] == "succeeded"),
        "{booking:#}"
    );
    assert_eq!(money(&booking["paid"]), "80.00", "{booking:#}");
    assert_eq!(money(&booking["held"]), "20.00", "{booking:#}");
    let at_stripe = stack.fake.intent(&intent).await;
    assert_eq!(at_stripe["amount_received"], 8000, "{at_stripe:#}");
    assert_eq!(at_stripe["amount_capturable"], 2000, "{at_stripe:#}");
}

#[tokio::test]
async fn amounts_stripe_cannot_charge_are_refused_and_nothing_opens() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    stack
        .seed("ada", "pm_card_visa", "bk_kwd", "KWD", "10.125")
        .await;
    stack.book("ada", "bk_usd", "USD", "0.49").await;
    // The Iraqi dinar: a currency with an ISO code that Stripe does not take.
    stack.book("ada", "bk_iqd", "IQD", "25.000").await;

    for (booking, route) in [
        ("bk_kwd", "charges"),
        ("bk_kwd", "authorizations"),
        ("bk_usd", "charges"),
        ("bk_usd", "authorizations"),
        ("bk_iqd", "charges"),
    ] {
        let answer = stack
            .post(&format!("/v1/bookings/{booking}/{route}"), json!({}))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{booking} {route}: {answer:?}"
        );
        assert_eq!(answer.json["code"], "amount_not_chargeable", "{answer:?}");
        assert!(
            answer.json["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "a reason: {answer:?}"
        );
        let view = stack.booking(booking).await;
        assert_eq!(view["payments"], json!([]), "nothing opened: {view:#}");
        assert_eq!(view["pending"], false, "{view:#}");
    }
    assert_eq!(
        stack.fake.count("POST", "/v1/payment_intents").await,
        0,
        "Stripe was never asked"
    );
    assert!(stack.fake.intents().await.is_empty());

    // A chargeable amount in the same currency goes through: the rule is Stripe's, not a
    // refusal of the currency.
    stack.book("ada", "bk_kwd_ok", "KWD", "10.120").await;
    let answer = stack
        .post("/v1/bookings/bk_kwd_ok/charges", json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(stack.fake.intents().await.len(), 1);
}
