//! Every payment ends, with `billingd` on the fake Stripe (a process of its own): a charge
//! whose answer was lost is settled by the reconciler from Stripe's record, or ended when
//! Stripe refused it; a capture whose answer was lost is looked up, never sent again; a card
//! with a payment in flight cannot be removed; a hold whose capture is in flight cannot be
//! released; nothing is sent again once Stripe may have forgotten its idempotency key; staff
//! can end a payment only once Stripe says it never had it; and a link whose payment the
//! reconciler settles is completed.
//!
//! Lost answers are the fake's faults on the adapter's four attempts at one call:
//! `reset_after_processing` (Stripe carried the request out, the answer never came back) and
//! `connection_reset` (it never carried it out, and said nothing either).

use billing_blackbox::stripe_fake::{OnFakeStripe, Webhooks, money, payments_of_kind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Carried out at Stripe, the answer lost.
const CARRIED_OUT: &str = "reset_after_processing";
/// Never carried out, no answer either.
const NEVER_ARRIVED: &str = "connection_reset";
/// Where charges and holds are made.
const INTENTS: &str = "/v1/payment_intents";

/// A day and a minute: past Stripe's 24-hour idempotency window.
const PAST_THE_WINDOW: u64 = 24 * 3600 + 60;
/// Two minutes: past Stripe's search lag (a minute), well inside the window.
const PAST_THE_SEARCH_LAG: u64 = 120;

/// A customer `ada` with `card` saved and a booking `bk_1` of 100.00 USD.
async fn seeded(card: &str) -> (OnFakeStripe, String) {
    let stack = OnFakeStripe::start(Webhooks::Off, &[]);
    let payment_method = stack.seed("ada", card, "bk_1", "USD", "100.00").await;
    (stack, payment_method)
}

/// Charges `bk_1` with every answer lost as `fault` says: 202, pending. Answers the payment.
async fn charge_with_answers_lost(stack: &OnFakeStripe, fault: &str) -> String {
    stack.fake.lose_answers(fault, INTENTS).await;
    let answer = stack.post("/v1/bookings/bk_1/charges", json!({})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{answer:?}");
    assert_eq!(answer.json["payment"]["state"], "pending", "{answer:?}");
    assert_eq!(stack.fake.count("POST", INTENTS).await, 4, "four attempts");
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["pending"], true, "{booking:#}");
    answer.json["payment"]["id"]
        .as_str()
        .expect("payment id")
        .to_owned()
}

/// The payment's record in `billingd`.
async fn payment(stack: &OnFakeStripe, id: &str) -> Value {
    stack.payment(id).await["payment"].clone()
}

/// `billingd reconcile`, which must succeed; what it printed.
async fn reconcile(stack: &OnFakeStripe) -> String {
    let (ok, printed) = stack.reconcile(0).await;
    assert!(ok, "billingd reconcile: {printed}");
    printed
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_settled_by_the_reconciler_without_a_resend() {
    let (stack, _) = seeded("pm_card_visa").await;
    let id = charge_with_answers_lost(&stack, CARRIED_OUT).await;
    let intents = stack.fake.intents().await;
    assert_eq!(intents.len(), 1, "Stripe made it once");
    assert_eq!(intents[0]["status"], "succeeded");

    let printed = reconcile(&stack).await;
    assert!(printed.contains(&format!("{id}: succeeded")), "{printed}");

    let settled = payment(&stack, &id).await;
    assert_eq!(settled["state"], "succeeded", "{settled:#}");
    assert_eq!(
        settled["gateway_reference"], intents[0]["id"],
        "{settled:#}"
    );
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["pending"], false, "{booking:#}");
    assert_eq!(booking["status"], "charged_in_full", "{booking:#}");
    // Found, not made again.
    assert_eq!(stack.fake.count("POST", INTENTS).await, 4);
    assert_eq!(stack.fake.intents().await.len(), 1);
}

#[tokio::test]
async fn a_decline_whose_answer_was_lost_ends_the_payment_and_frees_the_booking() {
    // Saved fine; every charge is declined.
    let (stack, _) = seeded("pm_card_chargeCustomerFail").await;
    let id = charge_with_answers_lost(&stack, CARRIED_OUT).await;
    // Stripe leaves a declined intent waiting for another payment method, for good.
    assert_eq!(
        stack.fake.intents().await[0]["status"],
        "requires_payment_method"
    );

    reconcile(&stack).await;

    let ended = payment(&stack, &id).await;
    assert_eq!(ended["state"], "failed", "{ended:#}");
    assert_eq!(ended["failure"]["code"], "card_declined", "{ended:#}");
    assert_eq!(
        ended["failure"]["decline_code"], "generic_decline",
        "{ended:#}"
    );
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["pending"], false, "{booking:#}");
    assert_eq!(booking["last_failed"], true, "{booking:#}");
    // The booking can be paid another way now.
    let cash = stack
        .post("/v1/bookings/bk_1/collections", json!({"method": "cash"}))
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{cash:?}");
    assert_eq!(stack.fake.count("POST", INTENTS).await, 4, "no resend");
}

