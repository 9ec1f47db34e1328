//! A booking page's checkout: what its page does follows the booking's payment policy, and
//! automation waits while the customer is on it.

use super::automation::{automated, past_grace, run, status};
use super::*;
use crate::automation::{Action, PaymentPolicy, PaymentSettings, Share};
use crate::billing::{StartCheckout, checkout_lifetime};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::link::{CheckoutStep, LinkPurpose, LinkState, ReturnUrlError};
use crate::notification::NotificationKind;
use crate::ports::RunOutcome;
use crate::ports::{NotificationLog, Schedules};

const RETURN_URL: &str = "https://shop.example/booked?ref=42";

async fn start(w: &World, booking: &str) -> Result<StartedCheckout, BillingError> {
    w.billing
        .start_checkout(
            &w.business,
            StartCheckout {
                booking: booking_id(booking),
                return_url: RETURN_URL.into(),
            },
        )
        .await
}

/// A customer new to the business (`cust-{booking}`: no card on file, not yet known to the
/// gateway) books `booking` online.
async fn new_customer_books(w: &World, booking: &str, price: &str) {
    let customer = CustomerId::new(format!("cust-{booking}")).expect("id");
    w.billing
        .put_customer(
            &w.business,
            crate::customer::Customer {
                id: customer.clone(),
                name: "Grace Hopper".into(),
                email: Some("grace@example.com".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    let account = BookingAccount::new(
        booking_id(booking),
        customer,
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Home cleaning", usd(price)).expect("line")],
    )
    .expect("booking");
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put booking");
}

fn token(started: &StartedCheckout) -> String {
    started.url.rsplit('/').next().expect("token").to_owned()
}

/// The notifications of the customer who booked `booking`.
async fn notification_kinds(w: &World, booking: &str) -> Vec<NotificationKind> {
    let customer = CustomerId::new(format!("cust-{booking}")).expect("id");
    w.store
        .customer_log(&w.business.id, &customer, 50)
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

#[tokio::test]
async fn charge_at_booking_is_paid_on_the_page_while_automation_waits() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[]).await;
    new_customer_books(&w, "b-1", "120.00").await;
    let started = start(&w, "b-1").await.expect("checkout");
    assert_eq!(started.step, CheckoutStep::Charge);
    assert_eq!(started.amount, Some(usd("120.00")));
    assert!(started.url.contains("/pay/"), "{}", started.url);
    let checkout = started.link.checkout.clone().expect("a checkout");
    assert_eq!(checkout.return_url.as_str(), RETURN_URL);
    assert_eq!(
        started.link.expires_at - started.link.created_at,
        checkout_lifetime()
    );

    // The customer is paying: automation, though the booking is due, charges nothing.
    assert!(run(&w).await.is_empty());
    assert_eq!(gateway.count("charge"), 0);

    let paid = w
        .billing
        .pay_link(
            &token(&started),
            PayLink {
                payment_method: "pm_card_visa".into(),
                save_card: false,
            },
        )
        .await
        .expect("paid");
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
    assert!(paid.card_saved, "a checkout keeps the card for the policy");
    assert_eq!(status(&w, "b-1").await, PaymentStatus::ChargedInFull);
    let link = w
        .billing
        .link(&w.business, &started.link.id)
        .await
        .expect("link");
    assert!(matches!(link.state, LinkState::Completed { .. }));
    // The checkout no longer holds automation back, and there is nothing left for it.
    let schedule = w
        .store
        .schedule(&w.business.id, &booking_id("b-1"))
        .await
        .expect("read")
        .expect("record");
    assert_eq!(schedule.checkout_until, None);
    assert!(run(&w).await.is_empty());
    assert_eq!(gateway.count("charge"), 1);
    assert!(
        notification_kinds(&w, "b-1")
            .await
            .contains(&NotificationKind::Receipt)
    );
}

#[tokio::test]
async fn authorize_at_booking_holds_on_the_page_without_a_receipt() {
    let (w, gateway) = automated(PaymentPolicy::AuthorizeAtBooking, &[]).await;
    new_customer_books(&w, "b-1", "80.00").await;
    let started = start(&w, "b-1").await.expect("checkout");
    assert_eq!(
        (started.step, started.amount),
        (CheckoutStep::Hold, Some(usd("80.00")))
    );
    let held = w
        .billing
        .pay_link(
            &token(&started),
            PayLink {
                payment_method: "pm_card_visa".into(),
                save_card: false,
            },
        )
        .await
        .expect("held");
    assert_eq!(held.receipt.payment.state, PaymentState::Authorized);
    assert!(matches!(
        held.receipt.payment.kind,
        PaymentKind::Authorization { .. }
    ));
    assert_eq!(status(&w, "b-1").await, PaymentStatus::PreAuthorized);
    assert_eq!(gateway.count("charge"), 0);
    let link = w
        .billing
        .link(&w.business, &started.link.id)
        .await
        .expect("link");
    assert!(matches!(link.state, LinkState::Completed { .. }));
    // Nothing was paid: no receipt yet (the capture's comes later).
    assert!(
        !notification_kinds(&w, "b-1")
            .await
            .contains(&NotificationKind::Receipt)
    );
    // Automation places no second hold.
    assert!(run(&w).await.is_empty());
}

#[tokio::test]
async fn later_policies_only_keep_the_card_and_the_deposit_is_charged_now() {
    let lead = Duration::days(2);
    let (w, _gateway) = automated(PaymentPolicy::ChargeBeforeService { lead }, &[]).await;
    new_customer_books(&w, "b-1", "200.00").await;
    let started = start(&w, "b-1").await.expect("checkout");
    assert_eq!(
        (started.step, started.amount),
        (CheckoutStep::SaveCard, None)
    );
    assert_eq!(started.link.purpose, LinkPurpose::CardRequest);
    assert!(started.url.contains("/cards/"), "{}", started.url);
    w.billing
        .complete_card_request(&token(&started), "pm_card_mastercard")
        .await
        .expect("saved");
    let link = w
        .billing
        .link(&w.business, &started.link.id)
        .await
        .expect("link");
    assert!(matches!(link.state, LinkState::Completed { .. }));

    // With a deposit, the deposit is charged on the page and the rest left to the policy.
    w.billing
        .set_payment_settings(
            &w.business,
            PaymentSettings {
                policy: PaymentPolicy::ChargeBeforeService { lead },
                deposit: Some(Share::fixed(usd("50.00")).expect("share")),
                ..PaymentSettings::default()
            },
        )
        .await
        .expect("settings");
    let started = start(&w, "b-1").await.expect("checkout");
    assert_eq!(
        (started.step, started.amount),
        (CheckoutStep::Charge, Some(usd("50.00")))
    );
}

#[tokio::test]
async fn checkouts_refuse_bad_return_urls_canceled_bookings_and_payments_in_flight() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[("b-1", "10.00")]).await;
    for (url, expected) in [
        ("http://shop.example/", ReturnUrlError::NotHttps),
        ("https://a:b@shop.example/", ReturnUrlError::HasCredentials),
    ] {
        let refused = w
            .billing
            .start_checkout(
                &w.business,
                StartCheckout {
                    booking: booking_id("b-1"),
                    return_url: url.into(),
                },
            )
            .await;
        assert!(
            matches!(&refused, Err(BillingError::InvalidReturnUrl(e)) if *e == expected),
            "{refused:?}"
        );
    }
    assert!(matches!(
        start(&w, "b-9").await,
        Err(BillingError::BookingNotFound(_))
    ));
    // Refusals wrote nothing: the booking is still due for automation now.
    let schedule = w
        .store
        .schedule(&w.business.id, &booking_id("b-1"))
        .await
        .expect("read")
        .expect("record");
    assert_eq!(schedule.checkout_until, None);

    gateway.script(Scripted::LostAnswer);
    let unknown = run(&w).await;
    assert!(!unknown.is_empty(), "automation charged");
    assert!(matches!(
        start(&w, "b-1").await,
        Err(BillingError::PaymentInFlight(_))
    ));

    let (w, _gateway) = automated(PaymentPolicy::Manual, &[("b-2", "10.00")]).await;
    w.billing
        .cancel_booking(
            &w.business,
            crate::billing::CancelBooking {
                booking: booking_id("b-2"),
                charge_fee: false,
            },
        )
        .await
        .expect("canceled");
    assert!(matches!(
        start(&w, "b-2").await,
        Err(BillingError::BookingCanceled(_))
    ));
}

