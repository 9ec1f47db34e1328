//! The customer portal's links and sessions: stored and found by token hash across businesses,
//! used once, purged once expired; and the portal link's email in the notification log.

use chrono::Duration;

use super::{StoreFixture, at, id};
use crate::ids::BusinessId;
use crate::link::{LinkToken, TokenHash};
use crate::notification::{Notification, NotificationKind, OutboundMessage};
use crate::portal::{PortalPass, PortalPassKind};
use crate::ports::{PortalPassByToken, PortalStoreError};

fn hash(seed: u8) -> TokenHash {
    LinkToken::from_random([seed; 32]).hash()
}

/// A new pass of `customer` made at `seconds` after the test clock's start.
fn pass(customer: &str, kind: PortalPassKind, seconds: i64) -> PortalPass {
    PortalPass::new(id(customer), kind, at(seconds))
}

fn by_token(business: &BusinessId, pass: &PortalPass, seed: u8) -> PortalPassByToken {
    PortalPassByToken {
        business: business.clone(),
        pass: pass.clone(),
        token_hash: hash(seed),
    }
}

/// Passes are read back by their token's hash as they were stored, with whose they are, across
/// businesses (times to the microsecond, used or not); an unknown hash finds nothing; a hash is
/// unique across businesses, and a refused pass writes nothing.
pub async fn portal_passes_round_trip_by_token<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    let link = pass("cust-1", PortalPassKind::Link, 0);
    let session = PortalPass {
        created_at: at(60) + Duration::microseconds(123_456),
        expires_at: at(3_660) + Duration::microseconds(654_321),
        ..pass("cust-2", PortalPassKind::Session, 60)
    };
    let used = PortalPass {
        used_at: Some(at(120) + Duration::microseconds(1)),
        ..pass("cust-1", PortalPassKind::Link, 90)
    };
    for (business, pass, seed) in [(&acme, &link, 1), (&globex, &session, 2), (&acme, &used, 3)] {
        store
            .create_portal_pass(business, pass, &hash(seed))
            .await
            .expect("pass created");
    }

    for (business, pass, seed) in [(&acme, &link, 1), (&globex, &session, 2), (&acme, &used, 3)] {
        assert_eq!(
            store.portal_pass(&hash(seed)).await.expect("read"),
            Some(by_token(business, pass, seed))
        );
    }
    assert_eq!(store.portal_pass(&hash(9)).await.expect("read"), None);

    // A taken hash is refused, in the same business or another, and nothing of it is written.
    let impostor = pass("cust-9", PortalPassKind::Session, 600);
    for business in [&acme, &globex] {
        assert_eq!(
            store
                .create_portal_pass(business, &impostor, &hash(1))
                .await,
            Err(PortalStoreError::AlreadyExists)
        );
    }
    assert_eq!(
        store.portal_pass(&hash(1)).await.expect("read"),
        Some(by_token(&acme, &link, 1))
    );
}

/// A pass is used once: the first use wins and every later one (even of two at once through two
/// handles) changes nothing; an unknown pass is not used; a pass made used stays as it was.
pub async fn portal_passes_are_used_once<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let link = pass("cust-1", PortalPassKind::Link, 0);
    store
        .create_portal_pass(&acme, &link, &hash(1))
        .await
        .expect("pass created");

    assert!(store.use_portal_pass(&hash(1), at(60)).await.expect("used"));
    assert!(!store.use_portal_pass(&hash(1), at(61)).await.expect("used"));
    assert!(!store.use_portal_pass(&hash(9), at(62)).await.expect("used"));
    assert_eq!(store.portal_pass(&hash(9)).await.expect("read"), None);
    let opened = PortalPass {
        used_at: Some(at(60)),
        ..link.clone()
    };
    assert_eq!(
        store.portal_pass(&hash(1)).await.expect("read"),
        Some(by_token(&acme, &opened, 1))
    );

    // A session signed out before it was stored (a pass made used) is not used again.
    let ended = PortalPass {
        used_at: Some(at(30)),
        ..pass("cust-1", PortalPassKind::Session, 0)
    };
    store
        .create_portal_pass(&acme, &ended, &hash(2))
        .await
        .expect("pass created");
    assert!(!store.use_portal_pass(&hash(2), at(90)).await.expect("used"));
    assert_eq!(
        store.portal_pass(&hash(2)).await.expect("read"),
        Some(by_token(&acme, &ended, 2))
    );

    // Two uses at once through two handles, in several rounds (both handles warmed by a read
    // first, so that the uses overlap): exactly one wins, and its time is the one stored.
    let second = fixture.second_handle().await;
    for round in 0..10_u8 {
        let seed = 10 + round;
        store
            .create_portal_pass(&acme, &link, &hash(seed))
            .await
            .expect("pass created");
        for handle in [&store, &second] {
            assert!(
                handle
                    .portal_pass(&hash(seed))
                    .await
                    .expect("read")
                    .is_some()
            );
        }
        let (one, two) = futures_util::future::join(
            store.use_portal_pass(&hash(seed), at(100)),
            second.use_portal_pass(&hash(seed), at(200)),
        )
        .await;
        let (one, two) = (one.expect("used"), two.expect("used"));
        assert!(one != two, "round {round}: exactly one use wins");
        let winner = if one { at(100) } else { at(200) };
        assert_eq!(
            store
                .portal_pass(&hash(seed))
                .await
                .expect("read")
                .and_then(|found| found.pass.used_at),
            Some(winner),
            "round {round}"
        );
    }
}

