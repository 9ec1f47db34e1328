//! What every request goes through: idempotency keys, connected accounts, the API key,
//! injected faults and shutdown.

use std::time::Duration;

use billing_stripe_fake::{FakeStripe, Fault, RequestFilter};
use stripe::{
    AccountId, ApiErrorsCode, ApiErrorsType, ClientBuilder, RequestStrategy, StripeError,
    StripeRequest,
};
use stripe_core::PaymentIntentStatus;
use stripe_core::customer::{CreateCustomer, RetrieveCustomer, RetrieveCustomerReturned};
use stripe_core::payment_intent::ListPaymentIntent;

use super::{
    client, connect_client, fake_with_customer, idempotent, new_customer, off_session_payment,
    stripe_error,
};

#[tokio::test]
async fn idempotent_replay_and_conflicting_reuse() {
    let (fake, client, customer) = fake_with_customer().await;
    let request = off_session_payment(2_500, &customer, "pm_card_visa");

    let first = request
        .customize()
        .request_strategy(idempotent("pay_42"))
        .send(&client)
        .await
        .expect("first");
    let second = request
        .customize()
        .request_strategy(idempotent("pay_42"))
        .send(&client)
        .await
        .expect("replay");
    assert_eq!(first.id, second.id);
    let requests = fake.requests();
    let replayed: Vec<_> = requests.iter().filter(|r| r.replayed).collect();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].idempotency_key.as_deref(), Some("pay_42"));
    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert_eq!(listed.data.len(), 1, "a replay creates nothing");

    let (err, status) = stripe_error(
        off_session_payment(9_999, &customer, "pm_card_visa")
            .customize()
            .request_strategy(idempotent("pay_42"))
            .send(&client)
            .await,
    );
    assert_eq!((status, err.type_), (400, ApiErrorsType::IdempotencyError));

    // Card errors are saved and replayed too.
    let decline = off_session_payment(2_500, &customer, "pm_card_chargeDeclined");
    let (e1, s1) = stripe_error(
        decline
            .customize()
            .request_strategy(idempotent("pay_43"))
            .send(&client)
            .await,
    );
    let (e2, s2) = stripe_error(
        decline
            .customize()
            .request_strategy(idempotent("pay_43"))
            .send(&client)
            .await,
    );
    assert_eq!((s1, s2), (402, 402));
    assert_eq!(e1.charge, e2.charge);
}

#[tokio::test]
async fn stripe_account_scopes_objects_and_keys() {
    let fake = FakeStripe::start().await;
    let platform = client(&fake);
    let venue_a = connect_client(&fake, "acct_venueA");
    let venue_b = connect_client(&fake, "acct_venueB");

    let customer = new_customer(&venue_a).await;
    let (err, status) = stripe_error(
        RetrieveCustomer::new(customer.as_str())
            .send(&platform)
            .await,
    );
    assert_eq!(
        (status, err.code),
        (404, Some(ApiErrorsCode::ResourceMissing))
    );
    let (_, status) = stripe_error(
        RetrieveCustomer::new(customer.as_str())
            .send(&venue_b)
            .await,
    );
    assert_eq!(status, 404);
    // Per-request account override works the same.
    let found = RetrieveCustomer::new(customer.as_str())
        .customize()
        .account_id(AccountId::from("acct_venueA"))
        .send(&platform)
        .await
        .expect("retrieve with per-request account");
    assert!(matches!(found, RetrieveCustomerReturned::Customer(_)));

    // The same idempotency key in two accounts makes two objects.
    let pi_a = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("shared-key"))
        .send(&venue_a)
        .await
        .expect("pi in A");
    let customer_b = new_customer(&venue_b).await;
    let pi_b = off_session_payment(1_000, &customer_b, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("shared-key"))
        .send(&venue_b)
        .await
        .expect("pi in B");
    assert_ne!(pi_a.id, pi_b.id);

    // require_account: calls without the header are refused, and recorded.
    fake.require_account(true);
    let (_, status) = stripe_error(CreateCustomer::new().send(&platform).await);
    assert_eq!(status, 400);
    new_customer(&venue_a).await;
    let without: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.stripe_account.is_none())
        .collect();
    assert_eq!(
        without.len(),
        2,
        "the two platform calls made without an account"
    );
    assert!(fake.events().iter().any(|e| e["account"] == "acct_venueA"));
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() {
    let fake = FakeStripe::start().await;
    let bad = ClientBuilder::new("sk_test_wrongwrongwrong1234")
        .url(fake.base_url())
        .build()
        .expect("client");
    let (err, status) = stripe_error(CreateCustomer::new().send(&bad).await);
    assert_eq!(
        (status, err.type_),
        (401, ApiErrorsType::InvalidRequestError)
    );
    assert!(err.message.unwrap_or_default().contains("Invalid API Key"));
}

