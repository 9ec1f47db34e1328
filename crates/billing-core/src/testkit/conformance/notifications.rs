//! The notification log: queued, read back, claimed when due, marked sent or failed.

use std::sync::Arc;

use super::{StoreFixture, at, id};
use crate::ids::BusinessId;
use crate::notification::{DeliveryState, Notification, NotificationKind, OutboundMessage};
use crate::ports::{DeliveryFailure, DueNotification, NotificationLogError, Store};

fn email(to: &str, subject: &str) -> OutboundMessage {
    OutboundMessage {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text_body: format!("{subject}\n\nTotal: 215.50 USD\n"),
        html_body: Some(format!("<p>{subject}</p><p>Total: 215.50&nbsp;USD</p>")),
    }
}

/// Queues a notification about `customer` at `seconds` after the test clock's start.
async fn queue(
    store: &Arc<dyn Store>,
    business: &str,
    id_text: &str,
    customer: &str,
    seconds: i64,
) -> Notification {
    let message = email("ada@example.com", &format!("Receipt {id_text}"));
    let notification = Notification::queued(
        id(id_text),
        id(customer),
        NotificationKind::Receipt,
        &message,
        at(seconds),
    );
    store
        .record_queued(&id(business), &notification, &message)
        .await
        .expect("queued");
    notification
}

fn ids_of(notifications: &[Notification]) -> Vec<String> {
    notifications.iter().map(|n| n.id.to_string()).collect()
}

fn claimed_ids(due: &[DueNotification]) -> Vec<String> {
    due.iter()
        .map(|d| format!("{}/{}", d.business, d.notification.id))
        .collect()
}

/// Notifications and their messages are stored and read back as they were; a customer's log is
/// newest first; ids are unique per business; no business sees another's.
pub async fn notifications_round_trip_and_customer_log<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let first = queue(&store, "acme", "ntf-1", "cust-1", 0).await;
    // Two at the same instant: the later id comes first.
    queue(&store, "acme", "ntf-3", "cust-1", 60).await;
    queue(&store, "acme", "ntf-2", "cust-1", 60).await;
    queue(&store, "acme", "ntf-4", "cust-2", 120).await;
    // Text beyond ASCII, and a message without HTML, come back as they were.
    let message = OutboundMessage {
        to: "zoë@example.com".into(),
        subject: "Reçu — 215.50 USD ✓".into(),
        text_body: "Merci Zoë !\r\nLine two\n".into(),
        html_body: None,
    };
    let link = Notification::queued(
        id("ntf-5"),
        id("cust-1"),
        NotificationKind::PaymentLink,
        &message,
        at(30),
    );
    store
        .record_queued(&acme, &link, &message)
        .await
        .expect("queued");

    assert_eq!(
        store.notification(&acme, &first.id).await.expect("read"),
        Some(first.clone())
    );
    assert_eq!(
        store.notification(&acme, &link.id).await.expect("read"),
        Some(link.clone())
    );
    assert_eq!(
        store.message(&acme, &link.id).await.expect("read"),
        Some(message.clone())
    );
    assert_eq!(
        store.message(&acme, &first.id).await.expect("read"),
        Some(email("ada@example.com", "Receipt ntf-1"))
    );
    assert_eq!(
        store.notification(&acme, &id("ntf-9")).await.expect("read"),
        None
    );
    let log = store
        .customer_log(&acme, &id("cust-1"), 10)
        .await
        .expect("log");
    assert_eq!(ids_of(&log), ["ntf-3", "ntf-2", "ntf-5", "ntf-1"]);
    assert_eq!(log[3], first);
    let page = store
        .customer_log(&acme, &id("cust-1"), 2)
        .await
        .expect("log");
    assert_eq!(ids_of(&page), ["ntf-3", "ntf-2"]);
    assert!(
        store
            .customer_log(&acme, &id("cust-9"), 10)
            .await
            .expect("log")
            .is_empty()
    );

    let again = store
        .record_queued(&acme, &first, &email("eve@example.com", "Again"))
        .await;
    assert_eq!(
        again,
        Err(NotificationLogError::AlreadyExists(first.id.clone()))
    );
    assert_eq!(
        store.message(&acme, &first.id).await.expect("read"),
        Some(email("ada@example.com", "Receipt ntf-1"))
    );

    // Another business: its own id space, and nothing of acme's.
    let globex: BusinessId = id("globex");
    assert_eq!(
        store.notification(&globex, &first.id).await.expect("read"),
        None
    );
    assert_eq!(store.message(&globex, &first.id).await.expect("read"), None);
    assert!(
        store
            .customer_log(&globex, &id("cust-1"), 10)
            .await
            .expect("log")
            .is_empty()
    );
    queue(&store, "globex", "ntf-1", "cust-1", 0).await;
    assert_eq!(
        ids_of(
            &store
                .customer_log(&globex, &id("cust-1"), 10)
                .await
                .expect("log")
        ),
        ["ntf-1"]
    );
    assert_eq!(
        store
            .mark_sent(&globex, &id("ntf-3"), at(1), "250 OK")
            .await,
        Err(NotificationLogError::NotFound(id("ntf-3")))
    );
}

