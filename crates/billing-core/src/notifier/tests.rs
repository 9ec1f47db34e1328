use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::notification::NotificationKind;
use crate::ports::{MailReceipt, MockMailer};
use crate::testkit::{FixedClock, MemoryStore, ScriptedMailer, SequentialIds};

fn acme() -> BusinessId {
    BusinessId::new("acme").expect("id")
}

fn ada() -> CustomerId {
    CustomerId::new("cust-1").expect("id")
}

fn receipt(to: &str) -> OutboundMessage {
    OutboundMessage {
        to: to.into(),
        subject: "Your receipt from Acme Cleaning".into(),
        text_body: "Paid: 215.50 USD".into(),
        html_body: Some("<p>Paid: 215.50 USD</p>".into()),
    }
}

fn start() -> DateTime<Utc> {
    FixedClock::default().now()
}

fn notifier(mailer: ScriptedMailer) -> Notifier {
    Notifier::new(
        Arc::new(MemoryStore::new()),
        Arc::new(mailer),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
    )
}

async fn delivery(notifier: &Notifier, id: &NotificationId) -> DeliveryState {
    notifier
        .log
        .notification(&acme(), id)
        .await
        .expect("read")
        .expect("present")
        .delivery
}

#[tokio::test]
async fn queueing_sends_nothing_and_delivery_records_the_server_reply() {
    let mailer = ScriptedMailer::new();
    let notifier = notifier(mailer.clone());
    let queued = notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::Receipt,
            receipt("ada@example.com"),
        )
        .await
        .expect("queued");
    assert_eq!(queued.id.as_str(), "ntf_000001");
    assert_eq!(queued.created_at, start());
    assert_eq!(queued.delivery, DeliveryState::Queued);
    assert_eq!(queued.to, "ada@example.com");
    assert!(mailer.attempts().is_empty(), "queueing must not send");

    mailer.reply_next("250 2.0.0 Ok: queued as 4F2A");
    let now = start() + Duration::seconds(5);
    let report = notifier
        .deliver_due(Some(&acme()), now, 5)
        .await
        .expect("delivered");
    assert_eq!(
        (report.sent(), report.retrying(), report.given_up()),
        (1, 0, 0)
    );
    assert_eq!(mailer.delivered(), vec![receipt("ada@example.com")]);
    let sent = DeliveryState::Sent {
        at: now,
        server_reply: "250 2.0.0 Ok: queued as 4F2A".into(),
    };
    assert_eq!(delivery(&notifier, &queued.id).await, sent);
    assert_eq!(report.attempts[0].delivery, sent);

    // Sent is final: a later run sends nothing.
    let later = notifier
        .deliver_due(None, now + Duration::days(1), 5)
        .await
        .expect("run");
    assert!(later.attempts.is_empty());
    assert_eq!(mailer.attempts().len(), 1);
}

#[tokio::test]
async fn temporary_failures_are_retried_with_exponential_backoff() {
    let mailer = ScriptedMailer::new();
    let notifier = notifier(mailer.clone());
    let queued = notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::PaymentLink,
            receipt("ada@example.com"),
        )
        .await
        .expect("queued");
    for _ in 0..3 {
        mailer.fail_next(MailError::Temporary(
            "451 4.3.0 mailbox busy, try later".into(),
        ));
    }
    let t0 = start();
    let minutes = |m| t0 + Duration::minutes(m);

    // Attempt 1 fails: retry one minute later.
    let report = notifier.deliver_due(None, t0, 10).await.expect("run");
    assert_eq!(report.retrying(), 1);
    assert_eq!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Failed {
            at: t0,
            reason: "451 4.3.0 mailbox busy, try later".into(),
            attempts: 1,
            retry_at: Some(minutes(1)),
        }
    );
    // Not before its time.
    let early = notifier
        .deliver_due(None, t0 + Duration::seconds(59), 10)
        .await
        .expect("run");
    assert!(early.attempts.is_empty());
    assert_eq!(mailer.attempts().len(), 1);

    // Attempt 2 fails: the wait doubles to two minutes.
    notifier
        .deliver_due(None, minutes(1), 10)
        .await
        .expect("run");
    assert!(matches!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Failed { attempts: 2, retry_at: Some(at), .. } if at == minutes(3)
    ));
    // Attempt 3 fails: four minutes.
    notifier
        .deliver_due(None, minutes(3), 10)
        .await
        .expect("run");
    assert!(matches!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Failed { attempts: 3, retry_at: Some(at), .. } if at == minutes(7)
    ));
    // Attempt 4 goes through.
    let report = notifier
        .deliver_due(None, minutes(7), 10)
        .await
        .expect("run");
    assert_eq!(report.sent(), 1);
    assert!(matches!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Sent { at, .. } if at == minutes(7)
    ));
    assert_eq!(mailer.attempts().len(), 4);
    assert_eq!(mailer.delivered().len(), 1);
}