/// A purge deletes the passes, of every business, that expired at or before its time (used or
/// not), says how many, and keeps the others.
pub async fn expired_portal_passes_are_purged<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    // Expiring 1800, 2400, 3600 and 4800 seconds after the clock's start.
    let passes = [
        (&acme, pass("cust-1", PortalPassKind::Link, 0), 1),
        (&globex, pass("cust-2", PortalPassKind::Link, 600), 2),
        (
            &acme,
            PortalPass {
                used_at: Some(at(10)),
                ..pass("cust-1", PortalPassKind::Session, 0)
            },
            3,
        ),
        (&globex, pass("cust-2", PortalPassKind::Session, 1_200), 4),
    ];
    for (business, pass, seed) in &passes {
        store
            .create_portal_pass(business, pass, &hash(*seed))
            .await
            .expect("pass created");
    }
    let seeds: Vec<u8> = passes.iter().map(|(_, _, seed)| *seed).collect();
    let kept = || {
        let (store, seeds) = (store.clone(), seeds.clone());
        async move {
            let mut kept = Vec::new();
            for seed in seeds {
                if store
                    .portal_pass(&hash(seed))
                    .await
                    .expect("read")
                    .is_some()
                {
                    kept.push(seed);
                }
            }
            kept
        }
    };

    // Nothing expired yet.
    assert_eq!(
        store.purge_portal_passes(at(1_799)).await.expect("purged"),
        0
    );
    assert_eq!(kept().await, [1, 2, 3, 4]);
    // Two of two businesses, one expiring at the very cutoff.
    assert_eq!(
        store.purge_portal_passes(at(2_400)).await.expect("purged"),
        2
    );
    assert_eq!(kept().await, [3, 4]);
    assert_eq!(
        store.purge_portal_passes(at(2_400)).await.expect("purged"),
        0
    );
    // The rest, used or not.
    assert_eq!(
        store.purge_portal_passes(at(10_000)).await.expect("purged"),
        2
    );
    assert!(kept().await.is_empty());
}

/// The portal link's email is queued and read back like every other kind.
pub async fn portal_link_notifications_are_logged<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let message = OutboundMessage {
        to: "ada@example.com".into(),
        subject: "Your bookings with Acme Cleaning".into(),
        text_body: "Open your bookings: https://pay.example.com/portal/abc\n".into(),
        html_body: Some("<p>Open your bookings</p>".into()),
    };
    let notification = Notification::queued(
        id("ntf-1"),
        id("cust-1"),
        NotificationKind::PortalLink,
        &message,
        at(0),
    );
    store
        .record_queued(&acme, &notification, &message)
        .await
        .expect("queued");
    assert_eq!(
        store
            .notification(&acme, &notification.id)
            .await
            .expect("read"),
        Some(notification.clone())
    );
    assert_eq!(
        store.message(&acme, &notification.id).await.expect("read"),
        Some(message)
    );
    assert_eq!(
        store
            .customer_log(&acme, &id("cust-1"), 10)
            .await
            .expect("log"),
        [notification]
    );
}
