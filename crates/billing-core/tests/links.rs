//! Payment links and card requests through the core, on the in-memory store and the scripted
//! gateway: paying once, the token rules, emails queued, and two tabs paying at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use billing_core::billing::{CreatePaymentLink, IssuedLink, PayLink, Sending};
use billing_core::link::{LinkPurpose, LinkState};
use billing_core::notification::NotificationKind;
use billing_core::ports::NotificationLog;
use billing_core::prelude::*;
use billing_core::testkit::ScriptedGateway;
use chrono::Duration;
use common::{World, usd};

async fn world() -> World {
    common::world_with(
        |_| ScriptedGateway::new(),
        &[("b-1", 21_550), ("b-2", 8_000)],
    )
    .await
}

fn ids(names: &[&str]) -> Vec<BookingId> {
    names.iter().map(|n| BookingId::new(*n).unwrap()).collect()
}

fn token(issued: &IssuedLink) -> String {
    issued.url.rsplit('/').next().unwrap().to_owned()
}

impl World {
    async fn link(&self, bookings: &[&str], amount: Option<Money>) -> IssuedLink {
        self.billing
            .create_payment_link(
                &self.business,
                CreatePaymentLink {
                    customer: self.customer.clone(),
                    bookings: ids(bookings),
                    amount: amount.map(Into::into),
                    send: Sending::EMAIL,
                },
            )
            .await
            .unwrap()
    }

    async fn status(&self, booking: &str) -> PaymentStatus {
        self.billing
            .booking(&self.business, &BookingId::new(booking).unwrap())
            .await
            .unwrap()
            .summary
            .status
            .status
    }

    async fn emails(&self) -> Vec<(NotificationKind, String)> {
        let log = self
            .store
            .customer_log(&self.business.id, &self.customer, 50)
            .await
            .unwrap();
        let mut emails: Vec<_> = log.into_iter().map(|n| (n.kind, n.to)).collect();
        emails.reverse();
        emails
    }
}

fn pay(method: &str, save_card: bool) -> PayLink {
    PayLink {
        payment_method: method.into(),
        save_card,
    }
}

#[tokio::test]
async fn a_link_pays_every_booking_once_saves_the_card_and_queues_the_emails() {
    let w = world().await;
    let issued = w.link(&["b-1", "b-2"], None).await;
    assert!(issued.url.starts_with("https://pay.example.com/pay/"));
    let LinkPurpose::Payment { amount, bookings } = &issued.link.purpose else {
        panic!("a payment link");
    };
    assert_eq!(*amount, usd(29_550));
    assert_eq!(bookings[0].amount, usd(21_550));
    assert_eq!(bookings[1].amount, usd(8_000));
    assert_eq!(
        issued.link.expires_at - issued.link.created_at,
        Duration::days(7)
    );

    let page = w.billing.open_link(&token(&issued)).await.unwrap();
    assert_eq!(page.business_name, "Acme Cleaning");
    assert_eq!(page.bookings.len(), 2);
    assert_eq!(page.bookings[0].service, "Deep clean");
    assert_eq!(page.bookings[0].due, usd(21_550));

    let paid = w
        .billing
        .pay_link(&token(&issued), pay("pm_card_visa", true))
        .await
        .unwrap();
    assert_eq!(paid.receipt.payment.amount, usd(29_550));
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
    assert!(paid.card_saved && paid.card.is_some_and(|c| c.is_default));
    assert_eq!(w.status("b-1").await, PaymentStatus::ChargedInFull);
    assert_eq!(w.status("b-2").await, PaymentStatus::ChargedInFull);
    let cards = w.billing.cards(&w.business, &w.customer).await.unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(w.gateway.count("charge"), 1);

    let link = w.billing.link(&w.business, &issued.link.id).await.unwrap();
    assert!(matches!(
        link.state,
        LinkState::Completed { payment: Some(ref p), card: Some(_), .. } if *p == paid.receipt.payment.id
    ));
    assert_eq!(
        w.emails().await,
        vec![
            (NotificationKind::PaymentLink, "ada@example.com".to_owned()),
            (NotificationKind::Receipt, "ada@example.com".to_owned()),
            (
                NotificationKind::BusinessPaymentNotice,
                "office@acme.example".to_owned()
            ),
        ]
    );

    // Single use: the same token again is refused and charges nothing.
    for _ in 0..2 {
        let again = w
            .billing
            .pay_link(&token(&issued), pay("pm_card_visa", false))
            .await;
        assert_eq!(again.unwrap_err(), BillingError::LinkAlreadyUsed);
        assert_eq!(
            w.billing.open_link(&token(&issued)).await.unwrap_err(),
            BillingError::LinkAlreadyUsed
        );
    }
    assert_eq!(w.gateway.count("charge"), 1);
}