#[tokio::test]
async fn a_permanent_refusal_is_never_retried() {
    let mailer = ScriptedMailer::new();
    let notifier = notifier(mailer.clone());
    let queued = notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::Receipt,
            receipt("nobody@example.com"),
        )
        .await
        .expect("queued");
    mailer.fail_next(MailError::Permanent("550 5.1.1 no such user".into()));
    let report = notifier.deliver_due(None, start(), 10).await.expect("run");
    assert_eq!(report.given_up(), 1);
    assert_eq!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Failed {
            at: start(),
            reason: "550 5.1.1 no such user".into(),
            attempts: 1,
            retry_at: None,
        }
    );
    let much_later = notifier
        .deliver_due(None, start() + Duration::days(30), 10)
        .await
        .expect("run");
    assert!(much_later.attempts.is_empty());
    assert_eq!(mailer.attempts().len(), 1);
}

#[tokio::test]
async fn attempts_run_out() {
    let mailer = ScriptedMailer::new();
    let notifier = notifier(mailer.clone());
    let queued = notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::Receipt,
            receipt("ada@example.com"),
        )
        .await
        .expect("queued");
    for _ in 0..5 {
        mailer.fail_next(MailError::Temporary("connection refused".into()));
    }
    let mut now = start();
    for _ in 0..2 {
        notifier.deliver_due(None, now, 3).await.expect("run");
        now += Duration::hours(1);
    }
    let report = notifier.deliver_due(None, now, 3).await.expect("run");
    assert_eq!(report.given_up(), 1);
    assert_eq!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Failed {
            at: now,
            reason: "connection refused".into(),
            attempts: 3,
            retry_at: None,
        }
    );
    assert_eq!(mailer.attempts().len(), 3);
    assert!(
        notifier
            .deliver_due(None, now + Duration::days(1), 3)
            .await
            .expect("run")
            .attempts
            .is_empty()
    );
}

#[tokio::test]
async fn a_lowered_attempt_limit_gives_up_without_sending() {
    let mailer = ScriptedMailer::new();
    let notifier = notifier(mailer.clone());
    let queued = notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::Receipt,
            receipt("ada@example.com"),
        )
        .await
        .expect("queued");
    for _ in 0..2 {
        mailer.fail_next(MailError::Temporary("timeout".into()));
    }
    notifier.deliver_due(None, start(), 10).await.expect("run");
    notifier
        .deliver_due(None, start() + Duration::hours(1), 10)
        .await
        .expect("run");
    let report = notifier
        .deliver_due(None, start() + Duration::hours(2), 2)
        .await
        .expect("run");
    assert_eq!(report.given_up(), 1);
    assert!(matches!(
        delivery(&notifier, &queued.id).await,
        DeliveryState::Failed { attempts: 2, retry_at: None, reason, .. }
            if reason == "gave up after 2 attempts"
    ));
    assert_eq!(mailer.attempts().len(), 2);
}