/// A hold of the whole booking and a capture of it whose answers were all lost (carried out
/// at Stripe): the hold's id, its PaymentIntent and the capture's id.
async fn capture_with_answers_lost(stack: &OnFakeStripe) -> (String, String, String) {
    let held = stack
        .post("/v1/bookings/bk_1/authorizations", json!({}))
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{held:?}");
    let hold = held.json["payment"]["id"].as_str().expect("id").to_owned();
    let intent = held.json["payment"]["gateway_reference"]
        .as_str()
        .expect("pi")
        .to_owned();
    let capture_path = format!("{INTENTS}/{intent}/capture");
    stack.fake.lose_answers(CARRIED_OUT, &capture_path).await;
    let answer = stack
        .post(&format!("/v1/payments/{hold}/captures"), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{answer:?}");
    assert_eq!(answer.json["payment"]["kind"], "capture", "{answer:?}");
    assert_eq!(answer.json["payment"]["state"], "pending", "{answer:?}");
    assert_eq!(stack.fake.count("POST", &capture_path).await, 4);
    assert_eq!(stack.fake.intent(&intent).await["status"], "succeeded");
    let capture = answer.json["payment"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    (hold, intent, capture)
}

#[tokio::test]
async fn a_capture_whose_answer_was_lost_is_looked_up_not_sent_again() {
    let (stack, _) = seeded("pm_card_visa").await;
    let (hold, intent, capture) = capture_with_answers_lost(&stack).await;

    let printed = reconcile(&stack).await;
    assert!(printed.contains(&capture), "{printed}");

    assert_eq!(payment(&stack, &capture).await["state"], "succeeded");
    assert_eq!(payment(&stack, &hold).await["state"], "captured");
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["pending"], false, "{booking:#}");
    assert_eq!(booking["status"], "charged_in_full", "{booking:#}");
    assert_eq!(
        payments_of_kind(&booking, "capture").len(),
        1,
        "{booking:#}"
    );
    // Looked up from the hold's record: not one more capture request.
    let capture_path = format!("{INTENTS}/{intent}/capture");
    assert_eq!(stack.fake.count("POST", &capture_path).await, 4);
}

#[tokio::test]
async fn a_hold_cannot_be_released_while_its_capture_is_in_flight() {
    let (stack, _) = seeded("pm_card_visa").await;
    let (hold, intent, capture) = capture_with_answers_lost(&stack).await;

    let release = stack
        .post(&format!("/v1/payments/{hold}/cancel"), json!({}))
        .await;
    assert_eq!(release.status, StatusCode::CONFLICT, "{release:?}");
    assert_eq!(release.json["code"], "capture_in_flight", "{release:?}");
    assert_eq!(release.json["payment"], hold.as_str(), "{release:?}");
    assert_eq!(payment(&stack, &capture).await["state"], "pending");
    assert_eq!(
        stack
            .fake
            .count("POST", &format!("{INTENTS}/{intent}/cancel"))
            .await,
        0,
        "Stripe was not asked to release it"
    );
    // Once the capture is settled the hold is captured, and there is nothing to release.
    reconcile(&stack).await;
    let release = stack
        .post(&format!("/v1/payments/{hold}/cancel"), json!({}))
        .await;
    assert_eq!(release.status, StatusCode::CONFLICT, "{release:?}");
    assert_ne!(release.json["code"], "capture_in_flight", "{release:?}");
    assert_eq!(money(&stack.booking("bk_1").await["paid"]), "100.00");
}

#[tokio::test]
async fn a_card_with_a_payment_in_flight_cannot_be_removed() {
    let (stack, card) = seeded("pm_card_visa").await;
    let id = charge_with_answers_lost(&stack, CARRIED_OUT).await;
    let path = format!("/v1/customers/ada/payment-methods/{card}");
    let card_calls = stack.fake.count("POST", "/v1/payment_methods").await;

    let removed = stack
        .service
        .call(&stack.tenant, Method::DELETE, &path, None, None)
        .await;
    assert_eq!(removed.status, StatusCode::CONFLICT, "{removed:?}");
    assert_eq!(removed.json["code"], "card_in_use", "{removed:?}");
    assert_eq!(removed.json["payment"], id.as_str(), "{removed:?}");
    assert_eq!(
        stack.fake.count("POST", "/v1/payment_methods").await,
        card_calls,
        "not detached at Stripe"
    );
    let cards = stack.get("/v1/customers/ada/payment-methods").await;
    assert_eq!(
        cards.json["data"].as_array().map(Vec::len),
        Some(1),
        "{cards:?}"
    );

    // Once the payment is settled, the card can go.
    reconcile(&stack).await;
    let removed = stack
        .service
        .call(&stack.tenant, Method::DELETE, &path, None, None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{removed:?}");
}

#[tokio::test]
async fn a_payment_within_the_idempotency_window_is_sent_again_once() {
    let (stack, _) = seeded("pm_card_visa").await;
    let id = charge_with_answers_lost(&stack, NEVER_ARRIVED).await;
    assert!(stack.fake.intents().await.is_empty(), "Stripe has nothing");

    reconcile(&stack).await;

    assert_eq!(payment(&stack, &id).await["state"], "succeeded");
    assert_eq!(stack.fake.count("POST", INTENTS).await, 5, "sent once more");
    assert_eq!(stack.fake.intents().await.len(), 1);
    assert_eq!(stack.booking("bk_1").await["status"], "charged_in_full");
}

#[tokio::test]
async fn a_payment_older_than_the_idempotency_window_is_not_sent_again() {
    let (mut stack, _) = seeded("pm_card_visa").await;
    let id = charge_with_answers_lost(&stack, NEVER_ARRIVED).await;

    // A day later (billingd's clock), the background sweep takes the payment up.
    stack.restart(
        PAST_THE_WINDOW,
        &["--reconcile-every-secs", "1", "--reconcile-after-secs", "0"],
    );
    let booking = stack
        .booking_until("bk_1", std::time::Duration::from_secs(30), |b| {
            b["pending"] == false
        })
        .await;

    let ended = payment(&stack, &id).await;
    assert_eq!(ended["state"], "failed", "{ended:#}");
    assert_eq!(ended["failure"]["code"], "not_at_gateway", "{ended:#}");
    assert_eq!(booking["status"], "not_charged", "{booking:#}");
    // Stripe may have forgotten the key: a resend could have charged twice.
    assert_eq!(stack.fake.count("POST", INTENTS).await, 4, "not sent again");
    assert!(stack.fake.intents().await.is_empty());
}

#[tokio::test]
async fn staff_mark_a_payment_failed_only_once_stripe_says_it_never_had_it() {
    let (mut stack, _) = seeded("pm_card_visa").await;
    let id = charge_with_answers_lost(&stack, NEVER_ARRIVED).await;
    let mark = format!("/v1/payments/{id}/mark-failed");

    // Stripe's search may not show a payment this new.
    let early = stack.post(&mark, json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{early:?}");
    assert_eq!(early.json["code"], "too_recent_to_judge", "{early:?}");
    assert!(early.json["retry_at"].is_string(), "{early:?}");
    assert!(early.headers.contains_key("retry-after"), "{early:?}");
    assert_eq!(payment(&stack, &id).await["state"], "pending");

    stack.restart(PAST_THE_SEARCH_LAG, &[]);
    let marked = stack.post(&mark, json!({})).await;
    assert_eq!(marked.status, StatusCode::OK, "{marked:?}");
    assert_eq!(marked.json["payment"]["state"], "failed", "{marked:?}");
    assert_eq!(
        marked.json["payment"]["failure"]["code"], "marked_failed",
        "{marked:?}"
    );
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["pending"], false, "{booking:#}");
    assert_eq!(money(&booking["in_flight"]), "0.00", "{booking:#}");
    // Nothing was sent to Stripe to mark it.
    assert_eq!(stack.fake.count("POST", INTENTS).await, 4);
    // Marking twice is refused.
    let again = stack.post(&mark, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    assert_eq!(again.json["code"], "payment_not_pending", "{again:?}");
}

#[tokio::test]
async fn staff_cannot_mark_failed_a_payment_stripe_has() {
    let (mut stack, _) = seeded("pm_card_visa").await;
    let id = charge_with_answers_lost(&stack, CARRIED_OUT).await;

    stack.restart(PAST_THE_SEARCH_LAG, &[]);
    let marked = stack
        .post(&format!("/v1/payments/{id}/mark-failed"), json!({}))
        .await;
    assert_eq!(marked.status, StatusCode::CONFLICT, "{marked:?}");
    assert_eq!(
        marked.json["code"], "payment_exists_at_gateway",
        "{marked:?}"
    );
    // Settled from Stripe's record instead.
    assert_eq!(
        marked.json["receipt"]["payment"]["state"], "succeeded",
        "{marked:?}"
    );
    assert_eq!(payment(&stack, &id).await["state"], "succeeded");
    assert_eq!(stack.booking("bk_1").await["status"], "charged_in_full");
}

#[tokio::test]
async fn a_link_whose_payment_the_reconciler_settles_is_completed() {
    let stack = OnFakeStripe::start(Webhooks::Off, &[]);
    stack
        .post(
            "/v1/customers",
            json!({"id": "ada", "name": "Ada", "email": "ada@example.com"}),
        )
        .await;
    stack.book("ada", "bk_1", "USD", "100.00").await;
    let issued = stack
        .post(
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["bk_1"], "send_email": false}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{issued:?}");
    let link = issued.json["id"].as_str().expect("link id").to_owned();
    let url = issued.json["url"].as_str().expect("link url").to_owned();

    // The customer pays on the page (Stripe.js made the payment method); the answer is lost.
    stack.fake.lose_answers(CARRIED_OUT, INTENTS).await;
    let page = reqwest::Client::new()
        .post(&url)
        .form(&[("payment_method", "pm_card_visa")])
        .send()
        .await
        .expect("the page answers");
    assert_eq!(page.status(), StatusCode::ACCEPTED);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("payment-processing"), "{html}");
    let open = stack.get(&format!("/v1/links/{link}")).await;
    assert_eq!(open.json["status"], "open", "{open:?}");
    assert_eq!(stack.fake.intents().await[0]["status"], "succeeded");

    reconcile(&stack).await;

    let completed = stack.get(&format!("/v1/links/{link}")).await;
    assert_eq!(completed.json["status"], "completed", "{completed:?}");
    let booking = stack.booking("bk_1").await;
    assert_eq!(booking["status"], "charged_in_full", "{booking:#}");
    let charges = payments_of_kind(&booking, "charge");
    assert_eq!(charges.len(), 1, "{booking:#}");
    assert_eq!(charges[0]["origin"], "payment_link", "{booking:#}");
    assert_eq!(charges[0]["link"], link.as_str(), "{booking:#}");
    // And the customer's receipt is queued, once.
    let notices = stack.get("/v1/customers/ada/notifications").await;
    let receipts = notices.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "receipt")
        .count();
    assert_eq!(receipts, 1, "{notices:?}");
    reconcile(&stack).await;
    let notices = stack.get("/v1/customers/ada/notifications").await;
    assert_eq!(
        notices.json["data"].as_array().map(Vec::len),
        Some(receipts),
        "{notices:?}"
    );
}