#[tokio::test]
async fn a_part_of_the_balance_is_taken_from_the_bookings_in_order_and_the_card_can_stay_off_file()
{
    let w = world().await;
    let issued = w.link(&["b-1", "b-2"], Some(usd(25_000))).await;
    let LinkPurpose::Payment { bookings, .. } = &issued.link.purpose else {
        panic!("a payment link");
    };
    assert_eq!(bookings[0].amount, usd(21_550));
    assert_eq!(bookings[1].amount, usd(3_450));
    // A part that runs out before the last booking names a booking the link would not pay.
    let refused = w
        .billing
        .create_payment_link(
            &w.business,
            CreatePaymentLink {
                customer: w.customer.clone(),
                bookings: ids(&["b-2", "b-1"]),
                amount: Some(usd(1_000).into()),
                send: Sending::NOT,
            },
        )
        .await;
    assert!(matches!(refused, Err(BillingError::InvalidInput(_))));
    let paid = w
        .billing
        .pay_link(&token(&issued), pay("pm_card_mastercard", false))
        .await
        .unwrap();
    assert!(!paid.card_saved);
    assert_eq!(w.status("b-1").await, PaymentStatus::ChargedInFull);
    assert_eq!(w.status("b-2").await, PaymentStatus::PartiallyCharged);
    assert!(
        w.billing
            .cards(&w.business, &w.customer)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_expired_canceled_and_malformed_tokens_get_the_same_answer() {
    let w = world().await;
    let expiring = w.link(&["b-1"], None).await;
    let canceled = w.link(&["b-2"], None).await;
    w.billing
        .cancel_link(&w.business, &canceled.link.id)
        .await
        .unwrap();
    assert!(matches!(
        w.billing.cancel_link(&w.business, &canceled.link.id).await,
        Err(BillingError::LinkNotOpen {
            state: "canceled",
            ..
        })
    ));
    w.clock.advance(Duration::days(7));
    let unknown = "A".repeat(43);
    for t in [
        token(&expiring),
        token(&canceled),
        unknown,
        "short".into(),
        String::new(),
    ] {
        assert_eq!(
            w.billing.open_link(&t).await.unwrap_err(),
            BillingError::LinkUnavailable,
            "{t}"
        );
        assert_eq!(
            w.billing
                .pay_link(&t, pay("pm_card_visa", false))
                .await
                .unwrap_err(),
            BillingError::LinkUnavailable
        );
    }
    assert_eq!(w.gateway.count("charge"), 0);
    let expired = w
        .billing
        .link(&w.business, &expiring.link.id)
        .await
        .unwrap();
    assert_eq!(expired.status_name(w.clock_now()), "expired");
}

impl World {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use billing_core::ports::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_changed_balance_refuses_the_link_and_changes_nothing() {
    let w = world().await;
    let issued = w.link(&["b-1"], None).await;
    let mut booking = w
        .billing
        .booking(&w.business, &BookingId::new("b-1").unwrap())
        .await
        .unwrap()
        .account;
    booking
        .line_items
        .push(LineItem::new(LineItemKind::Extra, "Oven", usd(2_000)).unwrap());
    w.billing.put_booking(&w.business, booking).await.unwrap();
    assert_eq!(
        w.billing.open_link(&token(&issued)).await.unwrap_err(),
        BillingError::LinkChanged
    );
    assert_eq!(
        w.billing
            .pay_link(&token(&issued), pay("pm_card_visa", true))
            .await
            .unwrap_err(),
        BillingError::LinkChanged
    );
    assert_eq!(w.gateway.count("charge"), 0);
    assert!(
        w.billing
            .cards(&w.business, &w.customer)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.status("b-1").await, PaymentStatus::NotCharged);
}

#[tokio::test]
async fn a_declined_card_leaves_the_link_open_for_another_card() {
    let w = world().await;
    let issued = w.link(&["b-1"], None).await;
    let declined = w
        .billing
        .pay_link(&token(&issued), pay("pm_card_chargeDeclined", true))
        .await;
    let declined = declined.expect("a decline is an answer");
    assert!(matches!(declined.receipt.outcome(), Outcome::Declined(_)));
    assert!(!declined.card_saved);
    assert!(
        w.billing
            .cards(&w.business, &w.customer)
            .await
            .unwrap()
            .is_empty(),
        "a declined card is not saved"
    );
    assert_eq!(w.status("b-1").await, PaymentStatus::NotCharged);
    let paid = w
        .billing
        .pay_link(&token(&issued), pay("pm_card_visa", true))
        .await
        .unwrap();
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(w.status("b-1").await, PaymentStatus::ChargedInFull);
}

#[tokio::test]
async fn two_tabs_paying_one_link_at_once_charge_once() {
    for _ in 0..20 {
        let w = world().await;
        let issued = w.link(&["b-1", "b-2"], None).await;
        let t = token(&issued);
        let (a, b) = tokio::join!(
            w.billing.pay_link(&t, pay("pm_card_visa", true)),
            w.billing.pay_link(&t, pay("pm_card_mastercard", true)),
        );
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{a:?} {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(
            matches!(
                loser,
                Err(BillingError::LinkAlreadyUsed | BillingError::LinkChanged)
            ),
            "{loser:?}"
        );
        assert_eq!(w.gateway.count("charge"), 1);
        assert_eq!(w.gateway.total_received(Currency::USD), usd(29_550));
    }
}

#[tokio::test]
async fn a_card_request_saves_the_card_once_and_tells_the_business() {
    let w = world().await;
    let issued = w
        .billing
        .request_card(&w.business, &w.customer, Sending::EMAIL)
        .await
        .unwrap();
    assert!(issued.url.starts_with("https://pay.example.com/cards/"));
    let answer = w
        .billing
        .complete_card_request(&token(&issued), "pm_card_visa")
        .await
        .unwrap();
    let CardRequestAnswer::Saved(card) = answer else {
        panic!("saved at once: {answer:?}");
    };
    assert_eq!(card.last4, "4242");
    let cards = w.billing.cards(&w.business, &w.customer).await.unwrap();
    assert_eq!(cards, vec![card]);
    assert_eq!(
        w.billing
            .complete_card_request(&token(&issued), "pm_card_mastercard")
            .await
            .unwrap_err(),
        BillingError::LinkAlreadyUsed
    );
    assert_eq!(
        w.emails().await,
        vec![
            (NotificationKind::CardRequest, "ada@example.com".to_owned()),
            (
                NotificationKind::BusinessCardSavedNotice,
                "office@acme.example".to_owned()
            ),
        ]
    );
    // A card request's token does not pay, and a payment link's does not save cards.
    assert_eq!(
        w.billing
            .pay_link(&token(&issued), pay("pm_card_visa", false))
            .await
            .unwrap_err(),
        BillingError::LinkAlreadyUsed
    );
}

#[tokio::test]
async fn links_refuse_bad_requests_and_write_nothing() {
    let w = world().await;
    let make =
        |bookings: Vec<BookingId>, amount: Option<Money>, send_email: bool| CreatePaymentLink {
            customer: w.customer.clone(),
            bookings,
            amount: amount.map(Into::into),
            send: Sending {
                email: send_email,
                text: false,
            },
        };
    for (command, code) in [
        (make(vec![], None, false), "invalid_input"),
        (make(ids(&["b-1", "b-1"]), None, false), "invalid_input"),
        (make(ids(&["nope"]), None, false), "booking_not_found"),
        (
            make(ids(&["b-1"]), Some(usd(21_551)), false),
            "amount_exceeds_balance",
        ),
        (
            make(ids(&["b-1"]), Some(usd(0)), false),
            "non_positive_amount",
        ),
        (
            make(
                ids(&["b-1"]),
                Some(Money::from_minor(100, Currency::EUR)),
                false,
            ),
            "wrong_currency",
        ),
    ] {
        let refused = w
            .billing
            .create_payment_link(&w.business, command)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code);
    }
    assert!(
        w.billing
            .customer_links(&w.business, &w.customer, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(w.emails().await.is_empty());
}

mod shares {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// However a link's amount is chosen, its shares add up to it exactly, no booking gets
        /// more than it owes, and the bookings are filled in the order given.
        #[test]
        fn shares_add_up_and_fill_in_order(
            prices in prop::collection::vec(50_i64..100_000, 1..5),
            part in 1_u32..=1000,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let w = world().await;
                let mut names = Vec::new();
                for (i, cents) in prices.iter().enumerate() {
                    let id = format!("p-{i}");
                    let booking = BookingAccount::new(
                        BookingId::new(id.clone()).unwrap(),
                        w.customer.clone(),
                        Currency::USD,
                        vec![LineItem::new(LineItemKind::Service, "Clean", usd(*cents)).unwrap()],
                    )
                    .unwrap();
                    w.billing.put_booking(&w.business, booking).await.unwrap();
                    names.push(id);
                }
                let total: i64 = prices.iter().sum();
                // Enough to reach the last booking (and the gateway's 0.50 minimum), at most
                // everything.
                let floor = (total - prices.last().unwrap() + 1).max(50);
                let amount = floor + (total - floor) * i64::from(part) / 1000;
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let issued = w.link(&refs, Some(usd(amount))).await;
                let LinkPurpose::Payment { amount: asked, bookings } = &issued.link.purpose else {
                    panic!("a payment link");
                };
                assert_eq!(*asked, usd(amount));
                let sum: i64 = bookings.iter().map(|b| b.amount.to_minor().unwrap()).sum();
                assert_eq!(sum, amount);
                for (i, linked) in bookings.iter().enumerate() {
                    assert!(linked.amount.to_minor().unwrap() > 0);
                    assert!(linked.amount.to_minor().unwrap() <= prices[i]);
                    assert_eq!(linked.balance_due, usd(prices[i]));
                    if i + 1 < bookings.len() {
                        assert_eq!(linked.amount.to_minor().unwrap(), prices[i], "filled in order");
                    }
                }
            });
        }
    }
}