#[tokio::test]
async fn every_due_message_is_delivered_in_batches_and_per_business() {
    let mailer = ScriptedMailer::new();
    let notifier = notifier(mailer.clone()).with_policy(DeliveryPolicy {
        batch: 3,
        ..DeliveryPolicy::default()
    });
    let globex = BusinessId::new("globex").expect("id");
    for n in 0..7 {
        notifier
            .queue(
                &acme(),
                &ada(),
                NotificationKind::Receipt,
                receipt(&format!("ada{n}@example.com")),
            )
            .await
            .expect("queued");
    }
    notifier
        .queue(
            &globex,
            &ada(),
            NotificationKind::Receipt,
            receipt("grace@example.com"),
        )
        .await
        .expect("queued");
    let report = notifier
        .deliver_due(Some(&acme()), start(), 5)
        .await
        .expect("run");
    assert_eq!(report.sent(), 7);
    assert!(report.attempts.iter().all(|a| a.business == acme()));
    let rest = notifier.deliver_due(None, start(), 5).await.expect("run");
    assert_eq!(rest.sent(), 1);
    assert_eq!(rest.attempts[0].business, globex);
    assert_eq!(mailer.delivered().len(), 8);
}

#[tokio::test]
async fn a_message_no_server_could_accept_is_refused_and_not_stored() {
    let notifier = notifier(ScriptedMailer::new());
    let mut bad = receipt("ada@example.com");
    bad.subject = "Receipt\r\nBcc: eve@example.com".into();
    let refused = notifier
        .queue(&acme(), &ada(), NotificationKind::Receipt, bad)
        .await;
    assert_eq!(
        refused,
        Err(NotifyError::InvalidMessage(MessageError::InvalidSubject))
    );
    let refused = notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::Receipt,
            receipt("not-an-address"),
        )
        .await;
    assert!(matches!(
        refused,
        Err(NotifyError::InvalidMessage(MessageError::InvalidRecipient(
            _
        )))
    ));
    assert!(
        notifier
            .customer_log(&acme(), &ada(), 10)
            .await
            .expect("log")
            .is_empty()
    );
}

#[tokio::test]
async fn the_customer_log_lists_newest_first() {
    let clock = Arc::new(FixedClock::default());
    let notifier = Notifier::new(
        Arc::new(MemoryStore::new()),
        Arc::new(ScriptedMailer::new()),
        clock.clone(),
        Arc::new(SequentialIds::default()),
    );
    for kind in [NotificationKind::PaymentLink, NotificationKind::Receipt] {
        notifier
            .queue(&acme(), &ada(), kind, receipt("ada@example.com"))
            .await
            .expect("queued");
        clock.advance(Duration::minutes(1));
    }
    let log = notifier
        .customer_log(&acme(), &ada(), 10)
        .await
        .expect("log");
    let kinds: Vec<NotificationKind> = log.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [NotificationKind::Receipt, NotificationKind::PaymentLink]
    );
}

#[tokio::test]
async fn the_mailer_is_called_once_per_attempt_with_the_stored_message() {
    // A mock rather than the scripted mailer: it fails the test on any call not expected.
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(|message| message.to == "ada@example.com" && message.text_body.contains("215.50"))
        .times(1)
        .returning(|_| {
            Ok(MailReceipt {
                server_reply: "250 OK".into(),
            })
        });
    let notifier = Notifier::new(
        Arc::new(MemoryStore::new()),
        Arc::new(mailer),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
    );
    notifier
        .queue(
            &acme(),
            &ada(),
            NotificationKind::Receipt,
            receipt("ada@example.com"),
        )
        .await
        .expect("queued");
    let report = notifier.deliver_due(None, start(), 3).await.expect("run");
    assert_eq!(report.sent(), 1);
    let again = notifier
        .deliver_due(None, start() + Duration::hours(1), 3)
        .await
        .expect("run");
    assert!(again.attempts.is_empty());
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let policy = DeliveryPolicy::default();
    let waits: Vec<i64> = (1..=12)
        .map(|attempts| policy.retry_delay(attempts).num_minutes())
        .collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
    assert_eq!(policy.retry_delay(u32::MAX), Duration::hours(6));
    assert_eq!(policy.retry_delay(0), Duration::minutes(1));
}
