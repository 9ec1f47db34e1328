//! What the adapter reads back from Stripe of changes made there: a payment's whole record
//! after Dashboard captures, cancellations and refunds and card-network disputes (every page),
//! and an account's events since a time (every page, oldest first).

mod common;

use std::time::Duration;

use billing_core::ports::{
    DisputeStatus, EventSubject, GatewayError, GatewayStatus, PaymentGateway, RefundRequest,
    RefundStatus,
};
use common::{ACCOUNT, account, customer_with, eur, now, pid, request, sent, start};

fn refund(reference: &str, refund: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        account: account(),
        payment_reference: reference.into(),
        refund: pid(refund),
        idempotency_key: format!("{refund}:attempt"),
        amount: eur(minor),
        reason: None,
    }
}

#[tokio::test]
async fn a_record_shows_what_was_done_in_the_dashboard() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "dashboard", "pm_card_visa").await;
    let held = gateway
        .authorize(&request(
            "pay_dash",
            &customer,
            &visa.payment_method,
            eur(10_000),
        ))
        .await
        .expect("held");
    // Staff capture part of the hold in the Dashboard, then refund part of it there.
    fake.capture_in_dashboard(Some(ACCOUNT), &held.reference, Some(6_000), true)
        .expect("captured in the dashboard");
    let record = gateway
        .payment_record(account(), &held.reference)
        .await
        .expect("read");
    assert_eq!(record.payment.status, GatewayStatus::Succeeded);
    assert_eq!(record.payment.amount_received, eur(6_000));
    assert_eq!(record.payment.payment, Some(pid("pay_dash")));
    assert!(record.refunds.is_empty() && record.disputes.is_empty());
    let ours = gateway
        .refund(&refund(&held.reference, "pay_dash_refund", 1_000))
        .await
        .expect("refunded");
    assert_eq!(ours.refund, Some(pid("pay_dash_refund")));
    fake.refund_in_dashboard(Some(ACCOUNT), &held.reference, Some(2_000))
        .expect("refunded in the dashboard");
    let record = gateway
        .payment_record(account(), &held.reference)
        .await
        .expect("read");
    assert_eq!(record.refunds.len(), 2, "{record:?}");
    let dashboard = record
        .refunds
        .iter()
        .find(|r| r.refund.is_none())
        .expect("the dashboard's refund, with no id of ours");
    assert_eq!(dashboard.amount, eur(2_000));
    assert_eq!(dashboard.status, RefundStatus::Succeeded);
    let mine = record
        .refunds
        .iter()
        .find(|r| r.refund == Some(pid("pay_dash_refund")))
        .expect("ours");
    assert_eq!(mine.reference, ours.reference);

    // A hold canceled in the Dashboard.
    let other = gateway
        .authorize(&request(
            "pay_dash_cancel",
            &customer,
            &visa.payment_method,
            eur(3_000),
        ))
        .await
        .expect("held");
    fake.cancel_in_dashboard(Some(ACCOUNT), &other.reference)
        .expect("canceled in the dashboard");
    let record = gateway
        .payment_record(account(), &other.reference)
        .await
        .expect("read");
    assert_eq!(record.payment.status, GatewayStatus::Canceled);
    assert_eq!(record.payment.amount_capturable, eur(0));
}

#[tokio::test]
async fn a_record_follows_a_dispute_to_its_end() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "disputes", "pm_card_visa").await;
    let mut disputes = Vec::new();
    for (n, won) in [(1, true), (2, false)] {
        let paid = gateway
            .charge(&request(
                &format!("pay_disputed_{n}"),
                &customer,
                &visa.payment_method,
                eur(8_000),
            ))
            .await
            .expect("charged");
        let opened = fake
            .open_dispute(
                Some(ACCOUNT),
                &paid.reference,
                Some(5_000),
                Some("product_not_received"),
            )
            .expect("disputed");
        let id = opened["id"].as_str().expect("dispute id").to_owned();
        let record = gateway
            .payment_record(account(), &paid.reference)
            .await
            .expect("read");
        assert_eq!(record.disputes.len(), 1, "{record:?}");
        let dispute = &record.disputes[0];
        assert_eq!(dispute.reference, id);
        assert_eq!(dispute.amount, eur(5_000));
        assert_eq!(dispute.status, DisputeStatus::Open);
        assert_eq!(dispute.reason.as_deref(), Some("product_not_received"));
        fake.review_dispute(Some(ACCOUNT), &id)
            .expect("under review");
        let record = gateway
            .payment_record(account(), &paid.reference)
            .await
            .expect("read");
        assert_eq!(record.disputes[0].status, DisputeStatus::Open);
        fake.close_dispute(Some(ACCOUNT), &id, won).expect("closed");
        disputes.push((paid.reference, won));
    }
    for (reference, won) in disputes {
        let record = gateway
            .payment_record(account(), &reference)
            .await
            .expect("read");
        let expected = if won {
            DisputeStatus::Won
        } else {
            DisputeStatus::Lost
        };
        assert_eq!(record.disputes[0].status, expected);
    }
}

