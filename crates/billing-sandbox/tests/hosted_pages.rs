//! The sandbox behind the core's hosted pages, with the customer there: a payment link paid
//! with a card that asks for 3-D Secure, and a card request for one, each through the
//! sandbox's challenge page as the customer's browser would go.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use billing_core::billing::{CreatePaymentLink, HostedPages, PayLink, Sending};
use billing_core::ports::Businesses;
use billing_core::prelude::*;
use billing_core::testkit::{
    FixedClock, MemoryStore, PlainPages, PlainTemplates, SequentialIds, SequentialSecrets,
};
use billing_sandbox::SandboxGateway;

const ACCOUNT: &str = "acct_acme";
const PAGES: &str = "https://pay.example.com";

struct World {
    billing: Billing,
    sandbox: SandboxGateway,
    business: Business,
    customer: CustomerId,
}

async fn world() -> World {
    let clock = Arc::new(FixedClock::default());
    let sandbox = SandboxGateway::new(clock.clone());
    let store = Arc::new(MemoryStore::new());
    let billing = Billing::new(
        store.clone(),
        Arc::new(sandbox.clone()),
        clock,
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    )
    .with_hosted_pages(HostedPages {
        addresses: Arc::new(PlainPages(PAGES.into())),
        link_lifetime: HostedPages::default_lifetime(),
        templates: Arc::new(PlainTemplates),
    });
    let business = Business {
        id: BusinessId::new("acme").expect("id"),
        name: "Acme Cleaning".into(),
        gateway_account: Some(ACCOUNT.into()),
        email: None,
    };
    store
        .create_business(
            &business,
            &billing_core::testkit::api_key_record("key_1"),
            "hash",
        )
        .await
        .expect("business");
    let customer = CustomerId::new("c-1").expect("id");
    billing
        .put_customer(
            &business,
            Customer {
                id: customer.clone(),
                name: "Ada".into(),
                email: Some("ada@example.com".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    for booking in ["b-1", "b-2"] {
        let account = BookingAccount::new(
            BookingId::new(booking).expect("id"),
            customer.clone(),
            Currency::EUR,
            vec![
                LineItem::new(
                    LineItemKind::Service,
                    "Deep clean",
                    Money::parse("120.00", Currency::EUR).expect("money"),
                )
                .expect("line"),
            ],
        )
        .expect("booking");
        billing
            .put_booking(&business, account)
            .await
            .expect("saved");
    }
    World {
        billing,
        sandbox,
        business,
        customer,
    }
}

/// The customer's browser answers the challenge at `page`: where it is sent back to.
async fn answer_challenge(sandbox: &SandboxGateway, page: &str, result: &str) -> String {
    let app = Router::new().nest("/sandbox", sandbox.challenge_pages());
    let shown = app
        .clone()
        .oneshot(Request::get(page).body(Body::empty()).expect("request"))
        .await
        .expect("answered");
    assert_eq!(shown.status(), StatusCode::OK);
    let answered = app
        .oneshot(
            Request::post(page)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("result={result}")))
                .expect("request"),
        )
        .await
        .expect("answered");
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    answered
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("sent back")
        .to_owned()
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().expect("a token").to_owned()
}

fn charge(booking: &str) -> ChargeBooking {
    ChargeBooking {
        booking: BookingId::new(booking).expect("id"),
        amount: None,
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: false,
    }
}

#[tokio::test]
async fn a_link_paid_with_a_card_that_asks_goes_through_the_challenge() {
    let w = world().await;
    let link = w
        .billing
        .create_payment_link(
            &w.business,
            CreatePaymentLink {
                customer: w.customer.clone(),
                bookings: vec![BookingId::new("b-1").expect("id")],
                amount: None,
                send: Sending::NOT,
            },
        )
        .await
        .expect("link");
    let token = token_of(&link.url);

    // A first try, failed on the challenge: declined, and the link stays open.
    let first = w
        .sandbox
        .create_payment_method_from_card("4000 0000 0000 3220", 12, 2030, "123")
        .expect("valid");
    let waiting = w
        .billing
        .pay_link(
            &token,
            PayLink {
                payment_method: first,
                save_card: false,
            },
        )
        .await
        .expect("answered");
    assert_eq!(waiting.receipt.payment.state, PaymentState::RequiresAction);
    let page = waiting
        .next_action
        .and_then(|n| n.redirect_url)
        .expect("the challenge page");
    let back = answer_challenge(&w.sandbox, &page, "fail").await;
    assert!(
        back.starts_with(&format!("{PAGES}/pay/{token}/return?payment_intent=pi_")),
        "{back}"
    );
    let failed = w
        .billing
        .link_payment_returned(&token)
        .await
        .expect("returned");
    assert!(
        matches!(failed.receipt.outcome(), Outcome::Declined(f) if f.code == "payment_intent_authentication_failure"),
        "{:?}",
        failed.receipt.payment.state
    );

    // Another card that asks, kept for later: completed, paid, and saved.
    let second = w
        .sandbox
        .create_payment_method_from_card("4000 0025 0000 3155", 12, 2030, "123")
        .expect("valid");
    let waiting = w
        .billing
        .pay_link(
            &token,
            PayLink {
                payment_method: second.clone(),
                save_card: true,
            },
        )
        .await
        .expect("answered");
    let page = waiting
        .next_action
        .and_then(|n| n.redirect_url)
        .expect("the challenge page");
    answer_challenge(&w.sandbox, &page, "approve").await;
    let paid = w
        .billing
        .link_payment_returned(&token)
        .await
        .expect("returned");
    assert_eq!(paid.receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(
        paid.receipt.bookings[0].status.status,
        PaymentStatus::ChargedInFull
    );
    assert!(paid.card_saved, "{paid:?}");

    // The card was set up by the payment the customer authenticated: staff can charge it.
    let later = w
        .billing
        .charge(&w.business, charge("b-2"))
        .await
        .expect("receipt");
    assert_eq!(
        later.payment.state,
        PaymentState::Succeeded,
        "{:?}",
        later.outcome()
    );
    let PaymentKind::Charge { card } = &later.payment.kind else {
        panic!("a charge");
    };
    assert_eq!(card.payment_method, second);
}

#[tokio::test]
async fn a_card_request_for_a_card_that_asks_goes_through_the_challenge() {
    let w = world().await;
    let request = w
        .billing
        .request_card(&w.business, &w.customer, Sending::NOT)
        .await
        .expect("card request");
    let token = token_of(&request.url);
    let pm = w
        .sandbox
        .create_payment_method_from_card("4000002500003155", 7, 2031, "123")
        .expect("valid");
    let answer = w
        .billing
        .complete_card_request(&token, &pm)
        .await
        .expect("answered");
    let CardRequestAnswer::NeedsAction(next) = answer else {
        panic!("expected the challenge, got {answer:?}");
    };
    let page = next.redirect_url.expect("the challenge page");
    let back = answer_challenge(&w.sandbox, &page, "approve").await;
    let setup = back
        .split("setup_intent=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("the set-up named")
        .to_owned();
    assert!(
        back.starts_with(&format!("{PAGES}/cards/{token}/return?")),
        "{back}"
    );
    let saved = w
        .billing
        .card_request_returned(&token, &setup)
        .await
        .expect("returned");
    let CardRequestAnswer::Saved(card) = saved else {
        panic!("expected the card saved, got {saved:?}");
    };
    assert_eq!(card.last4, "3155");
    // Set up with the customer there: charged with them away.
    let paid = w
        .billing
        .charge(&w.business, charge("b-1"))
        .await
        .expect("receipt");
    assert_eq!(
        paid.payment.state,
        PaymentState::Succeeded,
        "{:?}",
        paid.outcome()
    );
}
