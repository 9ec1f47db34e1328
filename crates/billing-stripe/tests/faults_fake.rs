//! The adapter's answers to a faulty Stripe (the fake server's injected faults): what is
//! retried under the same idempotency key, what is reported unknown, and how the core's
//! reconciler settles a lost answer with exactly one PaymentIntent made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    GatewayError, GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence,
};
use billing_core::prelude::*;
use billing_core::testkit::{FixedClock, MemoryStore, SequentialIds, SequentialSecrets};
use billing_stripe::{StripeConfig, StripeGateway};
use billing_stripe_fake::{FakeStripe, Fault, RecordedRequest, RequestFilter};

const ACCOUNT: &str = "acct_faults";

fn gateway(fake: &FakeStripe, retries: u32) -> StripeGateway {
    StripeGateway::new(
        StripeConfig::new(fake.secret_key())
            .with_base_url(fake.base_url())
            .with_timeout(Duration::from_millis(500))
            .with_retries(retries, Duration::from_millis(10)),
    )
    .expect("client")
}

async fn start() -> FakeStripe {
    let fake = FakeStripe::start().await;
    fake.require_account(true);
    fake.set_timeout_hold(Duration::from_secs(2));
    fake
}

async fn customer(gateway: &StripeGateway) -> (String, String) {
    let customer = gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: Some(ACCOUNT.into()),
            customer: CustomerId::new("c-1").expect("id"),
            name: "Ada".into(),
            email: None,
        })
        .await
        .expect("customer");
    let card = gateway
        .attach_card(Some(ACCOUNT.into()), &customer, "pm_card_visa")
        .await
        .expect("card");
    (customer, card.payment_method)
}

fn charge_request(payment: &str, customer: &str, pm: &str, minor: i64) -> PaymentRequest {
    let payment = PaymentId::new(payment).expect("id");
    PaymentRequest {
        account: Some(ACCOUNT.into()),
        idempotency_key: format!("{payment}:attempt"),
        payment,
        card: CardRef {
            gateway_customer: customer.into(),
            payment_method: pm.into(),
        },
        amount: Money::from_minor(minor, Currency::EUR),
        description: Some("Booking b-1".into()),
        presence: Presence::OffSession,
    }
}

fn intent_posts(fake: &FakeStripe) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/payment_intents")
        .collect()
}

fn intents_made(fake: &FakeStripe) -> usize {
    fake.events_of_type("payment_intent.created").len()
}

fn on_intents() -> RequestFilter {
    RequestFilter::path_prefix("/v1/payment_intents").method("POST")
}

#[tokio::test]
async fn a_timeout_after_processing_is_an_unknown_outcome() {
    let fake = start().await;
    let gateway = gateway(&fake, 3);
    let (customer, pm) = customer(&gateway).await;
    fake.inject_matching(on_intents(), Fault::TimeoutAfterProcessing, 1);
    let request = charge_request("pay_1", &customer, &pm, 7_700);
    let started = Instant::now();
    let answer = gateway.charge(&request).await;
    assert!(
        matches!(&answer, Err(e @ GatewayError::UnknownOutcome(_)) if !e.nothing_done()),
        "{answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "a timeout is not retried: {:?}",
        started.elapsed()
    );
    assert_eq!(intent_posts(&fake).len(), 1);
    assert_eq!(intents_made(&fake), 1, "the charge went through at Stripe");
    // The reconciler finds it by our id...
    let found = gateway
        .find_payment(Some(ACCOUNT.into()), &request.payment)
        .await
        .expect("searched")
        .expect("found");
    assert_eq!(found.status, GatewayStatus::Succeeded);
    // ...and a resend under the same key is Stripe's replay, not a second charge.
    let again = gateway.charge(&request).await.expect("replayed");
    assert_eq!(again.reference, found.reference);
    assert!(intent_posts(&fake).last().is_some_and(|r| r.replayed));
    assert_eq!(intents_made(&fake), 1);
}