#[tokio::test]
async fn an_abandoned_checkout_hands_the_booking_back_to_automation() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[("b-1", "60.00")]).await;
    let started = start(&w, "b-1").await.expect("checkout");
    assert!(run(&w).await.is_empty());
    w.clock.advance(checkout_lifetime() + Duration::seconds(1));
    // The customer left: the card on file is charged as the policy says.
    let done = run(&w).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(gateway.count("charge"), 1);
    assert_eq!(status(&w, "b-1").await, PaymentStatus::ChargedInFull);
    // And the page no longer works.
    assert!(matches!(
        w.billing.open_link(&token(&started)).await,
        Err(BillingError::LinkUnavailable)
    ));
}

#[tokio::test]
async fn a_booking_just_made_without_a_card_waits_for_its_checkout() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[]).await;
    new_customer_books(&w, "b-1", "45.00").await;
    assert_eq!(
        run(&w).await,
        [],
        "the booking page has its grace to start a checkout"
    );
    // The booking page is slow to start its checkout: no card yet, but no decline, no email,
    // no "needs attention".
    past_grace(&w);
    let early = run(&w).await;
    assert!(
        matches!(early.as_slice(), [(_, RunOutcome::Failed(why))] if why.contains("no card")),
        "{early:?}"
    );
    assert!(notification_kinds(&w, "b-1").await.is_empty());
    let started = start(&w, "b-1").await.expect("checkout");
    assert_eq!(started.step, CheckoutStep::Charge);
    w.billing
        .pay_link(
            &token(&started),
            PayLink {
                payment_method: "pm_card_visa".into(),
                save_card: false,
            },
        )
        .await
        .expect("paid");
    assert_eq!(status(&w, "b-1").await, PaymentStatus::ChargedInFull);
    assert_eq!(gateway.count("charge"), 1);

    // No checkout ever came: after the checkout's hour, the customer gets a payment link.
    new_customer_books(&w, "b-2", "30.00").await;
    past_grace(&w);
    assert!(!run(&w).await.is_empty());
    let waiting = w
        .store
        .schedule(&w.business.id, &booking_id("b-2"))
        .await
        .expect("read")
        .expect("record");
    assert_eq!(waiting.due_at, Some(w.billing.now() + Duration::hours(1)));
    w.clock.advance(checkout_lifetime() + Duration::minutes(1));
    let late = run(&w).await;
    assert!(
        late.iter().any(|(action, _)| *action == Action::GiveUp),
        "{late:?}"
    );
    let schedule = w
        .store
        .schedule(&w.business.id, &booking_id("b-2"))
        .await
        .expect("read")
        .expect("record");
    assert!(schedule.needs_attention);
}

