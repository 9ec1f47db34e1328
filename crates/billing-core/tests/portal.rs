//! The customer portal through the core, on the in-memory store and the scripted gateway: a
//! link sent on request opens once and starts a session of an hour; the session sees its
//! customer's bookings, balances and receipts alone, pays through a payment link's page, and
//! adds and removes cards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use billing_core::billing::{
    CardRequestAnswer, PORTAL_PATH, PayLink, PortalVisit, ReceiptKind, Sending,
};
use billing_core::notification::NotificationKind;
use billing_core::portal::{PORTAL_LINK_LIFETIME, PORTAL_SESSION_LIFETIME};
use billing_core::ports::NotificationLog;
use billing_core::prelude::*;
use billing_core::testkit::ScriptedGateway;
use common::{World, usd};

async fn world() -> World {
    common::world_with(
        |clock| ScriptedGateway::with_clock(clock),
        &[("b-1", 12_000), ("b-2", 8_000)],
    )
    .await
}

/// The token of the page at `prefix` in a message body (the testkit's templates write the
/// content's fields out).
fn token_after(body: &str, prefix: &str) -> String {
    let start = body.find(prefix).unwrap() + prefix.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

impl World {
    /// Sends Ada a portal link by email, and reads its token from the email.
    async fn portal_link(&self) -> String {
        let sent = self
            .billing
            .send_portal_link(&self.business, &self.customer, Sending::EMAIL)
            .await
            .unwrap();
        let notification = sent.notification.unwrap();
        assert_eq!(notification.kind, NotificationKind::PortalLink);
        assert_eq!(notification.to, "ada@example.com");
        assert_eq!(sent.expires_at, self.billing.now() + PORTAL_LINK_LIFETIME);
        let message = self
            .store
            .message(&self.business.id, &notification.id)
            .await
            .unwrap()
            .unwrap();
        token_after(&message.text_body, "https://pay.example.com/portal/")
    }

    async fn visit(&self) -> (String, PortalVisit) {
        let token = self.portal_link().await;
        let entry = self.billing.open_portal(&token).await.unwrap();
        let visit = self
            .billing
            .portal_visit(&entry.session_token)
            .await
            .unwrap();
        (entry.session_token, visit)
    }
}

fn booking(id: &str) -> BookingId {
    BookingId::new(id).unwrap()
}

#[tokio::test]
async fn a_portal_link_opens_once_and_starts_a_session_of_an_hour() {
    let w = world().await;
    let token = w.portal_link().await;
    let entry = w.billing.open_portal(&token).await.unwrap();
    assert_eq!(entry.expires_at, w.billing.now() + PORTAL_SESSION_LIFETIME);
    assert_ne!(entry.session_token, token);
    // The link in the email opens nothing more (a mail scanner, a forwarded email).
    assert_eq!(
        w.billing.open_portal(&token).await,
        Err(BillingError::LinkAlreadyUsed)
    );
    // A session's token is no link, and a link's no session.
    assert_eq!(
        w.billing.open_portal(&entry.session_token).await,
        Err(BillingError::LinkUnavailable)
    );
    assert_eq!(
        w.billing.portal_visit(&token).await,
        Err(BillingError::LinkUnavailable)
    );
    let visit = w.billing.portal_visit(&entry.session_token).await.unwrap();
    assert_eq!(visit.customer.id, w.customer);
    assert_eq!(visit.business.id, w.business.id);
    w.clock.advance(PORTAL_SESSION_LIFETIME);
    assert_eq!(
        w.billing.portal_visit(&entry.session_token).await,
        Err(BillingError::LinkUnavailable)
    );
}

#[tokio::test]
async fn links_expire_sessions_end_and_bad_tokens_open_nothing() {
    let w = world().await;
    let token = w.portal_link().await;
    w.clock.advance(PORTAL_LINK_LIFETIME);
    assert_eq!(
        w.billing.open_portal(&token).await,
        Err(BillingError::LinkUnavailable)
    );
    for bad in ["", "short", &"x".repeat(43), &format!("{token}x")] {
        assert_eq!(
            w.billing.open_portal(bad).await,
            Err(BillingError::LinkUnavailable)
        );
        assert_eq!(
            w.billing.portal_visit(bad).await,
            Err(BillingError::LinkUnavailable)
        );
    }
    let (session, _) = w.visit().await;
    w.billing.end_portal_session(&session).await.unwrap();
    assert_eq!(
        w.billing.portal_visit(&session).await,
        Err(BillingError::LinkUnavailable)
    );
    // Ending it again, or an unknown one, is no error.
    w.billing.end_portal_session(&session).await.unwrap();
    w.billing.end_portal_session("unknown").await.unwrap();
    // Once expired, the link and the session are purged; the two made since the first
    // link expired are not yet.
    assert_eq!(w.billing.purge_portal_passes().await, Ok(1));
    w.clock.advance(PORTAL_SESSION_LIFETIME);
    assert_eq!(w.billing.purge_portal_passes().await, Ok(2));
    assert_eq!(w.billing.purge_portal_passes().await, Ok(0));
}

#[tokio::test]
async fn a_link_is_sent_only_where_the_customer_can_be_reached() {
    let w = world().await;
    assert!(matches!(
        w.billing
            .send_portal_link(&w.business, &w.customer, Sending::NOT)
            .await,
        Err(BillingError::InvalidInput(_))
    ));
    assert_eq!(
        w.billing
            .send_portal_link(
                &w.business,
                &w.customer,
                Sending {
                    email: false,
                    text: true
                }
            )
            .await,
        Err(BillingError::NoPhoneNumber(w.customer.clone()))
    );
    let unknown = CustomerId::new("c-404").unwrap();
    assert_eq!(
        w.billing
            .send_portal_link(&w.business, &unknown, Sending::EMAIL)
            .await,
        Err(BillingError::CustomerNotFound(unknown))
    );
}

#[tokio::test]
async fn the_overview_shows_what_is_owed_and_paid_and_paying_goes_through_a_link() {
    let w = world().await;
    let (_, visit) = w.visit().await;
    let overview = w.billing.portal_overview(&visit).await.unwrap();
    let owed: Vec<(String, Money)> = overview
        .bookings
        .iter()
        .map(|b| (b.booking.to_string(), b.payable))
        .collect();
    assert_eq!(
        owed,
        vec![("b-1".into(), usd(12_000)), ("b-2".into(), usd(8_000))]
    );
    assert_eq!(overview.total_due, vec![usd(20_000)]);
    assert!(overview.cards.is_empty());
    assert!(!overview.truncated);

    let issued = w
        .billing
        .portal_payment_link(&visit, vec![booking("b-2")])
        .await
        .unwrap();
    assert!(issued.notification.is_none() && issued.text.is_none());
    assert_eq!(
        issued.link.desk_return.as_ref().map(|d| d.as_str()),
        Some(PORTAL_PATH)
    );
    let token = issued.url.rsplit('/').next().unwrap();
    w.billing
        .pay_link(
            token,
            PayLink {
                payment_method: "pm_card_visa".into(),
                save_card: true,
            },
        )
        .await
        .unwrap();

    let overview = w.billing.portal_overview(&visit).await.unwrap();
    // What is owed comes first; the paid booking keeps its receipt.
    let paid = &overview.bookings[1];
    assert_eq!(paid.booking, booking("b-2"));
    assert_eq!(paid.payable, usd(0));
    assert_eq!(paid.line.paid, usd(8_000));
    assert_eq!(paid.receipts.len(), 1);
    assert_eq!(paid.receipts[0].amount, usd(8_000));
    assert_eq!(
        paid.receipts[0].what,
        ReceiptKind::Card {
            last4: Some("4242".into())
        }
    );
    assert_eq!(overview.bookings[0].payable, usd(12_000));
    assert_eq!(overview.total_due, vec![usd(12_000)]);
    assert!(overview.bookings[0].receipts.is_empty());
    assert_eq!(overview.cards.len(), 1);
}

#[tokio::test]
async fn a_session_reaches_its_own_customers_bookings_alone() {
    let w = world().await;
    let other = CustomerId::new("c-2").unwrap();
    w.billing
        .put_customer(
            &w.business,
            Customer {
                id: other.clone(),
                name: "Grace Hopper".into(),
                email: Some("grace@example.com".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    let theirs = BookingAccount::new(
        booking("b-grace"),
        other,
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Windows", usd(5_000)).unwrap()],
    )
    .unwrap();
    w.billing.put_booking(&w.business, theirs).await.unwrap();
    let (_, visit) = w.visit().await;
    let overview = w.billing.portal_overview(&visit).await.unwrap();
    assert!(
        overview
            .bookings
            .iter()
            .all(|b| b.booking != booking("b-grace"))
    );
    assert_eq!(
        w.billing
            .portal_payment_link(&visit, vec![booking("b-grace")])
            .await
            .map(|_| ()),
        Err(BillingError::BookingNotFound(booking("b-grace")))
    );
}

#[tokio::test]
async fn cards_are_added_through_a_card_request_and_removed() {
    let w = world().await;
    let (_, visit) = w.visit().await;
    let issued = w.billing.portal_card_request(&visit).await.unwrap();
    assert_eq!(
        issued.link.desk_return.as_ref().map(|d| d.as_str()),
        Some(PORTAL_PATH)
    );
    let token = issued.url.rsplit('/').next().unwrap();
    let answer = w
        .billing
        .complete_card_request(token, "pm_card_mastercard")
        .await
        .unwrap();
    assert!(matches!(answer, CardRequestAnswer::Saved(_)));
    let cards = w.billing.portal_overview(&visit).await.unwrap().cards;
    assert_eq!(cards.len(), 1);
    assert_eq!(
        w.billing.portal_remove_card(&visit, "pm_not_theirs").await,
        Err(BillingError::CardNotFound("pm_not_theirs".into()))
    );
    w.billing
        .portal_remove_card(&visit, &cards[0].payment_method)
        .await
        .unwrap();
    assert!(
        w.billing
            .portal_overview(&visit)
            .await
            .unwrap()
            .cards
            .is_empty()
    );
}