#[tokio::test]
async fn faults_server_error_and_rate_limit_do_nothing() {
    let (fake, client, customer) = fake_with_customer().await;

    fake.inject_matching(
        RequestFilter::path_prefix("/v1/payment_intents").method("POST"),
        Fault::ServerError(503),
        1,
    );
    let (err, status) = stripe_error(
        off_session_payment(1_000, &customer, "pm_card_visa")
            .send(&client)
            .await,
    );
    assert_eq!((status, err.type_), (503, ApiErrorsType::ApiError));

    fake.inject(Fault::RateLimited, 1);
    let (err, status) = stripe_error(
        off_session_payment(1_000, &customer, "pm_card_visa")
            .send(&client)
            .await,
    );
    assert_eq!((status, err.code), (429, Some(ApiErrorsCode::RateLimit)));
    assert_eq!(fake.pending_faults(), 0);

    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert!(listed.data.is_empty(), "faulted requests did nothing");
    // async-stripe's Retry strategy gets through once the faults are spent.
    fake.inject(Fault::ServerError(500), 1);
    let pi = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(RequestStrategy::Retry(3))
        .send(&client)
        .await
        .expect("retried");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn fault_connection_reset_does_nothing() {
    let (fake, client, customer) = fake_with_customer().await;
    fake.inject(Fault::ConnectionReset, 1);
    let result = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("reset-1"))
        .send(&client)
        .await;
    assert!(
        matches!(result, Err(StripeError::ClientError(_))),
        "{result:?}"
    );
    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert!(listed.data.is_empty());
    let last = fake
        .requests()
        .into_iter()
        .find(|r| r.fault == Some(Fault::ConnectionReset))
        .expect("recorded");
    assert_eq!(last.status, None);
    // The key was not used: the retry runs for real.
    let pi = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("reset-1"))
        .send(&client)
        .await
        .expect("retry");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn fault_timeout_after_processing_then_idempotent_retry() {
    let (fake, client, customer) = fake_with_customer().await;
    fake.inject_matching(
        RequestFilter::path_prefix("/v1/payment_intents").method("POST"),
        Fault::TimeoutAfterProcessing,
        1,
    );
    let request = off_session_payment(7_700, &customer, "pm_card_visa");
    let result = request
        .customize()
        .request_strategy(idempotent("booking-9"))
        .timeout(Duration::from_millis(300))
        .send(&client)
        .await;
    assert!(matches!(result, Err(StripeError::Timeout)), "{result:?}");

    // The charge went through although the client never heard back...
    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0].status, PaymentIntentStatus::Succeeded);
    // ...and the retry with the same key gets the saved answer, not a second charge.
    let retried = request
        .customize()
        .request_strategy(idempotent("booking-9"))
        .send(&client)
        .await
        .expect("retry");
    assert_eq!(retried.id, listed.data[0].id);
    assert!(fake.requests().last().is_some_and(|r| r.replayed));

    // ResetAfterProcessing: same, with the connection cut at once.
    fake.inject(Fault::ResetAfterProcessing, 1);
    let result = CreateCustomer::new().send(&client).await;
    assert!(
        matches!(result, Err(StripeError::ClientError(_))),
        "{result:?}"
    );
    assert_eq!(fake.events_of_type("customer.created").len(), 2);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    new_customer(&client).await;
    fake.shutdown().await;
    let result = CreateCustomer::new().send(&client).await;
    assert!(
        matches!(result, Err(StripeError::ClientError(_))),
        "{result:?}"
    );
}