#[tokio::test]
async fn through_the_core_a_lost_answer_stays_pending_until_reconciled() {
    let fake = start().await;
    let gateway = gateway(&fake, 3);
    let clock = Arc::new(FixedClock::default());
    let billing = Billing::new(
        Arc::new(MemoryStore::new()),
        Arc::new(gateway),
        clock,
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    );
    let business = Business {
        id: BusinessId::new("acme").expect("id"),
        name: "Acme".into(),
        gateway_account: Some(ACCOUNT.into()),
        email: None,
    };
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
    billing
        .attach_card(&business, &customer, "pm_card_visa")
        .await
        .expect("card");
    let booking = BookingAccount::new(
        BookingId::new("b-1").expect("id"),
        customer,
        Currency::EUR,
        vec![
            LineItem::new(
                LineItemKind::Service,
                "Deep clean",
                Money::parse("215.50", Currency::EUR).expect("money"),
            )
            .expect("line"),
        ],
    )
    .expect("booking");
    billing
        .put_booking(&business, booking)
        .await
        .expect("saved");

    fake.inject_matching(on_intents(), Fault::TimeoutAfterProcessing, 1);
    let receipt = billing
        .charge(
            &business,
            ChargeBooking {
                booking: BookingId::new("b-1").expect("id"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await
        .expect("a receipt, not an error");
    assert_eq!(receipt.payment.state, PaymentState::Pending);
    assert_eq!(
        receipt.bookings[0].balance.balance_due,
        Money::parse("215.50", Currency::EUR).expect("money"),
        "nothing is counted paid before it is known"
    );

    let settled = billing
        .reconcile(&business, &receipt.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(
        settled.bookings[0].status.status,
        PaymentStatus::ChargedInFull
    );
    assert_eq!(
        intents_made(&fake),
        1,
        "exactly one PaymentIntent at Stripe"
    );
    let pi = settled.payment.gateway_reference.expect("reference");
    let stored = fake.object(Some(ACCOUNT), &pi).expect("at the fake");
    assert_eq!(
        stored["metadata"]["payment_id"],
        receipt.payment.id.as_str()
    );
    assert_eq!(stored["amount"], 21550);
}

#[tokio::test]
async fn a_rate_limit_storm_ends_with_every_charge_made_once() {
    let fake = start().await;
    let gateway = gateway(&fake, 6);
    let (customer, pm) = customer(&gateway).await;
    fake.inject_matching(on_intents(), Fault::RateLimited, 5);
    let requests: Vec<_> = (1..=4)
        .map(|n| charge_request(&format!("pay_{n}"), &customer, &pm, 1_000 * n))
        .collect();
    let answers = futures_join(&gateway, &requests).await;
    for (request, answer) in requests.iter().zip(&answers) {
        let paid = answer.as_ref().expect("through after the storm");
        assert_eq!(paid.status, GatewayStatus::Succeeded);
        assert_eq!(paid.amount, request.amount);
    }
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(intents_made(&fake), 4, "each charge made once");
    let posts = intent_posts(&fake);
    assert_eq!(posts.len(), 4 + 5);
    for request in &requests {
        let keyed: Vec<_> = posts
            .iter()
            .filter(|r| r.idempotency_key.as_deref() == Some(request.idempotency_key.as_str()))
            .collect();
        assert!(!keyed.is_empty());
        assert_eq!(
            keyed.iter().filter(|r| r.status == Some(200)).count(),
            1,
            "{}",
            request.idempotency_key
        );
    }
}

/// Runs the charges concurrently.
async fn futures_join(
    gateway: &StripeGateway,
    requests: &[PaymentRequest],
) -> Vec<Result<billing_core::ports::GatewayPayment, GatewayError>> {
    let mut handles = Vec::new();
    for request in requests {
        let gateway = gateway.clone();
        let request = request.clone();
        handles.push(tokio::spawn(async move { gateway.charge(&request).await }));
    }
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.expect("task"));
    }
    answers
}

#[tokio::test]
async fn rate_limited_past_the_retries_is_rate_limited_and_nothing_is_made() {
    let fake = start().await;
    let gateway = gateway(&fake, 2);
    let (customer, pm) = customer(&gateway).await;
    fake.inject_matching(on_intents(), Fault::RateLimited, 3);
    let answer = gateway
        .charge(&charge_request("pay_1", &customer, &pm, 1_000))
        .await;
    assert_eq!(answer, Err(GatewayError::RateLimited));
    assert_eq!(
        intent_posts(&fake).len(),
        3,
        "the first try and two retries"
    );
    assert_eq!(intents_made(&fake), 0);
}

#[tokio::test]
async fn a_server_error_then_success_reuses_the_key() {
    let fake = start().await;
    let gateway = gateway(&fake, 3);
    let (customer, pm) = customer(&gateway).await;
    fake.inject_matching(on_intents(), Fault::ServerError(500), 1);
    fake.inject_matching(on_intents(), Fault::ServerError(503), 1);
    let paid = gateway
        .charge(&charge_request("pay_1", &customer, &pm, 4_200))
        .await
        .expect("through");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    let posts = intent_posts(&fake);
    let statuses: Vec<_> = posts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(200)]);
    assert!(
        posts
            .iter()
            .all(|r| r.idempotency_key.as_deref() == Some("pay_1:attempt")),
        "{posts:?}"
    );
    assert_eq!(intents_made(&fake), 1);
}

#[tokio::test]
async fn server_errors_past_the_retries_are_an_unknown_outcome() {
    let fake = start().await;
    let gateway = gateway(&fake, 1);
    let (customer, pm) = customer(&gateway).await;
    fake.inject_matching(on_intents(), Fault::ServerError(500), 2);
    let answer = gateway
        .charge(&charge_request("pay_1", &customer, &pm, 4_200))
        .await;
    assert!(
        matches!(answer, Err(GatewayError::UnknownOutcome(_))),
        "a 500 may have been processed: {answer:?}"
    );
}

