//! Disputes opened by the card network: the API's view of them, their events, and the
//! refunds they block.

use stripe::ApiErrorsCode;
use stripe_core::charge::RetrieveCharge;
use stripe_core::dispute::{CloseDispute, ListDispute, RetrieveDispute, UpdateDispute};
use stripe_core::refund::CreateRefund;
use stripe_shared::DisputeStatus;
use stripe_webhook::{EventObject, Webhook};

use super::{connect_client, fake_with_customer, new_customer, off_session_payment, stripe_error};

#[tokio::test]
async fn dispute_lifecycle_and_events() {
    let (fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(8_000, &customer, "pm_card_visa")
        .metadata([("payment_id".to_string(), "pay_9".to_string())])
        .send(&client)
        .await
        .expect("payment");
    let charge_id = pi.latest_charge.as_ref().expect("charge").id().clone();
    let opened = fake
        .open_dispute(None, pi.id.as_str(), None, None)
        .expect("dispute");
    let dispute_id = opened["id"].as_str().expect("id").to_owned();
    assert!(dispute_id.starts_with("dp_"));

    let dispute = RetrieveDispute::new(dispute_id.as_str())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(dispute.status, DisputeStatus::NeedsResponse);
    assert_eq!(dispute.amount, 8_000);
    assert_eq!(dispute.charge.id(), &charge_id);
    assert_eq!(
        dispute.payment_intent.as_ref().map(|p| p.id().clone()),
        Some(pi.id.clone())
    );
    assert!(dispute.metadata.is_empty(), "not the payment's metadata");
    assert!(!dispute.is_charge_refundable);
    let charge = RetrieveCharge::new(charge_id.clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.disputed);

    // Listed by payment intent and by charge; another payment has none.
    let by_pi = ListDispute::new()
        .payment_intent(pi.id.as_str())
        .send(&client)
        .await
        .expect("list");
    assert_eq!(by_pi.data.len(), 1);
    let by_charge = ListDispute::new()
        .charge(charge_id.as_str())
        .send(&client)
        .await
        .expect("list");
    assert_eq!(by_charge.data[0].id, dispute.id);
    let other = off_session_payment(1_000, &customer, "pm_card_visa")
        .send(&client)
        .await
        .expect("payment");
    let none = ListDispute::new()
        .payment_intent(other.id.as_str())
        .send(&client)
        .await
        .expect("list");
    assert!(none.data.is_empty());

    // An open dispute blocks refunds.
    let (err, status) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.code),
        (400, Some(ApiErrorsCode::ChargeDisputed))
    );

    // Evidence submitted: under review; then won.
    let reviewed = UpdateDispute::new(dispute_id.as_str())
        .submit(true)
        .send(&client)
        .await
        .expect("submit evidence");
    assert_eq!(reviewed.status, DisputeStatus::UnderReview);
    let closed = fake
        .close_dispute(None, &dispute_id, true)
        .expect("close won");
    assert_eq!(closed["status"], "won");
    assert!(fake.close_dispute(None, &dispute_id, false).is_err());

    // Every event parses, and the dispute events carry the dispute.
    let types: Vec<String> = fake
        .events()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("charge.dispute."))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        types,
        [
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.updated",
            "charge.dispute.closed",
            "charge.dispute.funds_reinstated",
        ]
    );
    for emitted in fake.events() {
        let payload = emitted.to_string();
        let event = Webhook::construct_event(&payload, &fake.sign(&payload), fake.webhook_secret())
            .expect("event parses");
        if let EventObject::ChargeDisputeCreated(d) = event.data.object {
            assert_eq!(d.charge.id(), &charge_id);
            assert_eq!(
                d.payment_intent.map(|p| p.id().clone()),
                Some(pi.id.clone())
            );
        } else {
            assert!(
                !matches!(event.data.object, EventObject::Unknown(_)),
                "{payload}"
            );
        }
    }

    // Once won, the payment can be refunded again.
    CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .send(&client)
        .await
        .expect("refund after a won dispute");
}

#[tokio::test]
async fn disputes_of_a_connected_account_and_accepting_one() {
    let (fake, _platform, _) = fake_with_customer().await;
    let venue = connect_client(&fake, "acct_venue");
    let customer = new_customer(&venue).await;
    let pi = off_session_payment(4_000, &customer, "pm_card_visa")
        .send(&venue)
        .await
        .expect("payment");
    // Part of it refunded first: the dispute defaults to what is left.
    CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .amount(1_000)
        .send(&venue)
        .await
        .expect("refund");
    let opened = fake
        .open_dispute(Some("acct_venue"), pi.id.as_str(), None, Some("duplicate"))
        .expect("dispute");
    assert_eq!(opened["amount"], 3_000);
    assert_eq!(opened["reason"], "duplicate");
    assert!(
        fake.open_dispute(Some("acct_venue"), pi.id.as_str(), None, None)
            .is_err(),
        "one dispute per charge"
    );
    // Not visible from the platform.
    assert!(
        fake.object(None, opened["id"].as_str().expect("id"))
            .is_none()
    );
    let created = fake.events_of_type("charge.dispute.created");
    assert_eq!(created[0]["account"], "acct_venue");

    // The business accepts it: lost, and the refund stays blocked.
    let lost = CloseDispute::new(opened["id"].as_str().expect("id"))
        .send(&venue)
        .await
        .expect("close");
    assert_eq!(lost.status, DisputeStatus::Lost);
    let (err, _) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .send(&venue)
            .await,
    );
    assert_eq!(err.code, Some(ApiErrorsCode::ChargeDisputed));
    let page = ListDispute::new()
        .limit(1)
        .send(&venue)
        .await
        .expect("list");
    assert_eq!(page.data.len(), 1);
    assert!(!page.has_more);
}
