//! Changes made at Stripe outside the API client (the Dashboard, Stripe's own clock), the
//! events they record, reading events back with `GET /v1/events`, and search lag.

use std::time::Duration;

use stripe_core::event::ListEvent;
use stripe_core::payment_intent::{RetrievePaymentIntent, SearchPaymentIntent};
use stripe_core::refund::ListRefund;
use stripe_core::{PaymentIntentCaptureMethod, PaymentIntentStatus};
use stripe_types::Expandable;

use super::{connect_client, fake_with_customer, new_customer, off_session_payment};

#[tokio::test]
async fn dashboard_capture_refund_and_cancel() {
    let (fake, client, customer) = fake_with_customer().await;
    let hold = off_session_payment(10_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .metadata([("payment_id".to_string(), "pay_1".to_string())])
        .send(&client)
        .await
        .expect("hold");
    fake.clear_requests();
    let before = fake.events().len();

    let captured = fake
        .capture_in_dashboard(None, hold.id.as_str(), Some(7_000), true)
        .expect("capture in the dashboard");
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["amount_received"], 7_000);
    let refund = fake
        .refund_in_dashboard(None, hold.id.as_str(), Some(2_000))
        .expect("refund in the dashboard");
    assert_eq!(refund["amount"], 2_000);
    assert_eq!(refund["metadata"], serde_json::json!({}));
    assert!(fake.requests().is_empty(), "nothing went through the API");

    let new_events: Vec<_> = fake.events().split_off(before);
    let types: Vec<&str> = new_events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "charge.captured",
            "payment_intent.succeeded",
            "refund.created",
            "charge.refunded"
        ]
    );
    for event in &new_events {
        assert!(
            event["request"]["id"]
                .as_str()
                .is_some_and(|r| r.starts_with("req_"))
        );
        assert!(event["request"]["idempotency_key"].is_null());
    }
    let refunds = ListRefund::new()
        .payment_intent(hold.id.as_str())
        .send(&client)
        .await
        .expect("refunds");
    assert_eq!(refunds.data.len(), 1);
    assert!(
        refunds.data[0]
            .metadata
            .as_ref()
            .is_none_or(|m| m.is_empty())
    );

    // Stripe's rules hold in the dashboard too.
    assert!(
        fake.capture_in_dashboard(None, hold.id.as_str(), None, true)
            .is_err()
    );
    assert!(
        fake.refund_in_dashboard(None, hold.id.as_str(), Some(6_000))
            .is_err()
    );

    let other = off_session_payment(3_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("hold");
    assert!(
        fake.capture_in_dashboard(None, other.id.as_str(), Some(1_000), false)
            .is_err(),
        "no multicapture asked"
    );
    let canceled = fake
        .cancel_in_dashboard(None, other.id.as_str())
        .expect("cancel");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(
        fake.events().last().and_then(|e| e["type"].as_str()),
        Some("payment_intent.canceled")
    );
}

#[tokio::test]
async fn expiry_events_and_listing_them() {
    let (fake, client, customer) = fake_with_customer().await;
    let venue = connect_client(&fake, "acct_venue");
    let venue_customer = new_customer(&venue).await;
    let hold = off_session_payment(2_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("hold");
    off_session_payment(2_000, &venue_customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&venue)
        .await
        .expect("venue hold");
    let since = fake.now() + 7 * 24 * 3600;

    // The holds expire as the clock passes their capture_before, without any request.
    fake.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let canceled = fake.events_of_type("payment_intent.canceled");
    assert_eq!(canceled.len(), 2);
    for event in &canceled {
        assert_eq!(event["data"]["object"]["cancellation_reason"], "automatic");
        assert!(event["request"]["id"].is_null());
    }
    assert_eq!(fake.events_of_type("charge.expired").len(), 2);

    // Read back per account, by type, by several types, by date, page by page.
    let listed = ListEvent::new()
        .type_("payment_intent.canceled")
        .send(&client)
        .await
        .expect("events");
    assert_eq!(
        listed.data.len(),
        1,
        "the venue's event is not the platform's"
    );
    assert_eq!(listed.data[0].account, None);
    let venue_listed = ListEvent::new()
        .type_("payment_intent.canceled")
        .send(&venue)
        .await
        .expect("events");
    assert_eq!(venue_listed.data[0].account.as_deref(), Some("acct_venue"));
    let both = ListEvent::new()
        .types(vec![
            "charge.expired".to_string(),
            "payment_intent.canceled".to_string(),
        ])
        .send(&client)
        .await
        .expect("events");
    assert_eq!(both.data.len(), 2);
    // Newest first: the intent's cancellation came after the charge's expiry.
    assert_eq!(both.data[0].type_.as_str(), "payment_intent.canceled");
    let recent = ListEvent::new()
        .created(stripe_types::RangeQueryTs::gte(since))
        .send(&client)
        .await
        .expect("events");
    assert_eq!(recent.data.len(), 2);

    let all = ListEvent::new()
        .limit(100)
        .send(&client)
        .await
        .expect("all");
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = ListEvent::new().limit(3);
        if let Some(c) = &cursor {
            request = request.starting_after(c.as_str());
        }
        let page = request.send(&client).await.expect("page");
        paged.extend(page.data.iter().map(|e| e.id.clone()));
        cursor = page.data.last().map(|e| e.id.to_string());
        if !page.has_more {
            break;
        }
    }
    let ids: Vec<_> = all.data.iter().map(|e| e.id.clone()).collect();
    assert_eq!(paged, ids);

    let expired = RetrievePaymentIntent::new(hold.id.clone())
        .expand([String::from("latest_charge")])
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(expired.status, PaymentIntentStatus::Canceled);
    match expired.latest_charge {
        Some(Expandable::Object(charge)) => assert!(charge.refunded && !charge.captured),
        other => panic!("expected the charge, got {other:?}"),
    }
}

#[tokio::test]
async fn search_lags_behind() {
    let (fake, client, customer) = fake_with_customer().await;
    fake.set_search_lag(Duration::from_secs(60));
    let pi = off_session_payment(1_500, &customer, "pm_card_visa")
        .metadata([("payment_id".to_string(), "pay_lag".to_string())])
        .send(&client)
        .await
        .expect("payment");
    let query = "metadata['payment_id']:'pay_lag'";
    let early = SearchPaymentIntent::new(query)
        .send(&client)
        .await
        .expect("search");
    assert!(early.data.is_empty(), "not indexed yet");
    fake.advance_clock(Duration::from_secs(61));
    let later = SearchPaymentIntent::new(query)
        .send(&client)
        .await
        .expect("search");
    assert_eq!(later.data.len(), 1);
    assert_eq!(later.data[0].id, pi.id);
}
