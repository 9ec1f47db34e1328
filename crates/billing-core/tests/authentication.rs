//! 3-D Secure through the core: off-session charges on a card that asks are failed attempts
//! that suggest a payment link; a link's page pays on-session and settles once whichever of
//! the customer's return and the webhook comes first; a card request confirms its card on the
//! server; attempts left waiting are given up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use billing_core::billing::{CreatePaymentLink, PayLink, Sending};
use billing_core::link::LinkState;
use billing_core::notification::NotificationKind;
use billing_core::ports::{NotificationLog, PaymentGateway};
use billing_core::prelude::*;
use billing_core::testkit::{FixedClock, Scripted, ScriptedGateway};
use chrono::Duration;
use common::{World, usd};

async fn world_with(gateway: impl FnOnce(Arc<FixedClock>) -> ScriptedGateway) -> World {
    common::world_with(gateway, &[("b-1", 12_000), ("b-2", 8_000)]).await
}

async fn world() -> World {
    world_with(|clock| ScriptedGateway::with_clock(clock)).await
}

fn booking(id: &str) -> BookingId {
    BookingId::new(id).unwrap()
}

fn pay(method: &str, save_card: bool) -> PayLink {
    PayLink {
        payment_method: method.into(),
        save_card,
    }
}

fn charge(id: &str) -> ChargeBooking {
    ChargeBooking {
        booking: booking(id),
        amount: None,
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

impl World {
    /// A payment link for one booking, emailed; its token.
    async fn link(&self, id: &str) -> (String, LinkId) {
        let issued = self
            .billing
            .create_payment_link(
                &self.business,
                CreatePaymentLink {
                    customer: self.customer.clone(),
                    bookings: vec![booking(id)],
                    amount: None,
                    send: Sending::EMAIL,
                },
            )
            .await
            .unwrap();
        let token = issued.url.rsplit('/').next().unwrap().to_owned();
        (token, issued.link.id)
    }

    async fn emails(&self) -> Vec<NotificationKind> {
        let mut kinds: Vec<NotificationKind> = self
            .store
            .customer_log(&self.business.id, &self.customer, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.kind)
            .collect();
        kinds.reverse();
        kinds
    }

    async fn summary(&self, id: &str) -> BookingSummary {
        self.billing
            .booking(&self.business, &booking(id))
            .await
            .unwrap()
            .summary
    }

    async fn link_state(&self, link: &LinkId) -> LinkState {
        self.billing.link(&self.business, link).await.unwrap().state
    }
}

use billing_core::ids::LinkId;

#[tokio::test]
async fn a_link_paid_after_3d_secure_completes_once_whichever_settles_it_first() {
    let w = world().await;
    let (token, link) = w.link("b-1").await;
    let asked = w
        .billing
        .pay_link(&token, pay("pm_card_authenticationRequiredOnSetup", true))
        .await
        .unwrap();
    assert_eq!(asked.receipt.payment.state, PaymentState::RequiresAction);
    assert!(asked.receipt.payment.customer_present());
    let next = asked.next_action.clone().expect("what the page must do");
    assert!(!next.client_secret.is_empty());
    assert!(!asked.card_saved);
    assert_eq!(w.link_state(&link).await, LinkState::Open);
    assert!(
        w.summary("b-1").await.status.pending,
        "nothing else can charge it"
    );
    // The page never attached the card first: the gateway keeps it once paid.
    assert_eq!(w.gateway.count("attach_card"), 0);
    let reference = asked.receipt.payment.gateway_reference.clone().unwrap();
    w.gateway.authenticate(None, &reference, true).unwrap();
    // The webhook comes first...
    let succeeded = w.gateway.events().last().cloned().unwrap();
    w.billing.handle_event(&succeeded).await.unwrap();
    assert!(matches!(
        w.link_state(&link).await,
        LinkState::Completed { card: Some(_), .. }
    ));
    // ...then the customer's browser comes back: the same answer, nothing queued twice.
    for _ in 0..2 {
        let back = w.billing.link_payment_returned(&token).await.unwrap();
        assert_eq!(back.receipt.payment.state, PaymentState::Succeeded);
        assert!(back.card_saved);
        assert_eq!(back.next_action, None);
        assert!(back.card.is_some_and(|c| c.is_default && c.last4 == "3155"));
    }
    assert_eq!(
        w.emails().await,
        vec![
            NotificationKind::PaymentLink,
            NotificationKind::Receipt,
            NotificationKind::BusinessPaymentNotice,
        ]
    );
    assert_eq!(
        w.summary("b-1").await.status.status,
        PaymentStatus::ChargedInFull
    );
    // Saved after authenticating, the card is charged later with the customer away.
    let later = w.billing.charge(&w.business, charge("b-2")).await.unwrap();
    assert_eq!(later.outcome(), Outcome::Settled);
}

#[tokio::test]
async fn the_return_settles_the_payment_when_it_comes_before_the_webhook() {
    let w = world().await;
    let (token, link) = w.link("b-1").await;
    let asked = w
        .billing
        .pay_link(&token, pay("pm_card_threeDSecure2Required", false))
        .await
        .unwrap();
    let reference = asked.receipt.payment.gateway_reference.clone().unwrap();
    // Back before authenticating: still waiting, the next action again.
    let early = w.billing.link_payment_returned(&token).await.unwrap();
    assert_eq!(early.receipt.payment.state, PaymentState::RequiresAction);
    assert!(early.next_action.is_some());
    w.gateway.authenticate(None, &reference, true).unwrap();
    let back = w.billing.link_payment_returned(&token).await.unwrap();
    assert_eq!(back.receipt.payment.state, PaymentState::Succeeded);
    assert!(!back.card_saved, "not asked to keep it");
    assert!(matches!(
        w.link_state(&link).await,
        LinkState::Completed { card: None, .. }
    ));
    for event in w.gateway.events() {
        w.billing.handle_event(&event).await.unwrap();
    }
    assert_eq!(
        w.emails()
            .await
            .iter()
            .filter(|k| **k == NotificationKind::Receipt)
            .count(),
        1
    );
    assert!(
        w.billing
            .cards(&w.business, &w.customer)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_failed_authentication_leaves_the_link_open_for_another_card() {
    let w = world().await;
    let (token, link) = w.link("b-1").await;
    let asked = w
        .billing
        .pay_link(&token, pay("pm_card_authenticationRequired", true))
        .await
        .unwrap();
    let reference = asked.receipt.payment.gateway_reference.clone().unwrap();
    w.gateway.authenticate(None, &reference, false).unwrap();
    let back = w.billing.link_payment_returned(&token).await.unwrap();
    assert!(matches!(back.receipt.outcome(), Outcome::Declined(_)));
    assert_eq!(w.link_state(&link).await, LinkState::Open);
    let paid = w
        .billing
        .pay_link(&token, pay("pm_card_visa", false))
        .await
        .unwrap();
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
}

#[tokio::test]
async fn a_link_payment_left_waiting_is_given_up_and_the_link_paid_again() {
    let w = world().await;
    let (token, _) = w.link("b-1").await;
    let asked = w
        .billing
        .pay_link(&token, pay("pm_card_authenticationRequired", false))
        .await
        .unwrap();
    let id = asked.receipt.payment.id.clone();
    let report = w.billing.sweep(&w.business).await.unwrap();
    assert!(report.reconciled.is_empty());
    w.clock.advance(Duration::minutes(30));
    w.billing.reconcile(&w.business, &id).await.unwrap();
    assert_eq!(
        w.gateway.count("cancel"),
        0,
        "the customer may still be at it"
    );
    w.clock.advance(Duration::minutes(31));
    let report = w.billing.sweep(&w.business).await.unwrap();
    let given_up = report
        .reconciled
        .iter()
        .find(|(p, _)| p == &id)
        .and_then(|(_, r)| r.as_ref().ok())
        .expect("reconciled");
    assert_eq!(given_up.payment.state, PaymentState::Canceled);
    let paid = w
        .billing
        .pay_link(&token, pay("pm_card_visa", false))
        .await
        .unwrap();
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
}

#[tokio::test]
async fn staff_cancel_a_link_payment_waiting_for_its_customer() {
    let w = world().await;
    let (token, link) = w.link("b-1").await;
    let asked = w
        .billing
        .pay_link(&token, pay("pm_card_authenticationRequired", false))
        .await
        .unwrap();
    let canceled = w
        .billing
        .cancel_payment(&w.business, &asked.receipt.payment.id)
        .await
        .unwrap();
    assert_eq!(canceled.payment.state, PaymentState::Canceled);
    assert!(!canceled.bookings[0].status.pending);
    assert_eq!(w.link_state(&link).await, LinkState::Open);
    w.billing
        .open_link(&token)
        .await
        .expect("the page works again");
}

#[tokio::test]
async fn an_off_session_charge_on_a_card_that_asks_fails_and_suggests_a_link() {
    let w = world().await;
    w.billing
        .attach_card(&w.business, &w.customer, "pm_card_authenticationRequired")
        .await
        .unwrap();
    let declined = w.billing.charge(&w.business, charge("b-1")).await.unwrap();
    let Outcome::Declined(failure) = declined.outcome() else {
        panic!("declined: {declined:?}");
    };
    assert!(failure.suggests_payment_link());
    let summary = &declined.bookings[0];
    assert!(summary.status.last_failed && !summary.status.pending);
    // Nothing blocks the booking: cash, or the link the failure suggests.
    let (token, _) = w.link("b-1").await;
    let asked = w
        .billing
        .pay_link(&token, pay("pm_card_authenticationRequired", false))
        .await
        .unwrap();
    assert_eq!(asked.receipt.payment.state, PaymentState::RequiresAction);
}

#[tokio::test]
async fn a_link_payment_is_never_sent_again_and_ends_once_the_search_would_show_it() {
    let w = world_with(|clock| {
        ScriptedGateway::with_clock(clock).with_search_lag(Duration::minutes(1))
    })
    .await;
    let (token, link) = w.link("b-1").await;
    w.gateway.script(Scripted::LostRequest);
    let lost = w
        .billing
        .pay_link(&token, pay("pm_card_visa", false))
        .await
        .unwrap();
    assert_eq!(lost.receipt.payment.state, PaymentState::Pending);
    let id = lost.receipt.payment.id.clone();
    let young = w.billing.reconcile(&w.business, &id).await.unwrap();
    assert_eq!(
        young.payment.state,
        PaymentState::Pending,
        "the search may lag"
    );
    w.clock.advance(Duration::minutes(2));
    let ended = w.billing.reconcile(&w.business, &id).await.unwrap();
    assert_eq!(
        ended.payment.state,
        PaymentState::Failed(Failure::not_at_gateway())
    );
    assert_eq!(w.gateway.count("charge"), 1, "never sent again");
    assert_eq!(w.link_state(&link).await, LinkState::Open);
}

#[tokio::test]
async fn links_for_amounts_the_gateway_cannot_charge_are_refused() {
    let w = world().await;
    let refused = w
        .billing
        .create_payment_link(
            &w.business,
            CreatePaymentLink {
                customer: w.customer.clone(),
                bookings: vec![booking("b-1")],
                amount: Some(usd(40).into()),
                send: Sending::EMAIL,
            },
        )
        .await;
    assert_eq!(refused.unwrap_err().code(), "amount_not_chargeable");
    assert!(w.emails().await.is_empty());
    assert!(
        w.billing
            .customer_links(&w.business, &w.customer, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_card_request_authenticates_the_card_on_its_page_then_saves_it_once() {
    let w = world().await;
    let issued = w
        .billing
        .request_card(&w.business, &w.customer, Sending::EMAIL)
        .await
        .unwrap();
    let token = issued.url.rsplit('/').next().unwrap().to_owned();
    let refused = w
        .billing
        .complete_card_request(&token, "pm_card_chargeDeclined")
        .await
        .unwrap();
    assert!(
        matches!(refused, CardRequestAnswer::Refused(_)),
        "{refused:?}"
    );
    let asked = w
        .billing
        .complete_card_request(&token, "pm_card_authenticationRequiredOnSetup")
        .await
        .unwrap();
    let CardRequestAnswer::NeedsAction(next) = asked else {
        panic!("authentication asked: {asked:?}");
    };
    assert!(!next.client_secret.is_empty());
    assert_eq!(w.link_state(&issued.link.id).await, LinkState::Open);
    let setup = w.billing.card_request_setup(&token).await.unwrap();
    w.gateway
        .authenticate(None, &setup.reference, true)
        .unwrap();
    for _ in 0..2 {
        let back = w
            .billing
            .card_request_returned(&token, &setup.reference)
            .await
            .unwrap();
        let CardRequestAnswer::Saved(card) = back else {
            panic!("saved: {back:?}");
        };
        assert_eq!(card.last4, "3155");
    }
    assert!(matches!(
        w.link_state(&issued.link.id).await,
        LinkState::Completed { card: Some(_), .. }
    ));
    assert_eq!(
        w.emails().await,
        vec![
            NotificationKind::CardRequest,
            NotificationKind::BusinessCardSavedNotice,
        ]
    );
    // Set up with authentication, the card is charged with the customer away.
    let paid = w.billing.charge(&w.business, charge("b-1")).await.unwrap();
    assert_eq!(paid.outcome(), Outcome::Settled);
}

#[tokio::test]
async fn a_card_request_return_naming_another_customers_set_up_is_refused() {
    let w = world().await;
    let issued = w
        .billing
        .request_card(&w.business, &w.customer, Sending::NOT)
        .await
        .unwrap();
    let token = issued.url.rsplit('/').next().unwrap().to_owned();
    w.billing.card_request_setup(&token).await.unwrap();
    let stranger = w
        .gateway
        .create_customer(&billing_core::ports::NewGatewayCustomer {
            account: None,
            business: w.business.id.clone(),
            customer: CustomerId::new("someone-else").unwrap(),
            name: "Someone".into(),
            email: None,
        })
        .await
        .unwrap();
    let theirs = w
        .gateway
        .start_card_setup(None, &stranger, "setup-theirs")
        .await
        .unwrap();
    w.gateway
        .confirm_card_setup(None, &theirs.reference, "pm_card_visa", "https://elsewhere")
        .await
        .unwrap();
    assert_eq!(
        w.billing
            .card_request_returned(&token, &theirs.reference)
            .await
            .unwrap_err(),
        BillingError::LinkUnavailable
    );
    assert!(
        w.billing
            .cards(&w.business, &w.customer)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.link_state(&issued.link.id).await, LinkState::Open);
}

#[tokio::test]
async fn a_link_payment_the_reconciler_settles_completes_its_link() {
    let w = world().await;
    let (token, link) = w.link("b-1").await;
    w.gateway.script(Scripted::LostAnswer);
    let lost = w
        .billing
        .pay_link(&token, pay("pm_card_visa", true))
        .await
        .unwrap();
    assert_eq!(lost.receipt.payment.state, PaymentState::Pending);
    assert_eq!(w.link_state(&link).await, LinkState::Open);
    let report = w
        .billing
        .reconcile_pending(&w.business, Duration::zero())
        .await
        .unwrap();
    assert_eq!(report.len(), 1);
    assert!(matches!(
        w.link_state(&link).await,
        LinkState::Completed { card: Some(_), .. }
    ));
    assert_eq!(
        w.emails().await,
        vec![
            NotificationKind::PaymentLink,
            NotificationKind::Receipt,
            NotificationKind::BusinessPaymentNotice,
        ]
    );
    assert_eq!(
        w.billing
            .cards(&w.business, &w.customer)
            .await
            .unwrap()
            .len(),
        1
    );
}