#[tokio::test]
async fn a_connection_reset_is_retried() {
    let fake = start().await;
    let gateway = gateway(&fake, 3);
    let (customer, pm) = customer(&gateway).await;
    fake.inject_matching(on_intents(), Fault::ConnectionReset, 1);
    let paid = gateway
        .charge(&charge_request("pay_1", &customer, &pm, 1_000))
        .await
        .expect("through");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    let posts = intent_posts(&fake);
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].status, None, "the first was cut");
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    assert_eq!(intents_made(&fake), 1);

    // Reset after processing: the retry is answered from Stripe's record.
    fake.inject_matching(on_intents(), Fault::ResetAfterProcessing, 1);
    let paid = gateway
        .charge(&charge_request("pay_2", &customer, &pm, 2_000))
        .await
        .expect("through");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    assert!(intent_posts(&fake).last().is_some_and(|r| r.replayed));
    assert_eq!(intents_made(&fake), 2);

    // Resets past the retries: the outcome is unknown, never a failure.
    fake.inject_matching(on_intents(), Fault::ResetAfterProcessing, 4);
    let answer = gateway
        .charge(&charge_request("pay_3", &customer, &pm, 3_000))
        .await;
    assert!(
        matches!(answer, Err(GatewayError::UnknownOutcome(_))),
        "{answer:?}"
    );
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable_and_nothing_was_done() {
    // A port nobody listens on: the connection is refused, the request never left.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let gateway = StripeGateway::new(
        StripeConfig::new("sk_test_unreachable")
            .with_base_url(format!("http://127.0.0.1:{port}/"))
            .with_retries(1, Duration::from_millis(5)),
    )
    .expect("client");
    let answer = gateway
        .charge(&charge_request("pay_1", "cus_1", "pm_card_visa", 1_000))
        .await;
    assert!(
        matches!(&answer, Err(e @ GatewayError::Unavailable(_)) if e.nothing_done()),
        "{answer:?}"
    );
}

#[tokio::test]
async fn declines_are_worded_for_the_business() {
    let fake = start().await;
    let gateway = gateway(&fake, 0);
    let (customer, _) = customer(&gateway).await;
    let answer = gateway
        .charge(&charge_request(
            "pay_1",
            &customer,
            "pm_card_chargeDeclinedInsufficientFunds",
            1_000,
        ))
        .await
        .expect("an answer");
    let GatewayStatus::Failed(failure) = answer.status else {
        panic!("{answer:?}");
    };
    assert_eq!(failure.code, "card_declined");
    assert!(
        failure.message.contains("insufficient funds") && failure.message.contains("another card"),
        "{}",
        failure.message
    );
    let expired = gateway
        .charge(&charge_request(
            "pay_2",
            &customer,
            "pm_card_chargeDeclinedExpiredCard",
            1_000,
        ))
        .await
        .expect("an answer");
    assert!(
        matches!(&expired.status, GatewayStatus::Failed(f) if f.code == "expired_card" && f.message.contains("expired")),
        "{expired:?}"
    );
}

#[tokio::test]
async fn a_hold_reports_stripes_capture_before() {
    let fake = start().await;
    let gateway = gateway(&fake, 0);
    let (customer, pm) = customer(&gateway).await;
    let held = gateway
        .authorize(&charge_request("pay_1", &customer, &pm, 5_000))
        .await
        .expect("hold");
    let pi = fake.object(Some(ACCOUNT), &held.reference).expect("pi");
    let charge = fake
        .object(
            Some(ACCOUNT),
            pi["latest_charge"].as_str().expect("charge id"),
        )
        .expect("charge");
    let capture_before = charge["payment_method_details"]["card"]["capture_before"]
        .as_i64()
        .expect("capture_before");
    assert_eq!(
        held.hold_expires_at.map(|t| t.timestamp()),
        Some(capture_before)
    );
}

#[tokio::test]
async fn a_customer_is_made_once_even_when_the_answer_is_lost() {
    let fake = start().await;
    let gateway = gateway(&fake, 3);
    fake.inject_matching(
        RequestFilter::path_prefix("/v1/customers").method("POST"),
        Fault::ResetAfterProcessing,
        1,
    );
    let (first, _) = customer(&gateway).await;
    // The same customer again (another process, say) gets the same Stripe customer.
    let (again, _) = customer(&gateway).await;
    assert_eq!(first, again);
    assert_eq!(fake.events_of_type("customer.created").len(), 1);
    let posts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/customers")
        .collect();
    assert_eq!(posts.len(), 3, "a reset, its retry, and the second call");
    assert!(
        posts
            .iter()
            .all(|r| r.idempotency_key == posts[0].idempotency_key)
    );
    assert_eq!(
        posts[0].params()["metadata"]["customer_id"],
        "c-1",
        "our id is kept on the Stripe customer"
    );
}