#[tokio::test]
async fn a_returning_customers_saved_card_waits_for_the_checkout_the_booking_page_starts() {
    // `cust-1` has a card on file: without the grace, automation could charge it between the
    // booking being stored and its checkout starting, and the customer would find the booking
    // paid on a page asking for a card.
    let (w, gateway) = automated(PaymentPolicy::AuthorizeAtBooking, &[]).await;
    let account = BookingAccount::new(
        booking_id("b-7"),
        CustomerId::new("cust-1").expect("id"),
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Deep clean", usd("80.00")).expect("line")],
    )
    .expect("booking");
    w.billing
        .put_booking(&w.business, account)
        .await
        .expect("put booking");
    assert_eq!(run(&w).await, []);
    w.clock.advance(Duration::seconds(90));
    let started = start(&w, "b-7").await.expect("checkout");
    assert_eq!(started.step, CheckoutStep::Hold);
    past_grace(&w);
    assert_eq!(run(&w).await, [], "the open checkout holds automation back");
    assert_eq!(gateway.count("authorize"), 0);
    w.billing
        .pay_link(
            &token(&started),
            PayLink {
                payment_method: "pm_card_mastercard".into(),
                save_card: false,
            },
        )
        .await
        .expect("held");
    assert_eq!(status(&w, "b-7").await, PaymentStatus::PreAuthorized);
    assert_eq!(
        run(&w).await,
        [],
        "nothing left to do until the service is done"
    );
}
