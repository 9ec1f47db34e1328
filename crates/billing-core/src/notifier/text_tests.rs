//! Texts through the notifier: sent by the text sender, never to a number that replied STOP,
//! and refused for good when no sender is set up.

use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::ports::{MockTextSender, TextReceipt, TextStatus};
use crate::testkit::{FixedClock, MemoryStore, ScriptedMailer, SequentialIds};

fn acme() -> BusinessId {
    BusinessId::new("acme").expect("id")
}

fn ada() -> CustomerId {
    CustomerId::new("cust-1").expect("id")
}

fn phone() -> PhoneNumber {
    PhoneNumber::from_e164("+14155550123").expect("number")
}

fn now() -> DateTime<Utc> {
    FixedClock::default().now() + Duration::seconds(5)
}

/// A notifier over `store`, texting through `sender` when there is one.
fn notifier(store: &MemoryStore, sender: Option<MockTextSender>) -> Notifier {
    let notifier = Notifier::new(
        Arc::new(store.clone()),
        Arc::new(ScriptedMailer::new()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
    );
    match sender {
        Some(sender) => notifier.with_texts(Arc::new(sender)),
        None => notifier,
    }
}

/// Queues a payment link text in the log, as the billing use cases do.
async fn queue_text(store: &MemoryStore) -> NotificationId {
    let message = OutboundMessage::text(&phone(), "Payment link", "Pay here".into());
    let id = NotificationId::new("ntf_text").expect("id");
    let notification = Notification::queued_by(
        Channel::Text,
        id.clone(),
        ada(),
        NotificationKind::PaymentLink,
        &message,
        FixedClock::default().now(),
    );
    store
        .record_queued(&acme(), &notification, &message)
        .await
        .expect("queued");
    id
}

async fn stored(store: &MemoryStore, id: &NotificationId) -> Notification {
    store
        .notification(&acme(), id)
        .await
        .expect("read")
        .expect("present")
}

#[tokio::test]
async fn a_text_goes_through_the_text_sender_and_keeps_its_message_id() {
    let store = MemoryStore::new();
    let id = queue_text(&store).await;
    let mut sender = MockTextSender::new();
    sender
        .expect_send()
        .withf(|text| text.to == phone() && text.body == "Pay here")
        .times(1)
        .returning(|_| {
            Ok(TextReceipt {
                reference: "SM0001".into(),
                status: TextStatus::Queued,
            })
        });
    let report = notifier(&store, Some(sender))
        .deliver_due(None, now(), 5)
        .await
        .expect("delivered");
    assert_eq!(report.sent(), 1);
    let text = stored(&store, &id).await;
    assert_eq!(text.channel, Channel::Text);
    assert_eq!(
        text.delivery,
        DeliveryState::Sent {
            at: now(),
            server_reply: "SM0001".into()
        }
    );
}

#[tokio::test]
async fn a_temporary_failure_is_retried_and_an_opt_out_is_remembered() {
    let store = MemoryStore::new();
    let id = queue_text(&store).await;
    let mut sender = MockTextSender::new();
    let mut calls = 0;
    sender.expect_send().times(2).returning(move |_| {
        calls += 1;
        match calls {
            1 => Err(TextError::Temporary("429 Too Many Requests".into())),
            _ => Err(TextError::OptedOut("21610 unsubscribed recipient".into())),
        }
    });
    let notifier = notifier(&store, Some(sender));
    let first = notifier.deliver_due(None, now(), 5).await.expect("run");
    assert_eq!(first.retrying(), 1);
    let later = now() + Duration::hours(1);
    let second = notifier.deliver_due(None, later, 5).await.expect("run");
    assert_eq!(second.given_up(), 1);
    match stored(&store, &id).await.delivery {
        DeliveryState::Failed {
            reason, retry_at, ..
        } => {
            assert!(reason.contains("STOP"), "{reason}");
            assert_eq!(retry_at, None);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(store.text_opted_out(&phone()).await.expect("read"));
}

#[tokio::test]
async fn a_number_that_replied_stop_is_never_texted() {
    let store = MemoryStore::new();
    store
        .set_text_opt_out(&phone(), true, FixedClock::default().now())
        .await
        .expect("stored");
    let id = queue_text(&store).await;
    let mut sender = MockTextSender::new();
    sender.expect_send().never();
    let report = notifier(&store, Some(sender))
        .deliver_due(None, now(), 5)
        .await
        .expect("run");
    assert_eq!(report.given_up(), 1);
    assert!(matches!(
        stored(&store, &id).await.delivery,
        DeliveryState::Failed { retry_at: None, .. }
    ));
}

#[tokio::test]
async fn without_a_text_sender_a_text_fails_for_good() {
    let store = MemoryStore::new();
    let id = queue_text(&store).await;
    let report = notifier(&store, None)
        .deliver_due(None, now(), 5)
        .await
        .expect("run");
    assert_eq!(report.given_up(), 1);
    match stored(&store, &id).await.delivery {
        DeliveryState::Failed { reason, .. } => assert_eq!(reason, "texts are not set up"),
        other => panic!("expected a failure, got {other:?}"),
    }
}