#[tokio::test]
async fn every_page_of_refunds_is_read() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "many_refunds", "pm_card_visa").await;
    let paid = gateway
        .charge(&request(
            "pay_many",
            &customer,
            &visa.payment_method,
            eur(20_000),
        ))
        .await
        .expect("charged");
    // More refunds than one page of Stripe's list holds (100).
    for n in 0..105 {
        gateway
            .refund(&refund(&paid.reference, &format!("pay_many_r{n}"), 100))
            .await
            .expect("refunded");
    }
    let record = gateway
        .payment_record(account(), &paid.reference)
        .await
        .expect("read");
    assert_eq!(record.refunds.len(), 105);
    let lists = sent(&fake, "GET", "/v1/refunds");
    assert!(lists.len() >= 2, "read in pages: {}", lists.len());
    // The oldest is on the last page Stripe lists (newest first).
    let first = gateway
        .find_refund(account(), &paid.reference, &pid("pay_many_r0"))
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(first.amount, eur(100));
}

#[tokio::test]
async fn an_unknown_payment_has_no_record() {
    let (_fake, gateway) = start().await;
    assert!(matches!(
        gateway.payment_record(account(), "pi_never_made").await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn events_since_a_time_come_oldest_first_from_every_page() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "events", "pm_card_visa").await;
    gateway
        .charge(&request(
            "pay_before",
            &customer,
            &visa.payment_method,
            eur(1_000),
        ))
        .await
        .expect("charged");
    fake.advance_clock(Duration::from_secs(3_600));
    let since = now(&fake);
    // Enough payments for several pages of events (three events each, at least).
    for n in 0..40 {
        gateway
            .charge(&request(
                &format!("pay_ev_{n}"),
                &customer,
                &visa.payment_method,
                eur(1_000 + n),
            ))
            .await
            .expect("charged");
    }
    let events = gateway
        .events_since(account(), since)
        .await
        .expect("listed");
    let expected: Vec<String> = fake
        .events()
        .into_iter()
        .filter(|e| e["account"] == ACCOUNT && e["created"].as_i64() >= Some(since.timestamp()))
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(expected.len() > 100, "{}", expected.len());
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, expected, "every event since, oldest first");
    assert!(sent(&fake, "GET", "/v1/events").len() >= 2, "read in pages");
    assert!(
        events.iter().all(|e| e.account.as_deref() == Some(ACCOUNT)),
        "each names its account"
    );
    let succeeded: Vec<&EventSubject> = events
        .iter()
        .filter(|e| e.event_type == "payment_intent.succeeded")
        .map(|e| &e.subject)
        .collect();
    assert_eq!(succeeded.len(), 40);
    assert_eq!(succeeded[0], &EventSubject::Payment(pid("pay_ev_0")));
    assert_eq!(succeeded[39], &EventSubject::Payment(pid("pay_ev_39")));
    assert!(
        !events
            .iter()
            .any(|e| e.subject == EventSubject::Payment(pid("pay_before"))),
        "nothing from before the time asked"
    );
}

#[tokio::test]
async fn events_of_changes_made_at_stripe_name_the_stripe_payment() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "at_stripe", "pm_card_visa").await;
    let since = now(&fake);
    let paid = gateway
        .charge(&request(
            "pay_at_stripe",
            &customer,
            &visa.payment_method,
            eur(5_000),
        ))
        .await
        .expect("charged");
    fake.refund_in_dashboard(Some(ACCOUNT), &paid.reference, Some(1_000))
        .expect("refunded in the dashboard");
    fake.open_dispute(Some(ACCOUNT), &paid.reference, None, None)
        .expect("disputed");
    let events = gateway
        .events_since(account(), since)
        .await
        .expect("listed");
    let subject_of = |event_type: &str| {
        events
            .iter()
            .find(|e| e.event_type == event_type)
            .map(|e| e.subject.clone())
            .unwrap_or_else(|| panic!("no {event_type} in {events:?}"))
    };
    let at_stripe = EventSubject::GatewayPayment(paid.reference.clone());
    assert_eq!(
        subject_of("refund.created"),
        at_stripe,
        "no metadata of ours"
    );
    assert_eq!(subject_of("charge.dispute.created"), at_stripe);
    assert_eq!(
        subject_of("charge.refunded"),
        EventSubject::RefundsOf(pid("pay_at_stripe")),
        "the charge carries our payment id"
    );
}