/// Queued notifications are due at once, oldest first; a claim leases them; sent ones are never
/// due again, failed ones when their retry comes, given-up ones never; a lease that runs out
/// makes a message due again; a failure never undoes a delivery.
pub async fn notifications_are_claimed_when_due_and_marked<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    queue(&store, "acme", "ntf-b", "cust-1", 10).await;
    queue(&store, "acme", "ntf-a", "cust-1", 0).await;
    queue(&store, "acme", "ntf-c", "cust-2", 3600).await;

    let claimed = store
        .claim_due(Some(&acme), at(60), at(660), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-a", "acme/ntf-b"]);
    assert!(claimed.iter().all(|d| d.attempts == 0));
    assert_eq!(claimed[0].notification.delivery, DeliveryState::Queued);
    assert_eq!(
        claimed[0].message,
        email("ada@example.com", "Receipt ntf-a")
    );
    // Leased: not due to anyone else until the lease ends.
    assert!(
        store
            .claim_due(Some(&acme), at(60), at(660), 10)
            .await
            .expect("claim")
            .is_empty()
    );

    store
        .mark_sent(&acme, &id("ntf-a"), at(61), "250 2.0.0 queued as 4F2A")
        .await
        .expect("sent");
    let sent = DeliveryState::Sent {
        at: at(61),
        server_reply: "250 2.0.0 queued as 4F2A".into(),
    };
    assert_eq!(
        store
            .notification(&acme, &id("ntf-a"))
            .await
            .expect("read")
            .map(|n| n.delivery),
        Some(sent.clone())
    );
    let retry = DeliveryFailure {
        at: at(61),
        reason: "451 4.3.0 try again later".into(),
        attempts: 1,
        retry_at: Some(at(120)),
    };
    store
        .mark_failed(&acme, &id("ntf-b"), &retry)
        .await
        .expect("failed");
    assert_eq!(
        store
            .notification(&acme, &id("ntf-b"))
            .await
            .expect("read")
            .map(|n| n.delivery),
        Some(DeliveryState::Failed {
            at: at(61),
            reason: "451 4.3.0 try again later".into(),
            attempts: 1,
            retry_at: Some(at(120)),
        })
    );
    // A failure reported after a delivery (a slow worker whose lease ran out) changes nothing.
    store
        .mark_failed(&acme, &id("ntf-a"), &retry)
        .await
        .expect("ignored");
    assert_eq!(
        store
            .notification(&acme, &id("ntf-a"))
            .await
            .expect("read")
            .map(|n| n.delivery),
        Some(sent)
    );

    // Not yet due before its retry time; due at it, with its attempt count.
    assert!(
        store
            .claim_due(Some(&acme), at(119), at(719), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let claimed = store
        .claim_due(Some(&acme), at(120), at(720), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-b"]);
    assert_eq!(claimed[0].attempts, 1);
    assert!(matches!(
        claimed[0].notification.delivery,
        DeliveryState::Failed { attempts: 1, retry_at: Some(lease), .. } if lease == at(720)
    ));
    // Given up: never due again.
    store
        .mark_failed(
            &acme,
            &id("ntf-b"),
            &DeliveryFailure {
                at: at(121),
                reason: "550 5.1.1 no such user".into(),
                attempts: 2,
                retry_at: None,
            },
        )
        .await
        .expect("failed");

    // A day later only the third one is due; its claimer dies, so it is due again when the
    // lease ends, and not before.
    let claimed = store
        .claim_due(Some(&acme), at(86_400), at(87_000), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-c"]);
    assert!(
        store
            .claim_due(Some(&acme), at(86_999), at(87_599), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let claimed = store
        .claim_due(Some(&acme), at(87_000), at(87_600), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&claimed), ["acme/ntf-c"]);
    assert_eq!(claimed[0].notification.delivery, DeliveryState::Queued);

    assert_eq!(
        store.mark_sent(&acme, &id("ntf-x"), at(1), "250 OK").await,
        Err(NotificationLogError::NotFound(id("ntf-x")))
    );
    assert_eq!(
        store.mark_failed(&acme, &id("ntf-x"), &retry).await,
        Err(NotificationLogError::NotFound(id("ntf-x")))
    );
}

/// A worker may serve one business or all of them; each claimed notification says whose it is,
/// and a limit takes the longest waiting first.
pub async fn notifications_due_across_businesses<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    queue(&store, "globex", "ntf-1", "cust-1", 20).await;
    queue(&store, "acme", "ntf-1", "cust-1", 30).await;
    queue(&store, "acme", "ntf-2", "cust-1", 10).await;
    queue(&store, "initech", "ntf-1", "cust-1", 30).await;
    let globex: BusinessId = id("globex");
    let only_globex = store
        .claim_due(Some(&globex), at(60), at(120), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&only_globex), ["globex/ntf-1"]);
    let first_two = store
        .claim_due(None, at(60), at(120), 2)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&first_two), ["acme/ntf-2", "acme/ntf-1"]);
    let rest = store
        .claim_due(None, at(60), at(120), 10)
        .await
        .expect("claim");
    assert_eq!(claimed_ids(&rest), ["initech/ntf-1"]);
}

/// Two workers with their own connections claiming at once never get the same notification.
pub async fn notifications_are_claimed_once_by_concurrent_workers<F: StoreFixture>(fixture: F) {
    let first = fixture.store().await;
    let second = fixture.second_handle().await;
    for n in 0..24 {
        queue(&first, "acme", &format!("ntf-{n:02}"), "cust-1", n).await;
    }
    let mut claims = Vec::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        claims.push(async move {
            let mut mine = Vec::new();
            loop {
                let due = store
                    .claim_due(None, at(60), at(600), 2)
                    .await
                    .expect("claim");
                if due.is_empty() {
                    return mine;
                }
                mine.extend(claimed_ids(&due));
            }
        });
    }
    let mut all: Vec<String> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .flatten()
        .collect();
    all.sort();
    let expected: Vec<String> = (0..24).map(|n| format!("acme/ntf-{n:02}")).collect();
    assert_eq!(all, expected);
}
